#!/usr/bin/env bash
# interleave.sh - run.sh against two dagctl builds, one run of each in turn.
#
#   BEFORE=path/to/old/dagctl AFTER=path/to/new/dagctl PG=1 bench/scaleout/interleave.sh
#   ROUNDS=3 WORKERS="1 2 4" ...
#
# On a shared machine the load moves between runs: the two builds run in
# rounds (BEFORE, then AFTER), the load average printed before each run,
# and each case gets the median of its ROUNDS figures per build. Every
# knob of run.sh (PG, WORKERS, FANOUT, CHAIN, CONCURRENCY) passes through.
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
: "${BEFORE:?BEFORE=path to the old dagctl}" "${AFTER:?AFTER=path to the new dagctl}"
OUT=$(mktemp -d /tmp/dagctl-scaleout-interleave.XXXXXX)
chmod 755 "$OUT" # the PostgreSQL server (PG=1) runs as postgres inside
trap 'rm -rf "$OUT"' EXIT

for round in $(seq 1 "$ROUNDS"); do
  for e in BEFORE AFTER; do
    echo "round $round $e: load $(cut -d' ' -f1-3 /proc/loadavg)"
    DAGCTL_BIN=${!e} WORK=$OUT/work "$HERE/run.sh" | tail -n +2 | tee -a "$OUT/$e.txt"
  done
done

# median FILE CASE FIELD: the median of one figure of one case.
median() {
  awk -v c="$2" -v f="$3" '$1 == c { print $f }' "$1" | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
printf '\n%-22s %16s %16s %18s %18s\n' case "tasks/min before" after "p50 ms before/after" "p99 ms before/after"
for c in $(awk '{ print $1 }' "$OUT/BEFORE.txt" | awk '!seen[$0]++'); do
  printf '%-22s %16s %16s %18s %18s\n' "$c" "$(median "$OUT/BEFORE.txt" "$c" 2)" \
    "$(median "$OUT/AFTER.txt" "$c" 2)" \
    "$(median "$OUT/BEFORE.txt" "$c" 6) / $(median "$OUT/AFTER.txt" "$c" 6)" \
    "$(median "$OUT/BEFORE.txt" "$c" 9) / $(median "$OUT/AFTER.txt" "$c" 9)"
done
