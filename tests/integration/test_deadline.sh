#!/usr/bin/env bash
# A DAG's deadline (Airflow 3's DeadlineAlert): a run not finished 2 s after
# it was queued gets one deadline_missed alert, in the outbox (mail) and
# POSTed to a local webhook receiver, while it goes on running; the alert
# is not sent again when the scheduler restarts with the run still running,
# nor when the run then succeeds. A run of a DAG that finishes within its
# deadline sends nothing.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
RECEIVER=$(dirname "$0")/webhook_receiver.py
HOOKS=$TMP/hooks

port=$("$PY" "$RECEIVER" --out "$HOOKS" --free-port)
printf 'http://127.0.0.1:%s/hooks/deadline-t0ken\n' "$port" >"$TMP/hook-url"
chmod 600 "$TMP/hook-url"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOC
notify:
  kind: webhook
  url_file: $TMP/hook-url
  retry_base: 1s
EOC
out=$TMP/receiver.out
"$PY" "$RECEIVER" --out "$HOOKS" --port "$port" >"$out" 2>&1 &
SCHED_PIDS+=("$!") # killed by lib.sh's cleanup
disown "$!"
wait_for "grep -q '^PORT ' '$out'" 10
hook_count() { find "$HOOKS" -name '*.json' 2>/dev/null | wc -l; }

write_dag late <<EOF2
dag_id: late
deadline:
  after: queued_at
  within: 2s
default_args:
  email: ops@example.com
tasks:
  - id: a
    command: while [ ! -e $TMP/go ]; do sleep 0.05; done
EOF2
write_dag quick <<'EOF2'
dag_id: quick
deadline: {after: queued_at, within: 1h}
tasks:
  - id: a
    command: "true"
EOF2

start_scheduler late quick
missed() { sql "SELECT count(*) FROM alert WHERE kind = 'deadline_missed'${1:+ AND $1}"; }

# --- in time: nothing ----------------------------------------------------------------
trigger quick --run-id fast >/dev/null
assert_eq "$(wait_run quick fast 20)" success "quick's run"

# --- missed: one alert, the run goes on ------------------------------------------------
t0=$(now_us)
trigger late --run-id r1 >/dev/null
wait_for "[ \"\$(missed)\" -ge 2 ]" 15
assert_eq "$(missed "run_id = 'r1' AND target IS NULL")" 1 "r1's mail alerts"
assert_eq "$(missed "run_id = 'r1' AND target = 'webhook'")" 1 "r1's webhook alerts"
queued=$(sql "SELECT queued_at FROM dag_run WHERE run_id = 'r1'")
created=$(sql "SELECT created_at FROM alert WHERE kind = 'deadline_missed' AND target IS NULL")
[ "$created" -ge $((queued + 2000000)) ] ||
  fail "the alert was queued $((created - queued))us after the run, before its 2s deadline"
assert_eq "$(run_state late r1)" running "r1 after its deadline"
assert_eq "$(task_state late r1 a)" running "r1's task after the deadline"
assert_eq "$(sql "SELECT recipients FROM alert WHERE kind = 'deadline_missed' AND target IS NULL")" \
  '["ops@example.com"]' "the alert's recipients"
assert_eq "$(sql "SELECT subject FROM alert WHERE kind = 'deadline_missed' AND target IS NULL")" \
  "[dagctl] DEADLINE MISSED late (r1)" "the alert's subject"
sql "SELECT body FROM alert WHERE kind = 'deadline_missed' AND target IS NULL" | grep -q 'has not finished 2s after its queueing' ||
  fail "body: $(sql "SELECT body FROM alert WHERE kind = 'deadline_missed' AND target IS NULL")"
assert_eq "$(sql "SELECT count(*) FROM deadline d JOIN dag_run r ON r.id = d.run_pk WHERE r.run_id = 'r1'")" \
  1 "r1's claim"
grep -q 'run missed its deadline dag=late run=r1 state=running after=queued_at within=2s' \
  "$SCHED_LOG" || fail "no deadline in the log"
# Delivered to the receiver, once, as dagctl's JSON.
wait_for '[ "$(hook_count)" -ge 1 ]' 15
assert_eq "$("$PY" -c 'import json,sys; b=json.loads(json.load(open(sys.argv[1]))["body"]); print(b["event"], b["dag_id"], b["dag_run_id"])' "$HOOKS/1.json")" \
  "deadline_missed late r1" "the webhook's payload"
# Listed by `dagctl alerts` like any alert, never with the URL's token.
dagctl alerts >"$TMP/alerts.txt"
grep -q 'deadline_missed' "$TMP/alerts.txt" || fail "dagctl alerts: $(cat "$TMP/alerts.txt")"
assert_eq "$(dagctl alerts --json | pyjson '[a["kind"] + "/" + a["target"] for a in d if a["dag_run_id"] == "r1"]' | sort | paste -sd' ')" \
  "deadline_missed/email deadline_missed/webhook" "dagctl alerts --json"
! grep -q 't0ken' "$TMP/alerts.txt" "$SCHED_LOG" || fail "the webhook's token was shown"

# --- a restart with the run still running: not again -----------------------------------------
stop_scheduler
assert_eq "$(run_state late r1)" running "r1 while no scheduler runs"
start_scheduler late quick
grep -q 'recovering run dag=late run=r1' "$SCHED_LOG" || fail "r1 not recovered"
touch "$TMP/go"
assert_eq "$(wait_run late r1 20)" success "r1 in the end"
# The quick run and the restart queued no alert either.
assert_eq "$(missed)" 2 "deadline alerts in all"
assert_eq "$(sql "SELECT count(*) FROM alert")" 2 "alerts in all"
! grep -q 'run missed its deadline' "$SCHED_LOG" || fail "the restarted scheduler alerted again"
wait_for '[ "$(sql "SELECT count(*) FROM alert WHERE state = '"'sent'"'")" -ge 1 ]' 10
assert_eq "$(hook_count)" 1 "webhook deliveries"
stop_scheduler
log "ok"
