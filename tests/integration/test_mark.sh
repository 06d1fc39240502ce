#!/usr/bin/env bash
# `dagctl mark` and `dagctl clear --only-failed`, with exact states: a
# running task marked success is stopped (SIGTERM ignored: SIGKILL after
# the grace period) and its downstream tasks run; --downstream; a whole run
# marked failed (running -> failed, the rest skipped); a failed task of a
# finished run marked success clears its upstream_failed downstream task,
# which runs (Airflow's set_task_instance_state); --future and --past;
# --dry-run changes nothing; the audit log records each mark.
. "$(dirname "$0")/lib.sh"

write_dag mk <<EOF2
dag_id: mk
tasks:
  - id: a
    command: $FAKE_TASK --ignore-term --sleep 60 --record $TMP/mk.rec --label a
  - id: b
    upstream: a
    command: "true"
  - id: c
    upstream: b
    command: "true"
EOF2
write_dag fl <<EOF2
dag_id: fl
tasks:
  - id: x
    command: exit 1
  - id: y
    upstream: x
    command: "true"
EOF2
write_dag fp <<EOF2
dag_id: fp
tasks:
  - id: t
    command: exit 1
EOF2
write_dag of <<EOF2
dag_id: of
tasks:
  - id: a
    command: $FAKE_TASK --record $TMP/of.rec --label a
  - id: b
    command: test ! -e $TMP/of-fail
EOF2

start_scheduler mk fl fp of
ti() { sql "SELECT ti.state FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.dag_id = '$1' AND r.run_id = '$2' AND ti.task_id = '$3'"; }
states() { sql "SELECT group_concat(task_id || '=' || state, ' ') FROM (SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.dag_id = '$1' AND r.run_id = '$2' ORDER BY ti.task_id)"; }

# --- a running task marked success: stopped, downstream runs ----------------------
run=$(trigger mk --run-id r1)
wait_for "[ \"\$(ti mk r1 a)\" = running ] && grep -q '^start' $TMP/mk.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/mk.rec")
dagctl mark mk r1 a --state success >"$TMP/m1.out"
grep -q 'marked 1 task instance success' "$TMP/m1.out" || fail "mark output: $(cat "$TMP/m1.out")"
assert_eq "$(wait_run mk r1 15)" success "run r1 after marking a success"
assert_eq "$(states mk r1)" "a=success b=success c=success" "r1's task instances"
wait_for "! kill -0 $pid" 10
assert_eq "$(sql "SELECT t.state || ' ' || (t.error LIKE 'marked success while it ran%') FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = 'r1' AND t.task_id = 'a'")" \
  "success 1" "the stopped try's record"
grep -q 'signal 9\|SIGKILL\|killed' "$DAGCTL_HOME/logs/mk/r1/a/1.log" ||
  fail "the try that ignored SIGTERM was not killed: $(cat "$DAGCTL_HOME/logs/mk/r1/a/1.log")"

# --- --downstream, failed -------------------------------------------------------------
rm -f "$TMP/mk.rec"
trigger mk --run-id r2 >/dev/null
wait_for "[ \"\$(ti mk r2 a)\" = running ] && grep -q '^start' $TMP/mk.rec" 10
dagctl mark mk r2 a --state failed --downstream --json >"$TMP/m2.json"
assert_eq "$(pyjson '[x["task_id"] + ":" + x["previous_state"] for x in d["task_instances"]]' <"$TMP/m2.json" | paste -sd' ')" \
  "a:running b:none c:none" "marked with --downstream"
assert_eq "$(wait_run mk r2 15)" failed "run r2"
assert_eq "$(states mk r2)" "a=failed b=failed c=failed" "r2's task instances"

# --- a whole run marked failed ------------------------------------------------------------
rm -f "$TMP/mk.rec"
trigger mk --run-id r3 >/dev/null
wait_for "[ \"\$(ti mk r3 a)\" = running ] && grep -q '^start' $TMP/mk.rec" 10
pid=$(awk '$1 == "start" { print $3 }' "$TMP/mk.rec")
dagctl mark mk r3 --state failed >/dev/null
assert_eq "$(run_state mk r3)" failed "run r3 marked failed"
assert_eq "$(states mk r3)" "a=failed b=skipped c=skipped" "r3's task instances"
wait_for "! kill -0 $pid" 10
wait_for "[ \"\$(sql \"SELECT t.end_date IS NOT NULL FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = 'r3' AND t.task_id = 'a'\")\" = 1 ]" 10
assert_eq "$(run_state mk r3)" failed "run r3 stays failed once its task is stopped"
assert_eq "$(states mk r3)" "a=failed b=skipped c=skipped" "r3's task instances, stopped"

# --- a finished run: the failed task marked success clears its downstream ---------------
trigger fl --run-id f1 >/dev/null
assert_eq "$(wait_run fl f1 10)" failed "run f1"
assert_eq "$(states fl f1)" "x=failed y=upstream_failed" "f1 before"
dagctl mark fl f1 x --state success --json >"$TMP/m3.json"
assert_eq "$(pyjson 'd["cleared_downstream"]' <"$TMP/m3.json")" 1 "downstream cleared"
wait_for "[ \"\$(run_state fl f1)\" = success ]" 10
assert_eq "$(states fl f1)" "x=success y=success" "f1 after"

# --- --future and --past, --dry-run -----------------------------------------------------------
for d in 01 02 03; do trigger fp --run-id "p$d" --logical-date "2024-01-${d}T00:00:00Z" >/dev/null; done
for d in 01 02 03; do assert_eq "$(wait_run fp "p$d" 10)" failed "run p$d"; done
assert_eq "$(dagctl mark fp p02 t --state success --future --dry-run --json | pyjson '[x["dag_run_id"] for x in d["task_instances"]]' | paste -sd' ')" \
  "p02 p03" "dry run, --future"
assert_eq "$(sql "SELECT group_concat(ti.state) FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.dag_id = 'fp'")" \
  "failed,failed,failed" "a dry run changes nothing"
dagctl mark fp p02 t --state success --past >/dev/null
assert_eq "$(sql "SELECT group_concat(run_id || '=' || state, ' ') FROM (SELECT r.run_id, ti.state FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.dag_id = 'fp' ORDER BY r.run_id)")" \
  "p01=success p02=success p03=failed" "--past marks p01 and p02"

# --- bad requests ----------------------------------------------------------------------------------
rc=0; dagctl mark fp p01 t --state running 2>/dev/null || rc=$?
assert_eq "$rc" 2 "a state one cannot mark"
rc=0; dagctl mark fp p01 nope --state success 2>/dev/null || rc=$?
assert_eq "$rc" 3 "an unknown task"
rc=0; dagctl mark fp nope --state success 2>/dev/null || rc=$?
assert_eq "$rc" 3 "an unknown run"

# --- clear --only-failed --------------------------------------------------------------------------
touch "$TMP/of-fail"
trigger of --run-id o1 >/dev/null
assert_eq "$(wait_run of o1 10)" failed "run o1"
rm "$TMP/of-fail"
dagctl clear of o1 --only-failed --json >"$TMP/c.json"
assert_eq "$(pyjson '[d["cleared"], d["only_failed"]]' <"$TMP/c.json" | paste -sd' ')" "1 True" "only the failed task cleared"
wait_for "[ \"\$(run_state of o1)\" = success ]" 10
assert_eq "$(sql "SELECT group_concat(task_id || ':' || try_number, ' ') FROM (SELECT ti.task_id, ti.try_number FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.run_id = 'o1' ORDER BY ti.task_id)")" \
  "a:1 b:2" "a kept its one try, b ran again"
assert_eq "$(rec_count "$TMP/of.rec" start a)" 1 "a ran once"

# --- the API, as a `user` ----------------------------------------------------------------------------
B=${SCHED_URL%/}
dagctl users add mu --role user --no-password >/dev/null
TOK=$(dagctl tokens create mu --json | pyjson 'd["token"]')
api() {
  curl -sS -o "$TMP/body" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOK" "${@:3}" "$B$2"
}
trigger fl --run-id f2 >/dev/null
assert_eq "$(wait_run fl f2 10)" failed "run f2"
# dry_run defaults to true, as in Airflow
assert_eq "$(api PATCH /api/v1/dags/fl/dagRuns/f2/taskInstances/x -d '{"new_state": "success"}')" 200 "PATCH dry run"
assert_eq "$(ti fl f2 x)" failed "a dry run changes nothing"
assert_eq "$(api PATCH /api/v1/dags/fl/dagRuns/f2/taskInstances/x -d '{"new_state": "running", "dry_run": false}')" 400 "a bad new_state"
assert_eq "$(api PATCH /api/v1/dags/fl/dagRuns/f2/taskInstances/nope -d '{"new_state": "success", "dry_run": false}')" 404 "an unknown task"
assert_eq "$(api PATCH /api/v1/dags/fl/dagRuns/f2/taskInstances/x -d '{"new_state": "success", "dry_run": false}')" 200 "PATCH"
assert_eq "$(pyjson '[d[k] for k in ("dag_id", "dag_run_id", "task_id")]' <"$TMP/body" | paste -sd' ')" "fl f2 x" "TaskInstanceReference"
wait_for "[ \"\$(run_state fl f2)\" = success ]" 10
assert_eq "$(states fl f2)" "x=success y=success" "f2 after PATCH"
rm -f "$TMP/mk.rec"
trigger mk --run-id r4 >/dev/null
wait_for "[ \"\$(ti mk r4 a)\" = running ] && grep -q '^start' $TMP/mk.rec" 10
assert_eq "$(api POST /api/v1/dags/mk/updateTaskInstancesState -d '{"dag_run_id": "r4", "task_id": "b", "new_state": "skipped", "include_downstream": true, "dry_run": false}')" 200 "updateTaskInstancesState"
assert_eq "$(pyjson '[x["task_id"] for x in d["task_instances"]]' <"$TMP/body" | paste -sd' ')" "b c" "marked with include_downstream"
assert_eq "$(api PATCH /api/v1/dags/mk/dagRuns/r4 -d '{"state": "success"}')" 200 "PATCH dagRun"
assert_eq "$(pyjson 'd["state"]' <"$TMP/body")" success "the run as answered"
assert_eq "$(states mk r4)" "a=success b=skipped c=skipped" "r4's task instances"
pid=$(awk '$1 == "start" { print $3 }' "$TMP/mk.rec")
wait_for "! kill -0 $pid" 10
assert_eq "$(api PATCH /api/v1/dags/mk/dagRuns/r4 -d '{"state": "running"}')" 400 "a run is not marked running"

# --- the audit log -----------------------------------------------------------------------------------
assert_eq "$(dagctl audit --json | pyjson '[e["event"] for e in d if e["event"].startswith("mark.") and e["outcome"] == "success"]' | paste -sd' ')" \
  "mark.success mark.failed mark.failed mark.success mark.success mark.success mark.skipped mark.success" "marks in the audit log"
log "ok"
