#!/usr/bin/env python3
"""A real HTTP(S) server on loopback for the http task tests.

Routes:
  /json            200 {"status": "ok", "data": {"id": 42, "items": [{"name": "a"}]}}
  /status/NNN      status NNN, body {"code": NNN}
  /text            200 text/plain "hello"
  /echo            200 {"method", "path", "body", "content_type", "x_date",
                   "authorized"}: authorized is true when the Authorization
                   header equals --expect-auth (the header itself is never
                   echoed, so no credential reaches a task's XCom)
  /slow            answers after 10 s (a client timeout's target)
  /big             200, 70 KiB of JSON (over the XCom limit)

Every request is appended to --requests as one JSON line (method, path,
body). With --cert/--key it speaks TLS only. Prints "PORT <n>" on stdout
once it listens; runs until SIGTERM.
"""
import argparse
import http.server
import json
import signal
import socketserver
import ssl
import sys
import threading
import time


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def make_handler(args):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def reply(self, code, body, ctype="application/json"):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode() if n else ""
            with lock, open(args.requests, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "body": body}) + "\n")
            path = self.path.split("?")[0]
            if path == "/json":
                self.reply(200, json.dumps({"status": "ok",
                                            "data": {"id": 42, "items": [{"name": "a"}]}}))
            elif path.startswith("/status/"):
                code = int(path[len("/status/"):])
                self.reply(code, json.dumps({"code": code}))
            elif path == "/text":
                self.reply(200, "hello", "text/plain")
            elif path == "/echo":
                self.reply(200, json.dumps({
                    "method": self.command, "path": self.path, "body": body,
                    "content_type": self.headers.get("Content-Type"),
                    "x_date": self.headers.get("X-Date"),
                    "authorized": args.expect_auth is not None
                    and self.headers.get("Authorization") == args.expect_auth}))
            elif path == "/slow":
                time.sleep(10)
                self.reply(200, "{}")
            elif path == "/big":
                self.reply(200, json.dumps({"pad": "x" * (70 * 1024)}))
            else:
                self.reply(404, json.dumps({"error": "no route"}))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--expect-auth")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), make_handler(args))
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
