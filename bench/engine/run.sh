#!/usr/bin/env bash
# run.sh - the engine's own overhead: `dagctl test` on no-op DAGs against
# GNU make, a plain shell loop and (when installed) the peer kit's engines,
# all measured in this one run on this machine. See bench/README.md,
# "Engine overhead", for what each figure means and how to read it.
#
#   bench/engine/run.sh                       # everything, ~4-6 min on 2 cores
#   RUNS=10 bench/engine/run.sh               # more timed runs per case
#   DAGCTL_BIN=build/dagctl SHAPES=chain200 PEER_ENGINES= bench/engine/run.sh
#
# Knobs besides lib.sh's (RUNS WARMUP JOBS SHAPES WORK TMPFS):
#   DAGCTL_BIN     dagctl to measure; default: build one (Release) in BUILD
#   BUILD          build folder, default <repo>/build-bench
#   VARIANTS       "exec shell tmpfs" (argv tasks / shell tasks / argv tasks
#                  with DAGCTL_HOME on tmpfs)
#   FULL_SHAPES    shapes also run with core.durability=full ("chain200")
#   LAT_RUNS       chain200 runs whose task_try dates give the latency (5)
#   PEERS          the peer kit folder (/work/shared/bench-peers)
#   PEER_ENGINES   kit engines to run too, if installed ("ninja doit")
#   REFERENCE      the kit's reference results, printed beside ours
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
REPO=$(cd "$here/../.." && pwd)
VARIANTS=${VARIANTS:-"exec shell tmpfs"}
FULL_SHAPES=${FULL_SHAPES-chain200}
LAT_RUNS=${LAT_RUNS:-5}
PEERS=${PEERS:-/work/shared/bench-peers}
PEER_ENGINES=${PEER_ENGINES-"ninja doit"}
REFERENCE=${REFERENCE:-$PEERS/reference_results_debian12_2core.txt}
started=$SECONDS

for tool in hyperfine make "$PY"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install hyperfine make python3)" >&2; exit 1; }
done

if [[ -z ${DAGCTL_BIN:-} ]]; then
  BUILD=${BUILD:-$REPO/build-bench}
  echo "# building dagctl (Release) in $BUILD" >&2
  cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target dagctl >/dev/null
  DAGCTL_BIN=$BUILD/dagctl
fi
DAGCTL_BIN=$(cd "$(dirname "$DAGCTL_BIN")" && pwd)/$(basename "$DAGCTL_BIN")
# Every try runs under dagctl-supervise, found beside dagctl: its cost is
# part of every dagctl figure below.
[[ -x $(dirname "$DAGCTL_BIN")/dagctl-supervise ]] ||
  { echo "run.sh: no dagctl-supervise beside $DAGCTL_BIN (build the dagctl target)" >&2; exit 1; }

# Only the folders this script creates are removed, whatever WORK points at.
mkdir -p "$WORK"
rm -rf "$WORK/dags" "$WORK/state" "$WORK/make" "$WORK/peers" "$RESULTS"
mkdir -p "$WORK/dags" "$WORK/state/trash" "$WORK/make" "$RESULTS"
: >"$SUMMARY"
tmproot=""
if [[ " $VARIANTS " == *" tmpfs "* ]]; then
  if [[ -n $TMPFS && $(stat -f -c %T "$TMPFS" 2>/dev/null) == tmpfs ]]; then
    tmproot=$(mktemp -d "$TMPFS/dagctl-bench.XXXXXX")
    mkdir -p "$tmproot/trash"
  else
    echo "# variant tmpfs skipped: TMPFS='$TMPFS' is not a tmpfs" >&2
  fi
fi
# Renamed state folders pile up here during the run; freed at exit.
cleanup() { rm -rf "$WORK/state/trash" ${tmproot:+"$tmproot"}; }
trap cleanup EXIT

commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$REPO" diff --quiet HEAD -- scheduler 2>/dev/null || commit+="+dirty"
{
  echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) cpus=$(nproc) kernel=$(uname -r)" \
    "cpu=\"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)\""
  echo "# dagctl=$DAGCTL_BIN ($("$DAGCTL_BIN" version 2>/dev/null | head -n 1), commit $commit," \
    "each try under $(dirname "$DAGCTL_BIN")/dagctl-supervise)" \
    "make=$(make --version | awk 'NR == 1 { print $3 }') hyperfine=$(hyperfine --version | awk '{ print $2 }')"
  echo "# work=$WORK ($(stat -f -c %T "$WORK")) runs>=$RUNS warmup=$WARMUP jobs=$JOBS" \
    "load=$(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS/header.txt"
# Every engine here shares the cores with whatever else runs: compare
# figures from one run, and distrust a run started on a busy machine.
awk -v c="$(nproc)" '$1 > c / 2 { printf "# WARNING: load average %s on %d cores: other work will inflate these figures\n", $1, c }' /proc/loadavg | tee -a "$RESULTS/header.txt"

# --- baselines and make ------------------------------------------------------------
for shape in $SHAPES; do
  n=$(shape_tasks "$shape")
  b=$(baseline bash "$n"); bs=$(baseline sh "$n"); bx=$(baseline xargs "$n")
  awk -v s="$shape" -v n="$n" -v b="$b" -v bs="$bs" -v bx="$bx" -v j="$JOBS" 'BEGIN {
    printf "engine=baseline shape=%s tasks=%d median_wall_s=%.4f per_task_ms=%.3f sh_c_median_wall_s=%.4f xargs_p%d_median_wall_s=%.4f\n", s, n, b, b / n * 1000, bs, j, bx }' |
    tee -a "$SUMMARY"
done
read -r med runs < <(hf true "" /bin/true)
echo "engine=bin_true shape=single1 tasks=1 runs=$runs median_wall_s=$med" | tee -a "$SUMMARY"

for shape in $SHAPES; do
  gen_make "$shape" "$WORK/make/$shape.mk"
  read -r med runs < <(hf "make_$shape" "" make -s -f "$WORK/make/$shape.mk" -j"$JOBS") || continue
  record make "$shape" "$med" "$runs"
done

# --- dagctl ------------------------------------------------------------------------
# dagctl_case ENGINE SHAPE KIND STATE_ROOT [DURABILITY]: verify one run from
# its SQLite state, then time `dagctl test` with a fresh DAGCTL_HOME for
# every run. The previous run's folder is renamed away, not deleted: on a
# journal-less ext4, inodes freed a moment ago make the next creations slow
# (ext4's recently_deleted() scan), which would bill the deletion of the
# last run's logs to the next run.
dagctl_case() {
  local engine=$1 shape=$2 kind=$3 root=$4 durability=${5:-normal}
  local dags="$WORK/dags/$kind/$shape" home="$root/$engine/$shape" vhome="$root/verify/$engine/$shape"
  # dagctl creates DAGCTL_HOME itself, but not its parents.
  mkdir -p "$dags" "$root/verify/$engine" "$root/$engine"
  gen_dagctl "$shape" "$dags/$shape.yaml" "$kind"
  shape_edges "$shape" >"$WORK/dags/$shape.edges"
  (
    export DAGCTL_DAGS=$dags DAGCTL__CORE__PARALLELISM=$JOBS DAGCTL__CORE__DURABILITY=$durability
    if ! DAGCTL_HOME=$vhome "$DAGCTL_BIN" test "$shape" --quiet >"$RESULTS/${engine}_$shape.verify.out" 2>&1; then
      echo "engine=$engine shape=$shape VERIFY_FAILED (see $RESULTS/${engine}_$shape.verify.out)"; exit 0
    fi
    check_run "$vhome/dagctl.db" "$WORK/dags/$shape.edges" || { echo "engine=$engine shape=$shape VERIFY_FAILED"; exit 0; }
    local prepare
    prepare="[ ! -e $(printf %q "$home") ] || mv $(printf %q "$home") $(printf %q "$root/trash")/\$(date +%s%N)"
    read -r med runs < <(DAGCTL_HOME=$home hf "${engine}_$shape" "$prepare" "$DAGCTL_BIN" test "$shape" --quiet) || exit 0
    record "$engine" "$shape" "$med" "$runs"
  )
}

for variant in $VARIANTS; do
  for shape in $SHAPES; do
    case $variant in
      exec) dagctl_case dagctl "$shape" exec "$WORK/state" ;;
      shell) dagctl_case dagctl_shell "$shape" shell "$WORK/state" ;;
      tmpfs) [[ -n $tmproot ]] && dagctl_case dagctl_tmpfs "$shape" exec "$tmproot" ;;
    esac
  done
done
for shape in $FULL_SHAPES; do
  dagctl_case dagctl_full "$shape" exec "$WORK/state" full
done

# Start-up: the bare process, and a 1-task DAG against an existing state
# folder (no database to create, no migrations to apply).
read -r med runs < <(hf dagctl_version "" "$DAGCTL_BIN" version)
echo "engine=dagctl_version shape=none tasks=0 runs=$runs median_wall_s=$med" | tee -a "$SUMMARY"
if [[ " $SHAPES " == *" single1 "* ]]; then
  (
    export DAGCTL_DAGS=$WORK/dags/exec/single1 DAGCTL__CORE__PARALLELISM=$JOBS DAGCTL_HOME=$WORK/state/warm
    "$DAGCTL_BIN" test single1 --quiet >/dev/null 2>&1
    read -r med runs < <(hf dagctl_warm_single1 "" "$DAGCTL_BIN" test single1 --quiet)
    echo "engine=dagctl_warm shape=single1 tasks=1 runs=$runs median_wall_s=$med startup_s=$med" | tee -a "$SUMMARY"
  )
fi

# Latency from a task's end to its downstream task's start, from the
# task_try dates (microseconds) of LAT_RUNS chain200 runs.
lat_case() { # lat_case ENGINE DURABILITY
  local home=$WORK/state/lat/$1
  [[ -s $WORK/dags/chain200.edges ]] || return 0
  mkdir -p "$WORK/state/lat"
  (
    export DAGCTL_DAGS=$WORK/dags/exec/chain200 DAGCTL__CORE__PARALLELISM=$JOBS DAGCTL__CORE__DURABILITY=$2 DAGCTL_HOME=$home
    for ((i = 0; i < LAT_RUNS; i++)); do
      "$DAGCTL_BIN" test chain200 --quiet >/dev/null 2>&1 || { echo "# latency run failed ($1)" >&2; exit 0; }
    done
    read -r n p50 p99 max try < <(latency "$home/dagctl.db" "$WORK/dags/chain200.edges")
    echo "latency engine=$1 shape=chain200 edges=$n p50_us=$p50 p99_us=$p99 max_us=$max mean_try_us=$try" | tee -a "$SUMMARY"
  )
}
if [[ " $SHAPES " == *" chain200 "* && " $VARIANTS " == *" exec "* ]]; then
  lat_case dagctl normal
  [[ " $FULL_SHAPES " == *" chain200 "* ]] && lat_case dagctl_full full
fi

# Memory: the largest resident set of `dagctl test fanout1000` (the
# scheduler's process: GNU time's %M is the peak of the one process it ran
# or of the largest it waited for, and dagctl outgrows its supervisors and
# /bin/true), over MEM_RUNS fresh homes.
MEM_RUNS=${MEM_RUNS:-3}
if [[ " $SHAPES " == *" fanout1000 "* && " $VARIANTS " == *" exec "* && -x /usr/bin/time ]]; then
  mkdir -p "$WORK/state/mem"
  for ((i = 0; i < MEM_RUNS; i++)); do
    home=$WORK/state/mem/$i
    DAGCTL_DAGS=$WORK/dags/exec/fanout1000 DAGCTL__CORE__PARALLELISM=$JOBS DAGCTL_HOME=$home \
      /usr/bin/time -f '%M' -o "$WORK/state/mem/$i.kib" "$DAGCTL_BIN" test fanout1000 --quiet \
      >/dev/null 2>&1 || { echo "# memory run failed" >&2; break; }
  done
  kib=$(cat "$WORK"/state/mem/*.kib 2>/dev/null | sort -n | tr '\n' ' ')
  [[ -n $kib ]] && echo "memory engine=dagctl shape=fanout1000 runs=$MEM_RUNS max_rss_kib=\"$kib\"" | tee -a "$SUMMARY"
fi

# --- peers from the kit ---------------------------------------------------------------
declare -A peer_bin=([ninja]=ninja [doit]=doit [snakemake]=snakemake [makeflow]=makeflow [cwltool]=cwltool)
for e in $PEER_ENGINES; do
  if [[ ! -x $PEERS/bench_$e.sh ]]; then echo "# engine=$e skipped: no $PEERS/bench_$e.sh"; continue; fi
  if ! command -v "${peer_bin[$e]:-$e}" >/dev/null; then
    echo "# engine=$e skipped: not installed ($PEERS/install.sh, or apt-get install ninja-build python3-doit)"; continue
  fi
  mkdir -p "$RESULTS/peers"
  RESULTS=$RESULTS/peers WORK_ROOT=$WORK/peers RUNS=$RUNS WARMUP=$WARMUP JOBS=$JOBS SHAPES=$SHAPES \
    "$PEERS/bench_$e.sh" 2> >(grep -v -e Warning -e '^ *$' -e '^verify ok' >&2) | grep "^engine=" >>"$SUMMARY" || true
  grep "^engine=$e " "$SUMMARY" || true
done

# --- tables ------------------------------------------------------------------------------
ms() { awk -v v="$1" 'BEGIN { if (v == "") printf "-"; else printf "%.1f", v * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) printf "-"; else printf "%.2fx", a / b }'; }
base_of() { # base_of KEY SHAPE -> a baseline median
  awk -v k="$1" -v s="$2" '$1 == "engine=baseline" && $2 == "shape=" s {
    for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) { sub(k "=", "", $i); print $i } }' "$SUMMARY"
}
ref_of() { # ref_of ENGINE SHAPE -> median from the kit's reference results
  [[ -r $REFERENCE ]] || return 0
  awk -v e="$1" -v s="$2" '$1 == "engine=" e && $2 == "shape=" s {
    for (i = 3; i <= NF; i++) if ($i ~ /^median_wall_s=/) { sub("median_wall_s=", "", $i); print $i } }' "$REFERENCE"
}

{
  echo
  echo "Wall time, median of >= $RUNS runs, ms (parallelism $JOBS; dagctl: fresh DAGCTL_HOME per run, every state change committed)"
  printf "%-11s %5s %8s %9s %9s %8s %8s %8s %9s %8s %8s %8s\n" shape tasks dagctl dagctl_sh dagctl_tmp make "dag/make" bash_loop sh_c_loop "xargs-P$JOBS" ninja doit
  for shape in $SHAPES; do
    d=$(median_of dagctl "$shape"); m=$(median_of make "$shape")
    printf "%-11s %5s %8s %9s %9s %8s %8s %8s %9s %8s %8s %8s\n" "$shape" "$(shape_tasks "$shape")" \
      "$(ms "$d")" "$(ms "$(median_of dagctl_shell "$shape")")" "$(ms "$(median_of dagctl_tmpfs "$shape")")" \
      "$(ms "$m")" "$(ratio "$d" "$m")" "$(ms "$(base_of median_wall_s "$shape")")" \
      "$(ms "$(base_of sh_c_median_wall_s "$shape")")" "$(ms "$(base_of "xargs_p${JOBS}_median_wall_s" "$shape")")" \
      "$(ms "$(median_of ninja "$shape")")" "$(ms "$(median_of doit "$shape")")"
  done
  echo
  echo "Per task, ms: (wall - wall_single1 - (bash_n - bash_1)) / (n - 1), i.e. engine start-up removed (kit's marginal_ms)"
  printf "%-11s %8s %9s %9s %8s %8s %8s\n" shape dagctl dagctl_sh dagctl_tmp make ninja doit
  for shape in $SHAPES; do
    [[ $shape == single1 ]] && continue
    row=("$shape")
    for e in dagctl dagctl_shell dagctl_tmpfs make ninja doit; do
      row+=("$(awk -v e="$e" -v s="$shape" '$1 == "engine=" e && $2 == "shape=" s {
        for (i = 3; i <= NF; i++) if ($i ~ /^marginal_ms=/) { sub("marginal_ms=", "", $i); v = $i } } END { print (v == "" ? "-" : v) }' "$SUMMARY")")
    done
    printf "%-11s %8s %9s %9s %8s %8s %8s\n" "${row[@]}"
  done

  if [[ -r $REFERENCE ]]; then
    echo
    echo "Against the kit's reference run ($(basename "$REFERENCE"), another Debian 12 2-core machine), ms"
    printf "%-11s %8s %8s %8s %8s %8s %8s %10s %12s\n" shape make make_ref ninja ninja_ref doit doit_ref snakemk_ref "dagctl"
    for shape in $SHAPES; do
      printf "%-11s %8s %8s %8s %8s %8s %8s %10s %12s\n" "$shape" \
        "$(ms "$(median_of make "$shape")")" "$(ms "$(ref_of make "$shape")")" \
        "$(ms "$(median_of ninja "$shape")")" "$(ms "$(ref_of ninja "$shape")")" \
        "$(ms "$(median_of doit "$shape")")" "$(ms "$(ref_of doit "$shape")")" \
        "$(ms "$(ref_of snakemake "$shape")")" "$(ms "$(median_of dagctl "$shape")")"
    done
  fi

  echo
  echo "Start-up: dagctl version $(ms "$(median_of dagctl_version none)") ms;" \
    "1-task DAG $(ms "$(median_of dagctl_warm single1)") ms with an existing state folder," \
    "$(ms "$(median_of dagctl single1)") ms with a new one (creates the database);" \
    "/bin/true alone $(ms "$(median_of bin_true single1)") ms; make 1-task $(ms "$(median_of make single1)") ms"
  grep '^latency ' "$SUMMARY" | awk '{ for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
    printf "Latency end -> downstream start, chain200 (%s, %d edges): p50 %.0f us, p99 %.0f us, max %.0f us; a try lasts %.0f us from start to recorded end\n", v["engine"], v["edges"], v["p50_us"], v["p99_us"], v["max_us"], v["mean_try_us"] }'
  for shape in $FULL_SHAPES; do
    f=$(median_of dagctl_full "$shape"); d=$(median_of dagctl "$shape")
    [[ -n $f && -n $d ]] || continue
    echo "Durability full (fsync per commit), $shape: $(ms "$f") ms vs $(ms "$d") ms normal ($(ratio "$f" "$d")," \
      "$(awk -v f="$f" -v d="$d" -v n="$(shape_tasks "$shape")" 'BEGIN { printf "+%.2f ms per task", (f - d) / n * 1000 }'))"
  done

  echo
  echo "Targets (from the issue; printed, not asserted):"
  for shape in chain200 fanout1000; do
    d=$(median_of dagctl "$shape"); m=$(median_of make "$shape")
    [[ -n $d && -n $m ]] || continue
    awk -v s="$shape" -v d="$d" -v m="$m" 'BEGIN { r = d / m
      printf "  %-38s %6.2fx  %s\n", s " within 1.5x of make", r, (r <= 1.5 ? "met" : "NOT met") }'
  done
  for e in dagctl_version dagctl_warm; do
    v=$(median_of "$e" "$([[ $e == dagctl_version ]] && echo none || echo single1)")
    [[ -n $v ]] || continue
    awk -v e="$e" -v v="$v" 'BEGIN { printf "  %-38s %6.1f ms  %s\n", "start-up under 10 ms (" e ")", v * 1000, (v < 0.010 ? "met" : "NOT met") }'
  done
  grep '^latency engine=dagctl ' "$SUMMARY" | awk '{ for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
    printf "  %-38s %6.0f us  %s\n", "p50 latency under 1 ms", v["p50_us"], (v["p50_us"] < 1000 ? "met" : "NOT met")
    printf "  %-38s %6.0f us  %s\n", "p99 latency under 5 ms", v["p99_us"], (v["p99_us"] < 5000 ? "met" : "NOT met") }'
  grep '^memory engine=dagctl ' "$SUMMARY" | sed 's/.*max_rss_kib="\([^"]*\)".*/\1/' | awk '{
    m = $NF * 1024 / 1e6; printf "  %-38s %6.1f MB  %s (runs: %s KiB)\n", "fanout1000 scheduler RSS under 100 MB", m, (m < 100 ? "met" : "NOT met"), $0 }'
  echo
  echo "# $(basename "$SUMMARY"): $SUMMARY (kit format; the kit's table.sh reads it); raw hyperfine JSON beside it"
  echo "# took $((SECONDS - started)) s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS/tables.txt"
