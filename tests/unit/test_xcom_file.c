/* test_xcom_file.c - the $DAGCTL_XCOM file's parser and BashOperator's last
 * line of output (scheduler/core/xcom_file.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "xcom_file.h"

static json_t *parse_ok(const char *text) {
  json_t *o = NULL;
  char *err = NULL;
  int rc = dag_xcom_file_parse(text, strlen(text), &o, &err);
  if (rc) fail_msg("%s: %s", text, err);
  assert_null(err);
  return o;
}

static void parse_fails(const char *text, size_t len, const char *want) {
  json_t *o = NULL;
  char *err = NULL;
  assert_int_equal(dag_xcom_file_parse(text, len, &o, &err), DAG_EINVAL);
  assert_null(o);
  assert_non_null(err);
  if (!strstr(err, want)) fail_msg("'%s' does not say '%s'", err, want);
  free(err);
}

static void key_value_lines(void **state) {
  (void)state;
  json_t *o = parse_ok("# a comment\nrows=42\n\nname=a b=c\r\nempty=\nrows=43");
  assert_int_equal(json_object_size(o), 3);
  /* Values stay text; a later key wins. */
  assert_string_equal(json_string_value(json_object_get(o, "rows")), "43");
  assert_string_equal(json_string_value(json_object_get(o, "name")), "a b=c");
  assert_string_equal(json_string_value(json_object_get(o, "empty")), "");
  json_decref(o);
  o = parse_ok("");
  assert_int_equal(json_object_size(o), 0);
  json_decref(o);
}

static void json_object_file(void **state) {
  (void)state;
  json_t *o = parse_ok("\n  {\"return_value\": [\"a\", \"b\"], \"n\": 3, \"ok\": true}\n");
  assert_int_equal(json_object_size(o), 3);
  assert_true(json_is_array(json_object_get(o, "return_value")));
  assert_int_equal(json_integer_value(json_object_get(o, "n")), 3);
  json_decref(o);
}

static void bad_files(void **state) {
  (void)state;
  parse_fails("a=1\njust words\n", 16, "line 2: expected key=value");
  parse_fails("=1\n", 3, "line 1: key '' is not a valid XCom key");
  parse_fails("a b=1\n", 6, "key 'a b' is not a valid");
  parse_fails("{\"a\": 1", 7, "line 1");
  parse_fails("[1, 2]", 6, "line 1");
  parse_fails("{\"a\": 1, \"a\": 2}", 16, "duplicate");
  parse_fails("{\"a b\": 1}", 10, "not a valid XCom key");
  parse_fails("k=\xff\xfe\n", 5, "not valid UTF-8");
  parse_fails("k=a\0b\n", 6, "NUL");
  /* Limits: a value, the number of keys, the whole file. */
  size_t big = DAG_XCOM_VALUE_MAX + 10;
  char *text = xmalloc(big + 3);
  memcpy(text, "k=", 2);
  memset(text + 2, 'x', big);
  parse_fails(text, big + 2, "over the limit of 65536");
  free(text);
  char *many = xcalloc(DAG_XCOM_MAX_KEYS + 1, 16);
  size_t len = 0;
  for (int i = 0; i <= DAG_XCOM_MAX_KEYS; i++)
    len += (size_t)snprintf(many + len, 16, "k%d=1\n", i);
  parse_fails(many, len, "more than 256 keys");
  free(many);
  parse_fails("", DAG_XCOM_FILE_MAX + 1, "over the limit");
}

static void last_line(void **state) {
  (void)state;
  static const struct {
    const char *log, *want;
  } cases[] = {
      {"[dagctl] d.t run=r try 1 of 1 started at X\nfirst\nsecond  \n"
       "[dagctl] try 1 exited with status 0 after 1ms\n",
       "second"},
      /* Output without a final newline: dagctl's end line is glued to it. */
      {"[dagctl] d.t started\nhello[dagctl] try 1 exited with status 0 after 1ms\n", "hello"},
      {"[dagctl] d.t started\n[dagctl] try 1 exited with status 0 after 1ms\n", ""},
      {"", ""},
      {"b\n[dagctl] try 2 ended on worker w: exit 0 signal 0 after 3ms\n", "b"},
      /* Airflow's hook strips each line: a blank last line is "". */
      {"a\n\n[dagctl] try 1 exited\n", ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *out = NULL, *err = NULL;
    assert_int_equal(dag_xcom_last_line(cases[i].log, strlen(cases[i].log), &out, &err), 0);
    assert_null(err);
    if (strcmp(out, cases[i].want) != 0)
      fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
    free(out);
  }
  size_t big = DAG_XCOM_VALUE_MAX + 1;
  char *log = xmalloc(big + 2);
  memset(log, 'y', big);
  log[big] = '\n';
  char *out = NULL, *err = NULL;
  assert_int_equal(dag_xcom_last_line(log, big + 1, &out, &err), DAG_EINVAL);
  assert_null(out);
  assert_non_null(strstr(err, "over the limit"));
  free(err);
  free(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(key_value_lines),
      cmocka_unit_test(json_object_file),
      cmocka_unit_test(bad_files),
      cmocka_unit_test(last_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
