/* store_metrics.c - the rows /metrics is computed from: every try and run
 * with its times, and counts of states by DAG. Each call is one read,
 * O(rows) with a sort; web/metrics.c caches what it builds from them until
 * dag_store_data_version() changes. */
#include <string.h>

#include "error.h"
#include "store_int.h"

int dag_store_each_try(dag_store *st, dag_store_try_fn fn, void *ud) {
  static const char sql[] =
      "SELECT r.dag_id, t.task_id, t.state, t.try_number, t.start_date, t.end_date"
      " FROM task_try t JOIN dag_run r ON r.id = t.run_pk ORDER BY r.dag_id, t.task_id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    int64_t d = -1;
    if (!store_col_null(s, 5)) {
      d = store_col_int(s, 5) - store_col_int(s, 4);
      if (d < 0) d = 0; /* a wall clock stepped back during the try */
    }
    fn(ud, store_col_cstr(s, 0), store_col_cstr(s, 1), store_col_cstr(s, 2),
       (int)store_col_int(s, 3), d);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "read tries for metrics");
}

int dag_store_each_run(dag_store *st, dag_store_run_fn fn, void *ud) {
  static const char sql[] =
      "SELECT dag_id, run_type, state, queued_at, data_interval_end, start_date, end_date"
      " FROM dag_run ORDER BY dag_id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    struct dag_store_run_times r = {
        .dag_id = store_col_cstr(s, 0),
        .run_type = store_col_cstr(s, 1),
        .state = store_col_cstr(s, 2),
        .queued_at = store_col_int(s, 3),
        .interval_end = store_col_int(s, 4),
        .start_date = store_col_null(s, 5) ? 0 : store_col_int(s, 5),
        .end_date = store_col_null(s, 6) ? 0 : store_col_int(s, 6),
    };
    fn(ud, &r);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "read runs for metrics");
}

static int counts(dag_store *st, const char *sql, const char *what, dag_store_count_fn fn,
                  void *ud) {
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW)
    fn(ud, store_col_cstr(s, 0), store_col_cstr(s, 1), store_col_int(s, 2));
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, what);
}

int dag_store_ti_states_by_dag(dag_store *st, dag_store_count_fn fn, void *ud) {
  return counts(st,
                "SELECT r.dag_id, ti.state, count(*) FROM task_instance ti"
                " JOIN dag_run r ON r.id = ti.run_pk GROUP BY r.dag_id, ti.state"
                " ORDER BY r.dag_id, ti.state",
                "count task states by DAG", fn, ud);
}

int dag_store_run_states_by_dag(dag_store *st, dag_store_count_fn fn, void *ud) {
  return counts(st,
                "SELECT dag_id, state, count(*) FROM dag_run GROUP BY dag_id, state"
                " ORDER BY dag_id, state",
                "count run states by DAG", fn, ud);
}
