#!/usr/bin/env bash
# A task starts with standard input, output and error and nothing else: none
# of the scheduler's own descriptors (its database, its listening socket, the
# embedded Kafka cluster's pipes and sockets, which librdkafka opens without
# close-on-exec) may leak into it.
source "$(dirname "$0")/lib.sh"

plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $plugins
EOF
# Loading a DAG with a plugin task starts the embedded Kafka cluster.
write_dag plug <<EOF
dag_id: plug
tasks:
  - id: echo
    type: test_echo
EOF
write_dag fds <<EOF
dag_id: fds
tasks:
  - id: shell
    command: ls /proc/\$\$/fd
EOF
start_scheduler plug fds
grep -q 'embedded Kafka cluster started' "$SCHED_LOG" || fail "the embedded Kafka cluster did not start"
run=$(trigger fds)
assert_eq "$(wait_run fds "$run" 20)" success "run state"
fds=$(dagctl logs fds "$run" shell | grep -E '^[0-9]+$' | sort -n | tr '\n' ' ')
assert_eq "$fds" "0 1 2 " "descriptors open in the task"
