#!/usr/bin/env python3
"""lottery_check.py -- checks a published gonghui lottery draw with nothing
but Python's hashlib: an independent re-implementation of the algorithm in
README "Native plugins" -> `lottery` (it shares no code with the plugin).

  python3 lottery_check.py verify ENTRANTS SEED SEED_COMMITMENT LIST_COMMITMENT PRIZE K WINNERS
      checks a draw: prints "ok: ..." and exits 0, or says what does not
      match and exits 1
  python3 lottery_check.py draw ENTRANTS SEED PRIZE K
      prints the K winners, one per line
  python3 lottery_check.py hash ENTRANTS
      prints the list commitment (the SHA-256 of the canonical list)

ENTRANTS and WINNERS are files with one id per line; SEED and PRIZE are the
strings themselves (UTF-8); the commitments are 64 hex digits.
"""
import hashlib
import os
import sys

DOMAIN = b"gonghui-lottery-v1"


class Mismatch(Exception):
    pass


def read_ids(data, what):
    if data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise Mismatch(what + ": the list is empty")
    ids = data.split(b"\n")
    for i, x in enumerate(ids, 1):
        if not x:
            raise Mismatch("%s: line %d is empty" % (what, i))
        if any(b <= 0x20 or b == 0x7F for b in x):
            raise Mismatch("%s: line %d has a space or control character" % (what, i))
    return ids


def canonical(ids):
    s = sorted(ids)
    for a, b in zip(s, s[1:]):
        if a == b:
            raise Mismatch("entrants: %r appears twice" % a.decode("utf-8", "replace"))
    return s, b"".join(x + b"\n" for x in s)


def draw(ids, seed, prize, k):
    s, canon = canonical(ids)
    if len(seed) < 16:
        raise Mismatch("the seed is shorter than 16 bytes")
    if not 1 <= k <= len(s):
        raise Mismatch("k = %d is not between 1 and %d" % (k, len(s)))
    list_hash = hashlib.sha256(canon).hexdigest().encode()
    prefix = DOMAIN + b"\0" + seed + b"\0" + list_hash + b"\0" + prize + b"\0"
    remaining = list(s)
    winners = []
    counter = 0
    while len(winners) < k:
        m = len(remaining)
        b = (m - 1).bit_length()
        h = hashlib.sha256(prefix + counter.to_bytes(8, "big")).digest()
        counter += 1
        x = int.from_bytes(h[:8], "big") % (1 << b)
        if x < m:
            winners.append(remaining.pop(x))
    return winners


def verify(ids, seed, seed_commitment, list_commitment, prize, k, winners):
    if hashlib.sha256(seed).hexdigest() != seed_commitment.lower():
        raise Mismatch("the seed does not match the seed commitment")
    _, canon = canonical(ids)
    if hashlib.sha256(canon).hexdigest() != list_commitment.lower():
        raise Mismatch("the entrant list does not match the list commitment")
    want = draw(ids, seed, prize, k)
    for i, (w, g) in enumerate(zip(want, winners), 1):
        if w != g:
            raise Mismatch("winner %d does not match: the draw gives %s, the published winners say %s"
                           % (i, w.decode("utf-8", "replace"), g.decode("utf-8", "replace")))
    if len(winners) != len(want):
        raise Mismatch("the published winners have %d names, the draw %d" % (len(winners), len(want)))
    return want


def main(argv):
    try:
        if len(argv) == 9 and argv[1] == "verify":
            ids = read_ids(open(argv[2], "rb").read(), "entrants")
            winners = read_ids(open(argv[8], "rb").read(), "winners")
            w = verify(ids, os.fsencode(argv[3]), argv[4], argv[5], os.fsencode(argv[6]), int(argv[7]), winners)
            print("ok: %d winners drawn from %d entrants match" % (len(w), len(ids)))
        elif len(argv) == 6 and argv[1] == "draw":
            ids = read_ids(open(argv[2], "rb").read(), "entrants")
            for w in draw(ids, os.fsencode(argv[3]), os.fsencode(argv[4]), int(argv[5])):
                sys.stdout.buffer.write(w + b"\n")
        elif len(argv) == 3 and argv[1] == "hash":
            _, canon = canonical(read_ids(open(argv[2], "rb").read(), "entrants"))
            print(hashlib.sha256(canon).hexdigest())
        else:
            sys.stderr.write(__doc__)
            return 2
    except Mismatch as e:
        print("does not match: " + str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
