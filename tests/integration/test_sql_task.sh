#!/usr/bin/env bash
# test_sql_task.sh - the sql task type run by the real scheduler on the
# embedded SQLite warehouse, on a SQLite connection and on a real
# PostgreSQL through a named connection (`dagctl connections add`): a
# list of statements in one transaction, parameters bound (a value made to
# break out of a quoted SQL string is stored as it is), row_count and
# first_row in XCom, a bad statement failing and rolling back, misuse at
# load time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

[ -e "$DAGCTL_BUILD_DIR/plugins/sql.so" ] || fail "sql.so is not built"
start_pg
dagctl connections add pgwh --conn-type postgres --conn-host "$PG_DIR" --conn-login postgres \
  --conn-schema postgres >/dev/null
dagctl connections add lite --conn-type sqlite --conn-host "$TMP/lite.db" >/dev/null

EVIL="x'); DROP TABLE t; --"
# sql_dag ID [CONN_ID]: the same tasks on the warehouse or a connection.
sql_dag() {
  cat <<EOF
dag_id: $1
params: {name: "$EVIL"}
default_args: {email_on_failure: false}
tasks:
  - id: create
    type: sql
    ${2:+conn_id: $2}
    sql:
      - CREATE TABLE IF NOT EXISTS t (id INTEGER, name TEXT)
      - DELETE FROM t
  - id: insert
    type: sql
    ${2:+conn_id: $2}
    upstream: create
    sql: INSERT INTO t (id, name) VALUES (\$1, \$2) RETURNING id, name
    parameters: [7, "{{ params.name }}"]
  - id: count
    type: sql
    ${2:+conn_id: $2}
    upstream: insert
    sql: SELECT count(*) AS n, max(name) AS name FROM t WHERE id = \$1
    parameters: ["{{ ti.xcom.insert.first_row.id }}"]
  - id: none
    type: sql
    ${2:+conn_id: $2}
    upstream: count
    sql: SELECT id FROM t WHERE id < 0
  - id: broken
    type: sql
    ${2:+conn_id: $2}
    upstream: none
    sql:
      - INSERT INTO t (id, name) VALUES (8, 'rolled back')
      - SELEC 1
EOF
}
sql_dag on_warehouse | write_dag on_warehouse
sql_dag on_lite lite | write_dag on_lite
sql_dag on_pg pgwh | write_dag on_pg
start_scheduler on_warehouse on_lite on_pg

xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.dag_id = '$1' AND x.task_id = '$2' AND x.key = '$3'"
}
evil_json=$("$PYTHON" -c 'import json, sys; print(json.dumps(sys.argv[1], separators=(",", ":")))' "$EVIL")
for dag in on_warehouse on_lite on_pg; do
  run=$(trigger $dag)
  assert_eq "$(wait_run $dag "$run" 60)" failed "$dag run"
  for t in create insert count none; do
    assert_eq "$(task_state $dag "$run" $t)" success "$dag.$t"
  done
  assert_eq "$(task_state $dag "$run" broken)" failed "$dag.broken"
  assert_eq "$(xcom $dag create row_count)" 0 "$dag create row_count"
  assert_eq "$(xcom $dag insert row_count)" 1 "$dag insert row_count"
  assert_eq "$(xcom $dag insert first_row)" "{\"id\":\"7\",\"name\":$evil_json}" "$dag insert first_row"
  assert_eq "$(xcom $dag count first_row)" "{\"n\":\"1\",\"name\":$evil_json}" "$dag count first_row"
  assert_eq "$(xcom $dag none row_count)" 0 "$dag none row_count"
  assert_eq "$(xcom $dag none first_row)" null "$dag none first_row"
  grep -qE "statement 2 of 2 failed on .*(syntax error|SELEC)" \
    "$DAGCTL_HOME/logs/$dag/$run/broken/1.log" || fail "$dag broken log: $(cat "$DAGCTL_HOME/logs/$dag/$run/broken/1.log")"
done
# The value went in as data, and the failed transaction left nothing.
assert_eq "$(sqlite3 "$DAGCTL_HOME/warehouse.db" "SELECT id || '|' || name FROM t ORDER BY id")" "7|$EVIL" "warehouse rows"
assert_eq "$(sqlite3 "$TMP/lite.db" "SELECT id || '|' || name FROM t ORDER BY id")" "7|$EVIL" "lite rows"
assert_eq "$(psql_as postgres postgres "SELECT id || '|' || name FROM t ORDER BY id")" "7|$EVIL" "PostgreSQL rows"

# Misuse is a located error.
write_dag bad <<'EOF'
dag_id: bad
tasks:
  - id: a
    type: sql
    sql: "SELECT {{ params.x }}"
    parameter: [1]
  - id: b
    type: sql
    parameters: 3
EOF
out=$(dagctl validate "$DAGCTL_DAGS/bad.yaml" 2>&1) && fail "bad.yaml validated"
f=$DAGCTL_DAGS/bad.yaml
grep -qxF "$f:6:5: tasks[0].parameter: unknown key 'parameter' (did you mean 'parameters'?)" <<<"$out" ||
  fail "no parameter error: $out"
grep -qxF "$f:7:5: tasks[1].sql: required key is missing (task type sql needs it)" <<<"$out" ||
  fail "no sql error: $out"
grep -qxF "$f:9:17: tasks[1].parameters: expected a list, got '3'" <<<"$out" || fail "no list error: $out"
