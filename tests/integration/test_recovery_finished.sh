#!/usr/bin/env bash
# A task that ends while no scheduler runs (killed with SIGKILL) is recorded
# with its real outcome when the next scheduler starts: its supervisor wrote
# the exit status. It used to be "process vanished while the scheduler was
# down", a failure, though the task had exited 0.
source "$(dirname "$0")/lib.sh"

# fin_ok's t1 succeeds, fin_bad's exits 3; both while the scheduler is down.
for c in ok:0 bad:3; do
  write_dag "fin_${c%%:*}" <<EOF
dag_id: fin_${c%%:*}
default_args:
  retries: 0
tasks:
  - id: t1
    command: $FAKE_TASK --record $TMP/fin_${c%%:*}.rec --sleep 1.5 --exit ${c##*:}
  - id: t2
    upstream: t1
    command: $FAKE_TASK --record $TMP/fin_${c%%:*}.rec
EOF
done

try_field() {
  sql "SELECT t.$3 FROM task_try t JOIN dag_run r ON r.id = t.run_pk
       WHERE r.run_id = '$1' AND t.task_id = '$2' AND t.try_number = 1"
}

start_scheduler fin_ok fin_bad
ok=$(trigger fin_ok)
bad=$(trigger fin_bad)
wait_for "[ \"\$(rec_count $TMP/fin_ok.rec start t1)\" = 1 ] &&
          [ \"\$(rec_count $TMP/fin_bad.rec start t1)\" = 1 ]" 10
crash_scheduler
# Both tasks end while no scheduler runs.
wait_for "[ \"\$(rec_count $TMP/fin_ok.rec end t1)\" = 1 ] &&
          [ \"\$(rec_count $TMP/fin_bad.rec end t1)\" = 1 ]" 10
for d in ok bad; do
  pgid=$(awk '$1 == "start" && $5 == "t1" { print $4 }' "$TMP/fin_$d.rec")
  wait_for "! group_alive $pgid" 5
done
start_scheduler
assert_eq "$(wait_run fin_ok "$ok" 20)" success "fin_ok run state"
assert_eq "$(try_field "$ok" t1 state)" success "fin_ok t1 try 1"
assert_eq "$(try_field "$ok" t1 exit_code)" 0 "fin_ok t1 exit code"
assert_eq "$(rec_count "$TMP/fin_ok.rec" start t1)" 1 "fin_ok t1 runs"
assert_eq "$(rec_count "$TMP/fin_ok.rec" end t2)" 1 "fin_ok t2 runs"

assert_eq "$(wait_run fin_bad "$bad" 20)" failed "fin_bad run state"
assert_eq "$(try_field "$bad" t1 state)" failed "fin_bad t1 try 1"
assert_eq "$(try_field "$bad" t1 exit_code)" 3 "fin_bad t1 exit code"
assert_eq "$(try_field "$bad" t1 error)" "exited with status 3" "fin_bad t1 error"
assert_eq "$(rec_count "$TMP/fin_bad.rec" start t1)" 1 "fin_bad t1 runs"
assert_eq "$(rec_count "$TMP/fin_bad.rec" start t2)" 0 "fin_bad t2 runs"
