/* test_config_lake.c - the lake section of dagctl.yaml: the local default
 * under the home, S3 URLs, and the secret key that must never sit in clear
 * in the file.
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
  return config_setup(state, "/tmp/dagctl-config-lake-XXXXXX");
}

static int teardown(void **state) {
  return config_teardown(state);
}

static int load(struct config_fixture *f, char *const *envp) {
  return config_load(f, NULL, envp);
}

static void test_defaults(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  char *want = xasprintf("%s/.dagctl/lake", f->dir);
  assert_string_equal(setting(f, "lake", "url"), want);
  free(want);
  assert_null(setting(f, "lake", "endpoint"));
  assert_string_equal(setting(f, "lake", "region"), "us-east-1");
  assert_string_equal(setting(f, "lake", "path_style"), "false");
  assert_null(setting(f, "lake", "access_key_id"));
  assert_null(setting(f, "lake", "secret_access_key"));
  assert_string_equal(setting(f, "lake", "timeout"), "30s");
}

static void test_file_values(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "lake:\n"
                  "  url: s3://spotify-lake/raw//\n"
                  "  endpoint: http://127.0.0.1:4569/\n"
                  "  region: eu-west-3\n"
                  "  path_style: yes\n"
                  "  access_key_id: AKIDEXAMPLE\n"
                  "  timeout: 5s\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(setting(f, "lake", "url"), "s3://spotify-lake/raw");
  assert_string_equal(setting(f, "lake", "endpoint"), "http://127.0.0.1:4569");
  assert_string_equal(setting(f, "lake", "region"), "eu-west-3");
  assert_string_equal(setting(f, "lake", "path_style"), "true");
  assert_string_equal(setting(f, "lake", "access_key_id"), "AKIDEXAMPLE");
  assert_string_equal(setting(f, "lake", "timeout"), "5s");
}

static void test_local_urls(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__LAKE__URL=data/./lake/", NULL};
  assert_int_equal(load(f, env), 0);
  char *want = xasprintf("%s/data/lake", f->dir);
  assert_string_equal(setting(f, "lake", "url"), want);
  free(want);

  char *env2[] = {"DAGCTL__LAKE__URL=file:///srv/lake", NULL};
  assert_int_equal(load(f, env2), 0);
  assert_string_equal(setting(f, "lake", "url"), "/srv/lake");

  /* A bucket without a prefix. */
  char *env3[] = {"DAGCTL__LAKE__URL=s3://my.bucket-1", NULL};
  assert_int_equal(load(f, env3), 0);
  assert_string_equal(setting(f, "lake", "url"), "s3://my.bucket-1");
}

static void test_secret_in_clear_is_an_error(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "lake:\n  url: s3://b12\n  secret_access_key: wJalrXUtnFEMI\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:22: lake.secret_access_key must not be written in "
                  "clear in the config file; set DAGCTL__LAKE__SECRET_ACCESS_KEY in the "
                  "environment or lake.secret_access_key_file to a file only you can read");
  assert_null(strstr(f->errors, "wJalr"));
  assert_null(setting(f, "lake", "secret_access_key"));
}

static void test_secret_from_env_and_file(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__LAKE__SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(setting(f, "lake", "secret_access_key"), "wJalrXUtnFEMI/K7MDENG");
  char line[] = "PUT failed secret=wJalrXUtnFEMI/K7MDENG key=x";
  dag_log_redact(line);
  assert_string_equal(line, "PUT failed secret=*** key=x");

  write_file(f, "secrets/lake", "from-a-file\n");
  write_config(f, "lake:\n  secret_access_key_file: secrets/lake\n");
  char *none[] = {NULL};
  assert_int_equal(load(f, none), 0);
  assert_string_equal(setting(f, "lake", "secret_access_key"), "from-a-file");

  /* The environment replaces the file's choice. */
  assert_int_equal(load(f, env), 0);
  assert_string_equal(setting(f, "lake", "secret_access_key"), "wJalrXUtnFEMI/K7MDENG");
}

static void test_bad_values(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "lake:\n  url: gs://bucket/x\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:8: lake.url: expected s3://bucket/prefix, "
                  "file:///path or a folder, got 'gs://bucket/x'");

  write_config(f, "lake:\n  url: s3://My_Bucket/x\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:8: lake.url: 'My_Bucket' is not an S3 bucket name "
                  "(3 to 63 lowercase letters, digits, '.' or '-')");

  write_config(f, "lake:\n  url: file://relative/x\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:8: lake.url: a file:// URL needs an absolute path "
                  "(file:///path), got 'file://relative/x'");

  write_config(f, "lake:\n  endpoint: 127.0.0.1:4569\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:13: lake.endpoint: expected an http:// or https:// "
                  "URL, got '127.0.0.1:4569'");

  write_config(f, "lake:\n  path_style: maybe\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:15: lake.path_style: expected true or false, "
                  "got 'maybe'");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_defaults),
      T(test_file_values),
      T(test_local_urls),
      T(test_secret_in_clear_is_an_error),
      T(test_secret_from_env_and_file),
      T(test_bad_values),
  };
  return cmocka_run_group_tests(tests, NULL, config_group_teardown);
}
