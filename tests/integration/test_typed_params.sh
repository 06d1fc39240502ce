#!/usr/bin/env bash
# Typed params: a trigger's conf that breaks a param's schema is refused
# with the field named, from the CLI (exit 2), the API (400) and the page's
# trigger form, which is generated from the params (an input per param with
# the schema's bounds); conf that fits runs with its values; the DAG's
# details carry Airflow's serialized Params.
. "$(dirname "$0")/lib.sh"
need chromium curl
CHROMIUM=$(command -v chromium)

write_dag typed <<'EOF2'
dag_id: typed
params:
  table: raw_events
  limit: {type: integer, minimum: 1, maximum: 1000, default: 100, description: rows per batch}
  mode: {enum: [full, delta], default: delta}
  email: {type: string, pattern: "^[^@]+@[^@]+$", description: who to tell}
  dry: {type: boolean, default: false}
tasks:
  - id: show
    command: echo limit={{ params.limit }} mode={{ params.mode }} email={{ params.email }} dry={{ params.dry }} table={{ params.table }}
EOF2
dagctl users add adm --role admin --no-password >/dev/null
TOKEN=$(dagctl tokens create adm)
start_scheduler typed

# --- the CLI ----------------------------------------------------------------------------------
rc=0; dagctl trigger typed --conf '{"limit": "abc", "email": "a@b"}' 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "a conf of the wrong type"
assert_eq "$(cat "$TMP/err")" 'dagctl: conf.limit: expected integer, got a string "abc"' "the CLI's message"
rc=0; dagctl trigger typed 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "a required param left out"
assert_eq "$(cat "$TMP/err")" 'dagctl: conf.email: required (who to tell)' "required"
rc=0; dagctl test typed --conf '{"email": "a@b", "mode": "x"}' >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "dagctl test checks the conf too"
grep -q 'conf.mode: "x" is not one of \["full","delta"\]' "$TMP/err" || fail "test: $(cat "$TMP/err")"
assert_eq "$(sql "SELECT count(*) FROM dag_run")" 0 "no run for a refused conf"
RUN=$(dagctl trigger typed --conf '{"email": "ops@example.com", "limit": 7}')
wait_for "run_finished typed $RUN" 20
grep -q 'limit=7 mode=delta email=ops@example.com dry=false table=raw_events' \
  "$DAGCTL_HOME/logs/typed/$RUN/show/1.log" || fail "the run's params: $(cat "$DAGCTL_HOME/logs/typed/$RUN/show/1.log")"

# --- the API ----------------------------------------------------------------------------------
B=${SCHED_URL%/}
code() { curl -sS -o "$TMP/body" -w '%{http_code}' "$@"; }
assert_eq "$(code -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"conf": {"email": "a@b", "limit": 5000}}' "$B/api/v1/dags/typed/dagRuns")" 400 "the API refuses"
assert_eq "$(pyjson 'd["detail"]' <"$TMP/body")" 'conf.limit: 5000 is more than the maximum 1000' "the API's detail"
assert_eq "$(code "$B/api/v1/dags/typed/details")" 200 "details"
assert_eq "$(pyjson 'json.dumps(d["params"]["limit"], sort_keys=True)' <"$TMP/body")" \
  '{"__class": "airflow.models.param.Param", "description": "rows per batch", "schema": {"maximum": 1000, "minimum": 1, "type": "integer"}, "value": 100}' \
  "a serialized Param"
assert_eq "$(pyjson 'json.dumps(d["params"]["table"], sort_keys=True)' <"$TMP/body")" \
  '{"__class": "airflow.models.param.Param", "description": null, "schema": {}, "value": "raw_events"}' \
  "a plain param"

# --- the page's form ------------------------------------------------------------------------------
wait_form='new Promise((res) => { const t = () => {
  const els = document.querySelectorAll("#trigger-params [data-param]");
  if (els.length === 5) res(true); else setTimeout(t, 50); }; t(); })'
fields='[...document.querySelectorAll("#trigger-params [data-param]")].map((e) =>
  [e.dataset.param, e.dataset.kind, e.tagName, e.getAttribute("min"), e.getAttribute("max"), e.type === "checkbox" ? e.checked : e.value])'
set_and_submit='(limit, email) => { const f = document.querySelector("#trigger-form");
  f.querySelector("[data-param=limit]").value = limit;
  f.querySelector("[data-param=email]").value = email;
  f.querySelector("[data-param=dry]").checked = true;
  f.querySelector("[data-param=mode]").value = JSON.stringify("full");
  f.requestSubmit(); }'
wait_err='new Promise((res) => { const t = () => { const e = document.querySelector("#trigger-err");
  if (!e.hidden && e.textContent) res(e.textContent); else setTimeout(t, 50); }; t(); })'
wait_closed='new Promise((res) => { const t = () => {
  if (!document.querySelector("#trigger-dlg").open) res(true); else setTimeout(t, 50); }; t(); })'
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dags/typed" \
  "localStorage.setItem('dagctl.token', '$TOKEN'); true" \
  'document.querySelector("#trigger-btn").click(); true' \
  "$wait_form" "$fields" \
  "($set_and_submit)('5000', 'page@example.com'); document.querySelector('[data-param=limit]').checkValidity()" \
  "($set_and_submit)('42', 'nobody'); true" "$wait_err" \
  "($set_and_submit)('42', 'page@example.com'); true" "$wait_closed" >"$TMP/page.json" 2>"$TMP/page.err" ||
  fail "driving the trigger form: $(cat "$TMP/page.err" "$TMP/page.json")"
"$PYTHON" - "$TMP/page.json" <<'EOF2' || fail "the trigger form: $(cat "$TMP/page.json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
fields, valid, err = lines[3], lines[4], lines[6]
assert fields == [["dry", "boolean", "INPUT", None, None, False],
                  ["email", "string", "INPUT", None, None, ""],
                  ["limit", "integer", "INPUT", "1", "1000", "100"],
                  ["mode", "enum", "SELECT", None, None, '"delta"'],
                  ["table", "string", "INPUT", None, None, "raw_events"]], fields
# The browser holds 5000 back itself (max=1000); the pattern is the server's.
assert valid is False, valid
assert err == 'conf.email: "nobody" does not match the pattern ^[^@]+@[^@]+$', err
EOF2
wait_for "[ \"\$(sql \"SELECT count(*) FROM dag_run WHERE dag_id = 'typed'\")\" = 2 ]" 10
PAGE_RUN=$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'typed' AND run_id <> '$RUN'")
assert_eq "$(sql "SELECT conf FROM dag_run WHERE run_id = '$PAGE_RUN'" | pyjson 'json.dumps(d, sort_keys=True)')" \
  '{"dry": true, "email": "page@example.com", "limit": 42, "mode": "full", "table": "raw_events"}' \
  "the conf the form sent"
log "ok"
