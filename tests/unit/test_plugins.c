/* test_plugins.c - plugin discovery and the ABI checks of plugins.c, on the
 * test plugins built into tests/plugins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
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
  assert_string_equal(big->types[0], "big_one");
  assert_string_equal(big->types[1], "big_two");
  assert_string_equal(big->types[2], "big_three");
  assert_string_equal(big->descriptions[2], "third of three");
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grown_type_entries),
      cmocka_unit_test(test_old_abi_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
