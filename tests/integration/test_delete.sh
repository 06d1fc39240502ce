#!/usr/bin/env bash
# `dagctl delete` and DELETE .../dagRuns/{run_id}: a finished run goes with
# its task instances, tries, XComs and logs at once; a running run's task
# (which ignores SIGTERM) is stopped first, then the run is deleted; other
# runs are untouched; the audit log records each deletion.
. "$(dirname "$0")/lib.sh"

write_dag dl <<EOF2
dag_id: dl
tasks:
  - id: a
    command: echo "rows=3" >> "\$DAGCTL_XCOM"; echo hello
  - id: b
    upstream: a
    command: "true"
EOF2
write_dag slow <<EOF2
dag_id: slow
tasks:
  - id: w
    command: $FAKE_TASK --ignore-term --sleep 60 --record $TMP/slow.rec --label w
EOF2
start_scheduler dl slow

count() { sql "SELECT (SELECT count(*) FROM dag_run WHERE id = $1) || ' ' || (SELECT count(*) FROM task_instance WHERE run_pk = $1) || ' ' || (SELECT count(*) FROM task_try WHERE run_pk = $1) || ' ' || (SELECT count(*) FROM xcom WHERE run_pk = $1)"; }

# --- a finished run ------------------------------------------------------------------
trigger dl --run-id keep >/dev/null
trigger dl --run-id gone >/dev/null
assert_eq "$(wait_run dl keep 10)" success "run keep"
assert_eq "$(wait_run dl gone 10)" success "run gone"
pk=$(sql "SELECT id FROM dag_run WHERE run_id = 'gone'")
keep=$(sql "SELECT id FROM dag_run WHERE run_id = 'keep'")
assert_eq "$(count "$pk")" "1 2 2 1" "rows of run gone before"
[ -d "$DAGCTL_HOME/logs/dl/gone/a" ] || fail "no logs before"
dagctl delete dl gone --json >"$TMP/d1.json"
assert_eq "$(pyjson 'd["deleted"]' <"$TMP/d1.json")" True "deleted at once"
assert_eq "$(count "$pk")" "0 0 0 0" "rows of run gone after"
[ ! -e "$DAGCTL_HOME/logs/dl/gone" ] || fail "its logs are still there"
assert_eq "$(count "$keep")" "1 2 2 1" "the other run is untouched"
[ -d "$DAGCTL_HOME/logs/dl/keep/a" ] || fail "the other run's logs went too"
rc=0; dagctl delete dl gone 2>/dev/null || rc=$?
assert_eq "$rc" 3 "deleting it again"

# --- a running run: its task stopped first ------------------------------------------------
trigger slow --run-id s1 >/dev/null
wait_for "grep -q '^start' $TMP/slow.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/slow.rec")
pk=$(sql "SELECT id FROM dag_run WHERE run_id = 's1'")
t0=$(now_us)
dagctl delete slow s1 >"$TMP/d2.out" 2>&1
log "deleting a running run took $(us_to_s "$t0" "$(now_us)")s (the task ignores SIGTERM; grace 1s)"
kill -0 "$pid" 2>/dev/null && fail "the task still runs after its run was deleted"
assert_eq "$(count "$pk")" "0 0 0 0" "rows of the running run after"
[ ! -e "$DAGCTL_HOME/logs/slow/s1" ] || fail "the running run's logs are still there"
grep -q 'run deleted dag=slow run=s1' "$SCHED_LOG" || fail "the scheduler did not delete it"

# --- the API ------------------------------------------------------------------------------------
B=${SCHED_URL%/}
dagctl users add du --role user --no-password >/dev/null
TOK=$(dagctl tokens create du --json | pyjson 'd["token"]')
code() { curl -sS -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" "$@"; }
rm -f "$TMP/slow.rec"
trigger slow --run-id s2 >/dev/null
wait_for "grep -q '^start' $TMP/slow.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/slow.rec")
assert_eq "$(code -X DELETE "$B/api/v1/dags/slow/dagRuns/s2")" 202 "DELETE of a running run"
assert_eq "$(code -X DELETE "$B/api/v1/dags/slow/dagRuns/s2")" 409 "DELETE while it is being deleted"
wait_for "[ \"\$(sql \"SELECT count(*) FROM dag_run WHERE run_id = 's2'\")\" = 0 ]" 10
kill -0 "$pid" 2>/dev/null && fail "the task still runs after DELETE"
assert_eq "$(code -X DELETE "$B/api/v1/dags/dl/dagRuns/keep")" 204 "DELETE of a finished run"
assert_eq "$(code -X DELETE "$B/api/v1/dags/dl/dagRuns/keep")" 404 "DELETE again"
assert_eq "$(count "$keep")" "0 0 0 0" "rows of run keep after DELETE"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$B/api/v1/dags/dl/dagRuns/keep")" 401 "DELETE without credentials"

# --- the audit log -----------------------------------------------------------------------------------
assert_eq "$(dagctl audit --json | pyjson '[e["run_id"] for e in d if e["event"] == "run.delete" and e["outcome"] == "success"]' | paste -sd' ')" \
  "gone s1 s2 keep" "deletions in the audit log"
log "ok"
