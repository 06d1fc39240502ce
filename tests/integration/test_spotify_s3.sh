#!/usr/bin/env bash
# spotify_data_basic with its lake on S3 (s3rver on loopback) instead of the
# local folder: the consumer writes its batches to the bucket, the sensor
# finds them there, load_bronze reads them back; the bucket must hold
# exactly the produced events and gold must be built from them.
source "$(dirname "$0")/lib.sh"

need_s3rver
for p in kafka s3_sensor load_bronze dbt; do
  [ -f "$DAGCTL_BUILD_DIR/plugins/$p.so" ] || fail "plugin $p not built"
done

# s3rver runs until its standard input (a FIFO we hold open) closes.
mkfifo "$TMP/s3rver.in"
mkdir -p "$TMP/s3rver"
export LAKE_SECRET_ACCESS_KEY=dagctl-s3-secret-5p0t1fy
node "$S3RVER_DIR/server.js" "$TMP/s3rver" dagctl-lake dagctl-test \
  <"$TMP/s3rver.in" >"$TMP/s3rver.port" 2>"$TMP/s3rver.err" &
S3_PID=$!
SCHED_PIDS+=("$S3_PID")
exec {S3_FD}>"$TMP/s3rver.in"
wait_for "[ -s '$TMP/s3rver.port' ]" 20
port=$(head -n 1 "$TMP/s3rver.port")

cp "$DAGCTL_SOURCE_DIR/dags/spotify_data_basic.yaml" "$DAGCTL_DAGS/"
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
# The consumer needs up to ~3.5 s after SIGTERM to read, flush and commit;
# lib.sh's 1 s grace (for tests of timeouts) would cut it short.
sed -i 's/task_kill_grace: 1s/task_kill_grace: 10s/' "$DAGCTL_HOME/dagctl.yaml"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $DAGCTL_BUILD_DIR/plugins
lake:
  url: s3://dagctl-lake/spotify
  endpoint: http://127.0.0.1:$port
  path_style: true
  access_key_id: dagctl-test
EOF
export DAGCTL__LAKE__SECRET_ACCESS_KEY=$LAKE_SECRET_ACCESS_KEY

run=$(timeout 120 "$DAGCTL_BIN" test spotify_data_basic --quiet 2>"$TMP/test.log") ||
  fail "the run failed: $(tail -n 30 "$TMP/test.log")"
assert_eq "$(run_state spotify_data_basic "$run")" success "run"
[ ! -e "$DAGCTL_HOME/lake" ] || fail "objects went to the local lake, not to S3"

# s3rver keeps each object as a file: the bucket holds exactly the events.
objects=$(find "$TMP/s3rver/dagctl-lake/spotify/raw_events" -name '*.ndjson._S3rver_object')
[ -n "$objects" ] || fail "no objects in the bucket"
distinct=$(cat $objects | "$PYTHON" -c 'import json, sys
print(len({json.loads(l)["event_id"] for l in sys.stdin if l.strip()}))')
assert_eq "$distinct" 200 "distinct events in the bucket"
wh() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$DAGCTL_HOME/warehouse_$1.db" "$2"; }
assert_eq "$(wh silver "SELECT count(DISTINCT event_id) FROM silver_plays")" 200 "events in silver"
assert_eq "$(wh gold "SELECT sum(play_count) FROM device_usage")" 200 "plays in gold"
if grep -rqF -- "$LAKE_SECRET_ACCESS_KEY" "$DAGCTL_HOME/logs" "$TMP/test.log"; then
  fail "the S3 secret reached a log"
fi
# Every setting the plugins read is one their sections declare (load_bronze
# once asked for lake.timeout_ms, so its S3 requests ignored lake.timeout).
if grep -rqF "the section declares no key" "$DAGCTL_HOME/logs"; then
  fail "a plugin read an undeclared setting: $(grep -rhF "declares no key" "$DAGCTL_HOME/logs")"
fi
exec {S3_FD}>&-
