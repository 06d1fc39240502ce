/* store_pools.h - Airflow's pools in the state database (migration
 * 0023_pools; priority.h says what a pool is).
 *
 * A try holds slots of its pool while its task instance is queued or
 * running: the counts below are read from task_instance, whose pool,
 * pool_slots and priority_weight the scheduler records when the task
 * becomes scheduled (dag_store_ti_schedule) and when a try claims its
 * slots (dag_store_pool_claim). Several schedulers claim under the pool
 * row's lock (PostgreSQL: FOR UPDATE; SQLite: its one writer), so two of
 * them never both take the last slot.
 *
 * Every call is one statement or a few, part of the caller's transaction
 * if one is open (the CLI and the API add the audit entry in it). */
#ifndef DAG_STORE_POOLS_H
#define DAG_STORE_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct dag_store_pool {
  char *name;
  int slots;
  char *description; /* NULL: none */
  bool include_deferred;
  /* Slots held now by the task instances of the pool, by state. */
  int running_slots;
  int queued_slots;
  int scheduled_slots;
  int deferred_slots; /* always 0: no task defers here */
};

/* Airflow's derived counts: occupied = running + queued (+ deferred with
 * include_deferred); open = slots - occupied (may be negative after the
 * slots were lowered under running tasks). */
int dag_store_pool_occupied(const struct dag_store_pool *p);
int dag_store_pool_open(const struct dag_store_pool *p);

/* Create pool `name` or replace its slots, description (NULL: none) and
 * include_deferred; *created (may be NULL) says which. DAG_EINVAL for a
 * bad name (dag_pool_name_problem) or slots outside 0..DAG_MAX_POOL_SLOTS. */
int dag_store_pool_put(dag_store *st, const char *name, int slots, const char *description,
                       bool include_deferred, bool *created);
/* With its counts. DAG_ENOTFOUND if none. Caller frees with
 * dag_store_pool_clear(). */
int dag_store_pool_get(dag_store *st, const char *name, struct dag_store_pool *out);
/* Every pool with its counts, in creation order (default_pool first).
 * Caller frees with dag_store_pools_free(). */
int dag_store_pool_list(dag_store *st, struct dag_store_pool **out, size_t *n);
/* DAG_ENOTFOUND if none; DAG_ESTATE for default_pool, which stays. */
int dag_store_pool_delete(dag_store *st, const char *name);
void dag_store_pool_clear(struct dag_store_pool *p);
void dag_store_pools_free(struct dag_store_pool *p, size_t n);

/* Inside the caller's transaction, before it starts or queues a try of
 * task instance (`task_id`, `map_index`) of run `run_pk`: lock pool `pool` and, when its open
 * slots are `slots` or more, record the pool, slots and `weight` on the
 * task instance (*granted true); else change nothing (*granted false).
 * *open: the open slots seen (may be NULL). DAG_ENOTFOUND when the pool
 * does not exist; DAG_ECLAIM when another transaction holds its lock
 * (another scheduler claiming now: look again later). */
int dag_store_pool_claim(dag_store *st, const char *pool, int slots, int64_t run_pk,
                         const char *task_id, int map_index, int weight, bool *granted,
                         int *open);

/* dag_store_ti_set_state(..., scheduled, ...) that also records the pool
 * (NULL: none, it holds no slot), slots and effective weight the task
 * instance will wait with. */
int dag_store_ti_schedule(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                          const char *pool, int slots, int weight);

/* The same for every instance (map_index >= 0) of a mapped task, once
 * expanded. */
int dag_store_ti_schedule_mapped(dag_store *st, int64_t run_pk, const char *task_id,
                                 const char *pool, int slots, int weight);

/* What a task instance of a run holds or waits for. */
struct dag_store_ti_pool {
  char *task_id;
  int map_index;
  char *pool;          /* NULL: not recorded yet (never scheduled) */
  int pool_slots;
  int priority_weight; /* its effective weight when last scheduled */
  bool has_weight;
  /* Scheduled and its pool cannot take it now: the pool does not exist,
   * or has fewer than pool_slots open (pool_open of pool_total). */
  bool waiting;
  bool pool_missing;
  int pool_open, pool_total;
};

/* Every task instance of run `run_pk` (caller frees with
 * dag_store_ti_pools_free()). */
int dag_store_ti_pools(dag_store *st, int64_t run_pk, struct dag_store_ti_pool **out, size_t *n);
void dag_store_ti_pools_free(struct dag_store_ti_pool *p, size_t n);
/* The entry of (`task_id`, `map_index`) in p[0..n), or NULL. */
const struct dag_store_ti_pool *dag_store_ti_pool_find(const struct dag_store_ti_pool *p,
                                                       size_t n, const char *task_id,
                                                       int map_index);

#endif
