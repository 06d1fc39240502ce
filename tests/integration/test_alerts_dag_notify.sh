#!/usr/bin/env bash
# A DAG's own notify list: its alerts also go to its addresses (added to
# the mail's recipients) and to its webhook, named by a connection, through
# the same outbox. The receiver is down at first: the notifications wait,
# retried with backoff, and arrive once each when it is up. A DAG without
# the list queues no webhook row. With a global notify section whose
# receiver is down, the DAG's webhook is not held back by it. The URL's
# token is in no log, listing or database row.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
RECEIVER=$(dirname "$0")/webhook_receiver.py
HOOKS=$TMP/hooks
TOKEN=T0KEN-team-7c6b5a4d

port=$("$PY" "$RECEIVER" --out "$HOOKS" --free-port)
enc=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
  "http://127.0.0.1:$port/services/$TOKEN")
export DAGCTL_CONN_TEAM_HOOK="slackwebhook://hook:$enc@hooks"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOC
notify:
  retry_base: 1s
EOC

start_receiver() {
  local out=$TMP/receiver.out
  "$PY" "$RECEIVER" --out "$HOOKS" --port "$port" >"$out" 2>&1 &
  SCHED_PIDS+=("$!") # killed by lib.sh's cleanup
  disown "$!"
  wait_for "grep -q '^PORT ' '$out'" 10
}
hook_count() { find "$HOOKS" -name '*.json' 2>/dev/null | wc -l; }
rows() { sql "SELECT count(*) FROM alert WHERE $1"; }
own="target = 'webhook:slack:team_hook'"

write_dag owned <<'EOD'
dag_id: owned
default_args:
  email: owner@example.com
notify:
  - data-team@example.com
  - kind: webhook
    format: slack
    url_connection: team_hook
tasks:
  - id: boom
    command: exit 2
EOD
write_dag plain <<'EOD'
dag_id: plain
default_args:
  email: owner@example.com
tasks:
  - id: boom
    command: exit 2
EOD

# --- the receiver down: queued, retried -----------------------------------------------
start_scheduler owned plain
run=$(trigger owned)
assert_eq "$(wait_run owned "$run" 15)" failed "owned's run"
# One row probes the receiver; the other of the same target waits with it.
wait_for "[ \"\$(rows \"$own AND attempts >= 2\")\" -ge 1 ]" 20
assert_eq "$(rows "$own")" 2 "the DAG's webhook rows (task failed, run failed)"
assert_eq "$(sql "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM alert WHERE $own ORDER BY kind)")" \
  "run_failed task_failed" "their kinds"
assert_eq "$(rows "$own AND state = 'queued'")" 2 "while down"
last_error=$(sql "SELECT last_error FROM alert WHERE $own LIMIT 1")
case $last_error in
  *"127.0.0.1 port $port"*) ;;
  *) fail "reason recorded: $last_error" ;;
esac
# The mails went to the DAG's address besides the default_args one.
assert_eq "$(sql "SELECT group_concat(recipients, ' ') FROM alert WHERE target IS NULL AND dag_id = 'owned'")" \
  '["owner@example.com","data-team@example.com"] ["owner@example.com","data-team@example.com"]' \
  "mail recipients"
listing=$(dagctl alerts)
grep -q 'to: the webhook of connection team_hook (slack; the DAG.s notify list)' <<<"$listing" ||
  fail "dagctl alerts does not name the connection: $listing"
assert_eq "$(dagctl alerts --json | pyjson '" ".join(sorted(x["target"] + "/" + str(x["connection"]) for x in d))')" \
  "email/None email/None webhook/team_hook webhook/team_hook" "targets listed"

# A DAG without the list: mail only.
run2=$(trigger plain)
assert_eq "$(wait_run plain "$run2" 15)" failed "plain's run"
wait_for '[ "$(rows "dag_id = '"'plain'"'")" -ge 2 ]' 10
assert_eq "$(rows "dag_id = 'plain' AND target IS NOT NULL")" 0 "plain's webhook rows"
assert_eq "$(sql "SELECT DISTINCT recipients FROM alert WHERE dag_id = 'plain'")" \
  '["owner@example.com"]' "plain's recipients"

# --- the receiver up: each delivered once ---------------------------------------------------
start_receiver
wait_for "[ \"\$(rows \"$own AND state = 'sent'\")\" -eq 2 ]" 30
assert_eq "$(hook_count)" 2 "deliveries"
for n in 1 2; do
  assert_eq "$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["path"], sorted(json.loads(r["body"])))' "$HOOKS/$n.json")" \
    "/services/$TOKEN ['text']" "delivery $n (slack)"
done
attempts=$(sql "SELECT max(attempts) FROM alert WHERE $own")
[ "$attempts" -ge 3 ] || fail "expected several attempts, got $attempts"
stop_scheduler

# --- a global section whose receiver is down does not hold the DAG's back -------------------
dead=$("$PY" "$RECEIVER" --out "$HOOKS" --free-port)
printf 'http://127.0.0.1:%s/global/%s\n' "$dead" "$TOKEN" >"$TMP/global-url"
chmod 600 "$TMP/global-url"
write_config
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOC
notify:
  kind: webhook
  url_file: $TMP/global-url
  retry_base: 1s
EOC
start_scheduler owned plain
run3=$(trigger owned)
assert_eq "$(wait_run owned "$run3" 15)" failed "owned's second run"
wait_for '[ "$(hook_count)" -ge 4 ]' 20
wait_for "[ \"\$(rows \"target = 'webhook' AND attempts >= 2\")\" -ge 1 ]" 20
assert_eq "$(rows "target = 'webhook' AND state = 'queued'")" 2 "the global webhook's rows, held"
assert_eq "$(rows "$own AND run_id = '$run3' AND state = 'sent'")" 2 "the DAG's, sent"
stop_scheduler

# The token is a secret: in no log, listing or row.
for f in "$TMP"/scheduler.*.log; do
  ! grep -qF "$TOKEN" "$f" || fail "token in $f"
done
out=$(dagctl alerts)
! grep -qF "$TOKEN" <<<"$out" || fail "token in dagctl alerts"
out=$(dagctl alerts --json)
! grep -qF "$TOKEN" <<<"$out" || fail "token in dagctl alerts --json"
out=$(sql .dump)
! grep -qF "$TOKEN" <<<"$out" || fail "token in the database"
log "ok"
