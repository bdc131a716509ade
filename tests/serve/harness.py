"""harness.py — a real `gonghui serve` for the tests in this folder.

    h = Harness(binary, scratch, source)    # a fresh scratch folder
    h.make_db(members=40)                   # fixture.lua + the gift drive's setup + accounts
    h.start()                               # serve on a free localhost port
    st, js = h.call('POST', '/api/login', {'name': 'clerkA', 'password': PW})
    h.stop()                                # SIGTERM, waits, returns the exit code

Accounts (password PW): admin (union 1, admin), clerkA (union 2, clerk),
clerkB (union 3, clerk), opA (union 2, operator at ST01), aud (union 1, auditor).
Python standard library only.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

PW = 'secret-pass-1'
FAILED = []


def check(cond, what):
    if cond:
        print('ok   ' + what, file=sys.stderr)
    else:
        print('FAIL ' + what, file=sys.stderr)
        FAILED.append(what)


def finish():
    if FAILED:
        print('%d check(s) failed' % len(FAILED), file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


def id_of(k):
    body = '33048119900101%03d' % (k % 1000)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w[i] for i, c in enumerate(body[:17]))
    return body[:17] + '10X98765432'[s % 11]


class Harness:
    def __init__(self, binary, scratch, source):
        self.bin = os.path.abspath(binary)
        self.s = os.path.abspath(scratch)
        self.src = os.path.abspath(source)
        shutil.rmtree(self.s, ignore_errors=True)
        os.makedirs(self.s)
        self.db = os.path.join(self.s, 'db')
        self.scripts = os.path.join(self.s, 'scripts')
        os.makedirs(self.scripts)
        shutil.copytree(os.path.join(self.src, 'scripts', 'gift_drive'),
                        os.path.join(self.scripts, 'gift_drive'))
        shutil.copy(os.path.join(self.src, 'tests', 'serve', 'drive.lua'),
                    os.path.join(self.scripts, 'gift_drive', 'drive.lua'))
        os.makedirs(os.path.join(self.scripts, 'attack'))
        shutil.copy(os.path.join(self.src, 'tests', 'serve', 'attack_http.lua'),
                    os.path.join(self.scripts, 'attack', 'http.lua'))
        shutil.copy(os.path.join(self.src, 'tests', 'serve', 'scope_plan.lua'),
                    os.path.join(self.scripts, 'attack', 'scope_plan.lua'))
        self.env = dict(os.environ, GONGHUI_PWHASH_FAST='1', LC_ALL='C.UTF-8')
        self.proc = None
        self.port = None
        self.tokens = {}

    def gh(self, *args, stdin=None, check_rc=True):
        p = subprocess.run([self.bin, '--db', self.db] + list(args), input=stdin,
                           capture_output=True, text=True, env=self.env, cwd=self.s)
        if check_rc and p.returncode != 0:
            raise RuntimeError('gonghui %s: %d\n%s%s' % (' '.join(args), p.returncode,
                                                         p.stdout, p.stderr))
        return p

    def make_db(self, members=40):
        self.gh('--new-db', 'run', os.path.join(self.src, 'tests', 'serve', 'fixture.lua'),
                'members=%d' % members)
        self.gh('run', os.path.join(self.scripts, 'gift_drive', 'setup.lua'))
        for name, union, role, extra in [('admin', '1', 'admin', []), ('clerkA', '2', 'clerk', []),
                                         ('clerkB', '3', 'clerk', []),
                                         ('opA', '2', 'operator', ['--station', 'ST01']),
                                         ('aud', '1', 'auditor', [])]:
            self.gh('users', 'add', name, '--union', union, '--role', role, *extra,
                    stdin=PW + '\n')

    def start(self, *extra):
        pf = os.path.join(self.s, 'port')
        if os.path.exists(pf):
            os.unlink(pf)
        self.log = open(os.path.join(self.s, 'serve.log'), 'a')
        self.proc = subprocess.Popen([self.bin, '--db', self.db, 'serve', '--port', '0',
                                      '--port-file', pf, '--scripts', self.scripts] + list(extra),
                                     stdout=self.log, stderr=self.log, env=self.env)
        for _ in range(6000):
            if os.path.exists(pf):
                self.port = int(open(pf).read())
                return
            if self.proc.poll() is not None:
                raise RuntimeError('serve ended with %d; see %s/serve.log' %
                                   (self.proc.returncode, self.s))
            time.sleep(0.01)
        raise RuntimeError('serve did not start')

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=120)
        self.proc = None
        return rc

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def call(self, method, path, body=None, who=None, raw=None, headers=None):
        """(status, parsed JSON or text) of one request; who = an account logged in."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url(path), data=data, method=method)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        if who:
            req.add_header('Authorization', 'Bearer ' + self.tokens[who])
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                st, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            st, text = e.code, e.read().decode()
        try:
            return st, json.loads(text)
        except ValueError:
            return st, text

    def login(self, name, pw=PW):
        st, js = self.call('POST', '/api/login', {'name': name, 'password': pw})
        if st == 200:
            self.tokens[name] = js['token']
        return st, js
