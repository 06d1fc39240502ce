#!/usr/bin/env bash
# dagrun_timeout, as Airflow's: a run still unfinished that long after its
# start fails; its running task is stopped (SIGTERM ignored here: SIGKILL
# after core.task_kill_grace) and every unfinished task instance ends
# skipped; the failed run's alert is queued as for any failed run. After a
# restart the deadline is kept from the stored start date.
. "$(dirname "$0")/lib.sh"

write_dag rt <<EOF2
dag_id: rt
dagrun_timeout: 2s
default_args:
  email: ops@example.com
tasks:
  - id: a
    command: $FAKE_TASK --ignore-term --sleep 60 --record $TMP/rt.rec --label a
  - id: b
    upstream: a
    command: "true"
EOF2
write_dag rs <<EOF2
dag_id: rs
dagrun_timeout: 3s
tasks:
  - id: a
    command: $FAKE_TASK --sleep 60 --record $TMP/rs.rec --label a
EOF2

start_scheduler rt rs
states() { sql "SELECT group_concat(task_id || '=' || state, ' ') FROM (SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.dag_id = '$1' AND r.run_id = '$2' ORDER BY ti.task_id)"; }
took_us() { sql "SELECT end_date - start_date FROM dag_run WHERE dag_id = '$1' AND run_id = '$2'"; }

# --- a run past its timeout ----------------------------------------------------------
trigger rt --run-id r1 >/dev/null
wait_for "[ \"\$(task_state rt r1 a)\" = running ] && grep -q '^start' $TMP/rt.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/rt.rec")
assert_eq "$(wait_run rt r1 15)" failed "run r1"
assert_eq "$(states rt r1)" "a=skipped b=skipped" "r1's task instances"
took=$(took_us rt r1)
[ "$took" -ge 2000000 ] || fail "the run failed ${took}us after its start, before its 2s timeout"
grep -q 'run timed out, failing it dag=rt run=r1' "$SCHED_LOG" || fail "no timeout in the log"
wait_for "! kill -0 $pid" 10
assert_eq "$(sql "SELECT t.state || ' ' || t.error FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = 'r1' AND t.task_id = 'a'")" \
  "skipped run past its dagrun_timeout: stopped" "the stopped try's record"
grep -q 'signal 9\|SIGKILL\|killed' "$DAGCTL_HOME/logs/rt/r1/a/1.log" ||
  fail "the try that ignored SIGTERM was not killed: $(cat "$DAGCTL_HOME/logs/rt/r1/a/1.log")"
wait_for '[ -n "$(dagctl alerts --json | pyjson "[a[\"kind\"] for a in d]")" ]' 5
assert_eq "$(dagctl alerts --json | pyjson '[a["kind"] for a in d]' | paste -sd' ')" \
  "run_failed" "alerts"

# --- the deadline survives a restart ---------------------------------------------------
trigger rs --run-id r2 >/dev/null
wait_for "[ \"\$(task_state rs r2 a)\" = running ] && grep -q '^start' $TMP/rs.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/rs.rec")
stop_scheduler
assert_eq "$(run_state rs r2)" running "r2 while no scheduler runs"
start_scheduler rs
assert_eq "$(wait_run rs r2 15)" failed "run r2 after the restart"
assert_eq "$(states rs r2)" "a=skipped" "r2's task instances"
took=$(took_us rs r2)
[ "$took" -ge 3000000 ] || fail "r2 failed ${took}us after its start, before its 3s timeout"
grep -q 'run timed out, failing it dag=rs run=r2' "$SCHED_LOG" ||
  fail "the restarted scheduler did not time r2 out"
wait_for "! kill -0 $pid" 10
stop_scheduler
log "ok"
