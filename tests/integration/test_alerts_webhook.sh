#!/usr/bin/env bash
# Alerts to a webhook (notify.*): the receiver is down when a task fails,
# the notification waits in the outbox with the reason and is retried with
# backoff; once the receiver is up it arrives exactly once, with dagctl's
# JSON payload; then with Slack's and Teams' payloads, and with the URL
# taken from a connection. The URL's token
# never shows in the scheduler's log, `dagctl alerts` or `dagctl config`.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
RECEIVER=$(dirname "$0")/webhook_receiver.py
HOOKS=$TMP/hooks
RECV_PID=
TOKEN=T0KEN-s3cr3t-9f8e7d6c

port=$("$PY" "$RECEIVER" --out "$HOOKS" --free-port)
printf 'http://127.0.0.1:%s/services/%s\n' "$port" "$TOKEN" >"$TMP/hook-url"
chmod 600 "$TMP/hook-url"
notify_config() {
  write_config
  cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOC
notify:
  kind: webhook
  format: $1
  url_file: $TMP/hook-url
  retry_base: 1s
  timeout: 5s
EOC
}

start_receiver() {
  local out=$TMP/receiver.$RANDOM.out
  "$PY" "$RECEIVER" --out "$HOOKS" --port "$port" >"$out" 2>&1 &
  RECV_PID=$!
  SCHED_PIDS+=("$RECV_PID") # killed by lib.sh's cleanup
  disown "$RECV_PID"
  wait_for "grep -q '^PORT ' '$out'" 10
}

hook_count() { find "$HOOKS" -name '*.json' 2>/dev/null | wc -l; }
# hook N 'EXPR': a Python expression over request N (r: the request,
# b: its body parsed as JSON).
hook() {
  "$PY" - "$HOOKS/$1.json" "$2" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
b = json.loads(r["body"])
print(eval(sys.argv[2]))
PYEOF
}
hook_rows() { sql "SELECT count(*) FROM alert WHERE target = 'webhook'${1:+ AND $1}"; }

write_dag breaks <<'EOD'
dag_id: breaks
default_args:
  email_on_failure: false
tasks:
  - id: load.rows-1
    command: echo 'bad <row> & "more"'; exit 3
    email_on_failure: true
EOD

# --- json, receiver down at first --------------------------------------------
notify_config json
start_scheduler breaks
run=$(trigger breaks)
assert_eq "$(wait_run breaks "$run" 15)" failed "failing run"
wait_for '[ "$(hook_rows "attempts >= 2")" -ge 1 ]' 15
assert_eq "$(hook_rows)" 1 "webhook notifications queued"
assert_eq "$(sql "SELECT state FROM alert WHERE target = 'webhook'")" queued "while down"
last_error=$(sql "SELECT last_error FROM alert WHERE target = 'webhook'")
case $last_error in
  *"127.0.0.1 port $port"*) ;;
  *) fail "reason recorded: $last_error" ;;
esac
# The mail of the same alert is a row of its own, waiting for smtp.host.
assert_eq "$(sql "SELECT count(*) FROM alert WHERE target IS NULL")" 1 "mail row"
listing=$(dagctl alerts)
grep -q ' webhook ' <<<"$listing" || fail "dagctl alerts does not name the target: $listing"
grep -qF "reason: $last_error" <<<"$listing" || fail "dagctl alerts does not show the reason"
assert_eq "$(dagctl alerts --json | pyjson '" ".join(sorted(x["target"] for x in d))')" \
  "email webhook" "targets listed"

start_receiver
wait_for '[ "$(hook_count)" -ge 1 ]' 30
wait_for '[ "$(hook_rows "state = '"'sent'"'")" -eq 1 ]' 10
sleep 3 # a second delivery would show up by now (backoff base 1s)
assert_eq "$(hook_count)" 1 "notifications after the outage"
assert_eq "$(hook 1 'r["path"]')" "/services/$TOKEN" "path"
assert_eq "$(hook 1 'r["headers"]["Content-Type"]')" application/json "content type"
assert_eq "$(hook 1 'sorted(b)')" \
  "['alert_id', 'created_at', 'dag_id', 'dag_run_id', 'event', 'subject', 'task_id', 'text', 'try_number']" \
  "json fields"
assert_eq "$(hook 1 'b["event"]')" task_failed "event"
assert_eq "$(hook 1 'b["dag_id"]')" breaks "dag_id"
assert_eq "$(hook 1 'b["dag_run_id"]')" "$run" "dag_run_id"
assert_eq "$(hook 1 'b["task_id"]')" load.rows-1 "task_id"
assert_eq "$(hook 1 'b["try_number"]')" 1 "try_number"
assert_eq "$(hook 1 'b["subject"]')" '[dagctl] FAILED breaks.load.rows-1 (try 1/1)' "subject"
text=$(hook 1 'b["text"]')
grep -qF 'bad <row> & "more"' <<<"$text" || fail "the log's tail is not in the text: $text"
attempts=$(sql "SELECT attempts FROM alert WHERE target = 'webhook'")
[ "$attempts" -ge 3 ] || fail "expected several attempts, got $attempts"
assert_eq "$(sql "SELECT last_error IS NULL FROM alert WHERE target = 'webhook'")" 1 \
  "error cleared once sent"

# A restart sends nothing again.
stop_scheduler
start_scheduler breaks
sleep 2
assert_eq "$(hook_count)" 1 "notifications after a restart"
stop_scheduler

# --- slack --------------------------------------------------------------------
notify_config slack
start_scheduler breaks
run=$(trigger breaks)
assert_eq "$(wait_run breaks "$run" 15)" failed "failing run (slack)"
wait_for '[ "$(hook_count)" -ge 2 ]' 15
assert_eq "$(hook 2 'sorted(b)')" "['text']" "slack fields"
assert_eq "$(hook 2 'b["text"].splitlines()[0]')" \
  '*[dagctl] FAILED breaks.load.rows-1 (try 1/1)*' "slack title"
text=$(hook 2 'b["text"]')
grep -qF 'bad &lt;row&gt; &amp; "more"' <<<"$text" || fail "slack text not escaped: $text"
stop_scheduler

# --- teams --------------------------------------------------------------------
notify_config teams
start_scheduler breaks
run=$(trigger breaks)
assert_eq "$(wait_run breaks "$run" 15)" failed "failing run (teams)"
wait_for '[ "$(hook_count)" -ge 3 ]' 15
assert_eq "$(hook 3 'b["type"]')" message "teams type"
assert_eq "$(hook 3 'b["attachments"][0]["contentType"]')" \
  application/vnd.microsoft.card.adaptive "teams card"
assert_eq "$(hook 3 'b["attachments"][0]["content"]["body"][0]["text"]')" \
  '[dagctl] FAILED breaks.load.rows-1 (try 1/1)' "teams title"
sleep 2
assert_eq "$(hook_count)" 3 "one notification per failure"
assert_eq "$(hook_rows "state = 'sent'")" 3 "all sent"

stop_scheduler

# --- the URL from a connection (its password), here DAGCTL_CONN_HOOK -----------
write_config
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOC
notify:
  kind: webhook
  url_connection: hook
  retry_base: 1s
EOC
enc=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
  "$(cat "$TMP/hook-url")")
export DAGCTL_CONN_HOOK="slackwebhook://hook:$enc@hooks"
start_scheduler breaks
run=$(trigger breaks)
assert_eq "$(wait_run breaks "$run" 15)" failed "failing run (connection)"
wait_for '[ "$(hook_count)" -ge 4 ]' 15
assert_eq "$(hook 4 'r["path"]')" "/services/$TOKEN" "path (connection)"
assert_eq "$(hook 4 'b["dag_run_id"]')" "$run" "dag_run_id (connection)"

# The token is a secret: in no log, listing or setting shown.
for f in "$TMP"/scheduler.*.log; do
  ! grep -qF "$TOKEN" "$f" || fail "token in $f"
done
out=$(dagctl alerts)
! grep -qF "$TOKEN" <<<"$out" || fail "token in dagctl alerts"
out=$(dagctl alerts --json)
! grep -qF "$TOKEN" <<<"$out" || fail "token in dagctl alerts --json"
out=$(dagctl config show 2>&1)
grep -q 'notify' <<<"$out" || fail "dagctl config show lists no notify section: $out"
! grep -qF "$TOKEN" <<<"$out" || fail "token in dagctl config show"
out=$(sql .dump)
! grep -qF "$TOKEN" <<<"$out" || fail "token in the database"

# Webhook rows alone need no SMTP: no smtp.host footer under them, and a
# retry of a delivered one says it was delivered (it has no recipients).
sql "DELETE FROM alert WHERE target IS NULL"
out=$(dagctl alerts)
grep -q ' webhook ' <<<"$out" || fail "no webhook rows listed: $out"
! grep -q 'smtp.host' <<<"$out" || fail "smtp.host footer under webhook rows: $out"
sent=$(sql "SELECT min(id) FROM alert WHERE target = 'webhook' AND state = 'sent'")
out=$(dagctl alerts retry "$sent" 2>&1) && fail "retry of a delivered webhook succeeded: $out"
assert_eq "$out" "dagctl: alert $sent already delivered; nothing to retry" "retry of a sent webhook"
