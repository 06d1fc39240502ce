#!/usr/bin/python3
"""A real SMTP server on loopback for the alert tests (aiosmtpd).

Every message it accepts is written to --maildir as N.eml (the raw DATA, as
received) beside N.json (envelope: mail_from, rcpt_tos, whether the session
used TLS, the authenticated login). Files appear atomically (written under a
temporary name, then renamed), so a test never reads half a message.

Modes: plain SMTP, STARTTLS (--cert/--key), implicit TLS (--implicit-tls),
AUTH PLAIN/LOGIN (--auth USER:PASSWORD, then required). --reject ADDR
answers RCPT TO:<ADDR> with 550. Prints "PORT <n>" on stdout once it listens
and runs until SIGTERM/SIGINT.

Run with /usr/bin/python3: the Debian aiosmtpd package lives there.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir, reject):
        self.maildir = maildir
        self.reject = {a.lower() for a in reject}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.maildir, "%d" % n)
        # STARTTLS sets session.ssl; with implicit TLS the transport itself
        # is the TLS one.
        tls = session.ssl is not None or (
            server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None)
        login = session.auth_data if session.authenticated else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": tls,
            "login": login.decode() if isinstance(login, bytes) else login,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if mechanism not in ("PLAIN", "LOGIN"):
            return AuthResult(success=False, handled=False)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--auth", help="USER:PASSWORD; AUTH then becomes required")
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--free-port", action="store_true",
                    help="print a free loopback port and exit")
    args = ap.parse_args()

    if args.free_port:
        print(free_port())
        return 0

    os.makedirs(args.maildir, exist_ok=True)
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)

    kwargs = {}
    if tls is not None and not args.implicit_tls:
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = True
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs["authenticator"] = Authenticator(user, password)
        kwargs["auth_required"] = True
        # Plain mode with AUTH is allowed so AUTH can be tested alone.
        kwargs["auth_require_tls"] = tls is not None

    port = args.port or free_port()
    controller = Controller(
        Handler(args.maildir, args.reject),
        hostname="127.0.0.1",
        port=port,
        ssl_context=tls if args.implicit_tls else None,
        server_hostname="localhost",
        **kwargs,
    )
    controller.start()
    print("PORT %d" % port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
