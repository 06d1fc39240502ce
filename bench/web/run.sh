#!/usr/bin/env bash
# run.sh - the status page's API under load: wrk against GET /api/v1/dags
# and the grid endpoint of a 900-task DAG with 25 runs (22,500 task
# instances), served by `dagctl scheduler` on its own loop. See
# bench/README.md, "Web API".
#
#   bench/web/run.sh
#   DURATION=30s CONNECTIONS=128 bench/web/run.sh
#   DAGCTL_BIN=build/dagctl bench/web/run.sh
#
# Knobs: DAGCTL_BIN (default: build one, Release, in BUILD=<repo>/build-bench-web),
# DURATION (wrk run, 10s), THREADS (wrk threads, 2), CONNECTIONS (for the
# list, 64), GRID_CONNECTIONS (8), TASKS (900), RUNS (25), SMALL_DAGS (9
# more DAGs in the list), KEEP=1 keeps the work folder.
#
# The runs are written straight into the database with one SQL script:
# executing 25 x 900 tasks would measure the executor, not the page.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
GRID_CONNECTIONS=${GRID_CONNECTIONS:-8}
TASKS=${TASKS:-900}
RUNS=${RUNS:-25}
SMALL_DAGS=${SMALL_DAGS:-9}

for tool in wrk curl sqlite3 python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install wrk curl sqlite3 python3)" >&2; exit 1; }
done
if [[ -z ${DAGCTL_BIN:-} ]]; then
  BUILD=${BUILD:-$REPO/build-bench-web}
  echo "# building dagctl (Release) in $BUILD" >&2
  cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target dagctl >/dev/null
  DAGCTL_BIN=$BUILD/dagctl
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dagctl-bench-web.XXXXXX")
SCHED=
cleanup() {
  [[ -n $SCHED ]] && kill "$SCHED" 2>/dev/null && wait "$SCHED" 2>/dev/null || true
  [[ ${KEEP:-0} == 1 ]] && echo "# kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
export DAGCTL_HOME=$WORK/home DAGCTL_DAGS=$WORK/dags
mkdir -p "$DAGCTL_HOME" "$DAGCTL_DAGS"
printf 'core:\n  log_level: info\n' >"$DAGCTL_HOME/dagctl.yaml"

# A layered DAG: rows of 30 tasks, each after one or two of the row before.
python3 - "$TASKS" "$SMALL_DAGS" "$DAGCTL_DAGS" <<'EOF'
import sys
n, small, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
width = 30
lines = ["dag_id: bench900", "description: %d tasks in rows of %d" % (n, width), "tasks:"]
for i in range(n):
    lines.append("  - id: t%04d" % i)
    lines.append("    command: 'true'")
    row, col = divmod(i, width)
    if row:
        up = sorted({(row - 1) * width + col, (row - 1) * width + (col * 7 + 3) % width})
        lines.append("    upstream: [%s]" % ", ".join("t%04d" % u for u in up))
open(out + "/bench900.yaml", "w").write("\n".join(lines) + "\n")
for k in range(small):
    open(out + "/small_%02d.yaml" % k, "w").write(
        "dag_id: small_%02d\ndescription: a small DAG\nschedule: '@daily'\nstart_date: '2024-01-01'\n"
        "catchup: false\nis_paused_upon_creation: true\ntags: [bench]\ntasks:\n"
        "  - id: a\n    command: 'true'\n  - id: b\n    upstream: a\n    command: 'true'\n" % k)
EOF

"$DAGCTL_BIN" scheduler --port 0 >"$WORK/scheduler.log" 2>&1 &
SCHED=$!
for _ in $(seq 1 200); do
  grep -q 'web server listening' "$WORK/scheduler.log" 2>/dev/null && break
  kill -0 "$SCHED" 2>/dev/null || { cat "$WORK/scheduler.log" >&2; exit 1; }
  sleep 0.05
done
B=$(sed -n 's/.*web server listening url=\(http[^ ]*\)\/.*/\1/p' "$WORK/scheduler.log" | tail -n 1)
[[ -n $B ]] || { echo "run.sh: the scheduler serves no page" >&2; cat "$WORK/scheduler.log" >&2; exit 1; }
for _ in $(seq 1 200); do
  curl -sf "$B/api/v1/dags/bench900" >/dev/null && break
  sleep 0.05
done

# Finished runs, one task instance and one try per task and run, with a
# sprinkle of failures: the scheduler leaves finished runs alone.
t0=$(date +%s%6N)
sqlite3 -batch "$DAGCTL_HOME/dagctl.db" <<EOF
.timeout 10000
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $RUNS)
INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date, data_interval_start,
                     data_interval_end, conf, queued_at, start_date, end_date)
SELECT 'bench900', printf('scheduled__bench_%03d', i), 'scheduled',
       CASE WHEN i % 6 = 0 THEN 'failed' ELSE 'success' END,
       t, t, t + 86400000000, '{}', t, t + 1000000, t + 900000000
FROM (SELECT i, 1700000000000000 + i * 86400000000 AS t FROM n);
INSERT INTO task_instance (run_pk, task_id, state, try_number, max_tries, start_date, end_date)
SELECT r.id, json_extract(j.value, '$.task_id'),
       CASE abs(random()) % 40 WHEN 0 THEN 'failed' WHEN 1 THEN 'upstream_failed'
                               WHEN 2 THEN 'skipped' ELSE 'success' END,
       1, 1, r.start_date + j.key * 900000, r.start_date + j.key * 900000 + abs(random()) % 60000000
FROM dag_run r, dag d, json_each(d.graph) j
WHERE r.dag_id = 'bench900' AND d.dag_id = 'bench900';
INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, end_date, exit_code, log_path)
SELECT ti.run_pk, ti.task_id, 1, ti.state, ti.start_date, ti.end_date, 0,
       'bench900/' || r.run_id || '/' || ti.task_id || '/1.log'
FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.dag_id = 'bench900';
COMMIT;
EOF
t1=$(date +%s%6N)
cells=$(sqlite3 "$DAGCTL_HOME/dagctl.db" "SELECT count(*) FROM task_instance")
echo "# generated $RUNS runs, $cells task instances in $(( (t1 - t0) / 1000 )) ms"

GRID="$B/api/v1/dags/bench900/grid?limit=$RUNS"
curl -sf "$GRID" -o "$WORK/grid.json"
python3 - "$WORK/grid.json" "$TASKS" "$RUNS" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))
n, runs = int(sys.argv[2]), int(sys.argv[3])
assert len(g["tasks"]) == n and len(g["dag_runs"]) == runs, (len(g["tasks"]), len(g["dag_runs"]))
assert all(len(t["states"]) == runs and None not in t["states"] for t in g["tasks"])
EOF
size=$(wc -c <"$WORK/grid.json")

# time_total of N requests, as "min median max" in ms.
timings() {
  sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "min %.1f ms, median %.1f ms, max %.1f ms", t[1], t[int((NR + 1) / 2)], t[NR] }'
}
echo
echo "== single grid requests ($TASKS tasks x $RUNS runs, $((size / 1024)) KiB of JSON), curl, 20 in a row"
echo "computed each time:  $(for i in $(seq 1 20); do curl -sf -o /dev/null -w '%{time_total}\n' "$GRID&bench_nocache=$i"; done | timings)"
echo "from the cache:      $(for _ in $(seq 1 20); do curl -sf -o /dev/null -w '%{time_total}\n' "$GRID"; done | timings)"

wrk_summary() {
  awk -v what="$1" '
    /Requests\/sec/ { rps = $2 }
    /^ +Latency / && !lat { lat = $2; max = $4 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%-44s %8.0f req/s   latency avg %-8s p50 %-8s p99 %-8s max %s%s\n",
          what, rps, lat, p50, p99, max, bad ? "   NON-2xx: " bad : "" }'
}
bench() { # NAME CONNECTIONS URL [wrk args]
  local name=$1 conns=$2 url=$3
  shift 3
  wrk -t"$((conns < THREADS ? conns : THREADS))" -c"$conns" -d"$DURATION" --latency "$@" "$url" >"$WORK/wrk.txt"
  wrk_summary "$name (c=$conns)" <"$WORK/wrk.txt"
}

echo
echo "== wrk ($THREADS threads, $DURATION each)"
bench "GET /api/v1/dags" "$CONNECTIONS" "$B/api/v1/dags"
bench "GET /api/v1/dags, computed each time" "$CONNECTIONS" "$B/api/v1/dags" -s "$here/unique.lua"
bench "GET grid" "$GRID_CONNECTIONS" "$GRID"
bench "GET grid, computed each time" "$GRID_CONNECTIONS" "$GRID" -s "$here/unique.lua"
bench "GET grid, computed each time" 1 "$GRID" -s "$here/unique.lua"
bench "GET /api/v1/health" "$CONNECTIONS" "$B/api/v1/health"
echo
echo "== the scheduler's loop lag after the load"
curl -sf "$B/metrics" | grep -E '^dagctl_scheduler_loop_lag'
echo
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
