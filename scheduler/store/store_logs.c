/* store_logs.c - where a worker's finished logs were copied
 * (worker.remote_logging; store.h). */
#include <stdlib.h>

#include "error.h"
#include "store_int.h"

int dag_store_claim_set_log_archive(dag_store *st, int64_t claim_id, const char *base) {
  static const char sql[] = "UPDATE task_claim SET log_archive = ? WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, base);
  store_bind_int64(s, 2, claim_id);
  int rc = store_step(s);
  store_reset(s);
  if (rc != STORE_DONE) return store_fail(st, "record a log's copy");
  return store_changes(st) > 0 ? 0 : DAG_ENOTFOUND;
}

int dag_store_claim_log_archive(dag_store *st, int64_t run_pk, const char *task_id,
                                int try_number, char **base) {
  static const char sql[] = "SELECT log_archive FROM task_claim"
                            " WHERE run_pk = ? AND task_id = ? AND try_number = ?";
  *base = NULL;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, try_number);
  int rc = store_step(s);
  if (rc == STORE_ROW) *base = store_col_text(s, 0);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "log copy of a try");
}
