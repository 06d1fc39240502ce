/* test_warehouse.c - the SQLite warehouse: schemas, queries, appenders, swaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "wh.h"

struct fx {
  char dir[64];
  char *url;
  struct wh *w;
};

static int setup(void **state) {
  struct fx *f = xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_wh.XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  f->url = xasprintf("%s/warehouse.db", f->dir);
  char *err = NULL;
  struct wh_options o = {.url = f->url};
  if (wh_open(&o, &f->w, &err) != 0) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  wh_close(f->w);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", f->dir);
  free(cmd);
  free(f->url);
  free(f);
  return 0;
}

static char *value(struct wh *w, const char *sql) {
  char *v = NULL, *err = NULL;
  int rc = wh_query_value(w, sql, NULL, 0, &v, &err);
  if (rc != 0) fail_msg("%s: %s", sql, err);
  return v;
}

static void assert_value(struct wh *w, const char *sql, const char *want) {
  char *v = value(w, sql);
  if (want == NULL) {
    assert_null(v);
  } else {
    if (v == NULL) fail_msg("%s: NULL, want %s", sql, want);
    assert_string_equal(v, want);
  }
  free(v);
}

static void exec_ok(struct wh *w, const char *sql) {
  char *err = NULL;
  if (wh_exec(w, sql, &err) != 0) fail_msg("%s: %s", sql, err);
}

static void test_schemas_are_files_beside_the_main_one(void **state) {
  struct fx *f = *state;
  const char *names[] = {"bronze", "silver", "gold"};
  for (int i = 0; i < 3; i++) {
    char *p = xasprintf("%s/warehouse_%s.db", f->dir, names[i]);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    free(p);
  }
  exec_ok(f->w, "CREATE TABLE gold.t (a INTEGER); INSERT INTO gold.t VALUES (7)");
  assert_value(f->w, "SELECT a FROM gold.t", "7");
  assert_int_equal(wh_backend(f->w), WH_SQLITE);
  assert_string_equal(wh_describe(f->w), f->url);
  /* Each schema file is in WAL mode. */
  assert_value(f->w, "PRAGMA gold.journal_mode", "wal");

  /* A new schema on demand, idempotently. */
  char *err = NULL;
  assert_int_equal(wh_ensure_schema(f->w, "staging", &err), 0);
  assert_int_equal(wh_ensure_schema(f->w, "staging", &err), 0);
  exec_ok(f->w, "CREATE TABLE staging.x (a TEXT)");
  assert_int_equal(wh_ensure_schema(f->w, "bad name", &err), DAG_EINVAL);
  assert_non_null(strstr(err, "bad name"));
  free(err);
}

static void test_reopen_sees_committed_data(void **state) {
  struct fx *f = *state;
  exec_ok(f->w, "CREATE TABLE silver.s (a TEXT); INSERT INTO silver.s VALUES ('kept')");
  wh_close(f->w);
  char *err = NULL;
  struct wh_options o = {.url = f->url};
  assert_int_equal(wh_open(&o, &f->w, &err), 0);
  assert_value(f->w, "SELECT a FROM silver.s", "kept");
}

/* A reader sees the writer's data, writes nothing, and creates no file. */
static void test_read_only_open(void **state) {
  struct fx *f = *state;
  exec_ok(f->w, "CREATE TABLE gold.g (a TEXT); INSERT INTO gold.g VALUES ('seen')");
  struct wh *r = NULL;
  char *err = NULL;
  struct wh_options o = {.url = f->url, .read_only = true};
  assert_int_equal(wh_open(&o, &r, &err), 0);
  assert_value(r, "SELECT a FROM gold.g", "seen");
  assert_int_equal(wh_exec(r, "INSERT INTO gold.g VALUES ('written')", &err), DAG_ESTORE);
  assert_non_null(strstr(err, "readonly"));
  free(err);
  err = NULL;
  assert_int_equal(wh_exec(r, "CREATE TABLE gold.h (a TEXT)", &err), DAG_ESTORE);
  free(err);
  err = NULL;
  /* The writer's later commit is seen by the open reader. */
  exec_ok(f->w, "INSERT INTO gold.g VALUES ('later')");
  assert_value(r, "SELECT count(*) FROM gold.g", "2");
  wh_close(r);

  /* A warehouse that does not exist yet is an error, never created. */
  char *missing = xasprintf("%s/none.db", f->dir);
  struct wh_options m = {.url = missing, .read_only = true};
  r = NULL;
  assert_int_equal(wh_open(&m, &r, &err), DAG_ESTORE);
  assert_null(r);
  assert_non_null(strstr(err, "none.db"));
  free(err);
  struct stat st;
  assert_int_equal(stat(missing, &st), -1);
  free(missing);
}

struct rows {
  int n;
  char seen[256];
};

static int collect(void *ud, int ncols, const char *const *names, const char *const *vals) {
  struct rows *r = ud;
  r->n++;
  size_t len = strlen(r->seen);
  for (int i = 0; i < ncols; i++) {
    snprintf(r->seen + len, sizeof(r->seen) - len, "%s%s=%s", i ? "," : (r->n > 1 ? ";" : ""),
             names[i], vals[i] ? vals[i] : "NULL");
    len = strlen(r->seen);
  }
  return r->n >= 2; /* stop after two rows */
}

static void test_query_params_and_early_stop(void **state) {
  struct fx *f = *state;
  exec_ok(f->w, "CREATE TABLE gold.p (k TEXT, v INTEGER);"
                "INSERT INTO gold.p VALUES ('a', 1), ('b', NULL), ('c', 3), ('d', 4)");
  struct rows r = {0, ""};
  char *err = NULL;
  const char *params[] = {"a"};
  assert_int_equal(wh_query(f->w, "SELECT k, v FROM gold.p WHERE k >= $1 ORDER BY k", params,
                            1, collect, &r, &err),
                   0);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.seen, "k=a,v=1;k=b,v=NULL");

  /* $2 before $1, and a NULL parameter. */
  const char *p2[] = {"x", NULL};
  char *v = NULL;
  assert_int_equal(wh_query_value(f->w, "SELECT COALESCE($2, 'none') || $1", p2, 2, &v, &err),
                   0);
  assert_string_equal(v, "nonex");
  free(v);

  assert_int_equal(wh_query_value(f->w, "SELECT k FROM gold.p WHERE k = 'zz'", NULL, 0, &v, &err),
                   DAG_ENOTFOUND);
  free(err);
  err = NULL;
  assert_int_equal(wh_query(f->w, "SELECT nope FROM gold.p", NULL, 0, NULL, NULL, &err),
                   DAG_ESTORE);
  assert_non_null(strstr(err, "no such column: nope"));
  free(err);
}

static void test_appender_and_rollback(void **state) {
  struct fx *f = *state;
  exec_ok(f->w, "CREATE TABLE bronze.t (s TEXT, i BIGINT, n TEXT)");
  const char *cols[] = {"s", "i", "n"};
  char *err = NULL;
  struct wh_appender *a;
  assert_int_equal(wh_begin(f->w, &err), 0);
  assert_int_equal(wh_append_begin(f->w, "bronze.t", cols, 3, &a, &err), 0);
  for (int i = 0; i < 1000; i++) {
    wh_append_text(a, 0, "abcdef", 3); /* only the first 3 bytes */
    wh_append_int(a, 1, (int64_t)i * 1000000000);
    assert_int_equal(wh_append_row(a, &err), 0);
  }
  assert_int_equal(wh_append_end(a, &err), 0);
  assert_int_equal(wh_commit(f->w, &err), 0);
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.t WHERE s = 'abc' AND n IS NULL", "1000");
  assert_value(f->w, "SELECT MAX(i) FROM bronze.t", "999000000000");

  /* Rolled back rows are gone. */
  assert_int_equal(wh_begin(f->w, &err), 0);
  assert_int_equal(wh_append_begin(f->w, "bronze.t", cols, 3, &a, &err), 0);
  wh_append_text(a, 0, "zzz", 3);
  assert_int_equal(wh_append_row(a, &err), 0);
  assert_int_equal(wh_append_end(a, &err), 0);
  wh_rollback(f->w);
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.t", "1000");

  /* Names are checked before they reach SQL. */
  const char *bad[] = {"s; DROP TABLE x"};
  assert_int_equal(wh_append_begin(f->w, "bronze.t", bad, 1, &a, &err), DAG_EINVAL);
  free(err);
}

static void test_swap_replaces_atomically(void **state) {
  struct fx *f = *state;
  char *err = NULL;
  enum wh_relkind k;
  assert_int_equal(wh_relation_kind(f->w, "gold", "top", &k, &err), 0);
  assert_int_equal(k, WH_REL_NONE);

  /* Into nothing. */
  exec_ok(f->w, "CREATE TABLE gold.top__dbt_tmp AS SELECT 1 AS v");
  assert_int_equal(wh_swap_table(f->w, "gold", "top", "top__dbt_tmp", &err), 0);
  assert_value(f->w, "SELECT v FROM gold.top", "1");
  assert_int_equal(wh_relation_kind(f->w, "gold", "top__dbt_tmp", &k, &err), 0);
  assert_int_equal(k, WH_REL_NONE);

  /* Over a table, with a view on it that keeps working. */
  exec_ok(f->w, "CREATE VIEW gold.top_view AS SELECT v * 10 AS w FROM top");
  exec_ok(f->w, "CREATE TABLE gold.top__dbt_tmp AS SELECT 2 AS v");
  assert_int_equal(wh_swap_table(f->w, "gold", "top", "top__dbt_tmp", &err), 0);
  assert_value(f->w, "SELECT v FROM gold.top", "2");
  assert_value(f->w, "SELECT w FROM gold.top_view", "20");
  assert_int_equal(wh_relation_kind(f->w, "gold", "top_view", &k, &err), 0);
  assert_int_equal(k, WH_REL_VIEW);

  /* A failed swap (no new table) leaves the old one. */
  assert_int_equal(wh_swap_table(f->w, "gold", "top", "missing__dbt_tmp", &err), DAG_ESTORE);
  assert_non_null(strstr(err, "missing__dbt_tmp"));
  free(err);
  err = NULL;
  assert_value(f->w, "SELECT v FROM gold.top", "2");

  /* Over a view. */
  assert_int_equal(wh_drop_relation(f->w, "gold", "top", &err), 0);
  exec_ok(f->w, "CREATE VIEW gold.top AS SELECT 3 AS v");
  exec_ok(f->w, "CREATE TABLE gold.top__dbt_tmp AS SELECT 4 AS v");
  assert_int_equal(wh_swap_table(f->w, "gold", "top", "top__dbt_tmp", &err), 0);
  assert_value(f->w, "SELECT v FROM gold.top", "4");
  assert_int_equal(wh_relation_kind(f->w, "gold", "top", &k, &err), 0);
  assert_int_equal(k, WH_REL_TABLE);
}

static void test_urls(void **state) {
  (void)state;
  struct wh *w = NULL;
  char *err = NULL;
  struct wh_options o = {.url = "mysql://x/y"};
  assert_int_equal(wh_open(&o, &w, &err), DAG_EINVAL);
  assert_non_null(strstr(err, "unsupported url 'mysql://x/y'"));
  free(err);
  o.url = "";
  assert_int_equal(wh_open(&o, &w, &err), DAG_EINVAL);
  free(err);
  o.url = "/nonexistent-dir/sub/warehouse.db";
  assert_int_equal(wh_open(&o, &w, &err), DAG_ESTORE);
  assert_non_null(strstr(err, "/nonexistent-dir/sub/warehouse.db"));
  free(err);
  assert_null(w);

  assert_true(wh_is_identifier("gold_2"));
  assert_true(wh_is_identifier("_x"));
  assert_false(wh_is_identifier("2x"));
  assert_false(wh_is_identifier("a-b"));
  assert_false(wh_is_identifier(""));
  assert_true(wh_is_relation_name("gold.top_tracks"));
  assert_true(wh_is_relation_name("plays"));
  assert_false(wh_is_relation_name("a.b.c"));
  assert_false(wh_is_relation_name("gold."));
  assert_false(wh_is_relation_name("x;y"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_schemas_are_files_beside_the_main_one, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reopen_sees_committed_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_query_params_and_early_stop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_appender_and_rollback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_swap_replaces_atomically, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_only_open, setup, teardown),
      cmocka_unit_test(test_urls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
