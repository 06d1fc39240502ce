/* test_warehouse_pg.c - the PostgreSQL warehouse against a real server
 * (pg_server.h starts one). PostgreSQL and libpq are required: without
 * them every test fails, none is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "pg_server.h"
#include "wh.h"

struct group {
  struct pg_server server;
  char *url;
};

static struct group G;

static int group_setup(void **state) {
  (void)state;
  G.url = pg_server_start(&G.server);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  pg_server_stop(&G.server);
  free(G.url);
  return 0;
}

static struct wh *open_wh(void) {
  if (G.url == NULL) fail_msg("no PostgreSQL server to test against (see above)");
  struct wh_options o = {.url = G.url};
  struct wh *w = NULL;
  char *err = NULL;
  int rc = wh_open(&o, &w, &err);
  if (rc == DAG_EINVAL) fail_msg("built without libpq: %s", err ? err : "");
  if (rc != 0) fail_msg("%s", err);
  /* Each test starts from empty schemas. */
  if (wh_exec(w, "DROP SCHEMA IF EXISTS bronze, silver, gold, staging CASCADE", &err) != 0)
    fail_msg("%s", err);
  wh_close(w);
  if (wh_open(&o, &w, &err) != 0) fail_msg("%s", err);
  return w;
}

static void exec_ok(struct wh *w, const char *sql) {
  char *err = NULL;
  if (wh_exec(w, sql, &err) != 0) fail_msg("%s: %s", sql, err);
}

static void assert_value(struct wh *w, const char *sql, const char *want) {
  char *v = NULL, *err = NULL;
  if (wh_query_value(w, sql, NULL, 0, &v, &err) != 0) fail_msg("%s: %s", sql, err);
  if (want == NULL ? v != NULL : (v == NULL || strcmp(v, want) != 0))
    fail_msg("%s: '%s', want '%s'", sql, v ? v : "NULL", want ? want : "NULL");
  free(v);
}

static void test_schemas_and_queries(void **state) {
  (void)state;
  struct wh *w = open_wh();
  assert_int_equal(wh_backend(w), WH_POSTGRES);
  assert_value(w, "SELECT COUNT(*) FROM pg_namespace WHERE nspname IN ('bronze', 'silver', "
                  "'gold')",
               "3");
  char *err = NULL;
  assert_int_equal(wh_ensure_schema(w, "staging", &err), 0);
  assert_int_equal(wh_ensure_schema(w, "staging", &err), 0);
  exec_ok(w, "CREATE TABLE gold.p (k TEXT, v BIGINT);"
             "INSERT INTO gold.p VALUES ('a', 1), ('b', NULL), ('c', 3)");
  const char *p2[] = {"x", NULL};
  char *v = NULL;
  assert_int_equal(wh_query_value(w, "SELECT COALESCE($2, 'none') || $1", p2, 2, &v, &err), 0);
  assert_string_equal(v, "nonex");
  free(v);
  const char *p1[] = {"b"};
  assert_int_equal(wh_query_value(w, "SELECT v FROM gold.p WHERE k = $1", p1, 1, &v, &err), 0);
  assert_null(v);
  assert_int_equal(wh_query_value(w, "SELECT k FROM gold.p WHERE k = 'zz'", NULL, 0, &v, &err),
                   DAG_ENOTFOUND);
  free(err);
  err = NULL;
  assert_int_equal(wh_query(w, "SELECT nope FROM gold.p", NULL, 0, NULL, NULL, &err),
                   DAG_ESTORE);
  assert_non_null(strstr(err, "column \"nope\" does not exist"));
  free(err);
  wh_close(w);
}

/* A read-only session reads and cannot write, whatever the SQL. */
static void test_read_only_session(void **state) {
  (void)state;
  struct wh *w = open_wh();
  exec_ok(w, "CREATE TABLE gold.r (k TEXT); INSERT INTO gold.r VALUES ('seen')");
  struct wh_options o = {.url = G.url, .read_only = true};
  struct wh *r = NULL;
  char *err = NULL;
  if (wh_open(&o, &r, &err) != 0) fail_msg("%s", err);
  assert_value(r, "SELECT k FROM gold.r", "seen");
  assert_int_equal(wh_exec(r, "INSERT INTO gold.r VALUES ('written')", &err), DAG_ESTORE);
  assert_non_null(strstr(err, "read-only transaction"));
  free(err);
  wh_close(r);
  assert_value(w, "SELECT count(*) FROM gold.r", "1");
  wh_close(w);
}

static void test_appender_copy(void **state) {
  (void)state;
  struct wh *w = open_wh();
  exec_ok(w, "CREATE TABLE bronze.t (s TEXT, i BIGINT, n TEXT)");
  const char *cols[] = {"s", "i", "n"};
  static const char tricky[] = "tab\there\nnew line\\back slash \xc3\xa9 \\N";
  char *err = NULL;
  struct wh_appender *a;
  assert_int_equal(wh_begin(w, &err), 0);
  assert_int_equal(wh_append_begin(w, "bronze.t", cols, 3, &a, &err), 0);
  for (int i = 0; i < 20000; i++) {
    wh_append_text(a, 0, tricky, sizeof(tricky) - 1);
    wh_append_int(a, 1, (int64_t)i * 1000000000);
    assert_int_equal(wh_append_row(a, &err), 0);
  }
  assert_int_equal(wh_append_end(a, &err), 0);
  assert_int_equal(wh_commit(w, &err), 0);
  assert_value(w, "SELECT COUNT(*) FROM bronze.t WHERE n IS NULL", "20000");
  assert_value(w, "SELECT MAX(i) FROM bronze.t", "19999000000000");
  char *v = NULL;
  assert_int_equal(wh_query_value(w, "SELECT s FROM bronze.t LIMIT 1", NULL, 0, &v, &err), 0);
  assert_string_equal(v, tricky);
  free(v);

  /* Rolled back, a COPY leaves nothing. */
  assert_int_equal(wh_begin(w, &err), 0);
  assert_int_equal(wh_append_begin(w, "bronze.t", cols, 3, &a, &err), 0);
  wh_append_text(a, 0, "zzz", 3);
  assert_int_equal(wh_append_row(a, &err), 0);
  assert_int_equal(wh_append_end(a, &err), 0);
  wh_rollback(w);
  assert_value(w, "SELECT COUNT(*) FROM bronze.t", "20000");
  /* A bad COPY fails at its end, and the connection is usable after. */
  const char *bad[] = {"i"};
  assert_int_equal(wh_begin(w, &err), 0);
  assert_int_equal(wh_append_begin(w, "bronze.t", bad, 1, &a, &err), 0);
  wh_append_text(a, 0, "not a number", 12);
  assert_int_equal(wh_append_row(a, &err), 0);
  assert_int_equal(wh_append_end(a, &err), DAG_ESTORE);
  assert_non_null(strstr(err, "invalid input syntax for type bigint"));
  free(err);
  wh_rollback(w);
  assert_value(w, "SELECT COUNT(*) FROM bronze.t", "20000");
  wh_close(w);
}

static void test_swap(void **state) {
  (void)state;
  struct wh *w = open_wh();
  char *err = NULL;
  enum wh_relkind k;
  assert_int_equal(wh_relation_kind(w, "gold", "top", &k, &err), 0);
  assert_int_equal(k, WH_REL_NONE);
  exec_ok(w, "CREATE TABLE gold.top__dbt_tmp AS SELECT 1 AS v");
  assert_int_equal(wh_swap_table(w, "gold", "top", "top__dbt_tmp", &err), 0);
  assert_value(w, "SELECT v FROM gold.top", "1");
  exec_ok(w, "CREATE VIEW gold.top_view AS SELECT v * 10 AS w FROM gold.top");
  assert_int_equal(wh_relation_kind(w, "gold", "top_view", &k, &err), 0);
  assert_int_equal(k, WH_REL_VIEW);
  /* The old table goes with CASCADE, taking the view on it (dbt's way). */
  exec_ok(w, "CREATE TABLE gold.top__dbt_tmp AS SELECT 2 AS v");
  assert_int_equal(wh_swap_table(w, "gold", "top", "top__dbt_tmp", &err), 0);
  assert_value(w, "SELECT v FROM gold.top", "2");
  assert_int_equal(wh_relation_kind(w, "gold", "top_view", &k, &err), 0);
  assert_int_equal(k, WH_REL_NONE);
  /* A failed swap leaves the old table. */
  assert_int_equal(wh_swap_table(w, "gold", "top", "missing__dbt_tmp", &err), DAG_ESTORE);
  free(err);
  assert_value(w, "SELECT v FROM gold.top", "2");
  wh_close(w);
}

static void test_password_never_in_messages(void **state) {
  (void)state;
  wh_close(open_wh()); /* fails unless PostgreSQL is there */
  struct wh_options o = {.url = "postgresql://someone:s3cr3t-pw@127.0.0.1:1/db"};
  struct wh *w = NULL;
  char *err = NULL;
  assert_int_equal(wh_open(&o, &w, &err), DAG_ESTORE);
  assert_null(w);
  assert_null(strstr(err, "s3cr3t-pw"));
  assert_non_null(strstr(err, "postgresql://someone@127.0.0.1:1/db: cannot connect"));
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schemas_and_queries),
      cmocka_unit_test(test_appender_copy),
      cmocka_unit_test(test_swap),
      cmocka_unit_test(test_password_never_in_messages),
      cmocka_unit_test(test_read_only_session),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
