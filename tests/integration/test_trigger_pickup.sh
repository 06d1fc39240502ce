#!/usr/bin/env bash
# `dagctl trigger` against a running scheduler and without one: the run id
# printed, how fast the first task starts, --wait's exit status, errors
# (unknown DAG, bad --conf) and conf reaching the task's templates.
. "$(dirname "$0")/lib.sh"

write_dag pickup <<EOF2
dag_id: pickup
tasks:
  - id: first
    command: $FAKE_TASK --record $TMP/pickup.rec --sleep 0.1
  - id: second
    upstream: first
    command: $FAKE_TASK --record $TMP/pickup.rec
EOF2
write_dag failing <<EOF2
dag_id: failing
tasks:
  - id: boom
    command: $FAKE_TASK --exit 3
EOF2
write_dag confdag <<EOF2
dag_id: confdag
params:
  x: from_params
  y: only_in_params
tasks:
  - id: show
    command: echo "conf.x="{{ conf.x }}" params.x="{{ params.x }}" params.y="{{ params.y }}
EOF2

start_scheduler pickup failing confdag

# --- pick-up latency: trigger -> first task's try start ---------------------
t0=$(now_us)
run=$(trigger pickup)
case $run in manual__*) ;; *) fail "trigger printed '$run', expected a manual__ run id" ;; esac
wait_for "[ -n \"\$(try_start '$run' first)\" ]" 5
start=$(try_start "$run" first)
latency=$(us_to_s "$t0" "$start")
log "trigger -> first task start: ${latency}s"
awk -v l="$latency" 'BEGIN { exit !(l >= 0 && l < 1.0) }' ||
  fail "the first task started ${latency}s after the trigger (limit 1s)"
assert_eq "$(wait_run pickup "$run" 10)" success "pickup run"
# The fake task's own record agrees with the store.
assert_eq "$(rec_count "$TMP/pickup.rec" start first)" 1 "starts of first"
assert_eq "$(rec_count "$TMP/pickup.rec" end second)" 1 "ends of second"

# --- --wait ------------------------------------------------------------------
rc=0
trigger pickup --wait >"$TMP/wait.out" 2>"$TMP/wait.err" || rc=$?
assert_eq "$rc" 0 "trigger --wait exit status for a successful run"
wrun=$(head -n 1 "$TMP/wait.out")
assert_eq "$(run_state pickup "$wrun")" success "state after --wait"
grep -q 'second *success' "$TMP/wait.err" || fail "--wait did not report task progress: $(cat "$TMP/wait.err")"

rc=0
trigger failing --wait >"$TMP/fwait.out" 2>"$TMP/fwait.err" || rc=$?
assert_eq "$rc" 1 "trigger --wait exit status for a failed run"
frun=$(head -n 1 "$TMP/fwait.out")
assert_eq "$(run_state failing "$frun")" failed "failing run state"
assert_eq "$(task_state failing "$frun" boom)" failed "boom state"

# --- errors ------------------------------------------------------------------
rc=0
trigger no_such_dag >/dev/null 2>"$TMP/unknown.err" || rc=$?
assert_eq "$rc" 3 "exit status for an unknown DAG"
grep -q "no_such_dag" "$TMP/unknown.err" || fail "unknown DAG message: $(cat "$TMP/unknown.err")"

rc=0
trigger pickup --conf '{"x": ' >/dev/null 2>"$TMP/badconf.err" || rc=$?
assert_eq "$rc" 2 "exit status for bad --conf JSON"
grep -qi 'conf.*json' "$TMP/badconf.err" || fail "bad --conf message: $(cat "$TMP/badconf.err")"
rc=0
trigger pickup --conf '[1, 2]' >/dev/null 2>"$TMP/badconf2.err" || rc=$?
assert_eq "$rc" 2 "exit status for a --conf that is not an object"
rc=0
trigger pickup --run-id 'bad/id' >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "exit status for a bad --run-id"
rc=0
trigger pickup --run-id "$run" >/dev/null 2>"$TMP/dup.err" || rc=$?
assert_eq "$rc" 1 "exit status for a duplicate run id"
grep -q 'already has a run' "$TMP/dup.err" || fail "duplicate run id message: $(cat "$TMP/dup.err")"
# None of the refused triggers left a run behind.
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'pickup'")" 2 "pickup runs"

# --- conf reaches {{ conf.x }} and overrides {{ params.x }} ----------------
crun=$(trigger confdag --conf '{"x": "from_conf"}' --run-id conf_run_1)
assert_eq "$crun" conf_run_1 "--run-id"
assert_eq "$(wait_run confdag "$crun" 10)" success "conf run"
dagctl logs confdag "$crun" show >"$TMP/show.log"
grep -q 'conf.x=from_conf params.x=from_conf params.y=only_in_params' "$TMP/show.log" ||
  fail "rendered command output: $(cat "$TMP/show.log")"
# Without conf, {{ conf.x }} is an error, not an empty string.
nrun=$(trigger confdag)
assert_eq "$(wait_run confdag "$nrun" 10)" failed "run without conf.x"
dagctl logs confdag "$nrun" show | grep -q "conf has no key 'x'" ||
  fail "missing conf key not reported in the log"

# --- no scheduler: the run waits, then starts once one runs -------------------
stop_scheduler
qrun=$(trigger pickup 2>/dev/null)
assert_eq "$(run_state pickup "$qrun")" queued "run state with no scheduler"
assert_eq "$(task_state pickup "$qrun" first)" none "task state with no scheduler"
# Other commands run meanwhile; the run still waits.
dagctl runs pickup --json >/dev/null
assert_eq "$(run_state pickup "$qrun")" queued "run state with no scheduler, later"
t1=$(now_us)
start_scheduler pickup
assert_eq "$(wait_run pickup "$qrun" 10)" success "queued run after the scheduler started"
qstart=$(try_start "$qrun" first)
log "scheduler start -> queued run's first task start: $(us_to_s "$t1" "$qstart")s"
