#!/usr/bin/env bash
# What a task starts in the background (`cmd &`) does not outlive its try:
# when the task's first process exits, what is left of its process group,
# and what left the group (setsid), is stopped (SIGTERM, SIGKILL after
# core.task_kill_grace). Clearing and re-running the task must not leave
# one more process each time.
source "$(dirname "$0")/lib.sh"

write_dag bg <<EOF
dag_id: bg
tasks:
  - id: spawner
    command: |
      sleep 300 & echo \$! > $TMP/\$!.grandchild
      setsid sleep 300 & echo \$! > $TMP/\$!.grandchild
      sh -c 'trap "" TERM; echo \$\$ > $TMP/\$\$.grandchild; exec sleep 300' &
      while [ "\$(ls $TMP | grep -c grandchild)" -lt \$((3 * DAGCTL_TRY_NUMBER)) ]; do
        sleep 0.01
      done
      echo started
EOF
# One file per background process (NNN.grandchild): lib.sh kills them all
# at exit, whatever happens here.
start_scheduler bg
run=$(trigger bg)
assert_eq "$(wait_run bg "$run" 20)" success "run state"
for i in 1 2; do
  dagctl clear bg "$run" >/dev/null
  wait_for "[ \"\$(task_state bg '$run' spawner)\" = success ] &&
            [ \"\$(sql \"SELECT try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
                        WHERE r.run_id = '$run'\")\" = $((i + 1)) ]" 20
done
assert_eq "$(cat "$TMP"/*.grandchild | wc -l)" 9 "background processes started (3 per try)"
alive=""
for pid in $(cat "$TMP"/*.grandchild); do
  proc_alive "$pid" && alive+=" $pid"
done
[ -z "$alive" ] || fail "background processes outlived their tries:$alive"
# The try ended once its leftovers were gone, the stubborn one after the
# grace period, and it kept its own outcome.
assert_eq "$(task_state bg "$run" spawner)" success "task state"
