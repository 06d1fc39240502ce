#!/usr/bin/env bash
# Without smtp.host nothing is sent and nothing is lost: alerts stay queued
# in the outbox and `dagctl alerts` lists them, with their text; once a
# server is configured, they go out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

write_dag quiet <<'EOF2'
dag_id: quiet
default_args:
  email: ops@example.com
tasks:
  - id: check
    command: echo "row count 0"; exit 1
    retries: 1
    retry_delay: 1s
EOF2

start_scheduler quiet
grep -q "smtp.host is not set: alerts are kept in the outbox" "$SCHED_LOG" ||
  fail "the scheduler does not say where alerts go"
run=$(trigger quiet)
assert_eq "$(wait_run quiet "$run" 15)" failed "run"
wait_for '[ "$(alert_count)" = 3 ]' 5
sleep 1

json=$(dagctl alerts --json)
assert_eq "$(pyjson '[a["state"] for a in d]' <<<"$json" | sort -u)" queued "states"
assert_eq "$(pyjson '[a["attempts"] for a in d]' <<<"$json" | sort -u)" 0 "attempts"
assert_eq "$(pyjson '[a["kind"] for a in d]' <<<"$json" | tr '\n' ' ')" \
  "run_failed task_failed task_retry " "kinds, newest first"
assert_eq "$(pyjson '[a["subject"] for a in d]' <<<"$json" | sed -n 2p)" \
  "[dagctl] FAILED quiet.check (try 2/2)" "subject"
assert_eq "$(pyjson '[r["address"] + ":" + r["state"] for a in d for r in a["recipients"]]' <<<"$json" | sort -u)" \
  "ops@example.com:pending" "recipients"
grep -qxF "row count 0" <<<"$(pyjson 'd[1]["body"]' <<<"$json")" || fail "body lacks the log"
assert_eq "$(pyjson 'd[1]["dag_run_id"] + " " + d[1]["task_id"] + " " + str(d[1]["try_number"])' <<<"$json")" \
  "$run check 2" "ids"
grep -qF "smtp.host is not set: queued alerts stay in the outbox" <<<"$(dagctl alerts)" ||
  fail "the listing does not say why nothing is sent"
assert_eq "$(dagctl alerts retry "$(sql 'SELECT min(id) FROM alert')")" \
  "alert $(sql 'SELECT min(id) FROM alert') queued again (smtp.host is not set: it stays in the outbox)" \
  "retry without a server"

# Configure a server: the waiting alerts go out at the next start.
stop_scheduler
start_smtp
smtp_config host=127.0.0.1 port="$SMTP_PORT" tls=none retry_base=1s
start_scheduler quiet
wait_for '[ "$(mail_count)" -ge 3 ]' 15
assert_eq "$(alert_count "state = 'sent'")" 3 "alerts sent after configuring"
assert_eq "$(mails 'm["From"]' | sort -u)" "dagctl <dagctl@$(hostname)>" "default From"
