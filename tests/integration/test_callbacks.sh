#!/usr/bin/env bash
# Callbacks (Airflow's on_*_callback) run as real processes: a failing one,
# one whose program is missing and one that hangs past
# core.callback_timeout (SIGTERM ignored: SIGKILL after
# core.task_kill_grace) change no state and hold nothing up; their output
# and outcome land in the try's log, the run's callbacks in the run's
# callbacks.log; a value from conf reaches a callback's shell as one
# quoted word. The run's callbacks' output is served by the API and shown
# on the DAG page (headless Chromium).
. "$(dirname "$0")/lib.sh"

need chromium
CHROMIUM=$(command -v chromium)

cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
  callback_timeout: 1s
EOF2

write_dag cb <<EOF2
dag_id: cb
on_failure_callback: echo "run \$DAGCTL_RUN_ID \$DAGCTL_REASON state=\$DAGCTL_STATE"
on_success: echo run ok
default_args:
  on_execute: [/no/such/program, x]
tasks:
  - id: a
    command: echo task a
    on_success_callback: echo "callback of \$DAGCTL_DAG_ID.\$DAGCTL_TASK_ID try=\$DAGCTL_TRY_NUMBER state=\$DAGCTL_STATE"; exit 3
  - id: h
    command: "true"
    on_execute: ~
    on_success: [$FAKE_TASK, --ignore-term, --sleep, "60", --record, $TMP/hang.rec, --label, hang]
  - id: f
    command: exit 1
    retries: 1
    retry_delay: 0s
    on_execute: ~
    on_retry: echo "retry try=\$DAGCTL_TRY_NUMBER exception=\$DAGCTL_EXCEPTION"
    on_failure: echo failed {{ conf.msg }} try={{ ti.try_number }}
EOF2

start_scheduler cb
trigger cb --run-id r1 --conf "{\"msg\": \"\$(touch $TMP/pwned); x'y\"}" >/dev/null
assert_eq "$(wait_run cb r1 15)" failed "run r1"
assert_eq "$(task_state cb r1 a) $(task_state cb r1 h) $(task_state cb r1 f)" \
  "success success failed" "the states after the callbacks"
assert_eq "$(sql "SELECT try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.run_id = 'r1' AND ti.task_id = 'f'")" 2 "f's tries"

logs=$DAGCTL_HOME/logs/cb/r1
# The failing callback: its output, then its status, in the try's log.
wait_for "grep -q 'on_success callback exited with status 3' $logs/a/1.log" 10
grep -q '^callback of cb.a try=1 state=success$' "$logs/a/1.log" ||
  fail "a's callback output: $(cat "$logs/a/1.log")"
grep -q '^task a$' "$logs/a/1.log" || fail "a's own output is gone: $(cat "$logs/a/1.log")"
# The missing program: said in the log, the task ran anyway.
grep -q 'on_execute callback could not start: /no/such/program: ' "$logs/a/1.log" ||
  fail "a's log does not say its on_execute callback could not start: $(cat "$logs/a/1.log")"
grep -q 'callback could not start on_execute dag=cb run=r1 task=a try=1' "$SCHED_LOG" ||
  fail "no warning for the missing callback program"
# Retry, then failure, each in its own try's log; conf quoted.
grep -q '^retry try=1 exception=exited with status 1$' "$logs/f/1.log" ||
  fail "f's on_retry: $(cat "$logs/f/1.log")"
wait_for "grep -q 'on_failure callback exited with status 0' $logs/f/2.log" 10
grep -qF "failed \$(touch $TMP/pwned); x'y try=2" "$logs/f/2.log" ||
  fail "f's on_failure: $(cat "$logs/f/2.log")"
[ ! -e "$TMP/pwned" ] || fail "a value from conf ran in a callback's shell"
grep -q 'on_retry callback' "$logs/f/2.log" && fail "on_retry ran for the last try"
# The run's callback in the run's log.
wait_for "grep -q 'on_failure callback exited with status 0' $logs/callbacks.log" 10
grep -q '^run r1 task_failure state=failed$' "$logs/callbacks.log" ||
  fail "the run's callback: $(cat "$logs/callbacks.log")"
grep -q 'on_success' "$logs/callbacks.log" && fail "the run's on_success ran for a failed run"

# The hanging callback ran on after the run ended, then was killed.
wait_for "grep -q '^start' $TMP/hang.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/hang.rec")
wait_for "grep -q 'on_success callback timed out after 1s (core.callback_timeout), killed' $logs/h/1.log" 10
wait_for "! kill -0 $pid 2>/dev/null" 5
grep -q 'callback timed out, killed on_success dag=cb run=r1 task=h try=1' "$SCHED_LOG" ||
  fail "no warning for the callback past its timeout"
assert_eq "$(task_state cb r1 h)" success "h after its callback was killed"

# The logs are what `dagctl logs` prints: a try's, and without a task the
# run's callbacks'.
dagctl logs cb r1 a | grep -q '^callback of cb.a try=1' || fail "dagctl logs misses the callback"
dagctl logs cb r1 | grep -q '^run r1 task_failure state=failed$' ||
  fail "dagctl logs DAG RUN: $(dagctl logs cb r1 2>&1)"
assert_eq "$(dagctl logs cb r1 --json | pyjson 'd["content"].count("task_failure")')" 1 \
  "the run's callbacks log as JSON"

# The API and the DAG page show the run's callbacks' output.
B=${SCHED_URL%/}
curl -sS -f "$B/api/v1/dags/cb/dagRuns/r1/callbackLog" >"$TMP/cblog.json" ||
  fail "GET .../dagRuns/r1/callbackLog"
assert_eq "$(pyjson 'd["dag_id"] + " " + d["dag_run_id"] + " " + str(d["truncated"])' <"$TMP/cblog.json")" \
  "cb r1 False" "the callback log's fields"
pyjson 'd["content"]' <"$TMP/cblog.json" >"$TMP/cblog.txt"
grep -q '^run r1 task_failure state=failed$' "$TMP/cblog.txt" ||
  fail "the API's callback log: $(cat "$TMP/cblog.json")"
until='(f) => new Promise((res) => { const t = () => { try { if (f()) return res(true); } catch (e) {} setTimeout(t, 50); }; t(); })'
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dags/cb?run=r1" \
  "($until)(() => document.querySelector('#run-callbacks'))" \
  "document.querySelector('#run-callbacks').textContent" \
  >"$TMP/page.json" 2>"$TMP/page.err" || fail "driving the DAG page: $(cat "$TMP/page.err" "$TMP/page.json")"
"$PYTHON" - "$TMP/page.json" <<'PY' || fail "the page's callbacks: $(cat "$TMP/page.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert "run r1 task_failure state=failed\n" in lines[1], lines
PY

# A run that succeeds: the run's on_success, and nothing else.
write_dag ok <<EOF2
dag_id: ok
on_success_callback: [/bin/sh, -c, 'echo "run \$DAGCTL_RUN_ID \$DAGCTL_REASON"']
on_failure: echo never
tasks:
  - id: t
    command: "true"
EOF2
wait_for "dagctl dags list --json | pyjson '[x[\"dag_id\"] for x in d]' | grep -qx ok" 10
trigger ok --run-id r2 >/dev/null
assert_eq "$(wait_run ok r2 15)" success "run r2"
wait_for "grep -q 'on_success callback exited with status 0' $DAGCTL_HOME/logs/ok/r2/callbacks.log" 10
grep -q '^run r2 success$' "$DAGCTL_HOME/logs/ok/r2/callbacks.log" ||
  fail "r2's callback: $(cat "$DAGCTL_HOME/logs/ok/r2/callbacks.log")"
# A run of a DAG without callbacks: said, not found.
write_dag plain <<EOF2
dag_id: plain
tasks:
  - id: t
    command: "true"
EOF2
wait_for "dagctl dags list --json | pyjson '[x[\"dag_id\"] for x in d]' | grep -qx plain" 10
trigger plain --run-id r3 >/dev/null
assert_eq "$(wait_run plain r3 15)" success "run r3"
dagctl logs plain r3 2>"$TMP/err" && fail "dagctl logs of a run without callback output succeeded"
grep -q 'no callback of run r3 has run' "$TMP/err" || fail "dagctl logs said: $(cat "$TMP/err")"
[ ! -e "$DAGCTL_HOME/logs/plain/r3/callbacks.log" ] || fail "a callbacks.log without callbacks"
stop_scheduler
log "ok"
