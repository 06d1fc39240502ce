#!/usr/bin/env bash
# test_sensor_dag.sh - wait_for_s3_files run by the real scheduler on the
# default local lake (DAGCTL_HOME/lake): the prefix's {{ ds }}, reschedule
# mode handing back the only slot to the task that writes the file, the
# matched keys in XCom, and the timeout counted from the first poke (the
# host's sensor_started), failing or, with soft_fail, skipping.
. "$(dirname "$0")/lib.sh"

[ -e "$DAGCTL_BUILD_DIR/plugins/s3_sensor.so" ] || fail "s3_sensor.so is not built"
echo "  parallelism: 1" >>"$DAGCTL_HOME/dagctl.yaml"

write_dag landing <<EOF
dag_id: landing
tasks:
  - id: wait
    type: wait_for_s3_files
    prefix: "landing/{{ ds }}/*.csv"
    mode: reschedule
    poke_interval: 300ms
    timeout: 1m
  - id: drop
    command: mkdir -p "$DAGCTL_HOME/lake/landing/"{{ ds }} && echo a,b > "$DAGCTL_HOME/lake/landing/"{{ ds }}/plays.csv
EOF
write_dag never <<EOF
dag_id: never
tasks:
  - id: wait
    type: wait_for_s3_files
    prefix: "nothing/"
    mode: reschedule
    poke_interval: 300ms
    timeout: 2s
EOF
write_dag never_soft <<EOF
dag_id: never_soft
tasks:
  - id: wait
    type: wait_for_s3_files
    prefix: "nothing/"
    mode: reschedule
    poke_interval: 300ms
    timeout: 2s
    soft_fail: true
EOF
start_scheduler landing never never_soft

run=$(trigger landing)
assert_eq "$(wait_run landing "$run" 30)" success "landing run"
assert_eq "$(task_state landing "$run" wait)" success "sensor state"
ds=${run#manual__}
ds=${ds:0:10}
xcom=$(dagctl tasks landing "$run" 2>&1)
grep -qF "wait.keys = [\"landing/$ds/plays.csv\"]" <<<"$xcom" || fail "no keys XCom: $xcom"
grep -qF "wait.count = 1" <<<"$xcom" || fail "no count XCom: $xcom"
log=$DAGCTL_HOME/logs/landing/$run/wait/1.log
grep -qF "not yet: 0 of 1 key(s) matching 'landing/$ds/*.csv'" "$log" ||
  fail "the sensor did not poke before the file came: $(cat "$log")"

t0=$(now_us)
run=$(trigger never)
assert_eq "$(wait_run never "$run" 30)" failed "run of a sensor that times out"
t1=$(now_us)
assert_eq "$(task_state never "$run" wait)" failed "timed-out sensor state"
log=$DAGCTL_HOME/logs/never/$run/wait/1.log
grep -qF "ERROR timed out after 2s waiting for 1 key(s) matching 'nothing/' in $DAGCTL_HOME/lake" "$log" ||
  fail "no timeout in the log: $(cat "$log")"
# Timed from the first poke, across the reschedules: about 2 s, not forever.
awk -v s="$(us_to_s "$t0" "$t1")" 'BEGIN { exit !(s >= 2 && s < 15) }' ||
  fail "a 2s sensor timeout took $(us_to_s "$t0" "$t1")s"

run=$(trigger never_soft)
wait_run never_soft "$run" 30 >/dev/null
assert_eq "$(task_state never_soft "$run" wait)" skipped "soft_fail sensor state"
grep -qF "soft_fail: skipping" "$DAGCTL_HOME/logs/never_soft/$run/wait/1.log" ||
  fail "no soft_fail in the log"
