#!/usr/bin/env bash
# run.sh - the warehouse's two figures on SQLite: rows/s of the bronze load
# and seconds to build silver + gold with the dbt project, over 1M and 10M
# generated events. See bench/README.md, "Warehouse: bronze load and dbt
# build".
#
#   bench/warehouse/run.sh                    # 1M and 10M (~10 GB of disk at 10M)
#   SIZES=1000000 bench/warehouse/run.sh      # one size
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

echo "# building bench_warehouse (Release) in $BUILD" >&2
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target bench_warehouse >/dev/null
bin=$(find "$BUILD" -name bench_warehouse -type f -perm -u+x | head -n 1)

echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
     "SQLite $(pkg-config --modversion sqlite3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %12s %10s %12s %10s %10s %12s %12s\n' events rows load_s rows/s load_cpu \
  silver_s gold_s silver+gold
for n in $SIZES; do
  dir=$WORK/$n
  rm -rf "$dir"
  out=$("$bin" "$n" "$dir" "$REPO/dags/spotify_dbt")
  get() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }
  printf '%-12s %12s %10s %12s %10s %10s %12s %12s\n' "$n" "$(get load_rows)" \
    "$(get load_seconds)" "$(get load_rows_per_second)" "$(get load_cpu_seconds)" \
    "$(get silver_seconds)" "$(get gold_seconds)" \
    "$(get silver_gold_seconds) ($(get silver_gold_cpu_seconds) cpu)"
  [ "$KEEP" = 1 ] || rm -rf "$dir"
done
[ "$KEEP" = 1 ] || rmdir "$WORK" 2>/dev/null || true
