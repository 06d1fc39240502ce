#!/usr/bin/env bash
# A trigger_dag task whose trigger_dag_id names no DAG of the DAG folder
# (and an external_task whose external_dag_id does not) is reported when
# the file loads, at its line and column, with the closest DAG ids. As a
# warning, not an error: the DAG folder may be partial for a while (the
# target's file broken mid-edit, or deployed after the file naming it), and
# Airflow parses such a DAG too, warning about a missing pool the same
# way. The triggering DAG loads and runs its other tasks.
. "$(dirname "$0")/lib.sh"

write_dag reports <<'EOF'
dag_id: reports
tasks:
  - {id: build, command: "true"}
EOF
write_dag parent <<'EOF'
dag_id: parent
tasks:
  - id: start_reports
    type: trigger_dag
    trigger_dag_id: reprots
  - id: start_reports_ok
    type: trigger_dag
    trigger_dag_id: reports
  - id: start_templated
    type: trigger_dag
    trigger_dag_id: "{{ params.target }}"
  - id: wait_load
    type: external_task
    external_dag_id: nightly_load
    mode: reschedule
  - {id: hello, command: "true"}
params:
  target: reports
EOF
W1="$DAGCTL_DAGS/parent.yaml:5:21: warning: tasks[0].trigger_dag_id: no DAG 'reprots' in the DAG folder (did you mean 'reports'?)"
W2="$DAGCTL_DAGS/parent.yaml:14:22: warning: tasks[3].external_dag_id: no DAG 'nightly_load' in the DAG folder"

expect_warnings() { # expect_warnings WHAT: $TMP/out holds W1, W2 and no other warning
  grep -Fqx "$W1" "$TMP/out" || fail "$1: no warning for the misspelt trigger_dag_id: $(cat "$TMP/out")"
  grep -Fqx "$W2" "$TMP/out" || fail "$1: no warning for the unknown external_dag_id: $(cat "$TMP/out")"
  assert_eq "$(grep -c 'warning:' "$TMP/out")" 2 "$1: warnings"
}
# The DAG folder: warnings, and still exit 0 with both files ok.
dagctl validate >"$TMP/out" 2>&1 || fail "validate failed on warnings: $(cat "$TMP/out")"
expect_warnings "validate"
grep -q 'parent.yaml: ok' "$TMP/out" || fail "parent.yaml not ok: $(cat "$TMP/out")"
# One file: its targets are looked up in the DAG folder all the same.
dagctl validate "$DAGCTL_DAGS/parent.yaml" >"$TMP/out" 2>&1 || fail "validate parent.yaml: $(cat "$TMP/out")"
expect_warnings "validate FILE"
dagctl validate --json "$DAGCTL_DAGS/parent.yaml" >"$TMP/out.json" || fail "validate --json"
assert_eq "$(pyjson '[[w["line"], w["column"], w["message"]] for r in d["results"] for w in r["warnings"]]' <"$TMP/out.json" | tr '\n' ' ')" \
  "[5, 21, \"tasks[0].trigger_dag_id: no DAG 'reprots' in the DAG folder (did you mean 'reports'?)\"] [14, 22, \"tasks[3].external_dag_id: no DAG 'nightly_load' in the DAG folder\"] " \
  "validate --json warnings"

# The scheduler loads the DAG, logging the warnings where they are.
start_scheduler parent reports
grep -F "DAG file warning file=$DAGCTL_DAGS/parent.yaml line=5 col=21" "$SCHED_LOG" | grep -q "no DAG 'reprots'" ||
  fail "the scheduler did not log the warning: $(grep -i warn "$SCHED_LOG")"
# Fixing the target's name: no warning left.
sed -i 's/reprots/reports/; s/nightly_load/reports/' "$DAGCTL_DAGS/parent.yaml"
dagctl validate >"$TMP/out" 2>&1 || fail "validate: $(cat "$TMP/out")"
! grep -q 'warning:' "$TMP/out" || fail "warnings left: $(cat "$TMP/out")"
