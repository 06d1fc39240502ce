#!/usr/bin/env bash
# With core.executor: workers, a try a worker runs is stopped when the
# scheduler takes it from under it: its task instance marked by hand, its
# run past its dagrun_timeout, or its run deleted. The claim is taken back
# with the mark, so the worker's next heartbeat finds it gone and stops the
# process; its late end is refused and the recorded state stays the mark's.
. "$(dirname "$0")/lib.sh"

cat >>"$DAGCTL_HOME/dagctl.yaml" <<CONF
  executor: workers
  worker_timeout: 2s
CONF

write_dag wm <<EOF2
dag_id: wm
tasks:
  - id: a
    command: $FAKE_TASK --sleep 120 --record $TMP/wm.rec --label a
EOF2
write_dag wt <<EOF2
dag_id: wt
dagrun_timeout: 2s
tasks:
  - id: a
    command: $FAKE_TASK --sleep 120 --record $TMP/wt.rec --label a
EOF2

start_scheduler wm wt
"$DAGCTL_BIN" worker >"$TMP/worker.log" 2>&1 &
WORKER_PID=$!
disown "$WORKER_PID"
SCHED_PIDS+=("$WORKER_PID")
wait_for "grep -q 'worker starting' '$TMP/worker.log'" 10
try_of() { sql "SELECT t.state || ' ' || coalesce(t.error, '') FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.dag_id = '$1' AND r.run_id = '$2' AND t.task_id = 'a'"; }

# --- marked success while a worker runs it ---------------------------------------------
dagctl dags unpause wm >/dev/null
trigger wm --run-id m1 >/dev/null
wait_for "[ \"\$(task_state wm m1 a)\" = running ] && grep -q '^start' $TMP/wm.rec" 15
pid=$(awk '$1 == "start" { print $3 }' "$TMP/wm.rec")
proc_alive "$pid" || fail "the worker's try is not running"
dagctl mark wm m1 a --state success >/dev/null
wait_for "! proc_alive $pid" 10
grep -q 'try taken from this worker, stopping it' "$TMP/worker.log" ||
  fail "the worker did not stop the marked try: $(cat "$TMP/worker.log")"
assert_eq "$(wait_run wm m1 10)" success "run m1"
assert_eq "$(task_state wm m1 a)" success "the marked task"
assert_eq "$(try_of wm m1)" "success marked success while it ran: stopped" "the stopped try's record"

# --- its run deleted while a worker runs it ---------------------------------------------
trigger wm --run-id m2 >/dev/null
wait_for "[ \"\$(task_state wm m2 a)\" = running ] && [ \$(grep -c '^start' $TMP/wm.rec) -eq 2 ]" 15
pid=$(awk '$1 == "start" { p = $3 } END { print p }' "$TMP/wm.rec")
proc_alive "$pid" || fail "the worker's second try is not running"
dagctl delete wm m2 >/dev/null
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE run_id = 'm2'")" 0 "the deleted run's rows"
wait_for "! proc_alive $pid" 10

# --- a run past its dagrun_timeout ------------------------------------------------------
dagctl dags unpause wt >/dev/null
trigger wt --run-id t1 >/dev/null
wait_for "[ \"\$(task_state wt t1 a)\" = running ] && grep -q '^start' $TMP/wt.rec" 15
pid=$(awk '$1 == "start" { print $3 }' "$TMP/wt.rec")
assert_eq "$(wait_run wt t1 15)" failed "run t1"
wait_for "! proc_alive $pid" 10
assert_eq "$(task_state wt t1 a)" skipped "the timed out task"
assert_eq "$(try_of wt t1)" "skipped run past its dagrun_timeout: stopped" "the timed out try's record"

# The worker's late ends were refused: the states did not move.
wait_for "[ \$(grep -c 'try taken from this worker, stopping it' '$TMP/worker.log') -ge 3 ]" 5
assert_eq "$(task_state wm m1 a) $(task_state wt t1 a)" "success skipped" "the states at the end"
assert_eq "$(sql "SELECT group_concat(state, ' ') FROM (SELECT state FROM task_claim ORDER BY id)")" \
  "recorded recorded" "the claims"
stop_scheduler
log "ok"
