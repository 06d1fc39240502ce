#!/usr/bin/env bash
# What a try cost: a task that allocates and touches 200 MiB and burns 1 s of
# CPU shows those figures, within 10 %, in `dagctl tasks --json`, in the JSON
# API (task instance and tries), in /metrics, and in the database. A second
# task does the same work in a background child of its shell and is adopted
# by a restarted scheduler (the first one killed with SIGKILL while it runs):
# its figures come from its status file and cover its whole process tree.
. "$(dirname "$0")/lib.sh"
need curl

rec=$TMP/usage.rec
write_dag usage <<EOF
dag_id: usage
tasks:
  - id: work
    argv: [$FAKE_TASK, --alloc-mb, "200", --cpu, "1"]
  - id: adopted
    upstream: work
    command: $FAKE_TASK --record $rec --alloc-mb 200 --cpu 1 --sleep 1 & wait
EOF

# within ACTUAL EXPECTED WHAT: ACTUAL within 10 % of EXPECTED.
within() {
  "$PYTHON" -c 'import sys; a, e = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - e) > 0.1 * e)' \
    "$1" "$2" || fail "$3: $1 is not within 10% of $2"
}
MIB200=$((200 * 1024 * 1024))

start_scheduler usage
run=$(trigger usage)
# The second task runs: the scheduler dies, its supervisor goes on.
wait_for "[ \"\$(rec_count '$rec' start adopted)\" = 1 ]" 30
crash_scheduler
start_scheduler usage
assert_eq "$(wait_run usage "$run" 30)" success "run state"
grep -q 'adopted a task' "$SCHED_LOG" || fail "the second task was not adopted (see $SCHED_LOG)"

# The CLI.
dagctl tasks usage "$run" --json >"$TMP/tasks.json"
for t in work adopted; do
  rss=$(pyjson "[x['max_rss_bytes'] for x in d if x['task_id'] == '$t'][0]" <"$TMP/tasks.json")
  cpu=$(pyjson "[x['cpu_user_seconds'] + x['cpu_system_seconds'] for x in d if x['task_id'] == '$t'][0]" \
    <"$TMP/tasks.json")
  wall=$(pyjson "[x['wall_seconds'] for x in d if x['task_id'] == '$t'][0]" <"$TMP/tasks.json")
  log "$t: max_rss_bytes=$rss cpu_seconds=$cpu wall_seconds=$wall"
  within "$rss" "$MIB200" "$t: max RSS (dagctl tasks --json)"
  within "$cpu" 1 "$t: CPU seconds (dagctl tasks --json)"
  "$PYTHON" -c 'import sys; sys.exit(not float(sys.argv[1]) >= float(sys.argv[2]))' "$wall" "$cpu" ||
    fail "$t: wall time $wall shorter than its CPU time $cpu"
done
dagctl tasks usage "$run" | grep -E '^work +success .* 20[0-9]\.[0-9]M +(0\.9|1\.0)' >/dev/null ||
  fail "dagctl tasks: no MAX_RSS/CPU figures for work: $(dagctl tasks usage "$run")"

# The API: the task instance and its tries.
B=${SCHED_URL%/}
curl -sSf "$B/api/v1/dags/usage/dagRuns/$run/taskInstances/adopted" >"$TMP/ti.json"
within "$(pyjson 'd["max_rss_bytes"]' <"$TMP/ti.json")" "$MIB200" "adopted: max RSS (API)"
within "$(pyjson 'd["cpu_user_seconds"] + d["cpu_system_seconds"]' <"$TMP/ti.json")" 1 \
  "adopted: CPU seconds (API)"
curl -sSf "$B/api/v1/dags/usage/dagRuns/$run/tries?task_id=work" >"$TMP/tries.json"
within "$(pyjson 'd["task_tries"][0]["max_rss_bytes"]' <"$TMP/tries.json")" "$MIB200" \
  "work: max RSS (API tries)"

# The database, and /metrics.
assert_eq "$(sql "SELECT count(*) FROM task_try WHERE max_rss_kb > 0 AND wall_us > 0")" 2 \
  "tries with their cost recorded"
curl -sSf "$B/metrics" >"$TMP/metrics"
assert_eq "$(sed -n 's/^dagctl_task_max_rss_bytes_count //p' "$TMP/metrics")" 2 "metrics: tries counted"
cpu_total=$(awk '/^dagctl_task_cpu_seconds_total/ { s += $2 } END { print s }' "$TMP/metrics")
within "$cpu_total" 2 "metrics: CPU seconds of both tries"
