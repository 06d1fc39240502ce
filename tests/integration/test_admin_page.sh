#!/usr/bin/env bash
# The Admin page (/admin, ops and admins) in headless Chromium: variables
# with their values, connections with their fields, and the alerts'
# outbox (/api/v1/alerts, as `dagctl alerts --json` lists it) are shown;
# a secret variable's value and a connection's password appear nowhere in
# the page, and markup in a value is shown as text, never run. A user
# gets 403, a visitor without credentials the login page.
. "$(dirname "$0")/lib.sh"
need chromium

write_dag alerting <<'EOF2'
dag_id: alerting
default_args:
  email: ops@example.com
  retries: 0
tasks:
  - id: check
    command: echo "row count 0"; exit 1
EOF2
head -c 32 /dev/urandom | base64 >"$DAGCTL_HOME/secret_key"
printf '  secret_key_file: %s\n' "$DAGCTL_HOME/secret_key" >>"$DAGCTL_HOME/dagctl.yaml"
SECRET="tok-$RANDOM$RANDOM-in-clear"
CONNPW="connpw-$RANDOM$RANDOM"
PWN="<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
dagctl variables set api_token "$SECRET" >/dev/null
dagctl variables set region eu-west-1 --description "the bucket's region" >/dev/null
dagctl variables set markup "$PWN" >/dev/null
dagctl connections add warehouse_db --conn-uri "postgresql://alice:$CONNPW@db.example.com:5433/gold" >/dev/null
PW="admin-page-pw-$RANDOM$RANDOM"
dagctl users add ops --role op --password-stdin <<<"$PW" >/dev/null
dagctl users add usr --role user --no-password >/dev/null
USR=$(dagctl tokens create usr)
OPT=$(dagctl tokens create ops)

start_scheduler alerting
B=${SCHED_URL%/}
run=$(trigger alerting)
assert_eq "$(wait_run alerting "$run" 20)" failed "the failing run"
wait_for '[ "$(sql "SELECT count(*) FROM alert")" -ge 2 ]' 10

# --- permissions: the variables' own (op) ---------------------------------------------------
code() { curl -sS -o "$TMP/body" -w '%{http_code}' "$@"; }
assert_eq "$(code -H "Authorization: Bearer $USR" "$B/admin")" 403 "the page for a user"
assert_eq "$(code -H "Authorization: Bearer $USR" "$B/api/v1/alerts")" 403 "alerts for a user"
assert_eq "$(code -H 'Accept: text/html' "$B/admin")" 303 "the page without credentials"
assert_eq "$(code "$B/api/v1/alerts")" 401 "alerts without credentials"
assert_eq "$(code -H "Authorization: Bearer $OPT" "$B/admin")" 200 "the page for an op"
grep -q '<h1>Variables</h1>' "$TMP/body" || fail "the page: $(head -c 300 "$TMP/body")"
assert_eq "$(code "$B/static/admin.js")" 200 "the page's script"

# --- /api/v1/alerts: what `dagctl alerts --json` lists, without recipients or text -----------
assert_eq "$(code -H "Authorization: Bearer $OPT" "$B/api/v1/alerts")" 200 "alerts for an op"
cp "$TMP/body" "$TMP/alerts.json"
dagctl alerts --json >"$TMP/cli.json"
"$PYTHON" - "$TMP/alerts.json" "$TMP/cli.json" <<'PY' || fail "/api/v1/alerts and dagctl alerts --json differ"
import json, sys
api = json.load(open(sys.argv[1]))
cli = json.load(open(sys.argv[2]))
keys = ["id", "created_at", "kind", "target", "connection", "dag_id", "dag_run_id", "task_id",
        "try_number", "state", "attempts", "next_attempt_at", "sent_at", "last_error"]
assert api["total_entries"] == len(cli) >= 2, (api["total_entries"], len(cli))
for a, c in zip(api["alerts"], cli):
    assert sorted(a) == sorted(keys), sorted(a)
    assert a == {k: c[k] for k in keys}, (a, c)
assert [a["kind"] for a in api["alerts"]] == ["run_failed", "task_failed"], api
PY

# --- the page in Chromium, logged in as the op ----------------------------------------------
"$PYTHON" "$(dirname "$0")/cdp.py" "$(command -v chromium)" "$B/login?next=/" \
  "api('POST', '/api/v1/ui/login', {username: 'ops', password: '$PW'}).then((d) => d.role)" \
  "goto:/admin" \
  "new Promise((res) => { let n = 0; const t = setInterval(() => {
     const done = ![...document.querySelectorAll('tbody')].some((b) => b.textContent.includes('Loading'));
     if (done || ++n > 100) { clearInterval(t);
       res({title: document.title, html: document.documentElement.outerHTML, text: document.body.innerText,
            scripts: document.querySelectorAll('main script, main img').length,
            rows: [...document.querySelectorAll('tbody tr')].map((r) =>
              [r.closest('table').id, ...[...r.cells].map((c) => c.textContent)])}); } }, 100); })" \
  >"$TMP/page.json" 2>"$TMP/chromium.err" || fail "the page in Chromium: $(tail -n 5 "$TMP/chromium.err")"
"$PYTHON" - "$TMP/page.json" "$SECRET" "$CONNPW" "$PWN" "$run" <<'PY' || fail "the Admin page: $(head -c 3000 "$TMP/page.json")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
secret, connpw, pwn, run = sys.argv[2:6]
assert json.loads(lines[0]) == "op", lines[0]
assert json.loads(lines[1]).endswith("/admin"), lines[1]
p = json.loads(lines[2])
assert p["title"] == "Admin – dagctl", p["title"]
for s in (secret, connpw):
    assert s not in p["html"] and s not in p["text"], "a secret in clear"
assert p["scripts"] == 0, "markup from a value became elements"
rows = p["rows"]
var = {r[1]: r[2:] for r in rows if r[0] == "variables"}
assert var == {"api_token": ["***", "–"], "markup": [pwn, "–"],
               "region": ["eu-west-1", "the bucket's region"]}, var
conn = [r[1:] for r in rows if r[0] == "connections"]
assert conn == [["warehouse_db", "postgres", "db.example.com", "5433", "alice", "gold", "–"]], conn
alerts = [r[2:9] for r in rows if r[0] == "alerts"]
assert alerts == [["run_failed", "alerting", run, "–", "email", "queued", "0"],
                  ["task_failed", "alerting", run, "check (try 1)", "email", "queued", "0"]], alerts
PY
log ok
