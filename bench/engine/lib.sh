# lib.sh - shapes, generators and measuring helpers for bench/engine/run.sh.
# Source it; do not run it. The shapes and the summary-line format are those
# of the peer benchmark kit (bench-peers: lib.sh, bench_make.sh), so lines
# from both can be read side by side and tabulated with its table.sh.
#
# Knobs (environment), with defaults:
#   RUNS=5 WARMUP=1 JOBS=2    timed runs (hyperfine --min-runs), warmups, parallelism
#   SHAPES="single1 spotify10 chain200 fanout1000"
#   WORK=/tmp/dagctl-bench    generated DAGs, state folders, results (on disk)
#   TMPFS=/dev/shm            where the tmpfs variant keeps its state ("" to skip)
set -euo pipefail

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
JOBS=${JOBS:-2}
SHAPES=${SHAPES:-"single1 spotify10 chain200 fanout1000"}
WORK=${WORK:-/tmp/dagctl-bench}
RESULTS=${RESULTS:-$WORK/results}
TMPFS=${TMPFS-/dev/shm}
# Debian's interpreter, not a version manager's shim: only the stdlib is used.
if [[ -z ${PY:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=python3; fi
fi
SUMMARY=$RESULTS/summary.txt
SPOTIFY_TASKS="start generate_events start_consumer wait_for_s3_files stop_consumer refresh_table compile run_silver run_gold test"

shape_tasks() {
  case $1 in
    single1) echo 1 ;;
    spotify10) echo 10 ;;
    chain200) echo 200 ;;
    fanout1000) echo 1002 ;;
    *) echo "unknown shape: $1" >&2; return 1 ;;
  esac
}

# shape_edges SHAPE: "task dep1 dep2 ..." per line, in topological order;
# the last line is the only sink. Identical to the peer kit's.
shape_edges() {
  local i prev
  case $1 in
    single1) echo "t0" ;;
    spotify10)
      prev=""
      for i in $SPOTIFY_TASKS; do echo "$i${prev:+ $prev}"; prev=$i; done ;;
    chain200)
      echo "t0"
      for ((i = 1; i < 200; i++)); do echo "t$i t$((i - 1))"; done ;;
    fanout1000)
      echo "root"
      for ((i = 0; i < 1000; i++)); do echo "f$i root"; done
      printf 'join'
      for ((i = 0; i < 1000; i++)); do printf ' f%d' "$i"; done
      echo ;;
    *) echo "unknown shape: $1" >&2; return 1 ;;
  esac
}

shape_sink() { shape_edges "$1" | tail -n 1 | cut -d' ' -f1; }

# gen_dagctl SHAPE FILE KIND: a dagctl DAG whose every task runs /bin/true,
# as an exec task (argv: no shell) or a shell task (command: /bin/sh -c).
gen_dagctl() {
  shape_edges "$1" | awk -v id="$1" -v kind="$3" '
    BEGIN { print "dag_id: " id; print "tasks:" }
    { print "  - id: " $1
      if (kind == "exec") print "    argv: [/bin/true]"; else print "    command: /bin/true"
      if (NF > 1) { printf "    upstream: ["
                    for (i = 2; i <= NF; i++) printf "%s%s", $i, (i < NF ? ", " : "")
                    print "]" } }' >"$2"
}

# gen_make SHAPE FILE: one .PHONY target per task, recipe /bin/true (make
# execs a simple recipe directly, no shell), as the peer kit's bench_make.sh.
gen_make() {
  shape_edges "$1" | awk -v sink="$(shape_sink "$1")" '
    BEGIN { print ".DEFAULT_GOAL := " sink }
    { names = names " " $1; deps = ""
      for (i = 2; i <= NF; i++) deps = deps " " $i
      print $1 ":" deps; print "\t@/bin/true" }
    END { print ".PHONY:" names }' >"$2"
}

# json_stats FILE -> "median_s runs"
json_stats() {
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.6f %d" % (r["median"], len(r["times"])))' "$1"
}

# hf NAME PREPARE CMD...: time CMD with hyperfine (no shell), running the
# bash snippet PREPARE (may be empty) untimed before each run. Prints
# "median_s runs", or nothing if the command failed.
hf() {
  local name=$1 prepare=$2 json="$RESULTS/$1.json" cmd="" q
  shift 2
  for q in "$@"; do cmd+="$(printf '%q' "$q") "; done
  local -a pre=()
  [[ -n $prepare ]] && pre=(--prepare "bash -c $(printf '%q' "$prepare")")
  if ! hyperfine -N --style none --min-runs "$RUNS" --warmup "$WARMUP" "${pre[@]}" \
      --export-json "$json" "$cmd" >"$RESULTS/$name.out" 2>&1; then
    echo "# $name FAILED, see $RESULTS/$name.out" >&2
    tail -5 "$RESULTS/$name.out" >&2
    return 0
  fi
  json_stats "$json"
}

# Baselines, cached per task count: a bash loop running /bin/true N times
# (the kit's baseline_s), the same through /bin/sh -c, and xargs -P$JOBS.
baseline() { # baseline KIND N
  local n=$2 cmd
  case $1 in
    bash) cmd="for ((i=0;i<$n;i++)); do /bin/true; done" ;;
    sh) cmd="for ((i=0;i<$n;i++)); do /bin/sh -c /bin/true; done" ;;
    xargs) cmd="seq $n | xargs -n1 -P$JOBS /bin/true" ;;
  esac
  if [[ ! -s $RESULTS/baseline_$1_$n.json ]]; then
    hf "baseline_$1_$n" "" bash -c "$cmd" >/dev/null
  fi
  json_stats "$RESULTS/baseline_$1_$n.json" | cut -d' ' -f1
}

# record ENGINE SHAPE MEDIAN RUNS: print and append a kit-format line.
# marginal_ms needs ENGINE's single1 line from this run.
record() {
  local engine=$1 shape=$2 med=$3 runs=$4 n base s1="" b1=""
  n=$(shape_tasks "$shape")
  base=$(baseline bash "$n")
  if [[ $n -gt 1 ]]; then
    s1=$(awk -v e="$engine" '$1 == "engine=" e && $2 == "shape=single1" { sub("median_wall_s=", "", $5); print $5 }' "$SUMMARY" | tail -n 1)
    [[ -n $s1 ]] && b1=$(baseline bash 1)
  fi
  awk -v e="$engine" -v s="$shape" -v m="$med" -v b="$base" -v n="$n" -v r="$runs" -v s1="$s1" -v b1="$b1" 'BEGIN {
    printf "engine=%s shape=%s tasks=%d runs=%d median_wall_s=%.4f baseline_s=%.4f per_task_ms=%.2f wall_per_task_ms=%.2f", e, s, n, r, m, b, (m - b) / n * 1000, m / n * 1000
    if (s1 != "") printf " marginal_ms=%.2f", ((m - s1) - (b - b1)) / (n - 1) * 1000
    if (n == 1) printf " startup_s=%.3f", m
    printf "\n" }' | tee -a "$SUMMARY"
}

# median_of ENGINE SHAPE -> median_wall_s from this run's summary ("" if none)
median_of() {
  awk -v e="$1" -v s="$2" '$1 == "engine=" e && $2 == "shape=" s {
    for (i = 3; i <= NF; i++) if ($i ~ /^median_wall_s=/) { sub("median_wall_s=", "", $i); v = $i } }
    END { print v }' "$SUMMARY"
}

# check_run DB EDGES_FILE: every task of every run succeeded, exactly once,
# and started after all its upstream tasks ended.
check_run() {
  "$PY" - "$1" "$2" <<'PY'
import sqlite3, sys
db, edges = sys.argv[1], sys.argv[2]
deps = {}
for line in open(edges):
    f = line.split()
    deps[f[0]] = f[1:]
c = sqlite3.connect(db)
bad = []
for (pk,) in c.execute("SELECT id FROM dag_run"):
    tries = {}
    for task, state, s, e in c.execute(
            "SELECT task_id, state, start_date, end_date FROM task_try WHERE run_pk = ?", (pk,)):
        if task in tries: bad.append("%s ran twice" % task)
        tries[task] = (state, s, e)
    for task, up in deps.items():
        if task not in tries: bad.append("%s never ran" % task); continue
        if tries[task][0] != "success": bad.append("%s %s" % (task, tries[task][0]))
        for u in up:
            if u in tries and tries[u][2] is not None and tries[task][1] < tries[u][2]:
                bad.append("%s started before %s ended" % (task, u))
if bad:
    print("VERIFY FAILED: " + "; ".join(bad[:5]), file=sys.stderr); sys.exit(1)
print("verify ok: %d tasks, each once, in dependency order" % len(deps), file=sys.stderr)
PY
}

# latency DB EDGES_FILE: over every run in DB, for each edge u -> t, the
# time from u's try ending to t's try starting (task_try dates, in
# microseconds); also how long a try lasts from its start to its recorded
# end. Prints "n p50 p99 max mean_try_us".
latency() {
  "$PY" - "$1" "$2" <<'PY'
import sqlite3, sys
db, edges = sys.argv[1], sys.argv[2]
deps = [(f[0], u) for f in (l.split() for l in open(edges)) for u in f[1:]]
c = sqlite3.connect(db)
lat, dur = [], []
for (pk,) in c.execute("SELECT id FROM dag_run"):
    t = {k: (s, e) for k, s, e in c.execute(
        "SELECT task_id, start_date, end_date FROM task_try WHERE run_pk = ? AND try_number = 1", (pk,))}
    lat += [t[d][0] - t[u][1] for d, u in deps if d in t and u in t]
    dur += [e - s for s, e in t.values()]
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(len(lat), q(0.50), q(0.99), lat[-1], round(sum(dur) / len(dur)))
PY
}
