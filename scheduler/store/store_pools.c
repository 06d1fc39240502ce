/* store_pools.c - pools and the slots tries hold (see store_pools.h). */
#include "store_pools.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "priority.h"
#include "store_int.h"

int dag_store_pool_occupied(const struct dag_store_pool *p) {
  return p->running_slots + p->queued_slots + (p->include_deferred ? p->deferred_slots : 0);
}

int dag_store_pool_open(const struct dag_store_pool *p) {
  return p->slots - dag_store_pool_occupied(p);
}

int dag_store_pool_put(dag_store *st, const char *name, int slots, const char *description,
                       bool include_deferred, bool *created) {
  static const char exists[] = "SELECT 1 FROM pool WHERE pool = ?";
  static const char upsert[] =
      "INSERT INTO pool (pool, slots, description, include_deferred) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (pool) DO UPDATE SET slots = excluded.slots,"
      " description = excluded.description, include_deferred = excluded.include_deferred";
  if (!name || dag_pool_name_problem(name) || slots < 0 || slots > DAG_MAX_POOL_SLOTS)
    return DAG_EINVAL;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, exists);
  if (!s) goto fail;
  store_bind_text(s, 1, name);
  int step = store_step(s);
  store_reset(s);
  if (step == STORE_ERROR) {
    rc = store_fail(st, "look up pool");
    goto fail;
  }
  if (!(s = store_stmt(st, upsert))) goto fail;
  store_bind_text(s, 1, name);
  store_bind_int64(s, 2, slots);
  store_bind_text(s, 3, description);
  store_bind_int64(s, 4, include_deferred);
  if ((rc = store_step_done(st, s, "set pool")) != 0) goto fail;
  if ((rc = dag_store_commit(st)) == 0 && created) *created = step == STORE_DONE;
  return rc;
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

/* Pools with the slots their task instances hold, one row per pool. */
#define POOL_SELECT                                                                     \
  "SELECT p.pool, p.slots, p.description, p.include_deferred,"                          \
  " COALESCE(SUM(CASE WHEN ti.state = 'running' THEN ti.pool_slots END), 0),"           \
  " COALESCE(SUM(CASE WHEN ti.state = 'queued' THEN ti.pool_slots END), 0),"            \
  " COALESCE(SUM(CASE WHEN ti.state = 'scheduled' THEN ti.pool_slots END), 0)"          \
  " FROM pool p LEFT JOIN task_instance ti ON ti.pool = p.pool"                         \
  " AND ti.state IN ('running', 'queued', 'scheduled')"

static void read_pool(struct store_stmt *s, struct dag_store_pool *p) {
  memset(p, 0, sizeof(*p));
  p->name = store_col_text(s, 0);
  p->slots = (int)store_col_int(s, 1);
  p->description = store_col_text(s, 2);
  p->include_deferred = store_col_int(s, 3) != 0;
  p->running_slots = (int)store_col_int(s, 4);
  p->queued_slots = (int)store_col_int(s, 5);
  p->scheduled_slots = (int)store_col_int(s, 6);
}

int dag_store_pool_get(dag_store *st, const char *name, struct dag_store_pool *out) {
  static const char sql[] = POOL_SELECT " WHERE p.pool = ?"
                            " GROUP BY p.id, p.pool, p.slots, p.description, p.include_deferred";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, name);
  int step = store_step(s);
  if (step == STORE_ROW) read_pool(s, out);
  store_reset(s);
  if (step == STORE_ERROR) return store_fail(st, "get pool");
  return step == STORE_ROW ? 0 : DAG_ENOTFOUND;
}

int dag_store_pool_list(dag_store *st, struct dag_store_pool **out, size_t *n) {
  static const char sql[] = POOL_SELECT
      " GROUP BY p.id, p.pool, p.slots, p.description, p.include_deferred ORDER BY p.id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int step;
  while ((step = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_pool(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  if (step == STORE_DONE) return 0;
  dag_store_pools_free(*out, *n);
  *out = NULL;
  *n = 0;
  return store_fail(st, "list pools");
}

int dag_store_pool_delete(dag_store *st, const char *name) {
  if (strcmp(name, DAG_DEFAULT_POOL) == 0) return DAG_ESTATE;
  struct store_stmt *s = store_stmt(st, "DELETE FROM pool WHERE pool = ?");
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, name);
  int rc = store_step_done(st, s, "delete pool");
  if (rc == 0 && store_changes(st) == 0) rc = DAG_ENOTFOUND;
  return rc;
}

void dag_store_pool_clear(struct dag_store_pool *p) {
  free(p->name);
  free(p->description);
  memset(p, 0, sizeof(*p));
}

void dag_store_pools_free(struct dag_store_pool *p, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_pool_clear(&p[i]);
  free(p);
}

int dag_store_pool_claim(dag_store *st, const char *pool, int slots, int64_t run_pk,
                         const char *task_id, int map_index, int weight, bool *granted,
                         int *open) {
  /* A pool row another transaction holds is skipped, not waited for: the
   * scheduler's loop must not block, and that claimer is done in a moment. */
  static const char lock[] = "SELECT slots FROM pool WHERE pool = ?";
  static const char lock_pg[] = "SELECT slots FROM pool WHERE pool = ? FOR UPDATE SKIP LOCKED";
  static const char exists[] = "SELECT 1 FROM pool WHERE pool = ?";
  static const char used[] =
      "SELECT COALESCE(SUM(pool_slots), 0) FROM task_instance"
      " WHERE pool = ? AND state IN ('queued', 'running')";
  static const char take[] =
      "UPDATE task_instance SET pool = ?1, pool_slots = ?2, priority_weight = ?3"
      " WHERE run_pk = ?4 AND task_id = ?5 AND map_index = ?6";
  *granted = false;
  if (open) *open = 0;
  struct store_stmt *s = store_stmt2(st, lock, lock_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, pool);
  int step = store_step(s);
  int64_t total = step == STORE_ROW ? store_col_int(s, 0) : 0;
  store_reset(s);
  if (step == STORE_ERROR) return store_fail(st, "lock pool");
  if (step == STORE_DONE) {
    if (!(s = store_stmt(st, exists))) return DAG_ESTORE;
    store_bind_text(s, 1, pool);
    step = store_step(s);
    store_reset(s);
    if (step == STORE_ERROR) return store_fail(st, "look up pool");
    return step == STORE_ROW ? DAG_ECLAIM : DAG_ENOTFOUND;
  }
  if (!(s = store_stmt(st, used))) return DAG_ESTORE;
  store_bind_text(s, 1, pool);
  step = store_step(s);
  int64_t held = step == STORE_ROW ? store_col_int(s, 0) : 0;
  store_reset(s);
  if (step != STORE_ROW) return store_fail(st, "count pool slots");
  int64_t free_slots = total - held;
  if (open) *open = (int)free_slots;
  if (free_slots < slots) return 0;
  if (!(s = store_stmt(st, take))) return DAG_ESTORE;
  store_bind_text(s, 1, pool);
  store_bind_int64(s, 2, slots);
  store_bind_int64(s, 3, weight);
  store_bind_int64(s, 4, run_pk);
  store_bind_text(s, 5, task_id);
  store_bind_int64(s, 6, map_index);
  int rc = store_step_done(st, s, "claim pool slots");
  if (rc == 0) *granted = true;
  return rc;
}

int dag_store_ti_schedule(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                          const char *pool, int slots, int weight) {
  static const char sql[] =
      "UPDATE task_instance SET state = 'scheduled', pid = NULL, pid_start = NULL,"
      " next_retry_at = NULL, pool = ?1, pool_slots = ?2, priority_weight = ?3"
      " WHERE run_pk = ?4 AND task_id = ?5 AND map_index = ?6";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, pool);
  store_bind_int64(s, 2, slots);
  store_bind_int64(s, 3, weight);
  store_bind_int64(s, 4, run_pk);
  store_bind_text(s, 5, task_id);
  store_bind_int64(s, 6, map_index);
  return store_step_done(st, s, "schedule task");
}

int dag_store_ti_schedule_mapped(dag_store *st, int64_t run_pk, const char *task_id,
                                 const char *pool, int slots, int weight) {
  static const char sql[] =
      "UPDATE task_instance SET pool = ?1, pool_slots = ?2, priority_weight = ?3"
      " WHERE run_pk = ?4 AND task_id = ?5 AND map_index >= 0";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, pool);
  store_bind_int64(s, 2, slots);
  store_bind_int64(s, 3, weight);
  store_bind_int64(s, 4, run_pk);
  store_bind_text(s, 5, task_id);
  return store_step_done(st, s, "schedule mapped instances");
}

int dag_store_ti_pools(dag_store *st, int64_t run_pk, struct dag_store_ti_pool **out,
                       size_t *n) {
  static const char sql[] =
      "SELECT ti.task_id, ti.pool, ti.pool_slots, ti.priority_weight, ti.state, p.slots,"
      " (SELECT COALESCE(SUM(o.pool_slots), 0) FROM task_instance o WHERE o.pool = ti.pool"
      "  AND o.state IN ('queued', 'running')), p.id, ti.map_index"
      " FROM task_instance ti LEFT JOIN pool p ON p.pool = ti.pool WHERE ti.run_pk = ?";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  size_t cap = 0;
  int step;
  while ((step = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_ti_pool *p = &(*out)[(*n)++];
    memset(p, 0, sizeof(*p));
    p->task_id = store_col_text(s, 0);
    p->pool = store_col_text(s, 1);
    p->pool_slots = (int)store_col_int(s, 2);
    p->has_weight = !store_col_null(s, 3);
    p->priority_weight = (int)store_col_int(s, 3);
    const char *state = store_col_cstr(s, 4);
    bool scheduled = state && strcmp(state, "scheduled") == 0;
    p->pool_missing = p->pool && store_col_null(s, 7);
    p->pool_total = (int)store_col_int(s, 5);
    p->pool_open = p->pool_total - (int)store_col_int(s, 6);
    p->waiting = scheduled && p->pool && (p->pool_missing || p->pool_open < p->pool_slots);
    p->map_index = (int)store_col_int(s, 8);
  }
  store_reset(s);
  if (step == STORE_DONE) return 0;
  dag_store_ti_pools_free(*out, *n);
  *out = NULL;
  *n = 0;
  return store_fail(st, "list task pools");
}

void dag_store_ti_pools_free(struct dag_store_ti_pool *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].task_id);
    free(p[i].pool);
  }
  free(p);
}

const struct dag_store_ti_pool *dag_store_ti_pool_find(const struct dag_store_ti_pool *p,
                                                       size_t n, const char *task_id,
                                                       int map_index) {
  for (size_t i = 0; i < n; i++)
    if (p[i].map_index == map_index && strcmp(p[i].task_id, task_id) == 0) return &p[i];
  return NULL;
}
