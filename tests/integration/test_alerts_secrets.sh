#!/usr/bin/env bash
# Secrets never travel in a mail: values of the scheduler's secret-looking
# environment variables and the SMTP password are masked in the quoted log,
# whether the message goes out as 7bit or quoted-printable, and they are
# not in the outbox either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

smtp_pass='smtp-pass-XYZ-987'
start_smtp --auth "alice:$smtp_pass"
smtp_config host=127.0.0.1 port="$SMTP_PORT" tls=none user=alice from=dagctl@example.com \
  to=ops@example.com retry_base=1s
export DAGCTL__SMTP__PASSWORD=$smtp_pass
export DB_PASSWORD=hunter2secret
export API_TOKEN=tok-abcdef-123456
export USE_KEYRING=true # secret-looking name, harmless value: left alone

write_dag leaky <<'EOF'
dag_id: leaky
default_args:
  email_on_retry: false
tasks:
  - id: ascii
    command: |
      echo "connecting to db with password $DB_PASSWORD"
      echo "Authorization: Bearer ${API_TOKEN}"
      echo "smtp pass is $DAGCTL__SMTP__PASSWORD, keyring $USE_KEYRING"
      exit 1
  - id: utf8
    command: |
      printf 'caf\303\251 %s%s\n' "$DB_PASSWORD" "$API_TOKEN"
      printf 'long %0300d %s\n' 0 "$DB_PASSWORD"
      exit 1
EOF

start_scheduler leaky
run=$(trigger leaky)
assert_eq "$(wait_run leaky "$run" 15)" failed "run"
# Two task alerts and the run summary.
wait_for '[ "$(mail_count)" -ge 3 ]' 20
assert_eq "$(alert_count "state = 'sent'")" 3 "alerts sent"
assert_eq "$(mails 'env["login"]' | sort -u)" alice "AUTH login"

for secret in hunter2secret tok-abcdef-123456 "$smtp_pass"; do
  if grep -rqF -- "$secret" "$MAILDIR"; then fail "'$secret' is in a raw message"; fi
  bodies=$(mails 'body')
  subjects=$(mails 'm["Subject"]')
  if grep -qF -- "$secret" <<<"$bodies"; then fail "'$secret' is in a decoded body"; fi
  if grep -qF -- "$secret" <<<"$subjects"; then fail "'$secret' is in a subject"; fi
  [ "$(sql "SELECT count(*) FROM alert WHERE instr(body, '$secret') OR instr(subject, '$secret')")" = 0 ] ||
    fail "'$secret' is in the outbox"
done
grep -qF -- "$smtp_pass" "$SCHED_LOG" && fail "the SMTP password is in the scheduler's log"

ascii=$(mails 'body if "ascii" in m["Subject"] else ""')
grep -qxF "connecting to db with password ***" <<<"$ascii" || fail "ascii body: $ascii"
grep -qxF "Authorization: Bearer ***" <<<"$ascii" || fail "ascii body: $ascii"
# dagctl's own settings never reach a shell task's environment at all.
grep -qxF "smtp pass is , keyring true" <<<"$ascii" || fail "ascii body: $ascii"
assert_eq "$(mails 'm["Content-Transfer-Encoding"] if "ascii" in m["Subject"] else ""' | grep .)" \
  7bit "ascii encoding"

utf8=$(mails 'body if "utf8" in m["Subject"] else ""')
grep -qxF "café ******" <<<"$utf8" || fail "utf8 body: $utf8"
grep -qE '^long 0+ \*\*\*$' <<<"$utf8" || fail "utf8 body: $utf8"
assert_eq "$(mails 'm["Content-Transfer-Encoding"] if "utf8" in m["Subject"] else ""' | grep .)" \
  quoted-printable "utf8 encoding"
