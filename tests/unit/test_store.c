/* test_store.c - the store's transaction layer, on each backend: nesting,
 * a rollback inside a nested transaction, a database locked by another
 * connection; on SQLite a full disk, on PostgreSQL a password kept out of
 * messages, a schema newer than the binary and a server restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_fixture.h"
#include "store_int.h"

/* Whether row `id` exists, through a connection of its own. */
static bool row_exists(struct store_fixture *f, const char *id) {
  dag_store *other = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &other, &err), 0);
  struct dag_store_import_error *e = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_import_errors(other, &e, &n), 0);
  bool found = false;
  for (size_t i = 0; i < n; i++) found |= strcmp(e[i].filename, id) == 0;
  dag_store_import_errors_free(e, n);
  dag_store_close(other);
  return found;
}

/* A row written through the store: an import error named `id`. */
static int add_row(struct store_fixture *f, const char *id) {
  return dag_store_set_import_error(f->st, id, "broken", 1000);
}

static void nested_commit_commits_once(void **state) {
  struct store_fixture *f = *state;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "a"), 0);
  assert_int_equal(dag_store_commit(f->st), 0);
  assert_false(row_exists(f, "a")); /* the outer transaction is still open */
  assert_int_equal(dag_store_commit(f->st), 0);
  assert_true(row_exists(f, "a"));
}

/* An inner rollback dooms the whole transaction: the outer commit reports
 * it and writes nothing, not even what came after the rollback. */
static void inner_rollback_fails_outer_commit(void **state) {
  struct store_fixture *f = *state;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "before"), 0);
  assert_int_equal(dag_store_begin(f->st), 0);
  dag_store_rollback(f->st);
  assert_int_equal(add_row(f, "after"), 0);
  assert_int_not_equal(dag_store_commit(f->st), 0);
  assert_false(row_exists(f, "before"));
  assert_false(row_exists(f, "after"));
  /* The store is usable again. */
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "later"), 0);
  assert_int_equal(dag_store_commit(f->st), 0);
  assert_true(row_exists(f, "later"));
}

/* Another connection holds the lock a write needs (SQLite: the database's
 * write lock; PostgreSQL: the row's key, inserted and not yet committed).
 * Returns a handle to give to unlock(). */
static void *lock_elsewhere(struct store_fixture *f, const char *id) {
  if (store_test_kind == DAG_STORE_SQLITE) {
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->db.state, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return other;
  }
  PGconn *other = PQconnectdb(f->db.state);
  assert_int_equal(PQstatus(other), CONNECTION_OK);
  char *sql = xasprintf("BEGIN; INSERT INTO import_error VALUES ('%s', 1, 'held')", id);
  PGresult *r = PQexec(other, sql);
  free(sql);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  return other;
}

static void unlock(void *other) {
  if (store_test_kind == DAG_STORE_SQLITE) {
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    return;
  }
  PGresult *r = PQexec(other, "ROLLBACK");
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  PQfinish(other);
}

/* Another connection holds the lock: the write says so (after the busy
 * timeout) with DAG_ELOCKED, changes nothing, reads go on, and it works
 * once the lock is gone. */
static void locked_store_is_a_wait(void **state) {
  struct store_fixture *f = *state;
  void *other = lock_elsewhere(f, "a");
  dag_store_set_busy_timeout(f->st, 1);
  if (store_test_kind == DAG_STORE_SQLITE) assert_int_equal(dag_store_begin(f->st), DAG_ELOCKED);
  assert_int_equal(add_row(f, "a"), DAG_ELOCKED);
  /* Reads go on beside the writer (WAL; MVCC). */
  struct dag_store_dag *dags = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_dags(f->st, &dags, &n), 0);
  dag_store_dags_free(dags, n);
  unlock(other);
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "a"), 0);
  assert_int_equal(dag_store_commit(f->st), 0);
  assert_true(row_exists(f, "a"));
}

/* On PostgreSQL any failed statement ends the server's transaction, a
 * lock timeout among them: the transaction is doomed even if the caller
 * goes on, and the store is usable once it has rolled back. */
static void pg_failure_dooms_the_transaction(void **state) {
  struct store_fixture *f = *state;
  void *other = lock_elsewhere(f, "held");
  dag_store_set_busy_timeout(f->st, 1);
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "small"), 0);
  assert_int_equal(add_row(f, "held"), DAG_ELOCKED); /* ... and the caller goes on */
  assert_int_equal(dag_store_commit(f->st), DAG_ELOCKED);
  unlock(other);
  assert_false(row_exists(f, "small"));
  assert_int_equal(add_row(f, "later"), 0);
  assert_true(row_exists(f, "later"));
}

/* A full database: -ENOSPC with SQLite's own message, which the rollback
 * that follows does not replace ("cannot rollback - no transaction is
 * active" used to hide "database or disk is full"). */
static void full_store_says_so(void **state) {
  struct store_fixture *f = *state;
  char big[2048];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(sqlite3_exec((sqlite3 *)f->st->conn, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
                   SQLITE_OK);
  int rc = 0;
  assert_int_equal(dag_store_begin(f->st), 0);
  for (int i = 0; i < 1000 && rc == 0; i++) {
    char id[16];
    snprintf(id, sizeof(id), "f%d", i);
    rc = dag_store_set_import_error(f->st, id, big, 1000);
  }
  assert_int_equal(rc, -ENOSPC);
  dag_store_rollback(f->st);
  assert_non_null(strstr(dag_store_errmsg(f->st), "full"));
  assert_string_equal(dag_strerror(rc), "No space left on device");
}

/* A failure inside a transaction that its caller did not pass on (the
 * alert outbox logs and goes on) still fails the transaction: an alert is
 * stored if and only if its cause is. A taken key (a constraint) is the
 * exception: callers retry with another id inside the transaction. */
static void ignored_failure_fails_the_commit(void **state) {
  struct store_fixture *f = *state;
  char big[2048];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(sqlite3_exec((sqlite3 *)f->st->conn, "PRAGMA max_page_count = 1", NULL, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "small"), 0);
  int rc = 0;
  for (int i = 0; i < 1000 && rc == 0; i++) {
    char id[16];
    snprintf(id, sizeof(id), "f%d", i);
    rc = dag_store_set_import_error(f->st, id, big, 1000);
  }
  assert_int_equal(rc, -ENOSPC); /* ... and the caller goes on */
  assert_int_equal(dag_store_commit(f->st), -ENOSPC);
  assert_false(row_exists(f, "small"));
}

/* A password given apart from the URL opens the database and appears in
 * no message, not even when the server refuses it; a URL holding one is
 * refused without repeating it. */
static void pg_password_stays_secret(void **state) {
  struct store_fixture *f = *state;
  static const char secret[] = "s3cr3t-Pa55";
  char *in_url = xasprintf("postgresql://dagctl_pw:%s@localhost/x", secret);
  dag_store *st = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(in_url, NULL, &st, &err), DAG_EINVAL);
  assert_null(strstr(err, secret));
  free(err);
  err = NULL;
  free(in_url);
  /* The rest rewrites the server's pg_hba.conf: only on the test's own. */
  if (!store_test_pg_private) return;

  char *sql = xasprintf("CREATE ROLE dagctl_pw LOGIN PASSWORD '%s'; "
                        "GRANT ALL ON SCHEMA public TO dagctl_pw; "
                        "GRANT ALL ON ALL TABLES IN SCHEMA public TO dagctl_pw; "
                        "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO dagctl_pw",
                        secret);
  PGconn *admin = PQconnectdb(f->db.state);
  PGresult *r = PQexec(admin, sql);
  free(sql);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  /* The test server trusts its socket: make it ask for the password. */
  r = PQexec(admin, "SELECT current_setting('hba_file')");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  char *hba = xstrdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  FILE *fp = fopen(hba, "w");
  if (!fp) fail_msg("%s: cannot rewrite the server's pg_hba.conf", hba);
  fputs("local all dagctl_pw scram-sha-256\nlocal all all trust\n", fp);
  fclose(fp);
  r = PQexec(admin, "SELECT pg_reload_conf()");
  PQclear(r);

  char *url = store__url_with_db(f->db.state, f->db.db);
  char *as_pw = NULL;
  {
    /* user=postgres in the query gives way to our role. */
    const char *q = strstr(url, "user=postgres");
    if (q)
      as_pw = xasprintf("%.*suser=dagctl_pw%s", (int)(q - url), url, q + strlen("user=postgres"));
    else
      as_pw = xasprintf("%s%suser=dagctl_pw", url, strchr(url, '?') ? "&" : "?");
  }
  struct dag_store_options bad = {.password = "wrong-" "s3cr3t-Pa55"};
  assert_int_not_equal(dag_store_open(as_pw, &bad, &st, &err), 0);
  assert_non_null(err);
  assert_null(strstr(err, "wrong-"));
  assert_null(strstr(err, secret));
  assert_non_null(strstr(err, "password authentication failed"));
  free(err);
  err = NULL;

  struct dag_store_options good = {.password = secret};
  assert_int_equal(dag_store_open(as_pw, &good, &st, &err), 0);
  assert_null(strstr(dag_store_where(st), secret));
  assert_int_equal(dag_store_ping(st), 0);
  dag_store_close(st);

  fp = fopen(hba, "w");
  assert_non_null(fp);
  fputs("local all all trust\n", fp);
  fclose(fp);
  r = PQexec(admin, "SELECT pg_reload_conf()");
  PQclear(r);
  PQfinish(admin);
  free(hba);
  free(as_pw);
  free(url);
}

/* A database migrated by a newer dagctl is refused, by a writer and by a
 * reader, with a message that says what to do. */
static void newer_schema_is_refused(void **state) {
  struct store_fixture *f = *state;
  assert_int_equal(dag_store_set_import_error(f->st, "x", "y", 1), 0);
  dag_store_close(f->st);
  f->st = NULL;
  if (store_test_kind == DAG_STORE_SQLITE) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db.state, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (9999, 'x', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
  } else {
    PGconn *c = PQconnectdb(f->db.state);
    PGresult *r = PQexec(c, "INSERT INTO schema_migrations VALUES (9999, 'x', 0)");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
  }
  char *err = NULL;
  dag_store *st = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &st, &err), DAG_ESCHEMA);
  assert_non_null(strstr(err, "schema version 9999 is newer than this dagctl"));
  free(err);
  struct dag_store_options ro = {.readonly = true};
  assert_int_equal(dag_store_open(f->db.state, &ro, &st, &err), DAG_ESCHEMA);
  assert_non_null(strstr(err, "newer than this dagctl"));
  free(err);
}

/* After a server restart, a transaction reaches the server again: the
 * first call may fail (its connection was cut), the next must not. The
 * BEGIN is the first statement to meet the cut connection, so its failure
 * is the one that must reconnect. */
static void pg_restart_reconnects_a_transaction(void **state) {
  struct store_fixture *f = *state;
  assert_int_equal(add_row(f, "before"), 0); /* statements prepared on the old connection */
  store_test_pg_restart(f->db.db);
  int failed = 0;
  for (int i = 0; i < 3; i++) {
    char id[16];
    snprintf(id, sizeof(id), "after%d", i);
    int rc = dag_store_begin(f->st);
    if (rc == 0) {
      rc = add_row(f, id);
      int crc = dag_store_commit(f->st);
      if (rc == 0) rc = crc;
    }
    if (rc != 0) {
      assert_true(rc == DAG_ESTORE || rc == DAG_ELOCKED);
      failed++;
      continue;
    }
    assert_true(row_exists(f, id));
  }
  assert_in_range(failed, 0, 1);
  assert_true(row_exists(f, "before"));
}

/* The session's settings come back with the connection: a lock timeout
 * lost to a restart would turn a busy row into a wait without end. */
static void pg_restart_keeps_the_session_settings(void **state) {
  struct store_fixture *f = *state;
  static const char show_lock[] = "SHOW lock_timeout";
  static const char show_tz[] = "SHOW TimeZone";
  dag_store_set_busy_timeout(f->st, 1234);
  store_test_pg_restart(f->db.db);
  if (dag_store_ping(f->st) != 0) assert_int_equal(dag_store_ping(f->st), 0);
  struct store_stmt *s = store_stmt(f->st, show_lock);
  assert_non_null(s);
  assert_int_equal(store_step(s), STORE_ROW);
  assert_string_equal(store_col_cstr(s, 0), "1234ms");
  store_reset(s);
  s = store_stmt(f->st, show_tz);
  assert_non_null(s);
  assert_int_equal(store_step(s), STORE_ROW);
  assert_string_equal(store_col_cstr(s, 0), "UTC");
  store_reset(s);
}

/* --- a run created by two schedulers at once ------------------------------------- */

struct racer {
  dag_store *st;
  const char *run_id;
  bool suffix;
  int rc;
  char *used;
};

static int create_run_named(dag_store *st, const char *run_id, bool suffix, char **used) {
  struct dag_store_run run = {.dag_id = "d", .run_id = (char *)run_id, .run_type = "scheduled",
                              .logical_date = 1000, .data_interval_start = 1000,
                              .data_interval_end = 2000, .conf = "{}", .queued_at = 1000};
  const char *tasks[] = {"a"};
  int tries[] = {0};
  int64_t pk = 0;
  return dag_store_create_run(st, &run, tasks, tries, 1, suffix, &pk, used);
}

static void *race(void *arg) {
  struct racer *r = arg;
  r->rc = create_run_named(r->st, r->run_id, r->suffix, &r->used);
  return NULL;
}

/* Whether a session of the test's database waits for a lock. */
static bool someone_waits(const char *db) {
  char *url = store__url_with_db(store_test_pg_url, db);
  PGconn *c = PQconnectdb(url);
  free(url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, "SELECT count(*) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND wait_event_type = 'Lock'");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  bool waits = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
  PQclear(r);
  PQfinish(c);
  return waits;
}

/* Two schedulers create the same run at once: neither sees the other's
 * uncommitted row when it checks, and the second one's INSERT waits for
 * the first to commit. It is then told the run exists (or, asked for a
 * suffix, gets one), and its own transaction goes on: what it wrote
 * before stays and commits. */
static void pg_concurrent_create_run(void **state) {
  struct store_fixture *f = *state;
  for (int suffix = 0; suffix < 2; suffix++) {
    dag_store *other = NULL;
    char *err = NULL;
    assert_int_equal(dag_store_open(f->db.state, NULL, &other, &err), 0);
    char first[16], before[16];
    snprintf(first, sizeof(first), "r%d", suffix);
    snprintf(before, sizeof(before), "before%d", suffix);
    assert_int_equal(dag_store_begin(other), 0);
    assert_int_equal(create_run_named(other, before, false, NULL), 0);
    assert_int_equal(dag_store_begin(f->st), 0);
    assert_int_equal(create_run_named(f->st, first, false, NULL), 0);
    struct racer r = {.st = other, .run_id = first, .suffix = suffix};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, race, &r), 0);
    for (int i = 0; i < 200 && !someone_waits(f->db.db); i++) usleep(50000);
    assert_true(someone_waits(f->db.db));
    assert_int_equal(dag_store_commit(f->st), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (suffix) {
      assert_int_equal(r.rc, 0);
      char want[24];
      snprintf(want, sizeof(want), "%s_2", first);
      assert_string_equal(r.used, want);
    } else {
      assert_int_equal(r.rc, DAG_EEXIST);
    }
    free(r.used);
    assert_int_equal(dag_store_commit(other), 0);
    struct dag_store_run row;
    assert_int_equal(dag_store_get_run(f->st, "d", before, &row), 0);
    dag_store_run_free(&row);
    dag_store_close(other);
  }
}

/* The SQLite-only cases run in the SQLite group only. */
#define SQLITE_ONLY(name)                                                       \
  static void name##_on_sqlite(void **state) {                                  \
    if (store_test_kind == DAG_STORE_SQLITE) name(state);                       \
  }
#define PG_ONLY(name)                                                           \
  static void name##_on_pg(void **state) {                                      \
    if (store_test_kind == DAG_STORE_POSTGRESQL) name(state);                   \
  }
SQLITE_ONLY(full_store_says_so)
SQLITE_ONLY(ignored_failure_fails_the_commit)
PG_ONLY(pg_failure_dooms_the_transaction)
PG_ONLY(pg_password_stays_secret)
PG_ONLY(pg_restart_reconnects_a_transaction)
PG_ONLY(pg_restart_keeps_the_session_settings)
PG_ONLY(pg_concurrent_create_run)

int main(void) {
#define T(name) STORE_TEST(name)
  const struct CMUnitTest tests[] = {
      T(nested_commit_commits_once),
      T(inner_rollback_fails_outer_commit),
      T(locked_store_is_a_wait),
      T(newer_schema_is_refused),
      T(full_store_says_so_on_sqlite),
      T(ignored_failure_fails_the_commit_on_sqlite),
      T(pg_failure_dooms_the_transaction_on_pg),
      T(pg_password_stays_secret_on_pg),
      T(pg_restart_reconnects_a_transaction_on_pg),
      T(pg_restart_keeps_the_session_settings_on_pg),
      T(pg_concurrent_create_run_on_pg),
  };
  return store_backends_run("store", tests, DAG_ARRAY_SIZE(tests));
}
