#!/bin/sh
# pii.sh BINARY SCRATCH — personal data has one rule (core/pii.c): `gonghui
# export`, the REPL and export.* in scripts mask the same fields the same
# way (bank accounts and cellphones too, where export once wrote them whole),
# a definition's declaration wins over the name-based guess, and --unmask /
# .unmask show them whole and are recorded.
. "$(dirname "$0")/lib.sh"
setup "$@"

DB=$S/db
lua make.lua <<'EOF2'
db.define('payees', { key = 'payee_id', fields = {
  payee_id = 'int', name = { type = 'string', pii = 'name' }, bank_account = 'string',
  cellphone = 'string', acct = { type = 'string', pii = 'bank' },
  tel = { type = 'string', pii = false } } })
db.payees:insert{ payee_id = 1, name = '张三明', bank_account = '6222021234567890123',
  cellphone = '13800001111', acct = '6217001234567890', tel = '0573-12345' }
EOF2
gh --db "$DB" run "$S/make.lua"
expect_rc 0 "making the database" || finish


gh --db "$DB" export payees --out p.csv
expect_rc 0 "export"
has p.csv "6222***********0123" "export masks bank_account (guessed)"
has p.csv "138****1111" "export masks cellphone (guessed)"
has p.csv "6217********7890" "export masks a field declared pii = 'bank'"
has p.csv "0573-12345" "pii = false: shown whole"
has p.csv "张三明" "names are for clerks: shown in exports"
hasnot p.csv "6222021234567890123" "no whole bank account"

gh --db "$DB" export payees --out u.csv --unmask
expect_rc 0 "export --unmask"
has u.csv "6222021234567890123" "--unmask: whole"

printf '%s\n' 'db.payees:get(1)' | "$BIN" --db "$DB" repl >"$S/r1" 2>&1
has "$S/r1" "6222***********0123" "the REPL masks bank_account as export does"
has "$S/r1" "6217********7890" "the REPL masks the declared field"
has "$S/r1" "138****1111" "the REPL masks cellphone"
has "$S/r1" "0573-12345" "the REPL shows pii = false whole"
hasnot "$S/r1" "13800001111" "no whole phone in the REPL"

printf '%s\n' 'pii.mask(db.payees:get(1).name, "name")' | "$BIN" --db "$DB" repl >"$S/r2" 2>&1
has "$S/r2" "张*明" "pii.mask for public lists: 张*明"
finish
