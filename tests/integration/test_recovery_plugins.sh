#!/usr/bin/env bash
# Plugin tasks across a scheduler crash. They talk to the scheduler that
# started them (a service's readiness pipe, the embedded Kafka cluster), so
# unlike shell tasks they are not adopted:
#  (a) a service that is up when the scheduler dies is stopped by the next
#      one, and the stop_service task downstream of it succeeds;
#  (b) a sensor waiting between pokes (reschedule mode) at the crash goes
#      on poking after the restart and succeeds at its first try.
source "$(dirname "$0")/lib.sh"

plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $plugins
EOF
write_dag svc <<EOF
dag_id: svc
default_args:
  retries: 0
tasks:
  - id: start_svc
    type: test_service
    path: $TMP/svc.out
  - id: between
    upstream: start_svc
    command: $FAKE_TASK --record $TMP/svc.rec --sleep 1.5
  - id: stop_svc
    type: stop_service
    service: start_svc
    upstream: between
EOF
write_dag sense <<EOF
dag_id: sense
default_args:
  retries: 0
tasks:
  - id: wait
    type: test_sensor
    path: $TMP/flag
    poke_interval: 200ms
EOF
svc_pids() { pgrep -f -- "--home $DAGCTL_HOME .*__task test_service" || true; }

start_scheduler svc sense
# (a)
run=$(trigger svc)
wait_for "[ \"\$(rec_count $TMP/svc.rec start between)\" = 1 ]" 10
[ -n "$(svc_pids)" ] || fail "(a) the service is not running"
crash_scheduler
start_scheduler
assert_eq "$(wait_run svc "$run" 20)" success "(a) run state"
wait_for "[ -z \"\$(svc_pids)\" ]" 10
assert_eq "$(rec_count "$TMP/svc.rec" start between)/$(rec_count "$TMP/svc.rec" end between)" 1/1 \
  "(a) the shell task between, adopted"

# (b)
run=$(trigger sense)
wait_for "grep -q 'not yet' $DAGCTL_HOME/logs/sense/$run/wait/1.log" 10
crash_scheduler
start_scheduler
touch "$TMP/flag"
assert_eq "$(wait_run sense "$run" 20)" success "(b) run state"
assert_eq "$(sql "SELECT try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
                 WHERE r.run_id = '$run'")" 1 "(b) sensor tries"
