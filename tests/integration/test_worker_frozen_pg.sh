#!/usr/bin/env bash
# A worker that falls silent inside a transaction on PostgreSQL (frozen, or
# its link cut, between a heartbeat's statements) leaves its session open
# with its row locks held: the worker's row and its claim's. The server sees
# no end of the connection for hours; the scheduler must still take the try
# back after core.worker_timeout and run it on another worker. The test
# catches the worker's heartbeat waiting on a claim row it holds locked,
# stops the worker (SIGSTOP) there, then lets the heartbeat's statement
# finish: the frozen worker's session is idle in its transaction, holding
# the locks, and the try must run again elsewhere.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

start_pg
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"
export DAGCTL__CORE__EXECUTOR=workers
export DAGCTL__CORE__WORKER_TIMEOUT=2s
pg() { psql_as postgres dagctl "$1"; }

write_dag frozen <<EOF
dag_id: frozen
tasks:
  - {id: long, command: "sh -c 'echo \"start \$DAGCTL_TRY_NUMBER\" >>$TMP/trace; sleep 6'", retries: 1, retry_delay: 0s}
EOF
touch "$TMP/trace"
start_scheduler frozen
dagctl dags unpause frozen >/dev/null

# start_worker NAME: a worker with a home of its own; its pid in WPID[NAME].
declare -A WPID
start_worker() {
  mkdir -p "$TMP/$1"
  cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/$1/"
  DAGCTL_HOME=$TMP/$1 "$DAGCTL_BIN" worker --concurrency 2 >"$TMP/worker.$1.log" 2>&1 &
  WPID[$1]=$!
  SCHED_PIDS+=("$!")
  disown "$!"
}
start_worker w1
wait_for "[ \"\$(pg \"SELECT count(*) FROM worker WHERE state = 'active'\")\" = 1 ]" 20
run=$(trigger frozen)
wait_for "grep -q '^start 1' '$TMP/trace'" 20
claim=$(pg "SELECT id FROM task_claim WHERE task_id = 'long' AND try_number = 1")
# The second worker only now: try 1 is w1's.
start_worker w2
wait_for "[ \"\$(pg \"SELECT count(*) FROM worker WHERE state = 'active'\")\" = 2 ]" 20

# Hold the claim's row locked: w1's next heartbeat waits on it, inside its
# transaction (having updated its worker row). Caught waiting, w1 is
# stopped, and the lock let go: its statement ends, the session stays in
# the transaction with both rows locked and its client silent.
coproc LOCKER { psql -X -A -t -q -h "$PG_DIR" -U postgres -d dagctl 2>&1; }
SCHED_PIDS+=("$LOCKER_PID")
echo "BEGIN; SELECT id FROM task_claim WHERE id = $claim FOR UPDATE;" >&"${LOCKER[1]}"
read -r -t 10 locked <&"${LOCKER[0]}" || fail "the claim row was not locked"
assert_eq "$locked" "$claim" "the claim row locked"
# The locking session itself awaits the waiter: no client round trip
# between its appearance and the stop, as a heartbeat waits at most 1 s
# (the worker's lock timeout).
echo "DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity
      WHERE wait_event_type = 'Lock') LOOP PERFORM pg_sleep(0.01); END LOOP; END \$\$;
      SELECT 'waiting';" >&"${LOCKER[1]}"
read -r -t 15 seen <&"${LOCKER[0]}" || fail "w1's heartbeat never waited on the claim row"
assert_eq "$seen" waiting "the locking session's word"
kill -STOP "${WPID[w1]}"
echo "COMMIT;" >&"${LOCKER[1]}"
exec {LOCKER[1]}>&-
held="SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'
      AND backend_xid IS NOT NULL"
# Not seen: w1's lock wait ended before the stop (a setup failure).
wait_for "[ \"\$(pg \"$held\")\" -ge 1 ]" 5
log "w1 stopped inside its heartbeat's transaction"
t0=$(now_us)
wait_for "grep -q '^start 2' '$TMP/trace'" 20
log "its try ran again $(us_to_s "$t0" "$(now_us)")s later"
assert_eq "$(pg "SELECT w.state FROM worker w JOIN task_claim c ON c.worker_id = w.id
                 WHERE c.id = $claim")" gone "the frozen worker's state"
kill -CONT "${WPID[w1]}"
wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$run'\")\" = success ]" 30
assert_eq "$(pg "SELECT state || ' ' || try_number FROM task_instance WHERE task_id = 'long'")" \
  "success 2" "the task's second try's result"
log ok
