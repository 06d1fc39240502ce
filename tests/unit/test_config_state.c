/* test_config_state.c - core.state, the metadata database: SQLite by
 * default in DAGCTL_HOME, a path made absolute, a postgresql:// URL taken
 * as written, and its password only from the environment or a file, never
 * from the URL or in clear in dagctl.yaml, and masked in logs.
 *
 * The fixture of config_harness.h: a fresh temporary working directory and a
 * synthetic environment. */
#include <limits.h>
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
#include "common.h"
#include "config.h"
#include "error.h"
#include "config_harness.h"

static int setup(void **state) {
  return config_setup(state, "/tmp/dagctl-config-state-XXXXXX");
}

static int teardown(void **state) {
  return config_teardown(state);
}

static int load(struct config_fixture *f, char *const *envp) {
  return config_load(f, NULL, envp);
}

static void test_default_is_sqlite_in_home(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  char *want = xasprintf("%s/.dagctl/dagctl.db", f->dir);
  assert_string_equal(f->cfg.state, want);
  free(want);
  assert_null(f->cfg.state_password);
}

static void test_path_and_url(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  state: db/state.db\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  char *want = xasprintf("%s/db/state.db", f->dir);
  assert_string_equal(f->cfg.state, want);
  free(want);
  char *env2[] = {"DAGCTL__CORE__STATE=postgresql://dagctl@db.example.com:5432/dagctl", NULL};
  assert_int_equal(load(f, env2), 0);
  assert_string_equal(f->cfg.state, "postgresql://dagctl@db.example.com:5432/dagctl");
}

static void test_password_in_url_is_refused(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  state: postgresql://dagctl:hunter2@db/dagctl\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_null(strstr(f->errors, "hunter2"));
  assert_non_null(strstr(f->errors, ".dagctl/dagctl.yaml:2:10: "));
  assert_non_null(strstr(f->errors, "the URL holds a password"));
  char *env2[] = {"DAGCTL__CORE__STATE=postgresql://db/dagctl?user=u&password=hunter2", NULL};
  write_config(f, "");
  assert_int_equal(load(f, env2), DAG_ECONFIG);
  assert_null(strstr(f->errors, "hunter2"));
  assert_non_null(strstr(f->errors, "DAGCTL__CORE__STATE"));
  char *env3[] = {"DAGCTL__CORE__STATE=mysql://db/dagctl", NULL};
  assert_int_equal(load(f, env3), DAG_ECONFIG);
  assert_non_null(strstr(f->errors, "the only URL scheme is postgresql://"));
}

static void test_password_sources(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  state_password: hunter2-in-clear\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_null(strstr(f->errors, "hunter2"));
  assert_null(f->cfg.state_password);

  write_config(f, "");
  char *env2[] = {"DAGCTL__CORE__STATE_PASSWORD=state secret 42", NULL};
  assert_int_equal(load(f, env2), 0);
  assert_string_equal(f->cfg.state_password, "state secret 42");
  char line[] = "connect failed password=state secret 42 db=x";
  dag_log_redact(line);
  assert_string_equal(line, "connect failed password=*** db=x");

  write_file(f, "secrets/db", "from-a-file\n");
  chmod("secrets/db", 0600);
  write_config(f, "core:\n  state_password_file: secrets/db\n");
  assert_int_equal(load(f, env), 0);
  assert_string_equal(f->cfg.state_password, "from-a-file");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_default_is_sqlite_in_home),
      T(test_path_and_url),
      T(test_password_in_url_is_refused),
      T(test_password_sources),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
