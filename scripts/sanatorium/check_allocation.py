#!/usr/bin/env python3
"""check_allocation.py -- checks a published sanatorium allocation with
nothing but Python: the ranking of every tier re-drawn from the seed (the
`lottery` algorithm of README "Native plugins", re-implemented here) and the
placement re-run over the plan's beds, enterprise cap and union places
(README "Workers' sanatorium and the check-up van"). It shares no code with
gonghui.

  python3 check_allocation.py allocation.csv SEED PROGRAM --beds B01=30,B02=30
          [--enterprise-cap 3] [--union-places '*=8,12=10']

allocation.csv is the file `desk.lua allocate=1` writes (tier, rank,
member_id, enterprise_id, union_id, choices, eligible, batch); `desk.lua
allocate=1` prints this command with the plan's numbers. Prints "ok: ..."
and exits 0, or names each row that does not match and exits 1.
"""
import csv
import hashlib
import sys

DOMAIN = b"gonghui-lottery-v1"


def draw(ids, seed, prize, k):
    """The lottery's draw: k winners of ids (bytes), in draw order."""
    rem = sorted(ids)
    lc = hashlib.sha256(b"".join(i + b"\n" for i in rem)).hexdigest().encode()
    pre = DOMAIN + b"\0" + seed + b"\0" + lc + b"\0" + prize + b"\0"
    won, c = [], 0
    while len(won) < k:
        m = len(rem)
        h = hashlib.sha256(pre + c.to_bytes(8, "big")).digest()
        c += 1
        x = int.from_bytes(h[:8], "big") % (1 << (m - 1).bit_length())
        if x < m:
            won.append(rem.pop(x))
    return won


def numbers(text, what):
    out = {}
    for part in filter(None, (text or "").split(",")):
        key, _, val = part.partition("=")
        if not key or not val.isdigit():
            sys.exit("check_allocation: %s: '%s' is not NAME=NUMBER" % (what, part))
        out[key.strip()] = int(val)
    return out


def main(argv):
    args, opts = [], {}
    i = 1
    while i < len(argv):
        if argv[i].startswith("--"):
            if i + 1 >= len(argv):
                sys.exit("check_allocation: %s needs a value" % argv[i])
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 3 or "--beds" not in opts:
        sys.exit(__doc__)
    path, seed, program = args
    beds = numbers(opts["--beds"], "--beds")
    cap = int(opts["--enterprise-cap"]) if "--enterprise-cap" in opts else None
    quotas = numbers(opts.get("--union-places"), "--union-places") if "--union-places" in opts else None
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    bad = []
    # 1. every tier's ranking is the seed's draw over the tier's list
    tiers = {}
    for r in rows:
        tiers.setdefault(int(r["tier"]), []).append(r)
    for t, rs in sorted(tiers.items()):
        ids = [r["member_id"].encode() for r in rs]
        want = draw(ids, seed.encode(), ("%s:stay#%d" % (program, t)).encode(), len(ids))
        got = [r["member_id"].encode() for r in sorted(rs, key=lambda r: int(r["rank"]))]
        for n, (w, g) in enumerate(zip(want, got), 1):
            if w != g:
                bad.append("tier %d rank %d: the file has member %s, the seed draws %s" % (t, n, g.decode(), w.decode()))
                break
    # 2. the placement, in draw order
    left, per_ent, per_union = dict(beds), {}, {}
    order = sorted(rows, key=lambda r: (int(r["tier"]), int(r["rank"])))
    for r in order:
        placed = ""
        if r["eligible"] == "1":
            u = r["union_id"] or None
            for c in r["choices"].split():
                ek = (c, r["enterprise_id"])
                uq = None if quotas is None or u is None else quotas.get(u, quotas.get("*"))
                if left.get(c, 0) > 0 and (cap is None or per_ent.get(ek, 0) < cap) and \
                        (quotas is None or u is None or (uq is not None and per_union.get(u, 0) < uq)):
                    left[c] -= 1
                    per_ent[ek] = per_ent.get(ek, 0) + 1
                    if u is not None:
                        per_union[u] = per_union.get(u, 0) + 1
                    placed = c
                    break
        if placed != r["batch"]:
            bad.append("member %s (tier %s, rank %s): the rules place them in %s, the file says %s"
                       % (r["member_id"], r["tier"], r["rank"], placed or "-", r["batch"] or "-"))
    if bad:
        for b in bad:
            print(b, file=sys.stderr)
        return 1
    print("ok: %d applicants in %d tiers, %d placed: every rank is the seed's and every place the rules'"
          % (len(rows), len(tiers), sum(1 for r in rows if r["batch"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
