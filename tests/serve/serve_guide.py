"""serve_guide.py BINARY SCRATCH SOURCE — the serve walkthroughs of README.md
("Many clerks, one database") and of the clerks' guide docs/README.md
(chapter 11) run as written: their shell blocks are read from the two files
and run line by line on a scratch copy of scripts/ (the database path
replaced by one in SCRATCH, `serve --port 8080` by a free port), then the
station operator of each logs in, looks up an outdoor worker of its union,
issues a gift package at its station and finds it in today's list; the
guide's other admin commands run after that. So the sample data, the
accounts, the drive's stations and its dates (`serve --now`) stay in step
with what the two documents tell a reader to type."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, finish  # noqa: E402

binary, scratch, src = (os.path.abspath(a) for a in sys.argv[1:4])
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(os.path.join(scratch, 'bin'))
os.symlink(binary, os.path.join(scratch, 'bin', 'gonghui'))
shutil.copytree(os.path.join(src, 'scripts'), os.path.join(scratch, 'scripts'))
ENV = dict(os.environ, GONGHUI_PWHASH_FAST='1', LC_ALL='C.UTF-8', LANG='C.UTF-8',
           PATH=os.path.join(scratch, 'bin') + ':' + os.environ.get('PATH', ''),
           GONGHUI_STATE_DIR=os.path.join(scratch, '.state'))
for k in ('GONGHUI_DB', 'GONGHUI_LIB', 'LANGUAGE'):
    ENV.pop(k, None)


def chapter_blocks(path, heading):
    """The ```sh blocks of the chapter whose heading line starts with heading."""
    text = open(path, encoding='utf-8').read()
    start = text.index('\n' + heading) + 1
    m = re.search(r'^## ', text[start + 3:], re.M)
    body = text[start:start + 3 + m.start()] if m else text[start:]
    return [b for b in re.findall(r'```sh\n(.*?)```', body, re.S)]


def commands(block):
    """A block's commands: comment lines dropped, trailing comments kept (sh reads them)."""
    return [l for l in block.splitlines() if l.strip() and not l.lstrip().startswith('#')]


def sh(line, env):
    p = subprocess.run(['sh', '-c', line], capture_output=True, text=True, env=env, cwd=scratch)
    check(p.returncode == 0, 'runs as written: %s' % line.split('#')[0].strip()[:90])
    if p.returncode:
        print(p.stdout + p.stderr, file=sys.stderr)
    return p


def call(port, method, path, body=None, token=None):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def start_serve(line, env, tag):
    pf = os.path.join(scratch, 'port-' + tag)
    line = line.split('#')[0].replace('--port 8080', '--port 0 --port-file ' + pf)
    log = open(os.path.join(scratch, 'serve-%s.log' % tag), 'w')
    proc = subprocess.Popen(['sh', '-c', 'exec ' + line], stdout=log, stderr=log, env=env,
                            cwd=scratch)
    while not os.path.exists(pf):
        if proc.poll() is not None:
            raise RuntimeError('serve ended with %d: see %s' % (proc.returncode, log.name))
        time.sleep(0.05)
    return proc, int(open(pf).read())


def walk(tag, blocks, db_in_doc, db, operator, clerk):
    """Runs the blocks (serve in the background), then the counter as the operator."""
    env = dict(ENV)
    passwords = {}
    proc = None
    after = []
    for block in blocks:
        for doc_line in commands(block):
            line = doc_line.replace(db_in_doc, db)
            m = re.search(r"'([^']+)'\s*\|\s*gonghui .*users add (\w+)", line)
            if m:
                passwords[m.group(2)] = m.group(1)
            if line.startswith('export '):
                k, v = line[len('export '):].split('=', 1)
                env[k] = v
            elif re.search(r'^gonghui .*\bserve\b', doc_line.split('#')[0]):
                proc, port = start_serve(line, env, tag)
            elif proc:
                after.append(line)  # what the document runs once the server is up
            else:
                sh(line, env)
    check(proc is not None and operator in passwords and clerk in passwords,
          '%s: the walkthrough makes the accounts and starts the server' % tag)
    try:
        with open(os.path.join(scratch, 'serve-%s.log' % tag)) as f:
            check('--now' in f.read(), '%s: the server says its clock is set by --now' % tag)
        st, js = call(port, 'POST', '/api/login', {'name': operator, 'password': passwords[operator]})
        check(st == 200, '%s: %s logs in with the password of the walkthrough' % (tag, operator))
        tok = js.get('token')
        station = js.get('account', {}).get('station')
        # an outdoor worker the operator's union holds, found as a clerk would: by ID number
        p = subprocess.run(['gonghui', '--db', db, 'repl'], input='''
local par = {} for u in db.unions:scan() do par[u.union_id] = u.parent_id end
local function under(id) while id do if id == %d then return true end id = par[id] end end
local out = { sanitation = 1, courier = 1, gig_delivery = 1, construction = 1, driver = 1 }
for m in db.members:scan() do
  if under(m.union_id) and m.status == 'active' and out[m.category] then print(m.id_number) break end
end''' % js['account']['union_id'], capture_output=True, text=True, env=env, cwd=scratch)
        ids = re.findall(r'^\d{17}[\dX]$', p.stdout, re.M)
        check(len(ids) == 1, '%s: the sample has an outdoor worker of the operator\'s union' % tag)
        st, m = call(port, 'GET', '/api/gift_drive/member?id=' + ids[0], token=tok)
        check(st == 200 and any(i['status'] == 'may' for i in m['items']),
              '%s: the operator sees the member and what they may claim' % tag)
        st, c = call(port, 'POST', '/api/gift_drive/claim', {'id': ids[0], 'item': 'gift-package'},
                     token=tok)
        check(st == 200 and c['award']['station'] == station,
              '%s: the claim is issued today at the operator\'s station %s (%s)' % (tag, station, c))
        st, t = call(port, 'GET', '/api/gift_drive/today', token=tok)
        check(st == 200 and len(t['claims']) == 1, '%s: and is in today\'s list' % tag)
        st, js = call(port, 'POST', '/api/login', {'name': clerk, 'password': passwords[clerk]})
        st, t = call(port, 'GET', '/api/gift_drive/today', token=js.get('token'))
        check(st == 200 and len(t['claims']) == 1, '%s: the union clerk %s sees it too' % (tag, clerk))
        for line in after:
            sh(line, env)
    finally:
        if proc:
            proc.terminate()
            check(proc.wait(timeout=120) == 0, '%s: SIGTERM, exit 0' % tag)


readme = chapter_blocks(os.path.join(src, 'README.md'), '## Many clerks, one database')
walk('README', readme[:1], '/tmp/serve-demo.db', os.path.join(scratch, 'readme.db'), 'zhao', 'li')
guide = chapter_blocks(os.path.join(src, 'docs', 'README.md'), '## 11.')
# the accounts, the server, then the other admin commands (disable, passwd, runs ...)
walk('guide', [guide[0], guide[2], guide[1]], '/tmp/docs17.db', os.path.join(scratch, 'guide.db'),
     'zhao', 'li')
finish()
