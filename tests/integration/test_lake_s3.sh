#!/usr/bin/env bash
# test_lake_s3.sh - the lake's S3 backend and the wait_for_s3_files sensor
# against real servers:
#   - s3rver (npm, installed into tests/integration/s3rver by
#     .ci/install-deps.sh test)
#     for puts, gets, paginated listings of 1050 keys, S3's error answers
#     (NoSuchKey, NoSuchBucket, InvalidAccessKeyId) and the sensor;
#   - sigv4_s3.py, which verifies every SigV4 signature (s3rver does not),
#     for keys and continuation tokens that need encoding, a wrong secret,
#     and 503 answers that must be retried;
#   - a closed port and a server that never answers, for the transport
#     retries.
# lake_tool and plugin_run (tests/integration/*.c) drive the library and
# the plugin; secrets travel in the environment, never on a command line.
. "$(dirname "$0")/lib.sh"

: "${DAGCTL_BUILD_DIR:?DAGCTL_BUILD_DIR must name the build folder}"
LAKE_TOOL=$DAGCTL_BUILD_DIR/tests/lake_tool
PLUGIN_RUN=$DAGCTL_BUILD_DIR/tests/plugin_run
SENSOR=$DAGCTL_BUILD_DIR/plugins/s3_sensor.so
for f in "$LAKE_TOOL" "$PLUGIN_RUN" "$SENSOR"; do
  [ -e "$f" ] || fail "not built: $f"
done

need_s3rver

# --- servers ------------------------------------------------------------------

SERVER_PIDS=()
SERVER_FDS=()
# Each server runs until its standard input (a FIFO we hold open) closes.
stop_servers() {
  local fd pid
  for fd in "${SERVER_FDS[@]}"; do exec {fd}>&-; done
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap '_rc=$?; set +e; trap - ERR; stop_servers; (exit $_rc); cleanup' EXIT

# start_server NAME COMMAND...: start it and set PORT to the port it prints.
start_server() {
  local name=$1 fd deadline
  shift
  mkfifo "$TMP/$name.in"
  "$@" <"$TMP/$name.in" >"$TMP/$name.port" 2>"$TMP/$name.err" &
  SERVER_PIDS+=($!)
  exec {fd}>"$TMP/$name.in"
  SERVER_FDS+=("$fd")
  deadline=$(($(date +%s%3N) + 20000))
  while ! [ -s "$TMP/$name.port" ]; do
    if ! proc_alive "${SERVER_PIDS[-1]}" || [ "$(date +%s%3N)" -ge "$deadline" ]; then
      cat "$TMP/$name.err" >&2
      fail "$name did not start"
    fi
    sleep 0.05
  done
  PORT=$(head -n 1 "$TMP/$name.port")
}

KEY_ID=dagctl-test
export LAKE_SECRET_ACCESS_KEY=dagctl-s3-secret-0c0ffee
mkdir -p "$TMP/s3rver"
start_server s3rver node "$S3RVER_DIR/server.js" "$TMP/s3rver" dagctl-lake "$KEY_ID"
S3RVER=http://127.0.0.1:$PORT
log "s3rver at $S3RVER"

# lake_tool against s3rver; the lake's own prefix is "runs".
lt() { "$LAKE_TOOL" --url s3://dagctl-lake/runs --endpoint "$S3RVER" --key-id "$KEY_ID" "$@"; }

# run_status VAR COMMAND...: run it (stdout and stderr in $TMP/out, $TMP/err)
# and store its exit status in VAR instead of failing the test.
run_status() {
  local var=$1
  shift
  local _status=0
  "$@" >"$TMP/out" 2>"$TMP/err" || _status=$?
  printf -v "$var" '%s' "$_status"
}

assert_err_has() {
  grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"
}

no_secret_in_output() {
  if grep -qF -- "$LAKE_SECRET_ACCESS_KEY" "$TMP/out" "$TMP/err"; then
    fail "the secret key appeared in the output"
  fi
}

# --- s3rver: objects and listings -----------------------------------------------

head -c 300000 /dev/urandom >"$TMP/blob"
KEY='raw_events/year=2026/month=11/day=22/hour=01/x y+z&(1)~é.ndjson'
lt put "$KEY" "$TMP/blob"
lt get "$KEY" >"$TMP/blob.back"
cmp -s "$TMP/blob" "$TMP/blob.back" || fail "object changed on the way through s3rver"
# Stored under the lake's prefix, listed without it.
[ -e "$TMP/s3rver/dagctl-lake/runs/raw_events/year=2026/month=11/day=22/hour=01/x y+z&(1)~é.ndjson._S3rver_object" ] ||
  fail "s3rver holds no object under runs/: $(find "$TMP/s3rver" -type f | head)"
assert_eq "$(lt list raw_events/)" "$KEY" "list under raw_events/"

log "1050 objects: pages of 1000 (the server's) and of 100"
lt fill many/ 1050
lt list many/ >"$TMP/default.txt"
lt --page-size 100 list many/ >"$TMP/paged.txt"
seq -f 'many/%05g' 0 1049 >"$TMP/want.txt"
cmp -s "$TMP/want.txt" "$TMP/default.txt" || fail "default pages: $(diff "$TMP/want.txt" "$TMP/default.txt" | head)"
cmp -s "$TMP/want.txt" "$TMP/paged.txt" || fail "pages of 100: $(diff "$TMP/want.txt" "$TMP/paged.txt" | head)"
assert_eq "$(lt list many/0104 | tr '\n' ' ')" "many/01040 many/01041 many/01042 many/01043 many/01044 many/01045 many/01046 many/01047 many/01048 many/01049 " "partial prefix"
assert_eq "$(lt list nothing/ | wc -l)" 0 "empty listing"

log "S3 errors"
run_status rc lt get raw_events/missing
assert_eq "$rc" 2 "missing key status"
assert_err_has "lake: GET s3://dagctl-lake/runs/raw_events/missing: HTTP 404 NoSuchKey: The specified key does not exist."
run_status rc "$LAKE_TOOL" --url s3://no-such-bucket --endpoint "$S3RVER" --key-id "$KEY_ID" list
assert_eq "$rc" 2 "missing bucket status"
assert_err_has "lake: LIST s3://no-such-bucket/ (page 1): HTTP 404 NoSuchBucket: The specified bucket does not exist"
run_status rc "$LAKE_TOOL" --url s3://dagctl-lake --endpoint "$S3RVER" --key-id WRONGKEY put k "$TMP/blob"
assert_eq "$rc" 3 "unknown access key status"
assert_err_has "lake: PUT s3://dagctl-lake/k: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records."
no_secret_in_output
run_status rc lt put ../escape "$TMP/blob"
assert_eq "$rc" 6 "invalid key status"

# --- transport errors: retried, then reported --------------------------------------

log "connection refused, retried with backoff"
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$(now_us)
run_status rc "$LAKE_TOOL" --url s3://dagctl-lake --endpoint "http://127.0.0.1:$CLOSED" --key-id "$KEY_ID" \
  --retries 2 list
t1=$(now_us)
assert_eq "$rc" 4 "refused status"
assert_err_has "after 3 attempts"
# Backoff waits 100-200 ms, then 200-400 ms.
awk -v s="$(us_to_s "$t0" "$t1")" 'BEGIN { exit !(s >= 0.3 && s < 5) }' ||
  fail "two backoffs took $(us_to_s "$t0" "$t1")s"

log "a server that never answers: timeouts, retried"
start_server silent python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
sys.stdin.read()'
run_status rc "$LAKE_TOOL" --url s3://dagctl-lake --endpoint "http://127.0.0.1:$PORT" --key-id "$KEY_ID" \
  --timeout-ms 300 --retries 1 get k
assert_eq "$rc" 5 "timeout status"
assert_err_has "lake: GET s3://dagctl-lake/k: "
assert_err_has "after 2 attempts"

# --- signatures checked by sigv4_s3.py --------------------------------------------

log "SigV4 verified: encoded keys, prefixes and continuation tokens"
start_server sigv4 python3 "$DAGCTL_SOURCE_DIR/tests/integration/sigv4_s3.py" v4-bucket AKIDV4 \
  --fail-first 3 --log "$TMP/sigv4.log"
V4=http://127.0.0.1:$PORT
v4() { "$LAKE_TOOL" --url s3://v4-bucket/base --endpoint "$V4" --key-id AKIDV4 "$@"; }

# 503 SlowDown: without retries it fails; with them it gets through.
run_status rc v4 --retries -1 put "$KEY" "$TMP/blob"
assert_eq "$rc" 7 "503 without retries"
assert_err_has "HTTP 503 SlowDown: Please reduce your request rate."
v4 put "$KEY" "$TMP/blob"
assert_eq "$(awk '{ print $NF }' "$TMP/sigv4.log" | tr '\n' ' ')" "503 503 503 200 " "retried 503s"

v4 get "$KEY" >"$TMP/blob.v4"
cmp -s "$TMP/blob" "$TMP/blob.v4" || fail "object changed on the way through sigv4_s3.py"
v4 fill 'a b=c/' 7
: >"$TMP/sigv4.log"
assert_eq "$(v4 --page-size 2 list 'a b=c/' | tr '\n' ' ')" \
  "a b=c/00000 a b=c/00001 a b=c/00002 a b=c/00003 a b=c/00004 a b=c/00005 a b=c/00006 " "paged list"
assert_eq "$(grep -c 'list-type=2' "$TMP/sigv4.log")" 4 "pages of two"
grep -q 'continuation-token=%2B%2F%2F%2B' "$TMP/sigv4.log" || fail "no encoded token: $(cat "$TMP/sigv4.log")"
grep -qv ' 200$' "$TMP/sigv4.log" && fail "a request failed: $(cat "$TMP/sigv4.log")"
# The server does check: the same requests with another secret are refused.
LAKE_SECRET_ACCESS_KEY=not-the-secret run_status rc v4 list
assert_eq "$rc" 3 "wrong secret status"
assert_err_has "HTTP 403 SignatureDoesNotMatch"
grep -qF "not-the-secret" "$TMP/err" && fail "the wrong secret appeared in the output"

# --- the sensor -------------------------------------------------------------------

sensor() {
  "$PLUGIN_RUN" "$SENSOR" wait_for_s3_files -x ds=2026-11-22 -x home="$DAGCTL_HOME" \
    -c lake.url=s3://dagctl-lake/runs -c lake.endpoint="$S3RVER" -c lake.region=us-east-1 \
    -c lake.access_key_id="$KEY_ID" -c 'lake.secret_access_key=$LAKE_SECRET_ACCESS_KEY' "$@"
}
PATTERN='events/{{ ds }}/*.ndjson'

log "sensor on s3rver: reschedule, timeout, soft_fail"
run_status rc sensor -p prefix="$PATTERN" -p mode=reschedule
assert_eq "$rc" 2 "reschedule status (NOT_YET)"
assert_err_has "not yet: 0 of 1 key(s) matching 'events/2026-11-22/*.ndjson' (0 under 'events/2026-11-22/'); next poke in 30s"
no_secret_in_output

t0=$(now_us)
run_status rc sensor -p prefix="$PATTERN" -p poke_interval=200ms -p timeout=1s
t1=$(now_us)
assert_eq "$rc" 1 "poke timeout status"
assert_err_has "ERROR timed out after 1s waiting for 1 key(s) matching 'events/2026-11-22/*.ndjson' in s3://dagctl-lake/runs at $S3RVER/dagctl-lake: found 0"
awk -v s="$(us_to_s "$t0" "$t1")" 'BEGIN { exit !(s >= 1 && s < 10) }' ||
  fail "a 1s timeout took $(us_to_s "$t0" "$t1")s"

run_status rc sensor -p prefix="$PATTERN" -p poke_interval=200ms -p timeout=500ms -p soft_fail=true
assert_eq "$rc" 3 "soft_fail status (SKIP)"
assert_err_has "soft_fail: skipping"

log "sensor on s3rver: objects that arrive while it pokes"
( sleep 0.6
  lt put events/2026-11-22/part-1.ndjson "$TMP/blob"
  lt put events/2026-11-22/part-0.ndjson "$TMP/blob"
  lt put events/2026-11-22/part-2.tmp "$TMP/blob" ) &
writer=$!
run_status rc sensor -p prefix="$PATTERN" -p poke_interval=100ms -p timeout=30s -p min_count=2
wait "$writer"
assert_eq "$rc" 0 "poke success status"
assert_eq "$(cat "$TMP/out")" $'keys ["events/2026-11-22/part-0.ndjson","events/2026-11-22/part-1.ndjson"]\ncount 2' "sensor XComs"
grep -q "not yet" "$TMP/err" || fail "the sensor found the objects before they were written"
no_secret_in_output

run_status rc sensor -p prefix="$PATTERN" -p mode=reschedule
assert_eq "$rc" 0 "reschedule finds them"

log "sensor: a missing bucket fails at once, even with soft_fail"
run_status rc sensor -c lake.url=s3://no-such-bucket -p prefix=x/ -p soft_fail=true -p timeout=1h
assert_eq "$rc" 1 "missing bucket status"
assert_err_has "HTTP 404 NoSuchBucket"

log "sensor on the local lake (no lake.url: HOME/lake)"
"$LAKE_TOOL" --url "$DAGCTL_HOME/lake" put events/2026-11-22/local.ndjson "$TMP/blob"
run_status rc "$PLUGIN_RUN" "$SENSOR" s3_key_sensor -x ds=2026-11-22 -x home="$DAGCTL_HOME" \
  -p prefix="$PATTERN"
assert_eq "$rc" 0 "local sensor status"
assert_eq "$(head -n 1 "$TMP/out")" 'keys ["events/2026-11-22/local.ndjson"]' "local sensor keys"
assert_err_has "in $DAGCTL_HOME/lake mode=poke"
