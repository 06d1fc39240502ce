/* test_conn.c - connections in URI form (scheduler/core/conn.c) and
 * secrets sealed at rest (scheduler/core/secret.c): every part of a URI,
 * escapes, IPv6 hosts, the query as extra, malformed URIs refused with the
 * part named; a sealed value opens only with its key and for its place. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "error.h"
#include "secret.h"

static void full_uri(void **state) {
  (void)state;
  struct dag_conn c;
  char *err = NULL;
  assert_int_equal(dag_conn_parse_uri("postgresql://etl:p%40ss:w@db.example:5432/ware%20house"
                                      "?sslmode=require&application_name=a+b",
                                      &c, &err),
                   0);
  assert_null(err);
  assert_string_equal(c.conn_type, "postgres");
  assert_string_equal(c.login, "etl");
  assert_string_equal(c.password, "p@ss:w");
  assert_string_equal(c.host, "db.example");
  assert_int_equal(c.port, 5432);
  assert_string_equal(c.schema, "ware house");
  assert_string_equal(c.extra, "{\"application_name\":\"a b\",\"sslmode\":\"require\"}");
  dag_conn_clear(&c);
}

static void small_uris(void **state) {
  (void)state;
  struct dag_conn c;
  char *err = NULL;
  assert_int_equal(dag_conn_parse_uri("http://example.com", &c, &err), 0);
  assert_string_equal(c.conn_type, "http");
  assert_string_equal(c.host, "example.com");
  assert_null(c.login);
  assert_null(c.password);
  assert_int_equal(c.port, 0);
  assert_null(c.schema);
  assert_null(c.extra);
  dag_conn_clear(&c);
  assert_int_equal(dag_conn_parse_uri("google-cloud-platform://user@[::1]:22/?__extra__=%7B%22a%22%3A1%7D",
                                      &c, &err), 0);
  assert_string_equal(c.conn_type, "google_cloud_platform");
  assert_string_equal(c.host, "[::1]");
  assert_int_equal(c.port, 22);
  assert_string_equal(c.login, "user");
  assert_string_equal(c.extra, "{\"a\":1}");
  dag_conn_clear(&c);
}

static void bad_uris(void **state) {
  (void)state;
  static const struct {
    const char *uri, *says;
  } cases[] = {
      {"example.com", "no TYPE://"},
      {"://x", "no TYPE://"},
      {"pg://h:0/db", "port"},
      {"pg://h:99999/db", "port"},
      {"pg://h:5a/db", "port"},
      {"pg://u:p%zz@h/db", "password"},
      {"pg://h/d%0", "schema"},
      {"pg://h?__extra__=[1]", "__extra__"},
      {"p g://h", "type"},
      {"pg://[::1/x", "IPv6"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct dag_conn c;
    char *err = NULL;
    assert_int_equal(dag_conn_parse_uri(cases[i].uri, &c, &err), DAG_EINVAL);
    assert_non_null(err);
    if (!strstr(err, cases[i].says)) fail_msg("%s: %s", cases[i].uri, err);
    assert_null(strstr(err, "zz")); /* the password is never quoted */
    free(err);
  }
}

static void names(void **state) {
  (void)state;
  assert_null(dag_conn_name_problem("postgres_default"));
  assert_null(dag_conn_name_problem("my-db.v2"));
  assert_non_null(dag_conn_name_problem(""));
  assert_non_null(dag_conn_name_problem("-x"));
  assert_non_null(dag_conn_name_problem("a b"));
  assert_non_null(dag_conn_name_problem("a/b"));
  assert_true(dag_secret_name("DB_PASSWORD"));
  assert_true(dag_secret_name("slack_api_key"));
  assert_true(dag_secret_name("GitHubToken"));
  assert_true(dag_secret_name("client_secret"));
  assert_false(dag_secret_name("bucket"));
  assert_false(dag_secret_name("keyspace"));
}

static void sealing(void **state) {
  (void)state;
  unsigned char k1[DAG_SECRET_KEY_BYTES], k2[DAG_SECRET_KEY_BYTES];
  assert_int_equal(dag_secret_key_derive("short", k1), DAG_EINVAL);
  assert_int_equal(dag_secret_key_derive("0123456789abcdef-one", k1), 0);
  assert_int_equal(dag_secret_key_derive("0123456789abcdef-two", k2), 0);
  char *a = dag_secret_seal(k1, "variable:x", "hunter2-value");
  char *b = dag_secret_seal(k1, "variable:x", "hunter2-value");
  assert_string_not_equal(a, b); /* a fresh nonce each time */
  assert_null(strstr(a, "hunter2"));
  assert_int_equal(strncmp(a, DAG_SECRET_PREFIX, strlen(DAG_SECRET_PREFIX)), 0);
  char *out = NULL;
  assert_int_equal(dag_secret_open(k1, "variable:x", a, &out), 0);
  assert_string_equal(out, "hunter2-value");
  free(out);
  assert_int_equal(dag_secret_open(k2, "variable:x", a, &out), DAG_EINVAL);
  assert_int_equal(dag_secret_open(k1, "variable:y", a, &out), DAG_EINVAL);
  assert_int_equal(dag_secret_open(k1, "variable:x", "hunter2-value", &out), DAG_EINVAL);
  a[strlen(a) - 3] = a[strlen(a) - 3] == 'A' ? 'B' : 'A';
  assert_int_equal(dag_secret_open(k1, "variable:x", a, &out), DAG_EINVAL);
  assert_null(out);
  free(a);
  free(b);
}

static void conn_json(void **state) {
  (void)state;
  struct dag_conn c = {0};
  char *err = NULL;
  assert_int_equal(dag_conn_parse_uri("http://u:pw@h:80/s?a=1", &c, &err), 0);
  json_t *j = dag_conn_json(&c);
  assert_string_equal(json_string_value(json_object_get(j, "host")), "h");
  assert_int_equal(json_integer_value(json_object_get(j, "port")), 80);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "extra"), "a")), "1");
  json_decref(j);
  dag_conn_clear(&c);
}

static void collect(void *ud, const char *buf, size_t len) {
  strncat(ud, buf, len);
}

static void masking(void **state) {
  (void)state;
  struct dag_masker m = DAG_MASKER_INIT;
  dag_masker_add(&m, "abc"); /* too short: ignored */
  dag_masker_add(&m, "hunter22");
  dag_masker_add(&m, "tok-99");
  dag_masker_add(&m, "hunter22");
  assert_int_equal(m.n, 2);
  char line[] = "pw=hunter22 tok=tok-99 abc hunter2";
  dag_masker_apply(&m, line, strlen(line));
  assert_string_equal(line, "pw=******** tok=****** abc hunter2");
  /* Streamed one byte at a time, a secret across every boundary. */
  const char *text = "a hunter22 b tok-99tok-99 c hunte";
  char out[128] = "";
  for (const char *p = text; *p; p++) dag_masker_write(&m, p, 1, collect, out);
  dag_masker_flush(&m, collect, out);
  assert_string_equal(out, "a ******** b ************ c hunte");
  dag_masker_free(&m);
  /* No secrets: passed through as it is. */
  char out2[16] = "";
  dag_masker_write(&m, "plain", 5, collect, out2);
  assert_string_equal(out2, "plain");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_uri), cmocka_unit_test(small_uris), cmocka_unit_test(bad_uris),
      cmocka_unit_test(names),    cmocka_unit_test(sealing),    cmocka_unit_test(conn_json),
      cmocka_unit_test(masking),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
