#!/usr/bin/env bash
# worker.remote_logging: workers with homes of their own (as on other
# machines; the state on PostgreSQL) copy each finished try's log to the
# lake, record where, and `dagctl logs` and the status page read it there
# once the workers are killed.
#  - w1 copies to the local lake's logs/ folder (lake.url, a folder both
#    "machines" see);
#  - w2 copies to s3rver (worker.remote_base_log_folder, s3://...) through
#    the lake's S3 client, whose bucket does not exist at first: the copy
#    fails, is logged and tried again, the worker's log is kept and served
#    meanwhile, and once the bucket exists the copy is made and recorded;
#  - w3, stopped while its copy waits to be tried again, leaves the log in
#    its logs folder and says so.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
need curl
need_s3rver
: "${DAGCTL_BUILD_DIR:?DAGCTL_BUILD_DIR must name the build folder}"
LAKE_TOOL=$DAGCTL_BUILD_DIR/tests/lake_tool
[ -x "$LAKE_TOOL" ] || fail "not built: $LAKE_TOOL"

# s3rver, until its standard input (a FIFO held open here) closes.
mkfifo "$TMP/s3rver.in"
KEY_ID=dagctl-test
export LAKE_SECRET_ACCESS_KEY=dagctl-s3-secret-$RANDOM$RANDOM
node "$S3RVER_DIR/server.js" "$TMP/s3rver" dagctl-lake "$KEY_ID" <"$TMP/s3rver.in" \
  >"$TMP/s3rver.port" 2>"$TMP/s3rver.err" &
s3pid=$!
SCHED_PIDS+=("$s3pid")
disown "$s3pid"
exec {s3fd}>"$TMP/s3rver.in"
wait_for "[ -s '$TMP/s3rver.port' ]" 20
S3RVER=http://127.0.0.1:$(head -n 1 "$TMP/s3rver.port")

start_pg
trap 'rc=$?; set +e; exec {s3fd}>&-; stop_pg; (exit $rc); cleanup' EXIT
psql_as postgres postgres "CREATE DATABASE dagctl" >/dev/null
export DAGCTL__CORE__STATE="postgresql:///dagctl?host=$PG_DIR&user=postgres"
export DAGCTL__CORE__EXECUTOR=workers
export DAGCTL__CORE__WORKER_TIMEOUT=2s
export DAGCTL__WORKER__LOG_SERVER_SECRET=ls-$RANDOM$RANDOM$RANDOM
export DAGCTL__LAKE__SECRET_ACCESS_KEY=$LAKE_SECRET_ACCESS_KEY
pg() { psql_as postgres dagctl "$1"; }

# Every home reads the same lake: a folder here, s3rver's endpoint.
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
lake:
  url: $TMP/lake
  endpoint: $S3RVER
  path_style: true
  access_key_id: $KEY_ID
EOF

write_dag arch <<EOF
dag_id: arch
tasks:
  - {id: here, command: "echo 'a line for the local lake'", queue: local}
  - {id: there, command: "echo 'a line for S3'", queue: s3}
EOF
start_scheduler arch
dagctl dags unpause arch >/dev/null

# start_worker NAME QUEUE [WORKER SETTINGS...]: a worker in home $TMP/NAME.
WPIDS=()
start_worker() {
  local name=$1 queue=$2
  shift 2
  mkdir -p "$TMP/$name"
  { cat "$DAGCTL_HOME/dagctl.yaml"; printf 'worker:\n'; printf '  %s\n' "$@"; } >"$TMP/$name/dagctl.yaml"
  DAGCTL_HOME=$TMP/$name DAGCTL__WORKER__LOG_SERVER_PORT=0 DAGCTL__WORKER__LOG_SERVER_HOST=127.0.0.1 \
    "$DAGCTL_BIN" worker --queues "$queue" >"$TMP/worker.$name.log" 2>&1 &
  WPIDS+=("$!")
  SCHED_PIDS+=("$!")
  disown "$!"
  wait_for "grep -q 'worker starting' '$TMP/worker.$name.log'" 20
}
start_worker w1 local "remote_logging: true"
start_worker w2 s3 "remote_logging: true" "remote_base_log_folder: s3://late-logs/logs"
grep -q "finished logs are copied to base=$TMP/lake/logs" "$TMP/worker.w1.log" ||
  fail "w1 does not copy to the lake's logs folder"
grep -q "finished logs are copied to base=s3://late-logs/logs" "$TMP/worker.w2.log" ||
  fail "w2 does not copy to its remote_base_log_folder"

run=$(trigger arch)
wait_for "[ \"\$(pg \"SELECT state FROM dag_run WHERE run_id = '$run'\")\" = success ]" 30
archive() { pg "SELECT coalesce(log_archive, '-') FROM task_claim WHERE task_id = '$1'"; }

# w1: the copy in the local lake, recorded.
wait_for "[ \"\$(archive here)\" = '$TMP/lake/logs' ]" 20
cmp "$TMP/lake/logs/arch/$run/here/1.log" "$TMP/w1/logs/arch/$run/here/1.log" ||
  fail "the local lake's copy differs from the worker's log"

# w2: no bucket yet; the copy fails, is tried again, the log stays.
wait_for "grep -q 'cannot copy a finished log, will try again' '$TMP/worker.w2.log'" 20
assert_eq "$(archive there)" - "the copy recorded before it was made"
grep -q 'a line for S3' "$TMP/w2/logs/arch/$run/there/1.log" || fail "w2's log lost"
dagctl logs arch "$run" there | grep -q 'a line for S3' ||
  fail "the log, not yet copied, is not read from its worker"
curl -sf -X PUT "$S3RVER/late-logs" >/dev/null || fail "cannot create the bucket late-logs"
wait_for "[ \"\$(archive there)\" = s3://late-logs/logs ]" 20
"$LAKE_TOOL" --url s3://late-logs/logs --endpoint "$S3RVER" --path-style --key-id "$KEY_ID" \
  get "arch/$run/there/1.log" >"$TMP/s3.copy" || fail "no copy in s3rver"
cmp "$TMP/s3.copy" "$TMP/w2/logs/arch/$run/there/1.log" || fail "the S3 copy differs from the worker's log"

# Both workers die; their logs are read from the copies. (Their folders are
# moved away, as if their machines were gone.)
for pid in "${WPIDS[@]}"; do kill -9 "$pid"; done
for pid in "${WPIDS[@]}"; do wait_for "! proc_alive $pid" 10; done
mv "$TMP/w1" "$TMP/w1.gone"
mv "$TMP/w2" "$TMP/w2.gone"
for t in here there; do
  w=w1
  [ $t = there ] && w=w2
  dagctl logs arch "$run" $t >"$TMP/logs.$t" 2>"$TMP/logs.$t.err" ||
    fail "dagctl logs of $t once its worker is gone: $(cat "$TMP/logs.$t.err")"
  cmp "$TMP/logs.$t" "$TMP/$w.gone/logs/arch/$run/$t/1.log" ||
    fail "dagctl logs of $t once its worker is gone: $(cat "$TMP/logs.$t")"
  curl -sf "${SCHED_URL%/}/api/v1/dags/arch/dagRuns/$run/taskInstances/$t/logs/1" \
    >"$TMP/web.$t" || fail "the page's log of $t once its worker is gone"
  cmp "$TMP/web.$t" "$TMP/logs.$t" || fail "the page's log of $t differs"
  dagctl logs arch "$run" $t --follow >"$TMP/follow.$t" 2>"$TMP/follow.$t.err" ||
    fail "dagctl logs --follow of $t once its worker is gone: $(cat "$TMP/follow.$t.err")"
  cmp "$TMP/follow.$t" "$TMP/logs.$t" || fail "the followed log of $t differs"
done
# A copy that cannot be read either: both ways are named.
rm -rf "$TMP/lake/logs/arch"
if dagctl logs arch "$run" here >/dev/null 2>"$TMP/gone.err"; then fail "a log read from nowhere"; fi
grep -q 'its copy: .*its worker: ' "$TMP/gone.err" || fail "why the log is not read: $(cat "$TMP/gone.err")"

# A worker stopped while a copy waits to be tried again: it says the log
# stays in its logs folder, and stops.
write_dag stop <<EOF
dag_id: stop
tasks:
  - {id: last, command: "echo 'never copied'", queue: stop}
EOF
wait_for "dagctl dags list --json | grep -q '\"stop\"'" 10
dagctl dags unpause stop >/dev/null
start_worker w3 stop "remote_logging: true" "remote_base_log_folder: s3://no-such-bucket/logs"
run=$(trigger stop)
wait_for "grep -q 'cannot copy a finished log, will try again' '$TMP/worker.w3.log'" 20
kill -TERM "${WPIDS[-1]}"
wait_for "! proc_alive ${WPIDS[-1]}" 10
grep -q "finished log not copied: the worker stops; it stays in the logs folder log=stop/$run/last/1.log" \
  "$TMP/worker.w3.log" || fail "w3 did not say which log it leaves uncopied"
grep -q 'never copied' "$TMP/w3/logs/stop/$run/last/1.log" || fail "w3's log lost"
assert_eq "$(pg "SELECT coalesce(log_archive, '-') FROM task_claim WHERE task_id = 'last'")" - \
  "a copy recorded that was never made"

if grep -lF "$LAKE_SECRET_ACCESS_KEY" "$TMP"/worker.*.log "$TMP"/scheduler.*.log "$TMP"/logs.*; then
  fail "the S3 secret is in a log or an output"
fi
log ok
