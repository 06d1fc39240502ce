#!/usr/bin/env bash
# A task's environment is the scheduler's own, whatever time zones other DAGs
# use: one DAG scheduled in America/New_York (its cron is evaluated as soon as
# the scheduler loads it), another DAG's task prints its environment, which
# must equal the scheduler's (less the DAGCTL_* context variables), with no TZ
# added or changed. Run once without TZ and once with TZ set.
source "$(dirname "$0")/lib.sh"

# catchup off and a start_date in the past: the scheduler creates the latest
# complete interval's run at once, so its New York cron has been evaluated
# before anything else is triggered.
write_dag nydag <<EOF
dag_id: nydag
schedule: "0 2 * * *"
timezone: America/New_York
start_date: "2024-01-01"
catchup: false
tasks:
  - id: noop
    argv: [/bin/true]
EOF
# env(1) run directly, with no shell in between to add or change variables.
write_dag envprint <<EOF
dag_id: envprint
tasks:
  - id: show
    argv: [/usr/bin/env]
EOF

# The environment a process started with, one NAME=value a line, sorted,
# without dagctl's DAGCTL_* variables (the scheduler adds context ones).
proc_env() { tr '\0' '\n' <"/proc/$1/environ" | grep -v '^DAGCTL_' | sort; }

check_task_env() {
  local what=$1 want_tz=$2 ny run out
  wait_for "[ -n \"\$(sql \"SELECT run_id FROM dag_run WHERE dag_id = 'nydag' AND run_type = 'scheduled'\")\" ]" 10
  ny=$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'nydag' AND run_type = 'scheduled' LIMIT 1")
  run=$(trigger envprint)
  assert_eq "$(wait_run envprint "$run" 20)" success "envprint run ($what)"
  # The log's own "[dagctl] ..." lines frame the task's output.
  out=$(dagctl logs envprint "$run" show | grep -v '^DAGCTL_\|^\[dagctl\] ' | sort)
  local tz_line
  tz_line=$(grep '^TZ=' <<<"$out" || true)
  assert_eq "$tz_line" "$want_tz" "TZ seen by the task ($what, after $ny)"
  local diff_out
  diff_out=$(diff <(proc_env "$SCHED_PID") <(printf '%s\n' "$out") || true)
  [ -z "$diff_out" ] || fail "the task's environment differs from the scheduler's ($what):
$diff_out"
  # The scheduler itself still has the environment it started with.
  [ -z "$(tr '\0' '\n' <"/proc/$SCHED_PID/environ" | grep '^TZ=America/New_York$' || true)" ] ||
    fail "the scheduler started with TZ=America/New_York"
}

unset TZ
export PLAIN_MARKER=kept
start_scheduler nydag envprint
check_task_env "no TZ" ""
stop_scheduler

export TZ=Asia/Tokyo
start_scheduler nydag envprint
check_task_env "TZ=Asia/Tokyo" "TZ=Asia/Tokyo"
stop_scheduler
