#!/usr/bin/env bash
# The dagctl command line: version, --help of every verb, exit codes, the
# JSON listings and their Airflow field names, logs --try, clear (with and
# without --downstream), pause/unpause against a running scheduler,
# validate, a broken DAG file beside good ones, and DAG files edited while
# the scheduler runs.
. "$(dirname "$0")/lib.sh"

# expect_rc CODE CMD...: run CMD (output to $TMP/out, $TMP/err), check its status.
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(head -c 400 "$TMP/err")"
}

# --- version, help, usage errors --------------------------------------------------
expect_rc 0 dagctl version
grep -Eqx 'dagctl [0-9]+\.[0-9]+\.[0-9]+' "$TMP/out" || fail "version output: $(cat "$TMP/out")"
expect_rc 0 dagctl --version
expect_rc 0 dagctl --help
verbs=$(awk '/^verbs:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }' "$TMP/out")
[ "$(echo "$verbs" | wc -l)" -ge 10 ] || fail "verbs listed by --help: $verbs"
for v in $verbs; do
  expect_rc 0 dagctl "$v" --help
  [ "$v" = version ] || grep -q "usage: dagctl $v" "$TMP/out" || fail "$v --help: $(cat "$TMP/out")"
done
expect_rc 2 dagctl no-such-verb
grep -q "unknown verb 'no-such-verb'" "$TMP/err" || fail "unknown verb message"
expect_rc 2 dagctl
expect_rc 2 dagctl runs one_dag two_dags
expect_rc 2 dagctl tasks only_dag
expect_rc 2 dagctl logs d r t --try zero
expect_rc 2 dagctl trigger a b
# A date that does not exist is refused with the reason, by trigger and test.
for verb in trigger test; do
  expect_rc 2 dagctl "$verb" a --logical-date 2026-02-30
  grep -q "'2026-02-30' is not an ISO-8601 date or time: day 30 does not exist: February 2026 has 28 days" \
    "$TMP/err" || fail "$verb --logical-date 2026-02-30: $(cat "$TMP/err")"
done
expect_rc 2 dagctl dags frobnicate
expect_rc 2 dagctl runs x --no-such-option

# --- DAGs: good ones, and a broken file beside them ---------------------------------
write_dag fixme <<EOF
dag_id: fixme
tasks:
  - {id: a, command: $FAKE_TASK --echo a-ran}
  - {id: b, command: 'test -f $TMP/flag && echo b-fixed', upstream: a}
  - {id: c, command: echo c-ran, upstream: b}
EOF
write_dag pausable <<EOF
dag_id: pausable
tasks:
  - {id: p1, command: $FAKE_TASK --record $TMP/pause.rec --sleep 0.5}
  - {id: p2, command: $FAKE_TASK --record $TMP/pause.rec, upstream: p1}
EOF
write_dag ping <<EOF
dag_id: ping
tasks:
  - {id: ping, command: echo pong}
EOF
write_dag editable <<EOF
dag_id: editable
tasks:
  - {id: old_task, command: echo old}
EOF
printf 'dag_id: broken\ntasks:\n  - id: a\n    command: echo a\n   upstream: b\n' >"$DAGCTL_DAGS/broken.yaml"

# validate: FILE:LINE:COL for the broken file, exit 1; the example is clean.
expect_rc 1 dagctl validate "$DAGCTL_DAGS/broken.yaml"
grep -Eq "^$DAGCTL_DAGS/broken.yaml:[0-9]+:[0-9]+: " "$TMP/out" ||
  fail "validate output lacks FILE:LINE:COL: $(cat "$TMP/out")"
expect_rc 0 dagctl validate "$DAGCTL_SOURCE_DIR/dags/example_etl.yaml"
grep -q 'example_etl.yaml: ok' "$TMP/out" || fail "validate example: $(cat "$TMP/out")"
expect_rc 1 dagctl validate # the DAG folder, broken file included
grep -q 'fixme.yaml: ok' "$TMP/out" || fail "validate folder: $(cat "$TMP/out")"

start_scheduler fixme pausable ping editable
expect_rc 1 dagctl dags list
grep -q 'import errors:' "$TMP/out" || fail "dags list shows no import errors"
grep -Eq "broken.yaml:[0-9]+:[0-9]+: " "$TMP/out" || fail "dags list import error: $(cat "$TMP/out")"
expect_rc 0 dagctl dags list --json
for f in dag_id is_paused is_active fileloc schedule_interval next_dagrun max_active_runs \
  max_active_tasks has_import_errors; do
  pyjson "all('$f' in x for x in d) and len(d) == 4" <"$TMP/out" | grep -qx True ||
    fail "dags list --json: field $f ($(cat "$TMP/out"))"
done
assert_eq "$(pyjson 'sorted(x["dag_id"] for x in d)' <"$TMP/out" | tr '\n' ' ')" \
  "editable fixme pausable ping " "DAGs listed"

# --- runs, tasks, logs ----------------------------------------------------------------
run=$(trigger fixme)
assert_eq "$(wait_run fixme "$run" 10)" failed "fixme run (b fails until the flag exists)"
expect_rc 0 dagctl runs fixme --json
for f in dag_id dag_run_id logical_date state start_date end_date run_type conf; do
  pyjson "type(d) is list and len(d) == 1 and '$f' in d[0]" <"$TMP/out" | grep -qx True ||
    fail "runs --json: field $f ($(cat "$TMP/out"))"
done
assert_eq "$(pyjson 'd[0]["dag_run_id"]' <"$TMP/out")" "$run" "runs --json dag_run_id"
expect_rc 0 dagctl tasks fixme "$run" --json
for f in dag_id dag_run_id task_id state try_number max_tries start_date end_date duration; do
  pyjson "type(d) is list and len(d) == 3 and all('$f' in x for x in d)" <"$TMP/out" |
    grep -qx True || fail "tasks --json: field $f ($(cat "$TMP/out"))"
done
assert_eq "$(pyjson '" ".join(x["task_id"] + "=" + x["state"] for x in d)' <"$TMP/out")" \
  "a=success b=failed c=upstream_failed" "states before the fix"
pyjson '[x["duration"] for x in d if x["task_id"] == "a"][0]' <"$TMP/out" |
  awk '{ exit !($1 >= 0 && $1 < 5) }' || fail "duration of a"
expect_rc 0 dagctl runs fixme
grep -q "$run" "$TMP/out" || fail "runs text output lacks the run"
expect_rc 3 dagctl tasks fixme no-such-run
expect_rc 3 dagctl logs fixme "$run" b --try 2
expect_rc 3 dagctl logs fixme "$run" c

# --- run ids: what trigger accepts, logs finds; nothing climbs out of the logs folder ----------
# `..` inside a run id is only two dots in a file name: "v1..2" is valid.
drun=$(trigger ping --run-id v1..2)
assert_eq "$drun" v1..2 "run id with two dots"
assert_eq "$(wait_run ping v1..2 10)" success "run v1..2"
expect_rc 0 dagctl logs ping v1..2 ping
grep -q pong "$TMP/out" || fail "log of run v1..2: $(cat "$TMP/out") $(cat "$TMP/err")"
[ -f "$DAGCTL_HOME/logs/ping/v1..2/ping/1.log" ] || fail "log file of run v1..2"
for bad in . .. ../x x/y .hidden ''; do
  expect_rc 2 dagctl trigger ping --run-id "$bad"
  grep -q "invalid run id" "$TMP/err" || fail "trigger --run-id '$bad': $(cat "$TMP/err")"
done
for bad in . .. ../ping; do
  expect_rc 2 dagctl logs ping "$bad" ping
  grep -q "invalid run id" "$TMP/err" || fail "logs with run id '$bad': $(cat "$TMP/err")"
  expect_rc 2 dagctl logs "$bad" v1..2 ping
  grep -q "invalid DAG id" "$TMP/err" || fail "logs with DAG id '$bad': $(cat "$TMP/err")"
  expect_rc 2 dagctl logs ping v1..2 "$bad"
  grep -q "invalid task id" "$TMP/err" || fail "logs with task id '$bad': $(cat "$TMP/err")"
done
# A store row that points out of the folder is refused, not followed.
sql "UPDATE task_try SET log_path = 'ping/../../dagctl.db'
     WHERE run_pk = (SELECT id FROM dag_run WHERE run_id = 'v1..2')" >/dev/null
expect_rc 1 dagctl logs ping v1..2 ping
grep -q "outside the logs folder" "$TMP/err" || fail "stored path with '..': $(cat "$TMP/err")"

# --- clear: fix b, clear it alone, then with its downstream ---------------------------------
touch "$TMP/flag"
expect_rc 0 dagctl clear fixme "$run" b
grep -q 'cleared 1 task' "$TMP/out" || fail "clear output: $(cat "$TMP/out")"
wait_for "[ \"\$(task_state fixme '$run' b)\" = success ]" 10
assert_eq "$(wait_run fixme "$run" 10)" failed "run after clearing b alone (leaf c still upstream_failed)"
assert_eq "$(task_state fixme "$run" c)" upstream_failed "c after clearing b alone"
expect_rc 0 dagctl logs fixme "$run" b --try 1
grep -q b-fixed "$TMP/out" && fail "try 1 of b has try 2's output"
expect_rc 0 dagctl logs fixme "$run" b --try 2
grep -q b-fixed "$TMP/out" || fail "log of try 2: $(cat "$TMP/out")"
expect_rc 0 dagctl logs fixme "$run" b
grep -q b-fixed "$TMP/out" || fail "latest log of b"

expect_rc 0 dagctl clear fixme "$run" b --downstream
grep -q 'cleared 2 tasks' "$TMP/out" || fail "clear --downstream output: $(cat "$TMP/out")"
wait_for "[ \"\$(task_state fixme '$run' c)\" = success ]" 10
assert_eq "$(wait_run fixme "$run" 10)" success "run after clear --downstream"
expect_rc 0 dagctl tasks fixme "$run" --json
assert_eq "$(pyjson '" ".join("%s=%s/%d" % (x["task_id"], x["state"], x["try_number"]) for x in d)' \
  <"$TMP/out")" "a=success/1 b=success/3 c=success/1" "states and tries after the clears"
expect_rc 0 dagctl logs fixme "$run" c
grep -q c-ran "$TMP/out" || fail "c's log"
expect_rc 3 dagctl clear fixme "$run" no_such_task
expect_rc 3 dagctl clear fixme no_such_run

# --- pause and unpause with the scheduler running --------------------------------------
prun=$(trigger pausable)
wait_for "[ \"\$(rec_count $TMP/pause.rec start p1)\" = 1 ]" 5
expect_rc 0 dagctl dags pause pausable
expect_rc 0 dagctl dags list --json
assert_eq "$(pyjson '[x["is_paused"] for x in d if x["dag_id"] == "pausable"][0]' <"$TMP/out")" \
  True "is_paused"
# The running task finishes; nothing new starts, and a new run waits.
wait_for "[ \"\$(task_state pausable '$prun' p1)\" = success ]" 5
prun2=$(trigger pausable 2>"$TMP/err")
grep -q 'is paused' "$TMP/err" || fail "trigger of a paused DAG gives no note"
# A barrier: once the scheduler has run a later trigger of another DAG, it
# has long decided about p2.
brun=$(trigger ping)
assert_eq "$(wait_run ping "$brun" 5)" success "ping run"
assert_eq "$(rec_count "$TMP/pause.rec" start p2)" 0 "p2 starts while paused"
assert_eq "$(task_state pausable "$prun" p2)" scheduled "p2 state while paused"
assert_eq "$(run_state pausable "$prun2")" queued "new run while paused"
expect_rc 0 dagctl dags unpause pausable
assert_eq "$(wait_run pausable "$prun" 5)" success "run after unpause"
assert_eq "$(wait_run pausable "$prun2" 5)" success "queued run after unpause"
expect_rc 3 dagctl dags pause no_such_dag

# --- editing DAG files while the scheduler runs ----------------------------------------------
t0=$(now_us)
write_dag editable <<EOF
dag_id: editable
tasks:
  - {id: old_task, command: echo old}
  - {id: new_task, command: echo new, upstream: old_task}
EOF
wait_for "sql \"SELECT graph FROM dag WHERE dag_id = 'editable'\" | grep -q new_task" 2
log "DAG file edit picked up after $(us_to_s "$t0" "$(now_us)")s"
erun=$(trigger editable)
assert_eq "$(wait_run editable "$erun" 5)" success "run of the edited DAG"
assert_eq "$(task_state editable "$erun" new_task)" success "new task in the next run"
# Repairing the broken file clears its import error.
write_dag broken <<EOF
dag_id: broken
tasks:
  - {id: a, command: echo a}
EOF
wait_for "dagctl dags list" 2
expect_rc 0 dagctl dags list --json
assert_eq "$(pyjson 'len(d)' <"$TMP/out")" 5 "DAGs after the repair"
