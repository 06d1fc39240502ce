#!/usr/bin/env bash
# ab.sh - the incremental silver + gold build of two builds side by side, in
# one run, from the same starting state: on a shared machine only figures
# taken together compare. See bench/README.md, "Warehouse".
#
#   OLD=/path/to/old/bench_warehouse NEW=build-bench-warehouse/tasks/dbt/bench_warehouse \
#     N=10000000 ROUNDS=2 bench/warehouse/ab.sh
#
# The state (N events: the first 90% loaded and built, the last 10%
# loaded) is prepared once by NEW (STEPS=prepare) in WORK/state, or taken
# from STATE if given (a folder left by STEPS=prepare). Each round copies
# it twice and runs OLD's, then NEW's incremental build on its copy
# (STEPS=incremental), alternating which goes first, and prints the load
# average before each. Needs about 4x the state's size of disk.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$here/../.." && pwd)
OLD=${OLD:?OLD=path of the old bench_warehouse}
NEW=${NEW:?NEW=path of the new bench_warehouse}
N=${N:-1000000}
ROUNDS=${ROUNDS:-1}
PROJECT=${PROJECT:-$REPO/dags/spotify_dbt}
WORK=${WORK:-$(mktemp -d /tmp/bench_warehouse_ab.XXXXXX)}
export THREADS=${THREADS:-2}

state=${STATE:-}
if [ -z "$state" ]; then
  state=$WORK/state
  rm -rf "$state"
  echo "# preparing $N events in $state with NEW" >&2
  STEPS=prepare "$NEW" "$N" "$state" "$PROJECT" >&2
fi
echo "# $(nproc) cores, N=$N, dbt threads $THREADS, rounds $ROUNDS"
printf '%-6s %-4s %-12s %9s %9s %9s %9s %9s\n' round who load_before silver_s gold_s total_s silver_cpu cpu_s
one() { # who binary round
  local dir=$WORK/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$state"/warehouse*.db "$dir"/
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  local out
  out=$(STEPS=incremental "$2" "$N" "$dir" "$PROJECT")
  get() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }
  printf '%-6s %-4s %-12s %9s %9s %9s %9s %9s\n' "$3" "$1" "$load" \
    "$(get incremental_silver_seconds)" "$(get incremental_gold_seconds)" \
    "$(get incremental_seconds)" "$(get incremental_silver_cpu_seconds)" \
    "$(get incremental_cpu_seconds)"
  rm -rf "$dir"
}
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    one old "$OLD" "$r"
    one new "$NEW" "$r"
  else
    one new "$NEW" "$r"
    one old "$OLD" "$r"
  fi
done
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "${STATE:-}" ] || rm -rf "$WORK/state"
rmdir "$WORK" 2>/dev/null || true
