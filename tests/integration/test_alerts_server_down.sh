#!/usr/bin/env bash
# The SMTP server is down when a task fails: the alert waits in the outbox
# with the reason, scheduling goes on meanwhile (another DAG's run starts
# and completes), and once the server is up the mail arrives exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

port=$(free_port)
smtp_config host=127.0.0.1 port="$port" tls=none from=dagctl@example.com retry_base=1s \
  timeout=5s

write_dag breaks <<'EOF'
dag_id: breaks
default_args:
  email: ops@example.com
  email_on_failure: false
tasks:
  - id: load
    command: echo loading; exit 1
    email_on_failure: true
EOF
write_dag steady <<EOF
dag_id: steady
tasks:
  - id: work
    command: $FAKE_TASK --sleep 0.2
EOF

start_scheduler breaks steady
run=$(trigger breaks)
assert_eq "$(wait_run breaks "$run" 15)" failed "failing run"
# Only the task alert: the DAG's default_args turned the run summary off.
wait_for '[ "$(alert_count "attempts >= 2")" -ge 1 ]' 15
assert_eq "$(alert_count)" 1 "alerts queued"
assert_eq "$(sql "SELECT state FROM alert")" queued "alert state while the server is down"
last_error=$(sql "SELECT last_error FROM alert")
case $last_error in
  "cannot connect to 127.0.0.1:$port: Connection refused") ;;
  *) fail "reason recorded: $last_error" ;;
esac
grep -qF "reason: cannot connect to 127.0.0.1:$port" <<<"$(dagctl alerts)" ||
  fail "dagctl alerts does not show the reason"

# The outage never delays scheduling: a run of another DAG completes while
# the alert is still waiting.
t0=$(now_us)
srun=$(trigger steady)
assert_eq "$(wait_run steady "$srun" 10)" success "run during the outage"
log "steady run took $(us_to_s "$t0" "$(now_us)")s during the SMTP outage"
assert_eq "$(sql "SELECT state FROM alert")" queued "alert still waiting"
assert_eq "$(mail_count)" 0 "mails while down"

# The server comes up on the configured port: the next attempt delivers.
start_smtp --port "$port"
wait_for '[ "$(mail_count)" -ge 1 ]' 30
sleep 3 # a second delivery would show up by now (backoff base 1s)
assert_eq "$(mail_count)" 1 "mails after the outage"
assert_eq "$(mails 'm["Subject"]')" "[dagctl] FAILED breaks.load (try 1/1)" "subject"
assert_eq "$(mails 'env["rcpt_tos"]')" "['ops@example.com']" "recipients"
assert_eq "$(sql "SELECT state FROM alert")" sent "alert state"
attempts=$(sql "SELECT attempts FROM alert")
[ "$attempts" -ge 3 ] || fail "expected several attempts, got $attempts"
assert_eq "$(sql "SELECT last_error IS NULL FROM alert")" 1 "error cleared once sent"

# A restart does not send it again.
stop_scheduler
start_scheduler breaks steady
sleep 2
assert_eq "$(mail_count)" 1 "mails after a restart"
