#!/usr/bin/env bash
# Migrations: a new database gets every migration, recorded in order; a
# database written by a newer dagctl is refused with a message saying so,
# and left untouched.
source "$(dirname "$0")/lib.sh"

dagctl dags list >/dev/null
versions=$(sql "SELECT group_concat(version) FROM (SELECT version FROM schema_migrations ORDER BY version)")
# NNNN_name.pg.sql is the PostgreSQL text of NNNN_name.sql, not a migration.
expected=$(ls "$DAGCTL_SOURCE_DIR/migrations" | grep -v '\.pg\.sql$' |
  sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | paste -sd, -)
assert_eq "$versions" "$expected" "applied migrations"
sql "SELECT name FROM sqlite_master WHERE name = 'task_instance'" | grep -qx task_instance ||
  fail "no task_instance table"

# A newer dagctl migrated this database further.
sql "INSERT INTO schema_migrations VALUES (9999, '9999_from_the_future', 0)"
before=$(sha256sum "$DAGCTL_HOME/dagctl.db" | cut -d' ' -f1)
rc=0
out=$(dagctl dags list 2>&1) || rc=$?
assert_eq "$rc" 4 "exit code for a newer database"
grep -q "schema version 9999 is newer than this dagctl" <<<"$out" || fail "unclear refusal: $out"
rc=0
dagctl scheduler >"$TMP/sched.out" 2>&1 || rc=$?
assert_eq "$rc" 4 "the scheduler refuses it too"
assert_eq "$(sha256sum "$DAGCTL_HOME/dagctl.db" | cut -d' ' -f1)" "$before" "database untouched"
