/* test_config_notify.c - the notify section of dagctl.yaml: a webhook
 * target, its URL a secret that never sits in clear in the file, and
 * located errors for a bad target. */
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
  return config_setup(state, "/tmp/dagctl-config-notify-XXXXXX");
}

static int teardown(void **state) {
  return config_teardown(state);
}

static void test_defaults(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_null(f->cfg.notify_kind);
  assert_string_equal(f->cfg.notify_format, "json");
  assert_null(f->cfg.notify_url);
  assert_int_equal(f->cfg.notify_timeout_us, 30 * DAG_USEC_PER_SEC);
  assert_int_equal(f->cfg.notify_retry_base_us, 30 * DAG_USEC_PER_SEC);
}

static void test_url_from_file_and_env(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_file(f, "hook", "https://hooks.example.com/services/T0/B0/s3cr3tTOKEN\n");
  write_config(f, "notify:\n  kind: webhook\n  format: slack\n  url_file: hook\n");
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_string_equal(f->cfg.notify_kind, "webhook");
  assert_string_equal(f->cfg.notify_format, "slack");
  assert_string_equal(f->cfg.notify_url, "https://hooks.example.com/services/T0/B0/s3cr3tTOKEN");
  /* `dagctl config show` lists it masked, as every secret. */
  struct dag_config_item *items = NULL;
  size_t n = 0, seen = 0;
  dag_config_items(&f->cfg, &items, &n);
  for (size_t i = 0; i < n; i++) {
    if (items[i].value) assert_null(strstr(items[i].value, "s3cr3tTOKEN"));
    if (strcmp(items[i].section, "notify") == 0 && strcmp(items[i].key, "url") == 0) {
      assert_true(items[i].secret);
      assert_string_equal(items[i].value, "***");
      seen++;
    }
  }
  assert_int_equal(seen, 1);
  dag_config_items_free(items, n);

  char *env2[] = {"DAGCTL__NOTIFY__URL=http://127.0.0.1:9/hook/abcdef", NULL};
  write_config(f, "notify:\n  kind: webhook\n");
  assert_int_equal(config_load(f, NULL, env2), 0);
  assert_string_equal(f->cfg.notify_url, "http://127.0.0.1:9/hook/abcdef");

  write_config(f, "notify:\n  kind: webhook\n  url_connection: slack_hook\n  format: teams\n");
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_string_equal(f->cfg.notify_url_connection, "slack_hook");
  assert_string_equal(f->cfg.notify_format, "teams");
}

static void test_bad_targets(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "notify:\n  kind: webhook\n  url: https://hooks.example.com/T/B/tok\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_non_null(strstr(f->errors, "dagctl.yaml:3:8: notify.url must not be written in clear"));
  assert_null(strstr(f->errors, "tok"));

  write_config(f, "notify:\n  kind: pager\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:9: notify.kind: expected one of webhook, got 'pager'");

  char *env2[] = {"DAGCTL__NOTIFY__URL=http://127.0.0.1:9/hook", NULL};
  write_config(f, "notify:\n  kind: webhook\n  format: discord\n");
  assert_int_equal(config_load(f, NULL, env2), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:11: notify.format: expected one of json, slack, "
                  "teams, got 'discord'");

  write_config(f, "notify:\n  format: slack\n  kind: webhook\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:9: notify.kind: no URL: set the webhook's URL in one "
                  "place: DAGCTL__NOTIFY__URL, notify.url_file or notify.url_connection");

  write_config(f, "notify:\n  kind: webhook\n  url_connection: c\n");
  assert_int_equal(config_load(f, NULL, env2), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:9: notify.kind: two URLs: set the webhook's URL in "
                  "one place: DAGCTL__NOTIFY__URL, notify.url_file or notify.url_connection");

  write_file(f, "hook", "ftp://hooks.example.com/secret-token\n");
  write_config(f, "notify:\n  kind: webhook\n  url_file: hook\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:13: notify.url: expected an http:// or https:// URL "
                  "(its value is not shown: it is a secret)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_url_from_file_and_env, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_targets, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, config_group_teardown);
}
