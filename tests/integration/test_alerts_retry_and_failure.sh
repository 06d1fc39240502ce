#!/usr/bin/env bash
# A failing task with retries: 2 and email_on_retry mails one RETRY per
# failed try, one FAILED when no tries are left, and one RUN FAILED summary,
# through a real SMTP server; each a valid RFC 5322 message with the run's
# facts and the last 50 lines of the try's log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alerts_lib.sh"

start_smtp
smtp_config host=127.0.0.1 port="$SMTP_PORT" tls=none from=dagctl@example.com \
  to=fallback@example.com retry_base=1s timeout=5s

write_dag spotify_data_basic <<'EOF'
dag_id: spotify_data_basic
default_args:
  email: [ops@example.com, data@example.com]
  email_on_retry: true
tasks:
  - id: dbt_test
    command: |
      i=1; while [ $i -le 60 ]; do echo "dbt line $i of try "{{ try_number }}; i=$((i+1)); done
      echo "FAIL 1 not_null_users_id" >&2
      exit 3
    retries: 2
    retry_delay: 1s
  - id: publish
    command: "true"
    upstream: [dbt_test]
EOF

start_scheduler spotify_data_basic
run=$(trigger spotify_data_basic)
assert_eq "$(wait_run spotify_data_basic "$run" 30)" failed "run state"
wait_for '[ "$(mail_count)" -ge 4 ]' 20
sleep 1 # nothing more may follow
assert_eq "$(mail_count)" 4 "mails received"

subjects=$(mails 'm["Subject"]' | sort)
expected=$(printf '%s\n' \
  "[dagctl] FAILED spotify_data_basic.dbt_test (try 3/3)" \
  "[dagctl] RETRY spotify_data_basic.dbt_test (try 1/3)" \
  "[dagctl] RETRY spotify_data_basic.dbt_test (try 2/3)" \
  "[dagctl] RUN FAILED spotify_data_basic ($run)" | sort)
assert_eq "$subjects" "$expected" "subjects"

# Envelope and headers: the task's list (from default_args), not smtp.to.
assert_eq "$(mails 'sorted(env["rcpt_tos"])' | sort -u)" "['data@example.com', 'ops@example.com']" \
  "envelope recipients"
assert_eq "$(mails 'm["To"]' | sort -u)" "ops@example.com, data@example.com" "To header"
assert_eq "$(mails 'm["From"]' | sort -u)" "dagctl <dagctl@example.com>" "From header"
assert_eq "$(mails 'm.get_content_type() + " " + m.get_content_charset()' | sort -u)" \
  "text/plain utf-8" "Content-Type"
assert_eq "$(mails 'm["MIME-Version"]' | sort -u)" "1.0" "MIME-Version"
# Exactly one of each header that must be unique (libesmtp adds none).
assert_eq "$(mails '",".join(str(len(m.get_all(h) or [])) for h in ("Date","Message-ID","From","To","Subject"))' | sort -u)" \
  "1,1,1,1,1" "unique headers"
assert_eq "$(mails 'len(set(m["Message-ID"] for _ in [0]))' | sort -u)" 1 "Message-ID present"
assert_eq "$(mails 'm.defects == [] and all(not l.endswith(b"\r") and not l.endswith(b"\n") for l in raw.split(b"\r\n"))' | sort -u)" \
  True "every line ends with CRLF, no defects"
assert_eq "$(mails 'email.utils.parsedate_to_datetime(m["Date"]).utcoffset().total_seconds()' | sort -u)" \
  0.0 "Date parses"

# The FAILED mail: the facts, the last 50 log lines of try 3, the page.
failed=$(mails 'body if m["Subject"].startswith("[dagctl] FAILED") else ""')
for want in "Task dbt_test of DAG spotify_data_basic failed on try 3 of 3" \
            "Run:           $run" "Try:           3 of 3" \
            "Result:        exited with status 3" "Duration:" \
            "/dags/spotify_data_basic/runs/" "/tasks/dbt_test/tries/3" \
            "dbt line 60 of try 3" "dbt line 13 of try 3" "FAIL 1 not_null_users_id" \
            "[dagctl] try 3 exited with status 3"; do
  grep -qF -- "$want" <<<"$failed" || fail "FAILED mail lacks '$want':
$failed"
done
grep -qF "dbt line 12 of try 3" <<<"$failed" && fail "FAILED mail quotes more than 50 lines"
assert_eq "$(grep -c '^dbt line\|^FAIL\|^\[dagctl\] try' <<<"$failed")" 50 "quoted log lines"

retry1=$(mails 'body if m["Subject"].endswith("(try 1/3)") else ""')
grep -qF "will run again" <<<"$retry1" || fail "RETRY mail: $retry1"
grep -qF "Next try:" <<<"$retry1" || fail "RETRY mail has no next try: $retry1"
grep -qF "dbt line 60 of try 1" <<<"$retry1" || fail "RETRY mail quotes another try's log"

summary=$(mails 'body if "RUN FAILED" in m["Subject"] else ""')
grep -qE '^  dbt_test +failed +try 3 of 3  exited with status 3$' <<<"$summary" ||
  fail "summary lacks the failed task: $summary"
grep -qE '^  publish +upstream_failed$' <<<"$summary" || fail "summary lacks publish: $summary"
grep -qF "/dags/spotify_data_basic?run=" <<<"$summary" || fail "summary lacks the run page"

# The outbox agrees, kind by kind.
assert_eq "$(alerts_json '[a["state"] for a in d]' | sort -u)" sent "alert states"
assert_eq "$(alerts_json '[a["kind"] for a in d]' | sort | tr '\n' ' ')" \
  "run_failed task_failed task_retry task_retry " "alert kinds"
assert_eq "$(alerts_json '[r["state"] for a in d for r in a["recipients"]]' | sort -u)" sent \
  "recipient outcomes"
grep -q "sent" <<<"$(dagctl alerts)" || fail "dagctl alerts lists no sent alert"

# Every recipient has it: nothing to retry.
rc=0
dagctl alerts retry "$(sql "SELECT min(id) FROM alert")" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "exit code of a pointless retry"
grep -qF "already reached every recipient" "$TMP/err" || fail "retry said: $(cat "$TMP/err")"
