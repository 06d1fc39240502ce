#!/usr/bin/env bash
# Scale-out on PostgreSQL, as on several machines: two schedulers and three
# workers, each in a network namespace of its own (a veth pair to this
# host, addresses of the test's own), each with its own home, on one
# PostgreSQL server this test starts, listening on those links only.
#  - A 500-task DAG, twice: every task runs exactly once, only on workers,
#    never twice at once (each appends to a trace under flock and records
#    any overlap); kill -9 of the scheduler driving a run: the other one
#    takes it over and finishes every run; a DAG scheduled every second
#    gets each interval's run once, from either scheduler.
#  - kill -9 of a worker mid-task: the try runs again on another worker
#    within 15 s, and the killed worker's task is stopped with it.
#  - A worker cut off (its link down) while it runs a try: the try runs
#    again elsewhere; when the link is back, the worker's late result is
#    refused and logged, and the task keeps the second try's result.
#  - PostgreSQL restarted mid-run: schedulers and workers come back and
#    the run finishes, each task once.
#  - Callbacks run once, by the scheduler that records the change: the
#    wide runs' on_success (one of them finished by the other scheduler
#    after the kill) and every tick run's, never twice.
#  - A try's log is read where its worker ran it: `dagctl logs` here and a
#    scheduler's status page on another host get it from that worker's log
#    server; a request with a wrong token, or a path with "..", is refused,
#    and the shared secret appears in no log and no answer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
need flock

need ip
start_pg
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
# The CLI of this test reaches the server by its socket; the hosts below by
# their links.
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"

# --- the hosts: one namespace each, a veth pair to this host ----------------------------
NET=10.$((RANDOM % 200 + 20))
PORT=$((20000 + RANDOM % 20000))
HOSTS=(s1 s2 w1 w2 w3 w4)
declare -A NS LINK ADDR INNER
net_down() {
  local h
  for h in "${HOSTS[@]}"; do
    [ -n "${LINK[$h]:-}" ] && ip link del "${LINK[$h]}" 2>/dev/null
    [ -n "${NS[$h]:-}" ] && ip netns del "${NS[$h]}" 2>/dev/null
  done
  return 0
}
trap 'rc=$?; set +e; stop_pg; net_down; (exit $rc); cleanup' EXIT
listen=
k=0
for h in "${HOSTS[@]}"; do
  k=$((k + 1))
  NS[$h]=dg$$-$h
  LINK[$h]=dh$$$k
  ADDR[$h]=$NET.$k.1
  INNER[$h]=$NET.$k.2
  ip netns add "${NS[$h]}"
  ip link add "${LINK[$h]}" type veth peer name "dn$$$k"
  ip link set "dn$$$k" netns "${NS[$h]}"
  ip addr add "$NET.$k.1/30" dev "${LINK[$h]}"
  ip link set "${LINK[$h]}" up
  ip netns exec "${NS[$h]}" ip addr add "$NET.$k.2/30" dev "dn$$$k"
  ip netns exec "${NS[$h]}" ip link set "dn$$$k" up
  ip netns exec "${NS[$h]}" ip link set lo up
  # The hosts reach each other through this one (a scheduler's web server
  # reads a worker's log server): forwarding on the test's links only.
  ip netns exec "${NS[$h]}" ip route add "$NET.0.0/16" via "$NET.$k.1"
  sysctl -qw "net.ipv4.conf.${LINK[$h]}.forwarding=1"
  listen=$listen${listen:+,}$NET.$k.1
done
_as_pg sh -c "printf 'host all all $NET.0.0/16 trust\n' >>'$PG_DIR/data/pg_hba.conf'"
_as_pg "${PG_BIN}pg_ctl" -D "$PG_DIR/data" -m fast -w restart \
  -o "-k $PG_DIR -c listen_addresses=$listen -c port=$PORT -c fsync=off" >/dev/null ||
  fail "pg_ctl restart on the hosts' links"
export PGPORT=$PORT
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&port=$PORT&user=postgres"
export DAGCTL__CORE__EXECUTOR=workers
export DAGCTL__CORE__WORKER_TIMEOUT=2s
export DAGCTL__CORE__SCHEDULER_TIMEOUT=2s
# Every host, and this CLI, shares the log servers' secret.
LOG_SECRET=ls-$RANDOM$RANDOM$RANDOM
export DAGCTL__WORKER__LOG_SERVER_SECRET=$LOG_SECRET
pg() { psql_as postgres dagctl "$1"; }

cp "$(dirname "$0")/trace_try.sh" "$TMP/trace.sh"
chmod +x "$TMP/trace.sh"
export TMP_TRACE=$TMP/trace
touch "$TMP_TRACE"

declare -A PIDS
# start_proc NAME VERB [ARGS...]: dagctl VERB on host NAME (its namespace,
# reaching PostgreSQL through its link), in a home of its own ($TMP/NAME),
# log in $TMP/scheduler.NAME.log (lib.sh shows it on failure).
start_proc() {
  local name=$1
  shift
  mkdir -p "$TMP/$name"
  cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/$name/"
  ip netns exec "${NS[$name]}" env DAGCTL_HOME="$TMP/$name" WORKER_NAME="$name" \
    DAGCTL__WORKER__LOG_SERVER_HOST="${INNER[$name]}" \
    DAGCTL__CORE__STATE="postgresql://postgres@${ADDR[$name]}:$PORT/dagctl" \
    "$DAGCTL_BIN" "$@" >"$TMP/scheduler.$name.log" 2>&1 &
  PIDS[$name]=$!
  disown "$!"
  SCHED_PIDS+=("$!")
}

{
  printf 'dag_id: wide\ndefault_args: {retries: 1, retry_delay: 0s}\n'
  printf 'on_success_callback: [/bin/sh, -c, '"'"'echo "$DAGCTL_RUN_ID" >>%s/wide.cb'"'"']\n' "$TMP"
  printf 'tasks:\n'
  for l in $(seq 1 5); do
    for i in $(seq 1 100); do
      printf '  - {id: l%d_%03d, command: %s/trace.sh 0.02' "$l" "$i" "$TMP"
      [ "$l" -gt 1 ] && printf ', upstream: [l%d_%03d]' $((l - 1)) "$i"
      printf '}\n'
    done
  done
} | write_dag wide

# A DAG scheduled every second, which both schedulers would create runs
# of: one at a time does, each interval once.
write_dag tick <<EOF
dag_id: tick
schedule: every 1s
start_date: 2024-01-01
on_success: /bin/echo "\$DAGCTL_RUN_ID" >>$TMP/tick.cb
tasks:
  - {id: t, command: "true"}
EOF

start_proc s1 scheduler --port 0
wait_for "grep -q 'one of several schedulers' '$TMP/scheduler.s1.log'" 20
start_proc s2 scheduler --port 0
wait_for "grep -q 'one of several schedulers' '$TMP/scheduler.s2.log'" 20
for w in w1 w2 w3; do start_proc "$w" worker --concurrency 8; done
wait_for "[ \"\$(pg \"SELECT count(*) FROM worker WHERE state = 'active'\")\" = 3 ]" 20
wait_for "dagctl dags list --json | grep -q '\"wide\"'" 20
dagctl dags unpause wide >/dev/null
dagctl dags unpause tick >/dev/null
runs=()
for k in 1 2; do runs+=("$(trigger wide --run-id "r$k")"); done
wait_for "[ \$(grep -c '^start' '$TMP_TRACE') -ge 300 ]" 120
# kill -9 the scheduler driving the first run: the other takes it over.
owner=$(pg "SELECT scheduler_id FROM dag_run WHERE run_id = 'r1'")
[ -n "$owner" ] || fail "run r1 has no scheduler"
victim=s1
[ "${owner#*:}" = "${PIDS[s2]}:${owner##*:}" ] && victim=s2
kill -9 "${PIDS[$victim]}"
log "killed scheduler $victim ($owner) after $(grep -c '^start' "$TMP_TRACE") starts"
for r in "${runs[@]}"; do
  wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$r'\")\" = success ]" 120
done
assert_eq "$(grep -c '^start' "$TMP_TRACE")" 1000 "tries started for 2 x 500 tasks"
assert_eq "$(grep '^start' "$TMP_TRACE" | awk '{print $2}' | sort -u | wc -l)" 1000 \
  "tasks that ran, each exactly once"
assert_eq "$(grep -c '^overlap' "$TMP_TRACE" || true)" 0 "tasks running twice at once"
assert_eq "$(grep '^start' "$TMP_TRACE" | awk '{print $3}' | sort -u | tr '\n' ' ')" "w1 w2 w3 " \
  "the processes that ran tasks (workers only)"
assert_eq "$(pg "SELECT count(*) FROM dag_run WHERE scheduler_id = '$owner'
                 AND state IN ('queued', 'running')")" 0 "active runs left with the killed scheduler"
[ "$(pg "SELECT scheduler_id FROM dag_run WHERE run_id = 'r1'")" != "$owner" ] ||
  fail "run r1 was finished by no other scheduler"
assert_eq "$(pg "SELECT state FROM scheduler WHERE id = '$owner'")" gone "the killed scheduler's state"
# Scheduled runs went on through both schedulers, each interval once.
wait_for "[ \$(pg \"SELECT count(*) FROM dag_run WHERE dag_id = 'tick' AND state = 'success'\") -ge 5 ]" 20
assert_eq "$(pg "SELECT count(*) - count(DISTINCT data_interval_start) FROM dag_run WHERE dag_id = 'tick'")" \
  0 "tick runs of one interval created twice"
# Each wide run's on_success ran once, r1's on the scheduler that took it
# over; no tick run's ran twice.
wait_for "[ \$(wc -l <'$TMP/wide.cb') -ge 2 ]" 10
assert_eq "$(sort "$TMP/wide.cb" | tr '\n' ' ')" "r1 r2 " "the wide runs' callbacks"
assert_eq "$(sort "$TMP/tick.cb" | uniq -d | wc -l)" 0 "tick runs whose callback ran twice"
[ "$(wc -l <"$TMP/tick.cb")" -ge 3 ] || fail "tick's callbacks: $(cat "$TMP/tick.cb")"
survivor=s1
[ "$victim" = s1 ] && survivor=s2
proc_alive "${PIDS[$survivor]}" || fail "the surviving scheduler $survivor stopped"
if grep -l 'state store write failed' "$TMP"/scheduler.s?.log; then fail "a scheduler's store failed"; fi

# A worker's log, read from this host and from the surviving scheduler's
# web server on another: each gets it from the worker's log server.
ran_on=$(pg "SELECT c.worker_id FROM task_claim c JOIN dag_run r ON r.id = c.run_pk
             WHERE r.run_id = 'r1' AND c.task_id = 'l1_001'")
ran_host=$(grep '^start r1/l1_001 ' "$TMP_TRACE" | awk '{print $3}')
[ ! -e "$DAGCTL_HOME/logs/wide/r1/l1_001/1.log" ] || fail "the log is on this host"
dagctl logs wide r1 l1_001 >"$TMP/logs.out" 2>"$TMP/logs.err" ||
  fail "dagctl logs of a worker's try: $(cat "$TMP/logs.err")"
grep -qx "trace: r1/l1_001 on $ran_host" "$TMP/logs.out" || fail "the log read: $(cat "$TMP/logs.out")"
grep -qF "ended on worker $ran_on" "$TMP/logs.out" || fail "the log read: $(cat "$TMP/logs.out")"
web=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/scheduler.$survivor.log" | tail -n 1)
[ -n "$web" ] || fail "the scheduler $survivor has no web server"
ip netns exec "${NS[$survivor]}" curl -sf "${web%/}/api/v1/dags/wide/dagRuns/r1/taskInstances/l1_001/logs/1" \
  >"$TMP/web_log.out" || fail "the status page's log of a worker's try"
cmp "$TMP/logs.out" "$TMP/web_log.out" || fail "the status page's log differs from dagctl logs'"
# The worker's log server itself: a wrong token, no token, a path out.
log_url=$(pg "SELECT log_url FROM worker WHERE id = '$ran_on'")
assert_eq "$log_url" "http://${INNER[$ran_host]}:8793" "the log server registered by $ran_host"
code() { curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"; }
assert_eq "$(code -H 'Authorization: Bearer 9999999999.00' "$log_url/log/wide/r1/l1_001/1.log")" 403 \
  "a wrong token"
assert_eq "$(code "$log_url/log/wide/r1/l1_001/1.log")" 403 "no token"
assert_eq "$(code "$log_url/log/../../../etc/passwd")" 400 "a path with .."
assert_eq "$(code "$log_url/log/wide/%2e%2e/%2e%2e/%2e%2e/etc/passwd")" 400 "a path with an encoded .."
if grep -rlF "$LOG_SECRET" "$TMP"/scheduler.*.log "$TMP"/logs.* "$TMP/web_log.out"; then
  fail "the log servers' secret is in a log or an answer"
fi

# --- kill -9 of a worker mid-task: retried on another within 15 s -----------------

write_dag crash <<EOF
dag_id: crash
tasks:
  - {id: long, command: $TMP/trace.sh 3, retries: 1, retry_delay: 0s}
EOF
wait_for "dagctl dags list --json | grep -q '\"crash\"'" 20
dagctl dags unpause crash >/dev/null
run=$(trigger crash)
wait_for "grep -q '^start $run/long ' '$TMP_TRACE'" 20
victim_w=$(grep "^start $run/long " "$TMP_TRACE" | awk '{print $3}')
t0=$(now_us)
kill -9 "${PIDS[$victim_w]}"
wait_for "[ \$(grep -c '^start $run/long ' '$TMP_TRACE') -eq 2 ]" 15
log "a killed worker's try ran again $(us_to_s "$t0" "$(now_us)")s later"
wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$run'\")\" = success ]" 20
[ "$(grep "^start $run/long " "$TMP_TRACE" | tail -n 1 | awk '{print $3}')" != "$victim_w" ] ||
  fail "the retry ran on the killed worker"
grep -q "^end $run/long $victim_w 1 stopped" "$TMP_TRACE" || fail "the killed worker's task was not stopped"

# --- a worker cut off while it runs a try -------------------------------------------

start_proc w4 worker --concurrency 8
wait_for "[ \"\$(pg \"SELECT count(*) FROM worker WHERE state = 'active'\")\" = 3 ]" 20
write_dag cut <<EOF
dag_id: cut
tasks:
  - {id: long, command: $TMP/trace.sh 4, retries: 1, retry_delay: 0s}
EOF
wait_for "dagctl dags list --json | grep -q '\"cut\"'" 20
dagctl dags unpause cut >/dev/null
run=$(trigger cut)
wait_for "grep -q '^start $run/long ' '$TMP_TRACE'" 20
cut=$(grep "^start $run/long " "$TMP_TRACE" | awk '{print $3}')
ip link set "${LINK[$cut]}" down
log "link of $cut down"
wait_for "[ \$(grep -c '^start $run/long ' '$TMP_TRACE') -eq 2 ]" 15
wait_for "grep -q '^end $run/long $cut 1' '$TMP_TRACE'" 15
ip link set "${LINK[$cut]}" up
log "link of $cut up"
wait_for "grep -q 'late result refused' '$TMP/scheduler.$cut.log'" 60
wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$run'\")\" = success ]" 20
assert_eq "$(pg "SELECT ti.state || ' ' || ti.try_number FROM task_instance ti JOIN dag_run r
                 ON r.id = ti.run_pk WHERE r.run_id = '$run'")" "success 2" \
  "the cut-off task keeps its second try's result"
[ "$(grep "^start $run/long " "$TMP_TRACE" | tail -n 1 | awk '{print $3}')" != "$cut" ] ||
  fail "the retry ran on the cut-off worker"
# Cut off, that worker's task ran on beside its retry: nobody could stop it.
# What the partition must not do is let its result count, checked above.

# --- PostgreSQL restarted mid-run: everyone reconnects, the run finishes -----------

before=$(grep -c '^start' "$TMP_TRACE")
run=$(trigger wide --run-id r3)
wait_for "[ \$(grep -c '^start' '$TMP_TRACE') -ge $((before + 100)) ]" 60
_as_pg "${PG_BIN}pg_ctl" -D "$PG_DIR/data" -m fast -w restart >/dev/null || fail "pg_ctl restart"
log "PostgreSQL restarted after $(($(grep -c '^start' "$TMP_TRACE") - before)) starts of r3"
wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = 'r3'\")\" = success ]" 120
assert_eq "$(grep "^start r3/" "$TMP_TRACE" | awk '{print $2}' | sort -u | wc -l)" 500 "r3's tasks that ran"
assert_eq "$(grep -c '^overlap r3/' "$TMP_TRACE" || true)" 0 "r3's tasks running twice at once"
proc_alive "${PIDS[$survivor]}" || fail "the scheduler did not come back after the restart"
log "ok"
