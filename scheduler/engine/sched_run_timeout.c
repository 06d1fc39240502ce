/* sched_run_timeout.c - a DAG's dagrun_timeout: a run still unfinished that
 * long after its start fails, as Airflow's scheduler does it
 * (SchedulerJobRunner._schedule_dag_run): the run's state is set failed,
 * every unfinished task instance is set skipped, and a task running at
 * that moment is stopped as one marked by hand is (sched_mark.c: SIGTERM,
 * SIGKILL after core.task_kill_grace), its try recorded as ended skipped.
 * The run's end is announced as any failed run's, so its alert goes out.
 *
 * Driven by one libuv timer per running run, armed at its start and again
 * after a restart from the stored start date: nothing polls. The timer only
 * posts a work item; the deadline is checked against the scheduler's wall
 * clock (the stored start date is wall time), so a timer that fires early
 * re-arms for the rest. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "duration.h"
#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "store.h"

static void timeout_closed(uv_handle_t *h) {
  free(container_of((uv_timer_t *)h, struct sched_run_timeout, timer));
}

static void on_timeout(uv_timer_t *t) {
  struct sched_run_timeout *to = container_of(t, struct sched_run_timeout, timer);
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = SCHED_WORK_RUN_TIMEOUT;
  w.pk = to->pk;
  sched_post(to->s, &w);
  sched_dispatch(to->s);
}

/* Milliseconds from the scheduler's now to `deadline`, rounded up so the
 * timer never fires before it; 0 when it has passed. */
static uint64_t ms_until(const struct dag_scheduler *s, dag_time_t deadline) {
  dag_time_t left = deadline - sched_now(s);
  return left <= 0 ? 0 : (uint64_t)((left + 999) / 1000);
}

void sched_run_timeout_arm(struct sched_run *r, dag_time_t start_date) {
  int64_t limit = r->ref->dag->dagrun_timeout_us;
  r->start_date = start_date;
  if (limit <= 0 || r->timeout) return;
  struct dag_scheduler *s = r->sd->s;
  struct sched_run_timeout *to = xcalloc(1, sizeof(*to));
  to->s = s;
  to->pk = r->pk;
  to->deadline = start_date + limit;
  uv_timer_init(s->loop, &to->timer);
  uv_timer_start(&to->timer, on_timeout, ms_until(s, to->deadline), 0);
  r->timeout = to;
}

void sched_run_timeout_disarm(struct sched_run *r) {
  if (!r->timeout) return;
  uv_timer_stop(&r->timeout->timer);
  uv_close((uv_handle_t *)&r->timeout->timer, timeout_closed);
  r->timeout = NULL;
}

int sched_run_timeout_check(struct sched_run *r) {
  struct dag_scheduler *s = r->sd->s;
  if (!r->timeout || r->done || r->deleting || r->state != DAG_RUN_RUNNING) return 0;
  dag_time_t now = sched_now(s);
  if (now < r->timeout->deadline) {
    uv_timer_start(&r->timeout->timer, on_timeout, ms_until(s, r->timeout->deadline), 0);
    return 0;
  }
  const struct dag *dag = r->ref->dag;
  char took[32];
  dag_duration_format(dag->dagrun_timeout_us, took, sizeof(took));
  LOG_WARN("run timed out, failing it dag=%s run=%s dagrun_timeout=%s running=%zu",
           r->sd->dag_id, r->run_id, took, r->live);
  r->timed_out = true;
  int rc = 0;
  for (struct sched_ti *ti = sched_ti_next(r, NULL); ti && rc == 0; ti = sched_ti_next(r, ti)) {
    if (ti->absent || dag_task_state_is_finished(ti->state)) continue;
    rc = dag_store_ti_set_state(s->store, r->pk, dag->tasks[ti->idx].id, ti->map_index,
                                DAG_TI_SKIPPED, now);
    /* A running one is stopped and its try recorded as ended skipped. */
    if (rc == 0) rc = sched_mark_apply(ti, DAG_TI_SKIPPED);
  }
  if (rc == 0) rc = dag_store_set_run_state(s->store, r->pk, DAG_RUN_FAILED, 0, now);
  if (rc) return rc;
  sched_run_timeout_disarm(r);
  sched_callback_run(r, DAG_CB_FAILURE, "timed_out"); /* Airflow's reason */
  sched_run_end_elsewhere(r, DAG_RUN_FAILED, true);
  /* `dagctl test` waits for its run's end. */
  if (!s->service) {
    struct sched_work w;
    memset(&w, 0, sizeof(w));
    w.kind = SCHED_WORK_ONE_DONE;
    w.state = DAG_RUN_FAILED;
    sched_post(s, &w);
  }
  return 0;
}

int sched_run_timeout_work(struct dag_scheduler *s, struct sched_work *w) {
  if (s->stopping || s->store_failed) return 0;
  struct sched_run *r = sched_find_run(s, w->pk);
  if (!r || !r->timeout) return 0;
  int rc = sched_txn_begin(s, "run timeout");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  rc = sched_run_timeout_check(r);
  sched_txn_end(s, rc, "run timeout");
  return 0;
}
