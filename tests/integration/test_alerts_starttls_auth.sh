#!/usr/bin/env bash
# STARTTLS and AUTH against a server with a certificate the test made: an
# untrusted certificate and a wrong password keep the alert queued with the
# reason; once the settings are right (and the scheduler restarted), the
# alert goes out over TLS, authenticated, exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

make_cert "$TMP/tls"
start_smtp --cert "$TMP/tls/cert.pem" --key "$TMP/tls/key.pem" --auth 'alice:open sesame 42'
install -m 600 /dev/null "$TMP/smtp.pass"
echo 'open sesame 42' >"$TMP/smtp.pass"

base_config=$(cat "$DAGCTL_HOME/dagctl.yaml")
# configure EXTRA_SMTP_SETTINGS...: dagctl.yaml for this server.
configure() {
  echo "$base_config" >"$DAGCTL_HOME/dagctl.yaml"
  smtp_config host=localhost port="$SMTP_PORT" tls=starttls user=alice \
    from=dagctl@example.com to=ops@example.com retry_base=1h timeout=5s "$@"
}
# retry_base=1h: after the first attempt, only `dagctl alerts retry` makes the
# alert due again, so each step below sends exactly one attempt, however slow
# the machine (with 1s, a restarted scheduler could send the alert itself
# before the retry command ran, which then found nothing to retry).

write_dag nightly <<'EOF'
dag_id: nightly
default_args:
  email_on_failure: false
tasks:
  - id: export
    command: echo "exporting"; exit 1
    email_on_failure: true
EOF

# 1. The system's CAs do not trust the test's certificate.
configure password_file="$TMP/smtp.pass"
start_scheduler nightly
run=$(trigger nightly)
assert_eq "$(wait_run nightly "$run" 15)" failed "run"
wait_for '[ -n "$(sql "SELECT last_error FROM alert WHERE attempts > 0")" ]' 15
assert_eq "$(sql "SELECT state || ': ' || last_error FROM alert")" \
  "queued: TLS: the server's certificate is not trusted: self-signed certificate" \
  "untrusted certificate"
id=$(sql "SELECT id FROM alert")
stop_scheduler

# 2. Trusted now, but the password is wrong.
echo 'wrong password' >"$TMP/smtp.wrong"
chmod 600 "$TMP/smtp.wrong"
configure password_file="$TMP/smtp.wrong" ca_file="$TMP/tls/cert.pem"
start_scheduler nightly
dagctl alerts retry "$id" >/dev/null
wait_for "[ \"\$(sql \"SELECT substr(last_error, 1, 21) FROM alert\")\" = 'authentication failed' ]" 15
assert_eq "$(sql "SELECT state FROM alert")" queued "state after a refused AUTH"
assert_eq "$(mail_count)" 0 "mails so far"
stop_scheduler

# 3. Right settings: sent over TLS, authenticated.
configure password_file="$TMP/smtp.pass" ca_file="$TMP/tls/cert.pem"
start_scheduler nightly
dagctl alerts retry "$id" >/dev/null
wait_for '[ "$(mail_count)" -ge 1 ]' 15
stop_scheduler # a second mail would have to go out before the scheduler ends
assert_eq "$(mail_count)" 1 "mails"
assert_eq "$(mails 'env["tls"]')" True "TLS used"
assert_eq "$(mails 'env["login"]')" alice "AUTH login"
assert_eq "$(mails 'm["Subject"]')" "[dagctl] FAILED nightly.export (try 1/1)" "subject"
assert_eq "$(mails 'env["rcpt_tos"]')" "['ops@example.com']" "smtp.to used"
assert_eq "$(sql "SELECT state || ' ' || recipients FROM alert")" 'sent ["ops@example.com"]' \
  "alert sent, smtp.to recorded"
grep -qF 'open sesame 42' "$TMP"/scheduler.*.log && fail "the password is in a log"

# 4. The password may not sit in clear in dagctl.yaml.
configure 'password="open sesame 42"'
rc=0
dagctl alerts >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 4 "exit code with a password in clear"
grep -qF "smtp.password must not be written in clear in the config file; set DAGCTL__SMTP__PASSWORD" \
  "$TMP/err" || fail "config error: $(cat "$TMP/err")"
grep -qF 'open sesame' "$TMP/err" && fail "the error echoes the password"
exit 0
