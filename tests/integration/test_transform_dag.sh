#!/usr/bin/env bash
# The transform half of spotify_data_basic through the real binary and its
# plugins: the tasks of dags/spotify_transform_snippet.yaml.txt load a lake
# into bronze, compile, run silver and gold and test them; a second run
# loads nothing; data_quality_monitoring passes on that warehouse and fails
# by name once data is duplicated or stale.
source "$(dirname "$0")/lib.sh"

for p in load_bronze dbt sql_check; do
  [ -f "$DAGCTL_BUILD_DIR/plugins/$p.so" ] || fail "plugin $p not built"
done
wh() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$DAGCTL_HOME/warehouse_$1.db" "$2"; }

# A lake of 3 objects: 400 distinct events of yesterday, events 0-19 twice, one
# bad line, and two plays silver must drop (0 ms and 700000 ms).
"$PYTHON" - "$DAGCTL_HOME/lake" <<'EOF'
import datetime, json, os, sys
root = sys.argv[1]
# Yesterday: fresh enough for a 48h freshness check, never in the future.
today = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
def ev(i):
    d = 0 if i == 7 else 700000 if i == 8 else 1000 + i * 97
    return json.dumps({"event_id": "e%04d" % i, "user_id": "u%d" % (i % 9),
                       "event_type": ["play", "pause", "skip", "add_to_playlist"][i % 4],
                       "track_id": "t%d" % (i % 13), "track_name": "Track %d" % (i % 13),
                       "artist_name": "Artist %d" % (i % 5), "album_name": None,
                       "duration_ms": d, "played_at": "%sT%02d:%02d:00Z" % (today, i % 24, i % 60),
                       "device_type": ["desktop", "mobile", "tablet", "web", "smart_speaker"][i % 5],
                       "country": "SE"})
d = os.path.join(root, "raw_events/year=2026/month=11/day=22/hour=00")
os.makedirs(d)
objects = {"a-0-199.ndjson": list(range(0, 200)) + ["bad"],
           "b-0-19.ndjson": list(range(0, 20)),
           "c-200-399.ndjson": list(range(200, 400))}
for name, ids in objects.items():
    with open(os.path.join(d, name), "w") as f:
        for i in ids:
            f.write(("{\"event_id\": 12" if i == "bad" else ev(i)) + "\n")
EOF

{
  transform_dag_yaml
  cat <<'EOF'
  - id: report
    upstream: dbt_test
    command: echo "loaded="{{ ti.xcom.refresh_snowflake_table.rows_loaded }}" objects="{{ ti.xcom.refresh_snowflake_table.objects_loaded }}" quarantined="{{ ti.xcom.refresh_snowflake_table.quarantined }}" tests_failed="{{ ti.xcom.dbt_test.tests_failed }}
EOF
} | write_dag transform
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
cp "$DAGCTL_SOURCE_DIR/dags/data_quality_monitoring.yaml" "$DAGCTL_DAGS/"

run=$(dagctl test transform --quiet) || fail "transform run failed: $run"
for t in refresh_snowflake_table dbt_compile dbt_run_silver dbt_run_gold dbt_test report; do
  assert_eq "$(task_state transform "$run" "$t")" success "$t"
done
assert_eq "$(wh bronze 'SELECT COUNT(*) FROM plays')" 420 "bronze rows"
assert_eq "$(wh bronze 'SELECT COUNT(*) FROM loaded_objects')" 3 "loaded objects"
assert_eq "$(wh bronze 'SELECT line_number FROM quarantine')" 201 "the bad line, quarantined"
assert_eq "$(wh silver 'SELECT COUNT(*) FROM silver_plays')" 398 "silver rows"
assert_eq "$(wh gold 'SELECT SUM(play_count) FROM top_tracks')" 398 "gold plays"
assert_eq "$(wh gold 'SELECT COUNT(*) FROM device_usage')" 5 "devices"
log=$(dagctl logs transform "$run" report)
grep -q "loaded=420 objects=3 quarantined=1 tests_failed=0" <<<"$log" || fail "report: $log"
log=$(dagctl logs transform "$run" dbt_run_gold)
grep -q "OK created table model gold.top_tracks \[13 rows" <<<"$log" || fail "dbt run log: $log"
[ -f "$DAGCTL_HOME/dbt/spotify_dbt/target/compiled/spotify_dbt/models/gold/top_tracks.sql" ] \
  || fail "no compiled SQL under DAGCTL_HOME/dbt"

# Again: nothing new, nothing loaded twice.
run2=$(dagctl test transform --quiet) || fail "second run failed"
log=$(dagctl logs transform "$run2" report)
grep -q "loaded=0 objects=0 quarantined=0" <<<"$log" || fail "second run loaded: $log"
assert_eq "$(wh bronze 'SELECT COUNT(*) FROM plays')" 420 "bronze rows after run 2"

# Quality: all twelve checks pass.
qrun=$(dagctl test data_quality_monitoring --quiet) || fail "quality run failed on good data"

# A duplicated event fails exactly the duplicate check, by name (silver's
# unique index, from its indexes config, would refuse it: drop it first).
wh silver "DROP INDEX silver_plays__idx1"
wh silver "INSERT INTO silver_plays SELECT * FROM silver_plays WHERE event_id = 'e0001'"
set +e
qrun=$(dagctl test data_quality_monitoring --quiet); rc=$?
set -e
assert_eq "$rc" 1 "quality run on duplicated data"
assert_eq "$(task_state data_quality_monitoring "$qrun" silver_no_duplicate_event_ids)" failed \
  "duplicate check"
assert_eq "$(task_state data_quality_monitoring "$qrun" silver_row_count)" success "row count"
log=$(dagctl logs data_quality_monitoring "$qrun" silver_no_duplicate_event_ids)
grep -q "check silver_no_duplicate_event_ids failed: observed 1, expected = 0; query: SELECT" \
  <<<"$log" || fail "duplicate check log: $log"
failed=$(sql "SELECT COUNT(*) FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
              WHERE r.run_id = '$qrun' AND ti.state = 'failed'")
assert_eq "$failed" 1 "failed checks on duplicated data"
wh silver "DELETE FROM silver_plays WHERE rowid = (SELECT MAX(rowid) FROM silver_plays)"

# Stale data fails the freshness checks, by name, and only them.
wh bronze "UPDATE plays SET loaded_at = '2020-01-01T00:00:00.000000Z'"
wh silver "UPDATE silver_plays SET played_at = '2020-01-01T00:00:00Z'"
set +e
qrun=$(dagctl test data_quality_monitoring --quiet); rc=$?
set -e
assert_eq "$rc" 1 "quality run on stale data"
for t in bronze_loaded_at_freshness silver_played_at_freshness; do
  assert_eq "$(task_state data_quality_monitoring "$qrun" "$t")" failed "$t"
  log=$(dagctl logs data_quality_monitoring "$qrun" "$t")
  grep -q "check $t failed: newest .* old, max_age" <<<"$log" || fail "$t log: $log"
done
failed=$(sql "SELECT COUNT(*) FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
              WHERE r.run_id = '$qrun' AND ti.state = 'failed'")
assert_eq "$failed" 2 "failed checks on stale data"
log "ok"
