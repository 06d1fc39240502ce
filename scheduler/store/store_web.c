/* store_web.c - the queries behind the status page and /metrics: a DAG's
 * grid in one query, recent runs of every DAG, counts by state. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"
#include "strbuf.h"

int dag_store_ping(dag_store *st) {
  struct store_stmt *s = store_stmt(st, "SELECT 1");
  if (!s) return DAG_ESTORE;
  int rc = store_step(s);
  store_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "ping");
}

int dag_store_count_runs(dag_store *st, const char *dag_id, int64_t *n) {
  static const char sql[] = "SELECT count(*) FROM dag_run WHERE dag_id = ?";
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  int rc = store_step(s);
  if (rc == STORE_ROW) *n = store_col_int(s, 0);
  store_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "count runs");
}

int dag_store_list_cells(dag_store *st, const int64_t *run_pks, size_t n_runs,
                         struct dag_store_cell **out, size_t *n) {
  /* The run list travels as one JSON array parameter, so the statement is
   * static, cached, and still one query for any number of runs; each run
   * is a range of the (run_pk, task_id) primary key. */
  static const char sql[] =
      "SELECT run_pk, task_id, state, try_number, start_date, end_date, map_index"
      " FROM task_instance WHERE run_pk IN (SELECT value FROM json_each(?))";
  static const char sql_pg[] =
      "SELECT run_pk, task_id, state, try_number, start_date, end_date, map_index"
      " FROM task_instance"
      " WHERE run_pk IN (SELECT CAST(j AS BIGINT) FROM json_array_elements_text(?::json) j)";
  *out = NULL;
  *n = 0;
  if (n_runs == 0) return 0;
  struct strbuf pks = STRBUF_INIT;
  sb_appendc(&pks, '[');
  for (size_t i = 0; i < n_runs; i++)
    sb_appendf(&pks, "%s%lld", i ? "," : "", (long long)run_pks[i]);
  sb_appendc(&pks, ']');
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) {
    sb_free(&pks);
    return DAG_ESTORE;
  }
  store_bind_text(s, 1, sb_str(&pks));
  sb_free(&pks);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_cell *c = &(*out)[(*n)++];
    c->run_pk = store_col_int(s, 0);
    c->task_id = store_col_text(s, 1);
    const char *state = store_col_cstr(s, 2);
    if (!state || dag_task_state_parse(state, &c->state) != 0) c->state = DAG_TI_NONE;
    c->try_number = (int)store_col_int(s, 3);
    c->start_date = store_col_int(s, 4);
    c->end_date = store_col_int(s, 5);
    c->map_index = (int)store_col_int(s, 6);
  }
  store_reset(s);
  if (rc != STORE_DONE) {
    dag_store_cells_free(*out, *n);
    *out = NULL;
    *n = 0;
    return store_fail(st, "list cells");
  }
  return 0;
}

void dag_store_cells_free(struct dag_store_cell *c, size_t n) {
  for (size_t i = 0; i < n; i++) free(c[i].task_id);
  free(c);
}

int dag_store_list_recent_runs(dag_store *st, int per_dag, struct dag_store_run **out,
                               size_t *n) {
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM ("
      "  SELECT *, row_number() OVER"
      "   (PARTITION BY dag_id ORDER BY logical_date DESC, id DESC) AS rn FROM dag_run) AS r"
      " WHERE rn <= ? ORDER BY dag_id, logical_date DESC, id DESC";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, per_dag > 0 ? per_dag : 1);
  int rc = store_read_runs(st, s, out, n, "list recent runs");
  if (rc != 0) {
    dag_store_runs_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int dag_store_count_states(dag_store *st, int64_t ti_counts[DAG_TI__COUNT],
                           int64_t run_counts[DAG_RUN__COUNT]) {
  static const char ti_sql[] = "SELECT state, count(*) FROM task_instance GROUP BY state";
  static const char run_sql[] = "SELECT state, count(*) FROM dag_run GROUP BY state";
  memset(ti_counts, 0, sizeof(int64_t) * DAG_TI__COUNT);
  memset(run_counts, 0, sizeof(int64_t) * DAG_RUN__COUNT);
  struct store_stmt *s = store_stmt(st, ti_sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    const char *name = store_col_cstr(s, 0);
    enum dag_task_state state;
    if (name && dag_task_state_parse(name, &state) == 0) ti_counts[state] += store_col_int(s, 1);
  }
  store_reset(s);
  if (rc != STORE_DONE) return store_fail(st, "count task states");
  if (!(s = store_stmt(st, run_sql))) return DAG_ESTORE;
  while ((rc = store_step(s)) == STORE_ROW) {
    const char *name = store_col_cstr(s, 0);
    enum dag_run_state state;
    if (name && dag_run_state_parse(name, &state) == 0) run_counts[state] += store_col_int(s, 1);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "count run states");
}

int dag_store_try_durations(dag_store *st, const int64_t *bounds_us, size_t n_bounds,
                            int64_t *counts, int64_t *sum_us) {
  static const char sql[] =
      "SELECT end_date - start_date FROM task_try WHERE end_date IS NOT NULL";
  memset(counts, 0, sizeof(int64_t) * (n_bounds + 1));
  *sum_us = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    int64_t d = store_col_int(s, 0);
    if (d < 0) d = 0; /* a wall clock stepped back during the try */
    *sum_us += d;
    counts[n_bounds]++;
    /* Cumulative, as Prometheus buckets are: count every bound d fits. */
    for (size_t i = n_bounds; i > 0 && d <= bounds_us[i - 1]; i--) counts[i - 1]++;
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "try durations");
}

int dag_store_try_usage(dag_store *st, const int64_t *bounds_kb, size_t n_bounds,
                        int64_t *counts, int64_t *sum_kb, int64_t *user_us, int64_t *sys_us) {
  static const char sql[] =
      "SELECT max_rss_kb, cpu_user_us, cpu_system_us FROM task_try WHERE max_rss_kb IS NOT NULL";
  memset(counts, 0, sizeof(int64_t) * (n_bounds + 1));
  *sum_kb = *user_us = *sys_us = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    int64_t kb = store_col_int(s, 0);
    *sum_kb += kb;
    *user_us += store_col_int(s, 1);
    *sys_us += store_col_int(s, 2);
    counts[n_bounds]++;
    for (size_t i = n_bounds; i > 0 && kb <= bounds_kb[i - 1]; i--) counts[i - 1]++;
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "try usage");
}

int dag_store_list_dags_brief(dag_store *st, struct dag_store_dag **out, size_t *n) {
  static const char sql[] =
      "SELECT " STORE_DAG_COLUMNS_("NULL") " FROM dag ORDER BY dag_id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc = store_read_dags(st, s, out, n, "list dags");
  if (rc != 0) {
    dag_store_dags_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}
