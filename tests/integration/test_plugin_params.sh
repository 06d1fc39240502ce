#!/usr/bin/env bash
# Plugins declare their params through the ABI (minor 1): `dagctl validate`
# and the scheduler's loader refuse a misspelt one (poke_intervl used to
# pass, and the default was used), with FILE:LINE:COL and a did-you-mean;
# the host hands a plugin the declared defaults, leaves verbatim params
# unrendered, and checks a templated value's type once rendered; a plugin
# built for minor 0 still loads and runs.
source "$(dirname "$0")/lib.sh"

plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"
# The shipped plugins and the test ones, side by side.
mkdir -p "$TMP/plugins"
cp "$DAGCTL_BUILD_DIR"/plugins/s3_sensor.so "$plugins"/test_plugin.so \
  "$plugins"/test_plugin_v1_0.so "$TMP/plugins/"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $TMP/plugins
EOF

write_dag misspelt <<'EOF'
dag_id: misspelt
tasks:
  - id: wait
    type: wait_for_s3_files
    prefix: raw_events/
    poke_intervl: 1s
EOF
rc=0
dagctl validate "$DAGCTL_DAGS/misspelt.yaml" >"$TMP/validate.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "validate exit code"
grep -qxF "$DAGCTL_DAGS/misspelt.yaml:6:5: tasks[0].poke_intervl: unknown key 'poke_intervl' (did you mean 'poke_interval'?)" \
  "$TMP/validate.out" || fail "validate: $(cat "$TMP/validate.out")"

dagctl plugins >"$TMP/plugins.out"
grep -qE '^ +poke_interval +duration, default 30s: time between pokes$' "$TMP/plugins.out" ||
  fail "dagctl plugins does not show the declared params: $(cat "$TMP/plugins.out")"

write_dag declared <<'EOF'
dag_id: declared
params:
  n: 5
  list: [x, y]
tasks:
  - id: defaults
    type: test_declared
    text: "{{ ds }}"
    raw: "{{ not rendered }}"
  - id: templated
    type: test_declared
    text: t
    n: "{{ params.n }}"
    items: "{{ params.list }}"
    flag: yes
  - id: old_plugin
    type: v10_one
    any_key: anything goes
EOF
dagctl validate "$DAGCTL_DAGS/declared.yaml" >"$TMP/validate.out" 2>&1 ||
  fail "validate declared.yaml: $(cat "$TMP/validate.out")"

# The scheduler's loader checks them too: the misspelt DAG is an import
# error with the same message, the good one loads.
start_scheduler declared
sql "SELECT stacktrace FROM import_error WHERE filename LIKE '%misspelt.yaml'" |
  grep -qF "tasks[0].poke_intervl: unknown key 'poke_intervl' (did you mean 'poke_interval'?)" ||
  fail "the scheduler loaded misspelt.yaml: $(sql "SELECT * FROM import_error")"
dagctl dags list --json | pyjson '[x["dag_id"] for x in d]' | grep -qx misspelt &&
  fail "the scheduler loaded misspelt.yaml"

run=$(timeout 60 "$DAGCTL_BIN" trigger declared --wait 2>"$TMP/wait.log") ||
  fail "run failed: $(cat "$TMP/wait.log")"
day=$(sql "SELECT substr(datetime(logical_date / 1000000, 'unixepoch'), 1, 10) FROM dag_run
           WHERE run_id = '$run'")
dagctl logs declared "$run" defaults | grep -qF \
  "text=$day n=7 raw={{ not rendered }} flag=false wait=30s items=(none) abi_minor=7" ||
  fail "defaults: $(dagctl logs declared "$run" defaults)"
dagctl logs declared "$run" templated | grep -qF \
  'text=t n=5 raw=(none) flag=yes wait=30s items=["x","y"] abi_minor=7' ||
  fail "templated: $(dagctl logs declared "$run" templated)"
dagctl logs declared "$run" old_plugin | grep -qF "minor 0 plugin ran, any=anything goes" ||
  fail "minor 0 plugin: $(dagctl logs declared "$run" old_plugin)"

# A templated value of the wrong type fails the try, before the plugin runs.
rc=0
run=$(timeout 60 "$DAGCTL_BIN" trigger declared --conf '{"n": "abc"}' --wait 2>"$TMP/wait.log") ||
  rc=$?
[ "$rc" -ne 0 ] || fail "a run with n=abc succeeded"
run=$(sql "SELECT run_id FROM dag_run ORDER BY id DESC LIMIT 1")
assert_eq "$(task_state declared "$run" templated)" failed "templated with n=abc"
log=$(dagctl logs declared "$run" templated)
grep -qF "param n: expected an integer, got 'abc'" <<<"$log" || fail "no clear error: $log"
if grep -q "abi_minor" <<<"$log"; then fail "the plugin ran: $log"; fi

# sql_check's sql is declared verbatim: a conf value never becomes SQL.
cp "$DAGCTL_BUILD_DIR"/plugins/sql_check.so "$TMP/plugins/"
write_dag sqlverb <<'EOF'
dag_id: sqlverb
tasks:
  - id: check
    type: sql_check
    sql: "SELECT '{{ conf.x }}'"
    equals: 1
EOF
rc=0
run=$(dagctl test sqlverb --quiet --conf '{"x": "1'"'"' UNION SELECT 1 --"}') || rc=$?
[ "$rc" -ne 0 ] || fail "the check passed: the conf value became SQL"
log=$(dagctl logs sqlverb "$run" check)
grep -qF "SELECT '{{ conf.x }}'" <<<"$log" || fail "sql was rendered: $log"
