#!/usr/bin/env bash
# `dagctl logs --follow`: a running try's log is printed as it grows (each
# line released by a fifo this test writes), the follow keeps going across a
# scheduler crash and restart (the try is adopted by the new scheduler), and
# exits when the try ends with a status that says how: 0 success, 1 failed.
# A finished try's log is printed whole at once, with its status.
. "$(dirname "$0")/lib.sh"

for g in gate1 gate2 gate3; do mkfifo "$TMP/$g"; done
write_dag follow_ok <<EOF
dag_id: follow_ok
tasks:
  - id: talker
    command: 'echo line-1; read x < $TMP/gate1; echo line-2; read x < $TMP/gate2; echo line-3'
EOF
write_dag follow_bad <<EOF
dag_id: follow_bad
tasks:
  - id: failer
    command: 'echo begin; read x < $TMP/gate3; echo end; exit 3'
EOF
start_scheduler follow_ok follow_bad

log_has() { grep -qx -- "$2" "$1" 2>/dev/null; }
FOLLOW_PIDS=()
# follow DAG RUN TASK OUT: `logs --follow` in the background; sets FPID.
follow() {
  "$DAGCTL_BIN" logs "$1" "$2" "$3" --follow >"$4" 2>"$4.err" &
  FPID=$!
  FOLLOW_PIDS+=("$FPID")
}
# The followers too go on exit (lib.sh's cleanup keeps the exit status).
trap '_rc=$?; for p in "${FOLLOW_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; (exit $_rc); cleanup' EXIT

run=$(trigger follow_ok)
wait_for "[ \"\$(task_state follow_ok '$run' talker)\" = running ]" 10
follow follow_ok "$run" talker "$TMP/f1"
# What the log already holds comes first...
wait_for "log_has $TMP/f1 line-1" 10
# ...then each line as the task writes it.
! log_has "$TMP/f1" line-2 || fail "line-2 before its gate opened"
echo go >"$TMP/gate1"
wait_for "log_has $TMP/f1 line-2" 10
proc_alive "$FPID" || fail "the follow ended while the try runs: $(cat "$TMP/f1.err")"

# The scheduler dies; the try lives on under its supervisor, and the next
# scheduler adopts it. The follow watches the store and the file, not a
# scheduler, so it goes on.
crash_scheduler
start_scheduler follow_ok follow_bad
wait_for "grep -q 'adopted a task still running' '$SCHED_LOG'" 10
proc_alive "$FPID" || fail "the follow ended with the scheduler: $(cat "$TMP/f1.err")"
echo go >"$TMP/gate2"
rc=0
wait "$FPID" || rc=$?
assert_eq "$rc" 0 "exit status of following a try that succeeded"
log_has "$TMP/f1" line-3 || fail "line-3 missing: $(cat "$TMP/f1")"
grep -qx "dagctl: try 1 of talker ended: success" "$TMP/f1.err" || fail "end message: $(cat "$TMP/f1.err")"
# Exactly the log, once: the follow repeated nothing.
cmp -s "$TMP/f1" "$DAGCTL_HOME/logs/follow_ok/$run/talker/1.log" ||
  fail "followed output differs from the log: $(diff "$TMP/f1" "$DAGCTL_HOME/logs/follow_ok/$run/talker/1.log")"

# A try that fails: exit 1.
brun=$(trigger follow_bad)
wait_for "[ \"\$(task_state follow_bad '$brun' failer)\" = running ]" 10
follow follow_bad "$brun" failer "$TMP/f2"
wait_for "log_has $TMP/f2 begin" 10
echo go >"$TMP/gate3"
rc=0
wait "$FPID" || rc=$?
assert_eq "$rc" 1 "exit status of following a try that failed"
log_has "$TMP/f2" end || fail "the last line of the failed try: $(cat "$TMP/f2")"
grep -qx "dagctl: try 1 of failer ended: failed" "$TMP/f2.err" || fail "end message: $(cat "$TMP/f2.err")"

# A finished try: the whole log at once, and its status.
rc=0
dagctl logs follow_bad "$brun" failer -f >"$TMP/f3" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "follow of a finished failed try"
cmp -s "$TMP/f3" "$TMP/f2" || fail "finished try's log: $(cat "$TMP/f3")"
rc=0
dagctl logs follow_ok "$run" talker --follow --json >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "--follow with --json"
grep -q -- "--follow prints the log as it grows" "$TMP/err" || fail "--follow --json: $(cat "$TMP/err")"
log "ok"
