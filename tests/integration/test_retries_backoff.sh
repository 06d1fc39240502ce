#!/usr/bin/env bash
# Retries: every try recorded, the spacing between tries follows
# retry_delay, doubled per try (plus Airflow's jitter) with
# retry_exponential_backoff, and the task fails once retries run out.
. "$(dirname "$0")/lib.sh"

write_dag backoff <<EOF2
dag_id: backoff
tasks:
  - id: flaky
    command: $FAKE_TASK --exit 1 --echo "try "{{ try_number }}
    retries: 3
    retry_delay: 1s
    retry_exponential_backoff: true
EOF2
write_dag plain <<EOF2
dag_id: plain
default_args:
  retries: 2
  retry_delay: 1s
tasks:
  - id: flaky
    command: $FAKE_TASK --exit 1
EOF2

start_scheduler backoff plain
brun=$(trigger backoff)
prun=$(trigger plain)
# Between tries the task instance waits in up_for_retry.
wait_for "[ \"\$(task_state backoff '$brun' flaky)\" = up_for_retry ]" 5
assert_eq "$(wait_run plain "$prun" 15)" failed "plain run"
assert_eq "$(wait_run backoff "$brun" 20)" failed "backoff run"

# gaps RUN_ID: "try gap_seconds" for each try after the first.
gaps() {
  sql "SELECT b.try_number, (b.start_date - a.end_date) / 1e6
       FROM task_try a JOIN task_try b ON b.run_pk = a.run_pk AND b.task_id = a.task_id
            AND b.try_number = a.try_number + 1
       JOIN dag_run r ON r.id = a.run_pk
       WHERE r.run_id = '$1' ORDER BY b.try_number" | tr '|' ' '
}
# in_range VALUE LOW HIGH: LOW <= VALUE < HIGH.
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v < hi) }'; }

# With backoff: retry n waits ceil(1s * 2^(n-1)) plus a jitter below that,
# so 1 s, then [2, 4) s, then [4, 8) s; 0.5 s of slack above for the loop.
bounds=(x x "1 1.5" "2 4.5" "4 8.5")
n=0
while read -r try gap; do
  n=$((n + 1))
  log "backoff: gap before try $try: ${gap}s"
  in_range "$gap" ${bounds[$try]} || fail "backoff gap before try $try is ${gap}s, expected in [${bounds[$try]/ /, })"
done < <(gaps "$brun")
assert_eq "$n" 3 "backoff gaps measured"
assert_eq "$(sql "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$brun'")" 4 "tries recorded with retries: 3"
# A try's own record says how that try ended: each one failed.
assert_eq "$(sql "SELECT group_concat(t.state || ':' || t.error, ',') FROM (SELECT t.state, t.error
                  FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = '$brun'
                  ORDER BY t.try_number) t")" \
  "$(printf 'failed:exited with status 1,%.0s' 1 2 3)failed:exited with status 1" "try records"

dagctl tasks backoff "$brun" --json >"$TMP/tasks.json"
assert_eq "$(pyjson 'd[0]["state"]' <"$TMP/tasks.json")" failed "task state"
assert_eq "$(pyjson 'd[0]["try_number"]' <"$TMP/tasks.json")" 4 "try_number"
assert_eq "$(pyjson 'd[0]["max_tries"]' <"$TMP/tasks.json")" 3 "max_tries"
assert_eq "$(pyjson 'd[0]["exit_code"]' <"$TMP/tasks.json")" 1 "exit_code"
# Each try has its own log.
for t in 1 2 3 4; do
  dagctl logs backoff "$brun" flaky --try "$t" | grep -qx "try $t" || fail "log of try $t"
done

# Without backoff every gap is retry_delay.
n=0
while read -r try gap; do
  n=$((n + 1))
  log "plain: gap before try $try: ${gap}s"
  in_range "$gap" 1 1.5 || fail "plain gap before try $try is ${gap}s, expected in [1, 1.5)"
done < <(gaps "$prun")
assert_eq "$n" 2 "plain gaps measured"
assert_eq "$(task_state plain "$prun" flaky)" failed "plain task state"
