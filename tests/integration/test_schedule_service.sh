#!/usr/bin/env bash
# The scheduler creates scheduled runs by itself: "every 2s" runs appear
# while it runs, named scheduled__..., and `dags list` shows the next one;
# max_active_runs 1 with a task slower than the interval never lets two runs
# of the DAG run at once.
. "$(dirname "$0")/lib.sh"

past=$(date -u -d '-5 seconds' +%Y-%m-%dT%H:%M:%SZ)
write_dag ticker <<EOF
dag_id: ticker
schedule: every 2s
start_date: "$past"
catchup: false
tasks:
  - id: tick
    command: $FAKE_TASK --record $TMP/tick.rec --echo {{ run_id }}" "{{ data_interval_end }}
EOF
write_dag slow <<EOF
dag_id: slow
schedule: every 1s
start_date: "$past"
catchup: false
max_active_runs: 1
tasks:
  - {id: crawl, command: $FAKE_TASK --record $TMP/slow.rec --sleep 1.5}
EOF
expect_ok() { dagctl validate "$DAGCTL_DAGS/$1.yaml" >/dev/null || fail "$1.yaml does not validate"; }
expect_ok ticker
expect_ok slow

n_runs() { sql "SELECT count(*) FROM dag_run WHERE dag_id = '$1' AND run_type = 'scheduled'"; }

t0=$(now_us)
start_scheduler ticker slow
wait_for "[ \$(sql \"SELECT count(*) FROM dag_run WHERE dag_id = 'ticker' AND state = 'success'\") -ge 2 ]" 6
log "two successful ticker runs $(us_to_s "$t0" "$(now_us)")s after the scheduler started"

dagctl runs ticker --json >"$TMP/runs.json"
# Templates see the run's own id and interval.
first=$(pyjson 'sorted(d, key=lambda r: r["logical_date"])[0]' <"$TMP/runs.json")
first_id=$(pyjson 'd["dag_run_id"]' <<<"$first")
dagctl logs ticker "$first_id" tick | grep -q "^$first_id " || fail "tick log lacks its run id"
for id in $(pyjson '[x["dag_run_id"] for x in d]' <"$TMP/runs.json"); do
  case $id in scheduled__*) ;; *) fail "run id '$id' is not scheduled__..." ;; esac
done
assert_eq "$(pyjson 'set(x["run_type"] for x in d) == {"scheduled"}' <"$TMP/runs.json")" True \
  "run types"
assert_eq "$(pyjson 'set(x["external_trigger"] for x in d) == {False}' <"$TMP/runs.json")" True \
  "external_trigger"
# Consecutive runs cover consecutive 2 s intervals.
"$PYTHON" - "$TMP/runs.json" <<'PY' || fail "ticker intervals: $(cat "$TMP/runs.json")"
import json, sys
from datetime import datetime
runs = sorted(json.load(open(sys.argv[1])), key=lambda r: r["logical_date"])
t = lambda s: datetime.fromisoformat(s).timestamp()
for r in runs:
    assert t(r["data_interval_end"]) - t(r["data_interval_start"]) == 2, r
    assert r["logical_date"] == r["data_interval_start"], r
for a, b in zip(runs, runs[1:]):
    assert a["data_interval_end"] == b["data_interval_start"], (a, b)
PY
dagctl dags list --json >"$TMP/dags.json"
next=$(pyjson '[x["next_dagrun"] for x in d if x["dag_id"] == "ticker"][0]' <"$TMP/dags.json")
[ "$next" != null ] || fail "ticker has no next_dagrun"
assert_eq "$(pyjson '[x["schedule_interval"] for x in d if x["dag_id"] == "ticker"][0]' <"$TMP/dags.json")" \
  '{"__type": "TimeDelta", "days": 0, "seconds": 2, "microseconds": 0}' "schedule_interval"
# The next run is the one after the newest.
newest=$(pyjson 'max(x["data_interval_end"] for x in d)' <"$TMP/runs.json")
"$PYTHON" -c '
import sys; from datetime import datetime
a, b = (datetime.fromisoformat(s) for s in sys.argv[1:])
sys.exit(0 if a >= b else 1)' "$next" "$newest" || fail "next_dagrun $next is before the newest run's end $newest"

# --- max_active_runs 1 --------------------------------------------------------------
wait_for "[ \$(sql \"SELECT count(*) FROM dag_run WHERE dag_id = 'slow' AND state = 'success'\") -ge 2 ]" 8
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'slow' AND state = 'running'")" 1 \
  "slow runs running now (one, never more)"
# No two runs of slow ever ran at once: neither their tasks...
"$PYTHON" - "$TMP/slow.rec" <<'PY' || fail "slow runs overlapped: $(cat "$TMP/slow.rec")"
import sys
ev = sorted((int(l.split()[1]), -1 if l.split()[0] != "start" else 1) for l in open(sys.argv[1]))
n = 0
for _, d in ev:
    n += d
    assert n <= 1
PY
# ...nor the runs themselves.
assert_eq "$(sql "SELECT count(*) FROM dag_run a, dag_run b
                  WHERE a.dag_id = 'slow' AND b.dag_id = 'slow' AND a.id < b.id
                    AND b.start_date < coalesce(a.end_date, 1 << 62)
                    AND a.start_date < coalesce(b.end_date, 1 << 62)")" 0 "overlapping slow runs"
log "slow: $(n_runs slow) runs created, $(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'slow' AND state = 'queued'") queued"
# Every run started before its first task and ended after its last one: a
# finished run is never started again (its dates rewritten).
assert_eq "$(sql "SELECT count(*) FROM dag_run r
                  WHERE r.start_date > (SELECT min(t.start_date) FROM task_try t WHERE t.run_pk = r.id)
                     OR r.end_date < (SELECT max(t.end_date) FROM task_try t WHERE t.run_pk = r.id)")" \
  0 "runs whose dates do not enclose their tries"
# Counted once the scheduler has stopped: while it runs, a run it has just
# recorded as started may not be logged yet.
stop_scheduler
assert_eq "$(grep -c 'run started dag=ticker' "$SCHED_LOG")" \
  "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'ticker' AND start_date IS NOT NULL")" \
  "ticker runs started (each once)"
