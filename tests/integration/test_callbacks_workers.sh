#!/usr/bin/env bash
# Callbacks with core.executor: workers: the worker runs the tries, the
# scheduler that records their ends runs the callbacks (the worker none),
# each once; on_execute when the try is queued.
. "$(dirname "$0")/lib.sh"

cat >>"$DAGCTL_HOME/dagctl.yaml" <<CONF
  executor: workers
CONF

write_dag wcb <<EOF2
dag_id: wcb
on_failure: echo "run \$DAGCTL_RUN_ID \$DAGCTL_REASON pid=\$PPID" >>$TMP/calls
default_args:
  on_execute: echo "execute \$DAGCTL_TASK_ID \$DAGCTL_TRY_NUMBER" >>$TMP/calls
  on_success: echo "success \$DAGCTL_TASK_ID" >>$TMP/calls
  on_retry: echo "retry \$DAGCTL_TASK_ID \$DAGCTL_TRY_NUMBER \$DAGCTL_EXCEPTION" >>$TMP/calls
  on_failure_callback: echo "failure \$DAGCTL_TASK_ID \$DAGCTL_TRY_NUMBER" >>$TMP/calls
tasks:
  - {id: ok, command: "true"}
  - {id: bad, command: "exit 2", retries: 1, retry_delay: 0s}
EOF2

start_scheduler wcb
"$DAGCTL_BIN" worker >"$TMP/worker.log" 2>&1 &
WORKER_PID=$!
disown "$WORKER_PID"
SCHED_PIDS+=("$WORKER_PID")
wait_for "grep -q 'worker starting' '$TMP/worker.log'" 10
dagctl dags unpause wcb >/dev/null
trigger wcb --run-id r1 >/dev/null
assert_eq "$(wait_run wcb r1 60)" failed "the run"
assert_eq "$(task_state wcb r1 ok) $(task_state wcb r1 bad)" "success failed" "the states"
assert_eq "$(sql "SELECT count(*) FROM task_claim c JOIN dag_run r ON r.id = c.run_pk
                  WHERE r.run_id = 'r1'")" 3 "tries run by the worker"
wait_for "grep -q '^run r1 task_failure' $TMP/calls" 10
wait_for "[ \$(wc -l <$TMP/calls) -ge 7 ]" 10
assert_eq "$(grep -v '^run' "$TMP/calls" | sort | paste -sd'|')" \
  "execute bad 1|execute bad 2|execute ok 1|failure bad 2|retry bad 1 exited with status 2|success ok" \
  "the task callbacks, once each"
assert_eq "$(grep -c '^run' "$TMP/calls")" 1 "the run's callbacks"
# Run by the scheduler (its child), not by the worker.
grep -q "^run r1 task_failure pid=$SCHED_PID\$" "$TMP/calls" ||
  fail "the run's callback's parent: $(grep '^run' "$TMP/calls") (scheduler $SCHED_PID, worker $WORKER_PID)"
if grep -E 'callback (done|failed|timed out|could not|not run)' "$TMP/worker.log"; then
  fail "the worker ran callbacks"
fi
grep -q 'callback done on_success dag=wcb run=r1 task=ok' "$SCHED_LOG" ||
  fail "the scheduler did not run ok's on_success"
grep -q '\[dagctl\] on_success callback exited with status 0' "$DAGCTL_HOME/logs/wcb/r1/ok/1.log" ||
  fail "ok's log: $(cat "$DAGCTL_HOME/logs/wcb/r1/ok/1.log")"
stop_scheduler
log "ok"
