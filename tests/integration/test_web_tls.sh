#!/usr/bin/env bash
# The status page and API over HTTPS (web.tls_cert, web.tls_key): TLS 1.2
# and 1.3 accepted, 1.0 and 1.1 refused (openssl s_client); SIGHUP serves a
# new certificate (its serial), and a bad new pair keeps the old one; the
# session cookie is Secure; a client that sends garbage or stalls in the
# handshake holds up nobody; headless Chromium loads the page over it. Then
# X-Forwarded-For: ignored without web.behind_proxy, its rightmost untrusted
# address used with it (audit log and the slow-down of wrong passwords); and
# the start-up warning for plain HTTP on a non-loopback address.
. "$(dirname "$0")/lib.sh"
need openssl curl chromium

write_dag tlsdemo <<'EOF2'
dag_id: tlsdemo
tasks:
  - id: hello
    command: echo hello
EOF2

# --- a test CA and two server certificates for 127.0.0.1 -------------------------------------
P=$TMP/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=dagctl-test-ca \
  -keyout "$P/ca.key" -out "$P/ca.pem" 2>/dev/null
mkcert() { # mkcert NAME SERIAL
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$P/ext"
  openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -set_serial "$2" -days 2 \
    -extfile "$P/ext" -out "$P/$1.pem" 2>/dev/null
}
mkcert one 0x1001
mkcert two 0x1002
cp "$P/one.pem" "$P/server.pem"
cp "$P/one.key" "$P/server.key"

PW="tls-pw-$RANDOM$RANDOM-secret"
dagctl users add adm --role admin --password-stdin <<<"$PW" >/dev/null
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  tls_cert: $P/server.pem
  tls_key: $P/server.key
EOF2
start_scheduler tlsdemo
B=${SCHED_URL%/}
case $B in https://127.0.0.1:*) ;; *) fail "the page is not served over HTTPS: $B" ;; esac
HOSTPORT=${B#https://}
grep -q 'web: TLS 1.2 and 1.3 cert=.* serial=1001' "$SCHED_LOG" || fail "start-up does not name the certificate"
grep -q 'serving plain HTTP' "$SCHED_LOG" && fail "a plain-HTTP warning under TLS"

# --- protocol versions -----------------------------------------------------------------------
sclient() { timeout 20 openssl s_client -connect "$HOSTPORT" -CAfile "$P/ca.pem" "$@" </dev/null 2>&1; }
for v in tls1_2 tls1_3; do
  sclient "-$v" >"$TMP/s_$v.txt" || fail "$v refused: $(tail -n 5 "$TMP/s_$v.txt")"
  want=TLSv1.${v#tls1_}
  grep -qE "^ *Protocol *: *$want\$|^New, $want," "$TMP/s_$v.txt" || fail "$v: not $want: $(grep -i protocol "$TMP/s_$v.txt")"
  grep -q 'Verify return code: 0 (ok)' "$TMP/s_$v.txt" || fail "$v: the chain does not verify"
done
# The client is allowed the old versions (security level 0); the server
# must refuse them.
for v in tls1 tls1_1; do
  if sclient "-$v" -cipher 'DEFAULT@SECLEVEL=0' >"$TMP/s_$v.txt"; then
    fail "$v accepted: $(grep -i protocol "$TMP/s_$v.txt")"
  fi
  grep -qiE 'alert protocol version|unsupported protocol|no protocols available' "$TMP/s_$v.txt" ||
    fail "$v: not refused for its version: $(tail -n 5 "$TMP/s_$v.txt")"
done
grep -q 'web: TLS handshake or record failed client=127.0.0.1 error=".*unsupported protocol' "$SCHED_LOG" ||
  fail "the refused version is not logged: $(grep 'TLS' "$SCHED_LOG")"
# HTTP/1.1 through curl, verified against the test CA.
assert_eq "$(curl -sS --cacert "$P/ca.pem" -o "$TMP/body" -w '%{http_code} %{ssl_verify_result}' \
  -u "adm:$PW" "$B/api/v1/dags")" "200 0" "the API over HTTPS"
assert_eq "$(pyjson 'd["dags"][0]["dag_id"]' <"$TMP/body")" tlsdemo "the API's answer"
# Plain HTTP to the TLS port gets no answer, and the server lives on.
curl -sS --max-time 10 -o /dev/null "http://$HOSTPORT/api/v1/health" 2>/dev/null &&
  fail "plain HTTP answered on the TLS port"

# --- garbage and a stalled handshake hold up nobody ------------------------------------------
"$PYTHON" - "${HOSTPORT%:*}" "${HOSTPORT##*:}" "$P/ca.pem" "$PW" >"$TMP/abuse.txt" 2>&1 <<'PY' ||
import base64, socket, ssl, sys, time
host, port, ca, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
def get():
    with socket.create_connection((host, port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            auth = base64.b64encode(("adm:" + pw).encode()).decode()
            t.sendall(("GET /api/v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
                       "Connection: close\r\n\r\n" % auth).encode())
            data = b""
            while True:
                b = t.recv(65536)
                if not b: break
                data += b
            return data.split(b"\r\n", 1)[0].decode()
# Garbage: closed by the server (an alert or nothing), never an answer.
g = socket.create_connection((host, port), timeout=5)
g.sendall(b"\x16\x03\x01\x00\x05hello" + b"\xff" * 200)
got = b""
while True:
    b = g.recv(4096)
    if not b: break
    got += b
assert not got.startswith(b"HTTP"), got[:40]
print("garbage closed after %d bytes (an alert is 7)" % len(got))
# A stalled handshake: half a ClientHello, then silence. Meanwhile others
# are served at once.
st = socket.create_connection((host, port), timeout=30)
st.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20)
for i in range(5):
    line = get()
    assert line == "HTTP/1.1 200 OK", line
print("5 requests served during the stall")
# The stalled one is cut off by the request deadline (10 s).
t0 = time.monotonic()
assert st.recv(4096) == b"", "the stalled handshake got bytes"
print("stalled handshake closed after %.1f s more" % (time.monotonic() - t0))
PY
  fail "abusive clients: $(cat "$TMP/abuse.txt")"
log "$(tr '\n' ';' <"$TMP/abuse.txt")"

# --- the session cookie is Secure -----------------------------------------------------------
curl -sS --cacert "$P/ca.pem" -D "$TMP/lh" -o "$TMP/lbody" -X POST -H 'Content-Type: application/json' \
  --data-binary "{\"username\": \"adm\", \"password\": \"$PW\"}" "$B/api/v1/ui/login" >/dev/null
grep -i '^Set-Cookie: dagctl_session=' "$TMP/lh" | grep -qi 'HttpOnly; SameSite=Strict; Secure' ||
  fail "the session cookie is not Secure under TLS: $(grep -i set-cookie "$TMP/lh")"

# --- headless Chromium loads the page over TLS --------------------------------------------
chrome() { # chrome URL: the DOM headless Chromium built from it, in $TMP/page.dom
  timeout 90 "$(command -v chromium)" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --ignore-certificate-errors \
    --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=6000 \
    --dump-dom "$1" 2>"$TMP/chromium.log" </dev/null >"$TMP/page.dom"
}
chrome "$B/login"
grep -q '<form id="login-form"' "$TMP/page.dom" ||
  fail "chromium did not load the login page over TLS: $(head -c 300 "$TMP/page.dom"; tail -n 5 "$TMP/chromium.log")"
# The status page (web.auth none here): its script fetches the DAG list
# from the API over the same TLS connection and draws a row per DAG.
chrome "$B/"
grep -q 'data-dag="tlsdemo"' "$TMP/page.dom" ||
  fail "chromium did not draw the DAG list over TLS: $(head -c 600 "$TMP/page.dom"; tail -n 5 "$TMP/chromium.log")"

# --- SIGHUP: a new certificate; a bad new pair keeps the one in use ----------------------------
serial() { sclient -tls1_3 | openssl x509 -noout -serial | sed 's/^serial=//'; }
assert_eq "$(serial)" 1001 "the first certificate"
cp "$P/two.pem" "$P/server.pem"
cp "$P/two.key" "$P/server.key"
kill -HUP "$SCHED_PID"
wait_for "grep -q 'TLS certificate reloaded cert=.* serial=1002' '$SCHED_LOG'" 10
assert_eq "$(serial)" 1002 "the certificate after SIGHUP"
cp "$P/one.pem" "$P/server.pem" # the key stays two's: a mismatch
kill -HUP "$SCHED_PID"
wait_for "grep -q 'TLS certificate not reloaded' '$SCHED_LOG'" 10
grep -q 'TLS certificate not reloaded, the one in use is kept error=".*server.key: the private key does not match' "$SCHED_LOG" ||
  fail "a bad pair's reason is not logged: $(grep 'not reloaded' "$SCHED_LOG")"
assert_eq "$(serial)" 1002 "the certificate after a bad SIGHUP"
echo 'not a certificate' >"$P/server.pem"
kill -HUP "$SCHED_PID"
wait_for "[ \$(grep -c 'TLS certificate not reloaded' '$SCHED_LOG') = 2 ]" 10
assert_eq "$(serial)" 1002 "the certificate after a garbage file"
proc_alive "$SCHED_PID" || fail "the scheduler died"
stop_scheduler
grep -q 'failed TLS handshakes not logged one by one count=' "$SCHED_LOG" ||
  log "(every failed handshake was logged)"

# --- X-Forwarded-For -----------------------------------------------------------------------
# A bad pair at start-up stops it, saying why.
dagctl webserver --port 0 >"$TMP/bad.log" 2>&1 && fail "the webserver started with a garbage certificate"
grep -q 'cannot serve TLS error=".*server.pem: cannot read the certificate' "$TMP/bad.log" ||
  fail "a bad certificate at start-up: $(cat "$TMP/bad.log")"
write_config
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  auth: password
EOF2
wrong() { # wrong X-FORWARDED-FOR...: a wrong password sent with those headers
  local h=() x
  for x in "$@"; do h+=(-H "X-Forwarded-For: $x"); done
  curl -sS -o /dev/null -w '%{http_code}' "${h[@]}" -u "adm:x$PW" "$B/api/v1/dags"
}
start_scheduler tlsdemo
B=${SCHED_URL%/}
assert_eq "$(wrong 203.0.113.7)" 401 "a wrong password"
grep -q 'web: wrong password client=127.0.0.1 user=adm .* in_a_row=1 ' "$SCHED_LOG" ||
  fail "X-Forwarded-For believed without web.behind_proxy: $(grep 'wrong password' "$SCHED_LOG")"
stop_scheduler
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
  behind_proxy: true
EOF2
start_scheduler tlsdemo
B=${SCHED_URL%/}
grep -q 'behind_proxy=true' "$SCHED_LOG" || fail "start-up does not say behind_proxy"
# The rightmost address that is not a trusted proxy (loopback, the peer):
# what a client wrote on the left is not believed.
assert_eq "$(wrong '198.51.100.66, 203.0.113.7')" 401 "wrong password 1"
assert_eq "$(wrong '198.51.100.99' '203.0.113.7, 127.0.0.1')" 401 "wrong password 2"
assert_eq "$(wrong '203.0.113.8')" 401 "wrong password from another address"
assert_eq "$(wrong 'not-an-address, 203.0.113.7')" 401 "garbage left of the client"
assert_eq "$(wrong '203.0.113.9, not-an-address')" 401 "garbage where a proxy writes"
grep 'web: wrong password' "$SCHED_LOG" | sed -n 's/.*client=\([^ ]*\) .* in_a_row=\([0-9]*\) .*/\1 \2/p' >"$TMP/wrong.txt"
assert_eq "$(tr '\n' ' ' <"$TMP/wrong.txt")" "203.0.113.7 1 203.0.113.7 2 203.0.113.8 1 203.0.113.7 3 127.0.0.1 1 " \
  "the addresses slowed down"
curl -sS -o /dev/null -H 'X-Forwarded-For: 198.51.100.5' -X POST -H 'Content-Type: application/json' \
  --data-binary "{\"username\": \"adm\", \"password\": \"$PW\"}" "$B/api/v1/ui/login"
stop_scheduler
assert_eq "$(sql "SELECT group_concat(client || ':' || outcome, ' ') FROM (SELECT client, outcome FROM audit_log WHERE event = 'login' ORDER BY id)")" \
  "127.0.0.1:success 127.0.0.1:failure 203.0.113.7:failure 203.0.113.7:failure 203.0.113.8:failure 203.0.113.7:failure 127.0.0.1:failure 198.51.100.5:success" \
  "the audit log's addresses"

# --- the warning for plain HTTP on another address --------------------------------------------
ws() { # ws LOG: run the webserver on every address until it listens, then stop it
  "$DAGCTL_BIN" webserver --bind 0.0.0.0 --port 0 >"$1" 2>&1 &
  local pid=$!
  wait_for "grep -q 'web server listening' '$1'" 10
  kill -TERM "$pid"
  wait "$pid" || true
}
ws "$TMP/ws_proxy.log"
grep -q 'serving plain HTTP' "$TMP/ws_proxy.log" && fail "warned although behind a proxy"
sed -i '/behind_proxy/d' "$DAGCTL_HOME/dagctl.yaml"
ws "$TMP/ws_plain.log"
grep -q 'web: serving plain HTTP on a non-loopback address bind=0.0.0.0' "$TMP/ws_plain.log" ||
  fail "no warning for plain HTTP on 0.0.0.0: $(cat "$TMP/ws_plain.log")"
log "ok"
