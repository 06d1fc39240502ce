/* store_audit.c - the audit log (see store_audit.h). */
#include "store_audit.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

int dag_store_audit_add(dag_store *st, const struct dag_audit_entry *e) {
  static const char sql[] =
      "INSERT INTO audit_log (at, username, client, event, dag_id, run_id, task_id, object,"
      " outcome, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, e->at);
  store_bind_text(s, 2, e->username);
  store_bind_text(s, 3, e->client);
  store_bind_text(s, 4, e->event);
  store_bind_text(s, 5, e->dag_id);
  store_bind_text(s, 6, e->run_id);
  store_bind_text(s, 7, e->task_id);
  store_bind_text(s, 8, e->object);
  store_bind_text(s, 9, e->outcome);
  store_bind_text(s, 10, e->extra);
  return store_step_done(st, s, "add audit entry");
}

int dag_store_audit_list(dag_store *st, const char *username, dag_time_t since, int64_t limit,
                         int64_t offset, struct dag_audit_entry **out, size_t *n,
                         int64_t *total) {
  static const char sql[] =
      "SELECT id, at, username, client, event, dag_id, run_id, task_id, object, outcome, extra,"
      " count(*) OVER () FROM audit_log WHERE (?1 IS NULL OR username = ?1) AND at >= ?2"
      " ORDER BY id LIMIT ?3 OFFSET ?4";
  static const char sql_pg[] =
      "SELECT id, at, username, client, event, dag_id, run_id, task_id, object, outcome, extra,"
      " count(*) OVER () FROM audit_log WHERE (?1::text IS NULL OR username = ?1)"
      " AND at >= ?2::bigint ORDER BY id LIMIT ?3::bigint OFFSET ?4::bigint";
  *out = NULL;
  *n = 0;
  *total = 0;
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, username);
  store_bind_int64(s, 2, since);
  store_bind_int64(s, 3, limit);
  store_bind_int64(s, 4, offset);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_audit_entry *e = &(*out)[(*n)++];
    e->id = store_col_int(s, 0);
    e->at = store_col_int(s, 1);
    e->username = store_col_text(s, 2);
    e->client = store_col_text(s, 3);
    e->event = store_col_text(s, 4);
    e->dag_id = store_col_text(s, 5);
    e->run_id = store_col_text(s, 6);
    e->task_id = store_col_text(s, 7);
    e->object = store_col_text(s, 8);
    e->outcome = store_col_text(s, 9);
    e->extra = store_col_text(s, 10);
    *total = store_col_int(s, 11);
  }
  store_reset(s);
  if (rc != STORE_DONE) return store_fail(st, "list audit entries");
  if (*n == 0 && offset > 0) {
    /* Past the end: the count still matters to a pager. */
    static const char count[] =
        "SELECT count(*) FROM audit_log WHERE (?1 IS NULL OR username = ?1) AND at >= ?2";
    static const char count_pg[] =
        "SELECT count(*) FROM audit_log WHERE (?1::text IS NULL OR username = ?1)"
        " AND at >= ?2::bigint";
    struct store_stmt *c = store_stmt2(st, count, count_pg);
    if (!c) return DAG_ESTORE;
    store_bind_text(c, 1, username);
    store_bind_int64(c, 2, since);
    if ((rc = store_step(c)) == STORE_ROW) *total = store_col_int(c, 0);
    store_reset(c);
    if (rc != STORE_ROW) return store_fail(st, "count audit entries");
  }
  return 0;
}

void dag_store_audit_free(struct dag_audit_entry *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(e[i].username);
    free(e[i].client);
    free(e[i].event);
    free(e[i].dag_id);
    free(e[i].run_id);
    free(e[i].task_id);
    free(e[i].object);
    free(e[i].outcome);
    free(e[i].extra);
  }
  free(e);
}
