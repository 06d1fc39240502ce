#!/usr/bin/env bash
# What a task sees in its environment: its context variables, its own env,
# the scheduler's environment, but none of dagctl's DAGCTL__* settings, which
# carry secrets (a task that prints its environment must not leak them).
source "$(dirname "$0")/lib.sh"

write_dag envdag <<EOF
dag_id: envdag
tasks:
  - id: show
    command: env | sort
    env:
      MY_SETTING: "{{ ds }}"
EOF
export DAGCTL__WEB__TOKEN=s3cr3t-token-value-0123456789abcdef
export PLAIN_VARIABLE=inherited
run=$(dagctl test envdag --quiet)
out=$(dagctl logs envdag "$run" show)
grep -q "^PLAIN_VARIABLE=inherited$" <<<"$out" || fail "the scheduler's environment was not inherited"
grep -q "^DAGCTL_DAG_ID=envdag$" <<<"$out" || fail "DAGCTL_DAG_ID missing"
grep -q "^DAGCTL_RUN_ID=$run$" <<<"$out" || fail "DAGCTL_RUN_ID missing"
grep -q "^DAGCTL_TRY_NUMBER=1$" <<<"$out" || fail "DAGCTL_TRY_NUMBER missing"
grep -q "^MY_SETTING=[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]$" <<<"$out" || fail "the task's env was not rendered"
if grep -q "s3cr3t-token-value-0123456789abcdef\|^DAGCTL__" <<<"$out"; then
  fail "a DAGCTL__ setting reached the task: $(grep DAGCTL__ <<<"$out")"
fi
