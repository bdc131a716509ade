"""serve_crash.py BINARY SCRATCH SOURCE — kill -9 `gonghui serve` during a
storm of claims from 16 clients, three rounds. After each: `gonghui check`
is clean, every claim answered ok is in the ledger under the award id the
answer gave, no member has two awards of an item, and each station's stock
row counts exactly its awards. The kill comes after a number of answers,
never after a time, so a slow machine only makes the test slower."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Harness, check, finish, id_of  # noqa: E402

h = Harness(*sys.argv[1:4])
N = 600
h.make_db(members=N)
answered = {}  # member_id -> award_id, every claim answered ok in any round
lock = threading.Lock()
try:
    for rnd in range(3):
        h.start()
        h.tokens.clear()
        h.login('clerkA')
        h.login('clerkB')
        stop = threading.Event()
        oks = [0]
        kill_after = 40 + 20 * rnd

        def client(c):
            k = c + 1
            while not stop.is_set() and k <= N:
                if k % 10 == 0 or k in answered:
                    k += 16
                    continue
                who, st_id = ('clerkA', 'ST01') if k % 2 else ('clerkB', 'ST02')
                try:
                    st, js = h.call('POST', '/api/gift_drive/claim', {'id': id_of(k), 'station': st_id},
                                    who=who)
                except Exception:
                    return  # the server is gone
                if st == 200:
                    with lock:
                        answered[k] = js['award']['award_id']
                        oks[0] += 1
                        if oks[0] >= kill_after:
                            stop.set()
                k += 16

        ths = [threading.Thread(target=client, args=(c,)) for c in range(16)]
        for t in ths:
            t.start()
        stop.wait(600)
        h.kill()  # SIGKILL, claims in flight
        for t in ths:
            t.join()
        p = h.gh('check', check_rc=False)
        check(p.returncode == 0, 'round %d: gonghui check is clean after kill -9' % rnd)
        out = h.gh('run', os.path.join(h.src, 'tests', 'serve', 'verify.lua')).stdout.split('\n')
        awards = {}
        dup = 0
        per_pool = {}
        for line in out:
            f = line.split()
            if f and f[0] == 'award' and f[4] == 'gift-package':
                m = int(f[1])
                dup += m in awards
                awards[m] = int(f[2])
                per_pool[f[3]] = per_pool.get(f[3], 0) + 1
        stock = {f[1]: int(f[3]) for f in (l.split() for l in out)
                 if f and f[0] == 'stock' and f[2] == 'gift-package'}
        missing = [k for k, a in answered.items() if awards.get(k) != a]
        check(not missing, 'round %d: all %d claims answered ok are in the ledger (missing: %s)'
              % (rnd, len(answered), missing[:5]))
        check(dup == 0, 'round %d: no member has the item twice' % rnd)
        check(all(stock.get(p, 0) == n for p, n in per_pool.items()) and
              sum(stock.values()) == len(awards),
              'round %d: stock issued == awards per station (%s vs %s)' % (rnd, stock, per_pool))
        print('     round %d: %d answered ok so far, %d in the ledger'
              % (rnd, len(answered), len(awards)), file=sys.stderr)
finally:
    h.kill()
finish()
