#!/usr/bin/env bash
# A task starts with standard input, output and error and nothing else: none
# of the scheduler's own descriptors (its database, its listening socket, the
# pipe to the embedded Kafka cluster's process, whose end the scheduler
# alone must hold) may leak into it.
source "$(dirname "$0")/lib.sh"

[ -x "$DAGCTL_BUILD_DIR/plugins/dagctl-kafka-embed" ] || fail "dagctl-kafka-embed not built"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $DAGCTL_BUILD_DIR/plugins
EOF
# Loading a DAG with a kafka task starts the embedded Kafka cluster.
write_dag plug <<EOF
dag_id: plug
tasks:
  - id: gen
    type: generate_events
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
