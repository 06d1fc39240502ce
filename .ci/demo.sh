#!/usr/bin/env bash
# make demo: start a scheduler on DAGCTL_HOME, trigger a pipeline, wait for
# it, show what it produced and where to look. The scheduler keeps running
# in the background (stop it with `make demo-stop`).
set -euo pipefail
: "${DAGCTL_BIN:?}" "${DAGCTL_HOME:?}" "${DAGCTL_DAGS:?}"
DEMO_DAG=${DEMO_DAG:-spotify_data_basic}
export DAGCTL_HOME DAGCTL_DAGS
mkdir -p "$DAGCTL_HOME"
pidfile=$DAGCTL_HOME/demo-scheduler.pid
log=$DAGCTL_HOME/scheduler.log

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "== a demo scheduler is already running (pid $(cat "$pidfile"))"
else
  "$DAGCTL_BIN" scheduler --port "${DEMO_PORT:-8080}" >>"$log" 2>&1 &
  echo $! >"$pidfile"
  echo "== scheduler started (pid $!, log $log)"
fi

# The scheduler records the DAG once it has loaded the folder.
for _ in $(seq 1 100); do
  "$DAGCTL_BIN" dags list --json 2>/dev/null | grep -q "\"dag_id\": \"$DEMO_DAG\"" && break
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "the scheduler exited; its log:" >&2; tail -n 20 "$log" >&2; exit 1
  fi
  sleep 0.1
done

echo "== dagctl trigger $DEMO_DAG --wait"
run_id=$("$DAGCTL_BIN" trigger "$DEMO_DAG" --wait)
echo
echo "== dagctl tasks $DEMO_DAG $run_id"
"$DAGCTL_BIN" tasks "$DEMO_DAG" "$run_id"
echo
if [ "$DEMO_DAG" = spotify_data_basic ]; then
  # The gold layer lives in attached SQLite files beside warehouse.db.
  gold() {
    sqlite3 -header -column "$DAGCTL_HOME/warehouse.db" \
      "ATTACH '$DAGCTL_HOME/warehouse_gold.db' AS gold; $1"
  }
  echo "== gold.top_tracks (top 5)"
  gold "SELECT rank, track_name, artist_name, play_count FROM gold.top_tracks ORDER BY rank LIMIT 5;"
  echo
  echo "== gold.device_usage"
  gold "SELECT * FROM gold.device_usage ORDER BY 2 DESC;"
  echo
  # dbt_run_gold updated warehouse://gold/top_tracks: data_quality_monitoring,
  # scheduled on that dataset, got a dataset_triggered run. Wait for its end.
  qrun=""
  for _ in $(seq 1 600); do
    qrun=$("$DAGCTL_BIN" runs --dag data_quality_monitoring --json 2>/dev/null |
      python3 -c 'import json, sys
runs = [r for r in json.load(sys.stdin) if r["run_type"] == "dataset_triggered"]
done = [r for r in runs if r["state"] in ("success", "failed")]
print(done[0]["dag_run_id"] if done else "")')
    [ -n "$qrun" ] && break
    sleep 0.1
  done
  if [ -z "$qrun" ]; then
    echo "data_quality_monitoring did not run after gold was updated" >&2; exit 1
  fi
  echo "== data_quality_monitoring, triggered by the update of warehouse://gold/top_tracks"
  "$DAGCTL_BIN" tasks data_quality_monitoring "$qrun"
  echo
  "$DAGCTL_BIN" datasets list
  echo
  state=$("$DAGCTL_BIN" runs --dag data_quality_monitoring --json |
    python3 -c 'import json, sys
print(next(r["state"] for r in json.load(sys.stdin) if r["dag_run_id"] == sys.argv[1]))' "$qrun")
  [ "$state" = success ] || { echo "data_quality_monitoring run $qrun: $state" >&2; exit 1; }
fi
cat <<MSG
== where to look
  runs:          $DAGCTL_BIN runs $DEMO_DAG
  datasets:      $DAGCTL_BIN datasets list
  task logs:     $DAGCTL_HOME/logs/$DEMO_DAG/$run_id/
  state:         $DAGCTL_HOME/dagctl.db (SQLite)
  scheduler log: $log
  status page:   http://127.0.0.1:${DEMO_PORT:-8080}/dags/$DEMO_DAG
  dashboard:     http://127.0.0.1:${DEMO_PORT:-8080}/dashboard (gold's plays, trends, tops, devices)
  lake:          $DAGCTL_HOME/lake/raw_events/
  warehouse:     $DAGCTL_HOME/warehouse.db (bronze, silver, gold attached from warehouse_*.db)
The scheduler keeps running in the background; stop it with: make demo-stop
MSG
