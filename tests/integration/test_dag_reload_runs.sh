#!/usr/bin/env bash
# Loading or reloading a DAG picks up its active runs: a run queued while
# its file was broken runs once the file is fixed, and a run triggered the
# instant a new file is copied in runs without a restart. A file that lost
# a duplicated dag_id to another file loads once that other file is gone.
. "$(dirname "$0")/lib.sh"

good_dag() {
  write_dag "$1" <<EOF2
dag_id: $1
tasks:
  - id: work
    command: $FAKE_TASK --record $TMP/$1.rec
EOF2
}

# --- a run queued for a file broken at start-up -------------------------------
good_dag fixme
qrun=$(trigger fixme 2>/dev/null)
assert_eq "$(run_state fixme "$qrun")" queued "run triggered with no scheduler"
printf 'dag_id: fixme\ntasks: [\n' | write_dag fixme
start_scheduler
wait_for "grep -q 'run waits until its DAG file loads dag=fixme' '$SCHED_LOG'" 5
assert_eq "$(run_state fixme "$qrun")" queued "run while its file is broken"
good_dag fixme
assert_eq "$(wait_run fixme "$qrun" 10)" success "queued run once its file is fixed"

# --- copy a new file in and trigger it at once, several times -------------------
for i in $(seq 1 10); do
  good_dag "fresh$i"
  run=$(trigger "fresh$i")
  assert_eq "$(wait_run "fresh$i" "$run" 10)" success "run of a DAG triggered as its file arrived ($i)"
done

# --- a trigger right after fixing a briefly broken file ---------------------------
printf 'dag_id: fresh1\ntasks: [\n' | write_dag fresh1
wait_for "[ \"\$(sql \"SELECT count(*) FROM import_error WHERE filename LIKE '%fresh1.yaml'\")\" = 1 ]" 5
good_dag fresh1
run=$(trigger fresh1)
assert_eq "$(wait_run fresh1 "$run" 10)" success "run triggered right after a fix"

# --- a duplicated dag_id whose owner goes away ------------------------------------
cat >"$DAGCTL_DAGS/.a.tmp" <<EOF2
dag_id: dup
tasks:
  - id: from_a
    command: $FAKE_TASK
EOF2
mv "$DAGCTL_DAGS/.a.tmp" "$DAGCTL_DAGS/a_dup.yaml"
wait_for "[ \"\$(sql \"SELECT fileloc FROM dag WHERE dag_id = 'dup'\")\" = '$DAGCTL_DAGS/a_dup.yaml' ]" 5
cat >"$DAGCTL_DAGS/.b.tmp" <<EOF2
dag_id: dup
tasks:
  - id: from_b
    command: $FAKE_TASK
EOF2
mv "$DAGCTL_DAGS/.b.tmp" "$DAGCTL_DAGS/b_dup.yaml"
wait_for "sql \"SELECT stacktrace FROM import_error WHERE filename = '$DAGCTL_DAGS/b_dup.yaml'\" | grep -q 'already defined'" 5
rm "$DAGCTL_DAGS/a_dup.yaml"
wait_for "[ \"\$(sql \"SELECT fileloc FROM dag WHERE dag_id = 'dup'\")\" = '$DAGCTL_DAGS/b_dup.yaml' ]" 5
assert_eq "$(sql "SELECT count(*) FROM import_error")" 0 "import errors once the owner is gone"
run=$(trigger dup)
assert_eq "$(wait_run dup "$run" 10)" success "run of the remaining definition"
assert_eq "$(task_state dup "$run" from_b)" success "task of the remaining file"
stop_scheduler
