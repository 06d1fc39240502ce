#!/usr/bin/env bash
# `dagctl test` of a DAG whose task names a pool that does not exist ends,
# as Airflow's `dags test` does (it runs tasks without pools): the task runs
# and the missing pool is a warning. Under the scheduler the same task waits
# for its pool (test_pools); a test run has nobody to create it.
. "$(dirname "$0")/lib.sh"
export DAGCTL_DAGS=$TMP/dags

write_dag lostpool <<'YAML'
dag_id: lostpool
tasks:
  - id: lost
    command: echo ran
    pool: nowhere
  - id: after
    command: echo after
    upstream: [lost]
YAML

rc=0
run=$(timeout 60 "$DAGCTL_BIN" test lostpool --quiet 2>"$TMP/test.err") || rc=$?
[ "$rc" -ne 124 ] || fail "dagctl test still waiting after 60 s for pool 'nowhere'"
[ "$rc" -eq 0 ] || { cat "$TMP/test.err" >&2; fail "dagctl test exited $rc, expected 0"; }
assert_eq "$(task_state lostpool "$run" lost)" success "lost"
assert_eq "$(task_state lostpool "$run" after)" success "after"
grep -q "pool does not exist.*task=lost pool=nowhere" "$TMP/test.err" \
  || { cat "$TMP/test.err" >&2; fail "no warning naming the missing pool"; }
log "ok"
