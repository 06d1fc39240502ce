#!/usr/bin/env bash
# tls: implicit (SMTPS): TLS from the first byte, the certificate checked
# against smtp.ca_file and the host name; a server that does not speak TLS
# at once keeps the alert queued with the handshake error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

make_cert "$TMP/tls"
start_smtp --implicit-tls --cert "$TMP/tls/cert.pem" --key "$TMP/tls/key.pem"
smtp_config host=localhost port="$SMTP_PORT" tls=implicit ca_file="$TMP/tls/cert.pem" \
  from=dagctl@example.com to=ops@example.com retry_base=1s timeout=5s

write_dag secure <<'EOF2'
dag_id: secure
default_args:
  email_on_failure: false
tasks:
  - id: sync
    command: exit 5
    email_on_failure: true
EOF2

start_scheduler secure
run=$(trigger secure)
assert_eq "$(wait_run secure "$run" 15)" failed "run"
wait_for '[ "$(mail_count)" -ge 1 ]' 15
assert_eq "$(mails 'env["tls"]')" True "TLS used"
assert_eq "$(mails 'm["Subject"]')" "[dagctl] FAILED secure.sync (try 1/1)" "subject"
assert_eq "$(sql "SELECT state FROM alert")" sent "state"
