#!/usr/bin/env bash
# A worker reports the tries that end together in one batch (one
# transaction, one statement for their ends). Three tries end while their
# worker is stopped, one of them taken back from it meanwhile, as the
# scheduler takes back a silent worker's tries: when the worker goes on,
# the three ends are one batch, only the taken-back one is refused (and
# logged), the other two are recorded, and the taken-back task runs again
# and the run succeeds.
. "$(dirname "$0")/lib.sh"
need flock

cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  executor: workers
  worker_timeout: 30s
EOF

# gate.sh: a task that waits for $TMP/gate, then traces its end.
cat >"$TMP/gate.sh" <<EOF
#!/bin/sh
echo "start \$DAGCTL_TASK_ID \$DAGCTL_TRY_NUMBER" >>"$TMP/trace"
while [ ! -e "$TMP/gate" ]; do sleep 0.05; done
echo "end \$DAGCTL_TASK_ID \$DAGCTL_TRY_NUMBER" >>"$TMP/trace"
EOF
chmod +x "$TMP/gate.sh"
touch "$TMP/trace"

write_dag batch <<EOF
dag_id: batch
tasks:
  - {id: a, command: $TMP/gate.sh}
  - {id: b, command: $TMP/gate.sh, retries: 1, retry_delay: 0s}
  - {id: c, command: $TMP/gate.sh}
EOF
start_scheduler batch
"$DAGCTL_BIN" worker --concurrency 3 >"$TMP/worker.log" 2>&1 &
wpid=$!
disown "$wpid"
SCHED_PIDS+=("$wpid")
wait_for "grep -q 'worker starting' '$TMP/worker.log'" 10
dagctl dags unpause batch >/dev/null
run=$(trigger batch)
wait_for "[ \"\$(grep -c '^start . 1' '$TMP/trace')\" = 3 ]" 15

# The worker stops; b's claim is taken back as the scheduler takes back a
# silent worker's (store_workers.c, dag_store_reap_workers()); the three
# tries end. Its heartbeat would see the claim gone and stop b: it is
# stopped, and the tries end first.
kill -STOP "$wpid"
sql "UPDATE task_claim SET state = 'done', token = NULL, exit_status = -1, term_signal = 0,
       timed_out = 0, ended_at = 1,
       lost = 'its worker ' || worker_id || ' stopped heartbeating (core.worker_timeout)'
     WHERE task_id = 'b' AND try_number = 1 AND state = 'running'"
touch "$TMP/gate"
wait_for "[ \"\$(grep -c '^end . 1' '$TMP/trace')\" = 3 ]" 10
kill -CONT "$wpid"

wait_for "grep -q 'late result refused' '$TMP/worker.log'" 10
assert_eq "$(grep -c 'late result refused' "$TMP/worker.log")" 1 "refused results"
grep 'late result refused' "$TMP/worker.log" | grep -q 'task=b try=1 .*batch=3' ||
  fail "the refused result is not b's first try's, in a batch of three: $(grep 'late result refused' "$TMP/worker.log")"
assert_eq "$(wait_run batch "$run" 20)" success "the run"
assert_eq "$(sql "SELECT group_concat(ti.task_id || ' ' || ti.state || ' ' || ti.try_number, ', ')
                  FROM (SELECT * FROM task_instance ORDER BY task_id) ti
                  JOIN dag_run r ON r.id = ti.run_pk WHERE r.run_id = '$run'")" \
  "a success 1, b success 2, c success 1" "the task instances"
# b's first try keeps the taken-back outcome; a's and c's, the worker's.
assert_eq "$(sql "SELECT group_concat(c.task_id || c.try_number || ':' || c.exit_status || ':' ||
                    (c.lost IS NOT NULL), ' ')
                  FROM (SELECT * FROM task_claim ORDER BY task_id, try_number) c
                  JOIN dag_run r ON r.id = c.run_pk WHERE r.run_id = '$run'")" \
  "a1:0:0 b1:-1:1 b2:0:0 c1:0:0" "the claims' outcomes"
dagctl logs batch "$run" b --try 1 | grep -q 'result refused' ||
  fail "b's first try's log does not say its result was refused"
