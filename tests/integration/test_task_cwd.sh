#!/usr/bin/env bash
# A task whose working folder (`cwd`) is missing fails its try with a reason
# that names the folder, not the program: "cannot start /bin/sh: no such
# file or directory" sent people looking for a missing shell.
source "$(dirname "$0")/lib.sh"

write_dag nocwd <<EOF
dag_id: nocwd
tasks:
  - id: lost
    cwd: $TMP/no/such/folder
    command: echo never
  - id: file
    cwd: $DAGCTL_HOME/dagctl.yaml
    command: echo never
EOF
start_scheduler nocwd
run=$(trigger nocwd)
assert_eq "$(wait_run nocwd "$run" 20)" failed "run state"
error() {
  sql "SELECT t.error FROM task_try t JOIN dag_run r ON r.id = t.run_pk
       WHERE r.run_id = '$run' AND t.task_id = '$1'"
}
assert_eq "$(error lost)" "working folder $TMP/no/such/folder does not exist (cwd)" "missing cwd"
assert_eq "$(error file)" "working folder $DAGCTL_HOME/dagctl.yaml is not a folder (cwd)" \
  "cwd naming a file"
dagctl logs nocwd "$run" lost | grep -qF "working folder $TMP/no/such/folder does not exist" ||
  fail "the try's log does not say why it failed"
