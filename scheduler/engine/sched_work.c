/* sched_work.c - the scheduler's work queue and its two waits.
 *
 * Every state change runs as a work item (struct sched_work in
 * sched_int.h), in arrival order, each in its own transaction. Follow-ups
 * of a change (a finished run lets the next queued one start) are items
 * queued during its transaction and run after it committed, so nothing
 * acts on an uncommitted state. Two waits hold work back without losing
 * it: the database locked by another process (an item whose BEGIN
 * IMMEDIATE is refused stays first in the queue), and no resources to
 * spawn a task (the task goes back to the head of its run's ready queue).
 * Both retry from a timer with a doubling delay; the loop never blocks. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "timeutil.h"

/* First retry after a refused BEGIN, and the longest delay between two. */
#define STORE_WAIT_FIRST_MS 5
#define STORE_WAIT_MAX_MS 500
/* The same after EMFILE/EAGAIN/ENOMEM at spawn. */
#define SPAWN_WAIT_FIRST_MS 50
#define SPAWN_WAIT_MAX_MS 2000

dag_time_t sched_now(const struct dag_scheduler *s) {
  return s->ops.now ? s->ops.now(s->ops.ctx) : dag_time_now();
}

static bool deduplicated(enum sched_work_kind kind) {
  return kind == SCHED_WORK_SCHEDULE || kind == SCHED_WORK_START_RUNS ||
         kind == SCHED_WORK_RESCAN || kind == SCHED_WORK_EVENTS;
}

static unsigned *posted_mask(struct dag_scheduler *s, const struct sched_work *w) {
  return w->sd ? &w->sd->posted : &s->posted;
}

void sched_post(struct dag_scheduler *s, const struct sched_work *w) {
  if (deduplicated(w->kind)) {
    unsigned *mask = posted_mask(s, w);
    if (*mask & (1u << w->kind)) return;
    *mask |= 1u << w->kind;
  }
  struct sched_work *item = xmalloc(sizeof(*item));
  *item = *w;
  item->next = NULL;
  if (s->work_tail)
    s->work_tail->next = item;
  else
    s->work_head = item;
  s->work_tail = item;
}

void sched_post_dag(struct sched_dag *sd, enum sched_work_kind kind) {
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = kind;
  w.sd = sd;
  sched_post(sd->s, &w);
}

static void pop(struct dag_scheduler *s) {
  struct sched_work *w = s->work_head;
  s->work_head = w->next;
  if (!s->work_head) s->work_tail = NULL;
  if (deduplicated(w->kind)) *posted_mask(s, w) &= ~(1u << w->kind);
  free(w->why);
  free(w);
}

static int run_item(struct dag_scheduler *s, struct sched_work *w) {
  switch (w->kind) {
  case SCHED_WORK_STARTUP:
  case SCHED_WORK_RESCAN:
  case SCHED_WORK_EVENTS:
  case SCHED_WORK_SCHEDULE:
    return sched_outer_work(s, w);
  default:
    return sched_run_work(s, w);
  }
}

void sched_dispatch(struct dag_scheduler *s) {
  if (s->draining) return;
  s->draining = true;
  for (;;) {
    while (s->work_head && !s->store_waiting) {
      int rc = run_item(s, s->work_head);
      if (rc == DAG_ELOCKED) {
        sched_store_wait(s);
        break;
      }
      pop(s);
    }
    if (s->store_waiting) break;
    if (!s->stopping && !s->spawn_waiting) sched_start_ready(s);
    if (s->queued_new) sched_queue_notify(s);
    /* Starting a task can end its run (a task that cannot start). */
    if (!s->work_head || s->store_waiting) break;
  }
  s->draining = false;
  /* Every item has committed or waits untouched: start their callbacks. */
  sched_callback_flush(s);
  if (s->stopping) sched_maybe_closed(s);
}

static void on_store_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  s->store_waiting = false;
  sched_dispatch(s);
}

static void on_spawn_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  s->spawn_waiting = false;
  sched_dispatch(s);
}

static uint64_t next_delay(uint64_t delay, uint64_t first, uint64_t max) {
  if (delay == 0) return first;
  return delay * 2 > max ? max : delay * 2;
}

void sched_store_wait(struct dag_scheduler *s) {
  if (s->store_waiting) return;
  s->store_waiting = true;
  if (!s->store_wait_since) {
    s->store_wait_since = uv_now(s->loop) + 1;
    s->store_delay = 0;
    LOG_WARN("state store is locked by another process; waiting for it (running tasks go on, "
             "their ends are recorded once it is free)");
  }
  s->store_delay = next_delay(s->store_delay, STORE_WAIT_FIRST_MS, STORE_WAIT_MAX_MS);
  uv_timer_start(&s->store_timer, on_store_timer, s->store_delay, 0);
}

void sched_store_ok(struct dag_scheduler *s) {
  if (!s->store_wait_since) return;
  LOG_INFO("state store is free again waited_ms=%llu",
           (unsigned long long)(uv_now(s->loop) + 1 - s->store_wait_since));
  s->store_wait_since = 0;
}

void sched_spawn_wait(struct dag_scheduler *s, int err) {
  if (s->spawn_waiting) return;
  s->spawn_waiting = true;
  if (!s->spawn_wait_since) {
    s->spawn_wait_since = uv_now(s->loop) + 1;
    s->spawn_delay = 0;
    LOG_WARN("cannot start tasks for now, waiting (not a failed try) error=\"%s\"",
             uv_strerror(err));
  }
  s->spawn_delay = next_delay(s->spawn_delay, SPAWN_WAIT_FIRST_MS, SPAWN_WAIT_MAX_MS);
  uv_timer_start(&s->spawn_timer, on_spawn_timer, s->spawn_delay, 0);
}

void sched_spawn_ok(struct dag_scheduler *s) {
  if (!s->spawn_wait_since) return;
  LOG_INFO("tasks start again waited_ms=%llu",
           (unsigned long long)(uv_now(s->loop) + 1 - s->spawn_wait_since));
  s->spawn_wait_since = 0;
}

void sched_work_init(struct dag_scheduler *s) {
  uv_timer_init(s->loop, &s->store_timer);
  s->store_timer.data = s;
  uv_timer_init(s->loop, &s->spawn_timer);
  s->spawn_timer.data = s;
  sched_pool_init(s);
}

void sched_work_free(struct dag_scheduler *s) {
  while (s->work_head) pop(s);
}
