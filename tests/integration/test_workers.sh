#!/usr/bin/env bash
# core.executor: workers on one SQLite home: a scheduler queues tries and
# `dagctl worker` processes claim and run them. Every task runs exactly
# once and never on two workers at once (each appends to a trace under
# flock and records any overlap); a task's queue routes it; a scheduler
# restarted mid-run takes the workers' running tries back; a worker killed
# mid-task has its try retried on another within 15 s; a worker cut off
# (stopped with SIGSTOP past core.worker_timeout) has its try re-run
# elsewhere, and its late result is refused and logged. /metrics and the
# page's Workers view (and its API) list the workers.
. "$(dirname "$0")/lib.sh"
need flock

cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  executor: workers
  worker_timeout: 2s
EOF

# trace.sh SLEEP: trace_try.sh, recording each try's start and end.
cp "$(dirname "$0")/trace_try.sh" "$TMP/trace.sh"
chmod +x "$TMP/trace.sh"
export TMP_TRACE=$TMP/trace
touch "$TMP_TRACE"

WORKER_PIDS=()
# start_worker NAME [ARGS...]: a worker whose tasks see WORKER_NAME=NAME;
# waits until it has registered. Sets WORKER_PID.
start_worker() {
  local name=$1
  shift
  WORKER_NAME=$name "$DAGCTL_BIN" worker "$@" >"$TMP/worker.$name.log" 2>&1 &
  WORKER_PID=$!
  disown "$WORKER_PID"
  SCHED_PIDS+=("$WORKER_PID")
  WORKER_PIDS+=("$WORKER_PID")
  wait_for "grep -q 'worker starting' '$TMP/worker.$name.log' &&
            [ \"\$(sql \"SELECT state FROM worker WHERE id LIKE '%:$WORKER_PID:%'\")\" = active ]" 10
}

# --- every task exactly once, queues route ---------------------------------------

{
  printf 'dag_id: wide\ntasks:\n'
  printf '  - {id: first, command: %s/trace.sh 0}\n' "$TMP"
  for i in $(seq 1 40); do
    printf '  - {id: t%02d, command: %s/trace.sh 0.05, upstream: [first]}\n' "$i" "$TMP"
  done
  for i in $(seq 1 6); do
    printf '  - {id: q%d, command: %s/trace.sh 0.05, queue: special, upstream: [first]}\n' "$i" "$TMP"
  done
  printf '  - {id: last, command: %s/trace.sh 0, upstream: [' "$TMP"
  for i in $(seq 1 40); do printf 't%02d, ' "$i"; done
  printf 'q1, q2, q3, q4, q5, q6]}\n'
} | write_dag wide

start_scheduler wide
start_worker w1 --concurrency 4
start_worker w2 --queues default,special --concurrency 4
dagctl dags unpause wide >/dev/null
run=$(trigger wide)
assert_eq "$(wait_run wide "$run" 60)" success "run on two workers"
# What each try cost comes back from the workers as from local tries.
assert_eq "$(sql "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$run' AND (t.max_rss_kb > 0 AND t.wall_us > 0)")" 48 \
  "tries with their peak memory and wall time"
assert_eq "$(grep -c "^start $run/" "$TMP/trace")" 48 "tries started"
assert_eq "$(grep "^start $run/" "$TMP/trace" | awk '{print $2}' | sort -u | wc -l)" 48 \
  "tasks that ran (each exactly once)"
assert_eq "$(grep -c '^overlap' "$TMP/trace" || true)" 0 "tasks running twice at once"
assert_eq "$(grep "^start $run/q" "$TMP/trace" | awk '{print $3}' | sort -u)" w2 \
  "the worker that ran the special queue's tasks"
used=$(grep "^start $run/t" "$TMP/trace" | awk '{print $3}' | sort -u | tr '\n' ' ')
assert_eq "$used" "w1 w2 " "workers that ran default-queue tasks"
assert_eq "$(sql "SELECT count(*) FROM task_claim c JOIN dag_run r ON r.id = c.run_pk
                  WHERE r.run_id = '$run' AND c.state = 'recorded'")" 48 "claims recorded"
# The try's log is where `dagctl logs` looks, with the worker's end line.
dagctl logs wide "$run" t01 | grep -q 'ended on worker' ||
  fail "the log of a worker's try lacks its end line"

# /metrics shows each worker: up, its queues, load and capacity.
need curl
[ -n "$SCHED_URL" ] || fail "the scheduler did not serve its page"
metrics=$(curl -sf "${SCHED_URL%/}/metrics")
w2id=$(sql "SELECT id FROM worker WHERE queues LIKE '%special%'")
grep -qF "dagctl_worker_up{worker=\"$w2id\",host=\"$(hostname)\",queues=\"[\\\"default\\\",\\\"special\\\"]\",state=\"active\"} 1" <<<"$metrics" ||
  fail "/metrics lacks worker $w2id as up: $(grep dagctl_worker_up <<<"$metrics")"
grep -qF "dagctl_worker_concurrency{worker=\"$w2id\"} 4" <<<"$metrics" ||
  fail "/metrics lacks worker $w2id's concurrency"
assert_eq "$(grep -c '^dagctl_worker_running{' <<<"$metrics")" 2 "workers in dagctl_worker_running"

# The page's Workers view: its API, then the view as Chromium built it.
w1id=$(sql "SELECT id FROM worker WHERE queues NOT LIKE '%special%'")
curl -sf "${SCHED_URL%/}/api/v1/ui/workers" >"$TMP/workers.json" || fail "GET /api/v1/ui/workers"
assert_eq "$(pyjson '" ".join("%s|%s|%s|%s|%s|%s" % (w["worker_id"], w["hostname"], ",".join(w["queues"]),
                 w["state"], w["concurrency"], w["latest_heartbeat"] is not None) for w in d["workers"])' \
             <"$TMP/workers.json")" \
  "$(printf '%s\n' "$w1id|$(hostname)|default|active|4|True" "$w2id|$(hostname)|default,special|active|4|True" |
     sort | tr '\n' ' ' | sed 's/ $//')" "the workers in /api/v1/ui/workers"
need chromium
timeout 90 "$(command -v chromium)" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=6000 \
  --dump-dom "${SCHED_URL%/}/" 2>"$TMP/chromium.log" </dev/null >"$TMP/dags.dom"
[ -s "$TMP/dags.dom" ] || fail "chromium dumped no DOM: $(tail -n 5 "$TMP/chromium.log")"
"$PYTHON" - "$TMP/dags.dom" "$w1id" "$w2id" <<'PY' || fail "the page's Workers view"
import sys
from html.parser import HTMLParser
dom, w1, w2 = sys.argv[1:]
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cur, self.hidden = {}, None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "workers":
            self.hidden = "hidden" in a
        if tag == "tr" and "data-worker" in a:
            self.cur = a["data-worker"]
            self.rows[self.cur] = []
    def handle_endtag(self, tag):
        if tag == "tr":
            self.cur = None
    def handle_data(self, data):
        if self.cur and data.strip():
            self.rows[self.cur].append(data.strip())
p = P()
p.feed(open(dom).read())
assert p.hidden is False, ("the Workers view is hidden", p.hidden)
assert sorted(p.rows) == sorted([w1, w2]), p.rows
assert p.rows[w2][2:5] == ["default", "special", "active"], p.rows[w2]
assert p.rows[w1][2:4] == ["default", "active"], p.rows[w1]
assert p.rows[w1][4].endswith("/4") and p.rows[w1][5].endswith(" ago"), p.rows[w1]
PY

# --- a scheduler restarted while workers run its tries ----------------------------------

write_dag slow <<EOF
dag_id: slow
tasks:
  - {id: s1, command: $TMP/trace.sh 1.5}
  - {id: s2, command: $TMP/trace.sh 1.5}
  - {id: after, command: $TMP/trace.sh 0, upstream: [s1, s2]}
EOF
wait_for "dagctl dags list --json | grep -q '\"slow\"'" 10
dagctl dags unpause slow >/dev/null
run=$(trigger slow)
wait_for "[ \$(grep -c '^start $run/s' '$TMP/trace') -eq 2 ]" 10
stop_scheduler
start_scheduler wide slow
assert_eq "$(wait_run slow "$run" 30)" success "run across a scheduler restart"
assert_eq "$(grep -c "^start $run/" "$TMP/trace")" 3 "tries of the restarted run (each once)"

# --- a worker killed mid-task --------------------------------------------------------------

write_dag crash <<EOF
dag_id: crash
tasks:
  - {id: long, command: $TMP/trace.sh 3, retries: 1, retry_delay: 0s}
EOF
wait_for "dagctl dags list --json | grep -q '\"crash\"'" 10
dagctl dags unpause crash >/dev/null
run=$(trigger crash)
wait_for "grep -q '^start $run/long ' '$TMP/trace'" 10
victim=$(grep "^start $run/long " "$TMP/trace" | awk '{print $3}')
if [ "$victim" = w1 ]; then vpid=${WORKER_PIDS[0]}; else vpid=${WORKER_PIDS[1]}; fi
t0=$(now_us)
kill -9 "$vpid"
wait_for "[ \$(grep -c '^start $run/long ' '$TMP/trace') -eq 2 ]" 15
log "retried on another worker $(us_to_s "$t0" "$(now_us)")s after the kill"
assert_eq "$(wait_run crash "$run" 20)" success "run of a killed worker's task"
second=$(grep "^start $run/long " "$TMP/trace" | tail -n 1 | awk '{print $3 " " $4}')
[ "${second% *}" != "$victim" ] || fail "the retry ran on the killed worker $victim"
assert_eq "${second#* }" 2 "the retry's try number"
# The killed worker's task was stopped with it (its supervisor is tied to
# the worker), not left to run beside its retry.
assert_eq "$(grep -c "^overlap $run/" "$TMP/trace" || true)" 0 "a killed worker's task running beside its retry"
grep -q "^end $run/long $victim 1 stopped" "$TMP/trace" || fail "the killed worker's task was not stopped"
assert_eq "$(sql "SELECT error FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$run' AND t.try_number = 1")" \
  "its worker $(sql "SELECT worker_id FROM task_claim c JOIN dag_run r ON r.id = c.run_pk
                     WHERE r.run_id = '$run' AND c.try_number = 1") stopped heartbeating (core.worker_timeout)" \
  "why the first try failed"

# --- a worker cut off: re-run elsewhere, its late result refused ----------------------------

# Fresh workers, so that the cut-off one is known.
for pid in "${WORKER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${WORKER_PIDS[@]}"; do wait_for "! proc_alive $pid" 10; done
WORKER_PIDS=()
start_worker w3
cutpid=$WORKER_PID
write_dag cut <<EOF
dag_id: cut
tasks:
  - {id: long, command: $TMP/trace.sh 2, retries: 1, retry_delay: 0s}
EOF
wait_for "dagctl dags list --json | grep -q '\"cut\"'" 10
dagctl dags unpause cut >/dev/null
run=$(trigger cut)
wait_for "grep -q '^start $run/long w3 1' '$TMP/trace'" 10
kill -STOP "$cutpid"
start_worker w4
wait_for "grep -q '^start $run/long w4 2' '$TMP/trace'" 15
# The cut-off worker's task ran on (its supervisor is not the worker): let
# it end, then bring the worker back.
wait_for "grep -q '^end $run/long w3 1' '$TMP/trace'" 10
kill -CONT "$cutpid"
wait_for "grep -q 'late result refused' '$TMP/worker.w3.log'" 10
assert_eq "$(wait_run cut "$run" 20)" success "run of a cut-off worker's task"
assert_eq "$(sql "SELECT ti.state || ' ' || ti.try_number FROM task_instance ti JOIN dag_run r
                  ON r.id = ti.run_pk WHERE r.run_id = '$run'")" "success 2" \
  "the task instance keeps the second try's result"
dagctl logs cut "$run" long --try 1 | grep -q 'result refused' ||
  fail "the first try's log does not say its result was refused"
# The worker serves again once it is back.
wait_for "[ \"\$(sql \"SELECT state FROM worker WHERE id LIKE '%:$cutpid:%'\")\" = active ]" 10
