# lib.sh - shared by the integration tests (source it first).
#
# Each test gets a private DAGCTL_HOME and DAG folder under one temporary
# directory, removed on exit together with every scheduler and task process
# the test started. Tests wait for events by polling a condition with a
# deadline (wait_for), never with a bare sleep.
#
# Environment (set by ctest): DAGCTL_BIN, FAKE_TASK, DAGCTL_SOURCE_DIR,
# DAGCTL_BUILD_DIR. KEEP_TMP=1 keeps the temporary directory for a post-mortem.

set -Eeuo pipefail

: "${DAGCTL_BIN:?DAGCTL_BIN must name the dagctl binary}"
if [ -z "${FAKE_TASK:-}" ] && [ -n "${DAGCTL_BUILD_DIR:-}" ]; then
  FAKE_TASK=$DAGCTL_BUILD_DIR/tests/fake_task
fi
: "${FAKE_TASK:?FAKE_TASK must name the fake_task helper}"
[ -x "$DAGCTL_BIN" ] || { echo "not executable: $DAGCTL_BIN" >&2; exit 1; }
[ -x "$FAKE_TASK" ] || { echo "not executable: $FAKE_TASK" >&2; exit 1; }
export FAKE_TASK

# need TOOL...: tools this test cannot run without. A missing tool fails the
# test, never skips it: a skipped suite would let `make test` pass with a
# whole area unchecked. .ci/install-deps.sh test installs every one of them.
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 && continue
    printf '[%s] FAIL: missing tool: %s (run .ci/install-deps.sh test)\n' \
      "$(basename "$0" .sh)" "$t" >&2
    FAILED=1
    exit 1
  done
}
# Every test asserts with python3 and reads the state store with sqlite3.
need python3 sqlite3

# need_s3rver: node and s3rver's modules, which .ci/install-deps.sh test
# installs into tests/integration/s3rver (npm ci); sets S3RVER_DIR.
need_s3rver() {
  need node
  S3RVER_DIR=${DAGCTL_SOURCE_DIR:?DAGCTL_SOURCE_DIR must name the sources}/tests/integration/s3rver
  [ -d "$S3RVER_DIR/node_modules/s3rver" ] ||
    fail "missing tool: s3rver in $S3RVER_DIR/node_modules (run .ci/install-deps.sh test)"
}

# The interpreter itself: a version manager's python3 shim costs a tenth of
# a second per call, and assertions call it often.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
export PYTHON

# Nothing from the caller's environment may leak into a test's settings.
while IFS='=' read -r _name _; do
  case $_name in DAGCTL__*) unset "$_name" ;; esac
done < <(env)
unset _name

TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dagctl-$TEST_NAME.XXXXXX")
export DAGCTL_HOME=$TMP/home
export DAGCTL_DAGS=$TMP/dags
mkdir -p "$DAGCTL_HOME" "$DAGCTL_DAGS"

SCHED_PID=
SCHED_LOG=
SCHED_URL=
SCHED_N=0
SCHED_PIDS=()
FAILED=0

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }

# Print every scheduler log (the last lines) to help the post-mortem.
dump_logs() {
  local f
  for f in "$TMP"/scheduler.*.log "$TMP"/worker.*.log; do
    [ -e "$f" ] || continue
    echo "----- $f (last 60 lines) -----" >&2
    tail -n 60 "$f" >&2
  done
}

fail() {
  FAILED=1
  printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
  dump_logs
  exit 1
}

# Report a failing command once, from the test's own shell (command
# substitutions inherit the trap and would report it again).
_on_err() {
  local rc=$? line=$1 cmd=$2
  [ "$BASHPID" = "$$" ] || return 0
  FAILED=1
  printf '[%s] FAIL: command failed (status %s) at line %s: %s\n' "$TEST_NAME" "$rc" "$line" "$cmd" >&2
  dump_logs
}
trap '_on_err "$LINENO" "$BASH_COMMAND"' ERR

# A process that exists and has not exited (a zombie has exited). The state
# follows the command name, which may hold spaces: read it after the last ')'.
proc_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Any live (non-zombie) process in process group $1.
group_alive() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v g="$1" '{ sub(/.*\) /, ""); if ($3 == g && $1 != "Z" && $1 != "X") found = 1 }
                   END { exit !found }'
}

# Every process group a fake task recorded, and every grandchild it started.
_task_groups() {
  local f
  for f in "$TMP"/*.rec; do
    [ -e "$f" ] || continue
    awk '$1 == "start" { print $4 }' "$f"
  done | sort -u
}

cleanup() {
  local rc=$? pid g f
  trap - ERR
  for pid in "${SCHED_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  for g in $(_task_groups); do
    [ "$g" -gt 1 ] && kill -9 -- "-$g" 2>/dev/null || true
  done
  for f in "$TMP"/*.grandchild; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  # Tries outlive their scheduler under their supervisors (dagctl-supervise,
  # whose output is a try's log in this test's folder): SIGTERM stops each
  # with its task, as a scheduler would; after 5 s, SIGKILL for what is left.
  local sups=() left n p comm
  for f in /proc/[0-9]*/comm; do
    comm=
    # (a process may end between the glob and the read: the braces make
    # the redirection's own error quiet too)
    { read -r comm <"$f"; } 2>/dev/null || true
    [ "$comm" = dagctl-supervis ] || continue
    pid=${f#/proc/}
    pid=${pid%/comm}
    case $(readlink "/proc/$pid/fd/1" 2>/dev/null) in
      "$TMP"/*) sups+=("$pid") ;;
    esac
  done
  if [ ${#sups[@]} -gt 0 ]; then
    kill -TERM "${sups[@]}" 2>/dev/null || true
    for n in $(seq 100); do
      left=()
      for p in "${sups[@]}"; do proc_alive "$p" && left+=("$p"); done
      [ ${#left[@]} -gt 0 ] || break
      sleep 0.05
    done
    for p in "${left[@]}"; do
      pkill -9 -P "$p" 2>/dev/null || true
      kill -9 "$p" 2>/dev/null || true
    done
  fi
  wait 2>/dev/null || true
  # A sanitizer build reports into the scheduler's (or a worker's) log, not
  # its status.
  if [ "$rc" -eq 0 ] && grep -qsE 'Sanitizer|runtime error:' "$TMP"/scheduler.*.log "$TMP"/worker.*.log; then
    printf '[%s] FAIL: sanitizer report in a scheduler or worker log\n' "$TEST_NAME" >&2
    grep -shE -A20 'Sanitizer|runtime error:' "$TMP"/scheduler.*.log "$TMP"/worker.*.log | head -n 60 >&2
    rc=1
  fi
  if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
    printf '[%s] FAIL: exited with status %s\n' "$TEST_NAME" "$rc" >&2
    dump_logs
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "[$TEST_NAME] kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  [ "$rc" -eq 0 ] && echo "[$TEST_NAME] PASS" >&2
  exit "$rc"
}
trap cleanup EXIT

dagctl() { "$DAGCTL_BIN" "$@"; }

now_us() { date +%s%6N; }

# Seconds (3 decimals) between two microsecond timestamps.
us_to_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

# wait_for 'CONDITION' SECONDS: evaluate CONDITION every 50 ms until it
# succeeds; fail the test when the deadline passes first.
wait_for() {
  local cond=$1 secs=${2:-10} deadline
  deadline=$(($(date +%s%3N) + ${secs%.*} * 1000))
  while :; do
    if eval "$cond" >/dev/null 2>&1; then return 0; fi
    if [ "$(date +%s%3N)" -ge "$deadline" ]; then
      fail "timed out after ${secs}s waiting for: $cond"
    fi
    sleep 0.05
  done
}

# Read-only SQL against the state store, for assertions.
sql() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$DAGCTL_HOME/dagctl.db" "$1"; }

# pyjson EXPR: evaluate a Python expression over the JSON on stdin (bound to
# d); lists are printed one item per line, None as "null".
pyjson() {
  "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
def out(x):
    print("null" if x is None else (json.dumps(x) if isinstance(x, (dict, list)) else x))
if isinstance(v, list):
    for x in v: out(x)
else:
    out(v)' "$1"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
  [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# A DAG file, written atomically (editors and the scheduler's watcher must
# never see half a file): write_dag NAME < yaml.
write_dag() {
  local tmp="$DAGCTL_DAGS/.$1.tmp"
  cat >"$tmp"
  mv -f "$tmp" "$DAGCTL_DAGS/$1.yaml"
}

# transform_dag_yaml: the tasks of dags/spotify_transform_snippet.yaml.txt
# as DAG `transform`, starting after a `start` task that does nothing
# instead of the Kafka consumer. A test may append tasks before write_dag,
# and copies dags/spotify_dbt into $DAGCTL_DAGS for the dbt tasks.
transform_dag_yaml() {
  printf 'dag_id: transform\ntasks:\n  - id: start\n    command: "true"\n'
  grep -v '^#' "$DAGCTL_SOURCE_DIR/dags/spotify_transform_snippet.yaml.txt" \
    | sed 's/upstream: stop_consumer/upstream: start/'
}

# The settings every test starts from; tests append to the file.
write_config() {
  cat >"$DAGCTL_HOME/dagctl.yaml" <<EOF
core:
  log_level: debug
  task_kill_grace: 1s
EOF
}
write_config

# start_scheduler [DAG_ID...]: start `dagctl scheduler` in the background
# (log in $TMP/scheduler.N.log) and wait until it has loaded its DAGs and
# watches for triggers. Sets SCHED_PID, SCHED_LOG and SCHED_URL (the status
# page, e.g. http://127.0.0.1:PORT/; empty if it could not listen).
start_scheduler() {
  SCHED_N=$((SCHED_N + 1))
  SCHED_LOG=$TMP/scheduler.$SCHED_N.log
  # The scheduler (re)creates the wake-up file once it has scanned the DAG
  # folder and recovered its runs, just before it watches the file: its
  # appearance is the readiness signal.
  rm -f "$DAGCTL_HOME/wakeup"
  # --port 0: the status page on a free port, never a fixed one that another
  # test or a developer's scheduler may hold.
  "$DAGCTL_BIN" scheduler --port 0 >"$SCHED_LOG" 2>&1 &
  SCHED_PID=$!
  SCHED_PIDS+=("$SCHED_PID")
  # Out of the job table: bash still reaps it, but prints no "Killed".
  disown "$SCHED_PID"
  # The status page starts last: once its address (or its failure) is
  # logged, start-up is over.
  local deadline=$(($(date +%s%3N) + 10000))
  while ! { grep -q 'scheduler starting' "$SCHED_LOG" && [ -e "$DAGCTL_HOME/wakeup" ] &&
    grep -qE 'web server listening|without its status page' "$SCHED_LOG"; }; do
    proc_alive "$SCHED_PID" || fail "scheduler exited during start-up"
    [ "$(date +%s%3N)" -lt "$deadline" ] || fail "scheduler did not start within 10s"
    sleep 0.02
  done
  SCHED_URL=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$SCHED_LOG" | tail -n 1)
  local id listed
  listed=$(dagctl dags list --json | pyjson '[x["dag_id"] for x in d]')
  for id in "$@"; do
    grep -qx -- "$id" <<<"$listed" || fail "scheduler did not load DAG $id (loaded: $listed)"
  done
}

# Stop the scheduler with SIGTERM and wait for it to exit; fails the test if
# it does not stop within 10 s.
stop_scheduler() {
  [ -n "$SCHED_PID" ] || return 0
  kill -TERM "$SCHED_PID"
  wait_for "! proc_alive $SCHED_PID" 10
  SCHED_PID=
}

# kill -9 the scheduler: a crash. Its task processes live on.
crash_scheduler() {
  [ -n "$SCHED_PID" ] || return 0
  kill -9 "$SCHED_PID"
  wait_for "! proc_alive $SCHED_PID" 5
  SCHED_PID=
}

# trigger DAG [ARGS...]: trigger a run, print its run id.
trigger() { dagctl trigger "$@"; }

run_state() { sql "SELECT state FROM dag_run WHERE dag_id = '$1' AND run_id = '$2'"; }
task_state() {
  sql "SELECT ti.state FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
       WHERE r.dag_id = '$1' AND r.run_id = '$2' AND ti.task_id = '$3'"
}
run_finished() {
  case $(run_state "$1" "$2") in success | failed) return 0 ;; *) return 1 ;; esac
}

# wait_run DAG RUN SECONDS: wait until the run has ended; prints its state.
wait_run() {
  wait_for "run_finished '$1' '$2'" "${3:-20}"
  run_state "$1" "$2"
}

# The recorded events of a fake task record file, one per line:
# "start|end|term US PID PGID LABEL TRY".
rec_count() { awk -v w="$2" -v l="$3" '$1 == w && $5 == l { n++ } END { print n + 0 }' "$1"; }

# try_start RUN_ID TASK [TRY]: the try's start_date (µs), empty if none yet.
try_start() {
  sql "SELECT t.start_date FROM task_try t JOIN dag_run r ON r.id = t.run_pk
       WHERE r.run_id = '$1' AND t.task_id = '$2' AND t.try_number = ${3:-1}"
}
