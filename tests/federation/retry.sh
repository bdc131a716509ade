#!/bin/sh
# retry.sh BINARY SCRATCH SOURCE — a shipper that cannot make its stream
# (NATS without JetStream here; in fed_cluster, a three-node cluster still
# electing its leader on a loaded machine) tries again for ever without
# using up connections: each failed try closes the connection it opened (the
# nats plugin holds at most 16 at once; each try once kept one, and after 16
# the shipper only said "at most 16 connections at once"). Once JetStream is
# there, it ships everything. Nothing here waits a fixed time: it waits for
# the tries to be counted in the log and for the lag to be 0 (300 s backstops).
# Exit 77 (ctest: skipped) without nats-server or the nats plugin.
. "$(dirname "$0")/../cli/lib.sh"
SRC=$3
setup "$1" "$2"
PLUGIN=$(dirname "$BIN")/plugins/nats.so
if ! command -v nats-server >/dev/null 2>&1 || [ ! -f "$PLUGIN" ]; then
  echo "skipped: needs nats-server (Debian nats-server) and the nats plugin (libnats-dev)" >&2
  exit 77
fi
unset GONGHUI_FED_KEY_FILE
PORT=$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$S/key"
chmod 600 "$S/key"
"$BIN" --db "$S/f1" --new-db run "$SRC/scripts/sample_data.lua" members=30 seed=1 >/dev/null 2>"$S/err" ||
  { fail "sample data"; cat "$S/err" >&2; finish; }
gh --db "$S/f1" run "$SRC/bench/fed_year.lua" entries=10 chunk=10 seed=1 year=2025
expect_rc 0 "a backlog of entries" || finish

nats-server -a 127.0.0.1 -p "$PORT" >>"$S/nats.log" 2>&1 &
NATS=$!
track $NATS
"$BIN" --db "$S/f1" federation ship --as f1 --nats "nats://127.0.0.1:$PORT" --key-file "$S/key" \
  --follow >>"$S/ship.log" 2>&1 &
SHIP=$!
track $SHIP
# (tries that reached NATS: a stream refused, or a connection refused by the plugin)
tries_past_16() { [ "$(grep -c -e 'nats\.stream' -e 'at most 16' "$S/ship.log")" -ge 20 ]; }
until_ok tries_past_16 || fail "the shipper did not try 20 times: $(tail -3 "$S/ship.log")"
if grep -q 'at most 16 connections' "$S/ship.log"; then
  fail "failed tries used up the connections: $(grep -c 'at most 16' "$S/ship.log") tries said so"
else
  pass "20 tries to make the stream without JetStream, each closing its connection"
fi
grep -q 'nats.stream: .*JetStream' "$S/ship.log" && pass "each says why: $(grep -m1 'nats.stream' "$S/ship.log")" ||
  fail "the failed tries do not say why: $(head -3 "$S/ship.log")"

# JetStream comes: the same shipper, still trying, makes the stream and ships
kill "$NATS"
reap "$NATS"
nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$S/js" >>"$S/nats.log" 2>&1 &
NATS=$!
track $NATS
shipped() {
  "$BIN" --db "$S/f1" federation status >"$S/status" 2>&1 && grep -q '(lag 0)' "$S/status" &&
    ! grep -q ' 0 messages shipped' "$S/status"
}
until_ok shipped && pass "then it ships: $(cat "$S/status")" ||
  fail "it never shipped once JetStream was there: $(cat "$S/status"); $(tail -3 "$S/ship.log")"
kill "$SHIP"
reap "$SHIP"
kill "$NATS"
reap "$NATS"
finish
