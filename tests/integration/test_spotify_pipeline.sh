#!/usr/bin/env bash
# spotify_data_basic end to end on the embedded defaults, with a scheduler
# running: events -> embedded Kafka -> lake -> bronze -> silver -> gold.
# The lake must hold exactly the produced events, no consumer may outlive
# its run, and after two runs (and a deliberately bad line) the gold tables
# must match an independent computation over every event in the lake, with
# nothing loaded twice and the bad line in quarantine.
source "$(dirname "$0")/lib.sh"

for p in kafka s3_sensor load_bronze dbt; do
  [ -f "$DAGCTL_BUILD_DIR/plugins/$p.so" ] || fail "plugin $p not built"
done
cp "$DAGCTL_SOURCE_DIR/dags/spotify_data_basic.yaml" "$DAGCTL_DAGS/"
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
# The consumer needs up to ~3.5 s after SIGTERM to read, flush and commit;
# lib.sh's 1 s grace (for tests of timeouts) would cut it short.
sed -i 's/task_kill_grace: 1s/task_kill_grace: 10s/' "$DAGCTL_HOME/dagctl.yaml"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $DAGCTL_BUILD_DIR/plugins
EOF
lake=$DAGCTL_HOME/lake
wh() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$DAGCTL_HOME/warehouse_$1.db" "$2"; }
lake_ids() { find "$lake/raw_events" -name '*.ndjson' -exec cat {} + |
  "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    line = line.strip()
    if line:
        try: print(json.loads(line)["event_id"])
        except Exception: pass'; }
# This test's consumers only: other tests may run theirs at the same time.
consumers() { pgrep -f -- "--home $DAGCTL_HOME .*__task kafka_consumer" || true; }

start_scheduler spotify_data_basic

# --- run 1 -------------------------------------------------------------------
run1=$(timeout 120 "$DAGCTL_BIN" trigger spotify_data_basic --wait 2>"$TMP/wait1.log") ||
  fail "run 1 failed: $(cat "$TMP/wait1.log")"
assert_eq "$(run_state spotify_data_basic "$run1")" success "run 1"
assert_eq "$(lake_ids | sort -u | wc -l)" 200 "distinct events in the lake after run 1"
# What the producer says it produced is what the lake holds.
digest=$(lake_ids | sort -u | sha256sum | cut -d' ' -f1)
produced=$(sql "SELECT value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
                WHERE r.run_id = '$run1' AND task_id = 'generate_events' AND key = 'event_ids_sha256'")
assert_eq "$produced" "\"$digest\"" "producer's digest of event ids vs the lake's"
[ -z "$(consumers)" ] || fail "a consumer outlived run 1: $(consumers)"
assert_eq "$(task_state spotify_data_basic "$run1" dbt_test)" success "dbt_test"

# A deliberately bad line in the lake, as a broken producer would leave it.
bad_dir=$lake/raw_events/year=2026/month=01/day=01/hour=00
mkdir -p "$bad_dir"
printf '{"event_id": "broken", "played_at": \n' >"$bad_dir/broken-producer.ndjson"

# --- run 2 -------------------------------------------------------------------
run2=$(timeout 120 "$DAGCTL_BIN" trigger spotify_data_basic --wait 2>"$TMP/wait2.log") ||
  fail "run 2 failed: $(cat "$TMP/wait2.log")"
assert_eq "$(run_state spotify_data_basic "$run2")" success "run 2"
assert_eq "$(lake_ids | grep -v '^broken$' | sort -u | wc -l)" 400 "distinct events after two runs"
[ -z "$(consumers)" ] || fail "a consumer outlived run 2"

# Nothing loaded twice: bronze holds each lake line once, each object once.
lines=$(find "$lake/raw_events" -name '*.ndjson' -exec cat {} + | grep -c .)
bronze=$(wh bronze "SELECT count(*) FROM plays")
quarantined=$(wh bronze "SELECT count(*) FROM quarantine")
assert_eq "$((bronze + quarantined))" "$lines" "bronze rows + quarantined lines vs lake lines"
assert_eq "$(wh bronze "SELECT count(*) FROM (SELECT source_object, line_number FROM plays
                        GROUP BY 1, 2 HAVING count(*) > 1)")" 0 "lines loaded twice"
assert_eq "$(wh bronze "SELECT count(*) FROM loaded_objects")" \
  "$(find "$lake/raw_events" -name '*.ndjson' | wc -l)" "objects recorded as loaded"
wh bronze "SELECT source_object FROM quarantine" | grep -q "broken-producer.ndjson" ||
  fail "the bad line is not in quarantine"

# Gold against an independent computation over every event in the lake.
cat >"$TMP/expected.py" <<'EOF'
import collections, json, sys
events = {}
for line in sys.stdin:
    try:
        e = json.loads(line)
    except Exception:
        continue
    if isinstance(e, dict) and "event_id" in e:
        events.setdefault(e["event_id"], e)
plays = [e for e in events.values() if 0 < int(e["duration_ms"]) < 600000]
with open(sys.argv[1] + ".silver", "w") as f:
    print(len(plays), file=f)
with open(sys.argv[1] + ".tracks", "w") as f:
    for t, n in sorted(collections.Counter(e["track_id"] for e in plays).items()):
        print(f"{t}|{n}", file=f)
with open(sys.argv[1] + ".artists", "w") as f:
    for a, n in sorted(collections.Counter(e["artist_name"] for e in plays).items()):
        print(f"{a}|{n}", file=f)
with open(sys.argv[1] + ".devices", "w") as f:
    for d, n in sorted(collections.Counter(e["device_type"] for e in plays).items()):
        users = len({e["user_id"] for e in plays if e["device_type"] == d})
        print(f"{d}|{n}|{users}", file=f)
with open(sys.argv[1] + ".daily", "w") as f:
    per = collections.defaultdict(list)
    for e in plays:
        per[(e["played_at"][:10], e["user_id"])].append(e)
    for (day, user), es in sorted(per.items()):
        tracks = len({e["track_id"] for e in es})
        ms = sum(int(e["duration_ms"]) for e in es)
        print(f"{day}|{user}|{len(es)}|{tracks}|{ms}", file=f)
EOF
find "$lake/raw_events" -name '*.ndjson' -exec cat {} + | "$PYTHON" "$TMP/expected.py" "$TMP/expected"
assert_eq "$(wh silver "SELECT count(*) FROM silver_plays")" "$(cat "$TMP/expected.silver")" "silver rows"
diff <(wh gold "SELECT track_id || '|' || play_count FROM top_tracks ORDER BY track_id") \
  "$TMP/expected.tracks" >/dev/null || fail "gold.top_tracks differs from the lake"
diff <(wh gold "SELECT artist_name || '|' || play_count FROM top_artists ORDER BY artist_name") \
  "$TMP/expected.artists" >/dev/null || fail "gold.top_artists differs from the lake"
diff <(wh gold "SELECT device_type || '|' || play_count || '|' || unique_users FROM device_usage
               ORDER BY device_type") "$TMP/expected.devices" >/dev/null ||
  fail "gold.device_usage differs from the lake"
diff <(wh gold "SELECT played_date || '|' || user_id || '|' || play_count || '|' || unique_tracks
               || '|' || total_ms FROM daily_user_stats ORDER BY played_date, user_id") \
  "$TMP/expected.daily" >/dev/null || fail "gold.daily_user_stats differs from the lake"
log "run 1: $run1, run 2: $run2; lake lines $lines, bronze $bronze, quarantined $quarantined"
