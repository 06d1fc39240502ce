/* test_param_schema.c - typed params (scheduler/core/param_schema.c): a
 * DAG's params with schemas, refused at load time at their place (unknown
 * keys with a did-you-mean, bad types, a default that breaks its own
 * schema, a bad pattern); a conf checked against them with the field
 * named; defaults and plain params unchanged; the serialized DAG keeps the
 * schema (and a DAG without one keeps its text); Airflow's serialized
 * Params for the API. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "dag.h"
#include "dag_load.h"
#include "dag_serial.h"
#include "diag.h"
#include "error.h"
#include "param_schema.h"

static const char typed[] =
    "dag_id: typed\n"
    "params:\n"
    "  table: raw_events\n"
    "  limit: {type: integer, minimum: 1, maximum: 1000, default: 100, description: rows}\n"
    "  mode: {enum: [full, delta], default: delta}\n"
    "  email: {type: string, pattern: \"^[^@]+@[^@]+$\", description: who to tell}\n"
    "  note: {type: [string, \"null\"], maxLength: 5, required: false}\n"
    "  ratio: {type: number, minimum: 0.5}\n"
    "  obj: {default: {type: x}}\n"
    "tasks:\n"
    "  - id: t\n"
    "    command: echo {{ params.limit }}\n";

static struct dag *load(const char *text, struct dag_diags *d) {
  struct dag *dag = NULL;
  dag_load_buffer("x.yaml", text, strlen(text), NULL, &dag, d);
  return dag;
}

static void loads(void **state) {
  (void)state;
  struct dag_diags d = DAG_DIAGS_INIT;
  struct dag *dag = load(typed, &d);
  if (!dag) fail_msg("%s", d.n ? d.items[0].msg : "?");
  char *p = json_dumps(dag->params, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(p, "{\"limit\":100,\"mode\":\"delta\",\"obj\":{\"type\":\"x\"},"
                         "\"table\":\"raw_events\"}");
  free(p);
  assert_non_null(dag->params_schema);
  assert_int_equal(json_object_size(dag->params_schema), 6);
  assert_null(json_object_get(dag->params_schema, "table"));

  /* The serialized DAG carries the schema back. */
  char *text = dag_serialize(dag);
  struct dag *back = NULL;
  char *err = NULL;
  assert_int_equal(dag_deserialize(text, &back, &err), 0);
  assert_true(json_equal(back->params_schema, dag->params_schema));
  dag_free(back);
  free(text);

  json_t *af = dag_params_airflow(dag->params, dag->params_schema);
  json_t *lim = json_object_get(af, "limit");
  assert_string_equal(json_string_value(json_object_get(lim, "__class")),
                      "airflow.models.param.Param");
  assert_int_equal(json_integer_value(json_object_get(lim, "value")), 100);
  assert_string_equal(json_string_value(json_object_get(lim, "description")), "rows");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(lim, "schema"), "maximum")),
                   1000);
  assert_null(json_object_get(json_object_get(lim, "schema"), "default"));
  assert_true(json_is_null(json_object_get(json_object_get(af, "email"), "value")));
  assert_string_equal(json_string_value(json_object_get(json_object_get(af, "table"), "value")),
                      "raw_events");
  json_decref(af);
  dag_free(dag);
  dag_diags_free(&d);

  /* No typed param: no schema, and the serialized text has no trace of one. */
  dag = load("dag_id: plain\nparams: {a: 1}\ntasks:\n  - id: t\n    command: echo\n", &d);
  assert_non_null(dag);
  assert_null(dag->params_schema);
  text = dag_serialize(dag);
  assert_null(strstr(text, "params_schema"));
  free(text);
  dag_free(dag);
  dag_diags_free(&d);
}

static void validates(void **state) {
  (void)state;
  struct dag_diags d = DAG_DIAGS_INIT;
  struct dag *dag = load(typed, &d);
  assert_non_null(dag);
  static const struct {
    const char *conf, *err;
  } cases[] = {
      {"{\"email\": \"a@b\", \"ratio\": 1}", NULL},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"limit\": 1000, \"note\": null, \"extra\": [1]}", NULL},
      {"{\"email\": \"a@b\", \"ratio\": 2.5, \"limit\": 7.0}", NULL},
      {"{\"ratio\": 1}", "conf.email: required (who to tell)"},
      {"{\"email\": \"a@b\"}", "conf.ratio: required: the param has no default"},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"limit\": \"abc\"}",
       "conf.limit: expected integer, got a string \"abc\""},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"limit\": 1.5}",
       "conf.limit: expected integer, got a number 1.5"},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"limit\": 0}",
       "conf.limit: 0 is less than the minimum 1"},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"limit\": 5000}",
       "conf.limit: 5000 is more than the maximum 1000"},
      {"{\"email\": \"a@b\", \"ratio\": 0.25}", "conf.ratio: 0.25 is less than the minimum 0.5"},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"mode\": \"x\"}",
       "conf.mode: \"x\" is not one of [\"full\",\"delta\"]"},
      {"{\"email\": \"nobody\", \"ratio\": 1}",
       "conf.email: \"nobody\" does not match the pattern ^[^@]+@[^@]+$"},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"note\": \"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", NULL},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"note\": \"abcdef\"}",
       "conf.note: \"abcdef\" is longer than 5 characters"},
      {"{\"email\": \"a@b\", \"ratio\": 1, \"note\": 3}",
       "conf.note: expected string or null, got an integer 3"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *conf = json_loads(cases[i].conf, 0, NULL);
    assert_non_null(conf);
    char *err = NULL;
    int rc = dag_params_validate(dag->params_schema, dag->params, conf, &err);
    if (cases[i].err == NULL && rc != 0) fail_msg("%s: %s", cases[i].conf, err);
    if (cases[i].err && (rc != DAG_EINVAL || strcmp(err, cases[i].err) != 0))
      fail_msg("%s: want '%s', got '%s'", cases[i].conf, cases[i].err, err ? err : "ok");
    free(err);
    json_decref(conf);
  }
  dag_free(dag);
  dag_diags_free(&d);
}

static void bad_schemas(void **state) {
  (void)state;
  static const char bad[] =
      "dag_id: bad\n"
      "params:\n"
      "  a: {type: integr, default: 1}\n"
      "  b: {type: integer, minimun: 1, default: 1}\n"
      "  c: {type: integer, maximum: 5, default: 9}\n"
      "  d: {type: string, pattern: \"([\", default: x}\n"
      "  e: {enum: [], default: 1}\n"
      "  f: {type: string, minLength: -1, default: x}\n"
      "  g: {type: string, required: maybe, default: x}\n"
      "tasks:\n"
      "  - id: t\n"
      "    command: echo\n";
  static const char *const want[] = {
      "x.yaml:3:13: params.a: type must be string, integer, number, boolean, array, object or "
      "null (or a list of them)",
      "x.yaml:4:22: params.b: unknown key 'minimun' of a param (did you mean 'minimum'?)",
      "x.yaml:5:43: params.c: the default 9 is more than the maximum 5",
      "x.yaml:6:30: params.d: pattern is not a POSIX extended regular expression",
      "x.yaml:7:13: params.e: enum must be a non-empty list",
      "x.yaml:8:32: params.f: minLength must be a whole number >= 0",
      "x.yaml:9:31: params.g: required must be true or false",
  };
  struct dag_diags d = DAG_DIAGS_INIT;
  assert_null(load(bad, &d));
  assert_int_equal(d.n, sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < d.n; i++) {
    char *line = xasprintf("%s:%d:%d: %s", d.items[i].file, d.items[i].line, d.items[i].col,
                           d.items[i].msg);
    if (strncmp(line, want[i], strlen(want[i])) != 0) fail_msg("want %s\n got %s", want[i], line);
    free(line);
  }
  dag_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loads),
      cmocka_unit_test(validates),
      cmocka_unit_test(bad_schemas),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
