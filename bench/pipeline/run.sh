#!/usr/bin/env bash
# run.sh - spotify_data_basic end to end on the embedded defaults, RUNS
# times, and the seconds each task took. See bench/README.md, "The
# pipeline end to end".
#
#   bench/pipeline/run.sh                         # 10 runs of the DAG in dags/
#   RUNS=3 DAGCTL_BIN=build-old/dagctl bench/pipeline/run.sh
#
# Knobs:
#   DAGCTL_BIN  the dagctl to run (default <repo>/build/dagctl; its plugins
#               are found beside it, as `make demo` finds them)
#   DAGS        the folder holding spotify_data_basic.yaml and spotify_dbt
#               (default <repo>/dags)
#   RUNS        runs, one after the other (10)
#   KEEP        1: keep the home folder (state, logs, lake, warehouse)
#
# Each run is a first run, as `make demo` makes it: a scheduler on a fresh
# home (embedded Kafka, local lake, SQLite warehouse: nothing configured),
# `dagctl trigger --wait`, the scheduler stopped. (A second run on the same
# home is not comparable: its sensor finds the first run's objects.)
# The figures come from the state database: a run from its dag_run start
# to its end; a task from the end of its last upstream task to the end of
# its last try (medians, with min and max, over the runs).
# Every run must succeed; a failed run fails the benchmark.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$here/../.." && pwd)
DAGCTL_BIN=${DAGCTL_BIN:-$REPO/build/dagctl}
DAGS=${DAGS:-$REPO/dags}
RUNS=${RUNS:-10}
DAG=spotify_data_basic

for tool in python3 sqlite3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done
[ -x "$DAGCTL_BIN" ] || { echo "run.sh: not executable: $DAGCTL_BIN (build it first)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-pipeline.XXXXXX")
SCHED=
finish() {
  local rc=$?
  if [ -n "$SCHED" ]; then
    kill -TERM "$SCHED" 2>/dev/null || true
    wait "$SCHED" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "# kept $TMP" >&2; else rm -rf "$TMP"; fi
  return "$rc"
}
trap finish EXIT

# one_run I: a fresh home and scheduler, one triggered run, its times
# appended to $TMP/times.txt; the scheduler is stopped again.
one_run() {
  export DAGCTL_HOME=$TMP/home$1 DAGCTL_DAGS=$TMP/dags
  mkdir -p "$DAGCTL_HOME"
  "$DAGCTL_BIN" scheduler --port 0 >"$DAGCTL_HOME/scheduler.log" 2>&1 &
  SCHED=$!
  # The scheduler creates its wake-up file once it has loaded the DAG folder.
  for _ in $(seq 1 500); do
    [ -e "$DAGCTL_HOME/wakeup" ] && break
    kill -0 "$SCHED" 2>/dev/null || { tail -n 20 "$DAGCTL_HOME/scheduler.log" >&2; exit 1; }
    sleep 0.02
  done
  [ -e "$DAGCTL_HOME/wakeup" ] || { echo "run.sh: the scheduler did not start" >&2; exit 1; }
  local run_id
  run_id=$(timeout 300 "$DAGCTL_BIN" trigger "$DAG" --wait 2>"$TMP/trigger.log") || {
    echo "run.sh: run $1 failed: $(cat "$TMP/trigger.log")" >&2
    exit 1
  }
  kill -TERM "$SCHED"
  wait "$SCHED" || true
  SCHED=
  echo "# run $1: $run_id"
  sqlite3 -separator ' ' "$DAGCTL_HOME/dagctl.db" "
    SELECT $1, '_run', r.state, (r.end_date - r.start_date) / 1e6
    FROM dag_run r WHERE r.dag_id = '$DAG';
    SELECT $1, t.task_id, '-', (max(t.end_date) - r.start_date) / 1e6
    FROM task_try t JOIN dag_run r ON r.id = t.run_pk
    WHERE r.dag_id = '$DAG' GROUP BY r.id, t.task_id;" >>"$TMP/times.txt"
  sqlite3 "$DAGCTL_HOME/dagctl.db" "SELECT graph FROM dag WHERE dag_id = '$DAG'" >"$TMP/graph.json"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$DAGCTL_HOME"
}

mkdir -p "$TMP/dags"
cp "$DAGS/$DAG.yaml" "$TMP/dags/"
cp -r "$DAGS/spotify_dbt" "$TMP/dags/"
echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $("$DAGCTL_BIN" version 2>/dev/null | head -n1), $RUNS runs of $DAG, each on a fresh home"
for i in $(seq 1 "$RUNS"); do one_run "$i"; done
echo "# load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$TMP/times.txt" "$TMP/graph.json" <<'EOF'
import json, statistics, sys
# A task's time runs from the end of its last upstream task (the run's start
# for the first) to the end of its last try: a sensor in reschedule mode
# keeps only its last poke's start, and the wait before a task starts is
# part of what the run costs.
graph = json.load(open(sys.argv[2]))
ends, runs, states = {}, {}, {}
for line in open(sys.argv[1]):
    run, task, state, secs = line.split()
    if task == "_run":
        runs[run], states[run] = float(secs), state
    else:
        ends.setdefault(run, {})[task] = float(secs)
bad = [r for r, s in states.items() if s != "success"]
if bad:
    sys.exit(f"run.sh: runs not successful: {bad}")
med = statistics.median
print(f"{'task':<24} {'ready at s':>10} {'ends at s':>9} {'takes s':>8} {'min':>6} {'max':>6}")
for node in graph:
    t, ups = node["task_id"], node["upstream"]
    ready = [max((e[u] for u in ups), default=0.0) for e in ends.values()]
    end = [e[t] for e in ends.values()]
    took = [b - a for a, b in zip(ready, end)]
    print(f"{t:<24} {med(ready):>10.3f} {med(end):>9.3f} {med(took):>8.3f} "
          f"{min(took):>6.3f} {max(took):>6.3f}")
v = list(runs.values())
print(f"{'end to end (the run)':<24} {'':>10} {'':>9} {med(v):>8.3f} {min(v):>6.3f} {max(v):>6.3f}")
print(f"runs={len(v)} median_s={med(v):.3f} target_s=5 {'met' if med(v) < 5 else 'NOT met'}")
EOF
