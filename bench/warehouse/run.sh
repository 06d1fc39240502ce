#!/usr/bin/env bash
# run.sh - the warehouse's figures on SQLite: rows/s of the bronze load, and
# seconds to build silver + gold with the dbt project over N generated
# events, incrementally (the last 10% of them loaded last) and as a full
# rebuild. See bench/README.md, "Warehouse: bronze load and dbt build".
#
#   bench/warehouse/run.sh                    # 1M and 10M (~10 GB of disk at 10M)
#   SIZES=1000000 bench/warehouse/run.sh      # one size
#   THREADS=1 bench/warehouse/run.sh          # dbt's threads (default 2)
#   WORK=/mnt/fast BUILD=build-rel bench/warehouse/run.sh
#   WAREHOUSE_URL=postgresql:///postgres?host=/tmp/pg bench/warehouse/run.sh
#                                             # the same on PostgreSQL (its CPU
#                                             # figures are the client's only)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$here/../.." && pwd)
SIZES=${SIZES:-"1000000 10000000"}
BUILD=${BUILD:-$REPO/build-bench-warehouse}
WORK=${WORK:-$(mktemp -d /tmp/bench_warehouse.XXXXXX)}
KEEP=${KEEP:-0}
export THREADS=${THREADS:-2}

echo "# building bench_warehouse (Release) in $BUILD" >&2
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target bench_warehouse >/dev/null
bin=$(find "$BUILD" -name bench_warehouse -type f -perm -u+x | head -n 1)

echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
     "SQLite $(pkg-config --modversion sqlite3), dbt threads $THREADS," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-30s %10s %10s %10s %10s %8s\n' events step rows seconds rows/s silver_s gold_s
for n in $SIZES; do
  dir=$WORK/$n
  rm -rf "$dir"
  out=$("$bin" "$n" "$dir" "$REPO/dags/spotify_dbt")
  get() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }
  row() { printf '%-10s %-30s %10s %10s %10s %10s %8s\n' "$n" "$@"; }
  row "load (first 90%)" "$(get load_rows)" "$(get load_seconds)" \
    "$(get load_rows_per_second)" "" ""
  row "  its CPU s" "" "$(get load_cpu_seconds)" "" "" ""
  row "load (last 10%)" "$(get delta_load_rows)" "$(get delta_load_seconds)" \
    "$(get delta_load_rows_per_second)" "" ""
  for b in first_build incremental full_rebuild; do
    row "$b silver+gold" "$(get ${b}_silver_rows)" "$(get ${b}_seconds)" "" \
      "$(get ${b}_silver_seconds)" "$(get ${b}_gold_seconds)"
    row "  its CPU s" "" "$(get ${b}_cpu_seconds)" "" "" ""
  done
  [ "$KEEP" = 1 ] || rm -rf "$dir"
done
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# targets: load >= 500000 rows/s; incremental silver+gold <= 60 s at 10M events"
[ "$KEEP" = 1 ] || rmdir "$WORK" 2>/dev/null || true
