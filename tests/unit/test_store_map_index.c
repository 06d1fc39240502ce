/* test_store_map_index.c - migration 0017: task instances, tries, XComs and
 * claims keyed by (run, task, map_index). A database at the schema before
 * it, with rows in each table, is opened by the store: every row keeps its
 * values with map_index -1, two instances of one task may differ by
 * map_index only, the upserts keyed by the new keys work, and what the
 * store reads carries map_index. On SQLite and on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "alloc.h"
#include "error.h"
#include "migrations.h"
#include "store.h"
#include "store_backends.h"
#include "store_int.h"

#define VERSION 17

/* Run `sql` (several statements) on the test database, directly. */
static void raw_exec(const struct store_test_db *db, const char *sql) {
  if (store_test_kind == DAG_STORE_SQLITE) {
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db->state, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
    sqlite3_close(h);
    return;
  }
  PGconn *c = PQconnectdb(db->state);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

/* The schema as it was before migration VERSION, with one run, two task
 * instances, their tries, an XCom and a claim. */
static void old_database(const struct store_test_db *db) {
  bool pg = store_test_kind == DAG_STORE_POSTGRESQL;
  raw_exec(db, pg ? "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
                  : "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  for (unsigned i = 0; i < dag_migrations_count && dag_migrations[i].version < VERSION; i++) {
    const struct dag_migration *m = &dag_migrations[i];
    char *sql = !pg ? xstrdup(m->sql) : m->pg_sql ? xstrdup(m->pg_sql) : store_pg_translate_ddl(m->sql);
    raw_exec(db, sql);
    free(sql);
    char *ins = xasprintf("INSERT INTO schema_migrations VALUES (%d, '%s', 0)", m->version,
                          m->name);
    raw_exec(db, ins);
    free(ins);
  }
  raw_exec(db, "INSERT INTO dag (dag_id, fileloc) VALUES ('d', 'd.yaml')");
}

static void old_rows(const struct store_test_db *db) {
  raw_exec(db, "INSERT INTO dag_run (id, dag_id, run_id, run_type, state, logical_date,"
               " data_interval_start, data_interval_end, queued_at)"
               " VALUES (7, 'd', 'r1', 'manual', 'running', 1, 1, 2, 1)");
  raw_exec(db, "INSERT INTO task_instance (run_pk, task_id, state, try_number, max_tries, error)"
               " VALUES (7, 'a', 'success', 1, 2, NULL), (7, 'b', 'failed', 2, 1, 'boom')");
  raw_exec(db, "INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, end_date,"
               " log_path, max_rss_kb) VALUES (7, 'a', 1, 'success', 10, 20, 'd/r1/a/1.log', 64),"
               " (7, 'b', 1, 'failed', 10, 20, 'd/r1/b/1.log', NULL),"
               " (7, 'b', 2, 'failed', 30, 40, 'd/r1/b/2.log', NULL)");
  raw_exec(db, "INSERT INTO xcom (run_pk, task_id, key, value, timestamp)"
               " VALUES (7, 'a', 'return_value', '\"x\"', 5)");
  raw_exec(db, "INSERT INTO task_claim (id, run_pk, task_id, try_number, queue, task_type,"
               " log_path, state, queued_at) VALUES (3, 7, 'b', 2, 'default', 'shell',"
               " 'd/r1/b/2.log', 'recorded', 30)");
}

static int64_t scalar(dag_store *st, const char *sql) {
  struct store_stmt *s = store_stmt(st, sql);
  assert_non_null(s);
  assert_int_equal(store_step(s), STORE_ROW);
  int64_t v = store_col_int(s, 0);
  store_reset(s);
  return v;
}

static int exec_one(dag_store *st, const char *sql) {
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc = store_step(s);
  store_reset(s);
  return rc == STORE_DONE ? 0 : DAG_ESTORE;
}

static void upgrade_keeps_rows(void **state) {
  (void)state;
  struct store_test_db db;
  store_test_open(&db);
  old_database(&db);
  old_rows(&db);
  dag_store *st = NULL;
  char *err = NULL;
  if (dag_store_open(db.state, NULL, &st, &err) != 0) fail_msg("%s", err);

  /* Every row is kept, as a task's only instance. */
  assert_int_equal(scalar(st, "SELECT count(*) FROM task_instance WHERE map_index = -1"), 2);
  assert_int_equal(scalar(st, "SELECT count(*) FROM task_try WHERE map_index = -1"), 3);
  assert_int_equal(scalar(st, "SELECT count(*) FROM xcom WHERE map_index = -1"), 1);
  assert_int_equal(scalar(st, "SELECT count(*) FROM task_claim WHERE map_index = -1 AND id = 3"),
                   1);
  assert_int_equal(scalar(st, "SELECT max_rss_kb FROM task_try WHERE task_id = 'a'"), 64);
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(st, 7, &tis, &n), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(tis[i].map_index, -1);
    if (strcmp(tis[i].task_id, "b") == 0) {
      assert_int_equal(tis[i].state, DAG_TI_FAILED);
      assert_int_equal(tis[i].try_number, 2);
      assert_string_equal(tis[i].error, "boom");
    } else {
      assert_true(tis[i].usage.known);
      assert_int_equal(tis[i].usage.max_rss_kb, 64);
    }
  }
  dag_store_tis_free(tis, n);

  /* The new keys: instances of one task differ by map_index only. */
  assert_int_equal(exec_one(st, "INSERT INTO task_instance (run_pk, task_id, map_index)"
                                " VALUES (7, 'a', 0), (7, 'a', 1)"), 0);
  assert_int_not_equal(exec_one(st, "INSERT INTO task_instance (run_pk, task_id)"
                                    " VALUES (7, 'a')"), 0);
  assert_int_equal(exec_one(st, "INSERT INTO task_try (run_pk, task_id, map_index, try_number,"
                                " state, start_date, log_path)"
                                " VALUES (7, 'a', 0, 1, 'running', 50, 'x')"), 0);
  assert_int_equal(exec_one(st, "INSERT INTO task_claim (run_pk, task_id, map_index,"
                                " try_number, queue, task_type, log_path, queued_at)"
                                " VALUES (7, 'b', 0, 2, 'default', 'shell', 'x', 1)"), 0);
  /* The store's upserts name the new keys. */
  assert_int_equal(dag_store_xcom_push(st, 7, "a", -1, "return_value", "\"y\"", 9), 0);
  struct dag_store_xcom *x = NULL;
  assert_int_equal(dag_store_xcom_list_task(st, 7, "a", NULL, &x, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(x[0].value, "\"y\"");
  assert_int_equal(x[0].map_index, -1);
  assert_int_equal(x[0].timestamp, 9);
  dag_store_xcoms_free(x, n);
  assert_int_equal(dag_store_ti_start_try(st, 7, "b", -1, 3, 60, 0, 0, "d/r1/b/3.log"), 0);
  assert_int_equal(scalar(st, "SELECT count(*) FROM task_try WHERE task_id = 'b'"), 3);

  dag_store_close(st);
  store_test_drop(&db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(upgrade_keeps_rows),
  };
  return store_backends_run("store_map_index", tests, DAG_ARRAY_SIZE(tests));
}
