#!/usr/bin/env bash
# Limits on running tasks: core.parallelism across all DAGs, a DAG's
# max_active_tasks; and concurrent `dagctl trigger` processes.
. "$(dirname "$0")/lib.sh"

printf '  parallelism: 2\n' >>"$DAGCTL_HOME/dagctl.yaml"

{
  printf 'dag_id: fanout\ntasks:\n'
  for i in 1 2 3 4 5 6 7 8; do
    printf '  - {id: f%d, command: %s --record %s --sleep 0.3}\n' "$i" "$FAKE_TASK" "$TMP/all.rec"
  done
} | write_dag fanout
{
  printf 'dag_id: serial\nmax_active_tasks: 1\ntasks:\n'
  for i in 1 2 3 4; do
    printf '  - {id: s%d, command: %s --record %s --sleep 0.2}\n' "$i" "$FAKE_TASK" "$TMP/serial.rec"
  done
} | write_dag serial
write_dag quick <<EOF
dag_id: quick
tasks:
  - {id: only, command: $FAKE_TASK --record $TMP/quick.rec}
EOF

# max_overlap FILE...: the most executions running at one instant.
max_overlap() {
  cat "$@" | "$PYTHON" -c '
import sys
ev = []
for line in sys.stdin:
    f = line.split()
    ev.append((int(f[1]), 1 if f[0] == "start" else -1))
# At equal times an end comes before a start: touching is not overlapping.
ev.sort()
n = best = 0
for _, d in ev:
    n += d
    best = max(best, n)
print(best)'
}

start_scheduler fanout serial quick
t0=$(now_us)
frun=$(trigger fanout)
srun=$(trigger serial)
assert_eq "$(wait_run fanout "$frun" 20)" success "fanout run"
assert_eq "$(wait_run serial "$srun" 20)" success "serial run"
took=$(us_to_s "$t0" "$(now_us)")
assert_eq "$(awk '$1 == "start"' "$TMP/all.rec" | wc -l)" 8 "fanout executions"
assert_eq "$(awk '$1 == "start"' "$TMP/serial.rec" | wc -l)" 4 "serial executions"
all=$(max_overlap "$TMP/all.rec" "$TMP/serial.rec")
serial=$(max_overlap "$TMP/serial.rec")
fan=$(max_overlap "$TMP/all.rec")
log "parallelism 2: at most $all tasks at once overall (fanout $fan, serial $serial); ${took}s"
assert_eq "$all" 2 "most tasks running at once with core.parallelism 2"
assert_eq "$serial" 1 "most tasks of a max_active_tasks 1 DAG at once"
# The store agrees: no instant where three tries were running.
assert_eq "$(sql "SELECT count(*) FROM task_try a, task_try b, task_try c
                  WHERE (a.run_pk, a.task_id) < (b.run_pk, b.task_id)
                    AND (b.run_pk, b.task_id) < (c.run_pk, c.task_id)
                    AND max(a.start_date, b.start_date, c.start_date)
                        < min(a.end_date, b.end_date, c.end_date)")" 0 \
  "triples of overlapping tries in the store"

# --- five triggers at once -------------------------------------------------------
for i in 1 2 3 4 5; do
  (
    rc=0
    trigger quick >"$TMP/trig.$i.out" 2>"$TMP/trig.$i.err" || rc=$?
    echo "$rc" >"$TMP/trig.$i.rc"
  ) &
done
wait
ids=()
for i in 1 2 3 4 5; do
  assert_eq "$(cat "$TMP/trig.$i.rc")" 0 "trigger $i exit status ($(cat "$TMP/trig.$i.err"))"
  ids+=("$(cat "$TMP/trig.$i.out")")
done
assert_eq "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" 5 "distinct run ids"
for id in "${ids[@]}"; do
  assert_eq "$(wait_run quick "$id" 15)" success "concurrent run $id"
done
assert_eq "$(awk '$1 == "end"' "$TMP/quick.rec" | wc -l)" 5 "quick executions"
