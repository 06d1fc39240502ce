#!/usr/bin/env bash
# interleave.sh - make against two dagctl builds, one run of each in turn.
#
#   BEFORE=path/to/old/dagctl AFTER=path/to/new/dagctl bench/engine/interleave.sh
#   SHAPES="chain200 fanout1000" ROUNDS=15 ...
#
# On a shared machine the load moves between runs, so the three engines are
# timed in rounds (make, then BEFORE and AFTER in turn, which of the two
# first alternating from round to round; one run each, fresh DAGCTL_HOME) and
# each gets the median of ROUNDS: the ratios within one shape are
# comparable, the absolute times are not. Each dagctl state is checked once
# (check_run) before the timed rounds. Prints one line per shape, in ms.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# A folder of its own by default: another run of this script at the same
# time must not remove this one's.
WORK=${WORK:-$(mktemp -d /tmp/dagctl-interleave.XXXXXX)}
# shellcheck source=lib.sh
source "$HERE/lib.sh"
SHAPES=${SHAPES:-"chain200 fanout1000"}
ROUNDS=${ROUNDS:-15}
: "${BEFORE:?BEFORE=path to the old dagctl}" "${AFTER:?AFTER=path to the new dagctl}"
rm -rf "$WORK"
mkdir -p "$WORK/trash"
trap 'rm -rf "$WORK"' EXIT

now_us() { date +%s%6N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

printf "%-11s %6s %5s %9s %9s %9s %8s %8s %8s\n" shape rounds load make before after "b/make" "a/make" "a/b"
for shape in $SHAPES; do
  dags=$WORK/dags/$shape
  mkdir -p "$dags"
  gen_dagctl "$shape" "$dags/$shape.yaml" exec
  gen_make "$shape" "$WORK/$shape.mk"
  shape_edges "$shape" >"$WORK/$shape.edges"
  export DAGCTL_DAGS=$dags DAGCTL__CORE__PARALLELISM=$JOBS
  for e in BEFORE AFTER; do
    DAGCTL_HOME=$WORK/verify-$e-$shape "${!e}" test "$shape" --quiet >/dev/null 2>&1
    check_run "$WORK/verify-$e-$shape/dagctl.db" "$WORK/$shape.edges" 2>/dev/null || { echo "$e: $shape failed its check" >&2; exit 1; }
  done
  load0=$(cut -d' ' -f1 /proc/loadavg)
  : >"$WORK/t.make"; : >"$WORK/t.BEFORE"; : >"$WORK/t.AFTER"
  for ((r = 0; r < ROUNDS; r++)); do
    t0=$(now_us); make -s -f "$WORK/$shape.mk" -j"$JOBS" >/dev/null; t1=$(now_us)
    echo $((t1 - t0)) >>"$WORK/t.make"
    # Which build goes first alternates: run right after the other, a
    # build was measured a few percent slower (the same binary against
    # itself: 1.04x and 1.10x), which a fixed order charges to AFTER.
    order="BEFORE AFTER"
    ((r % 2)) && order="AFTER BEFORE"
    for e in $order; do
      home=$WORK/home-$e
      [[ ! -e $home ]] || mv "$home" "$WORK/trash/$shape.$e.$r"
      t0=$(now_us); DAGCTL_HOME=$home "${!e}" test "$shape" --quiet >/dev/null 2>&1; t1=$(now_us)
      echo $((t1 - t0)) >>"$WORK/t.$e"
    done
  done
  load1=$(cut -d' ' -f1 /proc/loadavg)
  m=$(median <"$WORK/t.make"); b=$(median <"$WORK/t.BEFORE"); a=$(median <"$WORK/t.AFTER")
  awk -v s="$shape" -v n="$ROUNDS" -v l="$load0-$load1" -v m="$m" -v b="$b" -v a="$a" 'BEGIN {
    printf "%-11s %6d %5s %9.1f %9.1f %9.1f %7.2fx %7.2fx %7.2fx\n", s, n, l, m / 1000, b / 1000, a / 1000, b / m, a / m, a / b }'
done
