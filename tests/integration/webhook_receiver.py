#!/usr/bin/env python3
"""A webhook receiver for the notification tests: every POST it accepts is
written to OUTDIR as N.json ({"path", "headers", "body"}), in arrival order,
and answered 200 "ok". --free-port prints a free loopback port and exits
(the test starts the receiver on it later: down first, then up)."""
import argparse
import http.server
import json
import os
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--free-port", action="store_true")
    args = ap.parse_args()
    if args.free_port:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        s.close()
        return
    os.makedirs(args.out, exist_ok=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8")
            count = len([f for f in os.listdir(args.out) if f.endswith(".json")])
            tmp = os.path.join(args.out, ".%d.tmp" % (count + 1))
            with open(tmp, "w") as f:
                json.dump({"path": self.path, "headers": dict(self.headers), "body": body}, f)
            os.rename(tmp, os.path.join(args.out, "%d.json" % (count + 1)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, fmt, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
