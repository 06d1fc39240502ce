/* test_plugins.c - plugin discovery and the ABI checks of plugins.c, on the
 * test plugins built into tests/plugins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "plugin_rules.h"
#include "plugins.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the folder of the test plugins"
#endif

static const struct dag_plugin_info *find(const struct dag_plugin_info *p, size_t n,
                                          const char *file) {
  for (size_t i = 0; i < n; i++) {
    const char *slash = strrchr(p[i].path, '/');
    if (strcmp(slash ? slash + 1 : p[i].path, file) == 0) return &p[i];
  }
  fail_msg("%s not scanned", file);
  return NULL;
}

/* Entries larger than the host's struct (a plugin built against a later
 * plugin.h) are read at the plugin's stride. */
static void test_grown_type_entries(void **state) {
  (void)state;
  struct dag_plugin_info *p = NULL;
  size_t n = 0;
  assert_int_equal(dag_plugins_scan(TEST_PLUGIN_DIR, &p, &n), 0);
  const struct dag_plugin_info *big = find(p, n, "test_plugin_big.so");
  assert_null(big->error);
  assert_string_equal(big->name, "big");
  assert_int_equal(big->n_types, 3);
  assert_string_equal(big->types[0].name, "big_one");
  assert_string_equal(big->types[1].name, "big_two");
  assert_string_equal(big->types[2].name, "big_three");
  assert_string_equal(big->types[2].description, "third of three");
  dag_plugins_free(p, n);

  const struct dagctl_task_type *t = NULL;
  char *err = NULL;
  assert_int_equal(dag_plugin_load_type(TEST_PLUGIN_DIR, "big_two", &t, &err), 0);
  assert_null(err);
  assert_string_equal(t->name, "big_two");
  assert_int_equal(t->execute(NULL), DAGCTL_FAILED);
  assert_int_equal(dag_plugin_load_type(TEST_PLUGIN_DIR, "big_three", &t, &err), 0);
  assert_int_equal(t->execute(NULL), DAGCTL_OK);
}

static void test_old_abi_refused(void **state) {
  (void)state;
  struct dag_plugin_info *p = NULL;
  size_t n = 0;
  assert_int_equal(dag_plugins_scan(TEST_PLUGIN_DIR, &p, &n), 0);
  const struct dag_plugin_info *old = find(p, n, "test_plugin_old_abi.so");
  assert_non_null(old->error);
  assert_non_null(strstr(old->error, "built for plugin ABI version 42"));
  dag_plugins_free(p, n);

  const struct dagctl_task_type *t = NULL;
  char *err = NULL;
  assert_int_equal(dag_plugin_load_type(TEST_PLUGIN_DIR, "no_such_type", &t, &err),
                   DAG_ENOTFOUND);
  assert_non_null(strstr(err, "big_one"));
  free(err);
}

static const struct dag_plugin_type *find_type(const struct dag_plugin_info *p, size_t n,
                                               const char *name) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < p[i].n_types; k++)
      if (strcmp(p[i].types[k].name, name) == 0) return &p[i].types[k];
  fail_msg("no type %s", name);
  return NULL;
}

static void assert_declared(const struct dag_plugin_type *t) {
  assert_true(t->declared);
  assert_int_equal(t->n_params, 6);
  const struct dag_plugin_param *p = dag_plugin_type_param(t, "text");
  assert_non_null(p);
  assert_int_equal(p->type, DAGCTL_PARAM_STRING);
  assert_int_equal(p->flags, DAGCTL_PARAM_REQUIRED);
  assert_null(p->default_value);
  assert_string_equal(p->description, "any text");
  p = dag_plugin_type_param(t, "n");
  assert_int_equal(p->type, DAGCTL_PARAM_INTEGER);
  assert_string_equal(p->default_value, "7");
  assert_int_equal(dag_plugin_type_param(t, "raw")->flags, DAGCTL_PARAM_VERBATIM);
  assert_int_equal(dag_plugin_type_param(t, "wait")->type, DAGCTL_PARAM_DURATION);
  assert_int_equal(dag_plugin_type_param(t, "items")->type, DAGCTL_PARAM_LIST);
  assert_null(dag_plugin_type_param(t, "nope"));
}

/* Declarations (minor 1) are read; a plugin built for minor 0, whose
 * entries end before params, still loads and declares nothing. */
static void test_declarations_and_minor_0(void **state) {
  (void)state;
  struct dag_plugin_info *p = NULL;
  size_t n = 0;
  assert_int_equal(dag_plugins_scan(TEST_PLUGIN_DIR, &p, &n), 0);
  assert_declared(find_type(p, n, "test_declared"));
  assert_false(find_type(p, n, "test_echo")->declared);
  const struct dag_plugin_info *v10 = find(p, n, "test_plugin_v1_0.so");
  assert_null(v10->error);
  assert_int_equal(v10->n_types, 2);
  assert_string_equal(v10->types[1].name, "v10_two");
  assert_false(v10->types[0].declared);
  assert_false(v10->types[1].declared);
  /* Its descriptor ends before minor 3's config sections: none read. */
  assert_int_equal(v10->n_sections, 0);
  const struct dag_plugin_info *test = find(p, n, "test_plugin.so");
  assert_int_equal(test->n_sections, 1);
  assert_string_equal(test->sections[0].name, "sample");
  assert_string_equal(test->sections[0].owner, "test");
  assert_int_equal(test->sections[0].n_keys, 4);
  assert_string_equal(test->sections[0].keys[0].choices, "red,green,blue");
  assert_int_equal(test->sections[0].keys[1].type, DAGCTL_SETTING_INTEGER);
  assert_int_equal(test->sections[0].keys[1].max, 9);
  assert_string_equal(test->sections[0].keys[2].default_value, "${DAGCTL_HOME}/spool");
  assert_int_equal(test->sections[0].keys[3].flags, DAGCTL_SETTING_SECRET);

  /* What `dagctl plugins --json` prints reads back the same. */
  json_t *j = dag_plugins_to_json(p, n);
  struct dag_plugin_info *back = NULL;
  size_t n_back = 0;
  assert_int_equal(dag_plugins_from_json(j, &back, &n_back), 0);
  assert_int_equal(n_back, n);
  assert_declared(find_type(back, n_back, "test_declared"));
  assert_false(find_type(back, n_back, "v10_one")->declared);
  json_t *again = dag_plugins_to_json(back, n_back);
  assert_true(json_equal(j, again));
  json_decref(again);
  json_decref(j);
  dag_plugins_free(back, n_back);
  dag_plugins_free(p, n);

  const struct dagctl_task_type *t = NULL;
  char *err = NULL;
  assert_int_equal(dag_plugin_load_type(TEST_PLUGIN_DIR, "v10_two", &t, &err), 0);
  struct dag_plugin_type d;
  dag_plugin_type_describe(t, &d);
  assert_false(d.declared);
  dag_plugin_type_free(&d);
}

/* The scheduler's way: the catalog through a child `dagctl plugins --json`,
 * read again only when the folder changes; built-in types included. */
static void test_catalog_from_child(void **state) {
  (void)state;
  const char *bin = getenv("DAGCTL_BIN");
  assert_non_null(bin);
  char home[] = "/tmp/test_plugins.XXXXXX";
  assert_non_null(mkdtemp(home));
  setenv("DAGCTL_HOME", home, 1);
  setenv("DAGCTL__CORE__PLUGINS_FOLDER", TEST_PLUGIN_DIR, 1);
  char *argv[] = {(char *)bin, (char *)"plugins", (char *)"--json", NULL};
  struct dag_plugin_catalog cat;
  memset(&cat, 0, sizeof(cat));
  char *err = NULL;
  const struct dag_plugin_catalog *c = dag_plugin_catalog_update(&cat, TEST_PLUGIN_DIR, argv, &err);
  if (c == NULL) fail_msg("catalog: %s", err);
  assert_declared(dag_plugin_catalog_find(c, "test_declared"));
  assert_non_null(dag_plugin_catalog_find(c, "big_two"));
  assert_null(dag_plugin_catalog_find(c, "old_type")); /* its plugin was refused */
  const struct dag_plugin_type *stop = dag_plugin_catalog_find(c, "stop_service");
  assert_non_null(stop);
  assert_int_equal(dag_plugin_type_param(stop, "service")->flags,
                   DAGCTL_PARAM_REQUIRED | DAGCTL_PARAM_VERBATIM);
  assert_string_equal(dag_plugin_stop_key(stop), "service");
  assert_null(dag_plugin_stop_key(dag_plugin_catalog_find(c, "test_service")));

  /* Minor 2's declarations cross the child's JSON, and the rules read
   * them: the declared poke parameter, its default, a task's value. */
  const struct dag_plugin_type *every = dag_plugin_catalog_find(c, "test_sensor_every");
  assert_true(every->rules_declared);
  assert_int_equal(every->flags, DAGCTL_TYPE_SENSOR);
  assert_string_equal(every->poke_interval_param, "every");
  assert_int_equal(dag_plugin_poke_interval(every, NULL), 250000);
  json_t *cfg = json_pack("{s:s, s:s}", "every", "2s", "poke_interval", "5s");
  assert_int_equal(dag_plugin_poke_interval(every, cfg), 2000000);
  json_decref(cfg);
  assert_true(dag_plugin_may_reschedule(every));
  assert_int_equal(dag_plugin_catalog_find(c, "test_service")->flags, DAGCTL_TYPE_SERVICE);
  const struct dag_plugin_type *not_sensor = dag_plugin_catalog_find(c, "test_not_sensor");
  assert_true(not_sensor->rules_declared);
  assert_false(dag_plugin_may_reschedule(not_sensor));
  /* Built before minor 2: trusted as before, the `poke_interval` key, else
   * 60 s. */
  const struct dag_plugin_type *old = dag_plugin_catalog_find(c, "v10_one");
  assert_false(old->rules_declared);
  assert_true(dag_plugin_may_reschedule(old));
  cfg = json_pack("{s:s}", "poke_interval", "5s");
  assert_int_equal(dag_plugin_poke_interval(old, cfg), 5000000);
  json_decref(cfg);
  assert_int_equal(dag_plugin_poke_interval(old, NULL), 60000000);
  size_t n = 0;
  const char **names = dag_plugin_catalog_names(c, &n);
  assert_true(n > 10);
  free(names);

  /* Unchanged folder: the same catalog, no child. A failing command is not
   * even run. */
  char *bad[] = {(char *)"/nonexistent/dagctl", NULL};
  assert_ptr_equal(dag_plugin_catalog_update(&cat, TEST_PLUGIN_DIR, bad, &err), &cat);
  /* Another folder: read again; a command that fails gives no catalog. */
  assert_null(dag_plugin_catalog_update(&cat, home, bad, &err));
  assert_non_null(strstr(err, "/nonexistent/dagctl"));
  free(err);
  assert_null(dag_plugin_catalog_update(&cat, home, bad, &err));
  dag_plugin_catalog_free(&cat);
  rmdir(home);
  unsetenv("DAGCTL__CORE__PLUGINS_FOLDER");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grown_type_entries),
      cmocka_unit_test(test_old_abi_refused),
      cmocka_unit_test(test_declarations_and_minor_0),
      cmocka_unit_test(test_catalog_from_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
