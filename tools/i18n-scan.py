#!/usr/bin/env python3
"""i18n-scan.py — messages a person reads that do not go through gettext.

    python3 tools/i18n-scan.py [--strict] [--summary] [FILE...]

Looks at the places messages are made and reports each English string literal
that is not wrapped in _() / _n() / N_() (C) or _() / gettext() / ngettext()
/ N_() (Lua):

  C    printf, fprintf, err_set, err_prefix, luaL_error, luaL_argerror,
       lua_pushfstring, fputs, puts — the format (or message) argument
  Lua  print, error, io.write, :write on io.stdout/io.stderr, refuse(),
       string.format and ('...'):format(...) whose text is printed, and
       `return nil, '...'` / `return false, '...'` refusals

A literal counts as English when, once format directives, command names
(gonghui, gonghui run, .once ...), option names (--db), file-ish words and
punctuation are taken out, a word of two or more letters is left. A line
ending in the comment `i18n: ok` (C: /* i18n: ok */, Lua: -- i18n: ok) is
skipped: keys, JSON, file formats and other text that is not a message.

Prints file:line: text for each one, and a count per file with --summary.
Exits 1 with --strict when any is found, else 0. Without FILE arguments it
scans core/*.c, plugins/*/*.c, core/*.lua and scripts/**/*.lua (git
ls-files) from the repository root.
"""
import os
import re
import subprocess
import sys

C_CALLS = {
    # name: index of the message argument (0-based)
    'printf': 0, 'fprintf': 1, 'err_set': 1, 'err_prefix': 0, 'luaL_error': 1,
    'luaL_argerror': 2, 'lua_pushfstring': 1, 'fputs': 0, 'puts': 0,
    'import_problem': 4,  # import.c: the reason a row is rejected
    'usage_err': 0,  # export.c: a usage line
    'problem': 3,  # store_check.c: what gonghui check found
}
WRAP_C = ('_(', '_n(', 'N_(')
WRAP_LUA = ('_(', 'gettext(', 'ngettext(', 'N_(')

NEUTRAL = [
    re.compile(r'\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|[a-z])'),           # escapes
    re.compile(r'^(null|true|false|return %s|not enough memory)$'),
    re.compile(r'\\"\w+\\":'),                               # JSON keys  # JSON, Lua code, Lua's own text
    re.compile(r'%[-+ #0]*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|z|j|t|L)?[a-zA-Z%]'),  # printf
    re.compile(r'%<PRI[a-zA-Z0-9]+>'),
    re.compile(r'\bgonghui( [a-z_]+)*\b'),
    re.compile(r'--[a-z][a-z-]*'),
    re.compile(r'(?<![A-Za-z])\.[a-z]+\b'),          # .once, .help
    re.compile(r'\b[\w./-]+\.(lua|csv|xlsx|tsv|json|jsonl|so|mo|po|c|h)\b'),
    re.compile(r'\b[A-Za-z_][\w.]*\('),             # function names: db.define(
    re.compile(r'\b\w+_\w+\b'),                     # snake_case names
    re.compile(r'\b(ok|FAIL|OK|ID|UTF-8|GB18030|CSV|TSV|JSON|JSONL|Lua|LMDB|SHA-256|sha256|pid|fen|yuan|nil|true|false)\b'),
]


ROFF = re.compile(r'^(\\n)?(\.[A-Z]{1,2}\b|\.\\\\"|@[a-z]+\\n$)')


def english(text):
    if re.fullmatch(r'[\w%.\-\[\]]+', text, re.ASCII) and re.search(r'[-_.%\[]', text):
        return False  # a key, a file or seed name ('groups[', 'gonghui-sample-%d'): no message
    if re.fullmatch(r'[a-z]+', text) or re.fullmatch(r'[A-Z]{1,4}[%0-9a-z_.-]*(-[%0-9a-z_]+)*', text):
        return False  # a code ('closed', 'already') or an ID pattern ('ST%02d'), not a message
    if text.startswith(".\\") or ROFF.match(text) or '\\f' in text:
        return False  # man page markup (gonghui help --man), not a message
    t = text
    for r in NEUTRAL:
        t = r.sub(' ', t)
    return re.search(r'[A-Za-z]{2,}', t) is not None


def c_string_at(src, pos):
    """The concatenated C string literal starting at src[pos] (after blanks),
    and the end position; None when there is no literal there."""
    out = []
    i = pos
    n = len(src)
    while True:
        while i < n and src[i] in ' \t\r\n':
            i += 1
        if i < n and src[i] == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            out.append(src[i + 1:j])
            i = j + 1
        else:
            break
    return (''.join(out), i) if out else (None, i)


def split_args(src, start):
    """Positions where each argument of the call whose '(' is at start-1 begins."""
    depth = 0
    i = start
    n = len(src)
    args = [start]
    while i < n:
        ch = src[i]
        if ch == '"' or ch == "'":
            q = ch
            i += 1
            while i < n and src[i] != q:
                i += 2 if src[i] == '\\' else 1
        elif ch in '([{':
            depth += 1
        elif ch in ')]}':
            if depth == 0:
                return args
            depth -= 1
        elif ch == ',' and depth == 0:
            args.append(i + 1)
        i += 1
    return args


def strip_c_comments(src):
    # keep newlines and strings; blank out comments
    out = []
    i, n = 0, len(src)
    while i < n:
        if src.startswith('/*', i):
            j = src.find('*/', i + 2)
            j = n if j < 0 else j + 2
            chunk = src[i:j]
            keep = 'i18n: ok' in chunk
            out.append(chunk if keep else re.sub(r'[^\n]', ' ', chunk))
            i = j
        elif src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif src[i] == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            out.append(src[i:j + 1])
            i = j + 1
        elif src[i] == "'":
            j = i + 1
            while j < n and src[j] != "'":
                j += 2 if src[j] == '\\' else 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return ''.join(out)


def scan_c(path):
    src = strip_c_comments(open(path, encoding='utf-8', errors='replace').read())
    lines = src.split('\n')
    found = []
    for m in re.finditer(r'\b(' + '|'.join(C_CALLS) + r')\s*\(', src):
        if src[m.start() - 1:m.start()] in ('.', '>') or src[max(0, m.start() - 2):m.start()] == '->':
            continue
        args = split_args(src, m.end())
        k = C_CALLS[m.group(1)]
        if k >= len(args):
            continue
        a = args[k]
        rest = src[a:a + 200].lstrip()
        if rest.startswith(WRAP_C):
            continue
        text, _ = c_string_at(src, a)
        if text is None or not english(text):
            continue
        line = src.count('\n', 0, a) + 1
        if 'i18n: ok' in lines[line - 1] or (line < len(lines) and 'i18n: ok' in lines[line]):
            continue
        found.append((line, text))
    return found


LUA_STR = r'''(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)")'''
LUA_PATTERNS = [
    re.compile(r'(?<![\w.:])(?:print|error|refuse|io\.write|io\.stdout:write|io\.stderr:write|'
               r'string\.format|printf|say|fail|uerr|warn)\s*\(\s*' + LUA_STR),
    re.compile(r'(?<![\w.:])(?:print|error|refuse)\s+' + LUA_STR),
    re.compile(r'\brun\.fail\s*\(\s*' + LUA_STR),
    re.compile(r'\breturn\s+(?:nil|false)\s*,\s*' + LUA_STR),
    # a refusal's message after its code: return nil, 'no_station', 'no station ' .. id
    re.compile(r'\breturn\s+(?:nil|false)\s*,\s*(?:\'[a-z_]+\'|[a-z_.]+)\s*,\s*' + LUA_STR),
    re.compile(LUA_STR + r'\s*\)\s*:\s*format\s*\('),
]


# Text joined to a message with '..' ("gettext('station ') .. id .. ' is closed'"):
# the pieces are translated apart or not at all; one format string is the message.
LUA_JOINED = re.compile(r'(?:\.\.\s*' + LUA_STR + r'|' + LUA_STR + r'\s*\.\.)')
LUA_MESSAGE_LINE = re.compile(r'(?<![\w.:])(?:print|error|refuse|fail|uerr|run\.fail|add)\s*\(|'
                              r'(?:out|lines)\[#(?:out|lines) \+ 1\]\s*=')
# Column titles of a text table: fmt.table({ 'station', 'issued' }, ...). One
# lower-case word is a message here, not a code.
FMT_TABLE = re.compile(r'fmt\.table\(\s*\{')


def table_headers(text, start):
    """The header literals of the fmt.table call whose '{' ends at start."""
    depth, i, out = 1, start, []
    while i < len(text) and depth:
        ch = text[i]
        if ch in '\'"':
            j = i + 1
            while j < len(text) and text[j] != ch:
                j += 2 if text[j] == '\\' else 1
            before = text[max(0, i - 12):i]
            if not re.search(r'(?:\b_|gettext|N_)\s*\(\s*$', before):
                out.append((i, text[i + 1:j]))
            i = j + 1
            continue
        depth += ch == '{'
        depth -= ch == '}'
        i += 1
    return out


def scan_lua(path):
    found = []
    whole = open(path, encoding='utf-8', errors='replace').read()
    for m in FMT_TABLE.finditer(whole):
        if re.match(r'\s*--', whole[whole.rfind('\n', 0, m.start()) + 1:m.start()]):
            continue  # an example in a comment
        for pos, text in table_headers(whole, m.end()):
            line = whole.count('\n', 0, pos) + 1
            if re.search(r'[A-Za-z]{2,}', text) and 'i18n: ok' not in whole.split('\n')[line - 1]:
                found.append((line, text))
    in_long = False
    in_refusals = False   # a REFUSALS = { code = 'phrase', ... } table: each phrase a message
    for no, line in enumerate(open(path, encoding='utf-8', errors='replace'), 1):
        if re.match(r'\s*(?:local\s+)?[\w.]*REFUSALS\s*=\s*\{\s*$', line):
            in_refusals = True
            continue
        if in_refusals:
            if re.match(r'\s*\}', line):
                in_refusals = False
            else:
                m = re.match(r'\s*\w+\s*=\s*' + LUA_STR, line)
                if m:
                    found.append((no, m.group(1) if m.group(1) is not None else m.group(2)))
            continue
        if in_long:
            if ']]' in line:
                in_long = False
            continue
        code = line
        if re.match(r'\s*--\[\[', code) or re.match(r'\s*--\[=*\[', code):
            if ']]' not in code:
                in_long = True
            continue
        if 'i18n: ok' in code:
            continue
        stripped = re.sub(r'--(?!\[).*$', '', code) if "'" not in code and '"' not in code else code
        if LUA_MESSAGE_LINE.search(stripped):
            for m in LUA_JOINED.finditer(stripped):
                text = next(g for g in m.groups() if g is not None)
                before = stripped[:m.start()]
                if english(text) and not re.search(r'(?:\b_|gettext|ngettext|N_)\s*\(\s*$', before):
                    found.append((no, text))
        for pat in LUA_PATTERNS:
            for m in pat.finditer(stripped):
                # the literal is wrapped when _( or gettext( stands right before it
                before = stripped[:m.start(1) if m.group(1) is not None else m.start(2)]
                if re.search(r'(?:\b_|gettext|ngettext|N_)\s*\(\s*["\']$', before):
                    continue
                text = m.group(1) if m.group(1) is not None else m.group(2)
                if english(text):
                    found.append((no, text))
    return found


def files_from_git(root):
    def ls(*pats):
        try:
            out = subprocess.run(['git', 'ls-files', *pats], cwd=root, capture_output=True,
                                 text=True, check=True).stdout
            return [os.path.join(root, p) for p in out.split()]
        except (OSError, subprocess.CalledProcessError):
            return []
    return ls('core/*.c', 'plugins/*.c') + ls('core/*.lua', 'scripts/*.lua')


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    strict = '--strict' in sys.argv
    summary = '--summary' in sys.argv
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = args or files_from_git(root)
    total = 0
    per = []
    for f in files:
        found = scan_c(f) if f.endswith(('.c', '.h')) else scan_lua(f)
        rel = os.path.relpath(f, root)
        for line, text in found:
            if not summary:
                print('%s:%d: %s' % (rel, line, text[:110]))
        if found:
            per.append((len(found), rel))
        total += len(found)
    if summary:
        for n, rel in sorted(per, reverse=True):
            print('%5d  %s' % (n, rel))
    print('i18n-scan: %d message%s not marked for translation in %d files' %
          (total, '' if total == 1 else 's', len(files)), file=sys.stderr)
    return 1 if strict and total else 0


if __name__ == '__main__':
    sys.exit(main())
