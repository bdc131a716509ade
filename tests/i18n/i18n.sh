#!/bin/sh
# i18n.sh BINARY SCRATCH — messages in the user's language: the CLI, the
# runner, import and Lua's _() under LANG=zh_CN.UTF-8 (Chinese whether or not
# the system generated that locale) and LANG=C (English); LANGUAGE and LC_ALL
# as glibc reads them; a missing catalog falls back to English.
SCRIPTS=$(cd "$(dirname "$0")/../../scripts" && pwd)
. "$(dirname "$0")/../cli/lib.sh"
setup "$@"

zh() { LANG=zh_CN.UTF-8 gh "$@"; }
en() { LANG=C gh "$@"; }

# --- the command line ---
zh nosuchcommand
expect_rc 2 "zh: unknown command" && expect_err "没有“nosuchcommand”这个命令" "zh: unknown command" &&
  pass "LANG=zh_CN.UTF-8: the CLI's refusal is Chinese"
en nosuchcommand
expect_err "unknown command 'nosuchcommand'" "C: unknown command" &&
  pass "LANG=C: the CLI's refusal is English"
LANG=C LC_ALL=zh_CN.UTF-8 gh nosuchcommand
expect_err "这个命令" "LC_ALL=zh_CN.UTF-8 over LANG=C" && pass "LC_ALL wins over LANG"
LANG=zh_CN.UTF-8 LANGUAGE=en gh nosuchcommand
expect_err "unknown command" "LANGUAGE=en over LANG=zh_CN" && pass "LANGUAGE=en gives English"
LANG=C.UTF-8 LANGUAGE=zh_CN gh nosuchcommand
expect_err "这个命令" "LANGUAGE=zh_CN under C.UTF-8" && pass "LANGUAGE=zh_CN gives Chinese"
LANG=C LANGUAGE=zh_CN gh nosuchcommand
expect_err "unknown command" "LANGUAGE under plain C" && pass "plain C ignores LANGUAGE (as glibc)"
GONGHUI_LOCALEDIR=$S/nowhere LANG=zh_CN.UTF-8 gh nosuchcommand
expect_err "unknown command" "no catalog" && pass "without a catalog: English"
zh runs show
expect_rc 2 "zh: runs show" && expect_err "哪一次运行" "zh: runs show" && pass "zh: a usage line is Chinese"

zh help run
expect_rc 0 "zh: help run" && expect_out "对数据库运行一个 Lua 程序" "zh: help run" &&
  expect_out "时间上限" "zh: help run's options" && pass "zh: a command's help page is Chinese"
en help run
expect_out "run a Lua program" "C: help run" && pass "C: a command's help page is English"

# --- an empty run does no locale work (W6): no catalog is bound ---
if command -v strace >/dev/null 2>&1; then
  : >"$S/empty.lua"
  en --db "$S/db" run "$S/empty.lua"
  LANG=zh_CN.UTF-8 strace -f -e trace=openat,open -o "$S/trace" "$BIN" --db "$S/db" run "$S/empty.lua" \
    >/dev/null 2>&1
  if grep -q 'LC_MESSAGES\|locale' "$S/trace"; then
    fail "zh: an empty run opened locale files:"; grep 'LC_MESSAGES\|locale' "$S/trace" | head -5 >&2
  else
    pass "zh: an empty run opens no locale file (the catalog is bound at the first message)"
  fi
else
  echo "note: strace missing: the empty run's locale work is not checked" >&2
fi

# --- the runner ---
zh --db "$S/db" run -e 'print(nosuchname)'
expect_rc 1 "zh: unknown global" && expect_err "未知的全局变量“nosuchname”" "zh: runner refusal" &&
  pass "zh: the runner's refusal is Chinese"
en --db "$S/db" run -e 'print(nosuchname)'
expect_err "unknown global 'nosuchname'" "C: runner refusal" && pass "C: the runner's refusal is English"
zh --db "$S/db" run --timeout x -e ''
expect_rc 2 "zh: bad --timeout" && expect_err "--timeout 应为秒数" "zh: bad --timeout" &&
  pass "zh: option errors are Chinese"

# --- Lua's _(), gettext, ngettext, N_ ---
lua tr.lua <<'EOF2'
print(_('not found'), gettext('busy'), N_('busy'))
print(ngettext('wrote %zu row to %s\n', 'wrote %zu rows to %s\n', 3))
local ok, e = pcall(_, nil)
print(ok and 'accepted nil' or 'nil refused')
EOF2
zh --db "$S/db" run "$S/tr.lua"
expect_rc 0 "zh: _() in Lua" && expect_out "未找到	忙	busy" "zh: _ gettext N_" &&
  expect_out "已把 %zu 行写入 %s" "zh: ngettext" && expect_out "nil refused" "_(nil)" &&
  pass "zh: Lua's _(), gettext, ngettext and N_"
en --db "$S/db" run "$S/tr.lua"
expect_out "not found	busy	busy" "C: _ in Lua" && expect_out "wrote %zu rows to %s" "C: ngettext" &&
  pass "C: Lua's _() and ngettext give the English"

# --- import ---
lua define.lua <<'EOF2'
db.define('people', { key = 'n', fields = { n = 'int', name = { type = 'string', label = '姓名' } } })
EOF2
en --db "$S/db" run "$S/define.lua"
expect_rc 0 "define"
printf 'n,姓名\n1,张三\nx,李四\n' >"$S/p.csv"
zh --db "$S/db" import people "$S/p.csv"
expect_rc 3 "zh: import (a row rejected)" && expect_out "导入：" "zh: import summary" &&
  expect_out "退回" "zh: import names the rejects" && pass "zh: import's summary is Chinese"
printf 'n,姓名\n2,王五\ny,赵六\n' >"$S/q.csv"
en --db "$S/db" import people "$S/q.csv"
expect_out "import: " "C: import summary" && expect_out "rejected" "C: import rejects" &&
  pass "C: import's summary is English"

# --- the REPL's hints, in both languages ---
printf '%s\n' "db.people:get（1）" "select * from people where name = '张三'" \
  "db.people:where{ nmae = 'x' }:list()" >"$S/repl.in"
LANG=C "$BIN" --db "$S/db" repl <"$S/repl.in" >"$S/out" 2>"$S/err"
expect_err "full-width punctuation (全角标点) at column 14: use '(' instead of '（'" "C: full-width hint" &&
  expect_err "db.people:where{ name = \"张三\" }:list()" "C: SQL hint" &&
  expect_err "fields of people: n, name (姓名)" "C: field hint" &&
  expect_err "did you mean 'name'?" "C: nearest field" && pass "C: REPL hints"
LANG=zh_CN.UTF-8 "$BIN" --db "$S/db" repl <"$S/repl.in" >"$S/out" 2>"$S/err"
expect_err "第 14 个字符是全角标点：请用“(”代替“（”" "zh: full-width hint" &&
  expect_err "这是 SQL；用查询助手这样写" "zh: SQL hint" &&
  expect_err "people 的字段：n, name (姓名)" "zh: field hint" &&
  expect_err "没有可筛选的字段“nmae”" "zh: the error itself" && pass "zh: REPL hints and errors"

# --- a program: sample data and the gift drive ---
zh --db "$S/prog" run "$SCRIPTS/sample_data.lua" members=60 seed=1
expect_rc 0 "zh: sample data" && expect_out "演示数据：60 名会员" "zh: sample data's summary" &&
  pass "zh: a program's summary is Chinese"
zh --db "$S/prog" run "$SCRIPTS/gift_drive/setup.lua"
expect_rc 0 "zh: gift drive setup"
zh --db "$S/prog" run "$SCRIPTS/gift_drive/claim.lua" station=ST01 id=330481199001081235
expect_rc 1 "zh: a refused claim" && expect_err "未通过（bad_id）：不是有效的身份证号" "zh: refusal" &&
  pass "zh: a program's refusal is Chinese"
en --db "$S/prog" run "$SCRIPTS/gift_drive/claim.lua" station=ST01 id=330481199001081235
expect_rc 1 "C: a refused claim" && expect_err "refused (bad_id): not a valid ID number" "C: refusal" &&
  pass "C: a program's refusal is English"
# every program's refusal phrases are in the catalog (aid's and the market's
# were plain strings that xgettext never saw, so they showed in English)
zh --db "$S/prog" run -e 'for _i, lib in ipairs{ "program", "aid", "market", "newyear" } do for code, phrase in pairs(require(lib).REFUSALS or {}) do if _(phrase) == phrase then print("untranslated " .. lib .. " " .. code) end end end print(_(require("aid").REFUSALS.no_file))'
expect_rc 0 "zh: refusal phrases" && expect_out "没有这个帮扶档案" "zh: aid's refusal" && ! grep -q untranslated "$S/out" &&
  pass "zh: every program's refusal phrases are Chinese" || { fail "untranslated refusal phrases"; cat "$S/out" >&2; }

# --- tables: headers in the language, columns lined up by display width ---
zh --db "$S/prog" run "$SCRIPTS/gift_drive/report.lua"
expect_rc 0 "zh: gift drive report" && expect_out "已发放" "zh: a report's column header" &&
  ! grep -q "issued" "$S/out" && pass "zh: a program's report headers are Chinese"
en --db "$S/prog" run "$SCRIPTS/gift_drive/report.lua"
expect_rc 0 "C: gift drive report" && expect_out "issued" "C: the English header" && pass "C: report headers are English"
zh --db "$S/prog" runs
expect_rc 0 "zh: runs" && expect_out "开始时间" "zh: runs header"
# each header starts at the display column where its column's cells start
python3 - "$S/out" <<'PY' && pass "zh: runs lines up Chinese headers by display width" || fail "zh: runs columns do not line up"
import sys, unicodedata
lines = [l for l in open(sys.argv[1], encoding='utf-8').read().splitlines() if l.strip()]
def cells(l):  # display column -> character (a wide character fills two columns)
    out = []
    for ch in l:
        out += [ch] * (2 if unicodedata.east_asian_width(ch) in 'WF' else 1)
    return out
head, rule = cells(lines[0]), lines[1]
head += [' '] * (len(rule) + 1 - len(head))
segs = [(i, rule.index(' ', i) if ' ' in rule[i:] else len(rule))
        for i, ch in enumerate(rule) if ch == '-' and (i == 0 or rule[i - 1] == ' ')]
# a header starts where its column starts (text) or ends where it ends (numbers)
def fits(p, e):
    return (head[p] != ' ' and (p == 0 or head[p - 1] == ' ')) or (head[e - 1] != ' ' and head[e] == ' ')
ok = len(segs) == 7 and all(fits(p, e) for p, e in segs)
sys.exit(0 if ok else 1)
PY
zh --db "$S/prog" stat
expect_rc 0 "zh: stat" && expect_out "数据表 / 索引" "zh: stat header" && pass "zh: stat's headers are Chinese"

# --- a traceback in the message language ---
printf 'local function inner() error("boom") end\ninner()\n' >"$S/tb.lua"
zh --db "$S/db" run "$S/tb.lua"
expect_rc 1 "zh: an error" && expect_err "调用栈：" "zh: traceback heading" &&
  expect_err "在主程序中" "zh: main chunk" && ! grep -q "stack traceback" "$S/err" &&
  pass "zh: a traceback's words are Chinese"
printf 'local function f() error("x") end\nf()\n' | LANG=zh_CN.UTF-8 "$BIN" --db "$S/db" repl >"$S/out" 2>"$S/err"
expect_err "x" "zh: REPL error" && ! grep -q "调用栈" "$S/err" && pass "zh: the REPL shows the error without its frames"

# --- a program's own catalog beside its scripts (tools/update-po.sh DIR) ---
if command -v xgettext >/dev/null && command -v msgfmt >/dev/null; then
  P=$S/myprog
  rm -rf "$P" && mkdir -p "$P"
  cat >"$P/main.lua" <<'LUA'
print(_('Hello from my program'))
print(_('not found'))
print(string.format(ngettext('%d ticket', '%d tickets', 3), 3))
LUA
  sh "$SCRIPTS/../tools/update-po.sh" "$P" >"$S/out" 2>"$S/err"
  grep -q 'msgid "Hello from my program"' "$P/po/zh_CN.po" && ! grep -q 'msgid "not found"' "$P/po/zh_CN.po" &&
    pass "update-po.sh DIR: the program's messages, less those gonghui's catalog has" ||
    fail "update-po.sh DIR: $(cat "$S/err")"
  sed -i -e '/msgid "Hello from my program"/{n;s/.*/msgstr "我的项目向你问好"/}' \
    -e '/msgid_plural "%d tickets"/{n;s/.*/msgstr[0] "%d 张车票"/}' "$P/po/zh_CN.po"
  sh "$SCRIPTS/../tools/update-po.sh" "$P" >"$S/out" 2>"$S/err"
  [ -f "$P/locale/zh_CN/LC_MESSAGES/myprog.mo" ] && pass "update-po.sh DIR compiles the catalog" ||
    fail "no myprog.mo: $(cat "$S/err")"
  zh --db "$S/db" run "$P/main.lua"
  expect_rc 0 "zh: own catalog" && expect_out "我的项目向你问好" "zh: the program's own message" &&
    expect_out "未找到" "zh: gonghui's message from its catalog" && expect_out "3 张车票" "zh: the program's plural" &&
    pass "zh: a program's own catalog, then gonghui's"
  en --db "$S/db" run "$P/main.lua"
  expect_rc 0 "C: own catalog" && expect_out "Hello from my program" "C: English" &&
    expect_out "3 tickets" "C: English plural" && pass "C: a program with a catalog speaks English under C"
fi

# --- users: the name anywhere among the options; the list lined up in Chinese ---
if "$BIN" help users >/dev/null 2>&1; then
  echo 'secret-pass-123' | LANG=C "$BIN" --db "$S/prog" users add --union 1 --role clerk 李四 >"$S/out" 2>"$S/err"
  expect_rc 0 "users add with the options first" && expect_out "account 李四: clerk" "the account made" &&
    pass "users add takes the name after its options, as its help shows them"
  zh --db "$S/prog" users list
  expect_rc 0 "zh: users list" && expect_out "李四" "zh: the account listed" &&
    python3 - "$S/out" <<'PY' && pass "zh: users list lines up Chinese headers" || fail "zh: users list columns do not line up"
import sys, unicodedata
lines = [l for l in open(sys.argv[1], encoding='utf-8').read().splitlines() if l.strip()]
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)
head, rule = lines[0], lines[1]
# the header is as wide as the rule under it (each title padded to its column by display width)
sys.exit(0 if w(head.rstrip()) <= len(rule) and head.split()[1] != '' and w(head[:head.index(head.split()[1])]) == rule.index(' -') + 1 else 1)
PY
fi

# --- check ---
zh --db "$S/db" check
expect_rc 0 "zh: check" && expect_out "完好" "zh: check" && pass "zh: check's report is Chinese"
finish
