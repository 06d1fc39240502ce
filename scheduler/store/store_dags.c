/* store_dags.c - the DAG catalogue and import errors in the SQLite store. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "store_datasets.h"
#include "store_int.h"

/* The task graph as JSON, so readers (CLI, web) need not parse YAML. A
 * task in a task group also has "groups": its groups, outermost first,
 * each {"group_id", "tooltip"}. */
static char *graph_json(const struct dag *dag) {
  json_t *arr = json_array();
  for (size_t i = 0; i < dag->n_tasks; i++) {
    const struct dag_task *t = &dag->tasks[i];
    json_t *up = json_array();
    for (size_t j = 0; j < t->n_upstream; j++)
      json_array_append_new(up, json_string(dag->tasks[t->upstream[j]].id));
    json_t *node = json_pack("{s:s, s:s, s:s, s:o}", "task_id", t->id, "type",
                             t->type_name ? t->type_name : "shell", "trigger_rule",
                             dag_trigger_rule_name(t->trigger_rule), "upstream", up);
    if (t->group) {
      json_t *chain = json_array();
      for (size_t g = t->group; g; g = dag->groups[g - 1].parent)
        json_array_insert_new(chain, 0, json_pack("{s:s, s:s}", "group_id", dag->groups[g - 1].id,
                                                  "tooltip", dag->groups[g - 1].tooltip));
      json_object_set_new(node, "groups", chain);
    }
    json_array_append_new(arr, node);
  }
  char *s = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return s;
}

static char *tags_json(const struct dag *dag) {
  json_t *arr = json_array();
  for (size_t i = 0; i < dag->n_tags; i++) json_array_append_new(arr, json_string(dag->tags[i]));
  char *s = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return s;
}

int dag_store_sync_dag(dag_store *st, const struct dag *dag, bool paused_if_new,
                       dag_time_t now, bool *is_paused) {
  static const char upsert[] =
      "INSERT INTO dag (dag_id, fileloc, description, schedule_interval, timezone, tags,"
      " graph, max_active_runs, max_active_tasks, is_paused, is_active, last_parsed_time)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11)"
      " ON CONFLICT (dag_id) DO UPDATE SET fileloc = ?2, description = ?3,"
      " schedule_interval = ?4, timezone = ?5, tags = ?6, graph = ?7,"
      " max_active_runs = ?8, max_active_tasks = ?9, is_active = 1, last_parsed_time = ?11"
      " RETURNING is_paused";
  struct store_stmt *s = store_stmt(st, upsert);
  if (!s) return DAG_ESTORE;
  char *graph = graph_json(dag);
  char *tags = tags_json(dag);
  store_bind_text(s, 1, dag->dag_id);
  store_bind_text(s, 2, dag->file);
  store_bind_text(s, 3, dag->description ? dag->description : "");
  store_bind_text(s, 4, dag->schedule.expr);
  store_bind_text(s, 5, dag->timezone);
  store_bind_text(s, 6, tags);
  store_bind_text(s, 7, graph);
  store_bind_int64(s, 8, dag->max_active_runs);
  store_bind_int64(s, 9, dag->max_active_tasks);
  store_bind_int64(s, 10, paused_if_new || dag->is_paused_upon_creation);
  store_bind_int64(s, 11, now);
  int rc = store_step(s);
  free(graph);
  free(tags);
  if (rc != STORE_ROW) {
    store_reset(s);
    return store_fail(st, "sync dag");
  }
  if (is_paused) *is_paused = store_col_int(s, 0) != 0;
  store_reset(s);
  return dag_store_dataset_sync_refs(st, dag, now);
}

int dag_store_set_dag_active(dag_store *st, const char *dag_id, bool active) {
  static const char sql[] = "UPDATE dag SET is_active = ? WHERE dag_id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, active);
  store_bind_text(s, 2, dag_id);
  return store_step_done(st, s, "set dag active");
}

int dag_store_set_paused(dag_store *st, const char *dag_id, bool paused) {
  static const char sql[] = "UPDATE dag SET is_paused = ? WHERE dag_id = ?";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) goto fail;
  store_bind_int64(s, 1, paused);
  store_bind_text(s, 2, dag_id);
  if ((rc = store_step_done(st, s, "set paused")) != 0) goto fail;
  if (store_changes(st) == 0) {
    dag_store_rollback(st);
    return DAG_ENOTFOUND;
  }
  if ((rc = store_add_event(st, "dag", dag_id, 0)) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_set_next_dagrun(dag_store *st, const char *dag_id, dag_time_t next,
                              dag_time_t create_after) {
  static const char sql[] =
      "UPDATE dag SET next_dagrun = ?, next_dagrun_create_after = ? WHERE dag_id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_time(s, 1, next);
  store_bind_time(s, 2, create_after);
  store_bind_text(s, 3, dag_id);
  return store_step_done(st, s, "set next dagrun");
}

void store_read_dag(struct store_stmt *s, struct dag_store_dag *d) {
  d->dag_id = store_col_text(s, 0);
  d->fileloc = store_col_text(s, 1);
  d->description = store_col_text(s, 2);
  d->schedule = store_col_text(s, 3);
  d->timezone = store_col_text(s, 4);
  d->tags = store_col_text(s, 5);
  d->graph = store_col_text(s, 6);
  d->max_active_runs = (int)store_col_int(s, 7);
  d->max_active_tasks = (int)store_col_int(s, 8);
  d->is_paused = store_col_int(s, 9) != 0;
  d->is_active = store_col_int(s, 10) != 0;
  d->last_parsed_time = store_col_int(s, 11);
  d->next_dagrun = store_col_int(s, 12);
  d->next_dagrun_create_after = store_col_int(s, 13);
  d->dag_version_id = store_col_int(s, 14);
  d->dag_version_number = (int)store_col_int(s, 15);
}

int dag_store_get_dag(dag_store *st, const char *dag_id, struct dag_store_dag *out) {
  static const char sql[] = "SELECT " STORE_DAG_COLUMNS " FROM dag WHERE dag_id = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  int rc = store_step(s);
  if (rc == STORE_ROW) store_read_dag(s, out);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "get dag");
}

int store_read_dags(dag_store *st, struct store_stmt *s, struct dag_store_dag **out,
                    size_t *n, const char *what) {
  size_t cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    store_read_dag(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, what);
}

int dag_store_list_dags(dag_store *st, struct dag_store_dag **out, size_t *n) {
  static const char sql[] = "SELECT " STORE_DAG_COLUMNS " FROM dag ORDER BY dag_id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  return store_read_dags(st, s, out, n, "list dags");
}

void dag_store_dag_free(struct dag_store_dag *d) {
  if (!d) return;
  free(d->dag_id);
  free(d->fileloc);
  free(d->description);
  free(d->schedule);
  free(d->timezone);
  free(d->tags);
  free(d->graph);
  memset(d, 0, sizeof(*d));
}

void dag_store_dags_free(struct dag_store_dag *d, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_dag_free(&d[i]);
  free(d);
}

int dag_store_set_import_error(dag_store *st, const char *file, const char *text,
                               dag_time_t now) {
  static const char sql[] =
      "INSERT INTO import_error (filename, timestamp, stacktrace) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (filename) DO UPDATE SET timestamp = ?2, stacktrace = ?3"
      " WHERE import_error.stacktrace IS DISTINCT FROM ?3";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, file);
  store_bind_int64(s, 2, now);
  store_bind_text(s, 3, text);
  return store_step_done(st, s, "set import error");
}

int dag_store_clear_import_error(dag_store *st, const char *file) {
  static const char sql[] = "DELETE FROM import_error WHERE filename = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, file);
  return store_step_done(st, s, "clear import error");
}

int dag_store_list_import_errors(dag_store *st, struct dag_store_import_error **out,
                                 size_t *n) {
  static const char sql[] =
      "SELECT filename, timestamp, stacktrace FROM import_error ORDER BY filename";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_import_error *e = &(*out)[(*n)++];
    e->filename = store_col_text(s, 0);
    e->timestamp = store_col_int(s, 1);
    e->stacktrace = store_col_text(s, 2);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list import errors");
}

void dag_store_import_errors_free(struct dag_store_import_error *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(e[i].filename);
    free(e[i].stacktrace);
  }
  free(e);
}
