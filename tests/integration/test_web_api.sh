#!/usr/bin/env bash
# The JSON API and status page against a real scheduler: every endpoint on
# Airflow's paths with Airflow's field names, mutations refused without the
# bearer token and accepted with it (the triggered run runs), pause, clear,
# logs by ids with '..' refused, HTML injection coming back inert, limits,
# /metrics as Prometheus text, and `dagctl webserver` on the same database.
. "$(dirname "$0")/lib.sh"

TOKEN=t0ken-$RANDOM-$RANDOM-0123456789abcdef0123456789
write_dag webdemo <<'EOF2'
dag_id: webdemo
description: "<script>document.title='pwned'</script> demo"
tags: [web]
default_args:
  retries: 0
tasks:
  - id: extract
    command: echo "extracted rows=42"
  - id: transform
    upstream: extract
    command: echo "transformed "{{ conf.note }}
  - id: load
    upstream: transform
    command: echo loaded
EOF2
write_dag slowdemo <<'EOF2'
dag_id: slowdemo
tasks:
  - id: tick
    command: for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; sleep 0.25; done
EOF2
printf 'dag_id: broken\ntasks: [\n' >"$DAGCTL_DAGS/broken.yaml"

# The status page on a free port (start_scheduler passes --port 0), with
# the token set.
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"
start_scheduler webdemo slowdemo
[ -n "$SCHED_URL" ] || fail "the scheduler did not serve its page"
B=${SCHED_URL%/}
PORT=${B##*:}
log "serving at $B"

# http METHOD PATH [CURL ARGS...]: the body to stdout; status in $TMP/status,
# headers in $TMP/headers.
http() {
  local method=$1 path=$2
  shift 2
  curl -sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$method" "$@" "$B$path" >"$TMP/status"
  cat "$TMP/body"
}
status() { cat "$TMP/status"; }
auth=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
expect_status() { [ "$(status)" = "$1" ] || fail "$2: HTTP $(status), expected $1: $(cat "$TMP/body")"; }
has_header() { grep -qi "^$1" "$TMP/headers" || fail "no '$1' header in: $(cat "$TMP/headers")"; }

# --- read-only endpoints -----------------------------------------------------------
http GET /api/v1/health >"$TMP/h.json"
expect_status 200 health
assert_eq "$(pyjson 'd["scheduler"]["status"]' <"$TMP/h.json")" healthy "scheduler health"
assert_eq "$(pyjson 'd["metadatabase"]["status"]' <"$TMP/h.json")" healthy "database health"

http GET /api/v1/dags >"$TMP/dags.json"
expect_status 200 "list DAGs"
has_header 'Content-Type: application/json'
has_header 'Cache-Control: no-store'
if grep -qi '^Access-Control-' "$TMP/headers"; then fail "CORS headers sent: $(cat "$TMP/headers")"; fi
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/dags.json")" 2 "total_entries"
assert_eq "$(pyjson '[x["dag_id"] for x in d["dags"]]' <"$TMP/dags.json" | tr '\n' ' ')" "slowdemo webdemo " "dag ids"
keys=$(pyjson 'sorted(d["dags"][1].keys())' <"$TMP/dags.json" | tr '\n' ' ')
for k in dag_id description fileloc is_paused is_active has_import_errors schedule_interval tags \
  timezone max_active_runs max_active_tasks next_dagrun next_dagrun_create_after last_parsed_time; do
  case " $keys " in *" $k "*) ;; *) fail "DAG object lacks Airflow field $k: $keys" ;; esac
done
assert_eq "$(pyjson 'd["dags"][1]["tags"]' <"$TMP/dags.json")" '{"name": "web"}' "tags as Airflow objects"
# The description comes back as data, with markup characters \u-escaped.
grep -q '\\u003cscript\\u003e' "$TMP/dags.json" || fail "description not escaped in JSON: $(cat "$TMP/dags.json")"
if grep -q '<script>' "$TMP/dags.json"; then fail "raw <script> in an API answer"; fi
assert_eq "$(pyjson 'd["dags"][1]["description"]' <"$TMP/dags.json")" "<script>document.title='pwned'</script> demo" "description round trip"
http GET '/api/v1/dags?limit=1&offset=1' >"$TMP/page.json"
assert_eq "$(pyjson '[x["dag_id"] for x in d["dags"]]' <"$TMP/page.json")" webdemo "limit/offset"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/page.json")" 2 "total_entries with limit"
http GET '/api/v1/dags?limit=0' >/dev/null
expect_status 400 "limit=0"

http GET /api/v1/dags/webdemo >"$TMP/dag.json"
expect_status 200 "get DAG"
assert_eq "$(pyjson 'd["dag_id"]' <"$TMP/dag.json")" webdemo "get DAG id"
assert_eq "$(pyjson 'd["is_paused"]' <"$TMP/dag.json")" False "new DAG is not paused"

http GET /api/v1/dags/nope >"$TMP/err.json"
expect_status 404 "unknown DAG"
assert_eq "$(pyjson 'd["status"]' <"$TMP/err.json")" 404 "error status field"
assert_eq "$(pyjson 'd["title"]' <"$TMP/err.json")" "DAG not found" "error title"
assert_eq "$(pyjson 'd["detail"]' <"$TMP/err.json")" "DAG with dag_id: 'nope' not found" "error detail"
# An id that is not UTF-8 gets the same JSON error, the bytes replaced.
for p in /api/v1/dags/%FF /api/v1/dags/ok%C3/dagRuns /api/v1/dags/webdemo/dagRuns/%80%80 \
  /api/v1/dags/webdemo/dagRuns/r%ED%A0%80/taskInstances; do
  http GET "$p" >"$TMP/err.json"
  expect_status 404 "id not in UTF-8 ($p)"
  assert_eq "$(pyjson 'd["status"]' <"$TMP/err.json")" 404 "JSON error for an id not in UTF-8 ($p)"
  pyjson 'd["detail"]' <"$TMP/err.json" | grep -q $'\xef\xbf\xbd' ||
    fail "detail does not show the replaced bytes ($p): $(cat "$TMP/err.json")"
done

http GET /api/v1/importErrors >"$TMP/ie.json"
expect_status 200 "import errors"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/ie.json")" 1 "one import error"
pyjson 'd["import_errors"][0]["filename"]' <"$TMP/ie.json" | grep -q 'broken.yaml$' || fail "import error file"
pyjson 'd["import_errors"][0]["stack_trace"]' <"$TMP/ie.json" | grep -q 'broken.yaml:' || fail "import error text"
assert_eq "$(pyjson 'sorted(d["import_errors"][0].keys())' <"$TMP/ie.json" | tr '\n' ' ')" \
  "filename import_error_id stack_trace timestamp " "import error fields"

http GET /api/v1/version >"$TMP/v.json"
pyjson 'd["version"]' <"$TMP/v.json" | grep -qE '^[0-9]+\.[0-9]+' || fail "version"

http DELETE /api/v1/dags/webdemo >/dev/null
expect_status 405 "DELETE a DAG"
has_header 'Allow: GET, HEAD, PATCH'
http GET /api/v1/nothing >/dev/null
expect_status 404 "unknown endpoint"

# --- mutations need the token ---------------------------------------------------------
body='{"dag_run_id": "api_run_1", "conf": {"note": "<img src=x onerror=alert(1)>"}}'
http POST /api/v1/dags/webdemo/dagRuns -H 'Content-Type: application/json' -d "$body" >/dev/null
expect_status 401 "trigger without a token"
has_header 'WWW-Authenticate: Bearer'
http POST /api/v1/dags/webdemo/dagRuns -H "Authorization: Bearer wrong-$TOKEN" -d "$body" >/dev/null
expect_status 401 "trigger with a wrong token"
http POST /api/v1/dags/webdemo/dagRuns -H "Authorization: Bearer ${TOKEN}x" -d "$body" >/dev/null
expect_status 401 "trigger with a longer token"
http PATCH /api/v1/dags/webdemo -d '{"is_paused": true}' >/dev/null
expect_status 401 "pause without a token"
http POST /api/v1/dags/webdemo/clearTaskInstances -d '{"dag_run_id": "x"}' >/dev/null
expect_status 401 "clear without a token"
assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'webdemo'")" 0 "refused triggers left no run"

# --- trigger ------------------------------------------------------------------------------
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d "$body" >"$TMP/run.json"
expect_status 200 "trigger with the token"
assert_eq "$(pyjson 'd["dag_run_id"]' <"$TMP/run.json")" api_run_1 "triggered run id"
assert_eq "$(pyjson 'd["run_type"]' <"$TMP/run.json")" manual "run_type"
assert_eq "$(pyjson 'd["conf"]["note"]' <"$TMP/run.json")" "<img src=x onerror=alert(1)>" "conf round trip"
grep -q '\\u003cimg' "$TMP/run.json" || fail "conf not escaped in JSON"
keys=$(pyjson 'sorted(d.keys())' <"$TMP/run.json" | tr '\n' ' ')
for k in dag_id dag_run_id logical_date execution_date data_interval_start data_interval_end \
  start_date end_date state conf external_trigger run_type; do
  case " $keys " in *" $k "*) ;; *) fail "DAG run object lacks Airflow field $k: $keys" ;; esac
done
run_api_state() { curl -sS "$B/api/v1/dags/$1/dagRuns/$2" | pyjson 'd["state"]'; }
wait_for "[ \"\$(run_api_state webdemo api_run_1)\" = success ]" 20
log "run triggered through the API ran to success"

http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d "$body" >"$TMP/dup.json"
expect_status 409 "duplicate run id"
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d '{"conf": [1]}' >/dev/null
expect_status 400 "conf not an object"
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d '{"dag_run_id": "../x"}' >/dev/null
expect_status 400 "bad run id"
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d 'not json' >/dev/null
expect_status 400 "body not JSON"
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d '{"logical_date": "yesterday"}' >/dev/null
expect_status 400 "bad logical date"
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d '{"logical_date": "2026-04-31"}' >/dev/null
expect_status 400 "a day that does not exist"
grep -q "day 31 does not exist: April 2026 has 30 days" "$TMP/body" ||
  fail "no reason for 2026-04-31: $(cat "$TMP/body")"
http POST /api/v1/dags/nope/dagRuns "${auth[@]}" -d '{}' >/dev/null
expect_status 404 "trigger an unknown DAG"

# --- runs, task instances, tries ----------------------------------------------------------
http GET /api/v1/dags/webdemo/dagRuns >"$TMP/runs.json"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/runs.json")" 1 "runs total"
assert_eq "$(pyjson 'd["dag_runs"][0]["dag_run_id"]' <"$TMP/runs.json")" api_run_1 "runs list"
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances >"$TMP/tis.json"
expect_status 200 "task instances"
assert_eq "$(pyjson '[x["task_id"] for x in d["task_instances"]]' <"$TMP/tis.json" | tr '\n' ' ')" \
  "extract transform load " "task instances in DAG order"
assert_eq "$(pyjson '[x["state"] for x in d["task_instances"]]' <"$TMP/tis.json" | tr '\n' ' ')" \
  "success success success " "task states"
keys=$(pyjson 'sorted(d["task_instances"][0].keys())' <"$TMP/tis.json" | tr '\n' ' ')
for k in task_id dag_id dag_run_id execution_date start_date end_date duration state try_number \
  max_tries operator pid; do
  case " $keys " in *" $k "*) ;; *) fail "task instance lacks Airflow field $k: $keys" ;; esac
done
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/load >"$TMP/ti.json"
assert_eq "$(pyjson 'd["try_number"]' <"$TMP/ti.json")" 1 "one task instance"
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/nope >/dev/null
expect_status 404 "unknown task instance"
http GET /api/v1/dags/webdemo/dagRuns/nope >/dev/null
expect_status 404 "unknown run"
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/tries >"$TMP/tries.json"
assert_eq "$(pyjson 'd["total_entries"]' <"$TMP/tries.json")" 3 "tries of the run"
if grep -q log_path "$TMP/tries.json"; then fail "tries expose the log path"; fi

# --- grid -----------------------------------------------------------------------------------
http GET '/api/v1/dags/webdemo/grid?limit=5' >"$TMP/grid.json"
expect_status 200 grid
assert_eq "$(pyjson '[t["task_id"] for t in d["tasks"]]' <"$TMP/grid.json" | tr '\n' ' ')" \
  "extract transform load " "grid rows in DAG order"
assert_eq "$(pyjson '[t["states"][0] for t in d["tasks"]]' <"$TMP/grid.json" | tr '\n' ' ')" \
  "success success success " "grid states"
assert_eq "$(pyjson 'd["tasks"][2]["upstream"]' <"$TMP/grid.json")" transform "grid upstream"
assert_eq "$(pyjson '[r["dag_run_id"] for r in d["dag_runs"]]' <"$TMP/grid.json")" api_run_1 "grid runs"

# --- logs by ids ---------------------------------------------------------------------------------
L=/api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/extract/logs/1
http GET "$L" >"$TMP/log.txt"
expect_status 200 "log"
has_header 'Content-Type: text/plain'
grep -q 'extracted rows=42' "$TMP/log.txt" || fail "log content: $(cat "$TMP/log.txt")"
size=$(wc -c <"$TMP/log.txt")
http GET "$L?offset=5" >"$TMP/tail.txt"
assert_eq "$(wc -c <"$TMP/tail.txt")" $((size - 5)) "log from an offset"
assert_eq "$(tail -c +6 "$TMP/log.txt" | md5sum)" "$(md5sum <"$TMP/tail.txt")" "offset content"
http GET "$L?offset=$size" >"$TMP/none.txt"
expect_status 200 "log at its end"
assert_eq "$(wc -c <"$TMP/none.txt")" 0 "nothing after the end"
http GET "$L" -H 'Range: bytes=0-9' >"$TMP/range.txt"
expect_status 206 "log range"
has_header "Content-Range: bytes 0-9/$size"
assert_eq "$(wc -c <"$TMP/range.txt")" 10 "range length"
# The page shows a big log's tail and loads earlier parts on demand:
# ?tail=N and ?offset=A&limit=N, each answer saying where it starts.
http GET "$L?tail=10" >"$TMP/last.txt"
expect_status 200 "log tail"
assert_eq "$(md5sum <"$TMP/last.txt")" "$(tail -c 10 "$TMP/log.txt" | md5sum)" "log tail content"
has_header "X-Log-Start: $((size - 10))"
has_header "X-Log-Size: $size"
http GET "$L?tail=$((size + 100))" >"$TMP/last.txt"
assert_eq "$(md5sum <"$TMP/last.txt")" "$(md5sum <"$TMP/log.txt")" "a tail longer than the log"
has_header "X-Log-Start: 0"
http GET "$L?offset=3&limit=7" >"$TMP/part.txt"
expect_status 200 "log part"
assert_eq "$(md5sum <"$TMP/part.txt")" "$(tail -c +4 "$TMP/log.txt" | head -c 7 | md5sum)" "log part content"
has_header "X-Log-Start: 3"
http GET "$L?offset=$((size - 2))&limit=7" >"$TMP/part.txt"
assert_eq "$(wc -c <"$TMP/part.txt")" 2 "a part cut at the end of the log"
http GET "$L?offset=1&tail=5" >/dev/null
expect_status 400 "tail with offset"
http GET "$L?limit=0" >/dev/null
expect_status 400 "limit 0"
http GET "$L?download=true" >/dev/null
has_header 'Content-Disposition: attachment; filename="webdemo__api_run_1__extract__1.log"'
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/extract/logs/7 >/dev/null
expect_status 404 "missing try"
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/extract/logs/x >/dev/null
expect_status 400 "try not a number"
# Climbing out of the logs folder, however spelled, is refused.
for p in \
  '/api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/extract/logs/..' \
  '/api/v1/dags/webdemo/dagRuns/../taskInstances/extract/logs/1' \
  '/api/v1/dags/webdemo/dagRuns/%2e%2e/taskInstances/extract/logs/1' \
  '/api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/..%2F..%2F..%2Fetc%2Fpasswd/logs/1' \
  '/api/v1/dags/webdemo/dagRuns/a..b/taskInstances/extract/logs/1' \
  '/api/v1/dags/..%5C..%5Cetc/dagRuns/r/taskInstances/t/logs/1'; do
  http GET "$p" --path-as-is >"$TMP/trav.txt"
  case $(status) in 400 | 404) ;; *) fail "$p: HTTP $(status)" ;; esac
  if grep -q 'root:' "$TMP/trav.txt"; then fail "$p leaked a file"; fi
done
# Two dots inside an id are not a climb: run v1..2 is valid, its log served.
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d '{"dag_run_id": "v1..2"}' >/dev/null
expect_status 200 "trigger run v1..2"
wait_run webdemo v1..2 20 >/dev/null # failed: its conf lacks "note"; extract ran
http GET /api/v1/dags/webdemo/dagRuns/v1..2/taskInstances/extract/logs/1 >"$TMP/dots.txt"
expect_status 200 "log of run v1..2"
grep -q 'extracted rows=42' "$TMP/dots.txt" || fail "log of run v1..2: $(cat "$TMP/dots.txt")"
for bad in . .. .x; do
  http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" -d "{\"dag_run_id\": \"$bad\"}" >/dev/null
  expect_status 400 "trigger run '$bad'"
done
# A store row pointing outside the folder is refused as well.
sql "UPDATE task_try SET log_path = '../dagctl.db' WHERE task_id = 'load'" >/dev/null
http GET /api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/load/logs/1 >/dev/null
expect_status 400 "stored path with '..'"

# --- live log of a running task ----------------------------------------------------------------------
http POST /api/v1/dags/slowdemo/dagRuns "${auth[@]}" -d '{"dag_run_id": "slow1"}' >/dev/null
expect_status 200 "trigger slowdemo"
SL=/api/v1/dags/slowdemo/dagRuns/slow1/taskInstances/tick/logs/1
wait_for "curl -sf '$B$SL' | grep -q 'tick 2'" 10
state=$(curl -sS "$B/api/v1/dags/slowdemo/dagRuns/slow1/taskInstances/tick" | pyjson 'd["state"]')
assert_eq "$state" running "tick is running while its log grows"
first=$(curl -sS "$B$SL" | wc -c)
wait_for "[ \"\$(run_api_state slowdemo slow1)\" = success ]" 20
rest=$(curl -sS "$B$SL?offset=$first")
grep -q 'tick 8' <<<"$rest" || fail "the log's tail after offset $first lacks the last tick: $rest"

# --- pause ----------------------------------------------------------------------------------------------
http PATCH /api/v1/dags/webdemo "${auth[@]}" -d '{"is_paused": true}' >"$TMP/p.json"
expect_status 200 pause
assert_eq "$(pyjson 'd["is_paused"]' <"$TMP/p.json")" True "paused in the answer"
assert_eq "$(sql "SELECT is_paused FROM dag WHERE dag_id = 'webdemo'")" 1 "paused in the store"
# The DAG list is cached while the database is unchanged: a change made
# through the API, or by another process, shows at once.
paused_in_list() { curl -sS "$B/api/v1/dags" | pyjson '[x["is_paused"] for x in d["dags"] if x["dag_id"] == "webdemo"][0]'; }
assert_eq "$(paused_in_list)" True "pause shows in the DAG list"
sql "UPDATE dag SET description = 'changed elsewhere' WHERE dag_id = 'webdemo'" >/dev/null
assert_eq "$(curl -sS "$B/api/v1/dags" | pyjson '[x["description"] for x in d["dags"] if x["dag_id"] == "webdemo"][0]')" \
  "changed elsewhere" "another process's change shows in the DAG list"
http PATCH /api/v1/dags/webdemo "${auth[@]}" -d '{"is_paused": "yes"}' >/dev/null
expect_status 400 "is_paused not a boolean"
http PATCH '/api/v1/dags/webdemo?update_mask=description' "${auth[@]}" -d '{"is_paused": false}' >/dev/null
expect_status 400 "update_mask other than is_paused"
http PATCH /api/v1/dags/webdemo "${auth[@]}" -d '{"is_paused": false}' >"$TMP/p.json"
assert_eq "$(pyjson 'd["is_paused"]' <"$TMP/p.json")" False "unpaused"
assert_eq "$(paused_in_list)" False "unpause shows in the DAG list"

# --- clear ----------------------------------------------------------------------------------------------
# Airflow's default is a dry run: nothing changes.
http POST /api/v1/dags/webdemo/clearTaskInstances "${auth[@]}" \
  -d '{"dag_run_id": "api_run_1", "task_ids": ["transform"], "include_downstream": true}' >"$TMP/dry.json"
expect_status 200 "clear (dry run)"
assert_eq "$(pyjson '[x["task_id"] for x in d["task_instances"]]' <"$TMP/dry.json" | tr '\n' ' ')" \
  "transform load " "tasks a clear would touch"
assert_eq "$(run_api_state webdemo api_run_1)" success "dry run changed nothing"
http POST /api/v1/dags/webdemo/clearTaskInstances "${auth[@]}" \
  -d '{"dag_run_id": "api_run_1", "task_ids": ["transform"], "include_downstream": true, "dry_run": false}' >"$TMP/clr.json"
expect_status 200 "clear"
assert_eq "$(pyjson 'sorted(d["task_instances"][0].keys())' <"$TMP/clr.json" | tr '\n' ' ')" \
  "dag_id dag_run_id execution_date task_id " "cleared task reference fields"
tries_of() { curl -sS "$B/api/v1/dags/webdemo/dagRuns/api_run_1/taskInstances/$1" | pyjson 'd["try_number"]'; }
wait_for "[ \"\$(tries_of load)\" = 2 ] && [ \"\$(run_api_state webdemo api_run_1)\" = success ]" 20
assert_eq "$(tries_of transform)" 2 "transform ran again"
assert_eq "$(tries_of extract)" 1 "extract was not cleared"
http POST /api/v1/dags/webdemo/clearTaskInstances "${auth[@]}" -d '{"dag_run_id": "api_run_1", "task_ids": ["nope"], "dry_run": false}' >/dev/null
expect_status 400 "clear an unknown task"
http POST /api/v1/dags/webdemo/clearTaskInstances "${auth[@]}" -d '{"task_ids": ["load"]}' >/dev/null
expect_status 400 "clear without dag_run_id"

# --- limits -------------------------------------------------------------------------------------------------
big=$(head -c 20000 /dev/zero | tr '\0' a)
http GET /api/v1/dags -H "X-Big: $big" >/dev/null
expect_status 431 "16 KiB of headers"
head -c $((1024 * 1024 + 10)) /dev/zero >"$TMP/big.bin"
http POST /api/v1/dags/webdemo/dagRuns "${auth[@]}" --data-binary "@$TMP/big.bin" >/dev/null
expect_status 413 "a body over 1 MiB"
printf 'GARBAGE\r\n\r\n' >"$TMP/garbage.txt"
reply=$(python3 - "$PORT" <<'EOF2'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GARBAGE\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode())
EOF2
)
assert_eq "$reply" "HTTP/1.1 400 Bad Request" "garbage request"

# --- pages: assets from the binary, values only ever inserted as text --------------------------------------
http GET / >"$TMP/index.html"
expect_status 200 "DAG list page"
has_header 'Content-Type: text/html'
has_header "Content-Security-Policy: default-src 'none'; script-src 'self'"
http GET /dags/webdemo >"$TMP/dag.html"
expect_status 200 "DAG page"
http GET /dags/webdemo/runs/api_run_1/tasks/extract/tries/1 >/dev/null
expect_status 200 "try page"
for js in common.js dags.js dag.js try.js; do
  http GET "/static/$js" >"$TMP/$js"
  expect_status 200 "$js"
  if grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(' "$TMP/$js"; then
    fail "$js inserts markup"
  fi
done
grep -q 'textContent' "$TMP/common.js" || fail "common.js does not use textContent"
http GET /static/nope.js >/dev/null
expect_status 404 "unknown asset"
http GET /nope -H 'Accept: text/html' >"$TMP/404.html"
expect_status 404 "unknown page"
http GET '/%3Cscript%3Ealert(1)%3C%2Fscript%3E' -H 'Accept: text/html' >"$TMP/404.html"
if grep -q '<script>' "$TMP/404.html"; then fail "404 page reflects markup: $(cat "$TMP/404.html")"; fi

# --- /metrics -------------------------------------------------------------------------------------------------
http GET /metrics >"$TMP/metrics.txt"
expect_status 200 metrics
has_header 'Content-Type: text/plain; version=0.0.4'
python3 - "$TMP/metrics.txt" <<'EOF2' || fail "/metrics is not valid Prometheus text: $(cat "$TMP/metrics.txt")"
import re, sys
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')
samples, types = {}, {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        types[name] = kind
        continue
    if line.startswith("#") or not line:
        continue
    m = line_re.match(line)
    assert m, "bad line: " + line
    samples[m.group(1) + (m.group(2) or "")] = float(m.group(5))
need = ['dagctl_task_instances{dag_id="webdemo",state="success"}',
        'dagctl_dag_runs{dag_id="webdemo",state="success"}',
        'dagctl_task_duration_seconds_count{dag_id="webdemo",task_id="extract"}',
        'dagctl_task_duration_seconds_sum{dag_id="webdemo",task_id="extract"}',
        'dagctl_task_duration_seconds_bucket{dag_id="webdemo",task_id="extract",le="+Inf"}',
        'dagctl_scheduler_loop_lag_seconds', 'dagctl_dag_processing_import_errors',
        'dagctl_executor_queued_tasks', 'dagctl_scheduler_tasks_running', 'dagctl_alerts_pending',
        'dagctl_alerts{state="queued"}']
for n in need:
    assert n in samples, "missing " + n
assert types["dagctl_task_duration_seconds"] == "histogram"
assert samples['dagctl_task_instances{dag_id="webdemo",state="success"}'] >= 4
assert sum(v for k, v in samples.items()
           if k.startswith('dagctl_dag_runs{') and k.endswith(',state="success"}')) == 2
assert samples['dagctl_dag_processing_import_errors'] == 1  # broken.yaml
total = sum(v for k, v in samples.items() if k.startswith("dagctl_task_duration_seconds_count{"))
assert total >= 6, total
buckets = [v for k, v in samples.items()
           if k.startswith('dagctl_task_duration_seconds_bucket{dag_id="webdemo",task_id="extract"')]
assert buckets == sorted(buckets), "buckets not cumulative"
assert 0 <= samples['dagctl_scheduler_loop_lag_seconds'] < 1
assert samples['dagctl_scheduler_tasks_running'] == 0
assert samples['dagctl_alerts_pending'] == samples['dagctl_alerts{state="queued"}']
EOF2

# --- dagctl webserver on the same database --------------------------------------------------------------------
"$DAGCTL_BIN" webserver --port 0 >"$TMP/webserver.log" 2>&1 &
WS_PID=$!
SCHED_PIDS+=("$WS_PID")
wait_for "grep -q 'web server listening' '$TMP/webserver.log'" 10
WS=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/webserver.log")
assert_eq "$(curl -sS "${WS}api/v1/dags" | pyjson 'd["total_entries"]')" 2 "webserver lists the DAGs"
assert_eq "$(curl -sS "${WS}api/v1/health" | pyjson 'd["scheduler"]["status"]')" healthy "webserver sees the scheduler"
curl -sS "${WS}metrics" | grep -qx 'dagctl_scheduler_up 0' || fail "webserver claims to schedule"

# dagctl webserver reads the database through a read-only handle; its
# changes go through a short-lived read-write handle of their own.
code=$(curl -sS -o "$TMP/pause.json" -w '%{http_code}' -X PATCH "${WS}api/v1/dags/slowdemo" \
  "${auth[@]}" -d '{"is_paused": true}')
assert_eq "$code" 200 "pause through dagctl webserver: $(cat "$TMP/pause.json")"
assert_eq "$(sql "SELECT is_paused FROM dag WHERE dag_id = 'slowdemo'")" 1 "paused through dagctl webserver"
curl -sS -X PATCH "${WS}api/v1/dags/slowdemo" "${auth[@]}" -d '{"is_paused": false}' >/dev/null
assert_eq "$(sql "SELECT is_paused FROM dag WHERE dag_id = 'slowdemo'")" 0 "unpaused through dagctl webserver"
# While another process holds the write lock, a change is answered 503 at
# once (try again), never after a wait that would stall every page.
"$PYTHON" - "$DAGCTL_HOME/dagctl.db" "$TMP/lock" <<'EOF2' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2] + ".held", "w").close()
while not os.path.exists(sys.argv[2] + ".release"):
    time.sleep(0.02)
db.execute("ROLLBACK")
EOF2
LOCK_PID=$!
SCHED_PIDS+=("$LOCK_PID")
wait_for "[ -e '$TMP/lock.held' ]" 10
code=$(curl -sS -m 5 -o "$TMP/locked.json" -D "$TMP/locked.h" -w '%{http_code}' -X PATCH \
  "${WS}api/v1/dags/slowdemo" "${auth[@]}" -d '{"is_paused": true}')
assert_eq "$code" 503 "pause while the database is locked: $(cat "$TMP/locked.json")"
grep -qi '^Retry-After: 1' "$TMP/locked.h" || fail "no Retry-After on 503: $(cat "$TMP/locked.h")"
grep -q 'locked' "$TMP/locked.json" || fail "503 does not say why: $(cat "$TMP/locked.json")"
assert_eq "$(curl -sS -m 5 "${WS}api/v1/dags" | pyjson 'd["total_entries"]')" 2 "pages while the database is locked"
touch "$TMP/lock.release"
wait "$LOCK_PID"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH "${WS}api/v1/dags/slowdemo" "${auth[@]}" \
  -d '{"is_paused": false}')
assert_eq "$code" 200 "pause once the lock is gone"
kill -TERM "$WS_PID"
wait_for "! proc_alive $WS_PID" 5

# It never creates, migrates or writes a database on its own.
# webserver_refuses HOME WHAT: dagctl webserver on HOME exits 4 saying WHAT.
webserver_refuses() {
  local rc=0
  timeout 10 "$DAGCTL_BIN" webserver --home "$1" --port 0 >"$TMP/ws-refused.log" 2>&1 || rc=$?
  assert_eq "$rc" 4 "dagctl webserver on $1"
  grep -q -- "$2" "$TMP/ws-refused.log" || fail "dagctl webserver on $1 says: $(cat "$TMP/ws-refused.log")"
  if grep -q 'web server listening\|applied migration' "$TMP/ws-refused.log"; then
    fail "dagctl webserver served or migrated $1: $(cat "$TMP/ws-refused.log")"
  fi
}
mkdir -p "$TMP/nodb"
webserver_refuses "$TMP/nodb" "no database at $TMP/nodb/dagctl.db"
[ ! -e "$TMP/nodb/dagctl.db" ] || fail "dagctl webserver created a database"
latest=$(sql "SELECT max(version) FROM schema_migrations")
for case in older newer; do
  mkdir -p "$TMP/$case"
  sqlite3 "$DAGCTL_HOME/dagctl.db" ".backup '$TMP/$case/dagctl.db'"
  if [ $case = older ]; then
    sqlite3 "$TMP/$case/dagctl.db" "DELETE FROM schema_migrations WHERE version = $latest"
  else
    sqlite3 "$TMP/$case/dagctl.db" "INSERT INTO schema_migrations VALUES ($((latest + 1)), 'future', 0)"
  fi
  before=$(sqlite3 "$TMP/$case/dagctl.db" "SELECT group_concat(version) FROM schema_migrations")
  webserver_refuses "$TMP/$case" "schema version .* is $case than this dagctl"
  assert_eq "$(sqlite3 "$TMP/$case/dagctl.db" "SELECT group_concat(version) FROM schema_migrations")" \
    "$before" "migrations of the $case database"
done

# A database file made read-only is still served. Root writes through file
# modes, so the server then runs as nobody. SQLite's WAL mode lets a reader
# create the -shm file beside the database: the folder stays writable.
mkdir -p "$TMP/ro"
sqlite3 "$DAGCTL_HOME/dagctl.db" ".backup '$TMP/ro/dagctl.db'"
cp "$DAGCTL_HOME/dagctl.yaml" "$TMP/ro/dagctl.yaml"
sum_before=$(sha256sum <"$TMP/ro/dagctl.db")
chmod 444 "$TMP/ro/dagctl.db" "$TMP/ro/dagctl.yaml"
chmod 755 "$TMP"
as_reader=()
if [ "$(id -u)" = 0 ]; then
  as_reader=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chown 65534 "$TMP/ro"
fi
"${as_reader[@]}" "$DAGCTL_BIN" webserver --home "$TMP/ro" --port 0 >"$TMP/webserver-ro.log" 2>&1 &
WS_PID=$!
SCHED_PIDS+=("$WS_PID")
wait_for "grep -q 'web server listening' '$TMP/webserver-ro.log' || ! proc_alive $WS_PID" 10
proc_alive "$WS_PID" || fail "dagctl webserver on a read-only database: $(cat "$TMP/webserver-ro.log")"
WS=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/webserver-ro.log")
assert_eq "$(curl -sS "${WS}api/v1/dags" | pyjson 'd["total_entries"]')" 2 "read-only webserver lists the DAGs"
code=$(curl -sS -o /dev/null -w '%{http_code}' "${WS}dags/webdemo")
assert_eq "$code" 200 "read-only webserver serves the DAG page"
assert_eq "$(curl -sS "${WS}api/v1/dags/webdemo/dagRuns" | pyjson 'd["total_entries"]')" \
  "$(sql "SELECT count(*) FROM dag_run WHERE dag_id = 'webdemo'")" "read-only webserver lists runs"
# A change cannot be saved there, and says so.
code=$(curl -sS -o "$TMP/ro-pause.json" -w '%{http_code}' -X PATCH "${WS}api/v1/dags/slowdemo" \
  "${auth[@]}" -d '{"is_paused": true}')
assert_eq "$code" 500 "pause on a read-only database"
grep -qi 'read-only\|readonly' "$TMP/ro-pause.json" || fail "pause on a read-only database: $(cat "$TMP/ro-pause.json")"
kill -TERM "$WS_PID"
wait_for "! proc_alive $WS_PID" 5
if grep -q 'applied migration' "$TMP/webserver-ro.log"; then fail "read-only webserver migrated"; fi
assert_eq "$(sha256sum <"$TMP/ro/dagctl.db")" "$sum_before" "the read-only database is unchanged"

# Without web.token, a token that was web.token is refused as a wrong
# credential, with a message naming both kinds of token.
cat >"$TMP/notoken.yaml" <<EOF2
core:
  log_level: info
EOF2
"$DAGCTL_BIN" webserver --config "$TMP/notoken.yaml" --port 0 >"$TMP/webserver2.log" 2>&1 &
WS_PID=$!
SCHED_PIDS+=("$WS_PID")
wait_for "grep -q 'web server listening' '$TMP/webserver2.log'" 10
WS=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/webserver2.log")
code=$(curl -sS -o "$TMP/403.json" -w '%{http_code}' -X POST "${WS}api/v1/dags/webdemo/dagRuns" \
  -H "Authorization: Bearer $TOKEN" -d '{}')
assert_eq "$code" 401 "trigger with no token configured"
grep -q 'dagctl tokens create) nor web.token' "$TMP/403.json" ||
  fail "401 does not name the tokens it takes: $(cat "$TMP/403.json")"
kill -TERM "$WS_PID"
wait_for "! proc_alive $WS_PID" 5

# A sanitizer build reports into the log (lib.sh checks the scheduler's).
if grep -hE -A20 'Sanitizer|runtime error:' "$TMP"/webserver*.log; then fail "sanitizer report from dagctl webserver"; fi
grep -q 'web server stopped' "$TMP/webserver.log" || fail "dagctl webserver did not stop cleanly"

stop_scheduler
grep -q 'scheduler stopped' "$SCHED_LOG" || fail "the scheduler did not stop cleanly"
