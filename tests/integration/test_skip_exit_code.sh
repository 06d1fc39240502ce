#!/usr/bin/env bash
# skip_on_exit_code, as Airflow's BashOperator: a shell or exec task that
# exits 99 (or a code of its own list) ends skipped, not failed, and its
# downstream tasks follow their trigger rules: all_success is skipped,
# none_failed runs. A code off the list still fails the task.
. "$(dirname "$0")/lib.sh"
export DAGCTL_DAGS=$TMP/dags

write_dag skips <<'YAML'
dag_id: skips
tasks:
  - id: quit99
    command: exit 99
  - id: after_all_success
    command: echo ran
    upstream: [quit99]
  - id: after_none_failed
    command: echo ran
    upstream: [quit99]
    trigger_rule: none_failed
  - id: exec_listed
    argv: [sh, -c, "exit 3"]
    skip_on_exit_code: [3, 4]
  - id: off
    command: exit 99
    skip_on_exit_code: null
YAML

rc=0
run=$(dagctl test skips --quiet) || rc=$?
[ "$rc" -eq 1 ] || fail "dagctl test exited $rc, expected 1 (the task 'off' fails)"
assert_eq "$(task_state skips "$run" quit99)" skipped "quit99"
assert_eq "$(task_state skips "$run" after_all_success)" skipped "after_all_success"
assert_eq "$(task_state skips "$run" after_none_failed)" success "after_none_failed"
assert_eq "$(task_state skips "$run" exec_listed)" skipped "exec_listed"
assert_eq "$(task_state skips "$run" off)" failed "off (skip_on_exit_code: null)"

# A code that is not an exit code is a located load error.
mkdir -p "$TMP/bad"
cat >"$TMP/bad/bad.yaml" <<'YAML'
dag_id: bad
tasks:
  - id: a
    command: exit 1
    skip_on_exit_code: [99, 256]
  - id: b
    command: exit 1
    skip_on_exit_codes: 99
YAML
rc=0
dagctl validate "$TMP/bad/bad.yaml" >"$TMP/v.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "dagctl validate accepted exit code 256"
grep -qxF "$TMP/bad/bad.yaml:5:29: tasks[0].skip_on_exit_code[1]: expected an exit code (0 to 255), got '256'" "$TMP/v.out" ||
  fail "no located error for exit code 256: $(cat "$TMP/v.out")"
grep -qF "$TMP/bad/bad.yaml:8:5: tasks[1].skip_on_exit_codes: unknown key 'skip_on_exit_codes' (did you mean 'skip_on_exit_code'?)" "$TMP/v.out" ||
  fail "no did-you-mean for skip_on_exit_codes: $(cat "$TMP/v.out")"
