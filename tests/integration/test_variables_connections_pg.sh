#!/usr/bin/env bash
# Variables and connections with the state on PostgreSQL: the CLI stores
# them (secrets sealed: never in clear in the server's tables), reads them
# back, and a DAG run by `dagctl test` gets them through its templates;
# `dagctl logs` masks the secret it printed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

start_pg
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"
export DAGCTL__CORE__SECRET_KEY=pg-test-key-0123456789abcdef
pg() { psql_as postgres dagctl "$1"; }

printf 'postgresql://etl:Pg-Secret-7701@db.example:5432/gold\n' |
  dagctl connections add wh --conn-uri - >/dev/null
dagctl variables set region eu-north >/dev/null
dagctl variables set api_token Pg-Tok-7702 >/dev/null
pg "SELECT coalesce(password, '') || val FROM connection, variable" | grep -Eq 'Pg-Secret|Pg-Tok' &&
  fail "a secret in clear in PostgreSQL"
assert_eq "$(dagctl variables get api_token)" Pg-Tok-7702 "a secret read back"
assert_eq "$(dagctl connections get wh --json | pyjson '[d["host"], d["port"], d["password"]]' | tr '\n' ' ')" \
  "db.example 5432 *** " "a connection read back"

write_dag pgtpl <<'EOF2'
dag_id: pgtpl
tasks:
  - id: show
    command: echo {{ conn.wh.host }} {{ var.value.region }} {{ conn.wh.password }}
EOF2
dagctl test pgtpl --quiet >/dev/null 2>&1 || fail "dagctl test failed"
RUN=$(pg "SELECT run_id FROM dag_run WHERE dag_id = 'pgtpl'")
grep -q 'db.example eu-north Pg-Secret-7701' "$DAGCTL_HOME/logs/pgtpl/$RUN/show/1.log" ||
  fail "rendered: $(cat "$DAGCTL_HOME/logs/pgtpl/$RUN/show/1.log")"
dagctl logs pgtpl "$RUN" show >"$TMP/shown"
grep -q 'Pg-Secret' "$TMP/shown" && fail "dagctl logs shows the password: $(cat "$TMP/shown")"
grep -q 'db.example eu-north \*\*\*\*\*\*\*\*\*\*\*\*\*\*' "$TMP/shown" || fail "masked: $(cat "$TMP/shown")"
assert_eq "$(dagctl audit --json | pyjson '[e["event"] for e in d]' | tr '\n' ' ')" \
  "connection.add variable.set variable.set " "audited on PostgreSQL"
log "ok"
