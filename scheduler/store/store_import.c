/* store_import.c - a run from another home's bundle (`dagctl import`),
 * recorded as it was there and marked imported. */
#include <string.h>

#include "bundle.h"
#include "error.h"
#include "ids.h"
#include "store_int.h"

int dag_store_import_run(dag_store *st, const struct dag_bundle *b, const char *const *log_paths,
                         int64_t version_id, dag_time_t now, int64_t *pk) {
  static const char taken[] = "SELECT 1 FROM dag_run WHERE dag_id = ? AND run_id = ?";
  static const char ins_run[] =
      "INSERT INTO dag_run (dag_id, run_id, run_type, state, logical_date,"
      " data_interval_start, data_interval_end, conf, queued_at, start_date, end_date,"
      " created_dag_version_id, imported_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id";
  static const char ins_ti[] =
      "INSERT INTO task_instance (run_pk, task_id, state, try_number, max_tries, start_date,"
      " end_date, exit_code, error, pool, pool_slots, priority_weight)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
  static const char ins_try[] =
      "INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, end_date,"
      " exit_code, error, log_path, max_rss_kb, cpu_user_us, cpu_system_us, wall_us)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
  static const char ins_xcom[] =
      "INSERT INTO xcom (run_pk, task_id, key, value, timestamp) VALUES (?1, ?2, ?3, ?4, ?5)";
  const struct dag_store_run *r = &b->run;
  /* The same rule as every run this store records: ids that make safe
   * log paths (the parser has checked them; this is the store's own word). */
  if (!dag_id_is_valid(DAG_ID_DAG, r->dag_id) || !dag_id_is_valid(DAG_ID_RUN, r->run_id))
    return DAG_EINVAL;
  for (size_t i = 0; i < b->n_tries; i++)
    if (!dag_id_rel_path_is_safe(log_paths[i])) return DAG_EINVAL;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, taken);
  if (!s) goto fail;
  store_bind_text(s, 1, r->dag_id);
  store_bind_text(s, 2, r->run_id);
  rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ROW) {
    dag_store_rollback(st);
    return DAG_EEXIST;
  }
  if (rc != STORE_DONE) {
    rc = store_fail(st, "import: check the run id");
    goto fail;
  }
  if (!(s = store_stmt(st, ins_run))) goto fail;
  store_bind_text(s, 1, r->dag_id);
  store_bind_text(s, 2, r->run_id);
  store_bind_text(s, 3, r->run_type);
  store_bind_text(s, 4, dag_run_state_name(r->state));
  store_bind_int64(s, 5, r->logical_date);
  store_bind_int64(s, 6, r->data_interval_start);
  store_bind_int64(s, 7, r->data_interval_end);
  store_bind_text(s, 8, r->conf ? r->conf : "{}");
  store_bind_int64(s, 9, r->queued_at);
  store_bind_time(s, 10, r->start_date);
  store_bind_time(s, 11, r->end_date);
  store_bind_time(s, 12, version_id);
  store_bind_int64(s, 13, now);
  if (store_step(s) != STORE_ROW) {
    store_reset(s);
    rc = store_fail(st, "import run");
    goto fail;
  }
  int64_t id = store_col_int(s, 0);
  store_reset(s);
  for (size_t i = 0; i < b->n_tis; i++) {
    const struct dag_store_ti *t = &b->tis[i];
    if (!(s = store_stmt(st, ins_ti))) goto fail;
    store_bind_int64(s, 1, id);
    store_bind_text(s, 2, t->task_id);
    store_bind_text(s, 3, dag_task_state_name(t->state));
    store_bind_int64(s, 4, t->try_number);
    store_bind_int64(s, 5, t->max_tries);
    store_bind_time(s, 6, t->start_date);
    store_bind_time(s, 7, t->end_date);
    if (t->has_exit_code)
      store_bind_int64(s, 8, t->exit_code);
    else
      store_bind_null(s, 8);
    store_bind_text(s, 9, t->error);
    store_bind_text(s, 10, t->pool);
    store_bind_int64(s, 11, t->pool ? t->pool_slots : 1);
    if (t->has_priority_weight)
      store_bind_int64(s, 12, t->priority_weight);
    else
      store_bind_null(s, 12);
    if ((rc = store_step_done(st, s, "import task instance")) != 0) goto fail;
  }
  for (size_t i = 0; i < b->n_tries; i++) {
    const struct dag_store_try *t = &b->tries[i];
    if (!(s = store_stmt(st, ins_try))) goto fail;
    store_bind_int64(s, 1, id);
    store_bind_text(s, 2, t->task_id);
    store_bind_int64(s, 3, t->try_number);
    store_bind_text(s, 4, dag_task_state_name(t->state));
    store_bind_int64(s, 5, t->start_date);
    store_bind_time(s, 6, t->end_date);
    if (t->has_exit_code)
      store_bind_int64(s, 7, t->exit_code);
    else
      store_bind_null(s, 7);
    store_bind_text(s, 8, t->error);
    store_bind_text(s, 9, log_paths[i]);
    const struct dag_store_usage *u = &t->usage;
    if (u->known) {
      store_bind_int64(s, 10, u->max_rss_kb);
      store_bind_int64(s, 11, u->user_us);
      store_bind_int64(s, 12, u->sys_us);
      store_bind_int64(s, 13, u->wall_us);
    } else {
      for (int k = 10; k <= 13; k++) store_bind_null(s, k);
    }
    if ((rc = store_step_done(st, s, "import try")) != 0) goto fail;
  }
  for (size_t i = 0; i < b->n_xcom; i++) {
    if (!(s = store_stmt(st, ins_xcom))) goto fail;
    store_bind_int64(s, 1, id);
    store_bind_text(s, 2, b->xcom[i].task_id);
    store_bind_text(s, 3, b->xcom[i].key);
    store_bind_text(s, 4, b->xcom[i].value);
    store_bind_int64(s, 5, now);
    if ((rc = store_step_done(st, s, "import xcom")) != 0) goto fail;
  }
  if ((rc = dag_store_commit(st)) != 0) return rc;
  if (pk) *pk = id;
  return 0;
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}
