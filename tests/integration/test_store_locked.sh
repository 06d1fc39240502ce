#!/usr/bin/env bash
# Another process holding the database's write lock for 25 s (an outside
# BEGIN IMMEDIATE) is a wait: the scheduler's loop and its status page keep
# going, the ends of tasks that finish meanwhile are recorded once the lock
# is gone, and the run completes with every task run exactly once. A task
# due to start meanwhile (a retry) starts only once its try can be
# recorded: never a process the database does not know about.
. "$(dirname "$0")/lib.sh"

# Task a ends only when the test writes to this fifo, once the lock is held:
# its end must fall inside the lock however slow the machine is.
mkfifo "$TMP/a.go"
write_dag held <<EOF2
dag_id: held
tasks:
  - id: a
    command: cat $TMP/a.go >/dev/null && $FAKE_TASK --record $TMP/held.rec
  - id: b
    upstream: a
    command: $FAKE_TASK --record $TMP/held.rec
  - id: c
    upstream: b
    command: $FAKE_TASK --record $TMP/held.rec
EOF2
write_dag retry <<EOF2
dag_id: retry
tasks:
  - id: x
    command: test "\$DAGCTL_TRY_NUMBER" -gt 1 && $FAKE_TASK --record $TMP/retry.rec --label x
    retries: 1
    retry_delay: 2s
EOF2
start_scheduler held retry
[ -n "$SCHED_URL" ] || fail "the scheduler has no status page"

rrun=$(trigger retry)
wait_for "[ \"\$(task_state retry '$rrun' x)\" = up_for_retry ]" 10
run=$(trigger held)
wait_for "[ \"\$(task_state held '$run' a)\" = running ]" 10

# Hold the write lock for 25 s from another process.
"$PYTHON" - "$DAGCTL_HOME/dagctl.db" "$TMP/locked" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(25)
db.execute("COMMIT")
with open(sys.argv[2] + ".released", "w") as f:
    f.write("%d\n" % int(time.time() * 1e6))
PY
holder=$!
wait_for "[ -e '$TMP/locked' ]" 10

# Task a ends while the lock is held; its end waits to be recorded.
echo go >"$TMP/a.go"
wait_for "[ \"\$(rec_count '$TMP/held.rec' end a)\" = 1 ]" 10
# The page answers meanwhile (the loop is not blocked), from the database.
for i in 1 2 3; do
  curl -sf --max-time 3 "${SCHED_URL}api/v1/dags" | grep -q '"held"' ||
    fail "the status page did not answer while the database was locked (request $i)"
done
proc_alive "$SCHED_PID" || fail "the scheduler exited while the database was locked"
assert_eq "$(run_state held "$run")" running "run state while the lock is held"
assert_eq "$(rec_count "$TMP/held.rec" start b)" 0 "starts of b while a's end is unrecorded"

wait "$holder"
released=$(cat "$TMP/locked.released")
assert_eq "$(wait_run held "$run" 20)" success "run state after the lock is gone"
assert_eq "$(wait_run retry "$rrun" 20)" success "retried run after the lock is gone"
assert_eq "$(rec_count "$TMP/retry.rec" start x)" 1 "starts of x"
xstart=$(awk '$1 == "start" { print $2 }' "$TMP/retry.rec")
[ "$xstart" -gt "$released" ] ||
  fail "the retry of x started at $xstart, before the lock was released at $released"
assert_eq "$(sql "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$rrun' AND t.try_number = 2 AND t.pid > 0")" 1 \
  "the retry's pid is recorded"
for t in a b c; do
  assert_eq "$(rec_count "$TMP/held.rec" start $t)" 1 "starts of $t"
  assert_eq "$(sql "SELECT try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
                    WHERE r.run_id = '$run' AND ti.task_id = '$t'")" 1 "tries of $t"
done
proc_alive "$SCHED_PID" || fail "the scheduler exited"
assert_eq "$(grep -c 'state store is locked' "$SCHED_LOG")" 1 "the wait is logged once"
grep -q 'state store is free again' "$SCHED_LOG" || fail "the end of the wait is not logged"
stop_scheduler
