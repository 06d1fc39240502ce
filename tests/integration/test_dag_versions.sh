#!/usr/bin/env bash
# One source of DAG truth: each distinct content of a DAG file is stored as a
# version. A DAG file edited during a run (a task removed, one added) leaves
# the run on the version it started with, through a scheduler crash too;
# the next run uses the new version; `dagctl` and the API show each run's
# version and both sources. A file that breaks keeps the last good version
# running, its error shown beside it.
. "$(dirname "$0")/lib.sh"

need chromium
CHROMIUM=$(command -v chromium)
PWN="document.title='pwned'"

v1() {
  write_dag ver <<EOF2
dag_id: ver
tasks:
  - id: gate
    command: while [ ! -e $TMP/gate ]; do sleep 0.05; done
  - id: keep
    command: $FAKE_TASK --record $TMP/ver.rec --label keep
    upstream: [gate]
  - id: old
    command: $FAKE_TASK --record $TMP/ver.rec --label old
    upstream: [gate]
EOF2
}
v2() {
  write_dag ver <<EOF2
dag_id: ver
# version 2: 'old' gone, 'new' added <img src=x onerror="$PWN">
tasks:
  - id: gate
    command: while [ ! -e $TMP/gate ]; do sleep 0.05; done
  - id: keep
    command: $FAKE_TASK --record $TMP/ver.rec --label keep
    upstream: [gate]
  - id: new
    command: $FAKE_TASK --record $TMP/ver.rec --label new
    upstream: [keep]
EOF2
}
tasks_of() {
  sql "SELECT group_concat(task_id || '=' || state, ' ') FROM (SELECT ti.task_id, ti.state
       FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
       WHERE r.dag_id = 'ver' AND r.run_id = '$1' ORDER BY ti.task_id)"
}
version_of_run() {
  sql "SELECT v.version_number FROM dag_run r JOIN dag_version v ON v.id = r.created_dag_version_id
       WHERE r.dag_id = 'ver' AND r.run_id = '$1'"
}

TOKEN=versions-token-$RANDOM-0123456789abcdef0123456789
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"
v1
cp "$DAGCTL_DAGS/ver.yaml" "$TMP/v1.yaml"
start_scheduler ver
[ -n "$SCHED_URL" ] || fail "the scheduler did not serve its page"
B=${SCHED_URL%/}
run1=$(trigger ver)
wait_for "[ \"\$(task_state ver '$run1' gate)\" = running ]" 10
assert_eq "$(version_of_run "$run1")" 1 "first run's version"

# --- edit the file during the run ----------------------------------------------------
v2
cp "$DAGCTL_DAGS/ver.yaml" "$TMP/v2.yaml"
wait_for "grep -q 'reloaded DAG dag=ver version=2' '$SCHED_LOG'" 10
assert_eq "$(sql "SELECT count(*) FROM dag_version WHERE dag_id = 'ver'")" 2 "versions stored"
# A restarted scheduler resumes the run from its stored version, not the file.
crash_scheduler
start_scheduler ver
B=${SCHED_URL%/}
touch "$TMP/gate"
assert_eq "$(wait_run ver "$run1" 20)" success "run across the edit"
assert_eq "$(tasks_of "$run1")" "gate=success keep=success old=success" "first run's graph"
assert_eq "$(rec_count "$TMP/ver.rec" end new)" 0 "the added task in the first run"

run2=$(trigger ver)
assert_eq "$(wait_run ver "$run2" 20)" success "run after the edit"
assert_eq "$(tasks_of "$run2")" "gate=success keep=success new=success" "second run's graph"
assert_eq "$(version_of_run "$run2")" 2 "second run's version"
assert_eq "$(rec_count "$TMP/ver.rec" end old)" 1 "the removed task ran in the first run only"

# The same content again is the same version: a touch, or writing it anew.
touch "$DAGCTL_DAGS/ver.yaml"
v2
run3=$(trigger ver)
assert_eq "$(wait_run ver "$run3" 20)" success "run of unchanged content"
assert_eq "$(version_of_run "$run3")" 2 "identical content keeps its version"

# Clearing a task of the first run clears it in that run's graph: 'old' is
# in version 1 only, and runs again there.
dagctl clear ver "$run1" old >"$TMP/clear.out" || fail "clear a task of the first run's version"
assert_eq "$(wait_run ver "$run1" 20)" success "first run after the clear"
assert_eq "$(rec_count "$TMP/ver.rec" end old)" 2 "the cleared task of version 1 ran again"
# The API's clear too.
curl -sS -f -X POST "$B/api/v1/dags/ver/clearTaskInstances" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' \
  -d "{\"dag_run_id\": \"$run1\", \"task_ids\": [\"old\"], \"dry_run\": false}" >/dev/null ||
  fail "API clear of a task of the first run's version"
assert_eq "$(wait_run ver "$run1" 20)" success "first run after the API's clear"
assert_eq "$(rec_count "$TMP/ver.rec" end old)" 3 "the task cleared through the API ran again"

# --- the CLI ------------------------------------------------------------------------
dagctl runs ver >"$TMP/runs.txt"
cli_version() { awk -v r="$1" '$1 == r { print $NF }' "$TMP/runs.txt"; }
assert_eq "$(cli_version "$run1")" v1 "dagctl runs: first run's version"
assert_eq "$(cli_version "$run2")" v2 "dagctl runs: second run's version"
assert_eq "$(dagctl runs ver --json | pyjson "[r['dag_version_number'] for r in d if r['dag_run_id'] == '$run1'][0]")" 1 \
  "runs --json version"
dagctl dags source ver --version 1 >"$TMP/src1"
cmp -s "$TMP/src1" "$TMP/v1.yaml" || fail "dags source v1: $(diff "$TMP/v1.yaml" "$TMP/src1")"
dagctl dags source ver --version 2 >"$TMP/src2"
cmp -s "$TMP/src2" "$TMP/v2.yaml" || fail "dags source v2: $(diff "$TMP/v2.yaml" "$TMP/src2")"
dagctl dags source ver >"$TMP/src"
cmp -s "$TMP/src" "$TMP/v2.yaml" || fail "dags source (latest)"
[ "$(dagctl dags versions ver --json | pyjson '[v["version_number"] for v in d]')" = "$(printf '2\n1')" ] ||
  fail "dags versions: $(dagctl dags versions ver)"
rc=0
dagctl dags source ver --version 9 >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "has no version 9" "$TMP/err" || fail "source of a missing version: rc=$rc $(cat "$TMP/err")"

# --- the API ------------------------------------------------------------------------
api() { curl -sS -f "$B$1"; }
assert_eq "$(api "/api/v1/dags/ver/dagRuns/$run1" | pyjson 'd["dag_version_number"]')" 1 "API run 1 version"
assert_eq "$(api "/api/v1/dags/ver/dagRuns/$run2" | pyjson 'd["dag_version_number"]')" 2 "API run 2 version"
content() { "$PYTHON" -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["content"])'; }
api "/api/v1/dagSources/ver?version_number=1" | content >"$TMP/api1"
cmp -s "$TMP/api1" "$TMP/v1.yaml" || fail "API source v1: $(cat "$TMP/api1")"
api "/api/v1/dagSources/ver?version_number=2" | content >"$TMP/api2"
cmp -s "$TMP/api2" "$TMP/v2.yaml" || fail "API source v2: $(cat "$TMP/api2")"
assert_eq "$(api "/api/v1/dags/ver/dagVersions" | pyjson 'd["total_entries"]')" 2 "API versions"
# The grid: the current graph's tasks, then the one only older runs have.
assert_eq "$(api /api/v1/dags/ver/grid | pyjson '[t["task_id"] for t in d["tasks"]]' | paste -sd' ')" \
  "gate keep new old" "grid rows"
assert_eq "$(api /api/v1/dags/ver/grid | pyjson "[t['states'][[r['dag_run_id'] for r in d['dag_runs']].index('$run1')] for t in d['tasks']]" | paste -sd' ')" \
  "success success null success" "first run's column"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$B/api/v1/dagSources/ver?version_number=9")
assert_eq "$code" 404 "API source of a missing version"

# --- a broken file keeps the last good version -----------------------------------------
printf 'dag_id: ver\ntasks:\n  - id: gate\n    command: true\n   upstream: x\n' | write_dag ver
wait_for "grep -q 'DAG keeps its last good version dag=ver' '$SCHED_LOG'" 10
run4=$(trigger ver)
assert_eq "$(wait_run ver "$run4" 20)" success "run while the file is broken"
assert_eq "$(version_of_run "$run4")" 2 "run on the last good version"
assert_eq "$(tasks_of "$run4")" "gate=success keep=success new=success" "last good graph"
dagctl dags source ver >"$TMP/src" 2>"$TMP/err"
cmp -s "$TMP/src" "$TMP/v2.yaml" || fail "source while broken"
grep -q "does not load now; this is its last good version (v2)" "$TMP/err" ||
  fail "no error beside the source: $(cat "$TMP/err")"
grep -Eq "ver.yaml:[0-9]+:[0-9]+: " "$TMP/err" || fail "the error names no line: $(cat "$TMP/err")"
api "/api/v1/dagSources/ver" >"$TMP/src.json"
assert_eq "$(pyjson 'd["version_number"]' <"$TMP/src.json")" 2 "API latest good version"
pyjson 'd["import_error"]' <"$TMP/src.json" | grep -Eq "ver.yaml:[0-9]+:[0-9]+: " ||
  fail "API source shows no error: $(cat "$TMP/src.json")"
assert_eq "$(api /api/v1/dags/ver | pyjson '[d["dag_version_number"], d["has_import_errors"], d["is_active"]]')" \
  "$(printf '2\nTrue\nTrue')" "API DAG while broken"
# A scheduler started while the file is broken runs the last good version too.
stop_scheduler
start_scheduler ver
B=${SCHED_URL%/}
grep -q 'running its last good version dag=ver version=2' "$SCHED_LOG" ||
  fail "restart with a broken file: $(grep ver.yaml "$SCHED_LOG")"
run5=$(trigger ver)
assert_eq "$(wait_run ver "$run5" 20)" success "run after a restart with the file broken"
assert_eq "$(version_of_run "$run5")" 2 "its version"

# --- the status page's code view ----------------------------------------------------------
browser() {
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --window-size=1400,900 \
    --virtual-time-budget=6000 "$@" 2>>"$TMP/chromium.log" </dev/null
}
page() { # page QUERY OUT: the DAG page's DOM as the browser built it
  browser --dump-dom "$B/dags/ver?$1" >"$2"
  [ -s "$2" ] || fail "chromium dumped no DOM: $(tail -n 5 "$TMP/chromium.log")"
}
urlq() { "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
page "run=$(urlq "$run1")&tab=code" "$TMP/code1.dom"
python3 - "$TMP/code1.dom" "$TMP/v1.yaml" <<'EOF2' || fail "the code view of run 1"
import sys, html, re
dom, src = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r'<pre[^>]*id="code-source"[^>]*>(.*?)</pre>', dom, re.S)
assert m, "no code view"
assert html.unescape(m.group(1)) == src, m.group(1)
assert re.search(r'id="code-version"[^>]*>v1<', dom), "version not shown"
# The file is broken now: its error beside the source.
m = re.search(r'<pre[^>]*id="code-error"[^>]*>(.*?)</pre>', dom, re.S)
assert m and re.search(r'ver\.yaml:\d+:\d+: ', html.unescape(m.group(1))), "no import error shown"
EOF2
page "run=$(urlq "$run1")" "$TMP/details1.dom"
grep -q '<dt>DAG version</dt><dd>v1</dd>' "$TMP/details1.dom" || fail "run 1's details show no v1"
grep -q '<dt>Version</dt><dd>v2</dd>' "$TMP/details1.dom" || fail "the DAG's head shows no v2"
page "run=$(urlq "$run2")&tab=code" "$TMP/code2.dom"
python3 - "$TMP/code2.dom" "$TMP/v2.yaml" <<'EOF2' || fail "the code view of run 2"
import sys, html, re
dom, src = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r'<pre[^>]*id="code-source"[^>]*>(.*?)</pre>', dom, re.S)
assert m and html.unescape(m.group(1)) == src, m and m.group(1)
assert re.search(r'id="code-version"[^>]*>v2<', dom), "version not shown"
# The source's markup is text: the title is the page's, no <img> element.
assert "<title>ver \u2013 dagctl</title>" in dom, re.search(r'<title>.*?</title>', dom)
assert "<img src=x" not in dom, "an <img> from the source became an element"
assert "&lt;img src=x onerror=" in dom, "the source's markup is not shown as text"
EOF2
stop_scheduler
