#!/usr/bin/env bash
# `dagctl backfill`: 30 daily runs with 2 at a time (exact runs, in order,
# never more than 2 active), --dry-run, --reprocess failed, and Ctrl-C
# cancelling a backfill (its queued runs fail, its running runs finish, no
# run is created after).
. "$(dirname "$0")/lib.sh"

# end_date keeps the scheduler's own (catchup-less) runs out of the way.
write_dag bf <<EOF2
dag_id: bf
schedule: "@daily"
start_date: "2024-01-01"
end_date: "2024-02-01"
tasks:
  - id: work
    command: sleep 0.2
EOF2
write_dag flaky <<EOF2
dag_id: flaky
schedule: "@daily"
start_date: "2024-03-01"
end_date: "2024-03-05"
tasks:
  - id: work
    command: test ! -e $TMP/fail-{{ ds }}
EOF2
write_dag slow <<EOF2
dag_id: slow
schedule: "@daily"
start_date: "2024-01-01"
end_date: "2024-01-02"
tasks:
  - id: wait
    command: while [ ! -e $TMP/go ]; do sleep 0.05; done
EOF2
write_dag manual <<EOF2
dag_id: manual
tasks:
  - id: a
    command: "true"
EOF2

start_scheduler bf flaky slow manual

# --- 30 daily runs, 2 at a time ----------------------------------------------
rc=0
dagctl backfill bf --from 2024-01-01 --to 2024-01-30 --max-active-runs 2 \
  >"$TMP/bf.out" 2>"$TMP/bf.err" || rc=$?
assert_eq "$rc" 0 "backfill exit status"
grep -q 'backfill 1 completed: 30 success, 0 failed, 0 skipped' "$TMP/bf.err" ||
  fail "no final line: $(cat "$TMP/bf.err")"
grep -q '30/30 done' "$TMP/bf.err" || fail "no progress line: $(cat "$TMP/bf.err")"
expected=$("$PYTHON" -c '
import datetime
d = datetime.date(2024, 1, 1)
for i in range(30): print("backfill__%sT00:00:00+00:00" % (d + datetime.timedelta(i)))')
assert_eq "$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'bf' ORDER BY logical_date")" \
  "$expected" "the backfill's runs"
assert_eq "$(sql "SELECT DISTINCT run_type || ' ' || state || ' ' || backfill_id FROM dag_run
                  WHERE dag_id = 'bf'")" "backfill success 1" "type, state, backfill of the runs"
# Created in logical-date order.
assert_eq "$(sql "SELECT group_concat(run_id) FROM (SELECT run_id FROM dag_run WHERE dag_id = 'bf' ORDER BY id)")" \
  "$(echo "$expected" | paste -sd,)" "creation order"
# Never more than 2 queued or running: a run is active from its creation
# (queued_at) to its end; the most that overlap at once is exactly 2.
peak=$(sql "SELECT queued_at, end_date FROM dag_run WHERE dag_id = 'bf'" | "$PYTHON" -c '
import sys
ev = []
for line in sys.stdin:
    q, e = map(int, line.strip().split("|"))
    ev += [(q, 1), (e, -1)]
n = peak = 0
for _, d in sorted(ev, key=lambda x: (x[0], x[1])):
    n += d; peak = max(peak, n)
print(peak)')
assert_eq "$peak" 2 "most backfill runs active at once"
b=$(dagctl backfill list bf --json)
assert_eq "$(pyjson '[d[0][k] for k in ("id", "reprocess_behavior", "max_active_runs", "runs_created", "runs_skipped", "cancelled")]' <<<"$b" | paste -sd' ')" \
  "1 none 2 30 0 False" "the backfill's record"
assert_eq "$(pyjson 'd[0]["completed_at"] is not None and d[0]["runs"]["success"]' <<<"$b")" 30 "completed, 30 successes"

# --- dry run -------------------------------------------------------------------
dry=$(dagctl backfill bf --from 2024-01-29 --to 2024-02-02 --dry-run --json)
assert_eq "$(pyjson '[x["logical_date"][:10] + " " + x["decision"] for x in d["backfills"]]' <<<"$dry" | paste -sd,)" \
  "2024-01-29 skip,2024-01-30 skip,2024-01-31 create,2024-02-01 create,2024-02-02 create" "dry run"
assert_eq "$(dagctl backfill bf --from 2024-01-29 --to 2024-01-30 --reprocess all --dry-run --json |
  pyjson '[x["decision"] for x in d["backfills"]]' | paste -sd,)" "rerun,rerun" "dry run, reprocess all"
assert_eq "$(sql "SELECT count(*) FROM backfill")" 1 "a dry run records nothing"
# A 10-year daily range is planned lazily: its dry run streams 3653 dates.
assert_eq "$(dagctl backfill bf --from 2030-01-01 --to 2039-12-31 --dry-run 2>/dev/null | wc -l)" 3652 "10-year dry run"

# --- bad requests --------------------------------------------------------------
rc=0; dagctl backfill manual --from 2024-01-01 --to 2024-01-02 2>"$TMP/e1" || rc=$?
assert_eq "$rc" 2 "backfill of a manual-only DAG"
grep -q 'no time-based schedule' "$TMP/e1" || fail "message: $(cat "$TMP/e1")"
rc=0; dagctl backfill bf --from 2024-01-05 --to 2024-01-01 2>"$TMP/e2" || rc=$?
assert_eq "$rc" 2 "from after to"
rc=0; dagctl backfill bf --from 2024-01-01 --to 2024-01-02 --reprocess some 2>"$TMP/e3" || rc=$?
assert_eq "$rc" 2 "bad --reprocess"

# --- reprocess failed ------------------------------------------------------------
touch "$TMP/fail-2024-03-03"
rc=0
dagctl backfill flaky --from 2024-03-01 --to 2024-03-04 >/dev/null 2>"$TMP/fl.err" || rc=$?
assert_eq "$rc" 1 "a backfill with a failed run"
assert_eq "$(sql "SELECT group_concat(state) FROM (SELECT state FROM dag_run WHERE dag_id = 'flaky' ORDER BY logical_date)")" \
  "success,success,failed,success" "first pass"
rm "$TMP/fail-2024-03-03"
rc=0
dagctl backfill flaky --from 2024-03-01 --to 2024-03-04 --reprocess failed --json >"$TMP/fl2.json" 2>/dev/null || rc=$?
assert_eq "$rc" 0 "reprocess failed"
assert_eq "$(pyjson '[d[k] for k in ("runs_created", "runs_skipped")]' <"$TMP/fl2.json" | paste -sd' ')" "1 3" "re-ran one, skipped three"
assert_eq "$(sql "SELECT count(*) || ' ' || group_concat(state) FROM (SELECT state FROM dag_run WHERE dag_id = 'flaky' ORDER BY logical_date)")" \
  "4 success,success,success,success" "second pass: the failed run ran again, no new run"
assert_eq "$(sql "SELECT backfill_id FROM dag_run WHERE dag_id = 'flaky' AND logical_date = (SELECT max(logical_date) - 86400000000 FROM dag_run WHERE dag_id = 'flaky')")" \
  "$(pyjson 'd["id"]' <"$TMP/fl2.json")" "the re-run run belongs to the second backfill"

# --- Ctrl-C cancels ------------------------------------------------------------------
"$DAGCTL_BIN" backfill slow --from 2024-01-01 --to 2024-01-10 --max-active-runs 2 \
  >"$TMP/slow.out" 2>"$TMP/slow.err" &
cli=$!
wait_for "[ \"\$(sql \"SELECT count(*) FROM dag_run WHERE dag_id = 'slow' AND state = 'running'\")\" = 2 ]" 10
kill -INT "$cli"
rc=0; wait "$cli" || rc=$?
assert_eq "$rc" 1 "exit status of a cancelled backfill"
grep -q 'cancelled' "$TMP/slow.err" || fail "no cancel message: $(cat "$TMP/slow.err")"
assert_eq "$(sql "SELECT cancelled, completed_at IS NOT NULL FROM backfill WHERE dag_id = 'slow'")" "1|1" "cancelled backfill"
touch "$TMP/go"
wait_for "[ \"\$(sql \"SELECT group_concat(state) FROM dag_run WHERE dag_id = 'slow'\")\" = success,success ]" 10
# The runs' ends would have made room for more: none is created.
dagctl runs slow --json >/dev/null
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'slow'")" 2 "runs of the cancelled backfill"
grep -q 'backfill.cancel' <(dagctl audit --json) || fail "the cancel is not in the audit log"
# --- the API: Airflow 3's backfill paths under /api/v1 ----------------------------
B=${SCHED_URL%/}
# A `user` may create and cancel backfills.
dagctl users add bfu --role user --no-password >/dev/null
TOK=$(dagctl tokens create bfu --json | pyjson 'd["token"]')
api() {
  curl -sS -o "$TMP/body" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOK" "${@:3}" "$B$2"
}
rm -f "$TMP/go"
assert_eq "$(api POST /api/v1/backfills/dry_run -d '{"dag_id": "slow", "from_date": "2024-01-01", "to_date": "2024-01-04"}')" 200 "dry run status"
assert_eq "$(pyjson '[x["decision"] for x in d["backfills"]] + [d["total_entries"]]' <"$TMP/body" | paste -sd,)" \
  "skip,skip,create,create,4" "API dry run"
assert_eq "$(api POST /api/v1/backfills -d '{"dag_id": "slow", "from_date": "2024-01-03", "to_date": "2024-01-06", "max_active_runs": 1, "reprocess_behavior": "failed", "dag_run_conf": {"k": 1}}')" 200 "create status"
id=$(pyjson 'd["id"]' <"$TMP/body")
assert_eq "$(pyjson '[d[k] for k in ("dag_id", "reprocess_behavior", "max_active_runs", "is_paused", "dag_run_conf")]' <"$TMP/body" | paste -sd' ')" \
  'slow failed 1 False {"k": 1}' "the created backfill"
wait_for "[ \"\$(sql \"SELECT count(*) FROM dag_run WHERE backfill_id = $id AND state = 'running'\")\" = 1 ]" 10
assert_eq "$(sql "SELECT conf FROM dag_run WHERE backfill_id = $id")" '{"k":1}' "the run's conf"
assert_eq "$(api PUT "/api/v1/backfills/$id/cancel")" 200 "cancel status"
assert_eq "$(pyjson 'd["cancelled"]' <"$TMP/body")" True "cancelled through the API"
assert_eq "$(api PUT "/api/v1/backfills/$id/cancel")" 409 "cancel twice"
assert_eq "$(api GET "/api/v1/backfills/$id")" 200 "get status"
assert_eq "$(api GET "/api/v1/backfills/999")" 404 "unknown backfill"
assert_eq "$(api POST /api/v1/backfills -d '{"dag_id": "manual", "from_date": "2024-01-01", "to_date": "2024-01-02"}')" 400 "a manual-only DAG"
assert_eq "$(api GET "/api/v1/backfills?dag_id=slow")" 200 "list status"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/body")" 2 "backfills of slow"
touch "$TMP/go"
wait_for "[ \"\$(sql \"SELECT group_concat(state) FROM dag_run WHERE backfill_id = $id\")\" = success ]" 10
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE backfill_id = $id")" 1 "runs of the backfill cancelled through the API"
log "ok"
