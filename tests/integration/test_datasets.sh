#!/usr/bin/env bash
# DAGs triggered by data: a producer's successful tasks update datasets
# (outlets); a consumer scheduled on them gets one dataset_triggered run
# per satisfied set, exactly once, and none while a dataset is missing or
# its producing task failed. `dagctl datasets list` and the API's
# /api/v1/datasets and /api/v1/datasets/events show what happened.
. "$(dirname "$0")/lib.sh"
need chromium

write_dag producer <<EOF2
dag_id: producer
tasks:
  - id: silver
    command: "true"
    outlets: [warehouse://silver/plays]
  - id: gold
    upstream: silver
    command: $FAKE_TASK --exit {{ params.gold_exit }}
    outlets: [warehouse://gold/top_tracks]
params:
  gold_exit: 0
EOF2
write_dag only_silver <<EOF2
dag_id: only_silver
tasks:
  - id: silver
    command: "true"
    outlets: [warehouse://silver/plays]
EOF2
# Needs both datasets.
write_dag both <<EOF2
dag_id: both
schedule: [warehouse://silver/plays, warehouse://gold/top_tracks]
tasks:
  - id: check
    command: $FAKE_TASK --record $TMP/both.rec
EOF2
# Datasets or time: a cron that will not fire during the test.
write_dag gold_or_time <<EOF2
dag_id: gold_or_time
schedule:
  timetable: "0 0 1 1 *"
  datasets: [warehouse://gold/top_tracks]
tasks:
  - id: check
    command: $FAKE_TASK --record $TMP/gold.rec
EOF2

start_scheduler producer only_silver both gold_or_time
dagctl dags unpause both >/dev/null
dagctl dags unpause gold_or_time >/dev/null

ds_runs() { sql "SELECT count(*) FROM dag_run WHERE dag_id = '$1' AND run_type = 'dataset_triggered'"; }
ds_run() { sql "SELECT run_id FROM dag_run WHERE dag_id = '$1' AND run_type = 'dataset_triggered' ORDER BY id LIMIT 1 OFFSET $(($2 - 1))"; }

# --- one dataset of two: nothing for `both` ------------------------------------
run=$(trigger only_silver)
assert_eq "$(wait_run only_silver "$run" 20)" success "only_silver run"
assert_eq "$(ds_runs both)" 0 "runs of both after one of its two datasets"
assert_eq "$(ds_runs gold_or_time)" 0 "runs of gold_or_time after silver only"
assert_eq "$(sql "SELECT count(*) FROM dataset_event e JOIN dataset d ON d.id = e.dataset_id
                  WHERE d.uri = 'warehouse://silver/plays'")" 1 "silver events"

# --- the producer updates both: one run of each consumer ----------------------
run=$(trigger producer)
assert_eq "$(wait_run producer "$run" 20)" success "producer run"
wait_for "[ \"\$(ds_runs both)\" = 1 ] && [ \"\$(ds_runs gold_or_time)\" = 1 ]" 10
assert_eq "$(wait_run both "$(ds_run both 1)" 20)" success "both's dataset-triggered run"
assert_eq "$(wait_run gold_or_time "$(ds_run gold_or_time 1)" 20)" success "gold_or_time's run"
case $(ds_run both 1) in dataset_triggered__*) ;; *) fail "run id $(ds_run both 1)" ;; esac
# The event of the same transaction as the success: one per outlet per success.
assert_eq "$(sql "SELECT count(*) FROM dataset_event WHERE source_dag_id = 'producer'
                  AND source_run_id = '$run'")" 2 "events of the producer's run"
# The run consumed the events since the queue's first: silver twice, gold once.
assert_eq "$(sql "SELECT count(*) FROM dagrun_dataset_event l JOIN dag_run r ON r.id = l.dag_run_id
                  WHERE r.dag_id = 'both'")" 3 "events consumed by both's run"
assert_eq "$(sql "SELECT count(*) FROM dataset_dag_run_queue")" 0 "queue after the runs"

# --- a failed producing task updates nothing ----------------------------------
run=$(trigger producer --conf '{"gold_exit": 3}')
assert_eq "$(wait_run producer "$run" 20)" failed "producer run with a failing gold"
assert_eq "$(sql "SELECT count(*) FROM dataset_event WHERE source_run_id = '$run'
                  AND source_task_id = 'gold'")" 0 "events of the failed gold"
assert_eq "$(ds_runs gold_or_time)" 1 "gold_or_time after a failed gold"
# silver succeeded: `both` has silver queued, not gold.
assert_eq "$(ds_runs both)" 1 "both after a failed gold"

# --- a restart: the queue survives, and a later update completes it ------------
stop_scheduler
start_scheduler producer only_silver both gold_or_time
assert_eq "$(ds_runs both)" 1 "both after the restart"
run=$(trigger producer)
assert_eq "$(wait_run producer "$run" 20)" success "third producer run"
wait_for "[ \"\$(ds_runs both)\" = 2 ] && [ \"\$(ds_runs gold_or_time)\" = 2 ]" 10
assert_eq "$(wait_run both "$(ds_run both 2)" 20)" success "both's second run"
assert_eq "$(rec_count "$TMP/both.rec" end check)" 2 "both's task ran once per run"

# --- CLI and API --------------------------------------------------------------
dagctl datasets list >"$TMP/list.txt"
grep -q 'warehouse://gold/top_tracks' "$TMP/list.txt" || fail "datasets list: $(cat "$TMP/list.txt")"
dagctl datasets list --json >"$TMP/list.json"
got=$(pyjson '[(x["uri"], sorted(c["dag_id"] for c in x["consuming_dags"]),
               sorted(p["dag_id"] + "." + p["task_id"] for p in x["producing_tasks"]))
              for x in d]' <"$TMP/list.json")
want="('warehouse://gold/top_tracks', ['both', 'gold_or_time'], ['producer.gold'])
('warehouse://silver/plays', ['both'], ['only_silver.silver', 'producer.silver'])"
assert_eq "$got" "$want" "datasets list --json"

token=$(sed -n 's/^ *token: *//p' "$DAGCTL_HOME/dagctl.yaml" | head -n 1)
api() { curl -sS -f ${token:+-H "Authorization: Bearer $token"} "$SCHED_URL$1"; }
api "api/v1/datasets" >"$TMP/api.json"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/api.json")" 2 "API total_entries"
assert_eq "$(pyjson '",".join(sorted(d["datasets"][0].keys()))' <"$TMP/api.json")" \
  "consuming_dags,created_at,extra,id,producing_tasks,updated_at,uri" \
  "API dataset fields"
api "api/v1/datasets/warehouse%3A%2F%2Fgold%2Ftop_tracks" >"$TMP/one.json"
assert_eq "$(pyjson 'd["uri"]' <"$TMP/one.json")" warehouse://gold/top_tracks "API one dataset"
gold_id=$(pyjson 'd["id"]' <"$TMP/one.json")
api "api/v1/datasets/events?source_dag_id=producer&dataset_id=$gold_id" >"$TMP/ev.json"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/ev.json")" 2 "API events of gold"
assert_eq "$(pyjson '",".join(sorted(d["dataset_events"][0].keys()))' <"$TMP/ev.json")" \
  "created_dagruns,dataset_id,dataset_uri,extra,id,source_dag_id,source_map_index,source_run_id,source_task_id,timestamp" \
  "API event fields"
assert_eq "$(pyjson '",".join(sorted(r["dag_id"] for r in d["dataset_events"][0]["created_dagruns"]))' <"$TMP/ev.json")" \
  "both,gold_or_time" "runs the first gold event created"
code=$(curl -s -o /dev/null -w '%{http_code}' ${token:+-H "Authorization: Bearer $token"} \
  "${SCHED_URL}api/v1/datasets/nope%3A%2F%2Fx")
assert_eq "$code" 404 "API unknown dataset"

# --- the status page lists them, with consumers, producers and last update ------
timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --user-data-dir="$TMP/chromium" --virtual-time-budget=6000 --dump-dom "$SCHED_URL" \
  2>>"$TMP/chromium.log" </dev/null >"$TMP/page.dom" || true
[ -s "$TMP/page.dom" ] || fail "chromium dumped no DOM: $(tail -n 5 "$TMP/chromium.log")"
"$PYTHON" - "$TMP/page.dom" <<'PY' || fail "the page's datasets: $(grep -o '<section id="datasets".*' "$TMP/page.dom" | head -c 800)"
import re, sys
dom = open(sys.argv[1]).read()
rows = re.findall(r'<tr data-dataset="([^"]*)">(.*?)</tr>', dom, re.S)
cells = {uri: [re.sub(r"<[^>]*>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
         for uri, body in rows}
gold = cells["warehouse://gold/top_tracks"]
assert gold[1] == ["both", "gold_or_time"], gold
assert gold[2] == ["producer.gold"], gold
assert gold[3] != ["never"] and gold[4] == ["2"], gold
assert cells["warehouse://silver/plays"][2] == ["only_silver.silver", "producer.silver"]
PY

stop_scheduler
log "ok"
