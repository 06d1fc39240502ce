#!/usr/bin/env bash
# bench/scaleout/run.sh - no-op tasks per minute and task-end-to-downstream-
# start latency, for the local executor and for 1, 2 and 4 `dagctl worker`
# processes (core.executor: workers), on SQLite and, with PG=1, on a private
# PostgreSQL server this script starts (Debian's initdb/pg_ctl).
#
#   bench/scaleout/run.sh                       # dagctl from build-bench (Release)
#   DAGCTL_BIN=build/dagctl PG=1 WORKERS="1 2 4" bench/scaleout/run.sh
#
# Knobs: FANOUT (1000 no-op tasks in one run), CHAIN (100 tasks one after
# the other), WORKERS ("1 2 4"), CONCURRENCY (8 tries per worker), PG (0),
# WORK (/tmp/dagctl-bench-scaleout), PG_STATS (0; 1: the server counts
# statements with pg_stat_statements, and each case writes its statements
# per task, every process together, to WORK/CASE/statements.txt). Every figure comes from the store's
# times (microseconds): throughput is FANOUT over the span from the first
# try's start to the last one's end; latency is, for each edge of the
# chain, the downstream try's start (recorded when it is spawned, or when a
# worker claims it) minus the upstream try's end (when the scheduler
# recorded it, or when the worker reported it).
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FANOUT=${FANOUT:-1000}
CHAIN=${CHAIN:-100}
WORKERS=${WORKERS:-1 2 4}
CONCURRENCY=${CONCURRENCY:-8}
PG=${PG:-0}
PG_STATS=${PG_STATS:-0}
WORK=${WORK:-/tmp/dagctl-bench-scaleout}
if [ -z "${DAGCTL_BIN:-}" ]; then
  cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DDAGCTL_TESTS=OFF >/dev/null
  cmake --build "$ROOT/build-bench" -j2 --target dagctl >/dev/null
  DAGCTL_BIN=$ROOT/build-bench/dagctl
fi
rm -rf "$WORK"
mkdir -p "$WORK/dags"
chmod 755 "$WORK"
PIDS=()
PG_DATA=
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "$PG_DATA" ] && runuser -u postgres -- pg_ctl -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1
  wait 2>/dev/null || true
}
trap cleanup EXIT

{
  printf 'dag_id: fanout\ntasks:\n'
  for i in $(seq 1 "$FANOUT"); do printf '  - {id: t%d, argv: [/bin/true]}\n' "$i"; done
} >"$WORK/dags/fanout.yaml"
{
  printf 'dag_id: chain\ntasks:\n  - {id: c1, argv: [/bin/true]}\n'
  for i in $(seq 2 "$CHAIN"); do
    printf '  - {id: c%d, argv: [/bin/true], upstream: [c%d]}\n' "$i" $((i - 1))
  done
} >"$WORK/dags/chain.yaml"

if [ "$PG" = 1 ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
  export PATH=$bin:$PATH
  PG_DATA=$WORK/pg/data
  stats_opts=
  [ "$PG_STATS" = 1 ] &&
    stats_opts=" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  mkdir -p "$WORK/pg"
  chown postgres "$WORK/pg"
  runuser -u postgres -- initdb -D "$PG_DATA" -A trust -U postgres --locale=C -E UTF8 >/dev/null
  runuser -u postgres -- pg_ctl -D "$PG_DATA" -l "$WORK/pg/server.log" -w \
    -o "-k $WORK/pg -c listen_addresses= -c fsync=off$stats_opts" start >/dev/null
  [ "$PG_STATS" = 1 ] && psql -X -q -h "$WORK/pg" -U postgres -d postgres \
    -c "CREATE EXTENSION pg_stat_statements" >/dev/null
fi

# q SQL: one value from the state store.
q() {
  if [ "$PG" = 1 ]; then
    psql -X -A -t -q -h "$WORK/pg" -U postgres -d "$DB" -c "$1"
  else
    sqlite3 -batch -noheader -cmd '.timeout 5000' "$WORK/$CASE/s/dagctl.db" "$1"
  fi
}

# one_case NAME N_WORKERS: a scheduler (and N workers), each with its own
# home; the fan-out run, then the chain run; one line of figures.
one_case() {
  CASE=$1
  local n=$2 home p
  mkdir -p "$WORK/$CASE/s"
  export DAGCTL_DAGS=$WORK/dags
  export DAGCTL__CORE__EXECUTOR=local
  unset DAGCTL__CORE__STATE
  if [ "$PG" = 1 ]; then
    DB=b_${CASE//[^a-z0-9]/_}
    psql -X -q -h "$WORK/pg" -U postgres -d postgres -c "CREATE DATABASE $DB" >/dev/null
    export DAGCTL__CORE__STATE="postgresql:///$DB?host=$WORK/pg&user=postgres"
  fi
  [ "$n" -gt 0 ] && export DAGCTL__CORE__EXECUTOR=workers
  DAGCTL_HOME=$WORK/$CASE/s "$DAGCTL_BIN" scheduler --port 0 >"$WORK/$CASE/s.log" 2>&1 &
  PIDS+=("$!")
  for i in $(seq 1 "$n"); do
    # On SQLite the workers share the scheduler's home (its one database).
    home=$WORK/$CASE/s
    [ "$PG" = 1 ] && home=$WORK/$CASE/w$i && mkdir -p "$home"
    DAGCTL_HOME=$home "$DAGCTL_BIN" worker --concurrency "$CONCURRENCY" >"$WORK/$CASE/w$i.log" 2>&1 &
    PIDS+=("$!")
  done
  for _ in $(seq 400); do
    [ "$(DAGCTL_HOME=$WORK/$CASE/s "$DAGCTL_BIN" dags list --json 2>/dev/null | grep -c '"dag_id"')" -ge 2 ] && break
    sleep 0.05
  done
  for d in fanout chain; do DAGCTL_HOME=$WORK/$CASE/s "$DAGCTL_BIN" dags unpause "$d" >/dev/null; done
  local r
  for d in fanout chain; do
    r=$(DAGCTL_HOME=$WORK/$CASE/s "$DAGCTL_BIN" trigger "$d")
    for _ in $(seq 6000); do
      case $(q "SELECT state FROM dag_run WHERE run_id = '$r' AND dag_id = '$d'") in
        success) break ;;
        failed) echo "run $d failed in $CASE" >&2; exit 1 ;;
      esac
      sleep 0.05
    done
  done
  local span n_ok
  span=$(q "SELECT max(t.end_date) - min(t.start_date) FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.dag_id = 'fanout'")
  n_ok=$(q "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.dag_id = 'fanout' AND t.state = 'success'")
  [ "$n_ok" = "$FANOUT" ] || { echo "$CASE: $n_ok of $FANOUT tries succeeded" >&2; exit 1; }
  # A worker's try ends when the worker reports it (task_claim.ended_at);
  # the scheduler records it in task_try when it hears of it, later.
  q "SELECT b.start_date - coalesce(c.ended_at, a.end_date) FROM task_try a
     JOIN task_try b ON b.run_pk = a.run_pk JOIN dag_run r ON r.id = a.run_pk
     LEFT JOIN task_claim c ON c.run_pk = a.run_pk AND c.task_id = a.task_id
                           AND c.try_number = a.try_number
     WHERE r.dag_id = 'chain' AND b.task_id = 'c' || (CAST(substr(a.task_id, 2) AS INTEGER) + 1)" |
    sort -n >"$WORK/$CASE/lat.txt"
  awk -v name="$CASE" -v n="$FANOUT" -v span="$span" '
    { v[NR] = $1 }
    END {
      p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
      printf "%-22s %10.0f tasks/min   latency p50 %7.2f ms  p99 %7.2f ms  (%d edges)\n",
             name, n / (span / 6e7), p50 / 1000, p99 / 1000, NR
    }' "$WORK/$CASE/lat.txt" | tee -a "$WORK/results.txt"
  # Statements of every process on this case's database (the script's own
  # polls included), per task of both runs.
  [ "$PG_STATS" = 1 ] && psql -X -A -F ' | ' -h "$WORK/pg" -U postgres -d postgres -c "
    SELECT s.calls, round(s.calls::numeric / $((FANOUT + CHAIN)), 2) AS per_task,
           round(s.total_exec_time::numeric, 1) AS ms, regexp_replace(s.query, '\s+', ' ', 'g')
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '$DB' ORDER BY s.calls DESC" >"$WORK/$CASE/statements.txt"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$p" 2>/dev/null || true
  done
  PIDS=()
}

state=sqlite
[ "$PG" = 1 ] && state=postgresql
echo "state: $state; $FANOUT no-op tasks fanned out, a chain of $CHAIN; $(nproc) cores" | tee "$WORK/results.txt"
one_case "$state-local" 0
for n in $WORKERS; do one_case "$state-workers-$n" "$n"; done
