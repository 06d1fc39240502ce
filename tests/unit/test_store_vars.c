/* test_store_vars.c - variables and connections in the store
 * (scheduler/store/store_vars.c), on SQLite and on PostgreSQL: values
 * replaced, secrets sealed at rest (read back through SQL, never in clear)
 * and refused without a key, a wrong key refused, the environment's
 * DAGCTL_CONN_ / DAGCTL_VAR_ first, and the values a masker must hide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "secret.h"
#include "store_fixture.h"
#include "store_int.h"
#include "store_vars.h"

#define KEY "test-secret-key-0123456789"

/* The raw text of one column of one row, as SQL reads it (caller frees). */
static char *raw(dag_store *st, const char *sql) {
  struct store_stmt *s = store_stmt(st, sql);
  assert_non_null(s);
  assert_int_equal(store_step(s), STORE_ROW);
  char *v = store_col_text(s, 0);
  store_reset(s);
  return v;
}

static void variables(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  assert_int_equal(dag_store_variable_set(st, "bucket", "raw-data", "where files land"), 0);
  assert_int_equal(dag_store_variable_set(st, "bucket", "raw-data-2", NULL), 0);
  /* A secret-looking name needs a key. */
  assert_int_equal(dag_store_variable_set(st, "api_token", "tok-12345", NULL), DAG_ECONFIG);
  assert_non_null(strstr(dag_store_secret_problem(st), "DAGCTL__CORE__SECRET_KEY"));
  assert_int_equal(dag_store_variable_set(st, "bad name", "x", NULL), DAG_EINVAL);
  assert_int_equal(dag_store_set_secret_key(st, KEY), 0);
  assert_int_equal(dag_store_variable_set(st, "api_token", "tok-12345", "the API's"), 0);
  char *v = raw(st, "SELECT val FROM variable WHERE key = 'api_token'");
  assert_null(strstr(v, "tok-12345"));
  assert_int_equal(strncmp(v, DAG_SECRET_PREFIX, strlen(DAG_SECRET_PREFIX)), 0);
  free(v);
  struct dag_store_variable got;
  assert_int_equal(dag_store_variable_get(st, "api_token", &got), 0);
  assert_string_equal(got.value, "tok-12345");
  assert_true(got.encrypted);
  assert_string_equal(got.description, "the API's");
  dag_store_variable_clear(&got);
  assert_int_equal(dag_store_variable_get(st, "bucket", &got), 0);
  assert_string_equal(got.value, "raw-data-2");
  assert_false(got.encrypted);
  assert_null(got.description);
  dag_store_variable_clear(&got);
  assert_int_equal(dag_store_variable_get(st, "nope", &got), DAG_ENOTFOUND);

  struct dag_store_variable *all;
  size_t n;
  assert_int_equal(dag_store_variable_list(st, true, &all, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(all[0].key, "api_token");
  assert_string_equal(all[0].value, "tok-12345");
  assert_string_equal(all[1].key, "bucket");
  dag_store_variables_free(all, n);

  /* Another key opens nothing, and says so. */
  assert_int_equal(dag_store_set_secret_key(st, "another-key-0123456789"), 0);
  assert_int_equal(dag_store_variable_get(st, "api_token", &got), DAG_ECONFIG);
  assert_non_null(strstr(dag_store_secret_problem(st), "another key"));
  assert_int_equal(dag_store_variable_list(st, true, &all, &n), DAG_ECONFIG);
  assert_int_equal(dag_store_variable_list(st, false, &all, &n), 0);
  assert_int_equal(n, 2);
  assert_null(all[0].value);                   /* a secret, not opened */
  assert_string_equal(all[1].value, "raw-data-2"); /* a plain value, as it is */
  dag_store_variables_free(all, n);

  assert_int_equal(dag_store_variable_delete(st, "bucket"), 0);
  assert_int_equal(dag_store_variable_delete(st, "bucket"), DAG_ENOTFOUND);
}

static void connections(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  struct dag_conn c;
  char *err = NULL;
  assert_int_equal(dag_conn_parse_uri("postgresql://etl:pw-9876@db:5432/wh?sslmode=require",
                                      &c, &err), 0);
  c.conn_id = xstrdup("warehouse");
  assert_int_equal(dag_store_connection_put(st, &c, false), DAG_ECONFIG); /* no key */
  assert_int_equal(dag_store_set_secret_key(st, KEY), 0);
  assert_int_equal(dag_store_connection_put(st, &c, false), 0);
  assert_int_equal(dag_store_connection_put(st, &c, false), DAG_EEXIST);
  char *pw = raw(st, "SELECT password FROM connection WHERE conn_id = 'warehouse'");
  assert_null(strstr(pw, "pw-9876"));
  free(pw);
  free(c.host);
  c.host = xstrdup("db2");
  assert_int_equal(dag_store_connection_put(st, &c, true), 0);
  dag_conn_clear(&c);

  /* No password, and an extra with a secret key: the extra is sealed. */
  struct dag_conn h = {.conn_id = xstrdup("api"), .conn_type = xstrdup("http"),
                       .host = xstrdup("api.example"),
                       .extra = xstrdup("{\"api_key\": \"k-55555\", \"timeout\": \"5\"}")};
  assert_int_equal(dag_store_connection_put(st, &h, false), 0);
  char *ex = raw(st, "SELECT extra FROM connection WHERE conn_id = 'api'");
  assert_null(strstr(ex, "k-55555"));
  free(ex);
  dag_conn_clear(&h);
  struct dag_conn bad = {.conn_id = xstrdup("x"), .conn_type = xstrdup("http"),
                         .extra = xstrdup("[1]")};
  assert_int_equal(dag_store_connection_put(st, &bad, false), DAG_EINVAL);
  dag_conn_clear(&bad);

  assert_int_equal(dag_store_connection_get(st, "warehouse", &c), 0);
  assert_string_equal(c.conn_type, "postgres");
  assert_string_equal(c.host, "db2");
  assert_string_equal(c.login, "etl");
  assert_string_equal(c.password, "pw-9876");
  assert_int_equal(c.port, 5432);
  assert_string_equal(c.schema, "wh");
  assert_string_equal(c.extra, "{\"sslmode\":\"require\"}");
  dag_conn_clear(&c);
  assert_int_equal(dag_store_connection_get(st, "api", &c), 0);
  assert_null(c.password);
  assert_non_null(strstr(c.extra, "k-55555"));
  assert_int_equal(c.port, 0);
  dag_conn_clear(&c);

  struct dag_conn *all;
  size_t n;
  assert_int_equal(dag_store_connection_list(st, false, &all, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(all[0].conn_id, "api");
  assert_null(all[0].extra); /* sealed, not asked for */
  assert_null(all[1].password);
  dag_store_connections_free(all, n);

  assert_int_equal(dag_store_connection_delete(st, "api"), 0);
  assert_int_equal(dag_store_connection_delete(st, "api"), DAG_ENOTFOUND);
  assert_int_equal(dag_store_connection_get(st, "api", &c), DAG_ENOTFOUND);
}

static void collect(void *ud, const char *secret) {
  char **all = ud;
  char *joined = xasprintf("%s[%s]", *all ? *all : "", secret);
  free(*all);
  *all = joined;
}

static void resolving(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  assert_int_equal(dag_store_set_secret_key(st, KEY), 0);
  struct dag_conn c = {.conn_id = xstrdup("my-db"), .conn_type = xstrdup("postgres"),
                       .host = xstrdup("stored"), .password = xstrdup("stored-pw-1")};
  assert_int_equal(dag_store_connection_put(st, &c, false), 0);
  dag_conn_clear(&c);
  assert_int_equal(dag_store_variable_set(st, "db_password", "var-pw-22", NULL), 0);
  assert_int_equal(dag_store_variable_set(st, "plain", "stored-plain", NULL), 0);

  char *name = dag_store_env_name("DAGCTL_CONN_", "my-db");
  assert_string_equal(name, "DAGCTL_CONN_MY_DB");
  free(name);
  char *env[] = {"PATH=/bin", "DAGCTL_CONN_MY_DB=mysql://me:env-pw-3@envhost:3306/x",
                 "DAGCTL_VAR_PLAIN=from-env", "DAGCTL_VAR_SLACK_TOKEN=env-tok-4",
                 "DAGCTL_CONN_BROKEN=nothing", NULL};
  char *err = NULL;
  assert_int_equal(dag_store_connection_resolve(st, env, "my-db", &c, &err), 0);
  assert_string_equal(c.host, "envhost");
  assert_string_equal(c.conn_id, "my-db");
  dag_conn_clear(&c);
  assert_int_equal(dag_store_connection_resolve(st, NULL, "my-db", &c, &err), 0);
  assert_string_equal(c.host, "stored");
  assert_string_equal(c.password, "stored-pw-1");
  dag_conn_clear(&c);
  assert_int_equal(dag_store_connection_resolve(st, env, "broken", &c, &err), DAG_EINVAL);
  assert_non_null(strstr(err, "DAGCTL_CONN_BROKEN"));
  free(err);
  assert_int_equal(dag_store_connection_resolve(st, env, "none", &c, &err), DAG_ENOTFOUND);
  assert_non_null(strstr(err, "'none'"));
  free(err);

  char *v = NULL;
  assert_int_equal(dag_store_variable_resolve(st, env, "plain", &v, &err), 0);
  assert_string_equal(v, "from-env");
  free(v);
  assert_int_equal(dag_store_variable_resolve(st, NULL, "plain", &v, &err), 0);
  assert_string_equal(v, "stored-plain");
  free(v);
  assert_int_equal(dag_store_variable_resolve(st, NULL, "db_password", &v, &err), 0);
  assert_string_equal(v, "var-pw-22");
  free(v);

  char *all = NULL;
  assert_int_equal(dag_store_secret_values(st, env, collect, &all), 0);
  assert_non_null(strstr(all, "[env-pw-3]"));
  assert_non_null(strstr(all, "[env-tok-4]"));
  assert_non_null(strstr(all, "[stored-pw-1]"));
  assert_non_null(strstr(all, "[var-pw-22]"));
  assert_null(strstr(all, "plain"));
  free(all);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(variables),
      STORE_TEST(connections),
      STORE_TEST(resolving),
  };
  return store_backends_run("store_vars", tests, DAG_ARRAY_SIZE(tests));
}
