#!/usr/bin/env bash
# The scheduler's state on PostgreSQL (core.state: postgresql://...): a
# private server this test starts, a role that must give its password (from
# DAGCTL__CORE__STATE_PASSWORD), a chain whose middle task fails once and is
# retried. Everything that reads state answers from PostgreSQL: `dagctl
# runs/tasks --json`, the alerts outbox, the JSON API and the status page;
# no SQLite file appears, the password shows nowhere, and a database
# migrated by a newer dagctl is refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
need curl

start_pg
PASSWORD='Pg-pw-9f3k%x'
psql_as postgres postgres "CREATE ROLE dagctl LOGIN PASSWORD '$PASSWORD'"
psql_as postgres postgres "CREATE DATABASE dagctl OWNER dagctl"
# Only this role gives a password; the test's own psql stays trusted.
_as_pg sh -c "printf 'local all dagctl scram-sha-256\nlocal all all trust\n' >'$PG_DIR/data/pg_hba.conf'"
psql_as postgres postgres "SELECT pg_reload_conf()" >/dev/null
STATE="postgresql:///dagctl?host=$PG_DIR&user=dagctl"
pg() { psql_as postgres dagctl "$1"; }

# Without the password the role is refused, and dagctl says so.
export DAGCTL__CORE__STATE=$STATE
if dagctl runs nothing >"$TMP/nopw.out" 2>&1; then fail "dagctl reached the database without a password"; fi
grep -q 'password' "$TMP/nopw.out" || fail "no word of the password: $(cat "$TMP/nopw.out")"
export DAGCTL__CORE__STATE_PASSWORD=$PASSWORD

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"

write_dag pgchain <<EOF2
dag_id: pgchain
default_args:
  retries: 1
  retry_delay: 1s
  email: ops@example.org
tasks:
  - id: extract
    command: echo extracted
  - id: flaky
    upstream: extract
    command: echo "try \$DAGCTL_TRY_NUMBER"; test "\$DAGCTL_TRY_NUMBER" -ge 2
  - id: load
    upstream: flaky
    command: echo loaded
EOF2
start_scheduler pgchain
[ -n "$SCHED_URL" ] || fail "the scheduler did not serve its page"
B=${SCHED_URL%/}
[ ! -e "$DAGCTL_HOME/dagctl.db" ] || fail "a SQLite database appeared beside a PostgreSQL state"

run=$(trigger pgchain)
pg_run_state() { pg "SELECT state FROM dag_run WHERE dag_id = 'pgchain' AND run_id = '$run'"; }
wait_for "[ \"\$(pg_run_state)\" = success ]" 30

# The CLI reads the run from PostgreSQL.
dagctl runs pgchain --json >"$TMP/runs.json"
assert_eq "$(pyjson '[r["state"] for r in d if r["dag_run_id"] == "'"$run"'"][0]' <"$TMP/runs.json")" \
  success "dagctl runs"
dagctl tasks pgchain "$run" --json >"$TMP/tasks.json"
assert_eq "$(pyjson '" ".join(t["task_id"] + ":" + t["state"] + ":" + str(t["try_number"]) for t in d)' \
  <"$TMP/tasks.json")" "extract:success:1 flaky:success:2 load:success:1" "dagctl tasks"
# Both tries of flaky are recorded, the first failed, and its log is read.
assert_eq "$(pg "SELECT string_agg(t.state, ',' ORDER BY t.try_number) FROM task_try t
                 JOIN dag_run r ON r.id = t.run_pk
                 WHERE r.run_id = '$run' AND t.task_id = 'flaky'")" "failed,success" "flaky's tries"
dagctl logs pgchain "$run" flaky --try 1 | grep -q "try 1" || fail "the first try's log"
# The retry queued an alert (no SMTP host: it stays in the outbox).
dagctl alerts --json >"$TMP/alerts.json"
assert_eq "$(pyjson '" ".join(a["kind"] + ":" + a["state"] for a in d)' <"$TMP/alerts.json")" \
  "task_retry:queued" "the alerts outbox"

# The JSON API and the status page answer from the same state.
assert_eq "$(curl -sS "$B/api/v1/dags/pgchain/dagRuns/$run" | pyjson 'd["state"]')" success "API run"
assert_eq "$(curl -sS "$B/api/v1/dags/pgchain/dagRuns/$run/taskInstances/flaky" | pyjson 'd["try_number"]')" \
  2 "API task instance"
curl -sS "$B/api/v1/dags/pgchain/grid" >"$TMP/grid.json"
"$PYTHON" - "$TMP/grid.json" "$run" <<'EOF2' || fail "the grid's states"
import json, sys
g = json.load(open(sys.argv[1]))
text = json.dumps(g)
assert sys.argv[2] in text, "run missing from the grid"
assert text.count('"success"') >= 3, text[:500]
EOF2
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || need chromium
timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=6000 \
  --dump-dom "$B/dags/pgchain" >"$TMP/dag.dom" 2>>"$TMP/chromium.log" </dev/null
"$PYTHON" - "$TMP/dag.dom" "$run" <<'EOF2' || fail "the status page's grid: $(head -c 400 "$TMP/dag.dom")"
import sys
from html.parser import HTMLParser
cells = {}
class P(HTMLParser):
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "cell" in (a.get("class") or "").split() and a.get("data-run") == sys.argv[2]:
            cells[a["data-task"]] = a["data-state"]
P().feed(open(sys.argv[1]).read())
assert cells == {"extract": "success", "flaky": "success", "load": "success"}, cells
EOF2

# dagctl webserver reads the same state through a read-only session, and
# writes a change through a session of its own, password and all.
"$DAGCTL_BIN" webserver --port 0 >"$TMP/webserver.log" 2>&1 &
SCHED_PIDS+=("$!")
wait_for "grep -q 'web server listening' '$TMP/webserver.log'" 10
WS=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/webserver.log")
assert_eq "$(curl -sS "${WS}api/v1/dags/pgchain/dagRuns/$run" | pyjson 'd["state"]')" success \
  "webserver run"
code=$(curl -sS -o "$TMP/pause.json" -w '%{http_code}' -X PATCH "${WS}api/v1/dags/pgchain" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"is_paused": true}')
assert_eq "$code" 200 "pause through dagctl webserver: $(cat "$TMP/pause.json")"
assert_eq "$(pg "SELECT is_paused FROM dag WHERE dag_id = 'pgchain'")" 1 "paused in PostgreSQL"

# The password is in no log, no task's environment dump, no config output.
dagctl config show >"$TMP/config.out" 2>&1
grep -q 'postgresql:///dagctl' "$TMP/config.out" || fail "config show lacks core.state"
if grep -rlF -- "$PASSWORD" "$TMP"/scheduler.*.log "$TMP/webserver.log" "$DAGCTL_HOME" \
  "$TMP/config.out" 2>/dev/null; then
  fail "the state password appears in the files above"
fi

# A password inside the URL is refused, at the setting, without repeating it.
if DAGCTL__CORE__STATE="postgresql://dagctl:$PASSWORD@localhost/dagctl" dagctl runs pgchain \
  >"$TMP/inurl.out" 2>&1; then fail "a URL holding a password was accepted"; fi
grep -q 'DAGCTL__CORE__STATE' "$TMP/inurl.out" || fail "no located error: $(cat "$TMP/inurl.out")"
if grep -qF -- "$PASSWORD" "$TMP/inurl.out"; then fail "the refusal repeats the password"; fi

stop_scheduler
# A database that a newer dagctl migrated is refused with the reason.
pg "INSERT INTO schema_migrations VALUES (9999, '9999_from_the_future', 0)"
if dagctl runs pgchain >"$TMP/newer.out" 2>&1; then fail "a newer schema was accepted"; fi
grep -q 'schema version 9999 is newer than this dagctl' "$TMP/newer.out" ||
  fail "newer schema: $(cat "$TMP/newer.out")"
if "$DAGCTL_BIN" scheduler --port 0 >"$TMP/newer-sched.out" 2>&1; then
  fail "the scheduler started on a newer schema"
fi
grep -q 'newer than this dagctl' "$TMP/newer-sched.out" || fail "scheduler: $(cat "$TMP/newer-sched.out")"
log "ok"
