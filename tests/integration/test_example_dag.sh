#!/usr/bin/env bash
# The shipped example DAG validates and runs to success with `dagctl test`.
. "$(dirname "$0")/lib.sh"
: "${DAGCTL_SOURCE_DIR:?}"
export DAGCTL_DAGS=$DAGCTL_SOURCE_DIR/dags

dagctl validate "$DAGCTL_SOURCE_DIR/dags/example_etl.yaml" >"$TMP/validate.out" ||
  fail "validate example_etl.yaml: $(cat "$TMP/validate.out")"

rc=0
dagctl test example_etl >"$TMP/test.out" 2>"$TMP/test.err" || rc=$?
[ "$rc" -eq 0 ] || fail "dagctl test example_etl exited $rc: $(cat "$TMP/test.err")"
run_id=$(tail -n 1 "$TMP/test.out")
case $run_id in test__*) ;; *) fail "unexpected run id '$run_id'" ;; esac
assert_eq "$(run_state example_etl "$run_id")" success "run state"

# Every task ran once and succeeded, and the pipeline produced its files.
dagctl tasks example_etl "$run_id" --json >"$TMP/tasks.json"
assert_eq "$(pyjson '" ".join(sorted(set(x["state"] for x in d)))' <"$TMP/tasks.json")" \
  success "task states"
assert_eq "$(pyjson 'len(d)' <"$TMP/tasks.json")" 5 "task count"
assert_eq "$(pyjson 'max(x["try_number"] for x in d)' <"$TMP/tasks.json")" 1 "tries"
summary=$(find "$DAGCTL_HOME/demo" -name summary.json | head -n 1)
[ -n "$summary" ] || fail "load wrote no summary.json"
assert_eq "$(pyjson 'd["orders"]' <"$summary")" 4 "orders with amount >= 20"
dagctl logs example_etl "$run_id" report | grep -q "run $run_id of example_etl" ||
  fail "report log does not name the run"
