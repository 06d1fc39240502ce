#!/bin/sh
# trace_try.sh SLEEP: a task for the workers' tests (test_workers.sh,
# test_scaleout_pg.sh). It records this try's start and end in $TMP_TRACE
# under a lock, as "start|end RUN/TASK WORKER TRY"; a start that finds the
# same task started and not ended records an overlap.
t=$DAGCTL_RUN_ID/$DAGCTL_TASK_ID
# In the try's log: where it ran.
echo "trace: $t on $WORKER_NAME"
{
  flock 9
  starts=$(grep -c "^start $t " "$TMP_TRACE" || true)
  ends=$(grep -c "^end $t " "$TMP_TRACE" || true)
  [ "$starts" -gt "$ends" ] && echo "overlap $t $WORKER_NAME" >>"$TMP_TRACE"
  echo "start $t $WORKER_NAME $DAGCTL_TRY_NUMBER" >>"$TMP_TRACE"
} 9>>"$TMP_TRACE.lock"
# A try stopped by its supervisor (SIGTERM to its group) ends here too.
trap '{ flock 9; echo "end $t $WORKER_NAME $DAGCTL_TRY_NUMBER stopped" >>"$TMP_TRACE"; } 9>>"$TMP_TRACE.lock"; exit 143' TERM
sleep "$1"
trap - TERM
{
  flock 9
  echo "end $t $WORKER_NAME $DAGCTL_TRY_NUMBER" >>"$TMP_TRACE"
} 9>>"$TMP_TRACE.lock"
