/* test_template_vars.c - {{ var.value.NAME }}, {{ var.json.NAME.KEY }} and
 * {{ conn.NAME.FIELD }} (scheduler/core/template.c): shapes refused at
 * load time with the fix named, values through the context's lookups, a
 * missing one undefined (default replaces it), a failed lookup an error,
 * and the lookups over the store and the environment (store_vars.c). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "conn.h"
#include "error.h"
#include "log.h"
#include "store_vars.h"
#include "template.h"

static int fake_var(void *ud, const char *name, char **value, char **err) {
  (void)ud;
  if (strcmp(name, "region") == 0) *value = xstrdup("eu west");
  else if (strcmp(name, "cfg") == 0) *value = xstrdup("{\"a\": {\"b\": 7}, \"s\": \"x\"}");
  else if (strcmp(name, "broken") == 0) {
    *err = xstrdup("core.secret_key is not the key");
    return DAG_ECONFIG;
  } else
    return DAG_ENOTFOUND;
  return 0;
}

static int fake_conn(void *ud, const char *name, json_t **out, char **err) {
  (void)ud;
  (void)err;
  if (strcmp(name, "wh") != 0) return DAG_ENOTFOUND;
  struct dag_conn c = {0};
  char *e = NULL;
  assert_int_equal(dag_conn_parse_uri("postgresql://etl:pw@db:5432/gold?sslmode=require", &c, &e), 0);
  c.conn_id = xstrdup("wh");
  *out = dag_conn_json(&c);
  dag_conn_clear(&c);
  return 0;
}

static char *render(const char *tmpl, bool shell, int want) {
  struct dag_template_ctx ctx = {.dag_id = "d", .task_id = "t", .run_id = "r",
                                 .lookup_var = fake_var, .lookup_conn = fake_conn};
  char *out = NULL, *err = NULL;
  int rc = shell ? dag_template_render_shell(tmpl, &ctx, &out, &err)
                 : dag_template_render(tmpl, &ctx, &out, &err);
  if (rc != want) fail_msg("%s: rc %d, %s", tmpl, rc, err ? err : out);
  if (rc) {
    free(out);
    return err;
  }
  free(err);
  return out;
}

static void values(void **state) {
  (void)state;
  static const struct {
    const char *tmpl, *want;
  } cases[] = {
      {"{{ var.value.region }}", "eu west"},
      {"{{ var.json.cfg.a.b }}", "7"},
      {"{{ var.json.cfg.s | upper }}", "X"},
      {"{{ var.value.nope | default('d') }}", "d"},
      {"{{ var.json.cfg.zz | default('none') }}", "none"},
      {"{{ conn.wh.host }}:{{ conn.wh.port }}/{{ conn.wh.schema }}", "db:5432/gold"},
      {"{{ conn.wh.login }} {{ conn.wh.password }} {{ conn.wh.conn_type }}", "etl pw postgres"},
      {"{{ conn.wh.extra.sslmode }} {{ conn.wh.extra_dejson.sslmode }}", "require require"},
      {"{{ conn.wh.extra }}", "{\"sslmode\":\"require\"}"},
      {"{{ conn.other.host | default('localhost') }}", "localhost"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *out = render(cases[i].tmpl, false, 0);
    if (strcmp(out, cases[i].want) != 0) fail_msg("%s: got '%s'", cases[i].tmpl, out);
    free(out);
  }
  char *out = render("echo {{ var.value.region }}", true, 0);
  assert_string_equal(out, "echo 'eu west'");
  free(out);
  char *err = render("{{ var.value.nope }}", false, DAG_ETEMPLATE);
  assert_non_null(strstr(err, "nope"));
  free(err);
  err = render("{{ conn.other.host }}", false, DAG_ETEMPLATE);
  assert_non_null(strstr(err, "other"));
  free(err);
  err = render("{{ var.value.broken | default('x') }}", false, DAG_ETEMPLATE);
  assert_non_null(strstr(err, "secret_key"));
  free(err);
  err = render("{{ var.json.region }}", false, DAG_ETEMPLATE);
  assert_non_null(strstr(err, "JSON"));
  free(err);
}

static void shapes(void **state) {
  (void)state;
  static const struct {
    const char *tmpl, *says;
  } bad[] = {
      {"{{ var }}", "var.value.NAME"},
      {"{{ var.value }}", "var.value.NAME"},
      {"{{ var.text.x }}", "var.value.NAME"},
      {"{{ var.value.a.b }}", "var.value.NAME"},
      {"{{ conn.wh }}", "conn.NAME.FIELD"},
      {"{{ conn.wh.hots }}", "did you mean 'host'"},
      {"{{ conn.wh.host.x }}", "conn.NAME.FIELD"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *err = NULL;
    assert_int_equal(dag_template_check(bad[i].tmpl, &err), DAG_ETEMPLATE);
    if (!err || !strstr(err, bad[i].says)) fail_msg("%s: %s", bad[i].tmpl, err);
    free(err);
  }
  static const char *const good[] = {"{{ var.value.x }}", "{{ var.json.x.a.b }}",
                                     "{{ conn.x.port }}", "{{ conn.x.extra.k }}",
                                     "{{ conn.x_y.password | shquote }}"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    char *err = NULL;
    if (dag_template_check(good[i], &err) != 0) fail_msg("%s: %s", good[i], err);
  }
  /* Without lookups (a context that has none): an error, not a blank. */
  struct dag_template_ctx ctx = {.dag_id = "d"};
  char *out = NULL, *err = NULL;
  assert_int_equal(dag_template_render("{{ var.value.x }}", &ctx, &out, &err), DAG_ETEMPLATE);
  assert_non_null(strstr(err, "not available"));
  free(err);
}

static void store_lookups(void **state) {
  (void)state;
  /* The environment alone (no store): DAGCTL_CONN_ and DAGCTL_VAR_. */
  char *env[] = {"DAGCTL_CONN_MY_DB=mysql://u:env-pw-81@h:3306/s", "DAGCTL_VAR_API_TOKEN=tok-82",
                 "DAGCTL_VAR_REGION=eu", NULL};
  struct dag_store_lookup l = {NULL, env};
  struct dag_template_ctx ctx = {.dag_id = "d"};
  dag_store_template_lookups(&l, &ctx);
  char *out = NULL, *err = NULL;
  assert_int_equal(dag_template_render("{{ conn.my_db.host }} {{ conn.my_db.password }} "
                                       "{{ var.value.api_token }} {{ var.value.region }}",
                                       &ctx, &out, &err), 0);
  assert_string_equal(out, "h env-pw-81 tok-82 eu");
  free(out);
  /* The secrets it handed out are masked in dagctl's own log lines. */
  char line[] = "connecting with env-pw-81 and tok-82 in eu";
  dag_log_redact(line);
  assert_string_equal(line, "connecting with *** and *** in eu");
  assert_int_equal(dag_template_render("{{ conn.nope.host }}", &ctx, &out, &err), DAG_ETEMPLATE);
  assert_non_null(strstr(err, "DAGCTL_CONN_"));
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(values),
      cmocka_unit_test(shapes),
      cmocka_unit_test(store_lookups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
