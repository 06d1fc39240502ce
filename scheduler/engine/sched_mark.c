/* sched_mark.c - task instances marked success, failed or skipped by hand
 * (mark.h, store_mark.h): the scheduler takes the new state, and stops the
 * process of one that was running, as Airflow does when a running task's
 * state is changed under it: SIGTERM to its process group, SIGKILL after
 * core.task_kill_grace (dag_proc_terminate()). Its try is recorded as
 * ended in the marked state; the mark stays. */
#include <stdio.h>

#include "log.h"
#include "sched_int.h"
#include "store_mark.h"

void sched_mark_apply(struct sched_ti *ti, enum dag_task_state state) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const char *task_id = r->ref->dag->tasks[ti->idx].id;
  sched_ti_cancel_retry(ti);
  if (ti->proc) {
    LOG_INFO("task marked while running, stopping it dag=%s run=%s task=%s try=%d state=%s",
             r->sd->dag_id, r->run_id, task_id, ti->try_number, dag_task_state_name(state));
    ti->marked = true;
    s->ops.terminate(ti->proc);
  } else if (ti->on_worker) {
    /* A worker runs it: its end, when reported, is recorded as marked. */
    LOG_INFO("task marked while a worker runs it dag=%s run=%s task=%s state=%s", r->sd->dag_id,
             r->run_id, task_id, dag_task_state_name(state));
    ti->marked = true;
  } else {
    LOG_INFO("task marked dag=%s run=%s task=%s state=%s", r->sd->dag_id, r->run_id, task_id,
             dag_task_state_name(state));
  }
  ti->state = state;
  sched_ti_notify(ti);
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
