/* sched_metrics.c - how long each ready task waited before its try
 * started, per DAG and task, as a histogram since the scheduler started.
 *
 * A task instance is ready when the scheduler puts it in its run's ready
 * queue (its upstream tasks allow it, or its retry time came); it starts
 * when a slot is free (core.parallelism, max_active_tasks) and its try is
 * recorded. The wait between is the scheduler's own delay, which only the
 * scheduler sees: the database records neither moment apart. At most
 * SCHED_DELAY_MAX_SERIES (DAG, task) pairs get a series; the others are
 * added into dag_id and task_id "_other". O(1) expected per start. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sched_int.h"

#define SCHED_DELAY_MAX_SERIES 5000
#define OTHER "_other"

const double dag_sched_delay_bounds[DAG_SCHED_DELAY_BUCKETS] = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300};

static struct sched_delay_series *series_for(struct sched_delays *d, const char *dag_id,
                                             const char *task_id) {
  /* The key joins both ids with a byte no id holds. */
  char *key = xasprintf("%s\x1f%s", dag_id, task_id);
  size_t i;
  if (dag_strmap_get(&d->index, key, &i)) {
    free(key);
    return &d->v[i];
  }
  if (d->n >= SCHED_DELAY_MAX_SERIES) {
    free(key);
    key = xstrdup(OTHER "\x1f" OTHER);
    if (dag_strmap_get(&d->index, key, &i)) {
      free(key);
      return &d->v[i];
    }
    dag_id = task_id = OTHER;
  }
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 16;
    d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
  }
  struct sched_delay_series *e = &d->v[d->n];
  memset(e, 0, sizeof(*e));
  e->key = key; /* the map borrows it */
  e->dag_id = xstrdup(dag_id);
  e->task_id = xstrdup(task_id);
  dag_strmap_add(&d->index, key, d->n, NULL);
  d->n++;
  return e;
}

void sched_delay_observe(struct dag_scheduler *s, const char *dag_id, const char *task_id,
                         double seconds) {
  struct sched_delay_series *e = series_for(&s->delays, dag_id, task_id);
  if (seconds < 0) seconds = 0;
  e->sum += seconds;
  e->counts[DAG_SCHED_DELAY_BUCKETS]++;
  for (int i = 0; i < DAG_SCHED_DELAY_BUCKETS; i++)
    if (seconds <= dag_sched_delay_bounds[i]) e->counts[i]++;
}

void sched_delays_free(struct sched_delays *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].key);
    free(d->v[i].dag_id);
    free(d->v[i].task_id);
  }
  free(d->v);
  dag_strmap_free(&d->index);
  memset(d, 0, sizeof(*d));
}

void dag_scheduler_each_delay(const struct dag_scheduler *s, dag_sched_delay_fn fn, void *ud) {
  for (size_t i = 0; i < s->delays.n; i++) {
    const struct sched_delay_series *e = &s->delays.v[i];
    fn(ud, e->dag_id, e->task_id, e->counts, e->sum);
  }
}
