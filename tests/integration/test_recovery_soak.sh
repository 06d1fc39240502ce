#!/usr/bin/env bash
# The scheduler killed with SIGKILL at 100 random instants while runs of a
# 20-task chain go on (retries 0). Each task appends start and end to a trace
# under flock, and fails if another instance of itself (same run, same task)
# is running. After the last restart every run must succeed, and every task
# must have started once and ended once: tasks running at a kill keep running
# and are adopted, a task that ended while no scheduler ran is recorded with
# its real outcome, and nothing runs twice. The instants come from a seeded
# RNG: SOAK_SEED=N reproduces a run (the seed is printed on failure), and
# SOAK_KILLS sets their number.
source "$(dirname "$0")/lib.sh"

SEED=${SOAK_SEED:-$(($(date +%s) % 32768))}
KILLS=${SOAK_KILLS:-100}
RANDOM=$SEED
log "seed=$SEED kills=$KILLS"
soak_fail() { fail "$* (SOAK_SEED=$SEED)"; }

mkdir -p "$TMP/locks"
cat >"$TMP/task.sh" <<EOF
#!/bin/sh
# One task of the chain: a record of its start and end in the trace, and an
# overlap check through a lock held while it runs.
key="\$DAGCTL_RUN_ID \$DAGCTL_TASK_ID \$DAGCTL_TRY_NUMBER \$\$"
rec() { flock $TMP/trace.lock sh -c 'printf "%s\n" "\$0" >> $TMP/trace' "\$1 \$key"; }
trap 'rec term; exit 143' TERM
exec 8>"$TMP/locks/\$DAGCTL_RUN_ID.\$DAGCTL_TASK_ID"
if ! flock -n 8; then
  rec overlap
  exit 1
fi
rec start
sleep 0.\$((\$\$ % 3 + 1))
rec end
EOF
chmod +x "$TMP/task.sh"
{
  printf 'dag_id: soak\nmax_active_runs: 2\ndefault_args:\n  retries: 0\ntasks:\n'
  for i in $(seq 1 20); do
    printf '  - id: t%02d\n    command: %s\n' "$i" "$TMP/task.sh"
    [ "$i" -gt 1 ] && printf '    upstream: t%02d\n' $((i - 1))
  done
} | write_dag soak

active() { sql "SELECT count(*) FROM dag_run WHERE dag_id = 'soak' AND state IN ('queued', 'running')"; }

SOAK_LOG=$TMP/scheduler.soak.log
trigger soak >/dev/null # creates the database
runs=1
for ((k = 1; k <= KILLS; k++)); do
  # Two runs at a time, so that kills find two tasks at once as well.
  while [ "$(active)" -lt 2 ]; do
    trigger soak >/dev/null
    runs=$((runs + 1))
  done
  # A random instant in the scheduler's life: during its recovery, while
  # tasks run, between them, while a task is being spawned and recorded.
  delay_ms=$((RANDOM % 700))
  "$DAGCTL_BIN" scheduler --port 0 >>"$SOAK_LOG" 2>&1 &
  pid=$!
  SCHED_PIDS+=("$pid")
  disown "$pid"
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null || soak_fail "the scheduler had exited before kill $k (see $SOAK_LOG)"
  wait_for "! proc_alive $pid" 5
done
log "$KILLS kills, $runs runs triggered"

start_scheduler soak
wait_for "[ \"\$(active)\" = 0 ]" 120
states=$(sql "SELECT state, count(*) FROM dag_run WHERE dag_id = 'soak' GROUP BY state")
assert_eq "$states" "success|$runs" "run states (every run succeeds with retries 0; SOAK_SEED=$SEED)"
tries=$(sql "SELECT count(*) FROM task_instance WHERE state = 'success' AND try_number = 1")
assert_eq "$tries" $((runs * 20)) "tasks that succeeded at their first try (SOAK_SEED=$SEED)"

"$PYTHON" - "$TMP/trace" "$runs" <<'PY' || soak_fail "the trace shows a task run twice, stopped or overlapping"
import collections, sys
seen = collections.defaultdict(list)
bad = []
for line in open(sys.argv[1]):
    what, run, task, try_number, pid = line.split()
    seen[(run, task)].append(what)
    if what in ("term", "overlap"):
        bad.append(line.strip())
for key, events in seen.items():
    if events != ["start", "end"]:
        bad.append("%s %s: %s" % (key[0], key[1], " ".join(events)))
want = int(sys.argv[2]) * 20
if len(seen) != want:
    bad.append("%d tasks in the trace, %d expected" % (len(seen), want))
for b in bad[:20]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The kills must have hit running tasks: else this test proves nothing.
adopted=$(grep -c 'adopted a task' "$SOAK_LOG" "$SCHED_LOG" | awk -F: '{ n += $2 } END { print n }')
log "adoptions: $adopted (of which unrecorded tries recorded at restart:" \
  "$(cat "$SOAK_LOG" "$SCHED_LOG" | grep -c 'never recorded' || true))"
[ "$adopted" -ge 20 ] || soak_fail "only $adopted adoptions in $KILLS kills"
