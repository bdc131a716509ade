"""cdp.py — headless Chromium driven through the DevTools protocol with the
Python standard library only (a minimal WebSocket client: RFC 6455 text
frames, masked from the client, fragments joined).

    b = Browser.start(user_data_dir)     # None when chromium is not installed
    b.navigate('http://127.0.0.1:8080/')
    b.eval('document.title')             # Runtime.evaluate, awaited, by value
    b.wait('document.querySelector("#x") !== null')
    b.type_text('hello')                 # Input.insertText into the focused element
    b.key('Enter')
    b.close()
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-extensions', '--disable-default-apps', '--mute-audio',
         '--remote-debugging-port=0']


class WebSocket:
    def __init__(self, url):
        assert url.startswith('ws://')
        hostport, path = url[5:].split('/', 1)
        host, port = hostport.split(':')
        self.sock = socket.create_connection((host, int(port)), timeout=120)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ('GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % (path, hostport, key))
        self.sock.sendall(req.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError('the browser closed the connection')
            head += chunk
        if b' 101 ' not in head.split(b'\r\n')[0]:
            raise ConnectionError('no WebSocket upgrade: %r' % head[:200])

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            hdr = struct.pack('!BB', 0x81, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack('!BBH', 0x81, 0x80 | 126, n)
        else:
            hdr = struct.pack('!BBQ', 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(hdr + mask + masked)

    def _read(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('the browser closed the connection')
            buf += chunk
        return buf

    def recv(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', self._read(2))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            op = b0 & 0x0f
            if op == 0x8:
                raise ConnectionError('the browser closed the WebSocket')
            if op == 0x9:  # ping: answer and go on
                continue
            parts.append(data)
            if b0 & 0x80:
                return b''.join(parts).decode()


class Browser:
    @staticmethod
    def find():
        for name in ('chromium', 'chromium-browser', 'google-chrome'):
            p = shutil.which(name)
            if p:
                return p
        return None

    @classmethod
    def start(cls, user_data_dir):
        exe = cls.find()
        if not exe:
            return None
        shutil.rmtree(user_data_dir, ignore_errors=True)
        os.makedirs(user_data_dir)
        log = open(os.path.join(user_data_dir, '..', 'chromium.log'), 'w')
        proc = subprocess.Popen([exe] + FLAGS + ['--user-data-dir=' + user_data_dir, 'about:blank'],
                                stdout=log, stderr=log)
        port_file = os.path.join(user_data_dir, 'DevToolsActivePort')
        for _ in range(12000):
            if os.path.exists(port_file) and open(port_file).read().count('\n') >= 1:
                port = int(open(port_file).read().split()[0])
                break
            if proc.poll() is not None:
                raise RuntimeError('chromium ended with %d' % proc.returncode)
            time.sleep(0.01)
        else:
            proc.kill()
            raise RuntimeError('chromium did not start')
        for _ in range(1000):
            pages = json.load(urllib.request.urlopen('http://127.0.0.1:%d/json/list' % port))
            pages = [p for p in pages if p.get('type') == 'page']
            if pages:
                break
            time.sleep(0.05)
        b = cls()
        b.proc = proc
        b.ws = WebSocket(pages[0]['webSocketDebuggerUrl'])
        b.next_id = 0
        b.cmd('Page.enable')
        b.cmd('Runtime.enable')
        return b

    def cmd(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({'id': my, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == my:
                if 'error' in msg:
                    raise RuntimeError('%s: %s' % (method, msg['error']))
                return msg.get('result', {})

    def eval(self, js):
        r = self.cmd('Runtime.evaluate', expression=js, awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in r:
            raise RuntimeError('JS error in %s: %s' % (js[:80], r['exceptionDetails']))
        return r['result'].get('value')

    def wait(self, cond, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.eval('!!(%s)' % cond):
                    return True
            except RuntimeError:
                pass
            time.sleep(0.05)
        return False

    def navigate(self, url):
        self.cmd('Page.navigate', url=url)
        return self.wait('document.readyState === "complete" && location.href.startsWith(%s)'
                         % json.dumps(url.split('#')[0]))

    def type_text(self, text):
        self.cmd('Input.insertText', text=text)

    def key(self, name):
        codes = {'Enter': 13}
        for t in ('keyDown', 'keyUp'):
            p = dict(type=t, key=name, code=name, windowsVirtualKeyCode=codes.get(name, 0))
            if name == 'Enter' and t == 'keyDown':
                p['text'] = '\r'
            self.cmd('Input.dispatchKeyEvent', **p)

    def screenshot(self, path):
        r = self.cmd('Page.captureScreenshot', format='png')
        with open(path, 'wb') as f:
            f.write(base64.b64decode(r['data']))

    def close(self):
        try:
            self.cmd('Browser.close')
        except Exception:
            pass
        try:
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
