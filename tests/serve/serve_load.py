"""serve_load.py BINARY SCRATCH SOURCE — the serve benchmark's load, briefly
(bench/serve: wrk with lookup.lua and claim.lua, a second each): every
lookup and every claim is answered 2xx, the ledger holds exactly one award
per claim the server committed (its run records count them), the stock rows
equal the awards, and `gonghui check` is clean. Speed is not asserted;
skipped (77) without wrk."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Harness, check, finish, PW  # noqa: E402

if not shutil.which('wrk'):
    print('serve_load: no wrk (Debian package wrk): skipped', file=sys.stderr)
    sys.exit(77)

h = Harness(*sys.argv[1:4])
bench = os.path.join(h.src, 'bench', 'serve')
shutil.copy(os.path.join(bench, 'drive.lua'), os.path.join(h.scripts, 'gift_drive', 'drive.lua'))
N = 4000
h.gh('--new-db', 'run', '--out', h.s, os.path.join(bench, 'fixture.lua'), 'members=%d' % N)
h.gh('run', os.path.join(h.scripts, 'gift_drive', 'setup.lua'))
h.gh('users', 'add', 'admin', '--union', '1', '--role', 'admin', stdin=PW + '\n')
ids = os.path.join(h.s, 'ids.txt')


def wrk(script, conns, env):
    p = subprocess.run(['wrk', '-t1', '-c%d' % conns, '-d1s', '--latency', '-s',
                        os.path.join(bench, script), h.url('')],
                       env=dict(os.environ, TOKEN=h.tokens['admin'], IDS=ids, **env),
                       capture_output=True, text=True, timeout=300)
    total = bad = 0
    for line in p.stdout.splitlines():
        f = line.split()
        if 'requests in' in line:
            total = int(f[0])
        if line.startswith('  Non-2xx'):
            bad = int(f[-1])
    print('     %s: %d requests, %d not 2xx' % (script, total, bad), file=sys.stderr)
    return p.returncode, total, bad


h.start()
try:
    h.login('admin')
    # a second of wrk at a time until something was answered: a slow machine
    # (or ASan) makes the test longer, never fail
    rcs, total, bad = 0, 0, 0
    for _ in range(100):
        rc, n, b = wrk('lookup.lua', 16, {})
        rcs, total, bad = rcs | rc, total + n, bad + b
        if total:
            break
    check(rcs == 0 and total > 0 and bad == 0, 'S1 briefly: every lookup answered 2xx')
    rcs, total, bad, first = 0, 0, 0, 1
    for _ in range(100):
        rc, n, b = wrk('claim.lua', 32, {'NTHREADS': '1', 'FIRST': str(first)})
        rcs, total, bad = rcs | rc, total + n, bad + b
        first += n + 64  # past the members claimed, answered or left in flight
        if total:
            break
    check(rcs == 0 and total > 0 and bad == 0, 'S2 briefly: every claim answered 2xx')
    check(h.stop() == 0, 'SIGTERM after the load: exit 0')
finally:
    h.kill()
out = h.gh('run', os.path.join(h.src, 'tests', 'serve', 'verify.lua'),
           'program=bench-drive').stdout.split('\n')
awards = [f for f in (l.split() for l in out) if f and f[0] == 'award']
members = [f[1] for f in awards]
stock = sum(int(f[3]) for f in (l.split() for l in out) if f and f[0] == 'stock')
# every claim the server committed (those wrk left in flight at its end too)
# is a run record of the account; each is one award
runs = h.gh('runs', '--account', 'admin', '--limit', '0').stdout.splitlines()
claims = len([r for r in runs if ' serve ' in r and ' ok ' in r])
# every answered request was a claim, unless wrk ran out of members to claim
# (a fast machine): then it asked for /health, and every member has an award
# but the first (wrk calls request() once per thread before the run and
# throws that request away)
n_ids = sum(1 for line in open(ids) if line.strip())
check(len(awards) == claims and (len(awards) >= total or len(awards) >= n_ids - 1),
      'one award per committed claim (%d awards, %d claims, %d answered, %d members)'
      % (len(awards), claims, total, n_ids))
check(len(set(members)) == len(members), 'no member has two')
check(stock == len(awards), 'the stock rows count the awards (%d)' % stock)
check(h.gh('check', check_rc=False).returncode == 0, 'gonghui check is clean')
finish()
