#!/usr/bin/env bash
# profile.sh - where `dagctl test chain200` spends its time: CPU and page
# faults of dagctl alone and of the whole process tree (perf stat), then a
# call-graph profile of dagctl alone (perf record, DWARF unwinding, so a
# Release build without frame pointers still unwinds).
#
#   bench/engine/profile.sh                 # DAGCTL_BIN or <repo>/build-bench/dagctl
#   STATE=/dev/shm bench/engine/profile.sh  # state on tmpfs: no file-system cost
#
# Knobs: DAGCTL_BIN, SHAPE (chain200), JOBS (2), REPEAT (10, perf stat -r),
# STATE (folder for DAGCTL_HOME, default $WORK), WORK (/tmp/dagctl-bench).
# Needs perf (apt-get install linux-perf) and kernel.perf_event_paranoid <= 2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
REPO=$(cd "$here/../.." && pwd)
DAGCTL_BIN=${DAGCTL_BIN:-$REPO/build-bench/dagctl}
SHAPE=${SHAPE:-chain200}
REPEAT=${REPEAT:-10}
STATE=${STATE:-$WORK}
command -v perf >/dev/null || { echo "profile.sh: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
[[ -x $DAGCTL_BIN ]] || { echo "profile.sh: no dagctl at $DAGCTL_BIN (set DAGCTL_BIN)" >&2; exit 1; }

out=$WORK/profile
home=$STATE/dagctl-profile-home
rm -rf "$out" "$home"
mkdir -p "$out/dags"
gen_dagctl "$SHAPE" "$out/dags/$SHAPE.yaml" exec
export DAGCTL_DAGS=$out/dags DAGCTL__CORE__PARALLELISM=$JOBS DAGCTL_HOME=$home
n=$(shape_tasks "$SHAPE")

stat_line() { # stat_line LABEL PERF_STAT_ARGS...
  local label=$1
  shift
  perf stat -r "$REPEAT" "$@" -e task-clock,page-faults,context-switches \
    --pre "rm -rf $home" -- "$DAGCTL_BIN" test "$SHAPE" --quiet 2>&1 >/dev/null |
    awk -v l="$label" -v n="$n" '
      /task-clock/ { cpu = $1 } /page-faults/ { pf = $1 } /elapsed/ { wall = $1 }
      END { gsub(",", "", pf)
            printf "%-26s cpu %7.1f ms (%5.0f us/task)  page faults %6d (%4.0f/task)  wall %.3f s\n", l, cpu, cpu * 1000 / n, pf, pf / n, wall }'
}
echo "# $SHAPE ($n tasks), parallelism $JOBS, DAGCTL_HOME on $(stat -f -c %T "$STATE"), perf stat -r $REPEAT"
stat_line "dagctl alone (-i)" -i
stat_line "dagctl and its tasks"

rm -rf "$home"
perf record -q -i -F 10000 --call-graph dwarf,16384 -o "$out/perf.data" -- \
  "$DAGCTL_BIN" test "$SHAPE" --quiet >/dev/null 2>"$out/record.err"
echo
echo "# dagctl alone: share of its CPU samples, callees included (perf report --children)"
perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
  grep -E '\[\.\] (sched_on_task_exit|sched_task_spawn|dag_proc_spawn|_Fork|__spawni|uv_spawn|dag_pid_start_time|sqlite3_exec|sqlite3_step|sqlite3_prepare_v2|dag_store_begin|dag_store_commit|dag_store_ti_start_try|dag_store_ti_end_try|sched_log_append|propagate|env_set)$|\[k\] (__x64_sys_(openat|mkdir|pwrite64|fcntl|close|write|execve|clone|access)|exc_page_fault)$' |
  awk '{ printf "  %7s  %s\n", $1, $4 }'
echo "# full report: perf report -i $out/perf.data --children"
