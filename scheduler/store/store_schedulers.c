/* store_schedulers.c - several schedulers on one database: their heartbeats,
 * which scheduler drives which run, and events read by all of them.
 *
 * A run belongs to the scheduler that set its scheduler_id; the claim is a
 * conditional UPDATE of the run's row, so on PostgreSQL a second claimer
 * waits for the first's row lock and then finds the run taken. */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

int dag_store_scheduler_register(dag_store *st, const char *id, const char *host,
                                 dag_time_t now) {
  static const char sql[] =
      "INSERT INTO scheduler (id, host, state, started_at, last_heartbeat)"
      " VALUES (?1, ?2, 'active', ?3, ?3)";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, id);
  store_bind_text(s, 2, host);
  store_bind_int64(s, 3, now);
  return store_step_done(st, s, "register scheduler");
}

int dag_store_scheduler_heartbeat(dag_store *st, const char *id, int64_t events_seen,
                                  dag_time_t now) {
  static const char sql[] =
      "UPDATE scheduler SET last_heartbeat = ?1, events_seen = ?2"
      " WHERE id = ?3 AND state = 'active'";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, events_seen);
  store_bind_text(s, 3, id);
  int rc = store_step_done(st, s, "scheduler heartbeat");
  if (rc) return rc;
  return store_changes(st) ? 0 : DAG_ECLAIM;
}

/* Free the active runs of scheduler `id` (part of the caller's transaction). */
static int free_runs(dag_store *st, const char *id) {
  static const char sql[] =
      "UPDATE dag_run SET scheduler_id = NULL"
      " WHERE scheduler_id = ? AND state IN ('queued', 'running')";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, id);
  return store_step_done(st, s, "free runs");
}

int dag_store_scheduler_stopped(dag_store *st, const char *id, dag_time_t now) {
  static const char sql[] =
      "UPDATE scheduler SET state = 'stopped', last_heartbeat = ?1 WHERE id = ?2";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) goto fail;
  store_bind_int64(s, 1, now);
  store_bind_text(s, 2, id);
  if ((rc = store_step_done(st, s, "scheduler stopped")) != 0) goto fail;
  if ((rc = free_runs(st, id)) != 0) goto fail;
  /* The others take its runs over at once. */
  store_notify(st, DAG_STORE_WAKE_SCHEDULERS);
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_reap_schedulers(dag_store *st, dag_time_t now, int64_t timeout_us,
                              size_t *gone) {
  static const char reap[] =
      "UPDATE scheduler SET state = 'gone'"
      " WHERE state = 'active' AND last_heartbeat < ?1 RETURNING id";
  /* Events every active scheduler has read are of no more use. */
  static const char purge[] =
      "DELETE FROM scheduler_event WHERE id <= (SELECT min(events_seen) FROM scheduler"
      " WHERE state = 'active')";
  *gone = 0;
  char **ids = NULL;
  size_t n = 0, cap = 0;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, reap);
  if (!s) goto fail;
  store_bind_int64(s, 1, now - timeout_us);
  int step;
  while ((step = store_step(s)) == STORE_ROW) {
    ids = xgrow(ids, &cap, n + 1, sizeof(*ids));
    ids[n++] = store_col_text(s, 0);
  }
  store_reset(s);
  if (step != STORE_DONE) {
    rc = store_fail(st, "reap schedulers");
    goto fail;
  }
  for (size_t i = 0; i < n; i++)
    if ((rc = free_runs(st, ids[i])) != 0) goto fail;
  if (!(s = store_stmt(st, purge))) goto fail;
  if ((rc = store_step_done(st, s, "purge events")) != 0) goto fail;
  if ((rc = dag_store_commit(st)) == 0) *gone = n;
  goto out;
fail:
  dag_store_rollback(st);
  if (!rc) rc = DAG_ESTORE;
out:
  for (size_t i = 0; i < n; i++) free(ids[i]);
  free(ids);
  return rc;
}

int dag_store_lock_dag(dag_store *st, const char *dag_id) {
  static const char sql[] = "SELECT 1 FROM dag WHERE dag_id = ?";
  static const char sql_pg[] = "SELECT 1 FROM dag WHERE dag_id = ? FOR UPDATE SKIP LOCKED";
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  int rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ERROR) return store_fail(st, "lock dag");
  /* No row: another scheduler holds it (or the DAG has no row yet). */
  return rc == STORE_ROW ? 0 : DAG_ECLAIM;
}

int dag_store_claim_run(dag_store *st, int64_t pk, const char *id) {
  /* A run whose row another transaction holds is skipped, not waited
   * for: it is that scheduler's, or free again at the next look. */
  static const char claim[] =
      "UPDATE dag_run SET scheduler_id = ?1"
      " WHERE id = ?2 AND (scheduler_id IS NULL OR scheduler_id = ?1) AND imported_at IS NULL";
  static const char claim_pg[] =
      "UPDATE dag_run SET scheduler_id = ?1 WHERE id = (SELECT id FROM dag_run WHERE id = ?2"
      " AND (scheduler_id IS NULL OR scheduler_id = ?1) AND imported_at IS NULL"
      " FOR UPDATE SKIP LOCKED)";
  static const char exists[] = "SELECT 1 FROM dag_run WHERE id = ?";
  struct store_stmt *s = store_stmt2(st, claim, claim_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, id);
  store_bind_int64(s, 2, pk);
  int rc = store_step_done(st, s, "claim run");
  if (rc) return rc;
  if (store_changes(st)) return 0;
  if (!(s = store_stmt(st, exists))) return DAG_ESTORE;
  store_bind_int64(s, 1, pk);
  rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ROW) return DAG_ECLAIM;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "claim run");
}

int dag_store_list_unowned_runs(dag_store *st, struct dag_store_run **out, size_t *n) {
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE state IN ('queued', 'running')"
      " AND run_type <> 'test' AND scheduler_id IS NULL AND imported_at IS NULL ORDER BY id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  return store_read_runs(st, s, out, n, "list unowned runs");
}

int dag_store_events_after(dag_store *st, int64_t after, struct dag_store_event **out,
                           size_t *n, int64_t *last) {
  static const char sql[] =
      "SELECT id, kind, dag_id, run_pk FROM scheduler_event WHERE id > ? ORDER BY id";
  *out = NULL;
  *n = 0;
  *last = after;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, after);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_event *e = &(*out)[(*n)++];
    store_read_event(s, e);
    *last = e->id;
  }
  store_reset(s);
  if (rc == STORE_DONE) return 0;
  dag_store_events_free(*out, *n);
  *out = NULL;
  *n = 0;
  *last = after;
  return store_fail(st, "events after");
}

int dag_store_last_event_id(dag_store *st, int64_t *id) {
  static const char sql[] = "SELECT coalesce(max(id), 0) FROM scheduler_event";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc = store_step(s);
  *id = rc == STORE_ROW ? store_col_int(s, 0) : 0;
  store_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "last event");
}

int dag_store_list_schedulers(dag_store *st, struct dag_store_scheduler **out, size_t *n) {
  static const char sql[] =
      "SELECT id, host, state, started_at, last_heartbeat FROM scheduler"
      " ORDER BY state <> 'active', id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_scheduler *x = &(*out)[(*n)++];
    x->id = store_col_text(s, 0);
    x->host = store_col_text(s, 1);
    x->state = store_col_text(s, 2);
    x->started_at = store_col_int(s, 3);
    x->last_heartbeat = store_col_int(s, 4);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list schedulers");
}

void dag_store_schedulers_free(struct dag_store_scheduler *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(x[i].id);
    free(x[i].host);
    free(x[i].state);
  }
  free(x);
}
