#!/usr/bin/env bash
# Wake-ups on PostgreSQL (LISTEN/NOTIFY): a scheduler and a worker, each in
# a home of its own (so no wake-up file joins them), whose looks at the
# database are an hour apart (core.state_poll_interval): a run of three
# chained tasks finishes only if the worker hears of each queued try, and
# the scheduler of each ended one, from the database's notifications.
# After PostgreSQL restarts, both listen again and the next run finishes
# the same way. A task of a queue no worker serves waits: the scheduler
# says so once in its log, the API shows it queued with the reason, and a
# worker of that queue started later runs it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

start_pg
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"
export DAGCTL__CORE__EXECUTOR=workers
export DAGCTL__CORE__STATE_POLL_INTERVAL=1h
export DAGCTL__CORE__WORKER_TIMEOUT=2s
pg() { psql_as postgres dagctl "$1"; }

write_dag chain <<EOF
dag_id: chain
tasks:
  - {id: a, command: "true"}
  - {id: b, command: "true", upstream: [a]}
  - {id: c, command: "true", upstream: [b]}
EOF

# start NAME VERB...: dagctl VERB with home $TMP/NAME, log $TMP/scheduler.NAME.log.
start() {
  local name=$1
  shift
  mkdir -p "$TMP/$name"
  cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/$name/"
  DAGCTL_HOME="$TMP/$name" "$DAGCTL_BIN" "$@" >"$TMP/scheduler.$name.log" 2>&1 &
  SCHED_PIDS+=("$!")
  disown "$!"
}
listening() { grep -c 'listening for wake-ups from the state store' "$TMP/scheduler.$1.log"; }

start s scheduler --port 0
start w worker --concurrency 2
wait_for "[ \$(listening s) -ge 1 ] && [ \$(listening w) -ge 1 ]" 20
wait_for "dagctl dags list --json | grep -q '\"chain\"'" 20
dagctl dags unpause chain >/dev/null

run_ok() {
  wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$1'\")\" = success ]" 30
  assert_eq "$(pg "SELECT count(*) FROM task_claim c JOIN dag_run r ON r.id = c.run_pk
                   WHERE r.run_id = '$1' AND c.worker_id IS NOT NULL")" 3 "$1: tries run by the worker"
}
run_ok "$(dagctl trigger chain --run-id r1)"
for p in s w; do
  if grep -q 'not listening for wake-ups' "$TMP/scheduler.$p.log"; then
    fail "$p stopped listening during r1"
  fi
done

_as_pg "${PG_BIN}pg_ctl" -D "$PG_DIR/data" -m fast -w restart >/dev/null || fail "pg_ctl restart"
wait_for "grep -q 'not listening for wake-ups' '$TMP/scheduler.w.log'" 20
wait_for "[ \$(listening s) -ge 2 ] && [ \$(listening w) -ge 2 ]" 30
run_ok "$(dagctl trigger chain --run-id r2)"

# --- a queue no worker serves ------------------------------------------------------
write_dag gpu <<EOF
dag_id: gpu
tasks:
  - {id: t, command: "true", queue: gpu}
EOF
wait_for "dagctl dags list --json | grep -q '\"gpu\"'" 20
dagctl dags unpause gpu >/dev/null
dagctl trigger gpu --run-id g1 >/dev/null
wait_for "grep -q 'task waits for a worker that none is.*dag=gpu run=g1 task=t try=1 queue=gpu type=shell' '$TMP/scheduler.s.log'" 30
web=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/scheduler.s.log" | tail -n 1)
ti() { curl -sf "${web%/}/api/v1/dags/gpu/dagRuns/g1/taskInstances/t" | pyjson "$1"; }
assert_eq "$(ti 'd["state"]')" queued "the waiting task's state"
ti 'd["error"]' | grep -qF "no live worker serves queue 'gpu' with task type 'shell'" ||
  fail "the waiting task's reason: $(ti 'd["error"]')"
start g worker --queues gpu
wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = 'g1'\")\" = success ]" 30
assert_eq "$(ti 'd["error"]')" null "the reason once a worker ran it"
assert_eq "$(grep -c 'task waits for a worker that none is' "$TMP/scheduler.s.log")" 1 \
  "warnings about the waiting task"
log "ok"
