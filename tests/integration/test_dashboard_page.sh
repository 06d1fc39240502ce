#!/usr/bin/env bash
# The listening dashboard in a real browser (headless Chromium): after the
# transform pipeline built gold from a lake of known events, every chart
# shows the numbers an independent query of gold (Python's sqlite3) gives,
# in its data, in the bars drawn, in its hover tooltip and in the table
# beside it; a date range shows that range's numbers; a second pipeline run
# is redrawn by the open page without a reload; the page breaks no rule of
# its Content-Security-Policy. Screenshots go to tests/artifacts/.
. "$(dirname "$0")/lib.sh"

need chromium
CHROMIUM=$(command -v chromium)
for p in load_bronze dbt; do
  [ -f "$DAGCTL_BUILD_DIR/plugins/$p.so" ] || fail "plugin $p not built"
done
ARTIFACTS=${DAGCTL_BUILD_DIR:-$TMP}/tests/artifacts
mkdir -p "$ARTIFACTS"
GOLD=$DAGCTL_HOME/warehouse

"$PYTHON" "$(dirname "$0")/dashboard_lake.py" "$DAGCTL_HOME/lake" 0 300

transform_dag_yaml | write_dag transform
cp -r "$DAGCTL_SOURCE_DIR/dags/spotify_dbt" "$DAGCTL_DAGS/"
start_scheduler transform
B=${SCHED_URL%/}

# Before any run the warehouse does not exist: a clear 503, nothing created.
code=$(curl -sS -o "$TMP/none.json" -w '%{http_code}' "$B/api/v1/ui/dashboard")
assert_eq "$code" 503 "the dashboard before any pipeline run"
grep -q 'has the pipeline run' "$TMP/none.json" || fail "503 without its reason: $(cat "$TMP/none.json")"
[ ! -e "$GOLD.db" ] || fail "the dashboard's reader created $GOLD.db"

out=$(dagctl trigger transform --wait) || fail "the transform run failed: $out"
run=$(head -n 1 <<<"$out")
assert_eq "$(run_state transform "$run")" success "first transform run"

# Bad ranges: refused by name, never reaching SQL.
for q in 'start=2026-02-30' 'end=yesterday' "start=2026-01-01'%20OR%201=1--" \
         'start=2026-03-02&end=2026-03-01' 'start=%zz'; do
  code=$(curl -sS -o "$TMP/bad.json" -w '%{http_code}' "$B/api/v1/ui/dashboard?$q")
  assert_eq "$code" 400 "range $q"
done
curl -sS "$B/api/v1/ui/dashboard?start=2026-03-02&end=2026-03-01" | grep -q 'is after end' ||
  fail "a reversed range is not named"

# The page's policy: our own scripts only, no inline code, no eval.
csp=$(curl -sS -D - -o /dev/null "$B/dashboard" | tr -d '\r' | sed -n 's/^Content-Security-Policy: //Ip')
grep -q "script-src 'self';" <<<"$csp" || fail "dashboard CSP: $csp"
! grep -qE "unsafe-(inline|eval)" <<<"$csp" || fail "dashboard CSP allows unsafe code: $csp"
curl -sS -f -o "$TMP/chart.js" "$B/static/chart.min.js"
cmp -s "$TMP/chart.js" /usr/share/javascript/chart.js/chart.min.js ||
  fail "Chart.js is not served from the binary as Debian ships it"

# What the page shows: each chart's data, the elements it drew, the hover
# tooltip of its first element, and its table; the overview's tiles.
cat >"$TMP/collect.js" <<'EOF'
(async () => {
  const frame = () => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
  const out = {renders: +document.body.dataset.renders, version: document.body.dataset.version};
  for (const id of ['hour', 'day', 'tracks', 'artists', 'devices']) {
    const c = Chart.getChart(document.getElementById('chart-' + id));
    const meta = c.getDatasetMeta(0);
    const el = meta.data[0];
    const p = el.tooltipPosition();
    const r = c.canvas.getBoundingClientRect();
    c.canvas.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + p.x, clientY: r.top + p.y, bubbles: true}));
    await frame();
    out[id] = {
      labels: c.data.labels.map(String), data: c.data.datasets.map((d) => d.data),
      drawn: meta.data.length,
      // Elements with an extent: bars of non-zero height or width, arcs,
      // and every point of a line.
      sized: meta.data.filter((e) => id === 'day' || (e.outerRadius || 0) > 0 ||
        (e.base != null && Math.abs(e.base - (c.options.indexAxis === 'y' ? e.x : e.y)) > 0.5)).length,
      tooltip: {opacity: c.tooltip.opacity, title: c.tooltip.title,
                lines: c.tooltip.body ? c.tooltip.body.map((b) => b.lines).flat() : [],
                after: c.tooltip.body ? c.tooltip.body.map((b) => b.after).flat() : []},
      table: [...document.querySelectorAll('#table-' + id + ' tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)),
    };
  }
  out.tiles = Object.fromEntries([...document.querySelectorAll('#overview div')].map((d) => [d.dataset.key, d.querySelector('dd').textContent]));
  return out;
})()
EOF
rendered='(n) => new Promise((res) => { const t = () => { if (+(document.body.dataset.renders || 0) >= n) res(true); else setTimeout(t, 50); }; t(); })'
# settled(n): n transform runs have succeeded and the page shows what the
# server serves now. The page also redraws while a run is half way (bronze
# loaded, gold not yet), so "a second render" alone is not the end state.
settled='(n) => new Promise((res) => { const t = async () => { try { const runs = (await (await fetch("/api/v1/dags/transform/dagRuns")).json()).dag_runs; const d = await (await fetch("/api/v1/ui/dashboard")).json(); if (runs.filter((r) => r.state === "success").length >= n && +(document.body.dataset.renders || 0) >= 2 && document.body.dataset.version === d.warehouse_version) return res(true); } catch (e) {} setTimeout(t, 100); }; t(); })'

# expected.py [START END]: the same figures straight from gold (silver for
# hours, and for tracks, artists and devices over a range), as the page
# should show them.
cat >"$TMP/expected.py" <<'EOF'
import json, sqlite3, sys
home = sys.argv[1]
rng = sys.argv[2:4] if len(sys.argv) > 3 else None
db = sqlite3.connect("file:%s/warehouse.db?mode=ro" % home, uri=True)
for s in ("bronze", "silver", "gold"):
    db.execute("ATTACH 'file:%s/warehouse_%s.db?mode=ro' AS %s" % (home, s, s))
lo, hi = rng or ("0000-01-01", "9999-12-31")
q = lambda sql, *a: db.execute(sql, a).fetchall()
days = q("SELECT played_date, sum(play_count), count(DISTINCT user_id), sum(total_ms) FROM gold.daily_user_stats WHERE played_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1", lo, hi)
hours = dict(q("SELECT CAST(substr(played_at, 12, 2) AS INTEGER), count(*) FROM silver.silver_plays WHERE played_date BETWEEN ? AND ? GROUP BY 1", lo, hi))
if rng:
    tracks = q("SELECT rank() OVER (ORDER BY count(*) DESC), min(track_name), min(artist_name), count(*) FROM silver.silver_plays WHERE played_date BETWEEN ? AND ? GROUP BY track_id ORDER BY 1, 2 LIMIT 10", lo, hi)
    artists = q("SELECT rank() OVER (ORDER BY count(*) DESC), artist_name, count(*), count(DISTINCT track_id) FROM silver.silver_plays WHERE played_date BETWEEN ? AND ? GROUP BY 2 ORDER BY 1, 2 LIMIT 10", lo, hi)
    devices = q("SELECT device_type, count(*), count(DISTINCT user_id), round(100.0 * count(*) / sum(count(*)) OVER (), 2) FROM silver.silver_plays WHERE played_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 2 DESC, 1", lo, hi)
    ntracks, nartists = q("SELECT count(DISTINCT track_id), count(DISTINCT artist_name) FROM silver.silver_plays WHERE played_date BETWEEN ? AND ?", lo, hi)[0]
else:
    tracks = q("SELECT rank, track_name, artist_name, play_count FROM gold.top_tracks ORDER BY rank, track_name LIMIT 10")
    artists = q("SELECT rank, artist_name, play_count, unique_tracks FROM gold.top_artists ORDER BY rank, artist_name LIMIT 10")
    devices = q("SELECT device_type, play_count, unique_users, pct FROM gold.device_usage ORDER BY play_count DESC, device_type")
    ntracks, nartists = q("SELECT (SELECT count(*) FROM gold.top_tracks), (SELECT count(*) FROM gold.top_artists)")[0]
plays, listeners, total_ms = q("SELECT sum(play_count), count(DISTINCT user_id), sum(total_ms) FROM gold.daily_user_stats WHERE played_date BETWEEN ? AND ?", lo, hi)[0]
last_load = q("SELECT max(loaded_at) FROM bronze.loaded_objects")[0][0]
print(json.dumps({
    "hour": {"labels": ["%02d:00" % h for h in range(24)], "data": [[hours.get(h, 0) for h in range(24)]],
             "table": [[str(h), str(hours.get(h, 0))] for h in range(24)]},
    "day": {"labels": [r[0] for r in days], "data": [[r[1] for r in days], [r[2] for r in days], [round(r[3] / 3600000, 2) for r in days]],
            "table": [[r[0], str(r[1]), str(r[2]), "%.2f" % (r[3] / 3600000)] for r in days]},
    "tracks": {"labels": [r[1] for r in tracks], "data": [[r[3] for r in tracks]],
               "table": [[str(r[0]), r[1], r[2], str(r[3])] for r in tracks]},
    "artists": {"labels": [r[1] for r in artists], "data": [[r[2] for r in artists], [r[3] for r in artists]],
                "table": [[str(r[0]), r[1], str(r[2]), str(r[3])] for r in artists]},
    "devices": {"labels": [r[0] for r in devices], "data": [[r[1] for r in devices]],
                "table": [[r[0], str(r[1]), str(r[2]), "%.2f" % r[3]] for r in devices]},
    "tiles": {"Plays": str(plays), "Listeners": str(listeners), "Tracks": str(ntracks), "Artists": str(nartists),
              "Average play": "%.1f s" % (total_ms / plays / 1000), "Listening hours": "%.2f" % (total_ms / 3600000),
              "Last load": last_load},
}))
EOF

# check.py EXPECTED SHOWN: every chart and tile as gold says.
cat >"$TMP/check.py" <<'EOF'
import json, sys
want, got = json.load(open(sys.argv[1])), json.loads(open(sys.argv[2]).read())
for k in ("hour", "day", "tracks", "artists", "devices"):
    w, g = want[k], got[k]
    assert w["labels"], "%s: gold has no rows" % k
    assert g["labels"] == w["labels"], (k, "labels", g["labels"], w["labels"])
    assert g["data"] == w["data"], (k, "data", g["data"], w["data"])
    assert g["table"] == w["table"], (k, "table", g["table"], w["table"])
    nonzero = len(w["labels"]) if k == "day" else sum(1 for v in w["data"][0] if v)
    assert g["drawn"] == len(w["labels"]) and g["sized"] == nonzero, (k, "drawn", g["drawn"], g["sized"], nonzero)
    # Hovering the first element shows its label and number.
    t, label, first = g["tooltip"], w["labels"][0], w["data"][0][0]
    assert t["opacity"] > 0, (k, "no tooltip", t)
    if k == "devices":  # a doughnut's tooltip puts the label in the line
        assert "%s: %s" % (label, first) in t["lines"], (k, "tooltip", t)
    else:
        assert t["title"] == [label], (k, "tooltip title", t)
        assert "Plays: %s" % first in t["lines"], (k, "tooltip value", t)
for key, v in want["tiles"].items():
    assert got["tiles"].get(key) == v, ("tile", key, got["tiles"].get(key), v)
print("ok")
EOF

# The page, with the second pipeline run made while it is open.
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dashboard" \
  "($rendered)(1)" "$(cat "$TMP/collect.js")" "screenshot:$ARTIFACTS/dashboard_all_days.png" \
  "($settled)(2)" "$(cat "$TMP/collect.js")" "screenshot:$ARTIFACTS/dashboard_after_second_run.png" \
  >"$TMP/page.json" 2>"$TMP/page.err" &
page_pid=$!
wait_for "[ \$(wc -l <\"$TMP/page.json\") -ge 3 ] || ! kill -0 $page_pid" 60
[ "$(wc -l <"$TMP/page.json")" -ge 3 ] || fail "driving the dashboard: $(cat "$TMP/page.err")"
"$PYTHON" "$TMP/expected.py" "$DAGCTL_HOME" >"$TMP/want1.json"
sed -n 2p "$TMP/page.json" >"$TMP/got1.json"
"$PYTHON" "$TMP/check.py" "$TMP/want1.json" "$TMP/got1.json" >/dev/null ||
  fail "the dashboard disagrees with gold: $(cat "$TMP/got1.json")"

# A second run brings 150 more events; the open page redraws by itself.
"$PYTHON" "$(dirname "$0")/dashboard_lake.py" "$DAGCTL_HOME/lake" 300 150
out=$(dagctl trigger transform --wait) || fail "the second transform run failed: $out"
wait "$page_pid" || fail "driving the dashboard after the second run: $(cat "$TMP/page.err")"
"$PYTHON" "$TMP/expected.py" "$DAGCTL_HOME" >"$TMP/want2.json"
sed -n 5p "$TMP/page.json" >"$TMP/got2.json"
"$PYTHON" "$TMP/check.py" "$TMP/want2.json" "$TMP/got2.json" >/dev/null ||
  fail "after the second run the dashboard disagrees with gold: $(cat "$TMP/got2.json")"
assert_eq "$(pyjson 'd["tiles"]["Plays"]' <"$TMP/got2.json")" \
  "$(sqlite3 "$GOLD"_silver.db 'SELECT count(*) FROM silver_plays')" "plays after the second run"

# One day of the three, as a date range in the page's address.
day=$(sqlite3 "$GOLD"_gold.db 'SELECT min(played_date) FROM daily_user_stats')
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dashboard?start=$day&end=$day" \
  "($rendered)(1)" "$(cat "$TMP/collect.js")" "screenshot:$ARTIFACTS/dashboard_one_day.png" \
  >"$TMP/day.json" 2>"$TMP/day.err" || fail "driving the dashboard with a range: $(cat "$TMP/day.err")"
"$PYTHON" "$TMP/expected.py" "$DAGCTL_HOME" "$day" "$day" >"$TMP/want3.json"
sed -n 2p "$TMP/day.json" >"$TMP/got3.json"
"$PYTHON" "$TMP/check.py" "$TMP/want3.json" "$TMP/got3.json" >/dev/null ||
  fail "the dashboard over $day disagrees with silver: $(cat "$TMP/got3.json")"
[ "$(pyjson 'len(d["day"]["labels"])' <"$TMP/got3.json")" = 1 ] || fail "the range shows other days"

# No rule of the page's policy broken while it loads and draws (Chromium
# logs each refused script, style or eval on the console).
timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --enable-logging=stderr --v=0 \
  --virtual-time-budget=5000 --dump-dom "$B/dashboard" >"$TMP/dash.dom" 2>"$TMP/console.log" </dev/null || true
grep -q 'data-renders="1"' "$TMP/dash.dom" || fail "the dashboard did not render in a plain load"
! grep -iE 'Content.Security.Policy|Refused to' "$TMP/console.log" ||
  fail "the dashboard breaks its CSP: $(grep -iE 'Content.Security.Policy|Refused to' "$TMP/console.log" | head -n 3)"
log "dashboard agrees with gold: $(pyjson 'd["tiles"]["Plays"]' <"$TMP/got1.json") then $(pyjson 'd["tiles"]["Plays"]' <"$TMP/got2.json") plays; screenshots in $ARTIFACTS"
