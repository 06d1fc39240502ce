#!/usr/bin/env bash
# test_email_task.sh - the email task type run by the real scheduler: its
# templated mail goes through the alerts' outbox and smtp settings to a
# real SMTP server (aiosmtpd) with To and Cc, secrets masked, exactly once;
# bad addresses fail the try; misuse is a located error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

[ -e "$DAGCTL_BUILD_DIR/plugins/email.so" ] || fail "email.so is not built"
start_smtp
smtp_config host=127.0.0.1 port="$SMTP_PORT" tls=none from=dagctl@example.com \
  to=ops@example.com retry_base=1s timeout=5s
SECRET=pw-$RANDOM$RANDOM-x
export DAGCTL__HTTP__PASSWORD=$SECRET

write_dag report <<'EOF'
dag_id: report
params: {team: data}
default_args: {email_on_failure: false}
tasks:
  - id: count
    command: echo 42
    xcom_push: last_line
  - id: notify
    type: email
    upstream: count
    to: "{{ params.team }}@example.com, lead@example.com"
    cc: [audit@example.com]
    subject: "Report {{ ds }}: {{ ti.xcom.count.return_value }} rows"
    body: |
      Run {{ run_id }} of {{ dag.dag_id }} loaded {{ ti.xcom.count.return_value }} rows.
      Token: {{ conf.leak | default('none') }}
  - id: bad_address
    type: email
    to: "not an address"
    subject: x
EOF
start_scheduler report
run=$(trigger report --conf "{\"leak\": \"$SECRET\"}")
assert_eq "$(wait_run report "$run" 30)" failed "report run"
assert_eq "$(task_state report "$run" notify)" success "notify"
assert_eq "$(task_state report "$run" bad_address)" failed "bad_address"
grep -qF 'to[0]: "not an address" is not a bare address such as ops@example.com' \
  "$DAGCTL_HOME/logs/report/$run/bad_address/1.log" || fail "no address error in the log"
ds=${run#manual__}
ds=${ds:0:10}

wait_for '[ "$(mail_count)" -ge 1 ]' 20
wait_for '[ "$(sql "SELECT state FROM alert WHERE kind = '"'email'"'")" = sent ]' 20
assert_eq "$(mail_count)" 1 "mails"
assert_eq "$(mails 'sorted(env["rcpt_tos"])')" \
  "['audit@example.com', 'data@example.com', 'lead@example.com']" "envelope recipients"
assert_eq "$(mails 'm["To"]')" "data@example.com, lead@example.com" "To"
assert_eq "$(mails 'm["Cc"]')" "audit@example.com" "Cc"
assert_eq "$(mails 'm["Subject"]')" "Report $ds: 42 rows" "Subject"
assert_eq "$(mails 'body')" "$(printf 'Run %s of report loaded 42 rows.\nToken: ***\n' "$run")" "body"
# In the outbox like an alert, with its task and try.
assert_eq "$(alerts_json '[(a["kind"], a["task_id"], a["state"]) for a in d if a["kind"] == "email"]')" \
  "('email', 'notify', 'sent')" "dagctl alerts"
if grep -rqF "$SECRET" "$DAGCTL_HOME/logs" "$MAILDIR"; then fail "the secret was mailed or logged"; fi

# Misuse is a located error.
write_dag bad <<'EOF'
dag_id: bad
tasks:
  - id: a
    type: email
    to: a@example.com
    subjet: hello
EOF
out=$(dagctl validate "$DAGCTL_DAGS/bad.yaml" 2>&1) && fail "bad.yaml validated"
f=$DAGCTL_DAGS/bad.yaml
grep -qxF "$f:6:5: tasks[0].subjet: unknown key 'subjet' (did you mean 'subject'?)" <<<"$out" ||
  fail "no subjet error: $out"
grep -qxF "$f:3:5: tasks[0].subject: required key is missing (task type email needs it)" <<<"$out" ||
  fail "no subject error: $out"
