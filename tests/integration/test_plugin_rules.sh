#!/usr/bin/env bash
# test_plugin_rules.sh - the scheduler runs sensors as their plugins declare.
#
# A sensor type declares which of its duration parameters is its poke
# interval (dagctl/plugin.h, minor 2); the scheduler reschedules after the
# task's value, else that parameter's declared default, the same value the
# plugin reads. Read exactly from the store: a reschedule records
# next_retry_at = end_date + the interval. Checks:
#  - wait_for_s3_files without poke_interval: its declared 30s;
#  - a type whose interval is its `every` parameter: the declared 250ms,
#    then a task's own 2s;
#  - a type that answers "not yet" without being declared a sensor fails,
#    and so does one that calls service_ready() undeclared;
#  - `dagctl plugins --json` carries the declarations to the scheduler.
. "$(dirname "$0")/lib.sh"

plugins=$TMP/plugins
mkdir -p "$plugins"
for so in "$DAGCTL_BUILD_DIR/tests/plugins/test_plugin.so" "$DAGCTL_BUILD_DIR/plugins/s3_sensor.so"; do
  [ -f "$so" ] || fail "not built: $so"
  ln -s "$so" "$plugins/"
done
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $plugins
EOF

write_dag sense <<EOF
dag_id: sense
schedule: null
tasks:
  - id: s3_default
    type: wait_for_s3_files
    prefix: never/
    mode: reschedule
  - id: every_default
    type: test_sensor_every
    path: $TMP/never
  - id: every_2s
    type: test_sensor_every
    path: $TMP/never
    every: 2s
  - id: undeclared
    type: test_not_sensor
    path: $TMP/never
    retries: 0
  - id: not_service
    type: test_not_service
    retries: 0
EOF
start_scheduler
run=$(trigger sense)

# poke_gap TASK: next_retry_at - end_date (µs) while it waits for a poke.
poke_gap() {
  sql "SELECT ti.next_retry_at - ti.end_date FROM task_instance ti JOIN dag_run r
       ON r.id = ti.run_pk WHERE r.run_id = '$run' AND ti.task_id = '$1'
       AND ti.state = 'up_for_reschedule'"
}
wait_for "[ -n \"\$(poke_gap s3_default)\" ]" 20
assert_eq "$(poke_gap s3_default)" 30000000 "wait_for_s3_files' poke interval (declared 30s)"
wait_for "[ -n \"\$(poke_gap every_2s)\" ]" 20
assert_eq "$(poke_gap every_2s)" 2000000 "the task's own interval in its declared param"
# every_default pokes every 250 ms: catch it between two pokes.
wait_for "[ -n \"\$(poke_gap every_default)\" ]" 20
assert_eq "$(poke_gap every_default)" 250000 "the declared default of the declared param"
log "poke intervals as declared: 30s, 2s, 250ms"

wait_for "[ \"\$(task_state sense '$run' undeclared)\" = failed ]" 20
err=$(sql "SELECT t.error FROM task_try t JOIN dag_run r ON r.id = t.run_pk
           WHERE r.run_id = '$run' AND t.task_id = 'undeclared'")
case $err in
  *"not declared a sensor"*) ;;
  *) fail "undeclared 'not yet' not explained: $err" ;;
esac
log "'not yet' from a type not declared a sensor fails the try"

wait_for "[ \"\$(task_state sense '$run' not_service)\" = failed ]" 20
dagctl logs sense "$run" not_service | grep -q "which is not declared a service" ||
  fail "undeclared service_ready() not explained: $(dagctl logs sense "$run" not_service)"
log "service_ready() from a type not declared a service fails the try"

json=$(dagctl plugins --json)
python3 -c '
import json, sys
types = {t["type"]: t for p in json.load(sys.stdin) for t in p["types"]}
e = types["test_sensor_every"]
assert e["sensor"] is True and e["service"] is False and e["poke_interval_param"] == "every", e
assert types["test_service"]["service"] is True, types["test_service"]
assert types["test_not_sensor"]["sensor"] is False, types["test_not_sensor"]
assert types["wait_for_s3_files"]["poke_interval_param"] == "poke_interval"
' <<<"$json" || fail "plugins --json lacks the declarations: $json"
log "plugins --json carries the declarations"
