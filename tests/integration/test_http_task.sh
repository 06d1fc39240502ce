#!/usr/bin/env bash
# test_http_task.sh - the http task type run by the real scheduler against
# real local servers (tests/integration/http_server.py): plain HTTP and TLS
# with a test CA (verified with ca_file; refused without it), templated
# headers and body, a bearer token from a secret setting that never reaches
# a log, expected_status, response_check, xcom_fields, the body to XCom,
# the timeout, and `dagctl validate` on misuse.
. "$(dirname "$0")/lib.sh"
need openssl

[ -e "$DAGCTL_BUILD_DIR/plugins/http.so" ] || fail "http.so is not built"
SERVER=$(dirname "$0")/http_server.py
TOKEN=tok-$RANDOM$RANDOM-secret
TOKEN2=conn-$RANDOM$RANDOM-secret

# A test CA and a server certificate it signs, for 127.0.0.1.
pki=$TMP/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
  -subj "/CN=dagctl test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$pki/server.key" -out "$pki/server.csr" \
  -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
  -CAcreateserial -days 2 -extfile "$pki/ext" -out "$pki/server.pem" 2>/dev/null

# start_http NAME [ARGS...]: sets PORT_<NAME>.
start_http() {
  local name=$1 out=$TMP/http.$1.out
  shift
  "$PYTHON" "$SERVER" --requests "$TMP/requests.$name" "$@" >"$out" 2>"$out.err" &
  SCHED_PIDS+=("$!") # killed by lib.sh's cleanup
  disown "$!"
  wait_for "grep -q '^PORT ' '$out'" 10
  printf -v "PORT_$name" '%s' "$(awk '/^PORT /{print $2}' "$out")"
}
start_http plain --expect-auth "Bearer $TOKEN"
start_http tls --cert "$pki/server.pem" --key "$pki/server.key"
start_http conn --expect-auth "Bearer $TOKEN2"
H=http://127.0.0.1:$PORT_plain
S=https://127.0.0.1:$PORT_tls

write_dag calls <<EOF
dag_id: calls
tasks:
  - id: get_json
    type: http
    url: $S/json
    ca_file: $pki/ca.pem
    response_check: {path: data.items.0.name, equals: a}
    xcom_fields: {job_id: data.id, state: status}
  - id: post_echo
    type: http
    upstream: get_json
    method: POST
    url: "$H/echo?day={{ ds }}"
    headers: {X-Date: "{{ ds }}", Content-Type: application/json}
    body: '{"day": "{{ ds }}", "job": {{ ti.xcom.get_json.job_id }}}'
    auth: bearer
    response_check: {path: authorized, equals: true}
  - id: not_found
    type: http
    url: $H/status/404
  - id: accepted_404
    type: http
    url: $H/status/404
    expected_status: [404, 410]
  - id: check_fails
    type: http
    url: $H/json
    response_check: {path: status, in: [bad, worse]}
  - id: text
    type: http
    url: $H/text
  - id: untrusted
    type: http
    url: $S/json
  - id: slow
    type: http
    url: $H/slow
    timeout: 500ms
  - id: big
    type: http
    url: $H/big
  - id: no_basic
    type: http
    url: $H/echo
    auth: basic
  - id: bearer_from_conn
    type: http
    url: http://127.0.0.1:$PORT_conn/echo
    conn_id: api_conn
    auth: bearer
    response_check: {path: authorized, equals: true}
  - id: unknown_conn
    type: http
    url: $H/echo
    conn_id: nope
EOF

out=$(dagctl validate "$DAGCTL_DAGS/calls.yaml" 2>&1) || fail "calls.yaml does not validate: $out"

export DAGCTL__HTTP__BEARER_TOKEN=$TOKEN
# A connection from the environment: its password is the token the third
# server wants (the http section's would be refused there).
export DAGCTL_CONN_API_CONN="http://svc:$TOKEN2@127.0.0.1"
start_scheduler calls
run=$(trigger calls)
assert_eq "$(wait_run calls "$run" 60)" failed "calls run"
ds=${run#manual__}
ds=${ds:0:10}
for t in get_json post_echo accepted_404 text big bearer_from_conn; do
  assert_eq "$(task_state calls "$run" $t)" success "task $t"
done
for t in not_found check_fails untrusted slow no_basic unknown_conn; do
  assert_eq "$(task_state calls "$run" $t)" failed "task $t"
done

xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.run_id = '$run' AND x.task_id = '$1' AND x.key = '$2'"
}
assert_eq "$(xcom get_json status)" 200 "get_json status"
assert_eq "$(xcom get_json job_id)" 42 "get_json job_id"
assert_eq "$(xcom get_json state)" '"ok"' "get_json state"
assert_eq "$(xcom get_json body)" "" "get_json body (xcom_fields replace it)"
echo_body=$(xcom post_echo body)
assert_eq "$(pyjson 'd["method"]' <<<"$echo_body")" POST "echoed method"
assert_eq "$(pyjson 'd["path"]' <<<"$echo_body")" "/echo?day=$ds" "echoed path"
assert_eq "$(pyjson 'd["x_date"]' <<<"$echo_body")" "$ds" "echoed X-Date"
assert_eq "$(pyjson 'd["content_type"]' <<<"$echo_body")" application/json "echoed type"
assert_eq "$(pyjson 'd["body"]' <<<"$echo_body")" "{\"day\": \"$ds\", \"job\": 42}" "echoed body"
assert_eq "$(pyjson 'd["authorized"]' <<<"$echo_body")" True "bearer token sent"
assert_eq "$(xcom not_found status)" 404 "not_found status"
assert_eq "$(xcom accepted_404 status)" 404 "accepted_404 status"
assert_eq "$(xcom accepted_404 body)" '{"code":404}' "accepted_404 body"
assert_eq "$(xcom text body)" '"hello"' "text body"
assert_eq "$(xcom big status)" 200 "big status"
assert_eq "$(xcom big body)" "" "big body (over 64 KiB)"
assert_eq "$(xcom untrusted status)" "" "untrusted status"

logs=$DAGCTL_HOME/logs/calls/$run
grep -qF "status 404, expected any 2xx" "$logs/not_found/1.log" || fail "not_found log: $(cat "$logs/not_found/1.log")"
grep -qF 'response_check: status is "ok", expected one of ["bad","worse"]' "$logs/check_fails/1.log" ||
  fail "check_fails log: $(cat "$logs/check_fails/1.log")"
grep -qiE "request failed: .*(certificate|SSL)" "$logs/untrusted/1.log" ||
  fail "untrusted log: $(cat "$logs/untrusted/1.log")"
grep -qiE "request failed: .*timed out" "$logs/slow/1.log" || fail "slow log: $(cat "$logs/slow/1.log")"
grep -qF "xcom body: over 64 KiB, not pushed" "$logs/big/1.log" || fail "big log: $(cat "$logs/big/1.log")"
grep -qF "auth: basic needs the settings http.username and http.password" "$logs/no_basic/1.log" ||
  fail "no_basic log: $(cat "$logs/no_basic/1.log")"
grep -qF "connection nope:" "$logs/unknown_conn/1.log" || fail "unknown_conn log: $(cat "$logs/unknown_conn/1.log")"
grep -qF "POST http://127.0.0.1:$PORT_plain/echo?..." "$logs/post_echo/1.log" ||
  fail "post_echo log: $(cat "$logs/post_echo/1.log")"
# No request reached the server without verified TLS: the untrusted one
# stopped at the handshake.
assert_eq "$(grep -c '"/json"' "$TMP/requests.tls")" 1 "TLS requests served"
# The token went to the server and nowhere else.
for t in "$TOKEN" "$TOKEN2"; do
  if grep -rqF "$t" "$DAGCTL_HOME/logs" "$TMP"/scheduler.*.log; then fail "a bearer token is in a log"; fi
done
if sql "SELECT value FROM xcom" | grep -qF "$TOKEN"; then fail "the bearer token is in XCom"; fi

# Misuse is a located error before anything runs.
write_dag bad <<EOF
dag_id: bad
tasks:
  - id: a
    type: http
    url: $H/json
    methd: POST
    response_check: {path: status, equal: ok}
  - id: b
    type: http
    url: $H/json
    response_check: {equals: ok}
    expected_status: 200
EOF
out=$(dagctl validate "$DAGCTL_DAGS/bad.yaml" 2>&1) && fail "bad.yaml validated"
f=$DAGCTL_DAGS/bad.yaml
grep -qxF "$f:6:5: tasks[0].methd: unknown key 'methd' (did you mean 'method'?)" <<<"$out" || fail "no methd error: $out"
grep -qxF "$f:7:36: tasks[0].response_check.equal: unknown key 'equal' (did you mean 'equals'?)" <<<"$out" ||
  fail "no equal error: $out"
grep -qxF "$f:11:21: tasks[1].response_check.path: required key is missing (tasks[1].response_check needs it)" <<<"$out" ||
  fail "no path error: $out"
grep -qxF "$f:12:22: tasks[1].expected_status: expected a list, got '200'" <<<"$out" || fail "no status error: $out"
