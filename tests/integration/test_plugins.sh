#!/usr/bin/env bash
# The plugin host: plugin tasks run in a child process through the ABI;
# parameters, context and XCom reach them; exit outcomes (fail, skip,
# crash) are recorded; an ABI mismatch is refused by name; a sensor in
# reschedule mode frees its slot between pokes; a service task outlives its
# try until stop_service stops it, and never outlives its run.
source "$(dirname "$0")/lib.sh"

plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $plugins
  parallelism: 1
EOF

# dagctl plugins: lists the good one, refuses the old ABI by name (exit 1).
rc=0
out=$(dagctl plugins 2>&1) || rc=$?
assert_eq "$rc" 1 "plugins exit code with a broken plugin"
grep -q "test_echo" <<<"$out" || fail "plugins does not list test_echo: $out"
grep -q "built for plugin ABI version 42, but this dagctl speaks version 1" <<<"$out" \
  || fail "ABI mismatch not explained: $out"

write_dag plug <<EOF
dag_id: plug
tasks:
  - id: echo
    type: test_echo
    message: hello-from-yaml
    count: 3
  - id: use_xcom
    upstream: echo
    command: echo "got "{{ ti.xcom.echo.message }}
  - id: failing
    type: test_fail
  - id: skipping
    type: test_skip
  - id: crashing
    type: test_crash
EOF
rc=0
run=$(dagctl test plug --quiet) || rc=$?
assert_eq "$rc" 1 "test exit code (a task failed)"
assert_eq "$(task_state plug "$run" echo)" success "echo"
assert_eq "$(task_state plug "$run" use_xcom)" success "use_xcom"
assert_eq "$(task_state plug "$run" failing)" failed "failing"
assert_eq "$(task_state plug "$run" skipping)" skipped "skipping"
assert_eq "$(task_state plug "$run" crashing)" failed "crashing"
dagctl logs plug "$run" echo | grep -q "message=hello-from-yaml count=3 ds=" \
  || fail "params and context did not reach the plugin"
dagctl logs plug "$run" use_xcom | grep -qx "got hello-from-yaml" \
  || fail "XCom did not reach the downstream template"
sql "SELECT error FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
     WHERE r.run_id = '$run' AND task_id = 'crashing'" | grep -q "killed by signal 9" \
  || fail "crash not recorded as a signal"

# A sensor in reschedule mode: it pokes, frees the only slot (parallelism 1)
# so another task runs meanwhile, and succeeds once the file appears.
write_dag sense <<EOF
dag_id: sense
tasks:
  - id: wait
    type: test_sensor
    path: $TMP/flag
    poke_interval: 200ms
  - id: other
    command: touch "$TMP/flag"
EOF
start_scheduler plug sense
run=$(trigger sense)
state=$(wait_run sense "$run" 20)
assert_eq "$state" success "sensor run"
pokes=$(grep -c "not yet" "$DAGCTL_HOME/logs/sense/$run/wait/1.log" || true)
[ "$pokes" -ge 1 ] || fail "the sensor never poked before succeeding"
assert_eq "$(sql "SELECT try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
                 WHERE r.run_id = '$run' AND task_id = 'wait'")" 1 "sensor tries (pokes are free)"

# A service: up, outlives its try, stopped cleanly by stop_service.
write_dag svc <<EOF
dag_id: svc
tasks:
  - id: start_svc
    type: test_service
    path: $TMP/svc.out
  - id: between
    upstream: start_svc
    command: pgrep -f -- "--home $DAGCTL_HOME .*__task test_service" > "$TMP/svc.pids"
  - id: stop_svc
    type: stop_service
    service: start_svc
    upstream: between
EOF
wait_for "dagctl dags list --json | grep -q '\"svc\"'" 10
run=$(trigger svc)
state=$(wait_run svc "$run" 20)
assert_eq "$state" success "service run"
[ -s "$TMP/svc.pids" ] || fail "the service was not running while its downstream task ran"
grep -qx stopped "$TMP/svc.out" || fail "the service was not stopped cleanly"

# A failed run stops its service anyway.
write_dag svcfail <<EOF
dag_id: svcfail
tasks:
  - id: start_svc
    type: test_service
    path: $TMP/svcfail.out
  - id: boom
    upstream: start_svc
    command: exit 3
  - id: stop_svc
    type: stop_service
    service: start_svc
    upstream: boom
EOF
wait_for "dagctl dags list --json | grep -q '\"svcfail\"'" 10
run=$(trigger svcfail)
state=$(wait_run svcfail "$run" 20)
assert_eq "$state" failed "failing service run"
wait_for "grep -qx stopped '$TMP/svcfail.out'" 10
wait_for "! pgrep -f -- '--home $DAGCTL_HOME .*__task test_service' >/dev/null" 10
