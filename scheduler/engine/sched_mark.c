/* sched_mark.c - task instances marked success, failed or skipped by hand
 * (mark.h, store_mark.h): the scheduler takes the new state, and stops the
 * process of one that was running, as Airflow does when a running task's
 * state is changed under it: SIGTERM to its process group, SIGKILL after
 * core.task_kill_grace (dag_proc_terminate()). Its try is recorded as
 * ended in the marked state; the mark stays. A try a worker has is taken
 * back from it in the same transaction (dag_store_claim_take_back()): the
 * worker stops it at its next heartbeat. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "store_mark.h"

int sched_mark_apply(struct sched_ti *ti, enum dag_task_state state) {
  int rc = 0;
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const char *task_id = r->ref->dag->tasks[ti->idx].id;
  sched_ti_cancel_retry(ti);
  if (ti->proc) {
    LOG_INFO("task marked while running, stopping it dag=%s run=%s task=%s try=%d state=%s",
             r->sd->dag_id, r->run_id, task_id, ti->try_number, dag_task_state_name(state));
    ti->marked = true;
    s->ops.terminate(ti->proc);
  } else if (ti->on_worker && !ti->end_posted) {
    /* A worker has it, queued or running: its claim is taken back, so the
     * worker's next heartbeat stops the process and its late end is
     * refused; its try is recorded as ended in the marked state now. */
    LOG_INFO("task marked while a worker has it, taking it back dag=%s run=%s task=%s try=%d "
             "state=%s", r->sd->dag_id, r->run_id, task_id, ti->try_number,
             dag_task_state_name(state));
    rc = sched_mark_take_back(ti, r->timed_out ? "its run passed its dagrun_timeout"
                                               : "marked while it ran");
    if (rc == 0) {
      struct sched_work w;
      memset(&w, 0, sizeof(w));
      w.lost = true;
      ti->state = state;
      rc = sched_mark_try_ended(ti, &w, sched_now(s));
    } else if (rc == DAG_ENOTFOUND) {
      /* Its end is waiting to be taken: it is recorded as marked. */
      rc = 0;
      ti->marked = true;
    }
  } else if (ti->on_worker) {
    /* Its end is already taken: it is recorded as marked. */
    ti->marked = true;
  } else {
    LOG_INFO("task marked dag=%s run=%s task=%s state=%s", r->sd->dag_id, r->run_id, task_id,
             dag_task_state_name(state));
  }
  ti->state = state;
  sched_ti_notify(ti);
  return rc;
}

int sched_mark_take_back(struct sched_ti *ti, const char *why) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  int rc = dag_store_claim_take_back(s->store, r->pk, r->ref->dag->tasks[ti->idx].id,
                                     ti->try_number, why, sched_now(s));
  if (rc) return rc;
  /* No longer this scheduler's to wait for (the run is not released here:
   * its caller goes on with it). */
  ti->on_worker = false;
  r->live--;
  s->running_tasks--;
  r->sd->running_tasks--;
  s->tasks_finished++;
  return 0;
}

int sched_mark_try_ended(struct sched_ti *ti, const struct sched_work *w, dag_time_t now) {
  struct sched_run *r = ti->run;
  ti->marked = false;
  char why[96];
  if (r->timed_out)
    snprintf(why, sizeof(why), "run past its dagrun_timeout: stopped");
  else
    snprintf(why, sizeof(why), "marked %s while it ran: stopped", dag_task_state_name(ti->state));
  return dag_store_try_end_marked(r->sd->s->store, r->pk, r->ref->dag->tasks[ti->idx].id,
                                  ti->map_index, ti->try_number, ti->state, now, (int)w->status,
                                  w->sig == 0 && !w->lost && !w->unstarted, why);
}
