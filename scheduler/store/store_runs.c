/* store_runs.c - DAG runs, task instances, tries and scheduler events in the
 * SQLite store. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "ids.h"
#include "store_int.h"

/* --- runs ------------------------------------------------------------------ */

void store_read_run(struct store_stmt *s, struct dag_store_run *r) {
  r->pk = store_col_int(s, 0);
  r->dag_id = store_col_text(s, 1);
  r->run_id = store_col_text(s, 2);
  r->run_type = store_col_text(s, 3);
  const char *state = store_col_cstr(s, 4);
  if (!state || dag_run_state_parse(state, &r->state) != 0) r->state = DAG_RUN_FAILED;
  r->logical_date = store_col_int(s, 5);
  r->data_interval_start = store_col_int(s, 6);
  r->data_interval_end = store_col_int(s, 7);
  r->conf = store_col_text(s, 8);
  r->queued_at = store_col_int(s, 9);
  r->start_date = store_col_int(s, 10);
  r->end_date = store_col_int(s, 11);
  r->dag_version_id = store_col_int(s, 12);
  r->dag_version_number = (int)store_col_int(s, 13);
  r->imported_at = store_col_int(s, 14);
  r->backfill_id = store_col_int(s, 15);
  r->delete_requested_at = store_col_int(s, 16);
}

int store_read_runs(dag_store *st, struct store_stmt *s, struct dag_store_run **out,
                    size_t *n, const char *what) {
  size_t cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    store_read_run(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, what);
}

/* Is run_id taken for dag_id? 1 yes, 0 no, or a negative code. */
static int run_id_taken(dag_store *st, const char *dag_id, const char *run_id) {
  static const char sql[] = "SELECT 1 FROM dag_run WHERE dag_id = ? AND run_id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  store_bind_text(s, 2, run_id);
  int rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ROW) return 1;
  return rc == STORE_DONE ? 0 : store_fail(st, "check run id");
}

/* How many suffixes a generated id tries before giving up: far more runs of
 * one DAG than can be created in one microsecond. */
#define RUN_ID_MAX_SUFFIX 100000

int dag_store_create_run(dag_store *st, const struct dag_store_run *run,
                         const char *const *task_ids, const int *max_tries,
                         size_t n_tasks, bool suffix_if_taken, int64_t *pk,
                         char **run_id_out) {
  static const char ins_run[] =
      "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,"
      " data_interval_start, data_interval_end, conf, queued_at, created_dag_version_id,"
      " backfill_id) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?) RETURNING id";
  static const char ins_run_pg[] =
      "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,"
      " data_interval_start, data_interval_end, conf, queued_at, created_dag_version_id,"
      " backfill_id) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (dag_id, run_id) DO NOTHING RETURNING id";
  static const char ins_ti[] =
      "INSERT INTO task_instance (run_pk, task_id, max_tries) VALUES (?, ?, ?)";
  if (run_id_out) *run_id_out = NULL;
  /* Log paths are built from these ids: the store records none that could
   * name a path outside the logs folder (callers have said why already). */
  if (!dag_id_is_valid(DAG_ID_DAG, run->dag_id) || !dag_id_is_valid(DAG_ID_RUN, run->run_id))
    return DAG_EINVAL;
  for (size_t i = 0; i < n_tasks; i++)
    if (!dag_id_is_valid(DAG_ID_TASK, task_ids[i])) return DAG_EINVAL;
  char *run_id = xstrdup(run->run_id);
  int rc = dag_store_begin(st);
  if (rc) {
    free(run_id);
    return rc;
  }
  /* SQLite: BEGIN IMMEDIATE holds the write lock, so no other process can
   * take the id between this check and the INSERT. PostgreSQL: another
   * session (a second scheduler) can, its row not yet committed when we
   * check; our INSERT then waits for that session and, once it commits,
   * inserts nothing (ON CONFLICT DO NOTHING), which reads as taken, like
   * the check, rather than a failure that would end the transaction. */
  int64_t id = 0;
  struct store_stmt *s = NULL;
  for (int i = 2;; i++) {
    int taken = run_id_taken(st, run->dag_id, run_id);
    if (taken < 0) {
      rc = taken;
      goto fail;
    }
    if (!taken) {
      if (!(s = store_stmt2(st, ins_run, ins_run_pg))) goto fail;
      store_bind_text(s, 1, run->dag_id);
      store_bind_text(s, 2, run_id);
      store_bind_text(s, 3, run->run_type);
      store_bind_int64(s, 4, run->logical_date);
      store_bind_int64(s, 5, run->data_interval_start);
      store_bind_int64(s, 6, run->data_interval_end);
      store_bind_text(s, 7, run->conf ? run->conf : "{}");
      store_bind_int64(s, 8, run->queued_at);
      store_bind_time(s, 9, run->dag_version_id); /* 0 -> NULL */
      store_bind_time(s, 10, run->backfill_id);
      int step = store_step(s);
      if (step == STORE_ROW) break;
      store_reset(s);
      if (step != STORE_DONE) {
        rc = store_fail(st, "create run");
        goto fail;
      }
    }
    if (!suffix_if_taken || i > RUN_ID_MAX_SUFFIX) {
      /* Nothing written: the caller's transaction goes on. */
      free(run_id);
      rc = dag_store_commit(st);
      return rc ? rc : DAG_EEXIST;
    }
    free(run_id);
    run_id = xasprintf("%s_%d", run->run_id, i);
  }
  id = store_col_int(s, 0);
  store_reset(s);

  for (size_t i = 0; i < n_tasks; i++) {
    if (!(s = store_stmt(st, ins_ti))) goto fail;
    store_bind_int64(s, 1, id);
    store_bind_text(s, 2, task_ids[i]);
    store_bind_int64(s, 3, max_tries[i]);
    if ((rc = store_step_done(st, s, "create task instance")) != 0) goto fail;
  }
  if (strcmp(run->run_type, "test") != 0 &&
      (rc = store_add_event(st, "run", run->dag_id, id)) != 0)
    goto fail;
  if ((rc = dag_store_commit(st)) != 0) {
    free(run_id);
    return rc;
  }
  if (pk) *pk = id;
  if (run_id_out)
    *run_id_out = run_id;
  else
    free(run_id);
  return 0;
fail:
  dag_store_rollback(st);
  free(run_id);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_set_run_state(dag_store *st, int64_t pk, enum dag_run_state state,
                            dag_time_t start_date, dag_time_t end_date) {
  static const char sql[] =
      "UPDATE dag_run SET state = ?, start_date = coalesce(?, start_date), end_date = ?"
      " WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_run_state_name(state));
  store_bind_time(s, 2, start_date);
  store_bind_time(s, 3, end_date);
  store_bind_int64(s, 4, pk);
  return store_step_done(st, s, "set run state");
}

static int get_one_run(dag_store *st, struct store_stmt *s, struct dag_store_run *out) {
  memset(out, 0, sizeof(*out));
  int rc = store_step(s);
  if (rc == STORE_ROW) store_read_run(s, out);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "get run");
}

int dag_store_get_run(dag_store *st, const char *dag_id, const char *run_id,
                      struct dag_store_run *out) {
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE dag_id = ? AND run_id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  store_bind_text(s, 2, run_id);
  return get_one_run(st, s, out);
}

int dag_store_get_run_by_pk(dag_store *st, int64_t pk, struct dag_store_run *out) {
  static const char sql[] = "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, pk);
  return get_one_run(st, s, out);
}

int dag_store_list_runs(dag_store *st, const char *dag_id, int limit,
                        struct dag_store_run **out, size_t *n) {
  static const char sql[] = "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE dag_id = ?"
                            " ORDER BY logical_date DESC, id DESC LIMIT ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  store_bind_int64(s, 2, limit > 0 ? limit : STORE_NO_LIMIT);
  return store_read_runs(st, s, out, n, "list runs");
}

int dag_store_find_runs(dag_store *st, const struct dag_store_run_filter *f,
                        struct dag_store_run **out, size_t *n) {
  /* One statement for every combination: a NULL parameter does not filter. */
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM dag_run"
      " WHERE (CAST(?1 AS TEXT) IS NULL OR dag_id = ?1)"
      " AND (CAST(?2 AS TEXT) IS NULL OR state = ?2)"
      " AND (CAST(?3 AS BIGINT) IS NULL OR COALESCE(start_date, queued_at) >= ?3)"
      " ORDER BY logical_date DESC, id DESC LIMIT ?4";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, f->dag_id);
  store_bind_text(s, 2, f->has_state ? dag_run_state_name(f->state) : NULL);
  store_bind_time(s, 3, f->since);
  store_bind_int64(s, 4, f->limit > 0 ? f->limit : STORE_NO_LIMIT);
  return store_read_runs(st, s, out, n, "find runs");
}

int dag_store_list_active_runs(dag_store *st, struct dag_store_run **out, size_t *n) {
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE state IN ('queued', 'running')"
      " AND run_type <> 'test' AND imported_at IS NULL ORDER BY id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  return store_read_runs(st, s, out, n, "list active runs");
}

int dag_store_list_active_runs_of(dag_store *st, const char *dag_id,
                                  struct dag_store_run **out, size_t *n) {
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE state IN ('queued', 'running')"
      " AND run_type <> 'test' AND imported_at IS NULL AND dag_id = ? ORDER BY id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  return store_read_runs(st, s, out, n, "list active runs of a DAG");
}

int dag_store_last_scheduled_interval(dag_store *st, const char *dag_id,
                                      struct dag_interval *out) {
  static const char sql[] =
      "SELECT data_interval_start, data_interval_end FROM dag_run"
      " WHERE dag_id = ? AND run_type = 'scheduled'"
      " ORDER BY data_interval_end DESC LIMIT 1";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  int rc = store_step(s);
  if (rc == STORE_ROW) {
    out->start = store_col_int(s, 0);
    out->end = store_col_int(s, 1);
  }
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "last scheduled run");
}

void dag_store_run_free(struct dag_store_run *r) {
  if (!r) return;
  free(r->dag_id);
  free(r->run_id);
  free(r->run_type);
  free(r->conf);
  memset(r, 0, sizeof(*r));
}

void dag_store_runs_free(struct dag_store_run *r, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_run_free(&r[i]);
  free(r);
}

/* --- task instances ------------------------------------------------------- */

/* Columns max_rss_kb, cpu_user_us, cpu_system_us, wall_us from `col`. */
static void read_usage(struct store_stmt *s, int col, struct dag_store_usage *u) {
  u->known = !store_col_null(s, col);
  u->max_rss_kb = store_col_int(s, col);
  u->user_us = store_col_int(s, col + 1);
  u->sys_us = store_col_int(s, col + 2);
  u->wall_us = store_col_int(s, col + 3);
}

int dag_store_list_tis(dag_store *st, int64_t run_pk, struct dag_store_ti **out,
                       size_t *n) {
  static const char sql[] =
      "SELECT ti.task_id, ti.state, ti.try_number, ti.max_tries, ti.start_date, ti.end_date,"
      " ti.next_retry_at, ti.pid, ti.pid_start, ti.exit_code, ti.error,"
      " t.max_rss_kb, t.cpu_user_us, t.cpu_system_us, t.wall_us, ti.map_index,"
      " ti.pool, ti.pool_slots, ti.priority_weight"
      " FROM task_instance ti LEFT JOIN task_try t ON t.run_pk = ti.run_pk"
      " AND t.task_id = ti.task_id AND t.map_index = ti.map_index"
      " AND t.try_number = ti.try_number WHERE ti.run_pk = ?";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_ti *t = &(*out)[(*n)++];
    memset(t, 0, sizeof(*t));
    t->task_id = store_col_text(s, 0);
    const char *state = store_col_cstr(s, 1);
    if (!state || dag_task_state_parse(state, &t->state) != 0) t->state = DAG_TI_NONE;
    t->try_number = (int)store_col_int(s, 2);
    t->max_tries = (int)store_col_int(s, 3);
    t->start_date = store_col_int(s, 4);
    t->end_date = store_col_int(s, 5);
    t->next_retry_at = store_col_int(s, 6);
    t->pid = (int)store_col_int(s, 7);
    t->pid_start = store_col_int(s, 8);
    t->has_exit_code = !store_col_null(s, 9);
    t->exit_code = (int)store_col_int(s, 9);
    t->error = store_col_text(s, 10);
    read_usage(s, 11, &t->usage);
    t->map_index = (int)store_col_int(s, 15);
    t->pool = store_col_text(s, 16);
    t->pool_slots = (int)store_col_int(s, 17);
    t->has_priority_weight = !store_col_null(s, 18);
    t->priority_weight = (int)store_col_int(s, 18);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list task instances");
}

void dag_store_tis_free(struct dag_store_ti *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(t[i].task_id);
    free(t[i].error);
    free(t[i].pool);
  }
  free(t);
}

int dag_store_ti_set_state(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                           enum dag_task_state state, dag_time_t now) {
  static const char sql[] =
      "UPDATE task_instance SET state = ?1, pid = NULL, pid_start = NULL,"
      " next_retry_at = NULL,"
      " end_date = CASE WHEN ?1 IN ('skipped', 'upstream_failed') THEN ?2 ELSE end_date END"
      " WHERE run_pk = ?3 AND task_id = ?4 AND map_index = ?5";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_task_state_name(state));
  store_bind_int64(s, 2, now);
  store_bind_int64(s, 3, run_pk);
  store_bind_text(s, 4, task_id);
  store_bind_int64(s, 5, map_index);
  return store_step_later(st, s, "set task state");
}

int dag_store_ti_start_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                           int try_number, dag_time_t start, int pid,
                           int64_t pid_start, const char *log_path) {
  static const char upd[] =
      "UPDATE task_instance SET state = 'running', try_number = ?1, start_date = ?2,"
      " end_date = NULL, pid = ?3, pid_start = ?4, exit_code = NULL, error = NULL,"
      " next_retry_at = NULL WHERE run_pk = ?5 AND task_id = ?6 AND map_index = ?7";
  static const char ins[] =
      "INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, pid, log_path,"
      " map_index) VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7)"
      " ON CONFLICT (run_pk, task_id, map_index, try_number)"
      " DO UPDATE SET state = 'running', start_date = ?4, end_date = NULL, pid = ?5,"
      " exit_code = NULL, error = NULL, log_path = ?6";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) goto fail;
  store_bind_int64(s, 1, try_number);
  store_bind_int64(s, 2, start);
  store_bind_int64(s, 3, pid);
  store_bind_int64(s, 4, pid_start);
  store_bind_int64(s, 5, run_pk);
  store_bind_text(s, 6, task_id);
  store_bind_int64(s, 7, map_index);
  if ((rc = store_step_later(st, s, "start try")) != 0) goto fail;
  if (!(s = store_stmt(st, ins))) goto fail;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, try_number);
  store_bind_int64(s, 4, start);
  store_bind_int64(s, 5, pid);
  store_bind_text(s, 6, log_path);
  store_bind_int64(s, 7, map_index);
  if ((rc = store_step_later(st, s, "record try")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_ti_end_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                         int try_number, enum dag_task_state state, dag_time_t end,
                         int exit_code, bool has_exit_code, const char *error,
                         dag_time_t next_retry_at) {
  static const char upd[] =
      "UPDATE task_instance SET state = ?1, end_date = ?2, exit_code = ?3, error = ?4,"
      " next_retry_at = ?5, pid = NULL, pid_start = NULL"
      " WHERE run_pk = ?6 AND task_id = ?7 AND map_index = ?8";
  static const char upd_try[] =
      "UPDATE task_try SET state = ?1, end_date = ?2, exit_code = ?3, error = ?4"
      " WHERE run_pk = ?5 AND task_id = ?6 AND try_number = ?7 AND map_index = ?8";
  const char *name = dag_task_state_name(state);
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) goto fail;
  store_bind_text(s, 1, name);
  store_bind_int64(s, 2, end);
  if (has_exit_code)
    store_bind_int64(s, 3, exit_code);
  store_bind_text(s, 4, error);
  store_bind_time(s, 5, next_retry_at);
  store_bind_int64(s, 6, run_pk);
  store_bind_text(s, 7, task_id);
  store_bind_int64(s, 8, map_index);
  if ((rc = store_step_later(st, s, "end try")) != 0) goto fail;
  if (!(s = store_stmt(st, upd_try))) goto fail;
  /* A try's own record says how that try ended: up_for_retry is a property
   * of the task instance, the try itself failed. */
  store_bind_text(s, 1, state == DAG_TI_UP_FOR_RETRY ? "failed" : name);
  store_bind_int64(s, 2, end);
  if (has_exit_code)
    store_bind_int64(s, 3, exit_code);
  store_bind_text(s, 4, error);
  store_bind_int64(s, 5, run_pk);
  store_bind_text(s, 6, task_id);
  store_bind_int64(s, 7, try_number);
  store_bind_int64(s, 8, map_index);
  if ((rc = store_step_later(st, s, "end try record")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_ti_reschedule(dag_store *st, int64_t run_pk, const char *task_id,
                            int try_number, dag_time_t end, dag_time_t next_poke_at) {
  static const char upd[] =
      "UPDATE task_instance SET state = 'up_for_reschedule', try_number = ?1 - 1,"
      " end_date = ?2, next_retry_at = ?3, pid = NULL, pid_start = NULL"
      " WHERE run_pk = ?4 AND task_id = ?5 AND map_index = -1";
  static const char upd_try[] =
      "UPDATE task_try SET state = 'up_for_reschedule', end_date = ?1"
      " WHERE run_pk = ?2 AND task_id = ?3 AND try_number = ?4 AND map_index = -1";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) goto fail;
  store_bind_int64(s, 1, try_number);
  store_bind_int64(s, 2, end);
  store_bind_int64(s, 3, next_poke_at);
  store_bind_int64(s, 4, run_pk);
  store_bind_text(s, 5, task_id);
  if ((rc = store_step_done(st, s, "reschedule")) != 0) goto fail;
  if (!(s = store_stmt(st, upd_try))) goto fail;
  store_bind_int64(s, 1, end);
  store_bind_int64(s, 2, run_pk);
  store_bind_text(s, 3, task_id);
  store_bind_int64(s, 4, try_number);
  if ((rc = store_step_done(st, s, "reschedule try")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_ti_set_pid(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                         int try_number, int pid, int64_t pid_start) {
  static const char ti[] = "UPDATE task_instance SET pid = ?, pid_start = ? WHERE run_pk = ?"
                           " AND task_id = ? AND map_index = ?";
  static const char tr[] = "UPDATE task_try SET pid = ? WHERE run_pk = ? AND task_id = ?"
                           " AND try_number = ? AND map_index = ?";
  struct store_stmt *s = store_stmt(st, ti);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, pid);
  store_bind_int64(s, 2, pid_start);
  store_bind_int64(s, 3, run_pk);
  store_bind_text(s, 4, task_id);
  store_bind_int64(s, 5, map_index);
  int rc = store_step_later(st, s, "task pid");
  if (rc) return rc;
  if (!(s = store_stmt(st, tr))) return DAG_ESTORE;
  store_bind_int64(s, 1, pid);
  store_bind_int64(s, 2, run_pk);
  store_bind_text(s, 3, task_id);
  store_bind_int64(s, 4, try_number);
  store_bind_int64(s, 5, map_index);
  return store_step_later(st, s, "try pid");
}

int dag_store_ti_set_service_pid(dag_store *st, int64_t run_pk, const char *task_id, int pid,
                                 int64_t pid_start) {
  static const char sql[] =
      "UPDATE task_instance SET pid = ?, pid_start = ? WHERE run_pk = ? AND task_id = ?"
      " AND map_index = -1";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, pid);
  store_bind_int64(s, 2, pid_start);
  store_bind_int64(s, 3, run_pk);
  store_bind_text(s, 4, task_id);
  return store_step_done(st, s, "service pid");
}

int dag_store_ti_grant_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index) {
  static const char sql[] = "UPDATE task_instance SET max_tries = max_tries + 1"
                            " WHERE run_pk = ? AND task_id = ? AND map_index = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, map_index);
  return store_step_later(st, s, "grant try");
}

int dag_store_try_set_usage(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                            int try_number, const struct dag_store_usage *u) {
  static const char sql[] =
      "UPDATE task_try SET max_rss_kb = ?, cpu_user_us = ?, cpu_system_us = ?, wall_us = ?"
      " WHERE run_pk = ? AND task_id = ? AND try_number = ? AND map_index = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, u->max_rss_kb);
  store_bind_int64(s, 2, u->user_us);
  store_bind_int64(s, 3, u->sys_us);
  store_bind_int64(s, 4, u->wall_us);
  store_bind_int64(s, 5, run_pk);
  store_bind_text(s, 6, task_id);
  store_bind_int64(s, 7, try_number);
  store_bind_int64(s, 8, map_index);
  return store_step_later(st, s, "try usage");
}

int dag_store_ti_undo_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                          int try_number) {
  static const char upd[] =
      "UPDATE task_instance SET state = 'scheduled', try_number = ?4, pid = NULL,"
      " pid_start = NULL, next_retry_at = NULL,"
      " start_date = (SELECT start_date FROM task_try p WHERE p.run_pk = ?1"
      "   AND p.task_id = ?2 AND p.try_number = ?4 AND p.map_index = ?5),"
      " end_date = (SELECT end_date FROM task_try p WHERE p.run_pk = ?1"
      "   AND p.task_id = ?2 AND p.try_number = ?4 AND p.map_index = ?5),"
      " exit_code = (SELECT exit_code FROM task_try p WHERE p.run_pk = ?1"
      "   AND p.task_id = ?2 AND p.try_number = ?4 AND p.map_index = ?5),"
      " error = (SELECT error FROM task_try p WHERE p.run_pk = ?1"
      "   AND p.task_id = ?2 AND p.try_number = ?4 AND p.map_index = ?5)"
      " WHERE run_pk = ?1 AND task_id = ?2 AND try_number = ?3 AND map_index = ?5";
  static const char del[] =
      "DELETE FROM task_try WHERE run_pk = ? AND task_id = ? AND try_number = ? AND map_index = ?";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) goto fail;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, try_number);
  store_bind_int64(s, 4, try_number - 1);
  store_bind_int64(s, 5, map_index);
  if ((rc = store_step_done(st, s, "undo try")) != 0) goto fail;
  if (!(s = store_stmt(st, del))) goto fail;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, try_number);
  store_bind_int64(s, 4, map_index);
  if ((rc = store_step_done(st, s, "undo try record")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_ti_expand(dag_store *st, int64_t run_pk, const char *task_id, int n,
                        int max_tries, dag_time_t now) {
  static const char ins[] =
      "INSERT INTO task_instance (run_pk, task_id, map_index, state, try_number, max_tries)"
      " VALUES (?1, ?2, ?3, 'scheduled', 0, ?4)";
  static const char own[] =
      "UPDATE task_instance SET state = 'running', start_date = ?1, end_date = NULL,"
      " error = NULL WHERE run_pk = ?2 AND task_id = ?3 AND map_index = -1";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s;
  for (int i = 0; i < n; i++) {
    if (!(s = store_stmt(st, ins))) goto fail;
    store_bind_int64(s, 1, run_pk);
    store_bind_text(s, 2, task_id);
    store_bind_int64(s, 3, i);
    store_bind_int64(s, 4, max_tries);
    if ((rc = store_step_done(st, s, "expand task")) != 0) goto fail;
  }
  if (!(s = store_stmt(st, own))) goto fail;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, run_pk);
  store_bind_text(s, 3, task_id);
  if ((rc = store_step_done(st, s, "expanded task")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_ti_end_unmapped(dag_store *st, int64_t run_pk, const char *task_id,
                              enum dag_task_state state, const char *error, dag_time_t now) {
  static const char sql[] =
      "UPDATE task_instance SET state = ?1, end_date = ?2, error = ?3, pid = NULL,"
      " pid_start = NULL, next_retry_at = NULL, start_date = coalesce(start_date, ?2)"
      " WHERE run_pk = ?4 AND task_id = ?5 AND map_index = -1";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_task_state_name(state));
  store_bind_int64(s, 2, now);
  store_bind_text(s, 3, error);
  store_bind_int64(s, 4, run_pk);
  store_bind_text(s, 5, task_id);
  return store_step_done(st, s, "end mapped task");
}

int dag_store_clear(dag_store *st, int64_t run_pk, const char *const *task_ids,
                    const int *retries, size_t n, size_t *cleared, size_t *skipped) {
  static const char upd[] =
      "UPDATE task_instance SET state = 'none', max_tries = try_number + ?1,"
      " end_date = NULL, next_retry_at = NULL, exit_code = NULL, error = NULL"
      " WHERE run_pk = ?2 AND task_id = ?3 AND state NOT IN ('running', 'queued')";
  /* A mapped task cleared expands again when it runs (its list may have
   * changed): its instances go, unless one runs. */
  static const char del_mapped[] =
      "DELETE FROM task_instance WHERE run_pk = ?1 AND task_id = ?2 AND map_index >= 0"
      " AND NOT EXISTS (SELECT 1 FROM task_instance r WHERE r.run_pk = ?1 AND r.task_id = ?2"
      " AND r.state IN ('running', 'queued'))";
  static const char upd_run[] =
      "UPDATE dag_run SET state = 'queued', end_date = NULL WHERE id = ? RETURNING dag_id";
  static const char imported[] = "SELECT 1 FROM dag_run WHERE id = ? AND imported_at IS NOT NULL";
  size_t ok = 0, busy = 0;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s;
  /* An imported run is a record of another home: nothing here runs it. */
  if (!(s = store_stmt(st, imported))) goto fail;
  store_bind_int64(s, 1, run_pk);
  rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ROW) {
    dag_store_rollback(st);
    return DAG_ESTATE;
  }
  if (rc != STORE_DONE) {
    rc = store_fail(st, "clear: read the run");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (!(s = store_stmt(st, del_mapped))) goto fail;
    store_bind_int64(s, 1, run_pk);
    store_bind_text(s, 2, task_ids[i]);
    if ((rc = store_step_done(st, s, "clear mapped instances")) != 0) goto fail;
    if (!(s = store_stmt(st, upd))) goto fail;
    store_bind_int64(s, 1, retries[i]);
    store_bind_int64(s, 2, run_pk);
    store_bind_text(s, 3, task_ids[i]);
    if ((rc = store_step_done(st, s, "clear task")) != 0) goto fail;
    if (store_changes(st))
      ok++;
    else
      busy++;
  }
  if (!(s = store_stmt(st, upd_run))) goto fail;
  store_bind_int64(s, 1, run_pk);
  if (store_step(s) != STORE_ROW) {
    store_reset(s);
    dag_store_rollback(st);
    return DAG_ENOTFOUND;
  }
  char *dag_id = store_col_text(s, 0);
  store_reset(s);
  rc = store_add_event(st, "run", dag_id, run_pk);
  free(dag_id);
  if (rc) goto fail;
  if ((rc = dag_store_commit(st)) != 0) return rc;
  if (cleared) *cleared = ok;
  if (skipped) *skipped = busy;
  return 0;
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

/* --- tries ------------------------------------------------------------------ */

int dag_store_list_tries(dag_store *st, int64_t run_pk, const char *task_id,
                         struct dag_store_try **out, size_t *n) {
  static const char sql[] =
      "SELECT task_id, try_number, state, start_date, end_date, pid, exit_code, error,"
      " log_path, max_rss_kb, cpu_user_us, cpu_system_us, wall_us, map_index"
      " FROM task_try WHERE run_pk = ?1 AND (CAST(?2 AS TEXT) IS NULL OR task_id = ?2)"
      " ORDER BY task_id, map_index, try_number";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_try *t = &(*out)[(*n)++];
    memset(t, 0, sizeof(*t));
    t->task_id = store_col_text(s, 0);
    t->try_number = (int)store_col_int(s, 1);
    const char *state = store_col_cstr(s, 2);
    if (!state || dag_task_state_parse(state, &t->state) != 0) t->state = DAG_TI_NONE;
    t->start_date = store_col_int(s, 3);
    t->end_date = store_col_int(s, 4);
    t->pid = (int)store_col_int(s, 5);
    t->has_exit_code = !store_col_null(s, 6);
    t->exit_code = (int)store_col_int(s, 6);
    t->error = store_col_text(s, 7);
    t->log_path = store_col_text(s, 8);
    read_usage(s, 9, &t->usage);
    t->map_index = (int)store_col_int(s, 13);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list tries");
}

void dag_store_tries_free(struct dag_store_try *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(t[i].task_id);
    free(t[i].error);
    free(t[i].log_path);
  }
  free(t);
}

/* --- events ------------------------------------------------------------------ */

int dag_store_take_events(dag_store *st, struct dag_store_event **out, size_t *n) {
  /* Read in id order, then delete what was read, in one transaction: an
   * event written meanwhile by another process waits for the next call. */
  static const char sel[] =
      "SELECT id, kind, dag_id, run_pk FROM scheduler_event ORDER BY id";
  static const char del[] = "DELETE FROM scheduler_event WHERE id <= ?";
  *out = NULL;
  *n = 0;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, sel);
  if (!s) goto fail;
  size_t cap = 0;
  int step;
  while ((step = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_event *e = &(*out)[(*n)++];
    store_read_event(s, e);
  }
  store_reset(s);
  if (step != STORE_DONE) {
    rc = store_fail(st, "take events");
    goto fail;
  }
  if (*n) {
    if (!(s = store_stmt(st, del))) goto fail;
    store_bind_int64(s, 1, (*out)[*n - 1].id);
    if ((rc = store_step_done(st, s, "delete events")) != 0) goto fail;
  }
  if ((rc = dag_store_commit(st)) == 0) return 0;
fail:
  dag_store_rollback(st);
  dag_store_events_free(*out, *n);
  *out = NULL;
  *n = 0;
  return rc ? rc : DAG_ESTORE;
}

void dag_store_events_free(struct dag_store_event *e, size_t n) {
  for (size_t i = 0; i < n; i++) free(e[i].dag_id);
  free(e);
}
