/* store_deadline.c - the claims of missed deadlines (store_deadline.h). */
#include "store_deadline.h"

#include "error.h"
#include "store_int.h"

int dag_store_deadline_claim(dag_store *st, int64_t run_pk, dag_time_t deadline, dag_time_t now,
                             bool *claimed) {
  /* The WHERE also keeps SQLite from reading ON CONFLICT as a join's. */
  static const char sql[] =
      "INSERT INTO deadline (run_pk, deadline_time, missed_at)"
      " SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), CAST(?3 AS BIGINT)"
      " WHERE EXISTS (SELECT 1 FROM dag_run WHERE id = ?1 AND state IN ('queued', 'running'))"
      " ON CONFLICT (run_pk) DO NOTHING RETURNING run_pk";
  *claimed = false;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_int64(s, 2, deadline);
  store_bind_int64(s, 3, now);
  store_guard(st);
  int rc = store_step(s);
  if (rc == STORE_ROW) {
    *claimed = true;
    /* RETURNING's row read; the statement must still run to its end. */
    rc = store_step(s);
  }
  store_reset(s);
  rc = rc == STORE_DONE ? 0 : store_fail(st, "claim a missed deadline");
  store_unguard(st, rc == 0);
  return rc;
}

int dag_store_deadline_missed(dag_store *st, int64_t run_pk, bool *missed) {
  struct store_stmt *s = store_stmt(st, "SELECT 1 FROM deadline WHERE run_pk = ?");
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  int rc = store_step(s);
  *missed = rc == STORE_ROW;
  store_reset(s);
  return rc == STORE_ROW || rc == STORE_DONE ? 0 : store_fail(st, "read a missed deadline");
}
