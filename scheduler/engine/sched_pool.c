/* sched_pool.c - pools and priorities in the run state machine.
 *
 * Order. Each run keeps its ready tasks in a binary heap, the heaviest
 * effective weight (priority.h) on top, then the earliest to become ready.
 * A start pass (sched_start_ready()) takes, among the runs that may start
 * a task now, the one whose top is heaviest, ties to the earlier logical
 * date: Airflow's order of scheduled task instances (-priority_weight,
 * logical date), kept while slots are short, whether a pool's, the DAG's
 * max_active_tasks or core.parallelism. The weights of a DAG version are
 * computed once, on first use, and live with its dag_ref.
 *
 * Slots. The state database is the one authority on a pool's slots: it
 * holds every scheduler's and every `dagctl test`'s tries. A start claims
 * its slots in its own transaction under the pool row's lock
 * (dag_store_pool_claim()), so two schedulers never both take the last
 * one. A task whose pool is short (or unknown: Airflow keeps such a task
 * scheduled and says why) is set aside for the rest of the pass, and so
 * are the others of that pool that need more than it had open, without a
 * query each; lighter tasks of other pools start meanwhile, as in Airflow.
 * Set-aside tasks go back to their queues at the pass's end and are looked
 * at again at the next pass (any task's end) or, for slots freed by
 * another process, from a timer while any waits. Each wait is logged
 * once, when it begins. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "priority.h"
#include "sched_int.h"
#include "store_pools.h"

/* How often tasks waiting for a pool look again for slots that another
 * process freed (this scheduler's own ends look at once). */
#define POOL_RETRY_MS 1000

struct pool_seen {
  char *name; /* owned: a run may end, and its DAG version go, mid-pass */
  int open;         /* open slots seen; -1: the pool does not exist */
};

struct sched_pool_pass {
  struct pool_seen *seen;
  size_t n_seen, cap_seen;
  struct sched_ti **parked;
  size_t n_parked, cap_parked;
};

static const struct dag_task *task_of(const struct sched_ti *ti) {
  return &ti->run->ref->dag->tasks[ti->idx];
}

int32_t sched_pool_weight(const struct sched_ti *ti) {
  struct dag_ref *ref = ti->run->ref;
  if (!ref->weights) {
    ref->weights = xcalloc(ref->dag->n_tasks ? ref->dag->n_tasks : 1, sizeof(*ref->weights));
    dag_priority_weights(ref->dag, ref->weights);
  }
  return ref->weights[ti->idx];
}

/* --- the ready heap ------------------------------------------------------------ */

/* Whether a goes before b. */
static bool before(const struct sched_ti *a, const struct sched_ti *b) {
  int32_t wa = sched_pool_weight(a), wb = sched_pool_weight(b);
  if (wa != wb) return wa > wb;
  return a->ready_seq < b->ready_seq;
}

static void sift_down(struct sched_run *r, size_t i, struct sched_ti *x) {
  size_t n = r->ready_len;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(r->ready[c + 1], r->ready[c])) c++;
    if (!before(r->ready[c], x)) break;
    r->ready[i] = r->ready[c];
    i = c;
  }
  r->ready[i] = x;
}

void sched_pool_heap_push(struct sched_run *r, struct sched_ti *ti) {
  r->ready = xgrow(r->ready, &r->ready_cap, r->ready_len + 1, sizeof(*r->ready));
  r->ready_head = 0;
  size_t i = r->ready_len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(ti, r->ready[parent])) break;
    r->ready[i] = r->ready[parent];
    i = parent;
  }
  r->ready[i] = ti;
}

struct sched_ti *sched_pool_heap_pop(struct sched_run *r) {
  struct sched_ti *top = r->ready[0];
  struct sched_ti *last = r->ready[--r->ready_len];
  if (r->ready_len) sift_down(r, 0, last);
  return top;
}

size_t sched_pool_heap_drop(struct sched_run *r, const struct sched_ti *from, size_t n) {
  size_t kept = 0, dropped = 0;
  for (size_t i = 0; i < r->ready_len; i++) {
    struct sched_ti *ti = r->ready[i];
    if (ti >= from && ti < from + n)
      dropped++;
    else
      r->ready[kept++] = ti;
  }
  r->ready_len = kept;
  /* Floyd's heap construction over what is left: O(n). */
  for (size_t i = kept / 2; i-- > 0;) sift_down(r, i, r->ready[i]);
  return dropped;
}

/* --- a start pass ---------------------------------------------------------------- */

void sched_pool_pass_begin(struct dag_scheduler *s) {
  s->pool_pass = xcalloc(1, sizeof(*s->pool_pass));
}

static bool may_start(const struct sched_run *r) {
  const struct sched_dag *sd = r->sd;
  return !r->done && !sd->paused && r->state == DAG_RUN_RUNNING && r->ready_len &&
         sd->running_tasks < r->ref->dag->max_active_tasks;
}

struct sched_run *sched_pool_pick(struct dag_scheduler *s) {
  struct sched_run *best = NULL;
  int32_t best_w = 0;
  for (struct sched_run *r = s->ready_runs; r; r = r->ready_next) {
    if (!may_start(r)) continue;
    int32_t w = sched_pool_weight(r->ready[0]);
    if (!best || w > best_w || (w == best_w && r->logical_date < best->logical_date)) {
      best = r;
      best_w = w;
    }
  }
  return best;
}

static struct pool_seen *seen_of(struct sched_pool_pass *pp, const char *name) {
  for (size_t i = 0; i < pp->n_seen; i++)
    if (strcmp(pp->seen[i].name, name) == 0) return &pp->seen[i];
  return NULL;
}

bool sched_pool_known_short(struct dag_scheduler *s, const struct sched_ti *ti) {
  const struct dag_task *t = task_of(ti);
  const struct pool_seen *p = s->pool_pass ? seen_of(s->pool_pass, dag_task_pool(t)) : NULL;
  return p && p->open < t->args.pool_slots;
}

static void remember(struct dag_scheduler *s, const char *name, int open) {
  struct sched_pool_pass *pp = s->pool_pass;
  if (!pp) return;
  struct pool_seen *p = seen_of(pp, name);
  if (!p) {
    pp->seen = xgrow(pp->seen, &pp->cap_seen, pp->n_seen + 1, sizeof(*pp->seen));
    p = &pp->seen[pp->n_seen++];
    p->name = xstrdup(name);
  }
  p->open = open;
}

int sched_pool_claim(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag_task *t = task_of(ti);
  const char *pool = dag_task_pool(t);
  bool granted = false;
  int open = 0;
  int rc = dag_store_pool_claim(s->store, pool, t->args.pool_slots, r->pk, t->id,
                                ti->map_index, sched_pool_weight(ti), &granted, &open);
  if (rc == 0 && granted) {
    if (ti->pool_waiting)
      LOG_INFO("task has its pool slots dag=%s run=%s task=%s pool=%s slots=%d", r->sd->dag_id,
               r->run_id, t->id, pool, t->args.pool_slots);
    ti->pool_waiting = false;
    return 0;
  }
  if (rc == DAG_ENOTFOUND && r->is_test) {
    /* `dagctl test` runs alone and nobody will create the pool: run the
     * task without it, as Airflow's `dags test` runs tasks without pools. */
    LOG_WARN("pool does not exist; a test run goes on without it dag=%s run=%s task=%s pool=%s",
             r->sd->dag_id, r->run_id, t->id, pool);
    return 0;
  }
  if (rc == DAG_ENOTFOUND) {
    remember(s, pool, -1);
    if (!ti->pool_waiting)
      LOG_WARN("task waits: its pool does not exist (create it with `dagctl pools set`) "
               "dag=%s run=%s task=%s pool=%s",
               r->sd->dag_id, r->run_id, t->id, pool);
  } else if (rc == DAG_ECLAIM) {
    /* Another scheduler is claiming slots of it now: look again later. */
    remember(s, pool, 0);
  } else if (rc == 0) {
    remember(s, pool, open);
    if (!ti->pool_waiting)
      LOG_INFO("task waits for pool slots dag=%s run=%s task=%s pool=%s slots=%d open=%d",
               r->sd->dag_id, r->run_id, t->id, pool, t->args.pool_slots, open);
  } else {
    return rc;
  }
  ti->pool_waiting = rc != DAG_ECLAIM || ti->pool_waiting;
  return SCHED_POOL_WAIT;
}

void sched_pool_park(struct dag_scheduler *s, struct sched_ti *ti) {
  struct sched_pool_pass *pp = s->pool_pass;
  pp->parked = xgrow(pp->parked, &pp->cap_parked, pp->n_parked + 1, sizeof(*pp->parked));
  pp->parked[pp->n_parked++] = ti;
}

static void on_pool_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  sched_dispatch(s);
}

void sched_pool_pass_end(struct dag_scheduler *s, struct sched_ti ***out, size_t *n) {
  struct sched_pool_pass *pp = s->pool_pass;
  s->pool_pass = NULL;
  *out = pp->parked;
  *n = pp->n_parked;
  if (pp->n_parked && !s->stopping && !s->pool_timer_closed &&
      !uv_is_active((uv_handle_t *)&s->pool_timer))
    uv_timer_start(&s->pool_timer, on_pool_timer, POOL_RETRY_MS, 0);
  for (size_t i = 0; i < pp->n_seen; i++) free(pp->seen[i].name);
  free(pp->seen);
  free(pp);
}

int sched_pool_schedule(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  const struct dag_task *t = task_of(ti);
  /* A mapped task's own entry never runs (its instances do): it holds no
   * slot, and once expanded it is "running" for as long as they are. */
  bool holder = !(t->n_expand && ti->map_index < 0);
  return dag_store_ti_schedule(r->sd->s->store, r->pk, t->id, ti->map_index,
                               holder ? dag_task_pool(t) : NULL, t->args.pool_slots,
                               sched_pool_weight(ti));
}

int sched_pool_expanded(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  const struct dag_task *t = task_of(ti);
  return dag_store_ti_schedule_mapped(r->sd->s->store, r->pk, t->id, dag_task_pool(t),
                                      t->args.pool_slots, sched_pool_weight(ti));
}

void sched_pool_init(struct dag_scheduler *s) {
  uv_timer_init(s->loop, &s->pool_timer);
  s->pool_timer.data = s;
}

void sched_pool_close(struct dag_scheduler *s) {
  if (s->pool_timer_closed) return;
  s->pool_timer_closed = true;
  sched_close_handle(s, (uv_handle_t *)&s->pool_timer);
}
