#!/usr/bin/env bash
# /api/v1/variables and /api/v1/connections with Airflow 2.10's schemas:
# lists (keys and descriptions; connections without password or extra),
# one object, create, PATCH with update_mask, DELETE; the op role for reads
# too; no secret in clear in any answer (a secret variable's value and an
# extra's secret keys "***", no password at all), a "***" sent back by a
# PATCH keeping the stored value; a secret refused without core.secret_key;
# each change audited.
. "$(dirname "$0")/lib.sh"

write_dag apidemo <<'EOF2'
dag_id: apidemo
tasks:
  - id: hello
    command: echo hello
EOF2
dagctl users add ops --role op --no-password >/dev/null
dagctl users add usr --role user --no-password >/dev/null
OP=$(dagctl tokens create ops)
USR=$(dagctl tokens create usr)
start_scheduler apidemo
B=${SCHED_URL%/}/api/v1
ALL="$TMP/answers"
: >"$ALL"
# api METHOD PATH [BODY] [TOKEN]: the status; the body in $TMP/body (and $ALL).
api() {
  local args=(-sS -o "$TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer ${4:-$OP}")
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "$B$2"
  cat "$TMP/body" >>"$ALL"
}

# No key yet: a secret is refused with the way to set one; a plain value is fine.
assert_eq "$(api POST /variables '{"key": "db_password", "value": "pw-in-var-1"}')" 400 "a secret without a key"
grep -q 'DAGCTL__CORE__SECRET_KEY' "$TMP/body" || fail "no hint: $(cat "$TMP/body")"
assert_eq "$(api POST /variables '{"key": "region", "value": "eu", "description": "d"}')" 200 "create"
assert_eq "$(pyjson '[list(x) for x in sorted(d.items())]' <"$TMP/body" | tr '\n' ' ')" \
  '["description", "d"] ["key", "region"] ["value", "eu"] ' "Variable"

# The rest with a key: restart the scheduler (and its server) with one.
stop_scheduler
head -c 32 /dev/urandom | base64 >"$DAGCTL_HOME/secret_key"
printf '  secret_key_file: %s\n' "$DAGCTL_HOME/secret_key" >>"$DAGCTL_HOME/dagctl.yaml"
start_scheduler apidemo
B=${SCHED_URL%/}/api/v1
assert_eq "$(api POST /variables '{"key": "db_password", "value": "pw-in-var-1"}')" 200 "a secret"
assert_eq "$(pyjson 'd["value"]' <"$TMP/body")" '***' "a secret's value in the answer"
assert_eq "$(dagctl variables get db_password)" pw-in-var-1 "stored as sent"
assert_eq "$(api GET /variables/db_password)" 200 "get a secret"
assert_eq "$(pyjson 'd["value"]' <"$TMP/body")" '***' "get masks a secret"
assert_eq "$(api GET '/variables?limit=1&offset=1')" 200 "list"
assert_eq "$(pyjson '[d["total_entries"], d["variables"]]' <"$TMP/body" | tr '\n' ' ')" \
  '2 [{"key": "region", "description": "d"}] ' "VariableCollection page"
assert_eq "$(api GET '/variables?order_by=-key')" 200 "list backwards"
assert_eq "$(pyjson '[v["key"] for v in d["variables"]]' <"$TMP/body" | tr '\n' ' ')" "region db_password " "order_by"
assert_eq "$(api GET '/variables?order_by=value')" 400 "order_by another field"
assert_eq "$(api PATCH '/variables/region?update_mask=description' '{"key": "region", "value": "ignored", "description": "new"}')" 200 "patch a field"
assert_eq "$(pyjson '[d["value"], d["description"]]' <"$TMP/body" | tr '\n' ' ')" "eu new " "update_mask"
assert_eq "$(api PATCH /variables/region '{"key": "other", "value": "x"}')" 400 "a key that differs"
assert_eq "$(api PATCH /variables/nope '{"value": "x"}')" 404 "patch a missing variable"
assert_eq "$(api POST /variables '{"key": "bad key", "value": "x"}')" 400 "a bad name"
assert_eq "$(api POST /variables '{"key": "k"}')" 400 "no value"
grep -q 'value' "$TMP/body" || fail "400 names the field: $(cat "$TMP/body")"
assert_eq "$(api GET /variables "" "$USR")" 403 "a user reads no variables"
assert_eq "$(api POST /variables '{"key": "k", "value": "v"}' "$USR")" 403 "nor writes them"

# Connections.
assert_eq "$(api POST /connections '{"connection_id": "wh", "conn_type": "postgres", "host": "db", "port": 5432, "login": "etl", "password": "pw-in-conn-2", "schema": "wh", "extra": "{\"sslmode\": \"require\", \"api_key\": \"key-in-extra-3\"}", "description": "warehouse"}')" 200 "create a connection"
assert_eq "$(pyjson 'sorted(d)' <"$TMP/body" | tr '\n' ' ')" \
  "conn_type connection_id description extra host login port schema " "Connection fields (no password)"
assert_eq "$(pyjson 'json.loads(d["extra"])' <"$TMP/body")" '{"api_key": "***", "sslmode": "require"}' "extra masked"
assert_eq "$(api POST /connections '{"connection_id": "wh", "conn_type": "http"}')" 409 "a taken id"
assert_eq "$(api POST /connections '{"connection_id": "x", "conn_type": "http", "port": 70000}')" 400 "a bad port"
assert_eq "$(api POST /connections '{"connection_id": "x", "conn_type": "http", "extra": "[1]"}')" 400 "an extra that is no object"
assert_eq "$(api POST /connections '{"connection_id": "x"}')" 400 "no conn_type"
assert_eq "$(api GET /connections)" 200 "list connections"
assert_eq "$(pyjson '[d["total_entries"], sorted(d["connections"][0])]' <"$TMP/body" | tr '\n' ' ')" \
  '1 ["conn_type", "connection_id", "description", "host", "login", "port", "schema"] ' "ConnectionCollection"
# GET, change a field, PATCH back: the masked extra key and the password stay.
api GET /connections/wh >/dev/null
body=$(pyjson 'json.dumps(dict(d, host="db2"))' <"$TMP/body")
assert_eq "$(api PATCH /connections/wh "$body")" 200 "patch with the masked extra"
assert_eq "$(pyjson 'd["host"]' <"$TMP/body")" db2 "patched host"
assert_eq "$(dagctl connections get wh --json | pyjson '[d["password"], json.loads(d["extra"])["api_key"]]' | tr '\n' ' ')" \
  '*** *** ' "the password and the extra's secret kept"
assert_eq "$(api PATCH '/connections/wh?update_mask=port' '{"port": 6543}')" 200 "patch the port alone"
assert_eq "$(pyjson '[d["port"], d["host"], d["login"]]' <"$TMP/body" | tr '\n' ' ')" "6543 db2 etl " "update_mask port"
assert_eq "$(api PATCH '/connections/wh?update_mask=nope' '{"port": 1}')" 400 "an unknown mask field"
assert_eq "$(api GET /connections/wh "" "$USR")" 403 "a user reads no connection"

assert_eq "$(api DELETE /connections/wh)" 204 "delete"
assert_eq "$(api DELETE /connections/wh)" 404 "delete again"
assert_eq "$(api DELETE /variables/region)" 204 "delete a variable"

# No secret in clear in any answer.
grep -Eq 'pw-in-var-1|pw-in-conn-2|key-in-extra-3' "$ALL" && fail "a secret in an API answer"
# Each change (and each refused one past the permission) audited.
assert_eq "$(dagctl audit --json | pyjson '[e["event"] + ":" + e["outcome"] + ":" + (e.get("object") or "") for e in d if e["event"].startswith(("variable", "connection"))]' | tr '\n' ' ')" \
  "variable.set:failure:db_password variable.set:success:region variable.set:success:db_password variable.update:success:region variable.update:failure:nope connection.add:success:wh connection.add:failure:wh connection.add:failure:x connection.update:success:wh connection.update:success:wh connection.delete:success:wh connection.delete:failure:wh variable.delete:success:region " \
  "audit entries"
log "ok"
