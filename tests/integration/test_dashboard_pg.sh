#!/usr/bin/env bash
# The dashboard's data on a PostgreSQL warehouse (DAGCTL__WAREHOUSE__URL),
# on a private server this test starts: after the transform pipeline, GET
# /api/v1/ui/dashboard gives the figures that psql reads from gold (and
# silver for hours and a date range); a second run changes its
# warehouse_version and its figures. (test_dashboard_page.sh checks the
# page itself, on SQLite; test_warehouse_pg the read-only session.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

start_pg
export DAGCTL__WAREHOUSE__URL="postgresql:///postgres?host=$PG_DIR&user=postgres"

"$PYTHON" "$(dirname "$0")/dashboard_lake.py" "$DAGCTL_HOME/lake" 0 300
transform_dag_yaml | write_dag transform
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
start_scheduler transform
B=${SCHED_URL%/}

out=$(dagctl trigger transform --wait) || fail "the transform run failed on PostgreSQL: $out"
[ ! -e "$DAGCTL_HOME/warehouse.db" ] || fail "a SQLite warehouse was created"

# compare.py URL PGHOST [START END]: the API's figures against psql's.
cat >"$TMP/compare.py" <<'EOF'
import json, subprocess, sys, urllib.request
url, host = sys.argv[1], sys.argv[2]
rng = sys.argv[3:5] if len(sys.argv) > 4 else None
got = json.load(urllib.request.urlopen(url))
lo, hi = rng or ("0000-01-01", "9999-12-31")
def q(sql):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-F", "\t", "-h", host, "-U", "postgres",
                          "-d", "postgres", "-v", "lo=" + lo, "-v", "hi=" + hi, "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [l.split("\t") for l in out.splitlines() if l]
W = "played_date BETWEEN '%s' AND '%s'" % (lo, hi)
days = q("SELECT played_date, sum(play_count), count(DISTINCT user_id), sum(total_ms) FROM gold.daily_user_stats WHERE %s GROUP BY 1 ORDER BY 1" % W)
hours = dict((int(h), int(n)) for h, n in q("SELECT substr(played_at, 12, 2)::int, count(*) FROM silver.silver_plays WHERE %s GROUP BY 1" % W))
if rng:
    tracks = q("SELECT rank() OVER (ORDER BY count(*) DESC), min(track_name), min(artist_name), count(*) FROM silver.silver_plays WHERE %s GROUP BY track_id ORDER BY 1, 2 LIMIT 10" % W)
    artists = q("SELECT rank() OVER (ORDER BY count(*) DESC), artist_name, count(*), count(DISTINCT track_id) FROM silver.silver_plays WHERE %s GROUP BY 2 ORDER BY 1, 2 LIMIT 10" % W)
    devices = q("SELECT device_type, count(*), count(DISTINCT user_id), round(100.0 * count(*) / sum(count(*)) OVER (), 2) FROM silver.silver_plays WHERE %s GROUP BY 1 ORDER BY 2 DESC, 1" % W)
else:
    tracks = q("SELECT rank, track_name, artist_name, play_count FROM gold.top_tracks ORDER BY rank, track_name LIMIT 10")
    artists = q("SELECT rank, artist_name, play_count, unique_tracks FROM gold.top_artists ORDER BY rank, artist_name LIMIT 10")
    devices = q("SELECT device_type, play_count, unique_users, pct FROM gold.device_usage ORDER BY play_count DESC, device_type")
plays, listeners, total_ms = q("SELECT sum(play_count), count(DISTINCT user_id), sum(total_ms) FROM gold.daily_user_stats WHERE %s" % W)[0]
assert got["backend"] == "postgresql", got["backend"]
assert got["source"] == ("silver" if rng else "gold"), got["source"]
o = got["overview"]
assert (o["plays"], o["listeners"]) == (int(plays), int(listeners)), (o, plays, listeners)
assert abs(o["avg_play_seconds"] - int(total_ms) / int(plays) / 1000) < 1e-6, o
assert [(d["day"], d["plays"], d["listeners"], d["total_ms"]) for d in got["plays_by_day"]] == \
    [(a, int(b), int(c), int(d)) for a, b, c, d in days], (got["plays_by_day"], days)
assert [h["plays"] for h in got["plays_by_hour"]] == [hours.get(h, 0) for h in range(24)]
assert [(t["rank"], t["track_name"], t["artist_name"], t["plays"]) for t in got["top_tracks"]] == \
    [(int(a), b, c, int(d)) for a, b, c, d in tracks], (got["top_tracks"], tracks)
assert [(t["rank"], t["artist_name"], t["plays"], t["tracks"]) for t in got["top_artists"]] == \
    [(int(a), b, int(c), int(d)) for a, b, c, d in artists], (got["top_artists"], artists)
assert [(d["device_type"], d["plays"], d["listeners"], d["pct"]) for d in got["devices"]] == \
    [(a, int(b), int(c), float(d)) for a, b, c, d in devices], (got["devices"], devices)
assert tracks and artists and devices and days
print(got["warehouse_version"])
EOF
v1=$("$PYTHON" "$TMP/compare.py" "$B/api/v1/ui/dashboard" "$PG_DIR") ||
  fail "the dashboard disagrees with PostgreSQL's gold: $(curl -sS "$B/api/v1/ui/dashboard")"
day=$(psql_as postgres postgres 'SELECT min(played_date) FROM gold.daily_user_stats')
"$PYTHON" "$TMP/compare.py" "$B/api/v1/ui/dashboard?start=$day&end=$day" "$PG_DIR" "$day" "$day" >/dev/null ||
  fail "the dashboard over $day disagrees with PostgreSQL's silver"

# A second run: a new version, new figures.
"$PYTHON" "$(dirname "$0")/dashboard_lake.py" "$DAGCTL_HOME/lake" 300 150
out=$(dagctl trigger transform --wait) || fail "the second transform run failed: $out"
v2=$("$PYTHON" "$TMP/compare.py" "$B/api/v1/ui/dashboard" "$PG_DIR") ||
  fail "after the second run the dashboard disagrees with PostgreSQL's gold"
[ "$v1" != "$v2" ] || fail "the warehouse version did not change with a pipeline run: $v1"
assert_eq "$(curl -sS "$B/api/v1/ui/dashboard" | pyjson 'd["overview"]["plays"]')" 450 "plays after the second run"

log "PostgreSQL dashboard agrees with gold; version $v1 -> $v2"
