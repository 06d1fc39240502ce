#!/usr/bin/env bash
# A scheduler killed with SIGKILL, or stopped with SIGTERM, in the middle of
# a run, then restarted. Each try runs under a supervisor of its own, which
# outlives the scheduler and records how the try ended:
#  (a) the running task outlives the crash and is adopted by the next
#      scheduler, not stopped: it runs once, to its end, and its try counts
#      with its real outcome;
#  (b1) the task is killed while no scheduler runs: its supervisor records
#      the signal, a failed try, so retries apply (retries 1: success on
#      try 2);
#  (b2) the task and its supervisor both die while no scheduler runs:
#      nothing recorded the end, a failed try ("vanished"; retries 0: the
#      run fails);
#  (c) a graceful stop (SIGTERM) with a task that ignores SIGTERM: the
#      scheduler exits at once and leaves the task running; the next start
#      adopts it.
. "$(dirname "$0")/lib.sh"

# chain DAG_ID RETRIES_OF_T3 FIRST_TRY_SLEEP [EXTRA_T3_ARGS]: t1 -> ... -> t6,
# each recording into $TMP/DAG_ID.rec; t3's first try runs for
# FIRST_TRY_SLEEP seconds, so that it is certainly running when the
# scheduler dies.
chain() {
  local id=$1 retries=$2 first=$3 extra=${4:-}
  {
    printf 'dag_id: %s\ndefault_args:\n  retries: 0\n  retry_delay: 1s\ntasks:\n' "$id"
    for i in 1 2 3 4 5 6; do
      printf '  - id: t%d\n' "$i"
      if [ "$i" -eq 3 ]; then
        printf '    command: %s --record %s --sleep 0.3 --first-try-sleep %s %s\n' \
          "$FAKE_TASK" "$TMP/$id.rec" "$first" "$extra"
        printf '    retries: %d\n' "$retries"
      else
        printf '    command: %s --record %s --sleep 0.3\n' "$FAKE_TASK" "$TMP/$id.rec"
      fi
      [ "$i" -gt 1 ] && printf '    upstream: t%d\n' $((i - 1))
    done
  } | write_dag "$id"
}
chain case_a 0 3
chain case_b1 1 30
chain case_b2 0 30
chain case_c 0 3 --ignore-term

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

# wait_t3 REC: wait until t3's first try has started.
wait_t3() { wait_for "[ \"\$(rec_count '$1' start t3)\" = 1 ]" 10; }

# t3_field REC FIELD [N]: a field of t3's Nth start record (3: pid, 4: pgid).
t3_field() { awk -v f="$2" -v n="${3:-1}" '$1 == "start" && $5 == "t3" && ++k == n { print $f }' "$1"; }

# The parent of a process: of a task group's leader, its supervisor.
parent_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f2; }

try_field() {
  sql "SELECT t.$4 FROM task_try t JOIN dag_run r ON r.id = t.run_pk
       WHERE r.run_id = '$1' AND t.task_id = '$2' AND t.try_number = $3"
}

t3_tries() {
  dagctl tasks "$1" "$2" --json |
    pyjson '["%d/%d" % (x["try_number"], x["max_tries"]) for x in d if x["task_id"] == "t3"][0]'
}

start_scheduler case_a case_b1 case_b2 case_c

# --- (a) the task outlives the crash and is adopted ---------------------------------
rec=$TMP/case_a.rec
run=$(trigger case_a)
wait_t3 "$rec"
crash_scheduler
pid=$(t3_field "$rec" 3)
proc_alive "$pid" || fail "(a) t3 ($pid) did not survive the scheduler's crash"
start_scheduler
grep -q 'adopted a task still running from the previous scheduler.*task=t3' "$SCHED_LOG" ||
  fail "(a) t3 was not adopted"
assert_eq "$(wait_run case_a "$run" 20)" success "(a) run state"
for t in t1 t2 t3 t4 t5 t6; do
  assert_eq "$(rec_count "$rec" start $t)/$(rec_count "$rec" end $t)" 1/1 "(a) $t starts/ends"
done
assert_eq "$(rec_count "$rec" term t3)" 0 "(a) t3 stopped"
no_overlap "$rec" || fail "(a) executions overlapped: $(cat "$rec")"
assert_eq "$(try_field "$run" t3 1 state)" success "(a) t3 try 1"
assert_eq "$(try_field "$run" t3 1 exit_code)" 0 "(a) t3 try 1 exit code"
assert_eq "$(t3_tries case_a "$run")" 1/0 "(a) t3 try_number, max_tries"

# --- (b) the task dies while no scheduler runs ------------------------------------
for c in b1 b2; do
  rec=$TMP/case_$c.rec
  run=$(trigger case_$c)
  wait_t3 "$rec"
  crash_scheduler
  pgid=$(t3_field "$rec" 4)
  sup=$(parent_of "$pgid") # of the group leader (the shell)
  if [ $c = b2 ]; then
    # The supervisor first, or it would record the task's end.
    kill -9 "$sup"
    wait_for "! proc_alive $sup" 5
  fi
  kill -9 -- "-$pgid"
  wait_for "! group_alive $pgid" 5
  [ $c = b1 ] && wait_for "! proc_alive $sup" 5
  start_scheduler
  state=$(wait_run case_$c "$run" 20)
  assert_eq "$(try_field "$run" t3 1 state)" failed "($c) try 1 state"
  if [ $c = b1 ]; then
    assert_eq "$(try_field "$run" t3 1 error)" "killed by signal 9 (Killed)" "(b1) try 1 error"
    assert_eq "$state" success "(b1) run state"
    assert_eq "$(t3_tries case_b1 "$run")" 2/1 "(b1) t3 try_number, max_tries"
    assert_eq "$(try_field "$run" t3 2 state)" success "(b1) try 2"
    assert_eq "$(rec_count "$rec" start t3)/$(rec_count "$rec" end t3)" 2/1 "(b1) t3 starts/ends"
  else
    case $(try_field "$run" t3 1 error) in
      *vanished*) ;;
      *) fail "(b2) try 1 error: '$(try_field "$run" t3 1 error)'" ;;
    esac
    assert_eq "$state" failed "(b2) run state"
    dagctl tasks case_b2 "$run" --json >"$TMP/b2.json"
    assert_eq "$(pyjson '" ".join(x["state"] for x in d)' <"$TMP/b2.json")" \
      "success success failed upstream_failed upstream_failed upstream_failed" "(b2) task states"
    assert_eq "$(t3_tries case_b2 "$run")" 1/0 "(b2) t3 try_number, max_tries"
    assert_eq "$(rec_count "$rec" start t4)" 0 "(b2) t4 starts"
  fi
  no_overlap "$rec" || fail "($c) executions overlapped: $(cat "$rec")"
done

# --- (c) a graceful stop leaves the task to its supervisor ----------------------------
rec=$TMP/case_c.rec
run=$(trigger case_c)
wait_t3 "$rec"
pid=$(t3_field "$rec" 3)
stop_scheduler
proc_alive "$pid" || fail "(c) t3 was stopped with the scheduler"
grep -q 'leaving a running task to its supervisor.*task=t3' "$TMP/scheduler.$SCHED_N.log" ||
  fail "(c) the scheduler did not say it left t3 running"
assert_eq "$(try_field "$run" t3 1 state)" running "(c) t3 try 1 while no scheduler runs"
start_scheduler
assert_eq "$(wait_run case_c "$run" 20)" success "(c) run state"
for t in t1 t2 t3 t4 t5 t6; do
  assert_eq "$(rec_count "$rec" start $t)/$(rec_count "$rec" end $t)" 1/1 "(c) $t starts/ends"
done
assert_eq "$(t3_tries case_c "$run")" 1/0 "(c) t3 try_number, max_tries"
no_overlap "$rec" || fail "(c) executions overlapped: $(cat "$rec")"
