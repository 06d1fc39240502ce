#!/usr/bin/env bash
# test_kafka_side.sh - the embedded Kafka cluster starts for kafka tasks only.
#
# The cluster is the kafka plugin's program (plugins/dagctl-kafka-embed),
# which the scheduler starts through the plugin host. Checks:
#  - DAGs of other plugins (s3_sensor, dbt) start no cluster;
#  - a DAG with a kafka task starts one, with the topics its tasks name (a
#    `topic` key, or the declared default) at 3 partitions each, and a
#    templated topic left to auto-creation;
#  - a DAG loaded later adds its topics to the running cluster;
#  - the scheduler's stop stops it and removes kafka.bootstraps; a
#    scheduler killed with SIGKILL takes it down too (its stdin closes).
. "$(dirname "$0")/lib.sh"
need kcat

BOOTFILE=$DAGCTL_HOME/kafka.bootstraps
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $DAGCTL_BUILD_DIR/plugins
EOF

# --- no kafka task, no cluster --------------------------------------------------
write_dag other_plugins <<'EOF2'
dag_id: other_plugins
schedule: null
tasks:
  - id: wait_file
    type: wait_for_s3_files
    prefix: raw_events/
  - id: models
    type: dbt
    command: compile
    project_dir: spotify_dbt
    upstream: wait_file
EOF2
start_scheduler
grep -q 'loaded DAG dag=other_plugins' "$SCHED_LOG" || fail "other_plugins not loaded"
[ ! -e "$BOOTFILE" ] || fail "a cluster was started for DAGs without a kafka task"
if grep -q 'embedded Kafka cluster started' "$SCHED_LOG"; then
  fail "a cluster was started for DAGs without a kafka task"
fi
log "no cluster for s3_sensor and dbt tasks"

# --- a kafka DAG: the cluster, with its topics -----------------------------------
write_dag produce <<'EOF2'
dag_id: produce
schedule: null
tasks:
  - id: gen
    type: generate_events
    topic: plays-a
  - id: gen_default
    type: generate_events
  - id: consume
    type: kafka_consumer
    topic: plays-a
  - id: templated
    type: generate_events
    topic: "t-{{ ds }}"
EOF2
wait_for "grep -q 'embedded Kafka cluster started' '$SCHED_LOG'" 20
wait_for "[ -s '$BOOTFILE' ]" 10
BOOT=$(cat "$BOOTFILE")
KPID=$(sed -n 's/.*embedded Kafka cluster started .* pid=\([0-9]*\) .*/\1/p' "$SCHED_LOG" | head -n1)
[ -n "$KPID" ] && proc_alive "$KPID" || fail "no live cluster process: '$KPID'"

# topics: NAME PARTITIONS, one a line, from the cluster's metadata.
topics() { kcat -b "$BOOT" -L -J -m 5 | python3 -c '
import json, sys
for t in json.load(sys.stdin)["topics"]:
    print(t["topic"], len(t["partitions"]))' | sort; }
got=$(topics)
assert_eq "$got" "$(printf 'plays-a 3\nspotify-plays 3')" "topics of the produce DAG"
log "cluster at $BOOT with plays-a and spotify-plays"

# --- a DAG loaded later adds its topic ---------------------------------------
write_dag produce_more <<'EOF2'
dag_id: produce_more
schedule: null
tasks:
  - id: gen
    type: generate_events
    topic: plays-b
EOF2
wait_for "topics | grep -qx 'plays-b 3'" 20
assert_eq "$(grep -c 'embedded Kafka cluster started' "$SCHED_LOG")" 1 "clusters started"
log "plays-b added to the running cluster"

# --- stopping --------------------------------------------------------------------
stop_scheduler
wait_for "! proc_alive $KPID" 10
[ ! -e "$BOOTFILE" ] || fail "kafka.bootstraps left behind after a stop"
log "stopped with the scheduler"

start_scheduler
wait_for "grep -q 'embedded Kafka cluster started' '$SCHED_LOG'" 20
KPID=$(sed -n 's/.*embedded Kafka cluster started .* pid=\([0-9]*\) .*/\1/p' "$SCHED_LOG" | head -n1)
[ -n "$KPID" ] && proc_alive "$KPID" || fail "no live cluster process after restart: '$KPID'"
crash_scheduler
wait_for "! proc_alive $KPID" 10
log "gone with a crashed scheduler"
