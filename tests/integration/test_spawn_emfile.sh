#!/usr/bin/env bash
# Running out of file descriptors at spawn is a wait, not a failed try: with
# the scheduler's descriptors taken by idle connections to its page, the
# run's tasks wait, and once the connections close they run, each once and
# at its first try.
. "$(dirname "$0")/lib.sh"

cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
  parallelism: 8
EOF2
{
  echo "dag_id: wide"
  echo "tasks:"
  for i in $(seq 1 12); do
    echo "  - id: t$i"
    echo "    command: $FAKE_TASK --record $TMP/wide.rec"
  done
} | write_dag wide
start_scheduler wide
[ -n "$SCHED_URL" ] || fail "the scheduler has no status page"
prlimit --pid "$SCHED_PID" --nofile=64:64
port=$(sed 's|.*:\([0-9]*\)/$|\1|' <<<"$SCHED_URL")

# 80 idle connections, a few per source address, until told to close.
"$PYTHON" - "$port" "$TMP/conns" "$TMP/release" <<'PY' &
import os, socket, sys, time
port, ready, release = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = []
for i in range(80):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i // 5), 0))
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    conns.append(s)
open(ready, "w").close()
while not os.path.exists(release):
    time.sleep(0.05)
for s in conns:
    s.close()
PY
holder=$!
wait_for "[ -e '$TMP/conns' ]" 10

run=$(trigger wide)
wait_for "grep -qi 'too many open files' '$SCHED_LOG'" 10
touch "$TMP/release"
wait "$holder"
assert_eq "$(wait_run wide "$run" 30)" success "run state once descriptors are free"
assert_eq "$(sql "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                  WHERE r.run_id = '$run'")" 12 "tries recorded (a wait is not a try)"
for i in $(seq 1 12); do
  assert_eq "$(rec_count "$TMP/wide.rec" start "t$i")" 1 "starts of t$i"
done
stop_scheduler
