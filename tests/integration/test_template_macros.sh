#!/usr/bin/env bash
# Airflow's context names, macros and filters, rendered by a real run: each
# task echoes them into its log and the log must hold the exact values.
# prev_data_interval_start_success is empty before the first successful run
# and the earlier run's interval start after it. `dagctl validate` names an
# unknown macro or filter at its file, line and column.
. "$(dirname "$0")/lib.sh"
export DAGCTL_DAGS=$TMP/dags

write_dag macros <<'YAML'
dag_id: macros
schedule: "@daily"
start_date: 2024-01-01T00:00:00+00:00
params:
  table: "it's; $(id)"
  cols: [a, b]
tasks:
  - id: show
    command: |
      printf 'ds=%s\n' {{ ds }}
      printf 'ds_nodash=%s\n' {{ ds_nodash }}
      printf 'ts=%s\n' {{ ts }}
      printf 'ts_nodash=%s\n' {{ ts_nodash }}
      printf 'logical_date=%s\n' {{ logical_date }}
      printf 'start=%s\n' {{ data_interval_start }}
      printf 'end=%s\n' {{ data_interval_end }}
      printf 'prev=[%s]\n' {{ prev_data_interval_start_success }}
      printf 'run_id=%s\n' {{ run_id }}
      printf 'ids=%s\n' {{ dag.dag_id }}/{{ task.task_id }}/{{ ti.try_number }}
      printf 'add=%s\n' {{ macros.ds_add(ds, -1) }}
      printf 'format=%s\n' {{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}
      printf 'upper=%s\n' {{ params.table | upper }}
      printf 'lower=%s\n' {{ 'ABC' | lower }}
      printf 'default=%s\n' {{ params.nope | default('fallback') }}
      printf 'replace=%s\n' {{ ds | replace('-', '_') }}
      printf 'tojson=%s\n' {{ params.cols | tojson }}
      printf 'shquote=%s\n' {{ params.table | shquote }}
  - id: argv
    argv: [printf, "%s\n", "{{ params.table | shquote }}", "{{ macros.ds_add(ds, 31) }}"]
  - id: nested
    argv: [sh, -c, "printf 'nested=%s\\n' {{ params.table | shquote }}"]
YAML

run1=$(dagctl test macros --quiet --logical-date 2024-01-01T00:00:00+00:00)
assert_eq "$(run_state macros "$run1")" success "first run"
out=$(dagctl logs macros "$run1" show)
expect() { grep -qxF "$1" <<<"$out" || fail "no line '$1' in the log: $out"; }
expect 'ds=2024-01-01'
expect 'ds_nodash=20240101'
expect 'ts=2024-01-01T00:00:00+00:00'
expect 'ts_nodash=20240101T000000'
expect 'logical_date=2024-01-01T00:00:00+00:00'
# A manual run's interval ends at its logical date, as Airflow infers it.
expect 'start=2023-12-31T00:00:00+00:00'
expect 'end=2024-01-01T00:00:00+00:00'
expect 'prev=[]'
expect "run_id=$run1"
expect 'ids=macros/show/1'
expect 'add=2023-12-31'
expect 'format=01/01/2024'
expect 'upper=IT'"'"'S; $(ID)'
expect 'lower=abc'
expect 'default=fallback'
expect 'replace=2024_01_01'
expect 'tojson=["a", "b"]'
expect 'shquote=it'"'"'s; $(id)'
out=$(dagctl logs macros "$run1" argv)
expect "'it'\\''s; \$(id)'"
expect '2024-02-01'
out=$(dagctl logs macros "$run1" nested)
expect 'nested=it'"'"'s; $(id)'

run2=$(dagctl test macros --quiet --logical-date 2024-01-02T00:00:00+00:00)
assert_eq "$(run_state macros "$run2")" success "second run"
out=$(dagctl logs macros "$run2" show)
expect 'ds=2024-01-02'
expect 'prev=[2023-12-31T00:00:00+00:00]'
expect 'add=2024-01-01'

# Plugin params see the same value, rendered in the plugin's child.
plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $plugins
EOF
write_dag pmacros <<'YAML'
dag_id: pmacros
schedule: "@daily"
start_date: 2024-01-01T00:00:00+00:00
tasks:
  - id: echo
    type: test_echo
    message: "prev={{ prev_data_interval_start_success | default('none', true) }} add={{ macros.ds_add(ds, 1) }}"
YAML
prun1=$(dagctl test pmacros --quiet --logical-date 2024-01-01T00:00:00+00:00)
grep -qF 'message=prev=none add=2024-01-02' <<<"$(dagctl logs pmacros "$prun1" echo)" ||
  fail "plugin params, first run: $(dagctl logs pmacros "$prun1" echo)"
prun2=$(dagctl test pmacros --quiet --logical-date 2024-01-02T00:00:00+00:00)
grep -qF 'message=prev=2023-12-31T00:00:00+00:00 add=2024-01-03' <<<"$(dagctl logs pmacros "$prun2" echo)" ||
  fail "plugin params, second run: $(dagctl logs pmacros "$prun2" echo)"

# An unknown macro or filter is refused at load time, at its line and column.
mkdir -p "$TMP/bad"
cat >"$TMP/bad/bad.yaml" <<'YAML'
dag_id: bad
tasks:
  - id: a
    command: echo {{ macros.ds_ad(ds, 1) }}
  - id: b
    argv: [echo, "{{ ds | uper }}"]
YAML
rc=0
dagctl validate "$TMP/bad/bad.yaml" >"$TMP/v.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "dagctl validate accepted an unknown macro and filter"
grep -qxF "$TMP/bad/bad.yaml:4:14: tasks[0].command: unknown template variable 'macros.ds_ad' (did you mean 'macros.ds_add'?)" "$TMP/v.out" ||
  fail "no located error for the unknown macro: $(cat "$TMP/v.out")"
grep -qxF "$TMP/bad/bad.yaml:6:18: tasks[1].argv[1]: unknown filter 'uper' at offset 0 (did you mean 'upper'?)" "$TMP/v.out" ||
  fail "no located error for the unknown filter: $(cat "$TMP/v.out")"
