/* test_config_smtp.c - the smtp section of dagctl.yaml: defaults, the
 * password that must never sit in clear in the file, address lists.
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
  return config_setup(state, "/tmp/dagctl-config-smtp-XXXXXX");
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
  assert_null(f->cfg.smtp_host);
  assert_int_equal(f->cfg.smtp_port, 587);
  assert_int_equal(f->cfg.smtp_tls, DAG_SMTP_STARTTLS);
  assert_null(f->cfg.smtp_user);
  assert_null(f->cfg.smtp_password);
  assert_null(f->cfg.smtp_from);
  assert_null(f->cfg.smtp_to);
  assert_null(f->cfg.smtp_ca_file);
  assert_int_equal(f->cfg.smtp_timeout_us, 30 * DAG_USEC_PER_SEC);
  assert_int_equal(f->cfg.smtp_retry_base_us, 30 * DAG_USEC_PER_SEC);
}

static void test_file_values(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "smtp:\n"
                  "  host: mail.example.com\n"
                  "  port: 2525\n"
                  "  tls: none\n"
                  "  user: alerts\n"
                  "  from: dagctl@example.com\n"
                  "  to: ops@example.com, data@example.com;oncall@example.com\n"
                  "  ca_file: certs/ca.pem\n"
                  "  timeout: 10s\n"
                  "  retry_base: 1m\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(f->cfg.smtp_host, "mail.example.com");
  assert_int_equal(f->cfg.smtp_port, 2525);
  assert_int_equal(f->cfg.smtp_tls, DAG_SMTP_NO_TLS);
  assert_string_equal(f->cfg.smtp_user, "alerts");
  assert_string_equal(f->cfg.smtp_from, "dagctl@example.com");
  assert_string_equal(f->cfg.smtp_to, "ops@example.com,data@example.com,oncall@example.com");
  char *ca = xasprintf("%s/certs/ca.pem", f->dir);
  assert_string_equal(f->cfg.smtp_ca_file, ca);
  free(ca);
  assert_int_equal(f->cfg.smtp_timeout_us, 10 * DAG_USEC_PER_SEC);
  assert_int_equal(f->cfg.smtp_retry_base_us, 60 * DAG_USEC_PER_SEC);
}

static void test_implicit_tls_port(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__SMTP__TLS=implicit", NULL};
  assert_int_equal(load(f, env), 0);
  assert_int_equal(f->cfg.smtp_tls, DAG_SMTP_IMPLICIT);
  assert_int_equal(f->cfg.smtp_port, 465);
  /* An explicit port wins over the derived one. */
  char *env2[] = {"DAGCTL__SMTP__TLS=implicit", "DAGCTL__SMTP__PORT=10465", NULL};
  assert_int_equal(load(f, env2), 0);
  assert_int_equal(f->cfg.smtp_port, 10465);
}

static void test_password_in_clear_is_an_error(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "smtp:\n  host: mail.example.com\n  password: hunter2-in-clear\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:13: smtp.password must not be written in clear "
                  "in the config file; set DAGCTL__SMTP__PASSWORD in the environment or "
                  "smtp.password_file to a file only you can read");
  assert_null(strstr(f->errors, "hunter2"));
  assert_null(f->cfg.smtp_password);
}

static void test_password_from_env_is_masked(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__SMTP__PASSWORD=s3cret pass phrase", NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(f->cfg.smtp_password, "s3cret pass phrase");
  char line[] = "AUTH failed pass=s3cret pass phrase user=x";
  dag_log_redact(line);
  assert_string_equal(line, "AUTH failed pass=*** user=x");
}

static void test_password_file(void **state) {
  struct config_fixture *f = *state;
  write_file(f, "secrets/smtp", "pass with spaces\r\n");
  write_config(f, "smtp:\n  password_file: secrets/smtp\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(f->cfg.smtp_password, "pass with spaces");
  char line[] = "x=pass with spaces";
  dag_log_redact(line);
  assert_string_equal(line, "x=***");

  /* The environment replaces the file's choice. */
  char *env2[] = {"DAGCTL__SMTP__PASSWORD=from-env", NULL};
  assert_int_equal(load(f, env2), 0);
  assert_string_equal(f->cfg.smtp_password, "from-env");

  write_file(f, "secrets/two", "line one\nline two\n");
  write_config(f, "smtp:\n  password_file: secrets/two\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  char *want = xasprintf(".dagctl/dagctl.yaml:2:18: smtp.password_file: %s/secrets/two must "
                         "hold one line without control characters",
                         f->dir);
  assert_error(f, want);
  free(want);
  assert_null(strstr(f->errors, "line one"));
}

static void test_bad_values(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "smtp:\n  tls: ssl\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:8: smtp.tls: expected one of starttls, implicit, "
                  "none, got 'ssl'");

  write_config(f, "smtp:\n  to: ops@example.com, not-an-address\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:7: smtp.to: 'not-an-address' is not an email "
                  "address (expected local@domain)");

  write_config(f, "smtp:\n  from: Ops <ops@example.com>\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:9: smtp.from: expected an email address "
                  "(local@domain), got 'Ops <ops@example.com>'");

  /* A header injection attempt through the environment. */
  char *env2[] = {"DAGCTL__SMTP__TO=a@x.org\r\nBcc: evil@x.org", NULL};
  assert_int_equal(load(f, env2), DAG_ECONFIG);
  assert_null(f->cfg.smtp_to);

  write_config(f, "smtp:\n  port: 0\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:9: smtp.port: expected an integer from 1 to 65535, "
                  "got '0'");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_defaults),
      T(test_file_values),
      T(test_implicit_tls_port),
      T(test_password_in_clear_is_an_error),
      T(test_password_from_env_is_masked),
      T(test_password_file),
      T(test_bad_values),
  };
  return cmocka_run_group_tests(tests, NULL, config_group_teardown);
}
