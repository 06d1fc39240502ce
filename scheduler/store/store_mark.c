/* store_mark.c - states set by hand (see store_mark.h). */
#include "store_mark.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

/* The run's DAG, unless it was imported (DAG_ESTATE) or is unknown. */
static int run_dag(dag_store *st, int64_t run_pk, char **dag_id) {
  static const char sql[] = "SELECT dag_id, imported_at FROM dag_run WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  int rc = store_step(s);
  bool imported = rc == STORE_ROW && !store_col_null(s, 1);
  *dag_id = rc == STORE_ROW ? store_col_text(s, 0) : NULL;
  store_reset(s);
  if (rc == STORE_DONE) return DAG_ENOTFOUND;
  if (rc != STORE_ROW) return store_fail(st, "read run");
  if (imported) {
    free(*dag_id);
    *dag_id = NULL;
    return DAG_ESTATE;
  }
  return 0;
}

int dag_store_ti_mark(dag_store *st, int64_t run_pk, const char *task_id,
                      enum dag_task_state state, dag_time_t now, bool *changed) {
  static const char upd[] =
      "UPDATE task_instance SET state = ?1, end_date = ?2,"
      " start_date = coalesce(start_date, ?2), next_retry_at = NULL"
      " WHERE run_pk = ?3 AND task_id = ?4 AND state <> ?1";
  *changed = false;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  char *dag_id = NULL;
  struct store_stmt *s = NULL;
  if ((rc = run_dag(st, run_pk, &dag_id)) == 0 && (s = store_stmt(st, upd)) != NULL) {
    store_bind_text(s, 1, dag_task_state_name(state));
    store_bind_int64(s, 2, now);
    store_bind_int64(s, 3, run_pk);
    store_bind_text(s, 4, task_id);
    rc = store_step_done(st, s, "mark task");
    if (rc == 0) *changed = store_changes(st) > 0;
    if (rc == 0 && *changed) rc = store_add_event(st, "run", dag_id, run_pk);
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

int dag_store_run_mark(dag_store *st, int64_t run_pk, enum dag_run_state state, dag_time_t now,
                       size_t *changed) {
  static const char to_success[] =
      "UPDATE task_instance SET state = 'success', end_date = ?1,"
      " start_date = coalesce(start_date, ?1), next_retry_at = NULL"
      " WHERE run_pk = ?2 AND state NOT IN ('success', 'failed', 'skipped', 'upstream_failed')";
  static const char running_failed[] =
      "UPDATE task_instance SET state = 'failed', end_date = ?1, next_retry_at = NULL"
      " WHERE run_pk = ?2 AND state IN ('running', 'queued')";
  static const char rest_skipped[] =
      "UPDATE task_instance SET state = 'skipped', end_date = ?1, next_retry_at = NULL"
      " WHERE run_pk = ?2 AND state NOT IN ('success', 'failed', 'skipped', 'upstream_failed')";
  static const char upd_run[] =
      "UPDATE dag_run SET state = ?1, end_date = ?2, start_date = coalesce(start_date, ?2)"
      " WHERE id = ?3";
  *changed = 0;
  if (state != DAG_RUN_SUCCESS && state != DAG_RUN_FAILED) return DAG_EINVAL;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  char *dag_id = NULL;
  struct store_stmt *s = NULL;
  const char *steps[2] = {state == DAG_RUN_SUCCESS ? to_success : running_failed,
                          state == DAG_RUN_SUCCESS ? NULL : rest_skipped};
  if ((rc = run_dag(st, run_pk, &dag_id)) != 0) goto out;
  for (int i = 0; i < 2 && steps[i] && rc == 0; i++) {
    if (!(s = store_stmt(st, steps[i]))) {
      rc = DAG_ESTORE;
      break;
    }
    store_bind_int64(s, 1, now);
    store_bind_int64(s, 2, run_pk);
    rc = store_step_done(st, s, "mark run's tasks");
    if (rc == 0) *changed += (size_t)store_changes(st);
  }
  if (rc == 0 && !(s = store_stmt(st, upd_run))) rc = DAG_ESTORE;
  if (rc == 0) {
    store_bind_text(s, 1, dag_run_state_name(state));
    store_bind_int64(s, 2, now);
    store_bind_int64(s, 3, run_pk);
    rc = store_step_done(st, s, "mark run");
  }
  if (rc == 0) rc = store_add_event(st, "run", dag_id, run_pk);
out:
  free(dag_id);
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}

int dag_store_try_end_marked(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                             int try_number, enum dag_task_state state, dag_time_t end,
                             int exit_code, bool has_exit_code, const char *error) {
  static const char upd_try[] =
      "UPDATE task_try SET state = ?1, end_date = ?2, exit_code = ?3, error = ?4"
      " WHERE run_pk = ?5 AND task_id = ?6 AND try_number = ?7 AND map_index = ?8";
  static const char upd_ti[] = "UPDATE task_instance SET pid = NULL, pid_start = NULL"
                               " WHERE run_pk = ? AND task_id = ? AND map_index = ?";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd_try);
  if (!s) {
    dag_store_rollback(st);
    return DAG_ESTORE;
  }
  store_bind_text(s, 1, dag_task_state_name(state));
  store_bind_int64(s, 2, end);
  if (has_exit_code) store_bind_int64(s, 3, exit_code);
  store_bind_text(s, 4, error);
  store_bind_int64(s, 5, run_pk);
  store_bind_text(s, 6, task_id);
  store_bind_int64(s, 7, try_number);
  store_bind_int64(s, 8, map_index);
  rc = store_step_done(st, s, "end a marked try");
  if (rc == 0 && !(s = store_stmt(st, upd_ti))) rc = DAG_ESTORE;
  if (rc == 0) {
    store_bind_int64(s, 1, run_pk);
    store_bind_text(s, 2, task_id);
    store_bind_int64(s, 3, map_index);
    rc = store_step_done(st, s, "forget a marked try's pid");
  }
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}

int dag_store_run_delete(dag_store *st, int64_t run_pk) {
  static const char del[] = "DELETE FROM dag_run WHERE id = ? RETURNING dag_id";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, del);
  if (!s) {
    dag_store_rollback(st);
    return DAG_ESTORE;
  }
  store_bind_int64(s, 1, run_pk);
  int step = store_step(s);
  char *dag_id = step == STORE_ROW ? store_col_text(s, 0) : NULL;
  store_reset(s);
  if (step == STORE_DONE) rc = DAG_ENOTFOUND;
  else if (step != STORE_ROW) rc = store_fail(st, "delete run");
  /* A scheduler holding it in memory lets it go (sched_run_reload). */
  if (rc == 0) rc = store_add_event(st, "run", dag_id, run_pk);
  free(dag_id);
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}

int dag_store_run_request_delete(dag_store *st, int64_t run_pk, dag_time_t now) {
  static const char upd[] =
      "UPDATE dag_run SET delete_requested_at = ? WHERE id = ? RETURNING dag_id";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) {
    dag_store_rollback(st);
    return DAG_ESTORE;
  }
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, run_pk);
  int step = store_step(s);
  char *dag_id = step == STORE_ROW ? store_col_text(s, 0) : NULL;
  store_reset(s);
  if (step == STORE_DONE) rc = DAG_ENOTFOUND;
  else if (step != STORE_ROW) rc = store_fail(st, "ask to delete run");
  if (rc == 0) rc = store_add_event(st, "run", dag_id, run_pk);
  free(dag_id);
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}
