#!/usr/bin/env bash
# The audit log: each change of the test (users, tokens, triggers, pauses,
# clears, logins, a refused trigger and pause), through the API and the
# command line, is one entry with who, from where, what, on
# which object and the outcome, in order, and nothing else; `dagctl audit`
# and /api/v1/eventLogs (admins only) read it; SQL cannot change or delete
# an entry.
. "$(dirname "$0")/lib.sh"
need sqlite3

write_dag auditdemo <<'EOF2'
dag_id: auditdemo
tasks:
  - id: hello
    command: echo hello
EOF2
PW="audit-pw-$RANDOM$RANDOM"
dagctl users add adm --role admin --password-stdin <<<"$PW" >/dev/null
dagctl users add vw --role viewer --no-password >/dev/null
TOKEN=$(dagctl tokens create adm)
VTOKEN=$(dagctl tokens create vw --json | pyjson 'd["token"]')
VID=$(dagctl tokens list --user vw --json | pyjson 'd[0]["id"]')
start_scheduler auditdemo
B=${SCHED_URL%/}
code() { curl -sS -o "$TMP/body" -w '%{http_code}' "$@"; }
json=(-H 'Content-Type: application/json')
assert_eq "$(code -H "Authorization: Bearer $TOKEN" "${json[@]}" -d '{"dag_run_id": "r1"}' \
  "$B/api/v1/dags/auditdemo/dagRuns")" 200 "trigger"
assert_eq "$(code -H "Authorization: Bearer $TOKEN" "${json[@]}" -d '{"dag_run_id": "r1"}' \
  "$B/api/v1/dags/auditdemo/dagRuns")" 409 "the same run id again"
assert_eq "$(code -H "Authorization: Bearer $TOKEN" "${json[@]}" -X PATCH -d '{"is_paused": true}' \
  "$B/api/v1/dags/auditdemo")" 200 "pause"
assert_eq "$(code -X POST "${json[@]}" -d "{\"username\": \"adm\", \"password\": \"x$PW\"}" \
  "$B/api/v1/ui/login")" 401 "a wrong password"
assert_eq "$(code -X POST "${json[@]}" -d "{\"username\": \"adm\", \"password\": \"$PW\"}" \
  "$B/api/v1/ui/login")" 200 "login"
# Reads and refusals before any handler change nothing: no entries.
assert_eq "$(code -H "Authorization: Bearer $VTOKEN" "$B/api/v1/dags")" 200 "a read"
assert_eq "$(code -H "Authorization: Bearer $VTOKEN" "${json[@]}" -X PATCH -d '{"is_paused": false}' \
  "$B/api/v1/dags/auditdemo")" 403 "a viewer's pause"
dagctl tokens revoke "$VID" >/dev/null
dagctl users delete vw >/dev/null

# --- Airflow's eventLogs: admins only ------------------------------------------------------
assert_eq "$(code -H "Authorization: Bearer $TOKEN" "$B/api/v1/eventLogs?limit=3&offset=1")" 200 "eventLogs"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/body")" 11 "eventLogs total_entries"
assert_eq "$(pyjson '[e["event"] for e in d["event_logs"]]' <"$TMP/body" | tr '\n' ' ')" \
  "user.add token.create token.create " "eventLogs page"
assert_eq "$(pyjson 'sorted(d["event_logs"][0].keys())' <"$TMP/body" | tr '\n' ' ')" \
  "client dag_id event event_log_id execution_date extra map_index object outcome owner run_id task_id try_number when " \
  "EventLog fields"
dagctl tokens create adm --json >/dev/null # one entry more, below
ADM2=$(dagctl users add u2 --role user --no-password >/dev/null && dagctl tokens create u2)
assert_eq "$(code -H "Authorization: Bearer $ADM2" "$B/api/v1/eventLogs")" 403 "eventLogs for a user"
# The page: admins only; reading it changes nothing.
assert_eq "$(code -u "adm:$PW" "$B/audit")" 200 "the audit page for an admin"
grep -q '<h1>Audit log</h1>' "$TMP/body" || fail "the audit page: $(head -c 300 "$TMP/body")"
assert_eq "$(code -H "Authorization: Bearer $ADM2" "$B/audit")" 403 "the audit page for a user"
assert_eq "$(code "$B/static/audit.js")" 200 "the audit page's script"
# The command line's changes of DAGs and runs, one of them refused.
dagctl dags unpause auditdemo >/dev/null
dagctl dags pause nope >/dev/null 2>&1 && fail "paused a DAG that does not exist"
dagctl trigger auditdemo --run-id r2 >/dev/null
wait_run auditdemo r1 >/dev/null
dagctl clear auditdemo r1 hello >/dev/null
# One shape and one encoder: `dagctl audit --json` prints the very objects
# /api/v1/eventLogs answers (Airflow's EventLog fields).
curl -sS -H "Authorization: Bearer $TOKEN" "$B/api/v1/eventLogs?limit=10000" >"$TMP/api.json"
dagctl audit --json --limit 10000 >"$TMP/cli.json"
"$PYTHON" - "$TMP/api.json" "$TMP/cli.json" <<'PY' || fail "dagctl audit --json and eventLogs differ"
import json, sys
api = json.load(open(sys.argv[1]))["event_logs"]
cli = json.load(open(sys.argv[2]))
if len(api) < 15 or api != cli:
    print("api:", json.dumps(api[:2]), "\ncli:", json.dumps(cli[:2]))
    sys.exit(1)
PY
stop_scheduler

# --- every entry, in order, and nothing else ---------------------------------------------
me="cli:$(id -un)"
dagctl audit --json | pyjson '"\n".join("|".join(str(e[k]) for k in ("owner", "client", "event", "dag_id", "run_id", "object", "outcome")) for e in d)' >"$TMP/audit.txt"
cat >"$TMP/want.txt" <<EOF2
$me|cli|user.add|None|None|adm|success
$me|cli|user.add|None|None|vw|success
$me|cli|token.create|None|None|adm token $(dagctl tokens list --user adm --json | pyjson 'd[-1]["id"]')|success
$me|cli|token.create|None|None|vw token $VID|success
adm|127.0.0.1|trigger|auditdemo|r1|None|success
adm|127.0.0.1|trigger|auditdemo|r1|None|failure
adm|127.0.0.1|pause|auditdemo|None|None|success
adm|127.0.0.1|login|None|None|None|failure
adm|127.0.0.1|login|None|None|None|success
$me|cli|token.revoke|None|None|$VID|success
$me|cli|user.delete|None|None|vw|success
$me|cli|token.create|None|None|adm token $(dagctl tokens list --user adm --json | pyjson 'd[0]["id"]')|success
$me|cli|user.add|None|None|u2|success
$me|cli|token.create|None|None|u2 token $(dagctl tokens list --user u2 --json | pyjson 'd[0]["id"]')|success
$me|cli|unpause|auditdemo|None|None|success
$me|cli|pause|nope|None|None|failure
$me|cli|trigger|auditdemo|r2|None|success
$me|cli|clear|auditdemo|r1|hello|success
EOF2
diff "$TMP/want.txt" "$TMP/audit.txt" >&2 || fail "the audit log is not the changes made"
assert_eq "$(dagctl audit --user adm --json | pyjson 'len(d)')" 5 "audit --user"
assert_eq "$(dagctl audit --since 1h --json | pyjson 'len(d)')" 18 "audit --since 1h"
assert_eq "$(dagctl audit --since 2000-01-01 --json | pyjson 'len(d)')" 18 "audit --since a date"
assert_eq "$(dagctl audit --since 2999-01-01 --json | pyjson 'len(d)')" 0 "audit --since the future"
dagctl audit | grep -q 'adm .*127.0.0.1 .*trigger .*auditdemo r1 .*failure' || fail "audit text: $(dagctl audit)"

# --- entries cannot be changed or deleted --------------------------------------------------
sqlite3 "$DAGCTL_HOME/dagctl.db" "UPDATE audit_log SET outcome = 'success'" 2>"$TMP/up.err" &&
  fail "an audit entry was changed"
grep -q 'the audit log cannot be changed' "$TMP/up.err" || fail "UPDATE: $(cat "$TMP/up.err")"
sqlite3 "$DAGCTL_HOME/dagctl.db" "DELETE FROM audit_log" 2>"$TMP/del.err" && fail "audit entries were deleted"
assert_eq "$(sql 'SELECT count(*) FROM audit_log')" 18 "entries after the attempts"
# No secret in any entry or log.
for s in "$PW" "$TOKEN" "$VTOKEN" "$ADM2"; do
  hits=$(grep -rlaF -- "$s" "$DAGCTL_HOME" "$TMP" || true)
  [ -z "$hits" ] || fail "a secret in clear in: $hits"
done
log ok
