/* test_store.c - the SQLite store's transaction layer: nesting, a
 * rollback inside a nested transaction, a database locked by another
 * connection, a full disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_int.h"

struct fixture {
  char dir[64];
  char *path;
  dag_store *st;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/dagctl-store-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->path = xasprintf("%s/dagctl.db", f->dir);
  char *err = NULL;
  assert_int_equal(dag_store_open(f->path, NULL, &f->st, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dag_store_close(f->st);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(f->path);
  free(f);
  return 0;
}

/* Whether row `id` exists, through a connection of its own. */
static bool row_exists(struct fixture *f, const char *id) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  sqlite3_stmt *s = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM import_error WHERE filename = ?", -1, &s, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  bool found = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return found;
}

/* A row written through the store: an import error named `id`. */
static int add_row(struct fixture *f, const char *id) {
  return dag_store_set_import_error(f->st, id, "broken", 1000);
}

static void nested_commit_commits_once(void **state) {
  struct fixture *f = *state;
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
  struct fixture *f = *state;
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

/* Another connection holds the write lock: begin says so at once (after
 * the busy timeout), changes nothing, and works once the lock is gone. */
static void locked_store_is_a_wait(void **state) {
  struct fixture *f = *state;
  sqlite3 *other = NULL;
  assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  dag_store_set_busy_timeout(f->st, 1);
  assert_int_equal(dag_store_begin(f->st), DAG_ELOCKED);
  assert_int_equal(add_row(f, "autocommit"), DAG_ELOCKED);
  /* Reads go on beside the writer (WAL). */
  struct dag_store_dag *dags = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_dags(f->st, &dags, &n), 0);
  dag_store_dags_free(dags, n);
  assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(other);
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(add_row(f, "a"), 0);
  assert_int_equal(dag_store_commit(f->st), 0);
  assert_true(row_exists(f, "a"));
}

/* A full database: -ENOSPC with SQLite's own message, which the rollback
 * that follows does not replace ("cannot rollback - no transaction is
 * active" used to hide "database or disk is full"). */
static void full_store_says_so(void **state) {
  struct fixture *f = *state;
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
  struct fixture *f = *state;
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(nested_commit_commits_once, setup, teardown),
      cmocka_unit_test_setup_teardown(inner_rollback_fails_outer_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(locked_store_is_a_wait, setup, teardown),
      cmocka_unit_test_setup_teardown(full_store_says_so, setup, teardown),
      cmocka_unit_test_setup_teardown(ignored_failure_fails_the_commit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
