#!/usr/bin/env bash
# XCom from shell and exec tasks, branch and short_circuit, run by the
# real scheduler: which tasks ran, which were skipped, the values stored,
# what `dagctl tasks` lists and what Airflow's xcomEntries paths serve.
. "$(dirname "$0")/lib.sh"
need curl
need chromium
CHROMIUM=$(command -v chromium)
export DAGCTL_DAGS=$TMP/dags
mkdir -p "$DAGCTL_DAGS"
OUT=$TMP/out
mkdir -p "$OUT"

write_dag flow <<YAML
dag_id: flow
default_args:
  retries: 0
tasks:
  - id: extract
    command: |
      echo "rows=42" >> "\$DAGCTL_XCOM"
      echo "target=load_big" >> "\$DAGCTL_XCOM"
      echo some log line
      echo 'the result'
    xcom_push: last_line
  - id: stats
    argv: [sh, -c, 'printf "{\"files\": [\"a.csv\", \"b.csv\"], \"ok\": true}" > "\$DAGCTL_XCOM"']
  - id: pick
    upstream: [extract]
    command: echo {{ ti.xcom_pull(task_ids='extract', key='target') }}
    xcom_push: last_line
    branch: true
  - id: load_big
    upstream: [pick, stats]
    command: echo {{ ti.xcom_pull('extract') }} {{ ti.xcom_pull('stats', key='files') }} > $OUT/load_big
  - id: load_small
    upstream: [pick]
    command: touch $OUT/load_small
  - id: after_small
    upstream: [load_small]
    command: touch $OUT/after_small
  - id: join
    upstream: [load_big, after_small, stats]
    trigger_rule: none_failed_min_one_success
    command: touch $OUT/join
  - id: gate
    upstream: [join]
    command: echo false
    xcom_push: last_line
    short_circuit: true
  - id: publish
    upstream: [gate]
    command: touch $OUT/publish
  - id: cleanup
    upstream: [publish]
    trigger_rule: all_done
    command: touch $OUT/cleanup
  - id: gate99
    upstream: [join]
    command: exit 99
    short_circuit: true
    ignore_downstream_trigger_rules: false
  - id: notify
    upstream: [gate99]
    command: touch $OUT/notify
  - id: report
    upstream: [notify]
    trigger_rule: all_done
    command: touch $OUT/report
YAML

run=$(dagctl test flow --quiet) || fail "dagctl test flow failed"
for t in extract stats pick load_big join gate report; do
  assert_eq "$(task_state flow "$run" $t)" success "$t"
done
# The branch chose load_big: load_small and what follows it were skipped,
# the join ran. A false short circuit skipped all below it, the all_done
# cleanup too; exit 99 with ignore_downstream_trigger_rules: false skipped
# notify only, and all_done let report run.
for t in load_small after_small publish cleanup notify gate99; do
  assert_eq "$(task_state flow "$run" $t)" skipped "$t"
done
for f in load_big join report; do [ -e "$OUT/$f" ] || fail "$f did not run"; done
for f in load_small after_small publish cleanup notify; do
  [ ! -e "$OUT/$f" ] || fail "$f ran"
done
assert_eq "$(cat "$OUT/load_big")" 'the result ["a.csv","b.csv"]' "load_big's rendered command"

xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.dag_id = 'flow' AND r.run_id = '$run' AND x.task_id = '$1' AND x.key = '$2'"
}
assert_eq "$(xcom extract rows)" '"42"' "extract.rows"
assert_eq "$(xcom extract return_value)" '"the result"' "extract.return_value"
assert_eq "$(xcom stats files)" '["a.csv","b.csv"]' "stats.files"
assert_eq "$(xcom stats ok)" 'true' "stats.ok"
assert_eq "$(xcom pick return_value)" '"load_big"' "pick.return_value"
assert_eq "$(xcom gate return_value)" '"false"' "gate.return_value"
assert_eq "$(sql "SELECT count(*) FROM xcom x JOIN dag_run r ON r.id = x.run_pk
                  WHERE r.run_id = '$run'")" 7 "XCom values stored"

dagctl tasks flow "$run" >"$TMP/tasks.out" || fail "dagctl tasks failed"
grep -qxF 'extract.return_value = "the result"' "$TMP/tasks.out" ||
  fail "dagctl tasks does not list extract.return_value: $(cat "$TMP/tasks.out")"
grep -qxF 'stats.files = ["a.csv","b.csv"]' "$TMP/tasks.out" ||
  fail "dagctl tasks does not list stats.files"

# A branch to a task that is not directly downstream fails it, with the
# reason in its record and its log; a bad XCom file fails its task.
write_dag badflow <<'YAML'
dag_id: badflow
default_args:
  retries: 0
tasks:
  - id: pick
    command: echo after
    xcom_push: last_line
    branch: true
  - id: first
    upstream: [pick]
    command: "true"
  - id: after
    upstream: [first]
    command: "true"
  - id: badfile
    command: echo 'not a pair' > "$DAGCTL_XCOM"
YAML
rc=0
badrun=$(dagctl test badflow --quiet) || rc=$?
[ "$rc" -eq 1 ] || fail "dagctl test badflow exited $rc, expected 1"
assert_eq "$(task_state badflow "$badrun" pick)" failed "pick"
assert_eq "$(task_state badflow "$badrun" first)" upstream_failed "first"
assert_eq "$(task_state badflow "$badrun" badfile)" failed "badfile"
err() {
  sql "SELECT t.error FROM task_try t JOIN dag_run r ON r.id = t.run_pk
       WHERE r.dag_id = 'badflow' AND r.run_id = '$badrun' AND t.task_id = '$1'"
}
assert_eq "$(err pick)" "branch: 'after' is not a direct downstream task of 'pick' (they are: first)" "pick's error"
assert_eq "$(err badfile)" "XCom file (\$DAGCTL_XCOM): line 1: expected key=value (or one JSON object for the whole file)" "badfile's error"
grep -qF "[dagctl] try 1 failed: branch: 'after' is not a direct downstream task" \
  "$DAGCTL_HOME/logs/badflow/$badrun/pick/1.log" || fail "pick's log does not say why it failed"

# Airflow's xcomEntries paths, from the scheduler's web server.
start_scheduler flow badflow
B="${SCHED_URL%/}/api/v1/dags/flow/dagRuns/$(printf %s "$run" | "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')/taskInstances"
curl -sSf "$B/extract/xcomEntries" >"$TMP/list.json" || fail "GET xcomEntries failed"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/list.json")" 3 "total_entries"
assert_eq "$(pyjson '[x["key"] for x in d["xcom_entries"]]' <"$TMP/list.json" | tr '\n' ' ')" \
  "return_value rows target " "xcom_entries keys"
assert_eq "$(pyjson 'sorted(d["xcom_entries"][0])' <"$TMP/list.json" | tr '\n' ' ')" \
  "dag_id execution_date key map_index task_id timestamp " "an entry's fields"
assert_eq "$(pyjson 'd["xcom_entries"][0]["map_index"]' <"$TMP/list.json")" -1 "map_index"
curl -sSf "$B/stats/xcomEntries/files" >"$TMP/one.json" || fail "GET xcomEntries/files failed"
assert_eq "$(pyjson 'd["value"]' <"$TMP/one.json")" '["a.csv","b.csv"]' "the value"
assert_eq "$(pyjson 'd["task_id"] + " " + d["key"]' <"$TMP/one.json")" "stats files" "task_id, key"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$B/stats/xcomEntries/nope")
assert_eq "$code" 404 "a missing key"

# The status page shows a task instance's values with it.
page="${SCHED_URL%/}/dags/flow?run=$(printf %s "$run" | "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')&task=extract"
timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=6000 \
  --dump-dom "$page" >"$TMP/page.dom" 2>>"$TMP/chromium.log" </dev/null ||
  fail "chromium could not load the DAG page"
grep -qF '<h4>XCom</h4>' "$TMP/page.dom" || fail "the page shows no XCom section for extract"
grep -qF '<dt>rows</dt><dd><code>"42"</code></dd>' "$TMP/page.dom" ||
  fail "the page does not show extract's rows: $(grep -o 'class="xcom".\{0,300\}' "$TMP/page.dom")"
grep -qF '<dt>return_value</dt><dd><code>"the result"</code></dd>' "$TMP/page.dom" ||
  fail "the page does not show extract's return_value"
stop_scheduler
