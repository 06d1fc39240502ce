#!/usr/bin/env bash
# Dynamic task mapping (expand:), run by the real binary: one task instance
# per item with its own state, tries and log (map_index 0..N-1), over a
# literal list and over a JSON list from an upstream XCom; an instance that
# fails is retried on its own; downstream tasks wait for all of them; an
# empty list skips the task; a list longer than core.max_map_length fails
# it; an item reaches a shell command as one quoted word; misuses are
# located load errors. `dagctl test` and `dagctl trigger` with the
# scheduler.
. "$(dirname "$0")/lib.sh"
export DAGCTL_DAGS=$TMP/dags
mkdir -p "$DAGCTL_DAGS"
OUT=$TMP/out
mkdir -p "$OUT"

write_dag mapped <<YAML
dag_id: mapped
default_args:
  retries: 1
  retry_delay: 0s
tasks:
  - id: list_files
    command: echo '["a.csv", "b c.csv", "\$(touch $OUT/pwned)"]'
    xcom_push: last_line
  - id: process
    upstream: [list_files]
    expand:
      file: "{{ ti.xcom_pull('list_files') }}"
    command: |
      printf '%s\n' {{ file }} > $OUT/process.{{ ti.map_index }}
      echo size={{ ti.map_index }}0 >> "\$DAGCTL_XCOM"
  - id: flaky
    expand:
      n: [10, 20, 30]
    command: |
      if [ {{ n }} = 20 ] && [ ! -e $OUT/flaky.once ]; then touch $OUT/flaky.once; exit 4; fi
      echo {{ n }} >> $OUT/flaky.ran
  - id: nothing
    expand:
      item: []
    command: touch $OUT/nothing
  - id: after_nothing
    upstream: [nothing]
    command: touch $OUT/after_nothing
  - id: total
    upstream: [process, flaky]
    command: echo {{ ti.xcom_pull('process', key='size') }} > $OUT/total
YAML

rc=0
run=$(dagctl test mapped --quiet) || rc=$?
[ "$rc" -eq 0 ] || fail "dagctl test exited $rc"

states() {
  sql "SELECT ti.task_id || ':' || ti.map_index || ':' || ti.state || ':' || ti.try_number
       FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
       WHERE r.dag_id = '$1' AND r.run_id = '$2' ORDER BY ti.task_id, ti.map_index" | tr '\n' ' '
}
assert_eq "$(states mapped "$run")" \
  "after_nothing:-1:skipped:0 flaky:-1:success:0 flaky:0:success:1 flaky:1:success:2 flaky:2:success:1 list_files:-1:success:1 nothing:-1:skipped:0 process:-1:success:0 process:0:success:1 process:1:success:1 process:2:success:1 total:-1:success:1 " \
  "states by map_index"
# Each instance got its own item, as one word; none became shell syntax.
assert_eq "$(cat "$OUT/process.0")" "a.csv" "process[0]'s item"
assert_eq "$(cat "$OUT/process.1")" "b c.csv" "process[1]'s item"
assert_eq "$(cat "$OUT/process.2")" "\$(touch $OUT/pwned)" "process[2]'s item"
[ ! -e "$OUT/pwned" ] || fail "an item ran as a command"
[ ! -e "$OUT/nothing" ] || fail "a task mapped over an empty list ran"
[ ! -e "$OUT/after_nothing" ] || fail "all_success below a skipped mapped task ran"
# The failed instance alone ran again.
assert_eq "$(sort "$OUT/flaky.ran" | tr '\n' ' ')" "10 20 30 " "flaky's runs"
# Downstream of a mapped task reads the list of its instances' values.
assert_eq "$(cat "$OUT/total")" '["00","10","20"]' "total's XCom list"
# Tries and logs per map_index.
assert_eq "$(sql "SELECT t.map_index || ':' || t.try_number || ':' || t.state || ':' || t.log_path FROM task_try t
  JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = '$run' AND t.task_id = 'flaky'
  ORDER BY t.map_index, t.try_number" | tr '\n' ' ')" \
  "0:1:success:mapped/$run/flaky/map_index=0/1.log 1:1:failed:mapped/$run/flaky/map_index=1/1.log 1:2:success:mapped/$run/flaky/map_index=1/2.log 2:1:success:mapped/$run/flaky/map_index=2/1.log " \
  "flaky's tries"
grep -q "exited with status 4" "$DAGCTL_HOME/logs/mapped/$run/flaky/map_index=1/1.log" ||
  fail "flaky[1]'s first log does not say how it ended"
grep -q "mapped.flaky map_index=1 run=" "$DAGCTL_HOME/logs/mapped/$run/flaky/map_index=1/2.log" ||
  fail "flaky[1]'s second log has no header naming its map_index"

# A list longer than core.max_map_length, and one that is not a list: the
# task fails with a message naming it; downstream is upstream_failed.
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  max_map_length: 2
EOF
write_dag limits <<'YAML'
dag_id: limits
tasks:
  - id: three
    expand:
      item: [1, 2, 3]
    command: "true"
  - id: words
    command: echo not a list
    xcom_push: last_line
  - id: over_words
    upstream: [words]
    expand:
      item: "{{ ti.xcom_pull('words') }}"
    command: "true"
  - id: below
    upstream: [three]
    command: "true"
YAML
rc=0
run=$(dagctl test limits --quiet) || rc=$?
[ "$rc" -eq 1 ] || fail "dagctl test limits exited $rc, expected 1"
assert_eq "$(states limits "$run")" \
  "below:-1:upstream_failed:0 over_words:-1:failed:0 three:-1:failed:0 words:-1:success:1 " \
  "states over the limit"
err() {
  sql "SELECT error FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
       WHERE r.run_id = '$1' AND ti.task_id = '$2' AND ti.map_index = -1"
}
assert_eq "$(err "$run" three)" \
  "expand of task three makes more than core.max_map_length (2) instances" "three's error"
assert_eq "$(err "$run" over_words)" \
  "expand.item of task over_words: the template gave 'not a list', which is not a JSON list" \
  "over_words's error"
dagctl tasks limits "$run" >"$TMP/tasks.out" 2>&1 || true
grep -q "core.max_map_length" "$TMP/tasks.out" || fail "dagctl tasks does not show why: $(cat "$TMP/tasks.out")"

# A bad core.max_map_length is refused like any other setting.
cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/good.yaml"
sed -i 's/max_map_length: 2/max_map_length: 0/' "$DAGCTL_HOME/dagctl.yaml"
rc=0
dagctl validate >"$TMP/cfg.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "core.max_map_length: 0 accepted"
grep -q "max_map_length" "$TMP/cfg.out" || fail "no error naming max_map_length: $(cat "$TMP/cfg.out")"
cp "$TMP/good.yaml" "$DAGCTL_HOME/dagctl.yaml"

# The scheduler runs a triggered mapped run the same way.
write_dag trig <<YAML
dag_id: trig
tasks:
  - id: m
    expand:
      x: [a, b]
    command: echo {{ x }} >> $OUT/trig
YAML
start_scheduler trig
dagctl dags unpause trig >/dev/null
run=$(trigger trig)
assert_eq "$(wait_run trig "$run")" success "triggered run"
assert_eq "$(states trig "$run")" "m:-1:success:0 m:0:success:1 m:1:success:1 " "triggered states"
assert_eq "$(sort "$OUT/trig" | tr '\n' ' ')" "a b " "triggered items"
stop_scheduler

# Misuses are located load errors.
mkdir -p "$TMP/bad"
cat >"$TMP/bad/bad.yaml" <<'YAML'
dag_id: bad
tasks:
  - id: a
    command: echo
  - id: b
    expand:
      item: "{{ ti.xcom_pull('a') }}"
    command: echo {{ item }}
  - id: c
    upstream: [a]
    expand:
      item: 3
    command: echo {{ item }}
  - id: d
    upstream: [a]
    branch: true
    expand: {item: [1]}
    command: echo {{ item }}
  - id: e
    upstream: [a]
    command: echo {{ item }}
YAML
rc=0
dagctl validate "$TMP/bad/bad.yaml" >"$TMP/v.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "dagctl validate accepted misused expand"
for want in \
  "$TMP/bad/bad.yaml:7:13: tasks[1].expand.item: expands over an XCom of task 'a', which is not upstream of 'b' (list it in 'upstream')" \
  "$TMP/bad/bad.yaml:12:13: tasks[2].expand.item: expected a list, or a template that renders a JSON list (\"{{ ti.xcom_pull('TASK') }}\"), got '3'" \
  "$TMP/bad/bad.yaml:17:13: tasks[3].expand: a mapped task cannot be a branch" \
  "$TMP/bad/bad.yaml:21:14: tasks[4].command: unknown template variable 'item'"; do
  grep -qxF "$want" "$TMP/v.out" || fail "missing error: $want
got: $(cat "$TMP/v.out")"
done
