#!/usr/bin/env bash
# Trigger rules and the states they produce, as in Airflow: upstream_failed
# cascades, all_failed on a success path skips (and the skip cascades
# through all_success), all_done runs after a failure, one_success and
# one_failed fire; the run's state follows its leaves only.
. "$(dirname "$0")/lib.sh"

ok="$FAKE_TASK --record $TMP/rules.rec"
bad="$FAKE_TASK --record $TMP/rules.rec --exit 1"
write_dag rules <<EOF2
dag_id: rules
tasks:
  - {id: start, command: $ok}
  - {id: broken, command: $bad, upstream: start}
  - {id: after_broken, command: $ok, upstream: broken}
  - {id: after_after, command: $ok, upstream: after_broken}
  - {id: on_all_failed, command: $ok, upstream: start, trigger_rule: all_failed}
  - {id: after_skip, command: $ok, upstream: on_all_failed}
  - {id: cleanup, command: $ok, upstream: [broken, after_after], trigger_rule: all_done}
  - {id: any_success, command: $ok, upstream: [start, broken], trigger_rule: one_success}
  - {id: any_failed, command: $ok, upstream: [start, broken], trigger_rule: one_failed}
  - {id: none_failed, command: $ok, upstream: [start, on_all_failed], trigger_rule: none_failed}
EOF2
# A leaf that is upstream_failed fails the run.
write_dag leaf_fails <<EOF2
dag_id: leaf_fails
tasks:
  - {id: a, command: $bad}
  - {id: b, command: $ok, upstream: a}
  - {id: c, command: $ok, upstream: a, trigger_rule: all_done}
EOF2
# A failure that only a non-leaf saw, with every leaf fine, does not.
write_dag leaf_ok <<EOF2
dag_id: leaf_ok
tasks:
  - {id: a, command: $bad}
  - {id: fix, command: $ok, upstream: a, trigger_rule: all_failed}
EOF2

start_scheduler rules leaf_fails leaf_ok
run=$(trigger rules)
lrun=$(trigger leaf_fails)
orun=$(trigger leaf_ok)

state=$(wait_run rules "$run" 15)
dagctl tasks rules "$run" --json >"$TMP/rules.json"
states=$(pyjson '" ".join("%s=%s" % (x["task_id"], x["state"]) for x in d)' <"$TMP/rules.json")
log "rules: $states"
expect="start=success broken=failed after_broken=upstream_failed after_after=upstream_failed \
on_all_failed=skipped after_skip=skipped cleanup=success any_success=success \
any_failed=success none_failed=success"
assert_eq "$states" "$expect" "task states"
# Tasks that did not run have no try and never started a process.
for t in after_broken after_after on_all_failed after_skip; do
  assert_eq "$(pyjson "[x['try_number'] for x in d if x['task_id'] == '$t'][0]" <"$TMP/rules.json")" \
    0 "tries of $t"
  assert_eq "$(rec_count "$TMP/rules.rec" start $t)" 0 "processes of $t"
done
# all_done ran only after everything upstream had finished.
cleanup_start=$(try_start "$run" cleanup)
broken_end=$(sql "SELECT t.end_date FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$run' AND t.task_id = 'broken'")
[ "$cleanup_start" -ge "$broken_end" ] || fail "cleanup started before broken ended"
# Leaves: after_skip (skipped), cleanup, any_success, any_failed, none_failed
# (success): Airflow's run is a success although a task failed.
assert_eq "$state" success "rules run state (leaves all succeeded or skipped)"

assert_eq "$(wait_run leaf_fails "$lrun" 10)" failed "run with an upstream_failed leaf"
assert_eq "$(task_state leaf_fails "$lrun" b)" upstream_failed "leaf_fails b"
assert_eq "$(task_state leaf_fails "$lrun" c)" success "leaf_fails c"
assert_eq "$(wait_run leaf_ok "$orun" 10)" success "run whose failure was handled"
assert_eq "$(task_state leaf_ok "$orun" a)" failed "leaf_ok a"
assert_eq "$(task_state leaf_ok "$orun" fix)" success "leaf_ok fix"
# The run's end is recorded and after its start.
assert_eq "$(sql "SELECT end_date >= start_date FROM dag_run WHERE run_id = '$orun'")" 1 \
  "run start/end dates"
