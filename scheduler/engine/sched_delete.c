/* sched_delete.c - a run deleted while it was active (run_delete.h): the
 * scheduler stops its tasks (SIGTERM, SIGKILL after the grace period),
 * and once the last of them has ended deletes the run, its task
 * instances, tries, XComs and logs. A try a worker has is taken back from
 * it (its next heartbeat stops the process). Nothing of the run is recorded in
 * between: its rows are going. */
#include "error.h"
#include "log.h"
#include "run_delete.h"
#include "sched_int.h"
#include "store_mark.h"

/* Inside the caller's transaction. */
static int delete_now(struct sched_run *r) {
  struct dag_scheduler *s = r->sd->s;
  int rc = dag_store_run_delete(s->store, r->pk);
  if (rc == DAG_ENOTFOUND) rc = 0;
  if (rc) return rc;
  /* Files made ahead for its tries must not come back after the removal. */
  sched_ahead_drain(s);
  int lrc = dag_run_remove_logs(s->cfg->home, r->sd->dag_id, r->run_id);
  if (lrc) LOG_WARN("cannot remove a deleted run's logs dag=%s run=%s error=\"%s\"", r->sd->dag_id,
                    r->run_id, dag_strerror(lrc));
  LOG_INFO("run deleted dag=%s run=%s", r->sd->dag_id, r->run_id);
  return 0;
}

int sched_delete_run(struct sched_run *r) {
  if (r->deleting) return 0;
  int rc = 0;
  for (struct sched_ti *ti = sched_ti_next(r, NULL); ti && rc == 0; ti = sched_ti_next(r, ti)) {
    sched_ti_cancel_retry(ti);
    /* A try a worker has is taken back: its next heartbeat stops it. */
    if (ti->on_worker && !ti->end_posted) {
      rc = sched_mark_take_back(ti, "its run was deleted");
      if (rc == DAG_ENOTFOUND) rc = 0;
    }
  }
  if (rc) return rc;
  r->deleting = true;
  LOG_INFO("deleting run, stopping its tasks first dag=%s run=%s running=%zu", r->sd->dag_id,
           r->run_id, r->live);
  if (r->live == 0) {
    /* Deleted before it is let go (ending it frees it). */
    rc = delete_now(r);
    if (!r->done) sched_run_end_elsewhere(r, DAG_RUN_FAILED, false);
    return rc;
  }
  /* Stops its processes and lets it go once they are reaped. */
  if (!r->done) sched_run_end_elsewhere(r, DAG_RUN_FAILED, false);
  return 0;
}

int sched_delete_exit(struct sched_ti *ti, const struct sched_work *w) {
  struct sched_run *r = ti->run;
  int rc = 0;
  if (w->claim_id) {
    ti->on_worker = ti->end_posted = false;
    rc = dag_store_claim_recorded(r->sd->s->store, w->claim_id);
  }
  /* Its process is the last: the run can go. */
  if (rc == 0 && r->live == 1) rc = delete_now(r);
  return rc;
}
