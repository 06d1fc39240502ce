/* test_template.c - {{ name }} rendering and checking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>

#include "error.h"
#include "strbuf.h"
#include "template.h"

#define SEC(n) ((int64_t)(n)*DAG_USEC_PER_SEC)

struct fixture {
  json_t *params;
  json_t *conf;
  struct dag_template_ctx ctx;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  json_error_t jerr;
  f->params = json_loads("{\"env\": \"prod\", \"limit\": 10, \"ratio\": 1.5,"
                         " \"on\": true, \"off\": false, \"none\": null,"
                         " \"tables\": [\"a\", \"b\"],"
                         " \"db\": {\"host\": \"h1\", \"port\": 5432},"
                         " \"shadowed\": \"from-params\"}",
                         0, &jerr);
  f->conf = json_loads("{\"shadowed\": \"from-conf\", \"date\": \"2024-02-02\","
                       " \"nested\": {\"a\": {\"b\": \"deep\"}}, \"n\": 7,"
                       " \"obj\": {\"k\": [1, 2]}}",
                       0, &jerr);
  assert_non_null(f->params);
  assert_non_null(f->conf);
  f->ctx.dag_id = "etl";
  f->ctx.task_id = "load";
  f->ctx.run_id = "scheduled__2024-01-01T00:00:00+00:00";
  f->ctx.logical_date = SEC(1704067200); /* 2024-01-01T00:00:00Z */
  f->ctx.data_interval_start = SEC(1704067200);
  f->ctx.data_interval_end = SEC(1704153600); /* 2024-01-02T00:00:00Z */
  f->ctx.try_number = 2;
  f->ctx.params = f->params;
  f->ctx.conf = f->conf;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  json_decref(f->params);
  json_decref(f->conf);
  free(f);
  return 0;
}

static void expect_render(const struct dag_template_ctx *ctx, const char *tmpl,
                          const char *want) {
  char *out = NULL, *err = NULL;
  int rc = dag_template_render(tmpl, ctx, &out, &err);
  if (rc != 0) fail_msg("render '%s': %s", tmpl, err ? err : "(no message)");
  assert_null(err);
  assert_string_equal(out, want);
  free(out);
  /* Whatever renders must also pass the loader's check. */
  assert_int_equal(dag_template_check(tmpl, &err), 0);
  assert_null(err);
}

static void expect_render_error(const struct dag_template_ctx *ctx, const char *tmpl,
                                const char *want) {
  char *out = (char *)"unset", *err = NULL;
  assert_int_equal(dag_template_render(tmpl, ctx, &out, &err), DAG_ETEMPLATE);
  assert_null(out);
  assert_non_null(err);
  assert_string_equal(err, want);
  free(err);
}

static void expect_check_error(const char *tmpl, const char *want) {
  char *err = NULL;
  assert_int_equal(dag_template_check(tmpl, &err), DAG_ETEMPLATE);
  assert_non_null(err);
  assert_string_equal(err, want);
  free(err);
}

static void test_dates(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ ds }}", "2024-01-01");
  expect_render(&f->ctx, "{{ ds_nodash }}", "20240101");
  expect_render(&f->ctx, "{{ ts }}", "2024-01-01T00:00:00+00:00");
  expect_render(&f->ctx, "{{ ts_nodash }}", "20240101T000000");
  expect_render(&f->ctx, "{{ logical_date }}", "2024-01-01T00:00:00+00:00");
  expect_render(&f->ctx, "{{ data_interval_start }}", "2024-01-01T00:00:00+00:00");
  expect_render(&f->ctx, "{{ data_interval_end }}", "2024-01-02T00:00:00+00:00");
}

static void test_times_with_seconds_and_microseconds(void **state) {
  struct fixture *f = *state;
  /* 2024-03-10T07:08:09.000123Z: isoformat() shows microseconds only when
   * non-zero; ts_nodash never does. */
  f->ctx.logical_date = SEC(1710054489) + 123;
  expect_render(&f->ctx, "{{ ts }}", "2024-03-10T07:08:09.000123+00:00");
  expect_render(&f->ctx, "{{ ts_nodash }}", "20240310T070809");
  expect_render(&f->ctx, "{{ ds }}|{{ ds_nodash }}", "2024-03-10|20240310");
  /* One microsecond before the epoch stays on 1969-12-31. */
  f->ctx.logical_date = -1;
  expect_render(&f->ctx, "{{ ts }}", "1969-12-31T23:59:59.999999+00:00");
  expect_render(&f->ctx, "{{ ds }}", "1969-12-31");
  /* A leap day. */
  f->ctx.logical_date = SEC(1709164800); /* 2024-02-29 */
  expect_render(&f->ctx, "{{ ds_nodash }}", "20240229");
}

static void test_ids_and_try_number(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ dag_id }}.{{ task_id }}", "etl.load");
  expect_render(&f->ctx, "{{ run_id }}", "scheduled__2024-01-01T00:00:00+00:00");
  expect_render(&f->ctx, "try {{ try_number }}", "try 2");
}

static void test_spacing_and_literal_text(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ds}}", "2024-01-01");
  expect_render(&f->ctx, "{{     ds   }}", "2024-01-01");
  expect_render(&f->ctx, "{{\tds\n}}", "2024-01-01");
  expect_render(&f->ctx, "", "");
  expect_render(&f->ctx, "no tags at all", "no tags at all");
  /* Shell syntax with single braces passes through untouched. */
  expect_render(&f->ctx, "echo ${HOME} {a,b} } }} {", "echo ${HOME} {a,b} } }} {");
  expect_render(&f->ctx, "a{{ds}}b{{ ds_nodash }}c", "a2024-01-01b20240101c");
  expect_render(&f->ctx, "{ {{ ds }} }", "{ 2024-01-01 }");
  expect_render(&f->ctx, "{{ ds }}}", "2024-01-01}");
}

static void test_params(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ params.env }}", "prod");
  expect_render(&f->ctx, "{{ params.limit }}", "10");
  expect_render(&f->ctx, "{{ params.ratio }}", "1.5");
  expect_render(&f->ctx, "{{ params.on }}/{{ params.off }}", "true/false");
  expect_render(&f->ctx, "[{{ params.none }}]", "[]");
  expect_render(&f->ctx, "{{ params.tables }}", "[\"a\",\"b\"]");
  expect_render(&f->ctx, "{{ params.db }}", "{\"host\":\"h1\",\"port\":5432}");
  expect_render(&f->ctx, "{{ params.db.host }}:{{ params.db.port }}", "h1:5432");
}

static void test_conf_overrides_params(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ params.shadowed }}", "from-conf");
  /* A conf-only key is visible through params too (Airflow merges them). */
  expect_render(&f->ctx, "{{ params.date }}", "2024-02-02");
  f->ctx.conf = NULL;
  expect_render(&f->ctx, "{{ params.shadowed }}", "from-params");
  json_t *scalar = json_string("not an object");
  f->ctx.conf = scalar;
  expect_render(&f->ctx, "{{ params.shadowed }}", "from-params");
  json_decref(scalar);
}

static void test_conf(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ conf.date }}", "2024-02-02");
  expect_render(&f->ctx, "{{ conf.n }}", "7");
  expect_render(&f->ctx, "{{ conf.nested.a.b }}", "deep");
  expect_render(&f->ctx, "{{ conf.nested.a }}", "{\"b\":\"deep\"}");
  expect_render(&f->ctx, "{{ conf.obj }}", "{\"k\":[1,2]}");
}

static void test_lookup_errors(void **state) {
  struct fixture *f = *state;
  expect_render_error(&f->ctx, "{{ params.nope }}", "unknown param 'nope'");
  expect_render_error(&f->ctx, "{{ params.db.user }}", "unknown param 'db.user'");
  expect_render_error(&f->ctx, "{{ params.env.x }}", "unknown param 'env.x'");
  expect_render_error(&f->ctx, "{{ conf.env }}", "conf has no key 'env'");
  expect_render_error(&f->ctx, "{{ conf.nested.x }}", "conf has no key 'nested.x'");
  f->ctx.conf = NULL;
  expect_render_error(&f->ctx, "{{ conf.date }}", "conf has no key 'date'");
  f->ctx.params = NULL;
  expect_render_error(&f->ctx, "x {{ params.env }}", "unknown param 'env'");
  f->ctx.run_id = NULL;
  expect_render_error(&f->ctx, "{{ run_id }}",
                      "template variable 'run_id' is not available here");
}

static void test_syntax_errors(void **state) {
  struct fixture *f = *state;
  expect_render_error(&f->ctx, "abc {{ ds", "unterminated '{{' at offset 4");
  expect_render_error(&f->ctx, "{{ ds }} {{", "unterminated '{{' at offset 9");
  expect_render_error(&f->ctx, "{% if x %}",
                      "'{%' at offset 0: only {{ name }} templates are supported");
  expect_render_error(&f->ctx, "echo ${#arr[@]}",
                      "'{#' at offset 6: only {{ name }} templates are supported");
  expect_render_error(&f->ctx, "{{ }}", "empty '{{ }}' at offset 0");
  expect_render_error(&f->ctx, "{{ ds | uper }}",
                      "unknown filter 'uper' at offset 0 (did you mean 'upper'?)");
  expect_render_error(&f->ctx, "x {{ ds | rwa }}",
                      "unknown filter 'rwa' at offset 2 (did you mean 'raw'?)");
  expect_render_error(&f->ctx, "{{ ds | }}",
                      "unknown filter '' at offset 0: the filters are raw, upper, lower, "
                      "default, replace, tojson and shquote");
  expect_render_error(&f->ctx, "{{ | raw }}",
                      "unsupported expression '| raw' at offset 0: expected a name or a "
                      "value");
  expect_render_error(&f->ctx, "{{ ds['x'] }}",
                      "unsupported expression 'ds['x']' at offset 0: expected '|' or the "
                      "end of the tag");
  expect_render_error(&f->ctx, "{{ conf..x }}",
                      "unsupported expression 'conf..x' at offset 0: expected a name "
                      "after '.'");
  expect_render_error(&f->ctx, "{{ ds. }}",
                      "unsupported expression 'ds.' at offset 0: expected a name after '.'");
  expect_render_error(&f->ctx, "{{ ds + 1 }}",
                      "unsupported expression 'ds + 1' at offset 0: expected '|' or the "
                      "end of the tag");
  expect_render_error(&f->ctx, "{{ 'abc }}",
                      "unsupported expression ''abc' at offset 0: unterminated string");
  expect_render_error(&f->ctx, "{{ 1.5 }}",
                      "unsupported expression '1.5' at offset 0: only whole numbers are "
                      "supported");
  expect_render_error(&f->ctx, "{{ ds | upper(1) }}",
                      "filter 'upper' takes no arguments, got 1");
  expect_render_error(&f->ctx, "{{ ds | replace('a') }}",
                      "filter 'replace' takes 2 to 3 arguments, got 1");
  expect_render_error(&f->ctx, "{{ ds | replace('a', 'b' }}",
                      "unsupported expression 'ds | replace('a', 'b'' at offset 0: "
                      "expected ',' or ')'");
  expect_render_error(&f->ctx, "{{ ds(1) }}",
                      "'ds' cannot be called: the macros are macros.ds_add and "
                      "macros.ds_format");
  expect_render_error(&f->ctx, "{{ macros.ds_add }}", "'macros.ds_add' needs arguments");
  expect_render_error(&f->ctx, "{{ macros.ds_add(ds) }}",
                      "macros.ds_add takes 2 arguments (ds, days), got 1");
  /* Deep nesting is refused, never a deep recursion. */
  expect_render_error(&f->ctx,
                      "{{ ds | default(ds | default(ds | default(ds | default(ds | default("
                      "ds | default(ds | default(ds | default(ds | default(ds | default("
                      "ds | default(ds | default(ds | default(ds | default(ds | default("
                      "ds | default(ds | default(ds)))))))))))))))))) }}",
                      "unsupported expression 'ds | default(ds | default(ds | default(ds | "
                      "default(ds | default(ds | default(ds | default(ds | default(ds | "
                      "default(ds | default(ds | default(ds | default(ds | default(ds | "
                      "default(ds | default(ds | default(ds | default(ds))))))))))))))))))' "
                      "at offset 0: nested too deeply");
}

static void test_unknown_names(void **state) {
  struct fixture *f = *state;
  expect_render_error(&f->ctx, "{{ dss }}",
                      "unknown template variable 'dss' (did you mean 'ds'?)");
  expect_render_error(&f->ctx, "{{ foo }}", "unknown template variable 'foo'");
  expect_render_error(&f->ctx, "{{ execution_date }}",
                      "unknown template variable 'execution_date'");
  expect_render_error(
      &f->ctx, "{{ parms.env }}",
      "unknown template variable 'parms.env' (did you mean 'params.env'?)");
  expect_render_error(&f->ctx, "{{ ds.year }}", "unknown template variable 'ds.year'");
  expect_render_error(&f->ctx, "{{ task_idd }}",
                      "unknown template variable 'task_idd' (did you mean 'task_id'?)");
  expect_render_error(&f->ctx, "{{ params }}", "'params' needs a key: {{ params.NAME }}");
  expect_render_error(&f->ctx, "{{ conf }}", "'conf' needs a key: {{ conf.NAME }}");
}

static void test_check(void **state) {
  (void)state;
  char *err = (char *)"unset";
  assert_int_equal(
      dag_template_check("{{ params.anything }} {{ conf.a.b.c }} {{ ts }}", &err), 0);
  assert_null(err);
  assert_int_equal(dag_template_check("plain", NULL), 0);
  expect_check_error("{{ ds", "unterminated '{{' at offset 0");
  expect_check_error("ok {{ tss }}",
                     "unknown template variable 'tss' (did you mean 'ts'?)");
  expect_check_error("{# c #}",
                     "'{#' at offset 0: only {{ name }} templates are supported");
  expect_check_error("{{ params }}", "'params' needs a key: {{ params.NAME }}");
  /* err may be NULL when only the verdict matters. */
  assert_int_equal(dag_template_check("{{ nope }}", NULL), DAG_ETEMPLATE);
}

static void test_nul_in_string_value(void **state) {
  struct fixture *f = *state;
  json_t *conf = json_pack("{s:s%}", "bin", "a\0b", (size_t)3);
  f->ctx.conf = conf;
  expect_render_error(&f->ctx, "{{ conf.bin }}",
                      "value of 'conf.bin' contains a NUL byte");
  json_decref(conf);
}

static void expect_shell(const struct dag_template_ctx *ctx, const char *tmpl,
                         const char *want) {
  char *out = NULL, *err = NULL;
  int rc = dag_template_render_shell(tmpl, ctx, &out, &err);
  if (rc != 0) fail_msg("render '%s': %s", tmpl, err ? err : "(no message)");
  assert_string_equal(out, want);
  free(out);
}

/* In a shell command every value is one single-quoted word, whatever it
 * holds; `| raw` splices text in for authors who mean it. */
static void test_shell_quoting(void **state) {
  struct fixture *f = *state;
  expect_shell(&f->ctx, "echo {{ ds }}", "echo '2024-01-01'");
  expect_shell(&f->ctx, "echo {{ params.limit }} {{ params.none }}", "echo '10' ''");
  expect_shell(&f->ctx, "echo {{ params.tables }}", "echo '[\"a\",\"b\"]'");
  expect_shell(&f->ctx, "x={{ params.env | raw }}", "x=prod");
  expect_shell(&f->ctx, "x={{params.env|raw}}", "x=prod");
  expect_shell(&f->ctx, "no tags", "no tags");

  json_t *conf = json_pack("{s:s, s:s, s:s, s:s}", "evil", "1 /dev/null; id > /tmp/x; #",
                           "quote", "it's", "quotes", "''", "subst", "$(id) `id` \\ \n \"");
  f->ctx.conf = conf;
  expect_shell(&f->ctx, "awk -v min={{ params.evil }} x",
               "awk -v min='1 /dev/null; id > /tmp/x; #' x");
  expect_shell(&f->ctx, "echo {{ conf.quote }}", "echo 'it'\\''s'");
  expect_shell(&f->ctx, "echo {{ conf.quotes }}", "echo ''\\'''\\'''");
  expect_shell(&f->ctx, "echo {{ conf.subst }}", "echo '$(id) `id` \\ \n \"'");
  /* Without a shell there is nothing to quote for: raw changes nothing. */
  expect_render(&f->ctx, "{{ conf.quote }}|{{ conf.quote | raw }}", "it's|it's");
  json_decref(conf);
}

/* Airflow's dotted context names and prev_data_interval_start_success. */
static void test_airflow_names(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ dag.dag_id }}/{{ task.task_id }}/{{ ti.try_number }}",
                "etl/load/2");
  expect_render(&f->ctx, "[{{ prev_data_interval_start_success }}]", "[]");
  expect_render(&f->ctx, "{{ prev_data_interval_start_success | default('first', true) }}",
                "first");
  f->ctx.has_prev_success = true;
  f->ctx.prev_data_interval_start_success = SEC(1703980800); /* 2023-12-31 */
  expect_render(&f->ctx, "{{ prev_data_interval_start_success }}",
                "2023-12-31T00:00:00+00:00");
  expect_render(&f->ctx, "{{ prev_data_interval_start_success | default('first', true) }}",
                "2023-12-31T00:00:00+00:00");
  expect_render_error(&f->ctx, "{{ dag.dag_idd }}",
                      "unknown template variable 'dag.dag_idd' (did you mean 'dag.dag_id'?)");
  expect_render_error(&f->ctx, "{{ dag }}",
                      "unknown template variable 'dag' (did you mean 'ds'?)");
  expect_render_error(&f->ctx, "{{ ti.try }}",
                      "'ti.try': use {{ ti.xcom_pull(task_ids='TASK') }}, {{ ti.xcom.TASK_ID.KEY }} or "
                    "{{ ti.try_number }}");
  expect_render_error(&f->ctx, "{{ macros.ds_sub(ds, 1) }}",
                      "unknown template variable 'macros.ds_sub' (did you mean "
                      "'macros.ds_add'?)");
}

static void test_macros(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ macros.ds_add(ds, 5) }}", "2024-01-06");
  expect_render(&f->ctx, "{{ macros.ds_add(ds, -1) }}", "2023-12-31");
  expect_render(&f->ctx, "{{ macros.ds_add('2024-02-28', 1) }}", "2024-02-29");
  expect_render(&f->ctx, "{{ macros.ds_add('2023-02-28', 1) }}", "2023-03-01");
  expect_render(&f->ctx, "{{ macros.ds_add(\"2015-01-06\", -5) }}", "2015-01-01");
  expect_render(&f->ctx, "{{ macros.ds_add(ds, 366) }}", "2025-01-01");
  expect_render(&f->ctx, "{{ macros.ds_add(ds, conf.n) }}", "2024-01-08");
  /* Airflow hands ds back untouched when days is 0. */
  expect_render(&f->ctx, "{{ macros.ds_add(ds, 0) }}", "2024-01-01");
  expect_render(&f->ctx, "{{ macros.ds_add(ds, -1) | replace('-', '') }}", "20231231");
  expect_render(&f->ctx, "{{ macros.ds_format(ds, '%Y-%m-%d', '%Y/%m/%d') }}",
                "2024/01/01");
  expect_render(&f->ctx, "{{ macros.ds_format('2022-02-01', '%Y-%m-%d', '%b %d, %Y') }}",
                "Feb 01, 2022");
  expect_render(&f->ctx, "{{ macros.ds_format(ds_nodash, '%Y%m%d', '%A %j') }}",
                "Monday 001");
  expect_render(&f->ctx, "{{ macros.ds_format(macros.ds_add(ds, 45), '%Y-%m-%d', '%m') }}",
                "02");
  expect_render_error(&f->ctx, "{{ macros.ds_add('2024-13-01', 1) }}",
                      "macros.ds_add: '2024-13-01' is not a YYYY-MM-DD date");
  expect_render_error(&f->ctx, "{{ macros.ds_add('2024-01-01x', 1) }}",
                      "macros.ds_add: '2024-01-01x' is not a YYYY-MM-DD date");
  expect_render_error(&f->ctx, "{{ macros.ds_add(ds, '1') }}",
                      "macros.ds_add: days must be a whole number");
  expect_render_error(&f->ctx, "{{ macros.ds_add('9999-12-31', 1) }}",
                      "macros.ds_add: the date is out of range");
  expect_render_error(&f->ctx, "{{ macros.ds_format(ds, '%Y%m%d', '%Y') }}",
                      "macros.ds_format: '2024-01-01' does not match the format '%Y%m%d'");
  expect_render_error(&f->ctx, "{{ macros.ds_format(ds, '%Y-%m-%d') }}",
                      "macros.ds_format takes 3 arguments (ds, input_format, "
                      "output_format), got 2");
  expect_render_error(&f->ctx, "{{ macros.ds_add(params.nope, 1) }}", "unknown param 'nope'");
}

static void test_filters(void **state) {
  struct fixture *f = *state;
  expect_render(&f->ctx, "{{ params.env | upper }}", "PROD");
  expect_render(&f->ctx, "{{ 'MiXeD \xc3\xa9' | lower }}|{{ 'MiXeD \xc3\xa9' | upper }}",
                "mixed \xc3\xa9|MIXED \xc3\xa9");
  expect_render(&f->ctx, "{{ dag.dag_id|upper|lower }}", "etl");
  expect_render(&f->ctx, "{{ params.limit | upper }}", "10");
  /* default: Jinja's, undefined only unless the second argument is true. */
  expect_render(&f->ctx, "{{ params.nope | default('x') }}", "x");
  expect_render(&f->ctx, "{{ params.env | default('x') }}", "prod");
  expect_render(&f->ctx, "[{{ params.none | default('x') }}]", "[]");
  expect_render(&f->ctx, "{{ params.none | default('x', true) }}", "x");
  expect_render(&f->ctx, "{{ params.off | default('x', true) }}", "x");
  expect_render(&f->ctx, "{{ params.off | default('x') }}", "false");
  expect_render(&f->ctx, "[{{ conf.missing | default }}]", "[]");
  expect_render(&f->ctx, "{{ conf.missing | default(params.env) | upper }}", "PROD");
  expect_render(&f->ctx, "{{ ti.xcom.t.k | default(7) }}", "7");
  /* An undefined boolean argument is false, as Jinja's Undefined. */
  expect_render(&f->ctx, "{{ params.nope | default('x', conf.missing) }}", "x");
  expect_render(&f->ctx, "{{ params.off | default('x', conf.missing) }}", "false");
  expect_render_error(&f->ctx, "{{ conf.missing | default(conf.other) }}",
                      "conf has no key 'other'");
  expect_render_error(&f->ctx, "{{ params.nope | upper }}", "unknown param 'nope'");
  /* replace: Python's str.replace. */
  expect_render(&f->ctx, "{{ ds | replace('-', '/') }}", "2024/01/01");
  expect_render(&f->ctx, "{{ ds | replace('-', '', 1) }}", "202401-01");
  expect_render(&f->ctx, "{{ 'aaa' | replace('a', 'bb', -1) }}", "bbbbbb");
  expect_render(&f->ctx, "{{ 'abc' | replace('', '-') }}", "-a-b-c-");
  expect_render(&f->ctx, "{{ 'abc' | replace('x', 'y') }}", "abc");
  expect_render(&f->ctx, "{{ 'a\\'b' | replace(\"'\", \"\\\"\") }}", "a\"b");
  expect_render_error(&f->ctx, "{{ ds | replace('-', '', 'x') }}",
                      "replace: count must be a whole number");
  /* tojson: Jinja's htmlsafe_json_dumps (sorted keys, ", " and ": "). */
  expect_render(&f->ctx, "{{ params.db | tojson }}", "{\"host\": \"h1\", \"port\": 5432}");
  expect_render(&f->ctx, "{{ params.tables | tojson }}", "[\"a\", \"b\"]");
  expect_render(&f->ctx, "{{ params.env | tojson }}", "\"prod\"");
  expect_render(&f->ctx, "{{ params.none | tojson }}", "null");
  expect_render(&f->ctx, "{{ params.limit | tojson }}", "10");
  expect_render(&f->ctx, "{{ '<a href=\\'x\\'>&\xc3\xa9</a>' | tojson }}",
                "\"\\u003ca href=\\u0027x\\u0027\\u003e\\u0026\\u00e9\\u003c/a\\u003e\"");
  expect_render(&f->ctx, "{{ '\xc3\xa9" "ABC\\\\uABCD' | tojson }}", "\"\\u00e9ABC\\\\uABCD\"");
  expect_render_error(&f->ctx, "{{ params.nope | tojson }}", "unknown param 'nope'");
  /* shquote: one POSIX shell word, wherever the text goes. */
  expect_render(&f->ctx, "{{ params.env | shquote }}", "'prod'");
  expect_render(&f->ctx, "{{ \"it's\" | shquote }}", "'it'\\''s'");
  expect_render(&f->ctx, "{{ '' | shquote }}", "''");
}

/* In a shell command a value that shquote quoted goes in as it is, never
 * quoted twice; any other filter's result is quoted like any value. */
static void test_shell_filters(void **state) {
  struct fixture *f = *state;
  json_t *conf = json_pack("{s:s}", "evil", "x'; rm -rf ~; echo '");
  f->ctx.conf = conf;
  expect_shell(&f->ctx, "echo {{ conf.evil | shquote }}",
               "echo 'x'\\''; rm -rf ~; echo '\\'''");
  expect_shell(&f->ctx, "echo {{ conf.evil | upper }}",
               "echo 'X'\\''; RM -RF ~; ECHO '\\'''");
  expect_shell(&f->ctx, "echo {{ conf.nope | default(conf.evil) }}",
               "echo 'x'\\''; rm -rf ~; echo '\\'''");
  expect_shell(&f->ctx, "echo {{ macros.ds_add(ds, 1) }}", "echo '2024-01-02'");
  json_decref(conf);
}

static void test_check_new_syntax(void **state) {
  (void)state;
  assert_int_equal(dag_template_check("{{ macros.ds_add(ds, -3) | replace('-', '') }} "
                                      "{{ params.x | default('a', true) | tojson }} "
                                      "{{ conf.y | shquote }} {{ ti.try_number }}",
                                      NULL),
                   0);
  expect_check_error("{{ ds | uppr }}",
                     "unknown filter 'uppr' at offset 0 (did you mean 'upper'?)");
  expect_check_error("{{ macros.ds_ad(ds, 1) }}",
                     "unknown template variable 'macros.ds_ad' (did you mean "
                     "'macros.ds_add'?)");
  expect_check_error("{{ macros.ds_add(ds, 1, 2) }}",
                     "macros.ds_add takes 2 arguments (ds, days), got 3");
  expect_check_error("{{ ds | default(dss) }}",
                     "unknown template variable 'dss' (did you mean 'ds'?)");
  expect_check_error("{{ ds | tojson('x') }}", "filter 'tojson' takes no arguments, got 1");
}

/* What /bin/sh makes of a quoted word is the value, byte for byte. */
static void test_shell_round_trip(void **state) {
  (void)state;
  const char *values[] = {"", "plain", "it's", "'", "''", "a'b'c", "$(id); `id` | & > <",
                          "line1\nline2", "\\'\"", " lead and trail "};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    struct strbuf cmd = STRBUF_INIT;
    sb_append(&cmd, "printf %s ");
    dag_shell_quote(&cmd, values[i], strlen(values[i]));
    FILE *p = popen(sb_str(&cmd), "r");
    assert_non_null(p);
    char buf[256];
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_string_equal(buf, values[i]);
    sb_free(&cmd);
  }
}

static void set_env(void *ud, const char *name, const char *value) {
  json_object_set_new(ud, name, json_string(value));
}

static void test_env(void **state) {
  struct fixture *f = *state;
  json_t *env = json_object();
  json_object_set_new(f->params, "bad-name", json_string("x"));
  json_object_set_new(f->params, "big", json_string("0123456789abcdef"));
  dag_template_env(&f->ctx, set_env, env);
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_env")), "prod");
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_limit")), "10");
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_none")), "");
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_shadowed")),
                      "from-conf");
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_date")),
                      "2024-02-02");
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_db")),
                      "{\"host\":\"h1\",\"port\":5432}");
  assert_null(json_object_get(env, "DAGCTL_PARAM_bad-name"));
  json_t *params = json_loads(json_string_value(json_object_get(env, "DAGCTL_PARAMS")), 0, NULL);
  assert_string_equal(json_string_value(json_object_get(params, "bad-name")), "x");
  assert_string_equal(json_string_value(json_object_get(params, "shadowed")), "from-conf");
  json_decref(params);
  json_t *conf = json_loads(json_string_value(json_object_get(env, "DAGCTL_CONF")), 0, NULL);
  assert_true(json_equal(conf, f->conf));
  json_decref(conf);
  json_decref(env);

  /* No conf: {}. A value too long for the environment is left out. */
  char *huge = calloc(1, DAG_TEMPLATE_ENV_MAX + 2);
  memset(huge, 'x', DAG_TEMPLATE_ENV_MAX + 1);
  json_object_set_new(f->params, "huge", json_string(huge));
  free(huge);
  f->ctx.conf = NULL;
  env = json_object();
  dag_template_env(&f->ctx, set_env, env);
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_CONF")), "{}");
  assert_null(json_object_get(env, "DAGCTL_PARAM_huge"));
  assert_null(json_object_get(env, "DAGCTL_PARAMS"));
  assert_string_equal(json_string_value(json_object_get(env, "DAGCTL_PARAM_env")), "prod");
  json_decref(env);
}

/* Airflow's ti.xcom_pull(task_ids=..., key=...), key defaulting to
 * return_value. */
static void test_xcom_pull(void **state) {
  struct fixture *f = *state;
  json_t *xcom = json_pack("{s:{s:s, s:i, s:[s,s]}}", "extract", "return_value", "a b", "rows",
                           42, "files", "x", "y");
  f->ctx.xcom = xcom;
  expect_render(&f->ctx, "{{ ti.xcom_pull(task_ids='extract') }}", "a b");
  expect_render(&f->ctx, "{{ ti.xcom_pull('extract') }}", "a b");
  expect_render(&f->ctx, "{{ ti.xcom_pull(\"extract\", key='rows') }}", "42");
  expect_render(&f->ctx, "{{ ti.xcom_pull( key = 'files' , task_ids = 'extract' ) }}",
                "[\"x\",\"y\"]");
  expect_render(&f->ctx, "{{ ti.xcom_pull('extract', key='rows') | tojson }}", "42");
  expect_render(&f->ctx, "{{ ti.xcom_pull('load') | default('none') }}", "none");
  expect_render_error(&f->ctx, "{{ ti.xcom_pull('load') }}",
                      "no XCom value 'return_value' of task 'load' in this run (has that task "
                      "run and pushed it?)");
  char *out = NULL, *err = NULL;
  assert_int_equal(dag_template_render_shell("echo {{ ti.xcom_pull('extract') }}", &f->ctx,
                                             &out, &err), 0);
  assert_string_equal(out, "echo 'a b'");
  free(out);
  f->ctx.xcom = NULL;
  json_decref(xcom);
  /* Misuse is caught by the loader's check, before any run. */
  expect_check_error("{{ ti.xcom_pull() }}",
                     "ti.xcom_pull needs task_ids: ti.xcom_pull(task_ids='TASK')");
  expect_check_error("{{ ti.xcom_pull(task_ids=x) }}",
                     "ti.xcom_pull: task_ids must be a quoted string (one task id: lists are "
                     "not supported)");
  expect_check_error("{{ ti.xcom_pull('a', 'k') }}",
                     "ti.xcom_pull: give the key by name: ti.xcom_pull('TASK', key='KEY')");
  expect_check_error("{{ ti.xcom_pull('a', key='k', key='j') }}",
                     "ti.xcom_pull: key given twice");
  expect_check_error("{{ ti.xcom_pull('a', include_prior_dates=true) }}",
                     "ti.xcom_pull: argument 'include_prior_dates' is not supported (give "
                     "task_ids and key)");
  /* The loader learns which tasks' XComs a template reads. */
  struct dag_template_refs refs = {0};
  char *err2 = NULL;
  assert_int_equal(dag_template_check_refs("{{ ti.xcom_pull('a') }} {{ ti.xcom.b.k }} "
                                           "{{ ti.xcom_pull(key='k', task_ids='a') }} {{ ds }}",
                                           &refs, &err2), 0);
  assert_null(err2);
  assert_int_equal(refs.n, 2);
  assert_string_equal(refs.ids[0], "a");
  assert_string_equal(refs.ids[1], "b");
  dag_template_refs_free(&refs);
  expect_check_error("{{ ti.xcom_pull('a' }}",
                     "unsupported expression 'ti.xcom_pull('a'' at offset 0: expected ',' or ')'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_times_with_seconds_and_microseconds, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_ids_and_try_number, setup, teardown),
      cmocka_unit_test_setup_teardown(test_spacing_and_literal_text, setup, teardown),
      cmocka_unit_test_setup_teardown(test_params, setup, teardown),
      cmocka_unit_test_setup_teardown(test_conf_overrides_params, setup, teardown),
      cmocka_unit_test_setup_teardown(test_conf, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lookup_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_names, setup, teardown),
      cmocka_unit_test(test_check),
      cmocka_unit_test_setup_teardown(test_nul_in_string_value, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shell_quoting, setup, teardown),
      cmocka_unit_test(test_shell_round_trip),
      cmocka_unit_test_setup_teardown(test_airflow_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_macros, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shell_filters, setup, teardown),
      cmocka_unit_test(test_check_new_syntax),
      cmocka_unit_test_setup_teardown(test_env, setup, teardown),
      cmocka_unit_test_setup_teardown(test_xcom_pull, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
