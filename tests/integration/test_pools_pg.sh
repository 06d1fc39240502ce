#!/usr/bin/env bash
# Pools across schedulers on PostgreSQL: two schedulers and a worker of 6
# slots on one database, three runs of a DAG whose 4 tasks all take the
# one slot of pool `one`, and a second DAG in that pool too. Whichever
# scheduler drives a run, no two tries of the pool ever overlap (each task
# records its start and end: the trace is checked for overlaps), every task
# runs once, and the pool is free again at the end.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
[ -x "$FAKE_TASK" ] || fail "FAKE_TASK is not built"

start_pg
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"
export DAGCTL__CORE__EXECUTOR=workers
pg() { psql_as postgres dagctl "$1"; }

REC=$TMP/trace
task() { echo "  - {id: $1, command: \"$FAKE_TASK --sleep 0.2 --record $REC --label $2\"}"; }
{
  printf 'dag_id: inpool\ndefault_args:\n  pool: one\ntasks:\n'
  for t in a b c d; do task "$t" "inpool.$t"; done
} | write_dag inpool
{
  printf 'dag_id: alsoinpool\ndefault_args:\n  pool: one\ntasks:\n'
  for t in x y; do task "$t" "also.$t"; done
} | write_dag alsoinpool

start() {
  local name=$1
  shift
  mkdir -p "$TMP/$name"
  cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/$name/"
  DAGCTL_HOME="$TMP/$name" "$DAGCTL_BIN" "$@" >"$TMP/scheduler.$name.log" 2>&1 &
  SCHED_PIDS+=("$!")
  disown "$!"
}
dagctl pools set one 1 >/dev/null
start s1 scheduler --port 0
start s2 scheduler --port 0
start w worker --concurrency 6
wait_for "dagctl dags list --json | grep -q '\"alsoinpool\"'" 20
wait_for "grep -q 'worker starting' '$TMP/scheduler.w.log'" 20
dagctl dags unpause inpool >/dev/null
dagctl dags unpause alsoinpool >/dev/null
for r in r1 r2 r3; do dagctl trigger inpool --run-id "$r" >/dev/null; done
dagctl trigger alsoinpool --run-id r4 >/dev/null
for r in r1 r2 r3 r4; do
  wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$r'\")\" = success ]" 90
done

assert_eq "$(grep -c '^start ' "$REC")" 14 "tries started (each task once)"
assert_eq "$(grep -c '^end ' "$REC")" 14 "tries ended"
# At most one try of the pool at a time: walk the events in time order.
most=$(awk '$1 == "start" || $1 == "end" { print $2, ($1 == "start" ? 1 : -1) }' "$REC" |
  sort -n -k1,1 -k2,2n | awk '{ n += $2; if (n > m) m = n } END { print m }')
assert_eq "$most" 1 "tries of pool one running at once"
drivers=$(pg "SELECT count(DISTINCT scheduler_id) FROM dag_run WHERE scheduler_id IS NOT NULL")
log "runs driven by $drivers scheduler(s)"
assert_eq "$(dagctl pools get one --json | pyjson '[d["running_slots"], d["queued_slots"], d["open_slots"]]' | tr '\n' ' ')" \
  "0 0 1 " "pool one at the end"
log "ok"
