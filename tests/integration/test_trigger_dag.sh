#!/usr/bin/env bash
# test_trigger_dag.sh - trigger_dag and external_task run by the real
# scheduler with one slot (core.parallelism: 1), so that a waiting task
# that held its slot would stall the run it waits for: the triggered run
# with its templated conf, linked both ways (API and page data), waiting
# in reschedule mode until it succeeds, failing when it fails, never
# triggering twice; external_task waiting for a task of another DAG at the
# same logical date, failing in failed_states, skipping on a soft timeout.
. "$(dirname "$0")/lib.sh"

[ -e "$DAGCTL_BUILD_DIR/plugins/dagrun.so" ] || fail "dagrun.so is not built"
echo "  parallelism: 1" >>"$DAGCTL_HOME/dagctl.yaml"

write_dag child <<'EOF'
dag_id: child
params: {n: 0}
tasks:
  - id: work
    command: echo "n="{{ params.n }}; test {{ params.n }} -lt 10
EOF
write_dag parent <<'EOF'
dag_id: parent
params: {n: 3}
tasks:
  - id: fire
    type: trigger_dag
    trigger_dag_id: child
    conf: {n: "{{ params.n }}", from: "{{ dag.dag_id }}"}
  - id: fire_and_wait
    type: trigger_dag
    trigger_dag_id: child
    trigger_run_id: "waited__{{ ds }}"
    conf: {n: 5}
    wait_for_completion: true
    poke_interval: 200ms
    upstream: fire
  - id: after
    command: echo "child run "{{ ti.xcom.fire_and_wait.trigger_run_id }}
    upstream: fire_and_wait
EOF
write_dag parent_fails <<'EOF'
dag_id: parent_fails
tasks:
  - id: fire_and_wait
    type: trigger_dag
    trigger_dag_id: child
    conf: {n: 50}
    wait_for_completion: true
    poke_interval: 200ms
EOF
write_dag upstream_dag <<'EOF'
dag_id: upstream_dag
tasks:
  - id: produce
    command: "true"
  - id: broken
    command: exit 3
EOF
write_dag waits <<'EOF'
dag_id: waits
tasks:
  - id: wait_produce
    type: external_task
    external_dag_id: upstream_dag
    external_task_id: produce
    mode: reschedule
    poke_interval: 200ms
    timeout: 1m
  - id: wait_broken
    type: external_task
    external_dag_id: upstream_dag
    external_task_id: broken
    failed_states: [failed, upstream_failed]
    mode: reschedule
    poke_interval: 200ms
    timeout: 1m
  - id: wait_yesterday
    type: external_task
    external_dag_id: upstream_dag
    execution_delta: 1d
    mode: reschedule
    poke_interval: 200ms
    timeout: 2s
    soft_fail: true
EOF
start_scheduler child parent parent_fails upstream_dag waits

run=$(trigger parent)
assert_eq "$(wait_run parent "$run" 60)" success "parent run"
ds=${run#manual__}
ds=${ds:0:10}
for t in fire fire_and_wait after; do
  assert_eq "$(task_state parent "$run" $t)" success "parent task $t"
done
xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.dag_id = '$1' AND r.run_id = '$2' AND x.task_id = '$3' AND x.key = '$4'"
}
fired=$(xcom parent "$run" fire trigger_run_id | pyjson d)
assert_eq "$(xcom parent "$run" fire_and_wait trigger_run_id)" "\"waited__$ds\"" "waited run id"
grep -qF "child run waited__$ds" "$DAGCTL_HOME/logs/parent/$run/after/1.log" ||
  fail "the XCom did not reach the downstream task"
# Exactly two child runs, with the rendered conf, both succeeded.
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'child'")" 2 "child runs"
assert_eq "$(sql "SELECT conf FROM dag_run WHERE dag_id = 'child' AND run_id = '$fired'")" \
  '{"n":"3","from":"parent"}' "fired conf"
assert_eq "$(wait_run child "$fired" 30)" success "fired child run"
assert_eq "$(run_state child "waited__$ds")" success "waited child run"
grep -qxF "n=5" "$DAGCTL_HOME/logs/child/waited__$ds/work/1.log" || fail "child did not get n=5"
# It waited in reschedule mode: at least one "not yet", one try, and the
# child's task ran meanwhile in the only slot.
log=$DAGCTL_HOME/logs/parent/$run/fire_and_wait/1.log
grep -qF "triggered child run waited__$ds" "$log" || fail "no trigger in the log: $(cat "$log")"
grep -qF "not yet: child run waited__$ds is" "$log" || fail "no wait in the log: $(cat "$log")"
grep -qF "child run waited__$ds is success" "$log" || fail "no success in the log: $(cat "$log")"
assert_eq "$(grep -c "triggered child run" "$log")" 1 "triggers by one task"
assert_eq "$(sql "SELECT try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
                  WHERE r.run_id = '$run' AND ti.task_id = 'fire_and_wait'")" 1 "tries of the waiting task"

# Linked both ways, in the API the page reads.
api() {
  curl -sf "${SCHED_URL%/}/api/v1/dags/$1/dagRuns/$2"
}
[ -n "$SCHED_URL" ] || fail "no status page"
links=$(api parent "$run")
assert_eq "$(pyjson '[[x["dag_id"], x["dag_run_id"], x["task_id"], x["state"]] for x in d["triggered"]]' <<<"$links")" \
  "$(printf '%s\n' "[\"child\", \"$fired\", \"fire\", \"success\"]" "[\"child\", \"waited__$ds\", \"fire_and_wait\", \"success\"]")" \
  "runs the parent triggered"
assert_eq "$(pyjson 'd["triggered_by"]' <<<"$links")" null "the parent was not triggered"
back=$(api child "waited__$ds")
assert_eq "$(pyjson '[d["triggered_by"]["dag_id"], d["triggered_by"]["dag_run_id"], d["triggered_by"]["task_id"]]' <<<"$back")" \
  "$(printf '%s\n' parent "$run" fire_and_wait)" "the child's triggering run"
assert_eq "$(pyjson 'len(d["triggered"])' <<<"$back")" 0 "runs the child triggered"

# A triggered run that fails fails the waiting task.
run=$(trigger parent_fails)
assert_eq "$(wait_run parent_fails "$run" 60)" failed "parent_fails run"
assert_eq "$(task_state parent_fails "$run" fire_and_wait)" failed "task waiting on a failed run"
grep -qE "child run manual__.* ended failed \(failed_states\)" \
  "$DAGCTL_HOME/logs/parent_fails/$run/fire_and_wait/1.log" || fail "no failed_states in the log"
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'child'")" 3 "child runs after parent_fails"

# external_task: waits at the same logical date until the other DAG runs.
at=2026-01-02T00:00:00+00:00
wrun=$(trigger waits --logical-date "$at")
wait_for "grep -q 'not yet: upstream_dag has no such task in a run at 2026-01-02T00:00:00' '$DAGCTL_HOME/logs/waits/$wrun/wait_produce/1.log'" 30
assert_eq "$(run_state waits "$wrun")" running "waits while upstream_dag has no run"
# Another logical date does not count.
other=$(trigger upstream_dag --logical-date 2026-01-03T00:00:00Z)
assert_eq "$(wait_run upstream_dag "$other" 30)" failed "other upstream run"
urun=$(trigger upstream_dag --logical-date "$at")
assert_eq "$(wait_run upstream_dag "$urun" 30)" failed "upstream run (broken fails)"
assert_eq "$(wait_run waits "$wrun" 60)" failed "waits run"
assert_eq "$(task_state waits "$wrun" wait_produce)" success "wait_produce"
assert_eq "$(task_state waits "$wrun" wait_broken)" failed "wait_broken"
assert_eq "$(task_state waits "$wrun" wait_yesterday)" skipped "wait_yesterday (soft_fail)"
logs=$DAGCTL_HOME/logs/waits/$wrun
grep -qF "upstream_dag.produce at 2026-01-02T00:00:00+00:00 is success" "$logs/wait_produce/1.log" ||
  fail "wait_produce log: $(cat "$logs/wait_produce/1.log")"
grep -qF "upstream_dag.broken at 2026-01-02T00:00:00+00:00 is failed (failed_states)" "$logs/wait_broken/1.log" ||
  fail "wait_broken log: $(cat "$logs/wait_broken/1.log")"
grep -qF "timed out after 2s waiting for upstream_dag.(run) at 2026-01-01T00:00:00+00:00; soft_fail: skipping" \
  "$logs/wait_yesterday/1.log" || fail "wait_yesterday log: $(cat "$logs/wait_yesterday/1.log")"

# Misuse is a located error.
write_dag bad <<'EOF'
dag_id: bad
tasks:
  - id: a
    type: trigger_dag
    trigger_dag: child
  - id: b
    type: external_task
    external_dag_id: child
    allowed_states: success
EOF
out=$(dagctl validate "$DAGCTL_DAGS/bad.yaml" 2>&1) && fail "bad.yaml validated"
f=$DAGCTL_DAGS/bad.yaml
grep -qxF "$f:5:5: tasks[0].trigger_dag: unknown key 'trigger_dag' (did you mean 'trigger_dag_id'?)" <<<"$out" ||
  fail "no trigger_dag error: $out"
grep -qxF "$f:3:5: tasks[0].trigger_dag_id: required key is missing (task type trigger_dag needs it)" <<<"$out" ||
  fail "no trigger_dag_id error: $out"
grep -qxF "$f:9:21: tasks[1].allowed_states: expected a list, got 'success'" <<<"$out" ||
  fail "no allowed_states error: $out"
