#!/bin/sh
# ops.sh BINARY SCRATCH SOURCE — operating federations (issue 20): the
# three-node cluster of examples/federation/ (TLS both ways, a user per
# federation allowed only its own subjects and stream, the province's user
# only reading), two federations and a province:
#   * shipping and receiving through it, over TLS with passwords from the
#     environment; a wrong password, a federation publishing as another, a
#     wrong key file: refused, nothing shipped;
#   * what leaves: a declared topic with an ID number is refused unless
#     keys/raw name it; no byte NATS stored holds a member's ID number or
#     name; the same member has the same pseudonym in both federations;
#   * replay at the shipper (the stream drops the repeats: its count stays),
#     replay at the receiver (forgotten, received again, the same report),
#     remove --purge and add again;
#   * status at both ends.
# Exit 77 (ctest: skipped) without nats-server, openssl or the nats plugin.
. "$(dirname "$0")/../cli/lib.sh"
SRC=$3
YEAR=2025
setup "$1" "$2"
PLUGIN=$(dirname "$BIN")/plugins/nats.so
if ! command -v nats-server >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 ||
  [ ! -f "$PLUGIN" ]; then
  echo "skipped: needs nats-server, openssl and the nats plugin (libnats-dev)" >&2
  exit 77
fi
unset GONGHUI_FED_KEY_FILE GONGHUI_NATS_USER GONGHUI_NATS_PASSWORD GONGHUI_NATS_TOKEN

# ---- certificates: a CA, one for the nodes (127.0.0.1), one per client ----
T=$S/tls
mkdir -p "$T"
(
  cd "$T" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=gh-ca
  openssl req -newkey rsa:2048 -nodes -keyout node-key.pem -out node.csr -subj /CN=node
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >ext
  openssl x509 -req -in node.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out node-cert.pem \
    -days 2 -extfile ext
  openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr -subj /CN=client
  printf 'extendedKeyUsage=clientAuth\n' >cext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -out client-cert.pem -days 2 -extfile cext
) >"$S/openssl.log" 2>&1 || { fail "making certificates"; cat "$S/openssl.log" >&2; finish; }

# ---- the example cluster, on free local ports ----
PORTS=$(python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss: s.close()')
port() { echo "$PORTS" | cut -d' ' -f"$1"; }
for i in 1 2 3; do
  sed -e "s|/var/lib/nats|$S/js|" -e "s|/etc/nats/n[123]-cert.pem|$T/node-cert.pem|" \
    -e "s|/etc/nats/n[123]-key.pem|$T/node-key.pem|" -e "s|/etc/nats/ca.pem|$T/ca.pem|" \
    -e "s|n1.example.org:4222|127.0.0.1:$(port 1)|" -e "s|n2.example.org:4222|127.0.0.1:$(port 2)|" \
    -e "s|n3.example.org:4222|127.0.0.1:$(port 3)|" -e "s|n1.example.org:6222|127.0.0.1:$(port 4)|" \
    -e "s|n2.example.org:6222|127.0.0.1:$(port 5)|" -e "s|n3.example.org:6222|127.0.0.1:$(port 6)|" \
    "$SRC/examples/federation/n$i.conf" >"$S/n$i.conf"
done
cp "$SRC/examples/federation/accounts.conf" "$S/"
export HAINING_PASSWORD=hain-pass TONGXIANG_PASSWORD=tong-pass PROVINCE_PASSWORD=prov-pass
for i in 1 2 3; do
  nats-server -c "$S/n$i.conf" >"$S/nats$i.log" 2>&1 &
  track $!
done
URLS="nats://127.0.0.1:$(port 1),nats://127.0.0.1:$(port 2),nats://127.0.0.1:$(port 3)"
TLS="--tls-ca $T/ca.pem --tls-cert $T/client-cert.pem --tls-key $T/client-key.pem"

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$S/key"
chmod 600 "$S/key"
FEDS="haining tongxiang"
for f in $FEDS; do
  "$BIN" --db "$S/$f" --new-db run "$SRC/scripts/sample_data.lua" members=60 seed=7 >/dev/null 2>&1 ||
    fail "sample data for $f"
  gh --db "$S/$f" run "$SRC/bench/fed_year.lua" entries=80 chunk=40 seed=${#f} year=$YEAR
  expect_rc 0 "entries of $f"
done

# ship F [options]: as F, with F's password
ship() {
  _f=$1
  shift
  GONGHUI_NATS_USER=$_f GONGHUI_NATS_PASSWORD=$(echo "$_f" | cut -c1-4)-pass \
    gh --db "$S/$_f" federation ship --as "$_f" --nats "$URLS" $TLS --key-file "$S/key" --replicas 3 "$@"
}
# until_gh_ok CMD...: (CMD sets RC, as gh does) the cluster elects its JetStream leaders first (a condition, with a backstop)
until_gh_ok() {
  _t=$(date +%s)
  while :; do
    "$@"
    [ "$RC" -eq 0 ] && return 0
    [ $(($(date +%s) - _t)) -lt "${WAIT_DEADLINE:-300}" ] || return 1
    sleep 0.2
  done
}
for f in $FEDS; do
  until_gh_ok ship $f
  expect_rc 0 "federation ship $f over TLS" && expect_out "80 messages shipped and acked" "$f shipped all"
done

# ---- refusals: nothing shipped ----
GONGHUI_NATS_USER=haining GONGHUI_NATS_PASSWORD=wrong \
  gh --db "$S/haining" federation ship --nats "$URLS" $TLS --key-file "$S/key"
expect_rc 1 "a wrong password" && expect_err "uthorization" "a wrong password is named"
cp -r "$S/tongxiang" "$S/rogue"
GONGHUI_NATS_USER=haining GONGHUI_NATS_PASSWORD=hain-pass \
  gh --db "$S/rogue" federation ship --nats "$URLS" $TLS --key-file "$S/key"
expect_rc 1 "haining's user shipping as tongxiang"
gh --db "$S/haining" federation ship --nats "$URLS" $TLS
expect_rc 2 "ship without a key" && expect_err "--key-file" "the missing key is named"
chmod 644 "$S/key"
ship haining
expect_rc 1 "a key others may read" && expect_err "chmod 600" "what to do is said"
chmod 600 "$S/key"
ship haining --as other
expect_rc 1 "another name for the same database" && expect_err "ships as haining" "the name kept is said"
gh --db "$S/haining" federation ship --as haining --nats "$URLS" --key-file "$S/key"
expect_rc 1 "no TLS where the servers ask for it"

# ---- what leaves: declarations, pseudonyms, no ID number in NATS ----
lua declare.lua <<'EOF'
local fed = require 'federation'
local ok, e = pcall(fed.declare, 'member.note', { fields = { 'town', 'id_number' } })
assert(not ok and e:find('personal data', 1, true), 'an ID number refused: ' .. tostring(e))
fed.declare('member.note', { fields = { 'town', 'id_number', 'member_id' }, keys = { 'id_number', 'member_id' } })
local n = 0
db.atomic(function()
  for m in db.members:scan{ limit = 20 } do
    bus.publish('member.note', { member_id = m.member_id, id_number = m.id_number, name = m.name, town = m.town })
    n = n + 1
  end
end)
print(n)
EOF
for f in $FEDS; do
  gh --db "$S/$f" run "$S/declare.lua"
  expect_rc 0 "declarations at $f"
  ship $f
  expect_rc 0 "shipping member.note of $f" && expect_out "20 messages shipped" "$f: 20 notes shipped"
done
lua ids.lua <<'EOF'
for m in db.members:scan() do print(m.id_number); print(m.name) end
EOF
gh --db "$S/haining" run "$S/ids.lua"
cp "$S/out" "$S/secrets"
gh --db "$S/tongxiang" run "$S/ids.lua"
cat "$S/out" >>"$S/secrets"
python3 - "$S/secrets" "$S"/js* >"$S/leak" <<'EOF'
import os, sys
secrets = {l.strip().encode() for l in open(sys.argv[1], encoding='utf-8') if len(l.strip()) >= 2}
names = [s for s in secrets if not s.isdigit() and len(s) < 15]
ids = [s for s in secrets if len(s) == 18]
n = 0
for top in sys.argv[2:]:
    for d, _, files in os.walk(top):
        for f in files:
            b = open(os.path.join(d, f), 'rb').read()
            n += len(b)
            for s in ids + [x for x in names if len(x) >= 6]:
                if s in b:
                    print('found', s.decode(), 'in', os.path.join(d, f))
print('scanned', n, 'bytes,', len(ids), 'ID numbers')
EOF
if grep -q '^found' "$S/leak" || ! grep -q '^scanned [1-9]' "$S/leak"; then
  fail "personal data in NATS's files: $(head -3 "$S/leak")"
else
  pass "no ID number or name in any byte NATS stored ($(tail -1 "$S/leak"))"
fi

# ---- the province ----
for f in $FEDS; do
  gh --db "$S/prov" federation add $f
  expect_rc 0 "add $f"
done
recv() {
  GONGHUI_NATS_USER=province GONGHUI_NATS_PASSWORD=prov-pass \
    gh --db "$S/prov" federation receive --nats "$URLS" $TLS --ack-wait 1 "$@"
}
until_gh_ok recv
expect_rc 0 "receive at the province" && expect_out "200 events stored" "all 200 events stored"
lua same.lua <<'EOF'
-- the same member (the same sample data, the same ID numbers) has one pseudonym in both
local by = {}
for e in db.fed_events:scan() do
  if e.topic == 'member.note' then
    local k = e.body.id_number
    by[k] = (by[k] or 0) + 1
    assert(#k == 32 and k:match('^%x+$'), 'a pseudonym: ' .. tostring(k))
    assert(e.body.name == nil, 'name did not leave')
  end
end
local n, two = 0, 0
for _, c in pairs(by) do n = n + 1; if c == 2 then two = two + 1 end end
print(n, two)
EOF
gh --db "$S/prov" run "$S/same.lua"
expect_rc 0 "member.note at the province" && expect_out "20	20" "each of 20 members: one pseudonym from both federations"

lua own.lua <<'EOF'
local t = require('year_report').build(params.year).log.total
print(string.format('%d %d %d %d %d', t.sessions, t.persons, t.person_times, t.household_times, t.money_fen))
EOF
lua prov.lua <<'EOF'
local rep = require('federation').report(params.year)
local c = rep.federation[params.name]
c = c and c.total or { sessions = 0, persons = 0, person_times = 0, household_times = 0, money_fen = 0 }
print(string.format('%d %d %d %d %d', c.sessions, c.persons, c.person_times, c.household_times, c.money_fen))
EOF
same_reports() {
  for f in $FEDS; do
    gh --db "$S/$f" run "$S/own.lua" year=$YEAR
    own=$(cat "$S/out")
    gh --db "$S/prov" run "$S/prov.lua" year=$YEAR name=$f
    [ -n "$own" ] && [ "$own" = "$(cat "$S/out")" ] || fail "$1: $f's own report '$own', the province's '$(cat "$S/out")'"
  done
}
same_reports "after receiving"

# the ten-things report across the federations: each federation's column
# equals its own ten-things page (the records' count)
lua lines.lua <<'EOF'
return { title = '十件实事', lines = { { title = '送清凉', program = 'care', says = '{sessions}场，{person_times}人次，{persons}人，{yuan}元' } } }
EOF
lua own_ten.lua <<'EOF'
local rep = require('ten_things').build{ year = params.year, lines = loadfile(params.lines)() }
local c = rep.records.lines[1].cell
print(string.format('%d %d %d %s', c.sessions, c.person_times, c.persons, require('fmt').yuan(c.fen)))
EOF
gh --db "$S/prov" federation report --year $YEAR --ten --lines "$S/lines.lua"
expect_rc 0 "federation report --ten" && cp "$S/out" "$S/ten_prov"
for f in $FEDS; do
  gh --db "$S/$f" run "$S/own_ten.lua" year=$YEAR lines="$S/lines.lua"
  own=$(cat "$S/out")
  set -- $own
  if [ $# -eq 4 ] && grep -E "^$f +$1 +[0-9]+ +$2 +$3 +$4\$" "$S/ten_prov" >/dev/null; then
    pass "$f: the province's ten-things column is $f's own ($own)"
  else
    fail "$f: own ten-things '$own', the province's: $(grep "^$f" "$S/ten_prov")"
  fi
done

# ---- replay at the shipper: JetStream drops the repeats ----
gh --db "$S/haining" federation replay --from 1
expect_rc 0 "federation replay --from 1 at haining" && expect_out "after sequence 0" "the cursor is back at 0"
ship haining
expect_rc 0 "shipping haining again" && expect_out "100 messages shipped" "haining shipped 100 again"
recv
expect_rc 0 "receive after the shipper's replay" && expect_out "0 events stored" "nothing stored twice"
lua stream.lua <<'EOF'
local nats = require 'nats'
local h = nats.connect('servers=' .. params.urls .. '\ntls_ca=' .. params.ca .. '\ntls_cert=' .. params.cert ..
                       '\ntls_key=' .. params.key)
print(nats.stream_info(h, 'GH_haining'):match('msgs=(%d+)'))
EOF
GONGHUI_NATS_USER=province GONGHUI_NATS_PASSWORD=prov-pass \
  gh --db "$S/prov" run "$S/stream.lua" urls="$URLS" ca="$T/ca.pem" cert="$T/client-cert.pem" key="$T/client-key.pem"
expect_out "100" "the stream holds each of haining's 100 events once"

# ---- replay at the receiver; remove and add ----
GONGHUI_NATS_USER=province GONGHUI_NATS_PASSWORD=prov-pass \
  gh --db "$S/prov" federation replay haining --from 50 --nats "$URLS" $TLS
expect_rc 0 "federation replay haining --from 50" && expect_out "events from 50 on forgotten" "forgotten"
forgot=$(sed -n 's/.*: \([0-9]*\) events from 50 on forgotten.*/\1/p' "$S/out")
[ "${forgot:-0}" -gt 0 ] || fail "nothing forgotten from 50 on"
recv
expect_rc 0 "receive after the replay" && expect_out "$forgot events stored" "the $forgot stored again"
same_reports "after the receiver's replay"
GONGHUI_NATS_USER=province GONGHUI_NATS_PASSWORD=prov-pass \
  gh --db "$S/prov" federation remove tongxiang --purge --nats "$URLS" $TLS
expect_rc 0 "remove tongxiang --purge" && expect_out "100 events deleted" "its 100 events deleted"
gh --db "$S/prov" run "$S/prov.lua" year=$YEAR name=tongxiang
expect_out "0 0 0 0 0" "tongxiang counts nothing after remove --purge"
gh --db "$S/prov" federation add tongxiang
expect_rc 0 "add tongxiang again"
recv
expect_rc 0 "receive tongxiang again" && expect_out "100 events stored" "its 100 events again"
same_reports "after remove and add"

# ---- status at both ends ----
GONGHUI_NATS_USER=haining GONGHUI_NATS_PASSWORD=hain-pass \
  gh --db "$S/haining" federation status --nats "$URLS" $TLS
expect_rc 0 "status at haining" && expect_out "(lag 0)" "haining's lag is 0" &&
  expect_out "the stream has up to" "the stream's last sequence"
GONGHUI_NATS_USER=province GONGHUI_NATS_PASSWORD=prov-pass \
  gh --db "$S/prov" federation status --nats "$URLS" $TLS
expect_rc 0 "status at the province"
# received 100, the last sequence received = the last in the stream, nothing pending
for f in $FEDS; do
  grep -E "^$f +100 +([0-9]+) +\\1 +0 " "$S/out" >/dev/null || { fail "$f's status row"; show_output; }
done
gh --db "$S/prov" federation report --year $YEAR
expect_rc 0 "federation report" && expect_out "across 2 federations" "the report's title"
finish
