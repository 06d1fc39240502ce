#!/usr/bin/env bash
# The status page in a real browser (headless Chromium): after a run, the
# DAG page's grid shows every task's state, markup injected through a DAG
# description and a run's conf never runs, and screenshots of the pages are
# kept as test artifacts in the build directory (tests/artifacts/).
. "$(dirname "$0")/lib.sh"

need chromium
CHROMIUM=$(command -v chromium)

ARTIFACTS=${DAGCTL_BUILD_DIR:-$TMP}/tests/artifacts
mkdir -p "$ARTIFACTS"
TOKEN=page-token-$RANDOM-0123456789abcdef0123456789
PWN="document.title='pwned'"

write_dag webpage <<EOF2
dag_id: webpage
description: "Orders pipeline <script>$PWN</script><img src=x onerror=\"$PWN\">"
tags: [demo, "<b>bold</b>"]
default_args:
  retries: 0
tasks:
  - id: extract
    command: echo extracted
  - id: validate
    upstream: extract
    command: echo validated
  - id: transform
    upstream: validate
    command: echo transformed
  - id: flaky_check
    upstream: validate
    command: echo "check failed" >&2; exit 2
  - id: load
    upstream: [transform, flaky_check]
    command: echo loaded
  - id: report
    upstream: load
    trigger_rule: all_done
    command: echo reported
EOF2
# A log of 200,000 numbered lines (1.3 MB): the try page shows its tail.
write_dag biglog <<'EOF2'
dag_id: biglog
tasks:
  - id: count
    command: seq 1 200000
EOF2
# A mapped task (expand:): one grid row with the count of its instances
# in each state, one row per map_index once unfolded.
write_dag mapgrid <<'EOF2'
dag_id: mapgrid
tasks:
  - id: fan
    expand:
      n: [1, 2, 3]
    command: test {{ n }} -ne 2
  - id: after
    upstream: fan
    trigger_rule: all_done
    command: echo after
EOF2
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"
start_scheduler webpage
[ -n "$SCHED_URL" ] || fail "the scheduler did not serve its page"
B=${SCHED_URL%/}

trigger_run() {
  curl -sS -f -X POST "$B/api/v1/dags/webpage/dagRuns" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "$1" >/dev/null
}
run_api_state() { curl -sS "$B/api/v1/dags/webpage/dagRuns/$1" | pyjson 'd["state"]'; }
trigger_run '{"dag_run_id": "first_run"}'
# report (all_done) is the only leaf and succeeds: the run succeeds, as in
# Airflow, with a failed and an upstream_failed task inside.
wait_for "[ \"\$(run_api_state first_run)\" = success ]" 20
conf=$(python3 -c 'import json, sys; print(json.dumps({"dag_run_id": "second_run", "conf": {"note": "<img src=x onerror=\"" + sys.argv[1] + "\">", "n": 5}}))' "$PWN")
trigger_run "$conf"
wait_for "[ \"\$(run_api_state second_run)\" = success ]" 20

browser() {
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --window-size=1400,900 \
    --virtual-time-budget=6000 "$@" 2>>"$TMP/chromium.log" </dev/null
}

# --- the DAG page's grid, as the browser built it ----------------------------------
browser --dump-dom "$B/dags/webpage" >"$TMP/dag.dom"
[ -s "$TMP/dag.dom" ] || fail "chromium dumped no DOM: $(tail -n 5 "$TMP/chromium.log")"
curl -sS "$B/api/v1/dags/webpage/grid" >"$TMP/grid.json"
python3 - "$TMP/dag.dom" "$TMP/grid.json" <<'EOF2' || fail "the grid does not show the runs' task states"
import json, sys
from html.parser import HTMLParser

class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.title, self.in_title, self.text = {}, "", False, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self.in_title = True
        if "cell" in (a.get("class") or "").split():
            self.cells[(a["data-run"], a["data-task"])] = a["data-state"]
    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
    def handle_data(self, data):
        if self.in_title:
            self.title += data
        self.text.append(data)

p = Cells()
p.feed(open(sys.argv[1]).read())
grid = json.load(open(sys.argv[2]))
want = {}
for t in grid["tasks"]:
    for i, r in enumerate(grid["dag_runs"]):
        want[(r["dag_run_id"], t["task_id"])] = t["states"][i] or "none"
assert len(want) == 12, want
assert p.cells == want, "page %s\napi  %s" % (p.cells, want)
states = {v for (run, task), v in p.cells.items() if run == "second_run"}
assert states == {"success", "failed", "upstream_failed"}, states
expected = {("second_run", "extract"): "success", ("second_run", "flaky_check"): "failed",
            ("second_run", "load"): "upstream_failed", ("second_run", "report"): "success"}
for k, v in expected.items():
    assert p.cells[k] == v, (k, p.cells[k])
# The scripts ran (they set the title), the injected ones did not.
assert p.title == "webpage \u2013 dagctl", repr(p.title)
text = "".join(p.text)
# The injected markup is on the page, as text: the description and the
# selected (newest) run's conf.
assert "<script>document.title='pwned'</script>" in text, "description not shown as text"
assert '<img src=x onerror=\\"document.title=\'pwned\'\\">' in text, "conf not shown as text"
EOF2
# Serialized, the injected markup is escaped: no live <img> or <script> made it into the DOM.
if grep -q '<img src=x' "$TMP/dag.dom"; then fail "an injected <img> element is in the DOM"; fi
if grep -q "<script>document.title" "$TMP/dag.dom"; then fail "an injected <script> element is in the DOM"; fi
grep -q '&lt;img src=x onerror=' "$TMP/dag.dom" || fail "the conf is not on the page as text"

browser --screenshot="$ARTIFACTS/web_dag_page.png" "$B/dags/webpage?run=second_run&task=flaky_check" >/dev/null
python3 - "$ARTIFACTS/web_dag_page.png" <<'EOF2' || fail "bad screenshot"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1400, 900), (w, h)
assert len(data) > 20000, len(data)
EOF2
log "screenshot: $ARTIFACTS/web_dag_page.png"

# --- the DAG list and a try's log page ----------------------------------------------------------
browser --dump-dom "$B/" >"$TMP/dags.dom"
grep -q 'data-dag="webpage"' "$TMP/dags.dom" || fail "the DAG list has no row for webpage"
grep -q '<title>DAGs – dagctl</title>' "$TMP/dags.dom" || fail "the DAG list's title changed: $(grep -o '<title>[^<]*' "$TMP/dags.dom")"
grep -q '&lt;script&gt;document.title' "$TMP/dags.dom" || fail "the description is not on the list as text"
[ "$(grep -o 'class="square" data-state="success"' "$TMP/dags.dom" | wc -l)" = 2 ] ||
  fail "the DAG list does not show the two runs"
browser --screenshot="$ARTIFACTS/web_dags_page.png" "$B/" >/dev/null

browser --dump-dom "$B/dags/webpage/runs/second_run/tasks/flaky_check/tries/1" >"$TMP/try.dom"
grep -q 'check failed' "$TMP/try.dom" || fail "the try page does not show the log"
grep -q 'data-state="failed"' "$TMP/try.dom" || fail "the try page does not show the try's state"
# What the try cost, from its status file.
grep -qE '<dt>Max RSS</dt><dd>[0-9.]+ MiB</dd><dt>CPU</dt><dd>[0-9]+ms user \+ [0-9]+ms system</dd>' \
  "$TMP/try.dom" || fail "the try page does not show the try's max RSS and CPU time"
browser --screenshot="$ARTIFACTS/web_try_page.png" "$B/dags/webpage/runs/second_run/tasks/flaky_check/tries/1" >/dev/null

# --- a big log: its tail first, earlier parts on a click and on scrolling up -------------------
curl -sS -f -X POST "$B/api/v1/dags/biglog/dagRuns" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"dag_run_id": "big"}' >/dev/null
wait_for "[ \"\$(curl -sS $B/api/v1/dags/biglog/dagRuns/big | pyjson 'd[\"state\"]')\" = success ]" 30
# What the log shows: its numbered lines, which must run without a gap.
state='(() => { const ls = document.querySelector("#log").textContent.split("\n").filter((x) => /^[0-9]+$/.test(x));
  const bar = document.querySelector("#log-earlier");
  return {first: +ls[0], last: +ls[ls.length - 1], n: ls.length,
          gapless: ls.every((x, i) => +x === +ls[0] + i), bar: !!bar && !bar.hidden}; })()'
# Resolves once the log's first line is no longer `before`.
moved='(before) => new Promise((res) => { const t = () => {
  const f = document.querySelector("#log").textContent.split("\n")[0];
  if (f !== before) res(true); else setTimeout(t, 50); }; t(); })'
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dags/biglog/runs/big/tasks/count/tries/1" \
  'new Promise((res) => { const t = () => { const p = document.querySelector("#log");
    if (p && p.textContent.includes("200000")) res(true); else setTimeout(t, 50); }; t(); })' \
  "$state" \
  "(() => { const before = document.querySelector('#log').textContent.split('\n')[0];
            document.querySelector('#log-earlier-btn').click(); return ($moved)(before); })()" \
  "$state" \
  "(() => { const p = document.querySelector('#log'); const before = p.textContent.split('\n')[0];
            p.scrollTop = 0; return ($moved)(before); })()" \
  "$state" >"$TMP/biglog.json" 2>"$TMP/biglog.err" ||
  fail "driving the try page: $(cat "$TMP/biglog.err" "$TMP/biglog.json")"
python3 - "$TMP/biglog.json" <<'EOF2' || fail "the big log's page: $(cat "$TMP/biglog.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
tail, clicked, scrolled = lines[1], lines[3], lines[5]
# The tail alone (256 KiB of 1.3 MB), complete lines, up to the last one.
assert tail["last"] == 200000 and tail["gapless"] and tail["bar"], tail
assert tail["first"] > 150000, tail
# A click puts the part before it in front; scrolling to the top the next.
assert clicked["last"] == 200000 and clicked["gapless"], clicked
assert clicked["first"] < tail["first"] and clicked["first"] > 100000, clicked
assert scrolled["last"] == 200000 and scrolled["gapless"], scrolled
assert scrolled["first"] < clicked["first"], scrolled
assert scrolled["bar"], scrolled  # more remains before
EOF2
log "big log: tail from line $(sed -n 2p "$TMP/biglog.json" | pyjson 'd["first"]'), then $(sed -n 4p "$TMP/biglog.json" | pyjson 'd["first"]'), then $(sed -n 6p "$TMP/biglog.json" | pyjson 'd["first"]')"

for tab in graph gantt; do
  browser --screenshot="$ARTIFACTS/web_dag_$tab.png" "$B/dags/webpage?run=second_run&tab=$tab" >/dev/null
done
browser --dump-dom "$B/dags/webpage?run=second_run&tab=gantt" >"$TMP/gantt.dom"
grep -qE 'max RSS [0-9.]+ MiB · CPU [0-9]+ms user' "$TMP/gantt.dom" ||
  fail "the Gantt chart's tooltips do not show the tries' max RSS and CPU time"
browser --dump-dom "$B/dags/webpage?run=second_run&tab=graph" >"$TMP/graph.dom"
[ "$(grep -o '<g class="node[^"]*" data-state="[a-z_]*" data-task=' "$TMP/graph.dom" | wc -l)" = 6 ] ||
  fail "the graph does not draw the six tasks"
grep -q 'data-state="upstream_failed" data-task="load"' "$TMP/graph.dom" || fail "graph node states"

# --- a mapped task in the grid: folded with counts, unfolded on a click -----------
dagctl dags unpause mapgrid >/dev/null
mrun=$(trigger mapgrid)
wait_for "run_finished mapgrid '$mrun'" 20
until='(f) => new Promise((res) => { const t = () => { try { if (f()) return res(true); } catch (e) {} setTimeout(t, 50); }; t(); })'
mrows='[...document.querySelectorAll("#grid .cell")].map((c) => c.dataset.task + (c.dataset.mapIndex ? "[" + c.dataset.mapIndex + "]" : "") + "=" + c.dataset.state + (c.dataset.counts ? "(" + c.dataset.counts + ")" : "")).join(" ")'
mnames='[...document.querySelectorAll("#grid .task-name")].map((b) => b.firstChild.textContent).join("|")'
mcounts='[...document.querySelectorAll("#grid .mapped-count")].map((c) => c.dataset.state + ":" + c.textContent).join(" ")'
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dags/mapgrid" \
  "($until)(() => document.querySelector('#grid .cell'))" \
  "$mrows" "$mnames" \
  "document.querySelector('#grid .cell.mapped-cell').title" "$mcounts" \
  "(document.querySelector('#grid .mapped-name[data-mapped=\"fan\"]').click(), ($until)(() => document.querySelector('#grid .cell[data-map-index=\"2\"]')))" \
  "$mrows" "$mnames" \
  "screenshot:$ARTIFACTS/web_mapped_grid.png" \
  "(document.querySelector('#grid .mapped-name[data-mapped=\"fan\"]').click(), ($until)(() => !document.querySelector('#grid .cell[data-map-index]')))" \
  "$mrows" \
  "(document.querySelector('#grid .cell.mapped-cell').click(), ($until)(() => document.querySelectorAll('.mapped-detail .instance').length === 3))" \
  "[...document.querySelectorAll('.mapped-detail .instance')].map((e) => e.dataset.mapIndex + '=' + e.querySelector('.badge, [data-state]').textContent.trim() + ':' + e.querySelector('a.try-link').getAttribute('href').replace(/.*\\/tries\\//, '')).join(' ')" \
  >"$TMP/mapped.json" 2>"$TMP/mapped.err" || fail "driving the mapped grid: $(cat "$TMP/mapped.err" "$TMP/mapped.json")"
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dags/mapgrid/runs/$mrun/tasks/fan/tries/1?map_index=1" \
  "($until)(() => document.querySelector('#log').textContent.includes('map_index=1'))" \
  "document.querySelector('#log').textContent.includes('exited with status 1')" \
  >"$TMP/mapped_try.json" 2>"$TMP/mapped_try.err" || fail "the try page of fan[1]: $(cat "$TMP/mapped_try.err" "$TMP/mapped_try.json")"
assert_eq "$(sed -n 2p "$TMP/mapped_try.json")" true "fan[1]'s log on its try page"
"$PYTHON" - "$TMP/mapped.json" <<'EOF2' || fail "the mapped task in the grid: $(cat "$TMP/mapped.json")"
import json, sys
v = [json.loads(l) for l in open(sys.argv[1])]
# Folded: the task's own state (failed: an instance failed), with its counts.
assert v[1] == "fan=failed(success:2 failed:1) after=success", v[1]
assert v[2] == "\u25b8 fan [3]|after", v[2]
assert "3 mapped: success 2, failed 1" in v[3], v[3]
# Beside the name, the selected run's count in each state.
assert v[4] == "success:2 failed:1", v[4]
# Unfolded: one row per map_index, each with its own state.
assert v[6] == ("fan=failed(success:2 failed:1) fan[0]=success fan[1]=failed fan[2]=success "
                "after=success"), v[5]
assert v[7] == "\u25be fan [3]|[0]|[1]|[2]|after", v[7]
# Folded again.
assert v[10] == "fan=failed(success:2 failed:1) after=success", v[10]
# The task's panel lists its instances, each with its state and its log.
assert v[12] == "0=success:1?map_index=0 1=failed:1?map_index=1 2=success:1?map_index=2", v[12]
EOF2
log "a mapped task folds and unfolds in the grid; screenshot: $ARTIFACTS/web_mapped_grid.png"
