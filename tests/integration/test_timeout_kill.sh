#!/usr/bin/env bash
# execution_timeout: SIGTERM to the task's whole process group, SIGKILL after
# core.task_kill_grace for what ignores it, a grandchild included; the try
# fails with "timed out". Also: a task's flood of output lands in its log.
. "$(dirname "$0")/lib.sh"

# The grace period comes from the environment here (the file says 1s too):
# DAGCTL__SECTION__KEY overrides the file.
export DAGCTL__CORE__TASK_KILL_GRACE=1s

write_dag timeouts <<EOF2
dag_id: timeouts
default_args:
  execution_timeout: 1s
tasks:
  - id: stubborn
    command: $FAKE_TASK --ignore-term --sleep 60 --record $TMP/t.rec --grandchild $TMP/stubborn.grandchild
  - id: polite
    command: $FAKE_TASK --sleep 60 --record $TMP/t.rec
  - id: after
    upstream: [stubborn]
    trigger_rule: all_done
    command: $FAKE_TASK --record $TMP/t.rec
EOF2
write_dag flood <<EOF2
dag_id: flood
tasks:
  - id: noisy
    command: $FAKE_TASK --lines 200000
EOF2

start_scheduler timeouts flood
t0=$(now_us)
run=$(trigger timeouts)
state=$(wait_run timeouts "$run" 10)
t1=$(now_us)
assert_eq "$state" failed "run state"
total=$(us_to_s "$t0" "$t1")
log "trigger -> run finished: ${total}s"
awk -v t="$total" 'BEGIN { exit !(t < 10) }' || fail "took ${total}s (limit 10s)"

# The stubborn task outlived SIGTERM by the grace period, then died.
read -r start end error < <(sql "SELECT t.start_date, t.end_date, t.error FROM task_try t
  JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = '$run' AND t.task_id = 'stubborn'" | tr '|' ' ')
took=$(us_to_s "$start" "$end")
log "stubborn task: timeout 1s + grace 1s, ended after ${took}s"
awk -v t="$took" 'BEGIN { exit !(t >= 1.9 && t < 4) }' ||
  fail "stubborn task ended after ${took}s, expected timeout + grace (2s)"
case $error in *"timed out"*) ;; *) fail "stubborn error: '$error'" ;; esac
assert_eq "$(task_state timeouts "$run" stubborn)" failed "stubborn state"

# Nothing of it survives: the task, its grandchild, its whole group.
pid=$(awk '$1 == "start" && $5 == "stubborn" { print $3 }' "$TMP/t.rec")
pgid=$(awk '$1 == "start" && $5 == "stubborn" { print $4 }' "$TMP/t.rec")
gpid=$(cat "$TMP/stubborn.grandchild")
[ -n "$pid" ] && [ -n "$gpid" ] || fail "stubborn task left no record"
wait_for "! proc_alive $gpid" 2
proc_alive "$pid" && fail "the task process $pid survived"
group_alive "$pgid" && fail "process group $pgid survived"
assert_eq "$(rec_count "$TMP/t.rec" end stubborn)" 0 "stubborn ran to its end"

# The polite task stopped at SIGTERM, well before the grace period ended.
read -r start end error < <(sql "SELECT t.start_date, t.end_date, t.error FROM task_try t
  JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = '$run' AND t.task_id = 'polite'" | tr '|' ' ')
took=$(us_to_s "$start" "$end")
log "polite task: ended ${took}s after its start"
awk -v t="$took" 'BEGIN { exit !(t >= 0.9 && t < 1.8) }' || fail "polite task took ${took}s"
assert_eq "$(rec_count "$TMP/t.rec" term polite)" 1 "polite task saw SIGTERM"
case $error in *"timed out"*) ;; *) fail "polite error: '$error'" ;; esac
dagctl tasks timeouts "$run" --json >"$TMP/tasks.json"
assert_eq "$(pyjson '[x["exit_code"] for x in d if x["task_id"] == "polite"][0]' <"$TMP/tasks.json")" \
  null "exit code of a task killed by a signal"
# all_done ran after the timed-out task.
assert_eq "$(task_state timeouts "$run" after)" success "cleanup after a timeout"

# --- output flood: every line reaches the log, in order ------------------------
frun=$(trigger flood)
assert_eq "$(wait_run flood "$frun" 20)" success "flood run"
dagctl logs flood "$frun" noisy >"$TMP/noisy.log"
assert_eq "$(grep -c '^line [0-9]* of 200000:' "$TMP/noisy.log")" 200000 "lines in the log"
grep -q '^line 200000 of 200000:' "$TMP/noisy.log" || fail "the last line is missing"
