#!/usr/bin/env bash
# `dagctl test` ends, and reports the run's outcome, when its last task
# cannot start (a missing program, a missing cwd) and when a single task
# tested on its own fails though it has downstream tasks.
. "$(dirname "$0")/lib.sh"

write_dag noprog <<EOF2
dag_id: noprog
tasks:
  - id: first
    command: $FAKE_TASK
  - id: last
    upstream: first
    argv: [no-such-program-dagctl]
EOF2
write_dag nocwd <<EOF2
dag_id: nocwd
tasks:
  - id: only
    command: $FAKE_TASK
    cwd: $TMP/no/such/folder
EOF2
write_dag single <<EOF2
dag_id: single
tasks:
  - id: boom
    command: $FAKE_TASK --exit 3
  - id: after
    upstream: boom
    command: $FAKE_TASK
EOF2

# test_exit DAG [TASK]: the exit status of `dagctl test`, which must end by
# itself (a hang is a failure, not a wait).
test_exit() {
  local rc=0
  timeout 20 "$DAGCTL_BIN" test "$@" --quiet >"$TMP/test.out" 2>"$TMP/test.err" || rc=$?
  [ "$rc" -ne 124 ] || fail "dagctl test $* did not exit: $(tail -n 5 "$TMP/test.err")"
  echo "$rc"
}

assert_eq "$(test_exit noprog)" 1 "dagctl test with a last task whose program is missing"
run=$(head -n 1 "$TMP/test.out")
assert_eq "$(run_state noprog "$run")" failed "run with a missing program"
assert_eq "$(task_state noprog "$run" last)" failed "task with a missing program"

assert_eq "$(test_exit nocwd)" 1 "dagctl test with a missing cwd"
run=$(head -n 1 "$TMP/test.out")
assert_eq "$(run_state nocwd "$run")" failed "run with a missing cwd"

# One task tested alone: the run's outcome is that task's.
assert_eq "$(test_exit single boom)" 1 "dagctl test of a failing task with downstream tasks"
run=$(head -n 1 "$TMP/test.out")
assert_eq "$(run_state single "$run")" failed "single-task run of a failing task"
assert_eq "$(test_exit single after)" 0 "dagctl test of a succeeding task"
run=$(head -n 1 "$TMP/test.out")
assert_eq "$(run_state single "$run")" success "single-task run of a succeeding task"
