#!/usr/bin/env bash
# critpath.sh - one `dagctl test chain200` under a system-wide perf trace,
# read by critpath.py: each step between a task's end and the next one's
# start, and the CPU the scheduler and the supervisor spend on them.
#
#   bench/engine/critpath.sh [DAGCTL_BIN]    # default <repo>/build-bench/dagctl
#
# Needs perf and root (or kernel.perf_event_paranoid <= -1). Knobs: JOBS
# (2), WORK (a fresh folder under /tmp). The state folder is on disk, as in
# run.sh and interleave.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
BIN=${1:-$HERE/../../build-bench/dagctl}
WORK=$(mktemp -d /tmp/dagctl-critpath.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
command -v perf >/dev/null || { echo "critpath.sh: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
mkdir -p "$WORK/dags"
gen_dagctl chain200 "$WORK/dags/chain200.yaml" exec
echo "# load $(cut -d' ' -f1-3 /proc/loadavg), $BIN"
DAGCTL_DAGS=$WORK/dags DAGCTL__CORE__PARALLELISM=$JOBS DAGCTL_HOME=$WORK/home \
  perf record -q -a -o "$WORK/trace.data" \
  -e sched:sched_process_exec,sched:sched_process_exit,sched:sched_switch,sched:sched_wakeup \
  -e syscalls:sys_enter_sendto,syscalls:sys_exit_recvfrom,syscalls:sys_enter_vfork \
  -- "$BIN" test chain200 --quiet >/dev/null 2>&1
perf script -i "$WORK/trace.data" -F comm,pid,tid,cpu,time,event,trace 2>/dev/null |
  "${PY:-/usr/bin/python3}" "$HERE/critpath.py"
