#!/usr/bin/env bash
# spotify_data_basic takes its event count per run from params.events (200
# by default): a run triggered with --conf '{"events": 20}' puts exactly 20
# events in the lake. A count that is not an integer >= 0 fails
# generate_events with a message naming the param and the value. No event
# lies in the future: a run at 00:30 of its day gets events from 00:00 to
# 00:30, not spread over hours that have not happened yet.
source "$(dirname "$0")/lib.sh"

for p in kafka s3_sensor load_bronze dbt; do
  [ -f "$DAGCTL_BUILD_DIR/plugins/$p.so" ] || fail "plugin $p not built"
done
# No retries, so the bad counts fail at once.
sed 's/^  retries: 3$/  retries: 0/' "$DAGCTL_SOURCE_DIR/dags/spotify_data_basic.yaml" \
  >"$DAGCTL_DAGS/spotify_data_basic.yaml"
grep -q '^  retries: 0$' "$DAGCTL_DAGS/spotify_data_basic.yaml" || fail "could not set retries: 0"
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
# The consumer needs up to ~3.5 s after SIGTERM to read, flush and commit.
sed -i 's/task_kill_grace: 1s/task_kill_grace: 10s/' "$DAGCTL_HOME/dagctl.yaml"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $DAGCTL_BUILD_DIR/plugins
EOF
lake=$DAGCTL_HOME/lake
lake_lines() { find "$lake/raw_events" -name '*.ndjson' -exec cat {} + | grep -c . || true; }
lake_ids() { find "$lake/raw_events" -name '*.ndjson' -exec cat {} + |
  "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    if line.strip(): print(json.loads(line)["event_id"])'; }

start_scheduler spotify_data_basic

# Half past midnight of today (of yesterday just after midnight): a
# logical date in the past, whose day is mostly later than it.
if [ "$(date -u +%H%M)" -ge 0031 ]; then day=$(date -u +%F); else day=$(date -u -d yesterday +%F); fi
logical=${day}T00:30:00Z
run=$(timeout 120 "$DAGCTL_BIN" trigger spotify_data_basic --conf '{"events": 20}' --wait \
  --logical-date "$logical" 2>"$TMP/wait.log") || fail "the run failed: $(cat "$TMP/wait.log")"
assert_eq "$(run_state spotify_data_basic "$run")" success "run with events 20"
assert_eq "$(lake_lines)" 20 "lines in the lake"
assert_eq "$(lake_ids | sort -u | wc -l)" 20 "distinct events in the lake"
assert_eq "$(sql "SELECT value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
                  WHERE r.run_id = '$run' AND task_id = 'generate_events' AND key = 'count'")" \
  20 "the producer's count"
late=$(find "$lake/raw_events" -name '*.ndjson' -exec cat {} + |
  "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    if line.strip():
        at = json.loads(line)["played_at"]
        if not (sys.argv[1] + "T00:00:00Z" <= at <= sys.argv[2]): print(at)' "$day" "$logical")
[ -z "$late" ] || fail "events outside $day 00:00 to $logical: $late"

for bad in '-5' '"many"' '2.5'; do
  rc=0
  run=$(timeout 120 "$DAGCTL_BIN" trigger spotify_data_basic --conf "{\"events\": $bad}" --wait \
    2>"$TMP/wait.log") || rc=$?
  [ "$rc" -ne 0 ] || fail "a run with events $bad succeeded"
  run=$(sql "SELECT run_id FROM dag_run ORDER BY id DESC LIMIT 1")
  assert_eq "$(task_state spotify_data_basic "$run" generate_events)" failed "events $bad"
  shown=${bad//\"/}
  # The host checks the type of the rendered value, the plugin its range.
  dagctl logs spotify_data_basic "$run" generate_events |
    grep -qE "param count: expected an integer( from 0 to 10000000)?, got '$shown'" ||
    fail "events $bad: no clear error: $(dagctl logs spotify_data_basic "$run" generate_events)"
done
assert_eq "$(lake_lines)" 20 "lines in the lake after the failed runs"
