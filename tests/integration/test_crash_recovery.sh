#!/usr/bin/env bash
# A scheduler killed with SIGKILL in the middle of a run, then restarted:
#  (a) the running task's process outlived the scheduler: the new scheduler
#      stops it, records the try as interrupted without charging a retry,
#      runs the task again (never two copies at once), and the run succeeds
#      with every task completed exactly once;
#  (b) the task's processes died too while no scheduler watched: a failed
#      try, so retries apply (retries 1: success on try 2; retries 0: failed);
#  (c) a graceful stop (SIGTERM) with a task that ignores SIGTERM: the
#      scheduler exits only once the task's group is gone, and the next start
#      runs the task again without charging a retry.
# Each restart must resolve the interrupted task within 5 s.
. "$(dirname "$0")/lib.sh"

# chain DAG_ID RETRIES_OF_T3 [EXTRA_T3_ARGS]: t1 -> ... -> t6, each recording
# into $TMP/DAG_ID.rec; t3's first try runs for 30 s, so that it is
# certainly running when the scheduler dies.
chain() {
  local id=$1 retries=$2 extra=${3:-}
  {
    printf 'dag_id: %s\ndefault_args:\n  retries: 0\n  retry_delay: 1s\ntasks:\n' "$id"
    for i in 1 2 3 4 5 6; do
      printf '  - id: t%d\n' "$i"
      if [ "$i" -eq 3 ]; then
        printf '    command: %s --record %s --sleep 0.3 --first-try-sleep 30 %s\n' \
          "$FAKE_TASK" "$TMP/$id.rec" "$extra"
        printf '    retries: %d\n' "$retries"
      else
        printf '    command: %s --record %s --sleep 0.3\n' "$FAKE_TASK" "$TMP/$id.rec"
      fi
      [ "$i" -gt 1 ] && printf '    upstream: t%d\n' $((i - 1))
    done
  } | write_dag "$id"
}
chain case_a 0
chain case_b1 1
chain case_b2 0
chain case_c 0 --ignore-term

# No two executions of tasks of one chain ever overlap (a chain runs one
# task at a time); an execution lasts from its start to its end or term
# record (an execution killed by SIGKILL has neither: it is then checked by
# the caller through its process).
no_overlap() {
  "$PYTHON" - "$1" <<'PY'
import sys
starts, spans = {}, []
for line in open(sys.argv[1]):
    what, us, pid = line.split()[:3]
    if what == "start":
        starts[pid] = int(us)
    else:
        spans.append((starts.pop(pid), int(us), line.split()[4]))
spans.sort()
for a, b in zip(spans, spans[1:]):
    if b[0] < a[1]:
        sys.exit("%s started %.3fs before %s ended" % (b[2], (a[1] - b[0]) / 1e6, a[2]))
PY
}

# wait_running DAG REC: wait until t3's first try has started.
wait_t3() { wait_for "[ \"\$(rec_count '$1' start t3)\" = 1 ]" 10; }

# t3_pid REC [N]: the pid / process group of t3's Nth execution.
t3_field() { awk -v f="$2" -v n="${3:-1}" '$1 == "start" && $5 == "t3" && ++k == n { print $f }' "$1"; }

# resolved DAG RUN T0: seconds from T0 to the end of t3's first try.
resolved() {
  local end
  wait_for "[ -n \"\$(sql \"SELECT t.end_date FROM task_try t JOIN dag_run r ON r.id = t.run_pk
            WHERE r.run_id = '$2' AND t.task_id = 't3' AND t.try_number = 1\")\" ]" 5
  end=$(sql "SELECT t.end_date FROM task_try t JOIN dag_run r ON r.id = t.run_pk
             WHERE r.run_id = '$2' AND t.task_id = 't3' AND t.try_number = 1")
  us_to_s "$3" "$end"
}

try_field() {
  sql "SELECT t.$4 FROM task_try t JOIN dag_run r ON r.id = t.run_pk
       WHERE r.run_id = '$1' AND t.task_id = '$2' AND t.try_number = $3"
}

start_scheduler case_a case_b1 case_b2 case_c

# --- (a) the task outlives the crash -------------------------------------------
rec=$TMP/case_a.rec
run=$(trigger case_a)
wait_t3 "$rec"
crash_scheduler
old=$(t3_field "$rec" 3)
proc_alive "$old" || fail "(a) t3 ($old) did not survive the scheduler's crash"
t0=$(now_us)
start_scheduler
took=$(resolved case_a "$run" "$t0")
log "(a) restart -> interrupted try resolved: ${took}s"
awk -v t="$took" 'BEGIN { exit !(t < 5) }' || fail "(a) resolving took ${took}s (limit 5s)"
assert_eq "$(wait_run case_a "$run" 15)" success "(a) run state"
for t in t1 t2 t4 t5 t6; do
  assert_eq "$(rec_count "$rec" start $t)/$(rec_count "$rec" end $t)" 1/1 "(a) $t starts/ends"
done
assert_eq "$(rec_count "$rec" start t3)/$(rec_count "$rec" end t3)" 2/1 "(a) t3 starts/ends"
assert_eq "$(rec_count "$rec" term t3)" 1 "(a) the old t3 was stopped with SIGTERM"
proc_alive "$old" && fail "(a) the old t3 ($old) still runs"
no_overlap "$rec" || fail "(a) executions overlapped: $(cat "$rec")"
case $(try_field "$run" t3 1 error) in
  *interrupted*) ;;
  *) fail "(a) try 1 error: '$(try_field "$run" t3 1 error)'" ;;
esac
assert_eq "$(try_field "$run" t3 2 state)" success "(a) try 2"
dagctl tasks case_a "$run" --json >"$TMP/a.json"
assert_eq "$(pyjson '["%d/%d" % (x["try_number"], x["max_tries"]) for x in d if x["task_id"] == "t3"][0]' \
  <"$TMP/a.json")" 2/1 "(a) t3 try_number, max_tries (one try granted)"
assert_eq "$(pyjson '" ".join(x["state"] for x in d)' <"$TMP/a.json")" \
  "success success success success success success" "(a) task states"

# --- (b) the task dies while no scheduler runs ------------------------------------
for c in b1 b2; do
  rec=$TMP/case_$c.rec
  run=$(trigger case_$c)
  wait_t3 "$rec"
  crash_scheduler
  pgid=$(t3_field "$rec" 4)
  kill -9 -- "-$pgid"
  wait_for "! group_alive $pgid" 5
  t0=$(now_us)
  start_scheduler
  took=$(resolved case_$c "$run" "$t0")
  log "($c) restart -> vanished try resolved: ${took}s"
  awk -v t="$took" 'BEGIN { exit !(t < 5) }' || fail "($c) resolving took ${took}s (limit 5s)"
  case $(try_field "$run" t3 1 error) in
    *vanished*) ;;
    *) fail "($c) try 1 error: '$(try_field "$run" t3 1 error)'" ;;
  esac
  assert_eq "$(try_field "$run" t3 1 state)" failed "($c) try 1 state"
  state=$(wait_run case_$c "$run" 15)
  dagctl tasks case_$c "$run" --json >"$TMP/$c.json"
  states=$(pyjson '" ".join(x["state"] for x in d)' <"$TMP/$c.json")
  t3=$(pyjson '["%d/%d" % (x["try_number"], x["max_tries"]) for x in d if x["task_id"] == "t3"][0]' <"$TMP/$c.json")
  if [ $c = b1 ]; then
    assert_eq "$state" success "(b1) run state"
    assert_eq "$states" "success success success success success success" "(b1) task states"
    assert_eq "$t3" 2/1 "(b1) t3 try_number, max_tries"
    assert_eq "$(try_field "$run" t3 2 state)" success "(b1) try 2"
    assert_eq "$(rec_count "$rec" start t3)/$(rec_count "$rec" end t3)" 2/1 "(b1) t3 starts/ends"
  else
    assert_eq "$state" failed "(b2) run state"
    assert_eq "$states" "success success failed upstream_failed upstream_failed upstream_failed" \
      "(b2) task states"
    assert_eq "$t3" 1/0 "(b2) t3 try_number, max_tries"
    assert_eq "$(rec_count "$rec" start t3)" 1 "(b2) t3 starts"
    assert_eq "$(rec_count "$rec" start t4)" 0 "(b2) t4 starts"
  fi
  no_overlap "$rec" || fail "($c) executions overlapped: $(cat "$rec")"
done

# --- (c) a graceful stop with a task that ignores SIGTERM ---------------------------
rec=$TMP/case_c.rec
run=$(trigger case_c)
wait_t3 "$rec"
pgid=$(t3_field "$rec" 4)
stop_scheduler
# Nothing of the task outlives the scheduler: it would run twice at the next start.
group_alive "$pgid" && fail "(c) t3's processes outlived the scheduler"
case $(try_field "$run" t3 1 error) in
  *interrupted*) ;;
  *) fail "(c) try 1 error: '$(try_field "$run" t3 1 error)'" ;;
esac
start_scheduler
assert_eq "$(wait_run case_c "$run" 15)" success "(c) run state"
dagctl tasks case_c "$run" --json >"$TMP/c.json"
assert_eq "$(pyjson '["%d/%d" % (x["try_number"], x["max_tries"]) for x in d if x["task_id"] == "t3"][0]' \
  <"$TMP/c.json")" 2/1 "(c) t3 try_number, max_tries (one try granted)"
assert_eq "$(rec_count "$rec" start t3)/$(rec_count "$rec" end t3)" 2/1 "(c) t3 starts/ends"
for t in t1 t2 t4 t5 t6; do
  assert_eq "$(rec_count "$rec" start $t)/$(rec_count "$rec" end $t)" 1/1 "(c) $t starts/ends"
done
