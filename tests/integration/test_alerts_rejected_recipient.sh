#!/usr/bin/env bash
# A recipient the server rejects (550) is recorded with the server's reply;
# the other recipient still gets the mail, once. `dagctl alerts retry`
# tries the rejected one again and never re-mails the one served.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

start_smtp --reject nobody@example.com
smtp_config host=127.0.0.1 port="$SMTP_PORT" tls=none from=dagctl@example.com retry_base=1s

write_dag reports <<'EOF'
dag_id: reports
default_args:
  email_on_failure: false
tasks:
  - id: build
    command: exit 2
    email: good@example.com, nobody@example.com
    email_on_failure: true
EOF

start_scheduler reports
run=$(trigger reports)
assert_eq "$(wait_run reports "$run" 15)" failed "run"
wait_for '[ "$(sql "SELECT state FROM alert")" = sent ]' 15
assert_eq "$(mail_count)" 1 "mails"
assert_eq "$(mails 'env["rcpt_tos"]')" "['good@example.com']" "delivered to"
assert_eq "$(mails 'm["To"]')" "good@example.com, nobody@example.com" "To header names both"

id=$(sql "SELECT id FROM alert")
assert_eq "$(alerts_json '[a["state"] for a in d]')" sent "state"
assert_eq "$(alerts_json '[r["address"] + " " + r["state"] for a in d for r in a["recipients"]]')" \
  "good@example.com sent
nobody@example.com rejected" "recipient outcomes"
reply=$(alerts_json '[r["reply"] for a in d for r in a["recipients"] if r["state"] == "rejected"]')
assert_eq "$reply" "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown" \
  "rejection reply"
assert_eq "$(alerts_json '[a["last_error"] for a in d]')" \
  "rejected: nobody@example.com: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown" \
  "last_error"
grep -qF "to nobody@example.com: rejected: 550 5.1.1" <<<"$(dagctl alerts)" ||
  fail "dagctl alerts does not show the rejection"

# Retry: the rejection is tried again (and rejected again); good@ is not
# mailed a second time.
out=$(dagctl alerts retry "$id")
assert_eq "$out" "alert $id queued again" "retry output"
wait_for "[ \"\$(sql 'SELECT attempts FROM alert')\" = 2 ]" 15
wait_for '[ "$(sql "SELECT state FROM alert")" = sent ]' 5
sleep 1
assert_eq "$(mail_count)" 1 "no second mail to good@"
assert_eq "$(sql "SELECT state FROM alert_recipient WHERE address = 'nobody@example.com'")" \
  rejected "rejected again"

# Nothing left to retry once everyone that can have it has it... except the
# rejected one, which may always be tried again; an unknown id is an error.
rc=0
dagctl alerts retry 999 2>"$TMP/err" || rc=$?
assert_eq "$rc" 3 "exit code for an unknown alert"
grep -qF "no alert 999" "$TMP/err" || fail "message: $(cat "$TMP/err")"
rc=0
dagctl alerts retry x1 2>/dev/null || rc=$?
assert_eq "$rc" 2 "exit code for a bad id"
