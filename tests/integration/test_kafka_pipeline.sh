#!/usr/bin/env bash
# test_kafka_pipeline.sh - events -> embedded Kafka -> lake, with crashes.
#
# Against the real protocol: dagctl-kafka-embed hosts the embedded cluster as
# the scheduler does (HOME/kafka.bootstraps), kafka_harness runs the kafka
# plugin's tasks with a fake host, and kcat, an independent client, reads
# the topic back. Checks:
#  - kcat sees exactly what the producer logged: the same event ids at the
#    same partitions and offsets, keyed by user_id; the xcom digest matches;
#    the same seed reproduces the same events;
#  - a consumer killed with SIGKILL mid-batch and restarted loses nothing:
#    the distinct event ids in the lake equal the number produced, with no
#    line written twice;
#  - SIGTERM makes the consumer flush its partial batch, commit and exit 0,
#    so a later consumer of the group finds nothing left to write;
#  - a consumer stopped right after it joined still reads to the end of
#    the topic first; malformed messages land in dead-letter objects with
#    their reason; gzip objects read back with zcat;
#  - with flush_at_end, a running consumer writes its partial batches once
#    it has read every partition to its end (batch_interval 1h);
#  - on the embedded cluster a consumer takes every partition directly: a
#    second consumer of the group waits until the first stops, then finds
#    nothing left; join_group: true uses the group protocol instead, and a
#    direct consumer of a group that has joined members fails loudly.
. "$(dirname "$0")/lib.sh"

: "${DAGCTL_BUILD_DIR:?DAGCTL_BUILD_DIR must name the build folder}"
MOCK=$DAGCTL_BUILD_DIR/plugins/dagctl-kafka-embed
HARNESS=$DAGCTL_BUILD_DIR/tests/kafka_harness
PLUGIN=$DAGCTL_BUILD_DIR/plugins/kafka.so
for f in "$MOCK" "$HARNESS" "$PLUGIN"; do
  [ -e "$f" ] || fail "not built: $f"
done
need kcat

DS=2026-11-21
COUNT=1000
BATCH=300
KPIDS=()

kafka_cleanup() {
  local rc=$? pid
  for pid in "${KPIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  return "$rc"
}
trap 'kafka_cleanup; cleanup' EXIT

# --- the cluster --------------------------------------------------------------
mkfifo "$TMP/mock.in"
"$MOCK" "$DAGCTL_HOME" --topic spotify-plays <"$TMP/mock.in" >"$TMP/mock.out" 2>"$TMP/mock.log" &
KPIDS+=($!)
exec 3>"$TMP/mock.in" # the cluster lives as long as this descriptor
wait_for '[ -s "$TMP/mock.out" ]' 10
BOOT=$(head -n1 "$TMP/mock.out")
assert_eq "$(cat "$DAGCTL_HOME/kafka.bootstraps")" "$BOOT" "published bootstrap servers"
log "cluster at $BOOT"

# run_task LOG TYPE ARGS...: the harness in the foreground; returns its status.
run_task() {
  local out=$1 type=$2
  shift 2
  "$HARNESS" -x ds=$DS -x dag_id=spotify_data_basic -x run_id=scheduled__${DS}T00:00:00+00:00 \
    "$@" "$PLUGIN" "$type" >"$out.out" 2>"$out.log"
}

# --- producer, checked by an independent client ----------------------------------
run_task "$TMP/gen" generate_events -p count=$COUNT -p seed=pipeline ||
  fail "generate_events failed: $(tail -n 5 "$TMP/gen.log")"
assert_eq "$(awk '$2 == "count" { print $3 }' "$TMP/gen.out")" "$COUNT" "xcom count"
grep -q '^INFO produced count=1000 topic=spotify-plays ' "$TMP/gen.log" || fail "no summary line"

sed -n 's/^DEBUG delivered event_id=\([^ ]*\) partition=\([0-9]*\) offset=\([0-9]*\)$/\1 \2 \3/p' \
  "$TMP/gen.log" | sort >"$TMP/produced.txt"
assert_eq "$(wc -l <"$TMP/produced.txt")" "$COUNT" "delivery lines in the producer's log"

kcat -b "$BOOT" -C -t spotify-plays -e -q -f '%p %o %k %s\n' >"$TMP/kcat.txt"
python3 - "$TMP/kcat.txt" >"$TMP/read.txt" <<'EOF' || fail "kcat output does not parse"
import json, sys
for line in open(sys.argv[1]):
    p, o, k, payload = line.rstrip("\n").split(" ", 3)
    e = json.loads(payload)
    assert k == e["user_id"], ("key is not user_id", k, e["user_id"])
    print(e["event_id"], p, o)
EOF
sort -o "$TMP/read.txt" "$TMP/read.txt"
cmp -s "$TMP/produced.txt" "$TMP/read.txt" ||
  fail "kcat disagrees with the producer's log: $(diff "$TMP/produced.txt" "$TMP/read.txt" | head -n 5)"
DIGEST=$(cut -d' ' -f1 "$TMP/read.txt" | sort | sha256sum | cut -d' ' -f1)
assert_eq "$(awk '$2 == "event_ids_sha256" { gsub(/"/, "", $3); print $3 }' "$TMP/gen.out")" \
  "$DIGEST" "xcom event_ids_sha256"
log "kcat read $COUNT events; ids, partitions and offsets match the producer's log"

# The same seed elsewhere gives the same events (ids included).
run_task "$TMP/gen2" generate_events -p count=$COUNT -p seed=pipeline -p topic=replay-check \
  -p log_events=false || fail "second generate_events failed"
assert_eq "$(awk '$2 == "event_ids_sha256" { gsub(/"/, "", $3); print $3 }' "$TMP/gen2.out")" \
  "$DIGEST" "a seed reproduces its events"

# Full batches expected per partition, from the producer's own counts.
declare -A NP HW
while read -r p n; do NP[$p]=$n; done < <(cut -d' ' -f2 "$TMP/produced.txt" | sort | uniq -c |
  awk '{ print $2, $1 }')
FULL=0
for p in "${!NP[@]}"; do FULL=$((FULL + NP[$p] / BATCH)); done
assert_eq "${#NP[@]}" 3 "partitions used"
for p in "${!NP[@]}"; do HW[$p]=${NP[$p]}; done

# --- consumer ----------------------------------------------------------------------
LAKE=$DAGCTL_HOME/lake
CN=0
start_consumer() {
  CN=$((CN + 1))
  "$HARNESS" -x dag_id=spotify_data_basic "$@" -p batch_size=$BATCH -p batch_interval=1h \
    "$PLUGIN" kafka_consumer >"$TMP/cons$CN.out" 2>"$TMP/cons$CN.log" &
  CPID=$!
  KPIDS+=($CPID)
  wait_for 'grep -qx ready "$TMP/cons$CN.out"' 30
}
# caught_up: the consumer has read every partition to its end, HW[p].
caught_up() {
  local p
  for p in "${!HW[@]}"; do
    grep -q "caught up topic=spotify-plays partition=$p offset=${HW[$p]}\$" "$TMP/cons$CN.log" ||
      return 1
  done
}
batches() { grep -c '^INFO batch written' "$TMP/cons$CN.log" || true; }
lake_ids() {
  python3 - "$LAKE" "$1" <<'EOF'
import gzip, json, os, sys
root, what = sys.argv[1], sys.argv[2]
ids, lines = set(), 0
for d, _, files in os.walk(os.path.join(root, "raw_events")):
    for f in files:
        path = os.path.join(d, f)
        data = gzip.open(path).read() if f.endswith(".gz") else open(path, "rb").read()
        hour = d.split("hour=")[1]
        for line in data.decode().splitlines():
            e = json.loads(line)
            assert e["played_at"][11:13] == hour, (path, e["played_at"])
            ids.add(e["event_id"])
            lines += 1
print(len(ids) if what == "distinct" else lines)
EOF
}

# 1. Every full batch written and committed, the rest buffered; then SIGKILL.
start_consumer
wait_for "caught_up && [ \$(batches) -ge $FULL ]" 30
assert_eq "$(batches)" "$FULL" "full batches before the crash"
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
BEFORE=$(lake_ids distinct)
assert_eq "$BEFORE" $((FULL * BATCH)) "events in the lake after SIGKILL mid-batch"
[ "$BEFORE" -lt "$COUNT" ] || fail "the crash was not mid-batch"
log "SIGKILL with $((COUNT - BEFORE)) events buffered; lake holds $BEFORE"

# 2. A restart resumes from the commits; SIGTERM flushes the partial batches.
# Given the address itself, as the scheduler's host passes it, the plugin
# must still know the embedded cluster: with librdkafka's 45 s session
# timeout instead of 3 s, the dead member would hold its partitions past
# the deadline below.
start_consumer -c kafka.bootstrap_servers="$BOOT"
grep -q "cluster bootstrap_servers=$BOOT (embedded)" "$TMP/cons$CN.log" ||
  fail "the embedded cluster was not recognised by its address"
wait_for caught_up 30
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
assert_eq "$rc" 0 "consumer exit status after SIGTERM"
grep -q '^INFO consumer stopped events=' "$TMP/cons$CN.log" || fail "no stop line"
assert_eq "$(lake_ids distinct)" "$COUNT" "distinct event ids in the lake"
assert_eq "$(lake_ids lines)" "$COUNT" "lines in the lake (none written twice)"

# 3. Everything was committed: the next member of the group has nothing to do.
start_consumer
wait_for caught_up 30
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
assert_eq "$rc" 0 "idle consumer exit status"
grep -q '^INFO consumer stopped events=0 dead_letters=0 objects=0$' "$TMP/cons$CN.log" ||
  fail "a consumer after a clean stop wrote again: $(grep 'consumer stopped' "$TMP/cons$CN.log")"

# 4. Malformed messages go to dead letters; gzip objects read back.
P0=${NP[0]}
printf 'not json\n{"event_id":"x-1"}\n' | kcat -b "$BOOT" -P -t spotify-plays -p 0 -k bad
run_task "$TMP/gen3" generate_events -p count=10 -p seed=more || fail "third generate_events failed"
HW[0]=$((HW[0] + 2))
while read -r p; do HW[$p]=$((HW[$p] + 1)); done < <(
  sed -n 's/^DEBUG delivered event_id=[^ ]* partition=\([0-9]*\) .*/\1/p' "$TMP/gen3.log")
# No waiting for it to catch up: a stop reads to the end of the topic first.
start_consumer -p gzip=true
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
assert_eq "$rc" 0 "gzip consumer exit status"
# Names carry a tag of the cluster's id (-cXXXXXXXX) before the partition.
DL=$(find "$LAKE/dead_letter" -name "spotify-plays-c*-p0-o$P0-o$((P0 + 1)).ndjson.gz" | head -n1)
[ -n "$DL" ] || fail "no dead-letter object for p0 o$P0: $(ls -R "$LAKE/dead_letter" 2>&1)"
zcat "$DL" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r["offset"] for r in rows] == [int(sys.argv[1]), int(sys.argv[1]) + 1], rows
assert rows[0]["payload"] == "not json" and rows[0]["reason"].startswith("not JSON"), rows[0]
assert rows[1]["reason"] == "missing played_at (an ISO-8601 UTC time)", rows[1]
assert all(r["key"] == "bad" and r["partition"] == 0 for r in rows), rows
' "$P0" || fail "dead letters are not as expected: $(zcat "$DL")"
assert_eq "$(lake_ids distinct)" $((COUNT + 10)) "distinct event ids after the gzip run"
[ -n "$(find "$LAKE/raw_events" -name '*.ndjson.gz' -print -quit)" ] || fail "no gzip objects"
grep -q 'dead_letters=2 ' "$TMP/cons$CN.log" || fail "dead letters not counted"
caught_up || fail "the stopped consumer did not read to the end of every partition"

# 5. flush_at_end: partial batches land once every partition is read to its
# end, while the consumer runs on (no stop, batch_interval 1h).
# count_prefix PREFIX lines|distinct: the lake's NDJSON lines under PREFIX.
count_prefix() {
  find "$LAKE/$1" -name '*.ndjson' -exec cat {} + 2>/dev/null |
    "$PYTHON" -c 'import json, sys
ids = [json.loads(l)["event_id"] for l in sys.stdin if l.strip()]
print(len(ids) if sys.argv[1] == "lines" else len(set(ids)))' "$2"
}
run_task "$TMP/gen4" generate_events -p count=50 -p seed=eof -p topic=eof-check ||
  fail "generate_events to eof-check failed"
start_consumer -p topic=eof-check -p prefix=eof_events -p group_id=eof -p flush_at_end=true
grep -q 'partitions assigned directly topic=eof-check ' "$TMP/cons$CN.log" ||
  fail "the embedded cluster's consumer did not take its partitions directly: $(grep -m1 assigned "$TMP/cons$CN.log")"
wait_for '[ "$(count_prefix eof_events lines)" = 50 ]' 30
proc_alive "$CPID" || fail "the consumer stopped on its own"
FIRST=$CPID FIRST_N=$CN

# A second consumer of the group waits for the first to stop, then has
# nothing to write: the first committed what it wrote.
CN=$((CN + 1))
"$HARNESS" -x dag_id=spotify_data_basic -p topic=eof-check -p prefix=eof_events -p group_id=eof \
  -p flush_at_end=true -p batch_interval=1h "$PLUGIN" kafka_consumer \
  >"$TMP/cons$CN.out" 2>"$TMP/cons$CN.log" &
CPID=$!
KPIDS+=($CPID)
wait_for 'grep -q "another consumer of group_id=eof holds its partitions" "$TMP/cons$CN.log"' 30
! grep -qx ready "$TMP/cons$CN.out" || fail "a second direct consumer of the group got ready"
kill -TERM "$FIRST"
rc=0
wait "$FIRST" || rc=$?
assert_eq "$rc" 0 "first eof consumer exit status"
grep -q '^INFO consumer stopped events=50 ' "$TMP/cons$FIRST_N.log" ||
  fail "first eof consumer: $(grep 'consumer stopped' "$TMP/cons$FIRST_N.log")"
wait_for 'grep -qx ready "$TMP/cons$CN.out"' 30
wait_for 'grep -q "caught up topic=eof-check" "$TMP/cons$CN.log"' 30
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
assert_eq "$rc" 0 "second eof consumer exit status"
grep -q '^INFO consumer stopped events=0 dead_letters=0 objects=0$' "$TMP/cons$CN.log" ||
  fail "the second consumer of the group wrote again: $(grep 'consumer stopped' "$TMP/cons$CN.log")"
assert_eq "$(count_prefix eof_events lines)" 50 "lines under eof_events after two consumers"

# join_group: true takes the group protocol on the embedded cluster too.
start_consumer -p topic=eof-check -p prefix=join_events -p group_id=joined -p flush_at_end=true \
  -p join_group=true
grep -q 'partitions assigned topic=eof-check partitions=' "$TMP/cons$CN.log" ||
  fail "join_group: true did not join the group"
wait_for '[ "$(count_prefix join_events distinct)" = 50 ]' 30
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
assert_eq "$rc" 0 "group consumer exit status"
# The broker now knows the group's members and refuses a direct commit:
# the consumer says why and fails, rather than commit nothing silently.
run_task "$TMP/gen5" generate_events -p count=5 -p seed=eof2 -p topic=eof-check ||
  fail "generate_events to eof-check failed"
CN=$((CN + 1))
rc=0
timeout 60 "$HARNESS" -x dag_id=spotify_data_basic -p topic=eof-check -p prefix=join_events \
  -p group_id=joined -p flush_at_end=true "$PLUGIN" kafka_consumer \
  >"$TMP/cons$CN.out" 2>"$TMP/cons$CN.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a direct consumer of a joined group succeeded"
grep -q 'commit refused: the group has members that joined it' "$TMP/cons$CN.log" ||
  fail "no message for the refused commit: $(tail -n 3 "$TMP/cons$CN.log")"

# 6. A consumer that had read to the end before the producer ran, stopped
# the moment the producer is done, still writes what the producer wrote:
# its stop reads up to the end offsets the broker has then, not up to the
# ends it had seen before.
run_task "$TMP/gen6" generate_events -p count=10 -p seed=race -p topic=stop-race ||
  fail "generate_events to stop-race failed"
start_consumer -p topic=stop-race -p prefix=race_events -p group_id=race
wait_for '[ "$(grep -c "caught up topic=stop-race" "$TMP/cons$CN.log")" -ge 4 ]' 30
run_task "$TMP/gen7" generate_events -p count=50 -p seed=race2 -p topic=stop-race ||
  fail "generate_events to stop-race failed"
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
assert_eq "$rc" 0 "stop-race consumer exit status"
assert_eq "$(count_prefix race_events distinct)" 60 "events under race_events after the stop"

# The cluster stops when its pipe closes, and removes its address file.
MOCK_PID=${KPIDS[0]}
exec 3>&-
rc=0
wait "$MOCK_PID" || rc=$?
assert_eq "$rc" 0 "dagctl-kafka-embed exit status"
[ ! -e "$DAGCTL_HOME/kafka.bootstraps" ] || fail "kafka.bootstraps left behind"
# A sanitizer build reports into the processes' logs, not always their status.
if grep -lE 'Sanitizer|runtime error:' "$TMP"/*.log >/dev/null 2>&1; then
  grep -hE -A20 'Sanitizer|runtime error:' "$TMP"/*.log | head -n 60 >&2
  fail "sanitizer report"
fi
