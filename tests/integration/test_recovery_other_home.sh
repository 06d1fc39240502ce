#!/usr/bin/env bash
# Start-up recovery finds task processes by the DAGCTL_TRY_ID in their
# environment. Two homes on one machine number their runs alike (both start
# at run pk 1), so the try id must name its home: home A's scheduler, with a
# run waiting to retry `t`, must not stop home B's try 2 of `t`, which runs
# under `dagctl test`.
source "$(dirname "$0")/lib.sh"

write_dag other <<EOF
dag_id: other
tasks:
  - id: t
    retries: 1
    retry_delay: 0s
    command: |
      if [ "\$DAGCTL_TRY_NUMBER" = 1 ]; then exit 1; fi
      exec $FAKE_TASK --sleep 4 --record $TMP/b.rec
EOF

# Home A: run 1 of `other`, its task t failed once and waits an hour to retry.
run=$(trigger other)
pk=$(sql "SELECT id FROM dag_run WHERE run_id = '$run'")
assert_eq "$pk" 1 "home A's run pk"
sql "UPDATE dag_run SET state = 'running', start_date = $(now_us) WHERE id = $pk;
     UPDATE task_instance SET state = 'up_for_retry', try_number = 1, max_tries = 1,
       next_retry_at = $(($(now_us) + 3600000000)) WHERE run_pk = $pk"

# Home B: the same DAG under `dagctl test`; its try 2 of t is running.
HOME_B=$TMP/home_b
mkdir -p "$HOME_B"
cp "$DAGCTL_HOME/dagctl.yaml" "$HOME_B/"
DAGCTL_HOME=$HOME_B "$DAGCTL_BIN" test other --quiet >"$TMP/b.out" 2>&1 &
test_pid=$!
wait_for "[ \"\$(awk '\$1 == \"start\" && \$6 == 2' $TMP/b.rec 2>/dev/null | wc -l)\" = 1 ]" 10
assert_eq "$(sqlite3 "$HOME_B/dagctl.db" "SELECT id FROM dag_run")" 1 "home B's run pk"

start_scheduler other
b_rc=0
wait "$test_pid" || b_rc=$?
assert_eq "$(rec_count "$TMP/b.rec" term t)" 0 "home B's task stopped by home A's scheduler"
assert_eq "$(rec_count "$TMP/b.rec" end t)" 1 "home B's task ran to its end"
assert_eq "$b_rc" 0 "home B's dagctl test status ($(cat "$TMP/b.out"))"
assert_eq "$(task_state other "$run" t)" up_for_retry "home A's task still waits for its retry"
