/* store_trigger.c - runs triggered by a task of another run (the
 * trigger_dag task type; migrations/0013_run_trigger.sql), and runs looked
 * up by logical date (external_task). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

int dag_store_run_trigger_add(dag_store *st, int64_t run_pk, int64_t by_run_pk,
                              const char *by_task_id) {
  static const char sql[] =
      "INSERT INTO run_trigger (run_pk, by_run_pk, by_task_id) VALUES (?, ?, ?)";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_int64(s, 2, by_run_pk);
  store_bind_text(s, 3, by_task_id);
  return store_step_done(st, s, "record a triggered run");
}

static int one_run(dag_store *st, struct store_stmt *s, struct dag_store_run *out,
                   const char *what) {
  memset(out, 0, sizeof(*out));
  int rc = store_step(s);
  if (rc == STORE_ROW) store_read_run(s, out);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, what);
}

int dag_store_run_triggered_by(dag_store *st, int64_t by_run_pk, const char *by_task_id,
                               const char *dag_id, struct dag_store_run *out) {
  static const char sql[] =
      "SELECT " STORE_RUN_COLUMNS " FROM dag_run WHERE id = (SELECT max(t.run_pk)"
      " FROM run_trigger t JOIN dag_run r ON r.id = t.run_pk"
      " WHERE t.by_run_pk = ? AND t.by_task_id = ? AND r.dag_id = ?)";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, by_run_pk);
  store_bind_text(s, 2, by_task_id);
  store_bind_text(s, 3, dag_id);
  return one_run(st, s, out, "find a triggered run");
}

int dag_store_run_at(dag_store *st, const char *dag_id, dag_time_t logical_date,
                     struct dag_store_run *out) {
  static const char sql[] = "SELECT " STORE_RUN_COLUMNS " FROM dag_run"
                            " WHERE dag_id = ? AND logical_date = ? ORDER BY id DESC LIMIT 1";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  store_bind_int64(s, 2, logical_date);
  return one_run(st, s, out, "find a run by logical date");
}

int dag_store_run_links(dag_store *st, int64_t run_pk, struct dag_store_run_link **out,
                        size_t *n) {
  /* The run that triggered this one first, then the runs it triggered. */
  static const char sql[] =
      "SELECT 1, r.dag_id, r.run_id, t.by_task_id, r.state, r.id FROM run_trigger t"
      " JOIN dag_run r ON r.id = t.by_run_pk WHERE t.run_pk = ?1"
      " UNION ALL"
      " SELECT 0, r.dag_id, r.run_id, t.by_task_id, r.state, r.id FROM run_trigger t"
      " JOIN dag_run r ON r.id = t.run_pk WHERE t.by_run_pk = ?1"
      " ORDER BY 1 DESC, 6";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_run_link *l = &(*out)[(*n)++];
    l->triggered_by = store_col_int(s, 0) != 0;
    l->dag_id = store_col_text(s, 1);
    l->run_id = store_col_text(s, 2);
    l->task_id = store_col_text(s, 3);
    const char *state = store_col_cstr(s, 4);
    if (!state || dag_run_state_parse(state, &l->state) != 0) l->state = DAG_RUN_FAILED;
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list run links");
}

void dag_store_run_links_free(struct dag_store_run_link *l, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(l[i].dag_id);
    free(l[i].run_id);
    free(l[i].task_id);
  }
  free(l);
}
