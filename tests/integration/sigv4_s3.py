#!/usr/bin/env python3
"""A small S3 that verifies every request's SigV4 signature.

s3rver accepts any signature, so it cannot catch a signing mistake: a query
string curl signs in another form than the server canonicalizes, a key
encoded differently in the URL and in the signature, a payload hash that
does not match the body. This server recomputes the signature the way AWS
documents it (canonical request from the decoded path and query, re-encoded;
the signed headers as received; the string to sign; the derived key) and
answers 403 SignatureDoesNotMatch when it differs.

It keeps objects in memory and speaks just enough S3 for the lake:
path-style PUT and GET of objects and ListObjectsV2 with prefix, max-keys
and continuation tokens (which it makes hold '+', '/' and '=').

    LAKE_SECRET_ACCESS_KEY=... sigv4_s3.py BUCKET ACCESS_KEY_ID [--region R]
                [--fail-first N] [--log FILE]

--fail-first N answers the first N requests with 503 SlowDown, to test
retries. --log appends "METHOD TARGET STATUS" per request. The port is
printed on one line; the server exits when its standard input closes.
"""
import argparse
import base64
import hashlib
import hmac
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, unquote_to_bytes
from xml.sax.saxutils import escape


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def canonical_query(raw):
    params = []
    for part in raw.split("&") if raw else []:
        name, _, value = part.partition("=")
        params.append((quote(unquote(name), safe="~"), quote(unquote(value), safe="~")))
    params.sort()
    return "&".join(f"{n}={v}" for n, v in params)


def error_xml(code, message):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error>").encode()


class S3:
    def __init__(self, args):
        self.args = args
        self.objects = {}
        self.lock = threading.Lock()
        self.failures_left = args.fail_first

    def log(self, line):
        if self.args.log:
            with self.lock, open(self.args.log, "a") as f:
                f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as curl reuses connections

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.s3.log(f"{self.command} {self.path} {status}")

    def verify(self, body):
        """None if the request is signed right, else (status, code, message)."""
        s3 = self.server.s3
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return 403, "AccessDenied", "Anonymous access is forbidden"
        fields = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            fields[k] = v
        key_id, date, region, service, term = (fields.get("Credential", "") + "////").split("/")[:5]
        if key_id != s3.args.key_id:
            return 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        if region != s3.args.region or service != "s3" or term != "aws4_request":
            return 400, "AuthorizationHeaderMalformed", f"bad credential scope {date}/{region}/{service}/{term}"
        payload_hash = self.headers.get("x-amz-content-sha256")
        if payload_hash is None:
            return 400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != sha256_hex(body):
            return 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."
        signed = fields.get("SignedHeaders", "").split(";")
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed:
                return 403, "SignatureDoesNotMatch", f"{required} is not signed"
        path, _, query = self.path.partition("?")
        headers = "".join(
            f"{h}:{' '.join((self.headers.get(h) or '').split())}\n" for h in signed)
        canonical = "\n".join([
            self.command,
            quote(unquote_to_bytes(path), safe="/~"),
            canonical_query(query),
            headers,
            ";".join(signed),
            payload_hash,
        ])
        amz_date = self.headers.get("x-amz-date", "")
        scope = f"{date}/{region}/s3/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{sha256_hex(canonical.encode())}"
        k = sign(("AWS4" + s3.args.secret).encode(), date)
        k = sign(sign(sign(k, region), "s3"), "aws4_request")
        want = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, fields.get("Signature", "")):
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
        return None

    def handle_request(self):
        s3 = self.server.s3
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        problem = self.verify(body)
        if problem:
            return self.reply(problem[0], error_xml(problem[1], problem[2]))
        with s3.lock:
            fail = s3.failures_left > 0
            if fail:
                s3.failures_left -= 1
        if fail:
            return self.reply(503, error_xml("SlowDown", "Please reduce your request rate."))
        path, _, query = self.path.partition("?")
        bucket, _, key = unquote(path).lstrip("/").partition("/")
        if bucket != s3.args.bucket:
            return self.reply(404, error_xml("NoSuchBucket", "The specified bucket does not exist"))
        if self.command == "PUT" and key:
            with s3.lock:
                s3.objects[key] = body
            return self.reply(200, content_type="text/plain")
        if self.command == "GET" and key:
            with s3.lock:
                data = s3.objects.get(key)
            if data is None:
                return self.reply(404, error_xml("NoSuchKey", "The specified key does not exist."))
            return self.reply(200, data, "application/octet-stream")
        if self.command == "GET":
            return self.list(query)
        return self.reply(405, error_xml("MethodNotAllowed", "not supported here"))

    def list(self, query):
        s3 = self.server.s3
        params = {}
        for part in query.split("&") if query else []:
            name, _, value = part.partition("=")
            params[unquote(name)] = unquote(value)
        if params.get("list-type") != "2":
            return self.reply(400, error_xml("InvalidArgument", "only ListObjectsV2"))
        prefix = params.get("prefix", "")
        max_keys = int(params.get("max-keys", "1000"))
        after = ""
        if "continuation-token" in params:
            raw = base64.b64decode(params["continuation-token"])
            if not raw.startswith(b"\xfb\xff\xfe"):
                return self.reply(400, error_xml("InvalidArgument", "The continuation token provided is incorrect"))
            after = raw[3:].decode()
        with s3.lock:
            keys = sorted(k for k in s3.objects if k.startswith(prefix) and k > after)
        page, rest = keys[:max_keys], keys[max_keys:]
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>',
               f"<Name>{s3.args.bucket}</Name><Prefix>{escape(prefix)}</Prefix>",
               f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>",
               f"<IsTruncated>{'true' if rest else 'false'}</IsTruncated>"]
        for k in page:
            out.append(f"<Contents><Key>{escape(k)}</Key><Size>{len(s3.objects[k])}</Size></Contents>")
        if rest:
            # Bytes that make the base64 hold '+', '/' and '=' most of the time.
            token = base64.b64encode(b"\xfb\xff\xfe" + page[-1].encode()).decode()
            out.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
        out.append("</ListBucketResult>")
        return self.reply(200, "".join(out).encode())

    do_GET = handle_request
    do_PUT = handle_request


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bucket")
    p.add_argument("key_id")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--log")
    args = p.parse_args()
    args.secret = os.environ["LAKE_SECRET_ACCESS_KEY"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.s3 = S3(args)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the test closes our standard input
    server.shutdown()


if __name__ == "__main__":
    main()
