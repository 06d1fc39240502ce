/* store_xcom.c - XCom values in the SQLite store. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

int dag_store_xcom_push(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                        const char *key, const char *value_json, dag_time_t now) {
  static const char sql[] =
      "INSERT INTO xcom (run_pk, task_id, key, value, timestamp, map_index)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
      " ON CONFLICT (run_pk, task_id, map_index, key) DO UPDATE SET value = ?4, timestamp = ?5";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_text(s, 3, key);
  store_bind_text(s, 4, value_json);
  store_bind_int64(s, 5, now);
  store_bind_int64(s, 6, map_index);
  return store_step_later(st, s, "xcom push");
}

int dag_store_xcom_list(dag_store *st, int64_t run_pk, struct dag_store_xcom **out, size_t *n) {
  static const char sql[] =
      "SELECT task_id, key, value, map_index FROM xcom WHERE run_pk = ?"
      " ORDER BY task_id, key, map_index";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_xcom *x = &(*out)[(*n)++];
    x->task_id = store_col_text(s, 0);
    x->key = store_col_text(s, 1);
    x->value = store_col_text(s, 2);
    x->map_index = (int)store_col_int(s, 3);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "xcom list");
}

void dag_store_xcoms_free(struct dag_store_xcom *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(x[i].task_id);
    free(x[i].key);
    free(x[i].value);
  }
  free(x);
}

int dag_store_xcom_tree(dag_store *st, int64_t run_pk, json_t **out) {
  *out = NULL;
  struct dag_store_xcom *x = NULL;
  size_t n = 0;
  int rc = dag_store_xcom_list(st, run_pk, &x, &n);
  if (rc) return rc;
  json_t *all = json_object();
  for (size_t i = 0; i < n; i++) {
    json_t *task = json_object_get(all, x[i].task_id);
    if (!task) {
      task = json_object();
      json_object_set_new(all, x[i].task_id, task);
    }
    json_t *v = json_loads(x[i].value, JSON_DECODE_ANY, NULL);
    if (v && x[i].map_index >= 0) {
      /* A mapped task's value is the list of its instances' values, in
       * map_index order, as Airflow's xcom_pull of a mapped task. */
      json_t *list = json_object_get(task, x[i].key);
      if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(task, x[i].key, list);
      }
      json_array_append_new(list, v);
    } else if (v) {
      json_object_set_new(task, x[i].key, v);
    }
  }
  dag_store_xcoms_free(x, n);
  *out = all;
  return 0;
}

int dag_store_xcom_list_task(dag_store *st, int64_t run_pk, const char *task_id,
                             const char *key, struct dag_store_xcom **out, size_t *n) {
  /* Two statements rather than "?3 IS NULL OR", which PostgreSQL cannot
   * type. */
  static const char all[] = "SELECT task_id, key, value, timestamp, map_index FROM xcom"
                            " WHERE run_pk = ?1 AND task_id = ?2 ORDER BY key";
  static const char one[] = "SELECT task_id, key, value, timestamp, map_index FROM xcom"
                            " WHERE run_pk = ?1 AND task_id = ?2 AND key = ?3";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, key ? one : all);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  if (key) store_bind_text(s, 3, key);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_xcom *x = &(*out)[(*n)++];
    x->task_id = store_col_text(s, 0);
    x->key = store_col_text(s, 1);
    x->value = store_col_text(s, 2);
    x->timestamp = store_col_int(s, 3);
    x->map_index = (int)store_col_int(s, 4);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "xcom list task");
}

int dag_store_xcom_clear_task(dag_store *st, int64_t run_pk, const char *task_id, int map_index) {
  static const char sql[] =
      "DELETE FROM xcom WHERE run_pk = ?1 AND task_id = ?2 AND map_index = ?3";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, map_index);
  return store_step_later(st, s, "xcom clear task");
}
