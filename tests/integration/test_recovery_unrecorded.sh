#!/usr/bin/env bash
# A crash between spawning a task and recording its pid leaves a process the
# database does not know about. The restarted scheduler must find it (by the
# DAGCTL_TRY_ID in its environment: its home's id, run pk, try, task), stop
# it, and only then run the task: never two copies of one task at a time.
source "$(dirname "$0")/lib.sh"

write_dag one <<EOF2
dag_id: one
tasks:
  - id: work
    command: echo ran >> "$TMP/ran.txt"
EOF2

run=$(trigger one 2>/dev/null)
pk=$(sql "SELECT id FROM dag_run WHERE run_id = '$run'")
# What the crash leaves: the task decided and its try spawned, unrecorded.
sql "UPDATE task_instance SET state = 'scheduled' WHERE run_pk = $pk;
     UPDATE dag_run SET state = 'running' WHERE id = $pk"
home_id=$(sql "SELECT id FROM home")
setsid env DAGCTL_TRY_ID="$home_id:$pk:1:work" sleep 300 &
orphan=$!
# Until `env` has exec'd, the process still shows the shell's environment.
wait_for "tr '\\0' '\\n' < /proc/$orphan/environ | grep -qx 'DAGCTL_TRY_ID=$home_id:$pk:1:work'" 5

start_scheduler one
state=$(wait_run one "$run" 20)
assert_eq "$state" success "run state"
proc_alive "$orphan" && { kill -9 "$orphan"; fail "the unrecorded process $orphan is still alive"; }
grep -q 'stopped an unrecorded task process' "$SCHED_LOG" || fail "no recovery message in the log"
assert_eq "$(wc -l < "$TMP/ran.txt")" 1 "executions of the task"
assert_eq "$(sql "SELECT try_number FROM task_instance WHERE run_pk = $pk")" 1 \
  "tries recorded (the unrecorded one never counted)"
