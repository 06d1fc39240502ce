# alerts_lib.sh - helpers for the email alert tests (source after lib.sh).
#
# A real SMTP server (aiosmtpd, tests/integration/smtp_server.py) runs on
# loopback; every message it accepts lands in $MAILDIR as N.eml beside
# N.json (envelope, TLS, login). Debian's aiosmtpd lives with
# /usr/bin/python3, which may not be the python3 on PATH.

PY=/usr/bin/python3
SMTP_SERVER=$(dirname "${BASH_SOURCE[0]}")/smtp_server.py
MAILDIR=$TMP/mail
SMTP_PID=
SMTP_PORT=

"$PY" -c 'import aiosmtpd' 2>/dev/null ||
  fail "missing tool: aiosmtpd for $PY (run .ci/install-deps.sh test: python3-aiosmtpd)"

free_port() { "$PY" "$SMTP_SERVER" --maildir "$MAILDIR" --free-port; }

# start_smtp [--port N] [smtp_server.py options...]: start the server and
# wait until it listens; sets SMTP_PORT and SMTP_PID.
start_smtp() {
  local out=$TMP/smtp.$RANDOM.out
  "$PY" "$SMTP_SERVER" --maildir "$MAILDIR" "$@" >"$out" 2>"$out.err" &
  SMTP_PID=$!
  SCHED_PIDS+=("$SMTP_PID") # killed by lib.sh's cleanup
  disown "$SMTP_PID"
  wait_for "grep -q '^PORT ' '$out'" 10
  SMTP_PORT=$(awk '/^PORT /{print $2}' "$out")
}

stop_smtp() {
  [ -n "$SMTP_PID" ] || return 0
  kill -TERM "$SMTP_PID"
  wait_for "! proc_alive $SMTP_PID" 10
  SMTP_PID=
}

# make_cert DIR: a self-signed certificate for DNS:localhost (libesmtp
# checks DNS names only, never IP addresses).
make_cert() {
  mkdir -p "$1"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" \
    -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" 2>/dev/null
}

# smtp_config KEY=VALUE...: append an smtp section to dagctl.yaml.
smtp_config() {
  echo "smtp:" >>"$DAGCTL_HOME/dagctl.yaml"
  local kv
  for kv in "$@"; do
    printf '  %s: %s\n' "${kv%%=*}" "${kv#*=}" >>"$DAGCTL_HOME/dagctl.yaml"
  done
}

mail_count() { find "$MAILDIR" -name '*.eml' 2>/dev/null | wc -l; }

# mails 'EXPR': evaluate a Python expression for every received message, in
# arrival order, one result per line. Bound names: m (email.message, with
# decoded headers), body (decoded text), raw (bytes), env (the envelope).
mails() {
  "$PY" - "$MAILDIR" "$1" <<'PYEOF'
import email, email.policy, email.utils, json, os, sys
d, expr = sys.argv[1], sys.argv[2]
names = sorted((f for f in os.listdir(d) if f.endswith(".eml")), key=lambda f: int(f[:-4]))
for f in names:
    raw = open(os.path.join(d, f), "rb").read()
    env = json.load(open(os.path.join(d, f[:-4] + ".json")))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    body = m.get_content().replace("\r\n", "\n")
    print(eval(expr))
PYEOF
}

# alerts_json 'EXPR': pyjson over `dagctl alerts --json`.
alerts_json() { dagctl alerts --json --limit 1000 | pyjson "$1"; }

alert_count() { sql "SELECT count(*) FROM alert${1:+ WHERE $1}"; }
