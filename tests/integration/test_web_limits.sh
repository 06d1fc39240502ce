#!/usr/bin/env bash
# The status page under abuse, over real sockets, against `dagctl webserver`:
# a web.token shorter than 32 bytes stops start-up and `dagctl config check`;
# one client address holding hundreds of slow connections gets its share
# (web.max_connections_per_client) and no more, while a health probe from
# another address (127.0.0.2: every 127/8 address is the loopback) is still
# answered; refusals and wrong API tokens are logged at most once per
# interval with a count of the lines left out, never with the token; wrong
# tokens are answered late, from a timer, while the server keeps answering
# others.
. "$(dirname "$0")/lib.sh"

# --- a token anyone could guess is refused ---------------------------------------------------
cat >"$TMP/short.yaml" <<'EOF2'
web:
  token: x
EOF2
chmod 600 "$TMP/short.yaml"
rc=0
out=$(dagctl config check --config "$TMP/short.yaml") || rc=$?
assert_eq "$rc" 4 "config check with a 1-byte web.token"
assert_eq "$out" "$TMP/short.yaml:2:10: web.token: must be at least 32 bytes long, this one has 1; make one with \`openssl rand -hex 32\`" \
  "config check message"
dagctl dags list >/dev/null # a database, so only the token can stop the server
rc=0
DAGCTL__WEB__TOKEN=0123456789abcdef0123456789abcde timeout 10 "$DAGCTL_BIN" webserver --port 0 \
  >"$TMP/short.log" 2>&1 || rc=$?
assert_eq "$rc" 4 "dagctl webserver with a 31-byte token"
grep -q 'DAGCTL__WEB__TOKEN: web.token: must be at least 32 bytes long, this one has 31' "$TMP/short.log" ||
  fail "webserver start-up message: $(cat "$TMP/short.log")"
grep -q 'web server listening' "$TMP/short.log" && fail "served with a short token"

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"
write_dag limits <<'EOF2'
dag_id: limits
tasks:
  - id: t
    command: "true"
EOF2

WS_LOG=$TMP/webserver.log
"$DAGCTL_BIN" webserver --port 0 >"$WS_LOG" 2>&1 &
WS_PID=$!
SCHED_PIDS+=("$WS_PID")
wait_for "grep -q 'web server listening' '$WS_LOG'" 10
PORT=$(sed -n 's/.*web server listening url=http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$WS_LOG")
[ -n "$PORT" ] || fail "no port in: $(cat "$WS_LOG")"
log "webserver on port $PORT"

# --- one client, many slow connections ------------------------------------------------------
N=300
"$PYTHON" - "$PORT" "$N" >"$TMP/slow.txt" <<'EOF2' || fail "slow clients: $(cat "$TMP/slow.txt")"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])

def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s

def ask(src, path, send=True):
    s = conn(src)
    data = b""
    try:
        # A refused connection is answered at once, before any request; a
        # request sent to it could turn the close into a reset.
        if send:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError as e:
        data += ("(%s)" % e).encode()
    s.close()
    return data.decode("utf-8", "replace")

# Each sends half a request and then nothing: the slot stays taken until
# the idle timeout (10 s), far beyond this script.
slow = []
for _ in range(n):
    s = conn("127.0.0.1")
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nX-Slow: ")
    slow.append(s)
# The server takes connections in order and refuses one at once, before it
# takes the next: once these answers are in, every refusal above is too.
probe = ask("127.0.0.2", "/api/v1/health")
again = ask("127.0.0.1", "/api/v1/health", send=False)
held = refused = reset = 0
for s in slow:
    s.setblocking(False)
    try:
        data = s.recv(4096)
    except BlockingIOError:
        data = None
    except ConnectionResetError:
        data = b"(reset)"
    if data == b"(reset)":
        reset += 1
    elif data is None:
        held += 1
    elif data.startswith(b"HTTP/1.1 503 "):
        refused += 1
    else:
        print("unexpected answer:", data[:200])
        sys.exit(1)
print("probe", probe.split("\r\n")[0])
print("again", again.split("\r\n")[0])
print("again_body", again.split("\r\n\r\n", 1)[-1])
print("held", held)
print("refused", refused)
print("reset", reset)
EOF2
cat "$TMP/slow.txt" >&2
field() { sed -n "s/^$1 //p" "$TMP/slow.txt"; }
assert_eq "$(field probe)" "HTTP/1.1 200 OK" "health probe from another address"
assert_eq "$(field again)" "HTTP/1.1 503 Service Unavailable" "one more from the busy address"
grep -q 'too many connections from your address' <<<"$(field again_body)" ||
  fail "503 does not say why: $(field again_body)"
assert_eq "$(field held)" 32 "connections held for one address (the default share)"
assert_eq "$(field refused)" $((N - 32)) "connections refused for one address, with a 503"
assert_eq "$(field reset)" 0 "refused connections reset before their 503 was read"
refused_total=$((N - 32 + 1))

# --- wrong tokens --------------------------------------------------------------------------------
# Five wrong guesses from one address: each answered 401, later and later,
# while a request from elsewhere is answered meanwhile; the token itself
# never reaches the log.
"$PYTHON" - "$PORT" "$TOKEN" >"$TMP/auth.txt" <<'EOF2' || fail "wrong tokens: $(cat "$TMP/auth.txt")"
import socket, sys, time
port, token = int(sys.argv[1]), sys.argv[2]

def ask(src, method, path, headers=""):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n%s\r\n{}"
               % (method, path, headers)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data.decode("utf-8", "replace").split("\r\n")[0]

guess = "Authorization: Bearer %s\r\n" % ("wrong-guess-" + token)
for i in range(5):
    t0 = time.monotonic()
    status = ask("127.0.0.3", "POST", "/api/v1/dags/limits/dagRuns", guess)
    print("guess", i + 1, status, int((time.monotonic() - t0) * 1000))
# The sixth guess waits on a timer (3.2 s); meanwhile another client is
# answered, and the guess still has no answer then.
g = socket.socket()
g.bind(("127.0.0.3", 0))
g.settimeout(20)
g.connect(("127.0.0.1", port))
g.sendall(("POST /api/v1/dags/limits/dagRuns HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Length: 2\r\n%s\r\n{}" % guess).encode())
order = ["health " + ask("127.0.0.4", "GET", "/api/v1/health")]
g.setblocking(False)
try:
    g.recv(1)
    order.append("guess answered")
except BlockingIOError:
    order.append("guess pending")
g.setblocking(True)
g.settimeout(20)
order.append(g.recv(65536).decode().split("\r\n")[0])
g.close()
print("order", " / ".join(order))
# The right token from the same address still works at once.
print("right", ask("127.0.0.3", "PATCH", "/api/v1/dags/limits",
                   "Authorization: Bearer %s\r\nContent-Type: application/json\r\n" % token))
EOF2
cat "$TMP/auth.txt" >&2
for i in 1 2 3 4 5; do
  line=$(grep "^guess $i " "$TMP/auth.txt")
  case $line in *"HTTP/1.1 401 Unauthorized"*) ;; *) fail "guess $i: $line" ;; esac
done
# The delays double from 100 ms: a timer never fires early, so each answer
# took at least its delay.
ms() { awk -v i="$1" '$1 == "guess" && $2 == i { print $NF }' "$TMP/auth.txt"; }
[ "$(ms 5)" -ge 1600 ] || fail "the fifth wrong token was answered after $(ms 5) ms, not slowed down"
[ "$(ms 4)" -ge 800 ] || fail "the fourth wrong token was answered after $(ms 4) ms"
assert_eq "$(sed -n 's/^order //p' "$TMP/auth.txt")" \
  "health HTTP/1.1 200 OK / guess pending / HTTP/1.1 401 Unauthorized" \
  "a delayed 401 holds nobody else up"
# PATCH without is_paused answers 400: the token was accepted.
assert_eq "$(sed -n 's/^right //p' "$TMP/auth.txt")" "HTTP/1.1 400 Bad Request" "the right token"

kill -TERM "$WS_PID"
wait_for "! proc_alive $WS_PID" 10
grep -q 'web server stopped' "$WS_LOG" || fail "dagctl webserver did not stop cleanly"
if grep -hE -A20 'Sanitizer|runtime error:' "$WS_LOG"; then fail "sanitizer report"; fi

# --- the log ---------------------------------------------------------------------------------------
grep -qF -- "$TOKEN" "$WS_LOG" && fail "the token reached the log"
# Every refusal is accounted for: lines logged plus the counts they (and the
# summary at shutdown) give of those not logged.
lines=$(grep -c 'web connection refused ' "$WS_LOG" || true)
sum=$(awk '/web connection refused / { for (i = 1; i <= NF; i++) if ($i ~ /^not_logged_before=/) { sub(/.*=/, "", $i); n += $i } ; n++ }
           /web connections refused and not logged/ { for (i = 1; i <= NF; i++) if ($i ~ /^count=/) { sub(/.*=/, "", $i); n += $i } }
           END { print n + 0 }' "$WS_LOG")
log "refusal lines: $lines, refusals accounted: $sum of $refused_total"
assert_eq "$sum" "$refused_total" "refusals accounted for in the log"
# At most one line per 10 s interval (this test takes far less than 30 s
# until here) and the summary at shutdown.
[ "$lines" -le 3 ] || fail "$lines log lines for $refused_total refusals: $(grep -c WARN "$WS_LOG")"
grep -q 'web connection refused client=127.0.0.1 reason=client_limit' "$WS_LOG" ||
  fail "refusal line lacks the client: $(grep 'refused' "$WS_LOG" | head -3)"

auth_lines=$(grep -c 'web: wrong API token client=' "$WS_LOG" || true)
auth_sum=$(awk '/web: wrong API token client=/ { for (i = 1; i <= NF; i++) if ($i ~ /^not_logged_before=/) { sub(/.*=/, "", $i); n += $i } ; n++ }
                /web: wrong credentials not logged one by one/ { for (i = 1; i <= NF; i++) if ($i ~ /^count=/) { sub(/.*=/, "", $i); n += $i } }
                END { print n + 0 }' "$WS_LOG")
assert_eq "$auth_sum" 6 "wrong tokens accounted for in the log"
[ "$auth_lines" -le 2 ] || fail "$auth_lines log lines for 6 wrong tokens"
grep -q 'web: wrong API token client=127.0.0.3 ' "$WS_LOG" ||
  fail "wrong token line lacks the client: $(grep 'token' "$WS_LOG" | head -3)"
