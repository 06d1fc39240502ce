#!/usr/bin/env python3
"""cdp.py - drive a page in headless Chromium through the DevTools protocol,
for page tests that must act as a reader would (click, scroll) and not only
read the first rendering.

    cdp.py CHROMIUM URL EXPR...

Opens URL, then evaluates each JavaScript expression in turn (a Promise is
awaited) and prints each value as one line of JSON. Exits 1 with the
exception's text when an expression throws. An argument "screenshot:PATH"
instead saves the whole page (beyond the window too) as a PNG in PATH and
prints its path, and "goto:PATH" opens PATH (relative to URL) in the same
browser and prints its address once loaded. Standard library only: the
WebSocket client is the few lines the protocol needs.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://"), url
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("handshake refused: %r" % head)

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        head = bytes([0x81])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._recv_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._recv_exact(8))[0]
            payload = self._recv_exact(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


def main():
    chromium, url, exprs = sys.argv[1], sys.argv[2], sys.argv[3:]
    profile = tempfile.mkdtemp(prefix="cdp-")
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1400,900", "--remote-debugging-port=0",
         "--user-data-dir=" + profile, url],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(open(port_file).read().split()[0])
        ws_url = None
        while ws_url is None:
            targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port))
            pages = [t for t in targets if t.get("type") == "page" and t.get("url", "").startswith(url[:20])]
            if pages:
                ws_url = pages[0]["webSocketDebuggerUrl"]
            elif time.monotonic() > deadline:
                raise RuntimeError("no page target for %s: %s" % (url, targets))
            else:
                time.sleep(0.05)
        ws = WebSocket(ws_url)
        next_id = [0]

        def evaluate(expr):
            next_id[0] += 1
            ws.send(json.dumps({"id": next_id[0], "method": "Runtime.evaluate",
                                "params": {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True, "timeout": 30000}}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == next_id[0]:
                    return msg

        # Until the page itself has loaded, an evaluation may land in the
        # blank document that precedes it and die with it.
        def wait_loaded(url, deadline):
            while True:
                msg = evaluate("document.readyState === 'complete' && location.href")
                href = msg.get("result", {}).get("result", {}).get("value")
                if isinstance(href, str) and href.startswith(url):
                    return href
                if time.monotonic() > deadline:
                    raise RuntimeError("the page did not load: %s" % json.dumps(msg)[:500])
                time.sleep(0.05)
        wait_loaded(url, deadline)
        def command(method, params):
            next_id[0] += 1
            ws.send(json.dumps({"id": next_id[0], "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == next_id[0]:
                    if "error" in msg:
                        raise RuntimeError("%s: %s" % (method, msg["error"]))
                    return msg["result"]

        for i, expr in enumerate(exprs, 1):
            if expr.startswith("goto:"):
                # Another page of the same browser (its cookies kept).
                target = urllib.parse.urljoin(url, expr[len("goto:"):])
                command("Page.navigate", {"url": target})
                print(json.dumps(wait_loaded(target, time.monotonic() + 30)))
                sys.stdout.flush()
                continue
            if expr.startswith("screenshot:"):
                path = expr[len("screenshot:"):]
                size = command("Page.getLayoutMetrics", {})["cssContentSize"]
                shot = command("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                             "scale": 1}})
                with open(path, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                print(json.dumps(path))
                sys.stdout.flush()
                continue
            msg = evaluate(expr)
            result = msg.get("result", {})
            if "exceptionDetails" in result or "error" in msg:
                detail = result.get("exceptionDetails") or msg.get("error")
                print("exception in expression %d: %s" % (i, json.dumps(detail)[:2000]), file=sys.stderr)
                sys.exit(1)
            print(json.dumps(result["result"].get("value")))
            sys.stdout.flush()
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
