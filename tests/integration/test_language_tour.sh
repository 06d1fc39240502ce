#!/usr/bin/env bash
# test_language_tour.sh - dags/language_tour.yaml and its child run green
# under a real scheduler on the embedded defaults (its http task calls the
# scheduler's own health endpoint), with each construct's exact states and
# XCom values: the branch taken and the one skipped, the skip by exit code,
# the short-circuit let through, the email queued in the outbox, the child
# run triggered and waited for, external_task in the child, and the task
# group's tasks after its upstream, with the group's retries, and the
# mapped task's instances, one per item of an upstream's XCom list.
. "$(dirname "$0")/lib.sh"
: "${DAGCTL_SOURCE_DIR:?}"
for p in http sql email dagrun; do
  [ -e "$DAGCTL_BUILD_DIR/plugins/$p.so" ] || fail "$p.so is not built"
done
cp "$DAGCTL_SOURCE_DIR/dags/language_tour.yaml" "$DAGCTL_SOURCE_DIR/dags/language_tour_child.yaml" \
  "$DAGCTL_DAGS/"
for f in language_tour language_tour_child; do
  dagctl validate "$DAGCTL_DAGS/$f.yaml" >/dev/null || fail "$f.yaml does not validate"
done
start_scheduler language_tour language_tour_child
[ -n "$SCHED_URL" ] || fail "no status page"
run=$(trigger language_tour --conf "{\"health_url\": \"${SCHED_URL%/}/api/v1/health\"}")
assert_eq "$(wait_run language_tour "$run" 120)" success "language_tour run"
states=$(dagctl tasks language_tour "$run" --json | pyjson '" ".join(x["task_id"] + ("[%d]" % x["map_index"] if x["map_index"] >= 0 else "") + "=" + x["state"] for x in d)')
assert_eq "$states" "check_health=success count_rows=success choose=success small_load=success big_load=skipped record=success nothing_to_archive=skipped archive=skipped should_notify=success notify=success run_child=success list_regions=success check_region=success check_region[0]=success check_region[1]=success check_region[2]=success publish.summary=success publish.copy=success" "task states"
xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.run_id = '$1' AND x.task_id = '$2' AND x.key = '$3'"
}
ds=${run#manual__}
ds=${ds:0:10}
yesterday=$(date -u -d "$ds - 1 day" +%F)
assert_eq "$(xcom "$run" check_health db)" '"healthy"' "health XCom"
assert_eq "$(xcom "$run" check_health status)" 200 "health status"
assert_eq "$(xcom "$run" count_rows return_value)" '"3"' "count"
assert_eq "$(xcom "$run" choose return_value)" '"small_load"' "branch"
assert_eq "$(xcom "$run" record first_row)" "{\"day\":\"$yesterday\",\"rows_loaded\":\"3\"}" "record"
child=$(xcom "$run" run_child trigger_run_id | pyjson d)
assert_eq "$(run_state language_tour_child "$child")" success "child run"
assert_eq "$(dagctl tasks language_tour_child "$child" --json | pyjson '" ".join(x["task_id"] + "=" + x["state"] for x in d)')" \
  "parent_counted=success report=success" "child states"
grep -qxF "3 rows from language_tour on $ds" "$DAGCTL_HOME/logs/language_tour_child/$child/report/1.log" ||
  fail "child report: $(cat "$DAGCTL_HOME/logs/language_tour_child/$child/report/1.log")"
assert_eq "$(sql "SELECT kind || ' ' || state || ' ' || subject FROM alert")" \
  "email queued language_tour $ds: 3 rows" "the mail in the outbox"
grep -qxF "3 rows on $ds" "$DAGCTL_HOME/logs/language_tour/$run/publish.summary/1.log" ||
  fail "publish.summary: $(cat "$DAGCTL_HOME/logs/language_tour/$run/publish.summary/1.log")"
assert_eq "$(dagctl tasks language_tour "$run" --json | pyjson '" ".join("%s=%s" % (x["task_id"], x["max_tries"]) for x in d if x["task_id"] in ("count_rows", "publish.summary", "publish.copy"))')" \
  "count_rows=0 publish.summary=1 publish.copy=1" "the group's retries (Airflow's max_tries)"
# The mapped task: one instance per region of list_regions' list.
for i in 0 1 2; do
  region=$(echo eu us apac | cut -d' ' -f$((i + 1)))
  grep -qxF "region $region $i on $ds" "$DAGCTL_HOME/logs/language_tour/$run/check_region/map_index=$i/1.log" ||
    fail "check_region[$i]: $(cat "$DAGCTL_HOME/logs/language_tour/$run/check_region/map_index=$i/1.log")"
done
assert_eq "$(curl -sS -f "${SCHED_URL%/}/api/v1/dags/language_tour/grid" | pyjson '" ".join("%s=%s" % (g["group_id"], g["states"][-1]) for g in d["groups"])')" \
  "publish=success" "the group's state in the grid"
