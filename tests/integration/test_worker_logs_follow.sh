#!/usr/bin/env bash
# `dagctl logs --follow` of a try that a worker runs with a home of its own
# (as on another machine; the state on PostgreSQL): the log is read from
# the worker's log server as it grows. The follower, started while the try
# runs, prints the lines the task writes after it started, ends when the
# try ends with the try's state as its exit status (0 success, 1 failed),
# also when the worker is killed meanwhile (the try fails once the worker
# is declared gone), and prints nothing of the log servers' secret; a
# worker stopped while it holds a follower's request stops at once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

start_pg
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"
export DAGCTL__CORE__EXECUTOR=workers
export DAGCTL__CORE__WORKER_TIMEOUT=2s
LOG_SECRET=ls-$RANDOM$RANDOM$RANDOM
export DAGCTL__WORKER__LOG_SERVER_SECRET=$LOG_SECRET
pg() { psql_as postgres dagctl "$1"; }

# steps.sh NAME STATUS: prints a line, then one more each time the test
# creates $TMP/NAME.N (N = 1, 2), then exits STATUS.
cat >"$TMP/steps.sh" <<'EOF'
#!/bin/sh
echo "step 0 of $1"
for n in 1 2; do
  while [ ! -e "$TMP_STEPS/$1.$n" ]; do sleep 0.05; done
  echo "step $n of $1"
done
exit "$2"
EOF
chmod +x "$TMP/steps.sh"
export TMP_STEPS=$TMP

write_dag follow <<EOF
dag_id: follow
tasks:
  - {id: good, command: $TMP/steps.sh good 0}
  - {id: bad, command: $TMP/steps.sh bad 3}
EOF
start_scheduler follow
dagctl dags unpause follow >/dev/null

# The worker: a home of its own, its log server on a free port.
mkdir -p "$TMP/w1"
cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/w1/"
DAGCTL_HOME=$TMP/w1 DAGCTL__WORKER__LOG_SERVER_PORT=0 DAGCTL__WORKER__LOG_SERVER_HOST=127.0.0.1 \
  "$DAGCTL_BIN" worker --concurrency 4 >"$TMP/worker.w1.log" 2>&1 &
worker=$!
SCHED_PIDS+=("$!")
disown "$!"
wait_for "[ \"\$(pg \"SELECT count(*) FROM worker WHERE state = 'active' AND log_url IS NOT NULL\")\" = 1 ]" 20

run=$(trigger follow)
rel=follow/$run
wait_for "[ -e '$TMP/w1/logs/$rel/good/1.log' ] && [ -e '$TMP/w1/logs/$rel/bad/1.log' ]" 20
wait_for "grep -q 'step 0 of good' '$TMP/w1/logs/$rel/good/1.log'" 10
[ ! -e "$DAGCTL_HOME/logs/$rel/good/1.log" ] || fail "the try's log is in this home"

# follow TASK: `dagctl logs --follow` in the background; its output in
# $TMP/follow.TASK.out, its exit status in $TMP/follow.TASK.rc once it ends.
follow() {
  ( set +e
    "$DAGCTL_BIN" logs follow "$run" "$1" --follow >"$TMP/follow.$1.out" 2>"$TMP/follow.$1.err"
    echo $? >"$TMP/follow.$1.rc.tmp"
    mv "$TMP/follow.$1.rc.tmp" "$TMP/follow.$1.rc" ) &
  SCHED_PIDS+=("$!")
}
follow good
follow bad
wait_for "grep -q 'step 0 of good' '$TMP/follow.good.out' && grep -q 'step 0 of bad' '$TMP/follow.bad.out'" 10
# Lines written after the followers started reach them while the tries run.
touch "$TMP/good.1" "$TMP/bad.1"
wait_for "grep -q 'step 1 of good' '$TMP/follow.good.out' && grep -q 'step 1 of bad' '$TMP/follow.bad.out'" 10
[ ! -e "$TMP/follow.good.rc" ] || fail "the follower ended while its try ran: $(cat "$TMP/follow.good.err")"
assert_eq "$(pg "SELECT state FROM task_instance WHERE task_id = 'good'")" running "good's state while followed"
# The tries end: each follower prints the rest and ends with the try's state.
touch "$TMP/good.2" "$TMP/bad.2"
wait_for "[ -e '$TMP/follow.good.rc' ] && [ -e '$TMP/follow.bad.rc' ]" 20
assert_eq "$(cat "$TMP/follow.good.rc")" 0 "the exit status of following a try that succeeded"
assert_eq "$(cat "$TMP/follow.bad.rc")" 1 "the exit status of following a try that failed"
grep -qx 'dagctl: try 1 of good ended: success' "$TMP/follow.good.err" ||
  fail "the follower's last word: $(cat "$TMP/follow.good.err")"
grep -qx 'dagctl: try 1 of bad ended: failed' "$TMP/follow.bad.err" ||
  fail "the follower's last word: $(cat "$TMP/follow.bad.err")"
# What was followed is the whole log, as the worker has it, end line included.
for t in good bad; do
  cmp "$TMP/follow.$t.out" "$TMP/w1/logs/$rel/$t/1.log" ||
    fail "the followed log of $t differs from the worker's: $(diff "$TMP/follow.$t.out" "$TMP/w1/logs/$rel/$t/1.log")"
  grep -q "step 2 of $t" "$TMP/follow.$t.out" || fail "the last step of $t was not followed"
  grep -q "ended on worker" "$TMP/follow.$t.out" || fail "the end line of $t was not followed"
done

# A finished try followed: its whole log at once, and the follower ends.
dagctl logs follow "$run" good --follow >"$TMP/again.out" 2>"$TMP/again.err" ||
  fail "following a finished try: $(cat "$TMP/again.err")"
cmp "$TMP/again.out" "$TMP/w1/logs/$rel/good/1.log" || fail "the finished try's log, followed"

# The log server's long poll itself: a request for what lies past the end
# is held until the log grows (or answered empty when the wait is over).
need curl
size=$(stat -c %s "$TMP/w1/logs/$rel/good/1.log")
log_url=$(pg "SELECT log_url FROM worker")
token=$("$PYTHON" - "$LOG_SECRET" "$rel/good/1.log" <<'PY'
import hashlib, hmac, sys, time
exp = int(time.time()) + 30
mac = hmac.new(sys.argv[1].encode(), b"%d\n" % exp + sys.argv[2].encode(), hashlib.sha256).hexdigest()
print("%d.%s" % (exp, mac))
PY
)
held_before=$(grep -c 'waits for the log to grow' "$TMP/worker.w1.log" || true)
curl -sf -H "Authorization: Bearer $token" "$log_url/log/$rel/good/1.log?offset=$size&wait=10000" \
  >"$TMP/held.out" &
held=$!
SCHED_PIDS+=("$held")
wait_for "[ \$(grep -c 'waits for the log to grow' '$TMP/worker.w1.log') -gt $held_before ]" 5
proc_alive "$held" || fail "a request past the log's end was answered at once"
printf 'appended later\n' >>"$TMP/w1/logs/$rel/good/1.log"
wait "$held" || fail "the held request failed"
assert_eq "$(cat "$TMP/held.out")" "appended later" "the held request's answer"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
             "$log_url/log/$rel/good/1.log?wait=soon")" 400 "a wait that is no number"

# The worker killed while a try is followed: the follower waits for the
# try's end (failed once the worker is declared gone) and says why the rest
# of the log could not be read.
write_dag crash <<EOF
dag_id: crash
tasks:
  - {id: long, command: $TMP/steps.sh long 0}
EOF
wait_for "dagctl dags list --json | grep -q '\"crash\"'" 10
dagctl dags unpause crash >/dev/null
run=$(trigger crash)
wait_for "grep -q 'step 0 of long' '$TMP/w1/logs/crash/$run/long/1.log'" 20
"$DAGCTL_BIN" logs crash "$run" long --follow >"$TMP/follow.long.out" 2>"$TMP/follow.long.err" &
follower=$!
SCHED_PIDS+=("$follower")
wait_for "grep -q 'step 0 of long' '$TMP/follow.long.out'" 10
kill -9 "$worker"
wait_for "! proc_alive $follower" 20
rc=0
wait "$follower" || rc=$?
assert_eq "$rc" 1 "the exit status of following a try whose worker was killed"
grep -qx 'dagctl: try 1 of long ended: failed' "$TMP/follow.long.err" ||
  fail "the follower's last word: $(cat "$TMP/follow.long.err")"
grep -q 'the rest of the log of try 1 of task .long. cannot be read' "$TMP/follow.long.err" ||
  fail "the follower did not say why the rest is missing: $(cat "$TMP/follow.long.err")"

# A worker stopped while it holds a follower's request: the request is let
# go with the server, and the worker stops without waiting out the wait.
mkdir -p "$TMP/w2"
cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/w2/"
DAGCTL_HOME=$TMP/w2 DAGCTL__WORKER__LOG_SERVER_PORT=0 DAGCTL__WORKER__LOG_SERVER_HOST=127.0.0.1 \
  "$DAGCTL_BIN" worker --queues none >"$TMP/worker.w2.log" 2>&1 &
w2=$!
SCHED_PIDS+=("$w2")
wait_for "grep -q 'worker starting' '$TMP/worker.w2.log'" 20
w2url=$(sed -n 's/.*serving this worker.s logs url=\([^ ]*\).*/\1/p' "$TMP/worker.w2.log")
mkdir -p "$TMP/w2/logs/x"
printf 'held\n' >"$TMP/w2/logs/x/1.log"
token=$("$PYTHON" - "$LOG_SECRET" x/1.log <<'PY'
import hashlib, hmac, sys, time
exp = int(time.time()) + 30
mac = hmac.new(sys.argv[1].encode(), b"%d\n" % exp + sys.argv[2].encode(), hashlib.sha256).hexdigest()
print("%d.%s" % (exp, mac))
PY
)
curl -s -H "Authorization: Bearer $token" "$w2url/log/x/1.log?offset=5&wait=10000" >/dev/null &
SCHED_PIDS+=("$!")
wait_for "grep -q 'waits for the log to grow' '$TMP/worker.w2.log'" 5
kill -TERM "$w2"
wait_for "! proc_alive $w2" 5
grep -q 'worker stopped' "$TMP/worker.w2.log" || fail "w2 did not stop cleanly"

if grep -rlF "$LOG_SECRET" "$TMP"/follow.* "$TMP"/again.* "$TMP"/worker.w?.log "$TMP"/scheduler.*.log; then
  fail "the log servers' secret is in a log or an output"
fi
log ok
