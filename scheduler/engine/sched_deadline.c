/* sched_deadline.c - a DAG's deadline, Airflow 3's DeadlineAlert: a run
 * not finished `within` after its logical date or its queued_at gets one
 * alert, "deadline_missed", whether it runs, waits in the queue or has not
 * started at all; a run that ends before its deadline (succeeded or failed)
 * gets none. Unlike dagrun_timeout nothing is stopped: it is an alert.
 *
 * Every run in memory with a deadline not yet claimed is in one min-heap
 * ordered by deadline, and one libuv timer is armed for the nearest: adding
 * a run (at its load) and removing it (at its end) cost O(log n), and
 * nothing polls. The timer only posts a work item; the deadlines are
 * checked against the scheduler's wall clock (they are wall times), so a
 * timer that fires early re-arms for the rest.
 *
 * Once only: the work item claims the miss in the store
 * (dag_store_deadline_claim) and the listener queues the alert, both in one
 * transaction. A run loaded again after a restart, or by another scheduler
 * (PostgreSQL), finds its claim and is not put in the heap; two schedulers
 * racing for one run meet at the claim's primary key. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "duration.h"
#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "store_deadline.h"

static struct sched_deadlines *of(struct sched_run *r) {
  return &r->sd->s->deadlines;
}

/* --- the heap ------------------------------------------------------------------ */

static void place(struct sched_deadlines *d, size_t i, struct sched_run *r) {
  d->heap[i] = r;
  r->deadline_slot = i + 1;
}

static void sift_up(struct sched_deadlines *d, size_t i) {
  struct sched_run *r = d->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (d->heap[parent]->deadline_at <= r->deadline_at) break;
    place(d, i, d->heap[parent]);
    i = parent;
  }
  place(d, i, r);
}

static void sift_down(struct sched_deadlines *d, size_t i) {
  struct sched_run *r = d->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= d->n) break;
    if (c + 1 < d->n && d->heap[c + 1]->deadline_at < d->heap[c]->deadline_at) c++;
    if (d->heap[c]->deadline_at >= r->deadline_at) break;
    place(d, i, d->heap[c]);
    i = c;
  }
  place(d, i, r);
}

static void heap_remove(struct sched_deadlines *d, struct sched_run *r) {
  size_t i = r->deadline_slot - 1;
  r->deadline_slot = 0;
  struct sched_run *last = d->heap[--d->n];
  if (i == d->n) return;
  place(d, i, last);
  if (i > 0 && d->heap[(i - 1) / 2]->deadline_at > last->deadline_at)
    sift_up(d, i);
  else
    sift_down(d, i);
}

/* --- the timer ------------------------------------------------------------------ */

static void on_deadline_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = SCHED_WORK_DEADLINE;
  sched_post(s, &w);
  sched_dispatch(s);
}

/* Arm the timer for the nearest deadline, or stop it when none is left.
 * Milliseconds rounded up, so that it never fires before the deadline. */
static void rearm(struct dag_scheduler *s) {
  struct sched_deadlines *d = &s->deadlines;
  if (!d->timer_on) return;
  if (d->n == 0 || s->stopping) {
    uv_timer_stop(&d->timer);
    return;
  }
  dag_time_t left = d->heap[0]->deadline_at - sched_now(s);
  uint64_t ms = left <= 0 ? 0 : (uint64_t)((left + 999) / 1000);
  uv_timer_start(&d->timer, on_deadline_timer, ms, 0);
}

/* --- the hooks --------------------------------------------------------------------- */

int sched_deadline_add(struct sched_run *r, dag_time_t queued_at) {
  struct dag_scheduler *s = r->sd->s;
  const struct dag *dag = r->ref->dag;
  if (dag->deadline_after == DAG_DEADLINE_NONE || r->deadline_slot || s->stopping) return 0;
  bool missed = false;
  int rc = dag_store_deadline_missed(s->store, r->pk, &missed);
  if (rc || missed) return rc;
  dag_time_t ref = dag->deadline_after == DAG_DEADLINE_QUEUED_AT ? queued_at : r->logical_date;
  r->deadline_at = ref + dag->deadline_within_us;
  struct sched_deadlines *d = &s->deadlines;
  if (!d->timer_on) {
    uv_timer_init(s->loop, &d->timer);
    d->timer.data = s;
    d->timer_on = true;
  }
  if (d->n == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 16;
    d->heap = xrealloc(d->heap, d->cap * sizeof(*d->heap));
  }
  place(d, d->n++, r);
  sift_up(d, d->n - 1);
  if (d->heap[0] == r) rearm(s);
  return 0;
}

void sched_deadline_remove(struct sched_run *r) {
  if (!r->deadline_slot) return;
  struct sched_deadlines *d = of(r);
  bool first = d->heap[0] == r;
  heap_remove(d, r);
  /* The timer stays armed for an earlier deadline than the new first:
   * only removing the first moves it. */
  if (first) rearm(r->sd->s);
}

int sched_deadline_work(struct dag_scheduler *s) {
  struct sched_deadlines *d = &s->deadlines;
  if (s->stopping || s->store_failed || d->n == 0) return 0;
  dag_time_t now = sched_now(s);
  if (d->heap[0]->deadline_at > now) {
    rearm(s);
    return 0;
  }
  int rc = sched_txn_begin(s, "deadline");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  while (rc == 0 && d->n && d->heap[0]->deadline_at <= now) {
    struct sched_run *r = d->heap[0];
    heap_remove(d, r);
    /* An ended run left the heap at its end; one being deleted is no
     * one's concern any more. */
    if (r->done || r->deleting) continue;
    bool claimed = false;
    rc = dag_store_deadline_claim(s->store, r->pk, r->deadline_at, now, &claimed);
    if (rc || !claimed) continue;
    const struct dag *dag = r->ref->dag;
    char within[32];
    dag_duration_format(dag->deadline_within_us, within, sizeof(within));
    LOG_WARN("run missed its deadline dag=%s run=%s state=%s after=%s within=%s", r->sd->dag_id,
             r->run_id, dag_run_state_name(r->state), dag_deadline_ref_name(dag->deadline_after),
             within);
    if (s->listener.deadline_missed)
      s->listener.deadline_missed(s->listener.ctx, r->sd->dag_id, r->run_id, r->deadline_at);
  }
  /* A failure stops the scheduler (sched_txn_end): the next start loads
   * the runs again, with their deadlines unclaimed. */
  rc = sched_txn_end(s, rc, "deadline");
  if (rc == 0) rearm(s);
  return 0;
}

void sched_deadline_stop(struct dag_scheduler *s) {
  struct sched_deadlines *d = &s->deadlines;
  if (!d->timer_on) return;
  sched_close_handle(s, (uv_handle_t *)&d->timer);
  /* Runs still leave the heap as they are freed; the timer is left alone. */
  d->timer_on = false;
}

void sched_deadline_free(struct dag_scheduler *s) {
  free(s->deadlines.heap);
  s->deadlines.heap = NULL;
  s->deadlines.n = s->deadlines.cap = 0;
}
