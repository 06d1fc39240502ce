#!/usr/bin/env bash
# A full disk is a clean failure: the scheduler that meets it exits 4, a
# scheduler started while the disk is still full exits too (releasing its
# lock) instead of hanging, the CLI says the disk is full, and once space is
# freed a restart finishes the run.
. "$(dirname "$0")/lib.sh"

# DAGCTL_HOME on a 2 MiB tmpfs of its own (root only: mount is part of the test).
FULL=$TMP/full
mkdir -p "$FULL"
mount -t tmpfs -o size=2m tmpfs "$FULL" || fail "cannot mount a tmpfs (the test runs as root)"
trap '_rc=$?; umount -l "$FULL" 2>/dev/null || true; (exit $_rc); cleanup' EXIT
export DAGCTL_HOME=$FULL/home
mkdir -p "$DAGCTL_HOME"
write_config

write_dag filler <<EOF2
dag_id: filler
tasks:
  - id: a
    command: $FAKE_TASK --record $TMP/fill.rec --sleep 0.3
    # Its end goes unrecorded on the full disk: the restart runs it again.
    retries: 1
    retry_delay: 0s
  - id: b
    upstream: a
    command: $FAKE_TASK --record $TMP/fill.rec
EOF2
start_scheduler filler
run=$(trigger filler)
wait_for "[ \"\$(task_state filler '$run' a)\" = running ]" 10
# Fill the disk while a runs: its end cannot be recorded.
dd if=/dev/zero of="$FULL/ballast" bs=16k 2>/dev/null || true
pid=$SCHED_PID
wait_for "! proc_alive $pid" 15
SCHED_PID=

# A second scheduler on the still-full disk ends by itself, with a clear
# message, and releases its lock.
rc=0
timeout 20 "$DAGCTL_BIN" scheduler --port 0 >"$TMP/scheduler.full.log" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "a scheduler started on a full disk did not exit: $(tail -n 5 "$TMP/scheduler.full.log")"
[ "$rc" -ne 0 ] || fail "a scheduler started on a full disk exited 0"
grep -qiE 'disk (is )?full|no space left' "$TMP/scheduler.full.log" ||
  fail "no disk-full message: $(tail -n 5 "$TMP/scheduler.full.log")"

# The CLI says what is wrong.
rc=0
"$DAGCTL_BIN" trigger filler >/dev/null 2>"$TMP/trigger.err" || rc=$?
[ "$rc" -ne 0 ] || fail "a trigger on a full disk succeeded"
grep -qiE 'disk (is )?full|no space left' "$TMP/trigger.err" ||
  fail "trigger on a full disk: $(cat "$TMP/trigger.err")"
grep -q 'cannot rollback' "$TMP/trigger.err" && fail "trigger on a full disk: $(cat "$TMP/trigger.err")"

# Space again: a restart recovers the run.
rm -f "$FULL/ballast"
start_scheduler filler
assert_eq "$(wait_run filler "$run" 20)" success "run after space was freed"
assert_eq "$(rec_count "$TMP/fill.rec" end b)" 1 "ends of b"
stop_scheduler
