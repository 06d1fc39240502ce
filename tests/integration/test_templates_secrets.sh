#!/usr/bin/env bash
# Variables and connections in task templates, and their secrets masked:
# {{ conn.NAME.FIELD }}, {{ var.value.NAME }}, {{ var.json.NAME.KEY }} in a
# command and in env, DAGCTL_VAR_/DAGCTL_CONN_ in the scheduler's
# environment overriding the database; a missing variable fails the try
# with its name; a bad shape is refused at load time with FILE:LINE:COL.
# What the task printed of a password or a secret variable reaches no one
# in clear: `dagctl logs` (and --json, --follow), the API's log, the alert
# mail in the outbox. (The log file itself is the task's raw output.)
. "$(dirname "$0")/lib.sh"

head -c 32 /dev/urandom | base64 >"$DAGCTL_HOME/secret_key"
printf '  secret_key_file: %s\n' "$DAGCTL_HOME/secret_key" >>"$DAGCTL_HOME/dagctl.yaml"
printf 'postgresql://etl:Pw-Secret-6601@db.example:5432/gold?sslmode=require\n' |
  dagctl connections add wh --conn-uri - >/dev/null
dagctl variables set region eu-west >/dev/null
dagctl variables set cfg '{"a": {"b": 42}}' >/dev/null
dagctl variables set api_token Tok-Secret-6602 >/dev/null
dagctl variables set overridden from-db >/dev/null

write_dag tpl <<'EOF2'
dag_id: tpl
default_args:
  email: ops@example.com
tasks:
  - id: show
    command: >-
      echo host={{ conn.wh.host }}:{{ conn.wh.port }} db={{ conn.wh.schema }}
      ssl={{ conn.wh.extra.sslmode }} region={{ var.value.region }}
      b={{ var.json.cfg.a.b }} over={{ var.value.overridden }}
      envconn={{ conn.side.host }} pw={{ conn.wh.password }} tok={{ var.value.api_token }};
      echo "from env: $DB_PW"
    env:
      DB_PW: "{{ conn.wh.password }}"
  - id: missing
    command: echo {{ var.value.nope }}
  - id: leaks
    command: echo "leaking Pw-Secret-6601 and Tok-Secret-6602"; exit 1
EOF2
printf 'dag_id: badtpl\ntasks:\n  - id: t\n    command: echo "{{ conn.wh.hots }}"\n' >"$DAGCTL_DAGS/badtpl.yaml"
export DAGCTL_VAR_OVERRIDDEN=from-env
export DAGCTL_CONN_SIDE='http://side.example:81'
start_scheduler tpl
RUN=$(dagctl trigger tpl)
wait_for "run_finished tpl $RUN" 30
assert_eq "$(task_state tpl "$RUN" show)" success "the templated task"
assert_eq "$(task_state tpl "$RUN" missing)" failed "a missing variable"
assert_eq "$(task_state tpl "$RUN" leaks)" failed "the leaking task"

LOG="$DAGCTL_HOME/logs/tpl/$RUN/show/1.log"
grep -q 'host=db.example:5432 db=gold ssl=require region=eu-west b=42 over=from-env envconn=side.example pw=Pw-Secret-6601 tok=Tok-Secret-6602' "$LOG" ||
  fail "rendered: $(cat "$LOG")"
grep -q 'from env: Pw-Secret-6601' "$LOG" || fail "env: $(cat "$LOG")"
grep -q "no variable 'nope'" "$DAGCTL_HOME/logs/tpl/$RUN/missing/1.log" ||
  fail "missing: $(cat "$DAGCTL_HOME/logs/tpl/$RUN/missing/1.log")"

# dagctl logs: masked byte for byte.
dagctl logs tpl "$RUN" show >"$TMP/shown"
grep -Eq 'Pw-Secret|Tok-Secret' "$TMP/shown" && fail "dagctl logs shows a secret: $(cat "$TMP/shown")"
grep -q 'pw=\*\*\*\*\*\*\*\*\*\*\*\*\*\* tok=\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*' "$TMP/shown" || fail "masked: $(cat "$TMP/shown")"
assert_eq "$(wc -c <"$TMP/shown")" "$(wc -c <"$LOG")" "masking keeps the length"
dagctl logs tpl "$RUN" show --json | grep -Eq 'Pw-Secret|Tok-Secret' && fail "logs --json shows a secret"
dagctl logs tpl "$RUN" show --follow | grep -Eq 'Pw-Secret|Tok-Secret' && fail "logs --follow shows a secret"

# The API's log, whole and by ranges that cut a secret.
B=${SCHED_URL%/}/api/v1/dags/tpl/dagRuns/$RUN/taskInstances/show/logs/1
curl -sS "$B" >"$TMP/api"
cmp -s "$TMP/api" "$TMP/shown" || fail "the API's log differs from dagctl logs: $(cat "$TMP/api")"
off=$(grep -bo 'Pw-Secret' "$LOG" | head -1 | cut -d: -f1)
curl -sS -H "Range: bytes=$((off + 3))-$((off + 8))" "$B" >"$TMP/part"
assert_eq "$(cat "$TMP/part")" "******" "a range inside a secret"
curl -sS "$B?offset=$((off - 2))&limit=6" >"$TMP/part"
assert_eq "$(cat "$TMP/part")" "w=****" "an offset before a secret"

# The alert mail of the leaking task, in the outbox.
wait_for "[ \"\$(sql \"SELECT count(*) FROM alert WHERE task_id = 'leaks'\")\" -ge 1 ]" 10
body=$(sql "SELECT subject || body FROM alert WHERE task_id = 'leaks'")
grep -q 'leaking' <<<"$body" || fail "the log tail is not in the mail: $body"
grep -Eq 'Pw-Secret|Tok-Secret' <<<"$body" && fail "a secret in an alert mail: $body"

# A bad shape: refused at load time, with the place.
dagctl validate "$DAGCTL_DAGS/badtpl.yaml" >"$TMP/validate" 2>&1 && fail "a bad shape validated"
grep -Eq "badtpl.yaml:4:14: tasks\[0\].command: 'conn.wh.hots': a connection has no field 'hots' \(did you mean 'host'\?\)" "$TMP/validate" ||
  fail "load-time error: $(cat "$TMP/validate")"
log "ok"
