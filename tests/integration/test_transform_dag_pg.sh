#!/usr/bin/env bash
# test_transform_dag.sh's scenario on a PostgreSQL warehouse
# (DAGCTL__WAREHOUSE__URL): the same tasks, models, schema tests and checks,
# on a private server this test starts. PostgreSQL is required (.ci/install-deps.sh
# test installs it): without it the test fails.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

start_pg
export DAGCTL__WAREHOUSE__URL="postgresql:///postgres?host=$PG_DIR&user=postgres"
pg() { psql_as postgres postgres "$1"; }

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
for name, ids in {"a-0-199.ndjson": list(range(0, 200)) + ["bad"],
                  "b-0-19.ndjson": list(range(0, 20)),
                  "c-200-399.ndjson": list(range(200, 400))}.items():
    with open(os.path.join(d, name), "w") as f:
        for i in ids:
            f.write(("{\"event_id\": 12" if i == "bad" else ev(i)) + "\n")
EOF

transform_dag_yaml | write_dag transform
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
cp "$DAGCTL_SOURCE_DIR/dags/data_quality_monitoring.yaml" "$DAGCTL_DAGS/"

run=$(dagctl test transform --quiet) || fail "transform run failed on PostgreSQL"
for t in refresh_snowflake_table dbt_compile dbt_run_silver dbt_run_gold dbt_test; do
  assert_eq "$(task_state transform "$run" "$t")" success "$t"
done
[ ! -e "$DAGCTL_HOME/warehouse.db" ] || fail "a SQLite warehouse was created"
assert_eq "$(pg 'SELECT COUNT(*) FROM bronze.plays')" 420 "bronze rows"
assert_eq "$(pg 'SELECT line_number FROM bronze.quarantine')" 201 "the bad line, quarantined"
assert_eq "$(pg 'SELECT COUNT(*) FROM silver.silver_plays')" 398 "silver rows"
assert_eq "$(pg 'SELECT SUM(play_count) FROM gold.top_tracks')" 398 "gold plays"
assert_eq "$(pg 'SELECT SUM(pct) FROM gold.device_usage')" 100.00 "device shares"

run2=$(dagctl test transform --quiet) || fail "second run failed"
assert_eq "$(pg 'SELECT COUNT(*) FROM bronze.plays')" 420 "bronze rows after run 2"

dagctl test data_quality_monitoring --quiet >/dev/null || fail "quality run failed on good data"
pg "DROP INDEX silver.silver_plays__idx1" # silver's unique index would refuse it
pg "INSERT INTO silver.silver_plays SELECT * FROM silver.silver_plays WHERE event_id = 'e0001'"
set +e
qrun=$(dagctl test data_quality_monitoring --quiet); rc=$?
set -e
assert_eq "$rc" 1 "quality run on duplicated data"
log=$(dagctl logs data_quality_monitoring "$qrun" silver_no_duplicate_event_ids)
grep -q "check silver_no_duplicate_event_ids failed: observed 1, expected = 0" <<<"$log" \
  || fail "duplicate check log: $log"
log "ok"
