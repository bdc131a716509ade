"""serve_browser.py BINARY SCRATCH SOURCE — the counter page in a real
browser (Debian's headless Chromium through the DevTools protocol, cdp.py):
log in, scan an ID number (typed, then Enter, as a scanner does), see the
member masked, issue the claim, see it in today's list, a refusal shown in
Chinese, and a clerk of another town not seeing the member; the report page
of that clerk shows only its station. Skipped (77) without chromium."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402
from harness import Harness, check, finish, id_of, PW  # noqa: E402

if not Browser.find():
    print('skip: no chromium (Debian package chromium)', file=sys.stderr)
    sys.exit(77)

h = Harness(*sys.argv[1:4])
h.make_db(members=40)
h.start()
b = None
try:
    b = Browser.start(os.path.join(h.s, 'chromium-profile'))
    base = h.url('/gift_drive/')

    def text(sel):
        return b.eval('(document.querySelector(%s) || {}).textContent || ""' % json.dumps(sel))

    def visible(sel):
        return 'document.querySelector(%s) && !document.querySelector(%s).closest("[hidden]")' % (
            json.dumps(sel), json.dumps(sel))

    def login(name):
        b.navigate(base)
        check(b.wait(visible('#login-name')), 'the page asks %s to log in' % name)
        b.eval('document.getElementById("login-name").focus()')
        b.type_text(name)
        b.eval('document.getElementById("login-password").focus()')
        b.type_text(PW)
        b.eval('document.getElementById("login-btn").click()')
        return b.wait(visible('#id-input') + ' && document.getElementById("who-name").textContent === %s'
                      % json.dumps(name))

    def scan(idn):
        b.eval('document.getElementById("msg").textContent = ""; '
               'document.getElementById("member").hidden = true; '
               'document.getElementById("id-input").value = ""; document.getElementById("id-input").focus()')
        b.type_text(idn)
        b.key('Enter')

    # a clerk of town A logs in, scans, claims
    check(login('clerkA'), 'clerk A logs in and sees the counter')
    check('硖石街道总工会' in text('#who-union'), 'the header names the union')
    scan(id_of(1))
    check(b.wait(visible('#member') + ' && document.getElementById("m-name").textContent !== ""'),
          'the scanned member is shown')
    check(text('#m-name') == '张*' and '*' in text('#m-id') and id_of(1) not in b.eval(
        'document.body.innerText'), 'masked: name and ID number')
    check(b.wait(visible('.claim-btn[data-item="gift-package"]')), 'the gift package may be claimed')
    b.eval('document.querySelector(\'.claim-btn[data-item="gift-package"]\').click()')
    check(b.wait('document.getElementById("msg").textContent.includes("已发放")'),
          'the claim is issued (已发放)')
    check(b.wait('document.querySelectorAll("#today tbody tr").length === 1'),
          'today\'s list shows the claim')
    check('张*' in text('#today tbody'), 'masked in the list too')

    # a refusal shown in Chinese: the member is served elsewhere meanwhile
    scan(id_of(3))
    check(b.wait(visible('.claim-btn[data-item="gift-package"]')), 'member 3 may claim')
    h.login('admin')
    st, js = h.call('POST', '/api/gift_drive/claim', {'id': id_of(3), 'station': 'ST01'}, who='admin')
    check(st == 200, 'meanwhile member 3 is served at another counter')
    b.eval('document.querySelector(\'.claim-btn[data-item="gift-package"]\').click()')
    check(b.wait('document.getElementById("msg").textContent.includes("已经领取过")'),
          'the refusal is shown in Chinese (已经领取过，不能重复领取)')
    check(b.eval('document.getElementById("msg").className').endswith('refused'), 'as a refusal')
    scan('330481199001010010')
    check(b.wait('document.getElementById("msg").textContent.includes("身份证号码有误")'),
          'a mistyped ID number: 身份证号码有误')

    # a clerk of another town does not see the member
    b.eval('document.getElementById("logout-btn").click()')
    check(b.wait(visible('#login-name')), 'logging out shows the login again')
    check(login('clerkB'), 'clerk B logs in')
    scan(id_of(1))
    check(b.wait('document.getElementById("msg").textContent.includes("查无此会员")'),
          'clerk B does not see member 1 of town A (查无此会员)')
    check(b.eval('document.getElementById("member").hidden'), 'nothing of the member is shown')
    check(b.wait('document.querySelectorAll("#today tbody tr").length === 0'),
          'nor town A\'s claims in today\'s list')
    scan(id_of(10))
    check(b.wait('document.getElementById("m-items").textContent.includes("不符合领取条件")'),
          'a factory worker of town B: 不符合领取条件')
    b.navigate(h.url('/gift_drive/report.html'))
    check(b.wait('document.querySelectorAll("#stations tbody tr").length > 0'), 'the report page loads')
    rows = b.eval('[...document.querySelectorAll("#stations tbody tr")].map(r => r.cells[0].textContent)')
    check(rows and all(r == 'ST02' for r in rows), 'clerk B\'s report shows only its station')
    b.screenshot(os.path.join(h.s, 'report.png'))
    # wrong password in the page
    b.eval('fetch("/api/logout", {method: "POST", body: "{}"})')
    b.navigate(base)
    b.wait(visible('#login-name'))
    b.eval('document.getElementById("login-name").focus()')
    b.type_text('clerkA')
    b.eval('document.getElementById("login-password").focus()')
    b.type_text('not-the-password')
    b.eval('document.getElementById("login-btn").click()')
    check(b.wait('document.getElementById("login-msg").textContent.includes("账号或密码错误")'),
          'a wrong password: 账号或密码错误')
finally:
    if b:
        b.close()
    h.kill()
finish()
