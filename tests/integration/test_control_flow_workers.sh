#!/usr/bin/env bash
# XCom, branch and short_circuit with core.executor: workers: the worker
# reads a try's $DAGCTL_XCOM file and last line and stores the values with
# the try's end; the scheduler decides the branch from them. A bad file
# fails the try as on the scheduler.
. "$(dirname "$0")/lib.sh"

cat >>"$DAGCTL_HOME/dagctl.yaml" <<CONF
  executor: workers
CONF
export DAGCTL_DAGS=$TMP/dags
mkdir -p "$DAGCTL_DAGS"

write_dag wflow <<'YAML'
dag_id: wflow
default_args:
  retries: 0
tasks:
  - id: extract
    command: |
      echo "target=right" > "$DAGCTL_XCOM"
      echo done extracting
    xcom_push: last_line
  - id: pick
    upstream: extract
    command: echo {{ ti.xcom_pull('extract', key='target') }}
    xcom_push: last_line
    branch: true
  - {id: left, upstream: pick, command: "true"}
  - {id: right, upstream: pick, command: "true"}
  - id: gate
    upstream: [left, right]
    trigger_rule: none_failed_min_one_success
    command: |
      echo '{"return_value": false}' > "$DAGCTL_XCOM"
    short_circuit: true
  - {id: after_gate, upstream: gate, command: "true"}
  - id: badfile
    command: echo 'no pair here' > "$DAGCTL_XCOM"
YAML

start_scheduler wflow
"$DAGCTL_BIN" worker >"$TMP/worker.log" 2>&1 &
WORKER_PID=$!
disown "$WORKER_PID"
SCHED_PIDS+=("$WORKER_PID")
wait_for "grep -q 'worker starting' '$TMP/worker.log'" 10
dagctl dags unpause wflow >/dev/null
run=$(trigger wflow)
assert_eq "$(wait_run wflow "$run" 60)" failed "the run (badfile fails)"
for t in extract pick right gate; do assert_eq "$(task_state wflow "$run" $t)" success "$t"; done
for t in left after_gate; do assert_eq "$(task_state wflow "$run" $t)" skipped "$t"; done
assert_eq "$(task_state wflow "$run" badfile)" failed "badfile"
xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.run_id = '$run' AND x.task_id = '$1' AND x.key = '$2'"
}
assert_eq "$(xcom extract target)" '"right"' "extract.target"
assert_eq "$(xcom extract return_value)" '"done extracting"' "extract.return_value"
assert_eq "$(xcom pick return_value)" '"right"' "pick.return_value"
assert_eq "$(xcom gate return_value)" 'false' "gate.return_value"
assert_eq "$(sql "SELECT t.error FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$run' AND t.task_id = 'badfile'")" \
  "XCom file (\$DAGCTL_XCOM): line 1: expected key=value (or one JSON object for the whole file)" \
  "badfile's error"
assert_eq "$(sql "SELECT count(*) FROM task_claim c JOIN dag_run r ON r.id = c.run_pk
                  WHERE r.run_id = '$run'")" 5 "tries run by the worker"
stop_scheduler
