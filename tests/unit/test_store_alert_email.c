/* test_store_alert_email.c - migration 0015: the outbox takes the mails of
 * email tasks (kind 'email', with Cc). A database at the schema before it,
 * with an alert and a recipient's outcome, is opened by the store: both
 * rows are kept (SQLite rebuilds the tables), the recipient still goes
 * with its alert, and an email with its Cc is stored and read back. On
 * SQLite and on PostgreSQL. */
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

#define VERSION 15

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

/* The schema before migration VERSION, with one alert and its recipient. */
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
  raw_exec(db, "INSERT INTO alert (id, created_at, kind, dag_id, run_id, task_id, try_number,"
               " recipients, subject, body, state, attempts, next_attempt_at, sent_at)"
               " VALUES (5, 10, 'task_failed', 'd', 'r', 't', 1, '[\"a@example.com\"]',"
               " 'subj', 'body', 'sent', 1, 10, 20)");
  raw_exec(db, "INSERT INTO alert_recipient (alert_id, address, state, reply, updated_at)"
               " VALUES (5, 'a@example.com', 'sent', '250 ok', 20)");
}

static int64_t scalar(dag_store *st, const char *sql) {
  struct store_stmt *s = store_stmt(st, sql);
  assert_non_null(s);
  assert_int_equal(store_step(s), STORE_ROW);
  int64_t v = store_col_int(s, 0);
  store_reset(s);
  return v;
}

static void upgrade_keeps_the_outbox(void **state) {
  (void)state;
  struct store_test_db db;
  store_test_open(&db);
  old_database(&db);
  dag_store *st = NULL;
  char *err = NULL;
  if (dag_store_open(db.state, NULL, &st, &err) != 0) fail_msg("%s", err);

  struct dag_store_alert a;
  assert_int_equal(dag_store_get_alert(st, 5, &a), 0);
  assert_int_equal(a.kind, DAG_ALERT_TASK_FAILED);
  assert_int_equal(a.state, DAG_ALERT_SENT);
  assert_string_equal(a.recipients, "[\"a@example.com\"]");
  assert_null(a.cc);
  assert_int_equal(a.sent_at, 20);
  dag_store_alert_free(&a);
  struct dag_store_alert_rcpt *r = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_alert_recipients(st, 5, &r, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(r[0].address, "a@example.com");
  dag_store_alert_rcpts_free(r, n);

  /* An email task's mail, with its Cc. */
  struct dag_store_alert m = {.created_at = 30, .kind = DAG_ALERT_EMAIL, .dag_id = "d",
                              .run_id = "r", .task_id = "mail", .try_number = 1,
                              .recipients = "[\"to@example.com\"]", .subject = "s",
                              .body = "b", .next_attempt_at = 30,
                              .cc = "[\"cc@example.com\"]"};
  int64_t id = 0;
  assert_int_equal(dag_store_add_alert(st, &m, &id), 0);
  assert_int_equal(dag_store_get_alert(st, id, &a), 0);
  assert_int_equal(a.kind, DAG_ALERT_EMAIL);
  assert_string_equal(a.cc, "[\"cc@example.com\"]");
  dag_store_alert_free(&a);

  /* The recipients still belong to their alert: deleting it takes them. */
  struct store_stmt *s = store_stmt(st, "DELETE FROM alert WHERE id = 5");
  assert_non_null(s);
  assert_int_equal(store_step(s), STORE_DONE);
  store_reset(s);
  assert_int_equal(scalar(st, "SELECT count(*) FROM alert_recipient"), 0);

  dag_store_close(st);
  store_test_drop(&db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(upgrade_keeps_the_outbox),
  };
  return store_backends_run("store_alert_email", tests, DAG_ARRAY_SIZE(tests));
}
