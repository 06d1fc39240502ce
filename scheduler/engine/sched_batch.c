/* sched_batch.c - a task's end and its downstream's start in one
 * transaction.
 *
 * A try that ends usually makes the next ones ready (a chain's next task,
 * a fan-out's next branch). Started by sched_dispatch() after the end has
 * committed, each of those costs a transaction of its own: two commits
 * between one task's end and the next one's start, on the critical path of
 * every chain (bench/README.md, "The engine against make"). Here the ready
 * tries are started inside the end's transaction instead, so one commit
 * records both; their hand-overs to the supervisors are kept back until
 * that commit, so nothing starts on an uncommitted record, as start_task()
 * promises. A failed commit stops the scheduler (sched_store_broken()),
 * and a supervisor that never gets its try ends quietly (executor.h). */
#include <stdlib.h>

#include "alloc.h"
#include "sched_int.h"

void sched_batch_start(struct dag_scheduler *s, struct sched_ti *ended) {
  if (s->stopping || s->store_waiting || s->spawn_waiting || s->store_failed) return;
  struct sched_run *r = ended->run;
  /* The ending try's slot is free once this transaction commits: its
   * downstream may take it now (exit_accounted() frees it for good). */
  bool slot = !ended->service;
  if (slot) {
    s->running_tasks--;
    r->sd->running_tasks--;
  }
  s->batching = true;
  sched_start_ready(s);
  s->batching = false;
  if (slot) {
    s->running_tasks++;
    r->sd->running_tasks++;
  }
}

void sched_batch_defer(struct dag_scheduler *s, struct sched_ti *ti) {
  s->handover = xgrow(s->handover, &s->cap_handover, s->n_handover + 1, sizeof(*s->handover));
  s->handover[s->n_handover++] = ti;
}

void sched_batch_handover(struct dag_scheduler *s, int rc) {
  /* On a failed commit the scheduler is stopping: the tries recorded with
   * it are gone, and their supervisors are stopped unstarted with the
   * rest (sched_run_terminate_all()). */
  for (size_t i = 0; rc == 0 && i < s->n_handover; i++) {
    struct sched_ti *ti = s->handover[i];
    if (ti->proc && s->ops.start) s->ops.start(ti->proc);
  }
  s->n_handover = 0;
}

void sched_batch_free(struct dag_scheduler *s) {
  free(s->handover);
  s->handover = NULL;
  s->n_handover = s->cap_handover = 0;
}
