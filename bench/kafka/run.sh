#!/usr/bin/env bash
# run.sh - events/s through generate_events -> embedded Kafka ->
# kafka_consumer -> a local lake, the ingestion half of spotify_data_basic.
# See bench/README.md, "Kafka ingestion", for what each figure means.
#
#   bench/kafka/run.sh                          # 500,000 events, 3 runs, ~1-2 min
#   EVENTS=1000000 PARTITIONS=48 bench/kafka/run.sh
#   LAKE_DIR=/dev/shm/lake-bench bench/kafka/run.sh   # the lake on tmpfs
#
# Knobs:
#   BUILD       build folder holding plugins/dagctl-kafka-embed, kafka_harness, plugins/kafka.so;
#               default <repo>/build-bench-kafka, configured (Release) and built here
#   EVENTS      events per run (500000)
#   PARTITIONS  partitions of the benchmark topics (24). The embedded cluster
#               keeps ~5 MB per partition and drops older data beyond: more
#               events need more partitions (the run checks that none is lost)
#   USERS       distinct users, hence message keys (1000)
#   BATCH       consumer batch_size (10000)
#   WRITERS     consumer writers (4)
#   GZIP        consumer gzip (false)
#   RUNS        timed runs; the median is reported (3)
#   LAKE_DIR    where the lake goes (default: a temporary folder under /tmp)
#
# Each run starts a fresh cluster and measures three things:
#   producer    generate_events alone: making, sending and having every event
#               acknowledged (the process's wall time, start-up included);
#   consumer    kafka_consumer alone on a full topic: from its assignment to
#               every event written to the lake and committed;
#   pipeline    both at once, as in the DAG: the consumer is up first, then
#               the producer runs; from the producer's start to the last event
#               written and committed (the consumer stopped with SIGTERM as
#               stop_consumer does). The target is 100,000 events/s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$here/../.." && pwd)
EVENTS=${EVENTS:-500000}
PARTITIONS=${PARTITIONS:-24}
USERS=${USERS:-1000}
BATCH=${BATCH:-10000}
WRITERS=${WRITERS:-4}
GZIP=${GZIP:-false}
RUNS=${RUNS:-3}
PY=${PY:-python3}

for tool in "$PY" awk /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done

BUILD=${BUILD:-$REPO/build-bench-kafka}
MOCK=$BUILD/plugins/dagctl-kafka-embed
HARNESS=$BUILD/tests/kafka_harness
PLUGIN=$BUILD/plugins/kafka.so
if [[ ! -x $MOCK || ! -x $HARNESS || ! -e $PLUGIN ]]; then
  echo "# building dagctl-kafka-embed, kafka_harness and kafka.so (Release) in $BUILD" >&2
  cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target kafka dagctl-kafka-embed kafka_harness >/dev/null
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-kafka.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ ${KEEP_TMP:-0} = 1 ]] && echo "# kept $TMP" >&2 || rm -rf "$TMP"
  [[ -n ${LAKE_DIR:-} ]] && rm -rf "$LAKE_DIR"
  return 0
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
die() { echo "run.sh: $*" >&2; exit 1; }

# wait_until COND SECONDS: poll a condition (no fixed sleeps as timing).
wait_until() {
  local deadline=$(($(date +%s) + $2))
  until eval "$1"; do
    [[ $(date +%s) -lt $deadline ]] || die "timed out waiting for: $1"
    sleep 0.01
  done
}

# Per-partition end offsets from a producer's xcom line, as "P=N ..." pairs.
ends() {
  awk '$2 == "partitions" { print $3 }' "$1" |
    "$PY" -c 'import json,sys; print(" ".join("%s=%s" % kv for kv in json.load(sys.stdin).items()))'
}

# caught_up LOG TOPIC ENDS: the consumer has read every partition to its end.
caught_up() {
  local kv
  for kv in $3; do
    grep -q "caught up topic=$2 partition=${kv%=*} offset=${kv#*=}\$" "$1" || return 1
  done
}

# distinct LAKE PREFIX: distinct event ids under the prefix, and lines.
distinct() {
  "$PY" - "$1/$2" <<'EOF'
import gzip, json, os, sys
ids, lines = set(), 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        data = gzip.open(p).read() if f.endswith(".gz") else open(p, "rb").read()
        for line in data.splitlines():
            ids.add(json.loads(line)["event_id"])
            lines += 1
print(len(ids), lines)
EOF
}

# CPU seconds (user + system, all threads) of a live process.
cpu_of() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }

produce() { # LOG TOPIC; its CPU seconds go to LOG.cpu
  /usr/bin/time -f '%U %S' -o "$1.time" "$HARNESS" -x ds=2026-11-21 -p count="$EVENTS" -p topic="$2" -p users="$USERS" \
    -p seed="bench-$2" -p log_events=false "$PLUGIN" generate_events >"$1.out" 2>"$1.log" ||
    die "generate_events failed: $(tail -n 3 "$1.log")"
  awk '{ printf "%.2f", $1 + $2 }' "$1.time" >"$1.cpu"
}

start_consumer() { # LOG TOPIC PREFIX GROUP; the lake is $LAKE
  "$HARNESS" -c lake.url="$LAKE" -p topic="$2" -p prefix="$3" -p group_id="$4" \
    -p batch_size="$BATCH" \
    -p batch_interval=1h -p writers="$WRITERS" -p gzip="$GZIP" \
    "$PLUGIN" kafka_consumer >"$1.out" 2>"$1.log" &
  CPID=$!
  PIDS+=("$CPID")
  wait_until "grep -qx ready '$1.out'" 60
}

stop_consumer() { # LOG; its CPU seconds (before the final flush) go to LOG.cpu
  cpu_of "$CPID" >"$1.cpu"
  kill -TERM "$CPID"
  wait "$CPID" || die "the consumer failed: $(grep -E 'ERROR|WARN' "$1.log" | tail -n 3)"
}

check_lake() { # LAKE PREFIX WHAT
  local got
  got=$(distinct "$1" "$2")
  [[ ${got% *} = "$EVENTS" ]] ||
    die "$3: the lake holds ${got% *} distinct events of $EVENTS (the embedded cluster drops data beyond ~5 MB per partition: raise PARTITIONS)"
}

one_run() { # N -> "producer consumer pipeline" events/s
  local run=$1 dir=$TMP/run$1 t0 t1 t2 e
  mkdir -p "$dir/home"
  LAKE=${LAKE_DIR:-$dir/home/lake}
  rm -rf "$LAKE"
  mkfifo "$dir/mock.in"
  "$MOCK" "$dir/home" --brokers 1 --topic "bench:$PARTITIONS" --topic "pipe:$PARTITIONS" \
    <"$dir/mock.in" >"$dir/mock.out" 2>"$dir/mock.log" &
  PIDS+=($!)
  exec 3>"$dir/mock.in" # the cluster lives as long as this descriptor
  wait_until "[[ -s '$dir/mock.out' ]]" 10
  export DAGCTL_HOME=$dir/home

  # producer alone
  t0=$(now)
  produce "$dir/gen" bench
  t1=$(now)
  local p_rate p_secs
  p_rate=$(rate "$EVENTS" "$t0" "$t1")
  p_secs=$(secs "$t0" "$t1")

  # consumer alone, on the full topic
  e=$(ends "$dir/gen.out")
  start_consumer "$dir/cons" bench alone "bench-alone-$run"
  t0=$(now)
  wait_until "caught_up '$dir/cons.log' bench '$e'" 300
  stop_consumer "$dir/cons"
  t1=$(now)
  local c_rate c_secs
  c_rate=$(rate "$EVENTS" "$t0" "$t1")
  c_secs=$(secs "$t0" "$t1")
  check_lake "$LAKE" alone consumer

  # both at once
  start_consumer "$dir/pipe" pipe pipe "bench-pipe-$run"
  t0=$(now)
  produce "$dir/gen2" pipe
  t2=$(now)
  e=$(ends "$dir/gen2.out")
  wait_until "caught_up '$dir/pipe.log' pipe '$e'" 300
  stop_consumer "$dir/pipe"
  t1=$(now)
  local x_rate objects
  x_rate=$(rate "$EVENTS" "$t0" "$t1")
  check_lake "$LAKE" pipe pipeline
  objects=$(find "$LAKE/pipe" -type f | wc -l)

  exec 3>&-
  local p_us c_us
  p_us=$(awk -v c="$(cat "$dir/gen.cpu")" -v n="$EVENTS" 'BEGIN { printf "%.1f", c * 1e6 / n }')
  c_us=$(awk -v c="$(cat "$dir/cons.cpu")" -v n="$EVENTS" 'BEGIN { printf "%.1f", c * 1e6 / n }')
  printf '# run %d: producer %s/s (%ss, %s us CPU/event), consumer %s/s (%ss, %s us CPU/event), pipeline %s/s (%ss; producer done at %ss); %s objects\n' \
    "$run" "$p_rate" "$p_secs" "$p_us" "$c_rate" "$c_secs" "$c_us" "$x_rate" \
    "$(secs "$t0" "$t1")" "$(secs "$t0" "$t2")" "$objects" >&2
  echo "$p_rate $c_rate $x_rate $p_us $c_us"
  rm -rf "$LAKE"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# kafka bench: events=$EVENTS partitions=$PARTITIONS users=$USERS batch=$BATCH writers=$WRITERS gzip=$GZIP runs=$RUNS" >&2
echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 1; r <= RUNS; r++)); do
  one_run "$r" >>"$TMP/results"
done
p=$(awk '{ print $1 }' "$TMP/results" | median)
c=$(awk '{ print $2 }' "$TMP/results" | median)
x=$(awk '{ print $3 }' "$TMP/results" | median)
pu=$(awk '{ print $4 }' "$TMP/results" | median)
cu=$(awk '{ print $5 }' "$TMP/results" | median)
printf 'producer alone:      %8d events/s  (%s us CPU per event, all threads)\n' "$p" "$pu"
printf 'consumer alone:      %8d events/s  (%s us CPU per event, all threads)\n' "$c" "$cu"
printf 'producer+consumer:   %8d events/s  (generate -> Kafka -> lake, target 100000)\n' "$x"
