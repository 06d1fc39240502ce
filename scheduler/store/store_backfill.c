/* store_backfill.c - backfills (see store_backfill.h). */
#include "store_backfill.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

#define BACKFILL_COLUMNS                                                              \
  "id, dag_id, from_date, to_date, dag_run_conf, reprocess_behavior, max_active_runs," \
  " is_paused, cursor_date, runs_created, runs_skipped, created_at, updated_at,"       \
  " completed_at, cancelled"

static void read_backfill(struct store_stmt *s, struct dag_store_backfill *b) {
  memset(b, 0, sizeof(*b));
  b->id = store_col_int(s, 0);
  b->dag_id = store_col_text(s, 1);
  b->from_date = store_col_int(s, 2);
  b->to_date = store_col_int(s, 3);
  b->dag_run_conf = store_col_text(s, 4);
  b->reprocess_behavior = store_col_text(s, 5);
  b->max_active_runs = (int)store_col_int(s, 6);
  b->is_paused = store_col_int(s, 7) != 0;
  b->has_cursor = !store_col_null(s, 8);
  b->cursor = store_col_int(s, 8);
  b->runs_created = store_col_int(s, 9);
  b->runs_skipped = store_col_int(s, 10);
  b->created_at = store_col_int(s, 11);
  b->updated_at = store_col_int(s, 12);
  b->completed_at = store_col_int(s, 13);
  b->cancelled = store_col_int(s, 14) != 0;
}

/* Its runs by state. */
static int count_runs(dag_store *st, struct dag_store_backfill *b) {
  static const char sql[] =
      "SELECT state, count(*) FROM dag_run WHERE backfill_id = ? GROUP BY state";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, b->id);
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    enum dag_run_state state;
    const char *name = store_col_cstr(s, 0);
    if (name && dag_run_state_parse(name, &state) == 0) b->runs[state] = store_col_int(s, 1);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "count backfill runs");
}

int dag_store_backfill_create(dag_store *st, const struct dag_store_backfill *b, dag_time_t now,
                              int64_t *id) {
  static const char sql[] =
      "INSERT INTO backfill (dag_id, from_date, to_date, dag_run_conf, reprocess_behavior,"
      " max_active_runs, cursor_date, created_at, updated_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?2, ?7, ?7) RETURNING id";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) {
    dag_store_rollback(st);
    return DAG_ESTORE;
  }
  store_bind_text(s, 1, b->dag_id);
  store_bind_int64(s, 2, b->from_date);
  store_bind_int64(s, 3, b->to_date);
  store_bind_text(s, 4, b->dag_run_conf ? b->dag_run_conf : "{}");
  store_bind_text(s, 5, b->reprocess_behavior);
  store_bind_int64(s, 6, b->max_active_runs);
  store_bind_int64(s, 7, now);
  if (store_step(s) != STORE_ROW) {
    store_reset(s);
    rc = store_fail(st, "create backfill");
    dag_store_rollback(st);
    return rc;
  }
  int64_t new_id = store_col_int(s, 0);
  store_reset(s);
  /* The scheduler hears of it as of a DAG change: it then plans. */
  if ((rc = store_add_event(st, "dag", b->dag_id, 0)) != 0) {
    dag_store_rollback(st);
    return rc;
  }
  if ((rc = dag_store_commit(st)) != 0) return rc;
  if (id) *id = new_id;
  return 0;
}

int dag_store_backfill_get(dag_store *st, int64_t id, struct dag_store_backfill *out) {
  static const char sql[] = "SELECT " BACKFILL_COLUMNS " FROM backfill WHERE id = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  int rc = store_step(s);
  if (rc == STORE_ROW) read_backfill(s, out);
  store_reset(s);
  if (rc == STORE_DONE) return DAG_ENOTFOUND;
  if (rc != STORE_ROW) return store_fail(st, "get backfill");
  if ((rc = count_runs(st, out)) != 0) dag_store_backfill_free(out);
  return rc;
}

int dag_store_backfill_list(dag_store *st, const char *dag_id, bool active_only,
                            struct dag_store_backfill **out, size_t *n) {
  static const char all[] =
      "SELECT " BACKFILL_COLUMNS " FROM backfill"
      " WHERE CAST(?1 AS TEXT) IS NULL OR dag_id = ?1 ORDER BY id DESC";
  static const char active[] =
      "SELECT " BACKFILL_COLUMNS " FROM backfill"
      " WHERE completed_at IS NULL AND (CAST(?1 AS TEXT) IS NULL OR dag_id = ?1) ORDER BY id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, active_only ? active : all);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_backfill(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  if (rc != STORE_DONE) rc = store_fail(st, "list backfills");
  for (size_t i = 0; i < *n && rc == 0; i++) rc = count_runs(st, &(*out)[i]);
  if (rc) {
    dag_store_backfills_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

void dag_store_backfill_free(struct dag_store_backfill *b) {
  if (!b) return;
  free(b->dag_id);
  free(b->dag_run_conf);
  free(b->reprocess_behavior);
  memset(b, 0, sizeof(*b));
}

void dag_store_backfills_free(struct dag_store_backfill *b, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_backfill_free(&b[i]);
  free(b);
}

/* The backfill's DAG if it has not completed: 0, DAG_ENOTFOUND or
 * DAG_ESTATE. *dag_id: caller frees. */
static int open_backfill(dag_store *st, int64_t id, char **dag_id) {
  static const char sql[] = "SELECT dag_id, completed_at FROM backfill WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  int rc = store_step(s);
  bool done = rc == STORE_ROW && !store_col_null(s, 1);
  *dag_id = rc == STORE_ROW ? store_col_text(s, 0) : NULL;
  store_reset(s);
  if (rc == STORE_DONE) return DAG_ENOTFOUND;
  if (rc != STORE_ROW) return store_fail(st, "read backfill");
  if (done) {
    free(*dag_id);
    *dag_id = NULL;
    return DAG_ESTATE;
  }
  return 0;
}

int dag_store_backfill_cancel(dag_store *st, int64_t id, dag_time_t now) {
  static const char upd[] =
      "UPDATE backfill SET completed_at = ?1, updated_at = ?1, is_paused = 1, cancelled = 1"
      " WHERE id = ?2";
  static const char fail_queued[] =
      "UPDATE dag_run SET state = 'failed', end_date = ?1"
      " WHERE backfill_id = ?2 AND state = 'queued' RETURNING id";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  char *dag_id = NULL;
  int64_t *pks = NULL;
  size_t n = 0, cap = 0;
  struct store_stmt *s = NULL;
  if ((rc = open_backfill(st, id, &dag_id)) != 0) goto out;
  if (!(s = store_stmt(st, upd))) goto out;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, id);
  if ((rc = store_step_done(st, s, "cancel backfill")) != 0) goto out;
  if (!(s = store_stmt(st, fail_queued))) goto out;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, id);
  while ((rc = store_step(s)) == STORE_ROW) {
    pks = xgrow(pks, &cap, n + 1, sizeof(*pks));
    pks[n++] = store_col_int(s, 0);
  }
  store_reset(s);
  rc = rc == STORE_DONE ? 0 : store_fail(st, "fail a cancelled backfill's queued runs");
  /* A scheduler holding such a run in memory lets it go (sched_run_reload). */
  for (size_t i = 0; i < n && rc == 0; i++) rc = store_add_event(st, "run", dag_id, pks[i]);
  if (rc == 0) rc = store_add_event(st, "dag", dag_id, 0);
out:
  if (rc == 0 && !s) rc = DAG_ESTORE;
  free(pks);
  free(dag_id);
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}

int dag_store_backfill_set_paused(dag_store *st, int64_t id, bool paused, dag_time_t now) {
  static const char upd[] = "UPDATE backfill SET is_paused = ?1, updated_at = ?2 WHERE id = ?3";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  char *dag_id = NULL;
  struct store_stmt *s = NULL;
  if ((rc = open_backfill(st, id, &dag_id)) == 0 && (s = store_stmt(st, upd)) != NULL) {
    store_bind_int64(s, 1, paused ? 1 : 0);
    store_bind_int64(s, 2, now);
    store_bind_int64(s, 3, id);
    rc = store_step_done(st, s, "pause backfill");
    if (rc == 0) rc = store_add_event(st, "dag", dag_id, 0);
  } else if (rc == 0) {
    rc = DAG_ESTORE;
  }
  free(dag_id);
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}

int dag_store_backfill_lock(dag_store *st, int64_t id) {
  static const char sql[] = "SELECT 1 FROM backfill WHERE id = ?";
  static const char sql_pg[] = "SELECT 1 FROM backfill WHERE id = ? FOR UPDATE SKIP LOCKED";
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  int rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ERROR) return store_fail(st, "lock backfill");
  return rc == STORE_ROW ? 0 : DAG_ECLAIM;
}

int dag_store_backfill_active_runs(dag_store *st, int64_t id, int64_t *n) {
  static const char sql[] =
      "SELECT count(*) FROM dag_run WHERE backfill_id = ? AND state IN ('queued', 'running')";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  int rc = store_step(s);
  if (rc == STORE_ROW) *n = store_col_int(s, 0);
  store_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "count active backfill runs");
}

int dag_store_backfill_advance(dag_store *st, int64_t id, bool has_cursor, dag_time_t cursor,
                               int64_t created, int64_t skipped, dag_time_t now) {
  static const char sql[] =
      "UPDATE backfill SET cursor_date = ?1, runs_created = runs_created + ?2,"
      " runs_skipped = runs_skipped + ?3, updated_at = ?4 WHERE id = ?5";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  if (has_cursor)
    store_bind_int64(s, 1, cursor);
  else
    store_bind_null(s, 1);
  store_bind_int64(s, 2, created);
  store_bind_int64(s, 3, skipped);
  store_bind_int64(s, 4, now);
  store_bind_int64(s, 5, id);
  return store_step_done(st, s, "advance backfill");
}

int dag_store_backfill_complete(dag_store *st, int64_t id, dag_time_t now) {
  static const char sql[] =
      "UPDATE backfill SET completed_at = ?1, updated_at = ?1 WHERE id = ?2"
      " AND completed_at IS NULL";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, id);
  return store_step_done(st, s, "complete backfill");
}

int dag_store_run_set_backfill(dag_store *st, int64_t pk, int64_t id) {
  static const char sql[] = "UPDATE dag_run SET backfill_id = ? WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  store_bind_int64(s, 2, pk);
  return store_step_done(st, s, "attach run to backfill");
}
