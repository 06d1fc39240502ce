#!/usr/bin/env bash
# memory.sh - the resident memory of a scheduler holding DAGS DAGs (1,000)
# and DAGS x RUNS_PER_DAG finished task instances (100,000), while those
# DAGs run on a short schedule, sampled every SAMPLE seconds for MINUTES.
# See bench/README.md, "The scheduler's memory over time".
#
#   DAGCTL_BIN=build/dagctl MINUTES=60 bench/engine/memory.sh
#
# The finished task instances are written with SQL inserts into the schema
# that dagctl itself created (its migrations, run by `dagctl dags list`):
# one scheduled run per DAG and minute before now, each with its one task
# instance (success) and its try. Running 100,000 tasks first would take
# longer than the measurement itself on this machine, and no CLI verb
# records a finished run in bulk (`dagctl import` takes one bundle per
# process). Each DAG has one task (`true`) on `SCHEDULE` ("* * * * *"),
# catchup off, so the scheduler starts one run per DAG and minute.
#
# Each sample prints the minutes since the start, VmRSS and VmHWM of the
# scheduler (/proc/PID/status, kB), the task instances in the store and the
# load average. The scheduler runs under `nice`; it is stopped with SIGTERM
# at the end (or when the script is interrupted). WRAP runs it under a
# tool, e.g. WRAP="valgrind --leak-check=full --log-file=/tmp/vg.%p" for a
# leak report at its exit (the RSS is then valgrind's).
set -euo pipefail
DAGCTL_BIN=${DAGCTL_BIN:-build/dagctl}
DAGS=${DAGS:-1000}
RUNS_PER_DAG=${RUNS_PER_DAG:-100}
MINUTES=${MINUTES:-60}
SAMPLE=${SAMPLE:-60}
SCHEDULE=${SCHEDULE:-"* * * * *"}
WORK=${WORK:-/tmp/dagctl-bench-memory}
WRAP=${WRAP:-}
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed (apt-get install sqlite3)" >&2; exit 1; }
bindir=$(cd "$(dirname "$DAGCTL_BIN")" && pwd)
[[ -x $bindir/dagctl-supervise ]] || { echo "no dagctl-supervise beside $DAGCTL_BIN" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK/bin" "$WORK/home/dags"
# A copy, so that a rebuild during the run does not replace the binary.
cp "$bindir/dagctl" "$bindir/dagctl-supervise" "$WORK/bin/"
export DAGCTL_HOME=$WORK/home
cat >"$DAGCTL_HOME/dagctl.yaml" <<CFG
core:
  dags_folder: $DAGCTL_HOME/dags
  log_level: warn
CFG
for ((i = 0; i < DAGS; i++)); do
  printf 'dag_id: m%04d\nschedule: "%s"\nstart_date: "2024-01-01"\ncatchup: false\ntasks:\n  - id: t0\n    command: "true"\n' \
    "$i" "$SCHEDULE" >"$DAGCTL_HOME/dags/m$(printf %04d "$i").yaml"
done
"$WORK/bin/dagctl" dags list >/dev/null

now_us=$(($(date +%s) / 60 * 60 * 1000000))
sqlite3 "$DAGCTL_HOME/dagctl.db" <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i + 1 < $DAGS),
     k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j + 1 <= $RUNS_PER_DAG)
INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date, data_interval_start,
                     data_interval_end, conf, queued_at, start_date, end_date)
  SELECT printf('m%04d', i),
         'scheduled__' || strftime('%Y-%m-%dT%H:%M:%S+00:00', ($now_us - j * 60000000) / 1000000, 'unixepoch'),
         'scheduled', 'success', $now_us - j * 60000000, $now_us - j * 60000000,
         $now_us - (j - 1) * 60000000, '{}', $now_us - (j - 1) * 60000000,
         $now_us - (j - 1) * 60000000 + 1000, $now_us - (j - 1) * 60000000 + 5000
  FROM d, k;
INSERT INTO task_instance (run_pk, task_id, state, try_number, max_tries, start_date, end_date,
                           exit_code)
  SELECT id, 't0', 'success', 1, 0, start_date, end_date, 0 FROM dag_run;
INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, end_date, exit_code,
                      log_path)
  SELECT id, 't0', 1, 'success', start_date, end_date, 0, dag_id || '/' || run_id || '/t0/1.log'
  FROM dag_run;
COMMIT;
SQL
tis() { sqlite3 "$DAGCTL_HOME/dagctl.db" 'SELECT count(*) FROM task_instance'; }
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $DAGS DAGs, $(tis) task instances"

pid=
stop() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" || true
  fi
}
trap stop EXIT
rm -f "$DAGCTL_HOME/wakeup"
nice -n 10 $WRAP "$WORK/bin/dagctl" scheduler --port 0 >"$WORK/scheduler.log" 2>&1 &
pid=$!
while [[ ! -e $DAGCTL_HOME/wakeup ]]; do
  kill -0 "$pid" 2>/dev/null || { echo "the scheduler exited:" >&2; tail "$WORK/scheduler.log" >&2; exit 1; }
  sleep 0.1
done
start=$(date +%s)
printf '%-8s %10s %10s %14s  %s\n' minutes rss_kB hwm_kB task_instances load
for ((n = 0; ; n++)); do
  kill -0 "$pid" 2>/dev/null || { echo "the scheduler exited:" >&2; tail "$WORK/scheduler.log" >&2; exit 1; }
  rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
  hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
  el=$(($(date +%s) - start))
  printf '%-8s %10s %10s %14s  %s\n' "$(awk -v s="$el" 'BEGIN{printf "%.1f", s/60}')" "$rss" "$hwm" \
    "$(tis)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  ((el < MINUTES * 60)) || break
  sleep "$SAMPLE"
done
