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
  python3 lottery_check.py verify-record RECORD [PUBLIC_VALUE]
      checks a framework draw (gonghui-draw-v2) from its published record
      alone: the lists against their commitments, the times (seed
      commitments before the list closed, the list closed before the public
      value was due, the value entered after), the revealed seeds against
      their commitments, the seed derived from the lists, the public value
      and the reveals, and every tier's winners; with PUBLIC_VALUE (what
      the lottery announced), that the record holds that value

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


DOMAIN2 = b"gonghui-draw-v2"


def derive_seed(draw_id, lists, source, value, reveals):
    """The draw seed of README "Draws nobody can bias": lists are the tiers'
    list commitments (hex, "-" for none); reveals maps party -> seed (bytes)."""
    lst = b"".join(x + b"\n" for x in lists)
    rv = b"".join(p + b"=" + reveals[p] + b"\n" for p in sorted(reveals))
    msg = b"\0".join([DOMAIN2, draw_id, lst, source, value, rv])
    return hashlib.sha256(msg).hexdigest().encode()


def parse_record(data):
    kv = {}
    for n, line in enumerate(data.split(b"\n"), 1):
        line = line.rstrip(b"\r")
        if not line or line.startswith(b"#"):
            continue
        k, sep, v = line.partition(b": ")
        if not sep:
            k, sep, v = line.partition(b":")
        if not sep:
            raise Mismatch("record line %d is not 'key: value'" % n)
        if k in kv:
            raise Mismatch("record line %d: %s is given twice" % (n, k.decode("utf-8", "replace")))
        kv[k] = v
    if kv.get(b"scheme") != DOMAIN2:
        raise Mismatch("not a gonghui-draw-v2 record")
    return kv


def utc(s):
    import calendar
    import time
    return calendar.timegm(time.strptime(s.decode(), "%Y-%m-%dT%H:%M:%SZ"))


def verify_record(kv, public=None):
    draw_id = kv[b"draw"]
    closed, after = utc(kv[b"closed_at"]), utc(kv[b"public_after"])
    parties = [k[len(b"commitment."):] for k in kv if k.startswith(b"commitment.") and not k.endswith(b".at")]
    for p in parties:
        if utc(kv[b"commitment." + p + b".at"]) > closed:
            raise Mismatch("%s's seed commitment was made after the list closed" % p.decode())
    if closed >= after:
        raise Mismatch("the list closed at %s, not before the public value was due (%s)"
                       % (kv[b"closed_at"].decode(), kv[b"public_after"].decode()))
    tiers = []
    for i in range(1, int(kv[b"tiers"]) + 1):
        t = b"tier.%d." % i
        ids = kv[t + b"entrants"].split()
        lc = kv[t + b"list_commitment"]
        if ids:
            _, canon = canonical(ids)
            if hashlib.sha256(canon).hexdigest().encode() != lc:
                raise Mismatch("tier %d: the entrant list does not match the list commitment" % i)
        elif lc != b"-":
            raise Mismatch("tier %d: no entrants but a list commitment" % i)
        if len(ids) != int(kv[t + b"n"]):
            raise Mismatch("tier %d: %d entrants, the record says %s" % (i, len(ids), kv[t + b"n"].decode()))
        tiers.append((ids, lc))
    if b"seed" not in kv:
        return "ok: closed, not drawn yet: %d tiers, lists match their commitments" % len(tiers)
    if public is not None and kv.get(b"public_value") != public:
        raise Mismatch("the record's public value is %r, not %r" % (kv.get(b"public_value"), public))
    if utc(kv[b"public_at"]) < after:
        raise Mismatch("the public value was entered before it was due")
    reveals = {}
    for p in parties:
        s = kv.get(b"reveal." + p)
        if s is None:
            raise Mismatch("%s's seed is not revealed" % p.decode())
        if hashlib.sha256(s).hexdigest().encode() != kv[b"commitment." + p]:
            raise Mismatch("%s's revealed seed does not match the seed commitment" % p.decode())
        reveals[p] = s
    if any(k.startswith(b"reveal.") and k[len(b"reveal."):] not in reveals for k in kv):
        raise Mismatch("a seed is revealed that was never committed to")
    seed = derive_seed(draw_id, [lc for _, lc in tiers], kv[b"public_source"], kv[b"public_value"], reveals)
    if seed != kv[b"seed"]:
        raise Mismatch("the seed is not the one the lists, the public value and the reveals give: %s" % seed.decode())
    left = int(kv[b"k"])
    total = 0
    for i, (ids, _) in enumerate(tiers, 1):
        k = min(left, len(ids))
        got = kv[b"tier.%d.winners" % i].split()
        want = draw(ids, seed, draw_id + b"#%d" % i, k) if k > 0 else []
        for j, (w, g) in enumerate(zip(want, got), 1):
            if w != g:
                raise Mismatch("tier %d: winner %d does not match: the draw gives %s, the record says %s"
                               % (i, j, w.decode("utf-8", "replace"), g.decode("utf-8", "replace")))
        if len(got) != len(want):
            raise Mismatch("tier %d: the record has %d winners, the draw %d" % (i, len(got), len(want)))
        left -= k
        total += k
    return "ok: %d winners in %d tiers follow from the lists and the public value %s" % (
        total, len(tiers), kv[b"public_value"].decode("utf-8", "replace"))


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
        elif len(argv) in (3, 4) and argv[1] == "verify-record":
            kv = parse_record(open(argv[2], "rb").read())
            print(verify_record(kv, os.fsencode(argv[3]) if len(argv) == 4 else None))
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
