/* test_config_kafka.c - the kafka section of dagctl.yaml: the embedded
 * default, broker lists, SASL/SSL choices and the SASL password that must
 * never sit in clear in the file.
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
  return config_setup(state, "/tmp/dagctl-config-kafka-XXXXXX");
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
  assert_string_equal(setting(f, "kafka", "bootstrap_servers"), "embedded");
  assert_null(setting(f, "kafka", "security_protocol"));
  assert_null(setting(f, "kafka", "sasl_mechanism"));
  assert_null(setting(f, "kafka", "sasl_username"));
  assert_null(setting(f, "kafka", "sasl_password"));
  assert_null(setting(f, "kafka", "ssl_ca_location"));
}

static void test_file_values(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "kafka:\n"
                  "  bootstrap_servers: ' kafka-1:9092, 10.0.0.2:9093 ,[::1]:9094'\n"
                  "  security_protocol: SASL_SSL\n"
                  "  sasl_mechanism: scram-sha-512\n"
                  "  sasl_username: pipeline\n"
                  "  ssl_ca_location: certs/ca.pem\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  /* Normalised: no blanks, librdkafka's spellings. */
  assert_string_equal(setting(f, "kafka", "bootstrap_servers"), "kafka-1:9092,10.0.0.2:9093,[::1]:9094");
  assert_string_equal(setting(f, "kafka", "security_protocol"), "sasl_ssl");
  assert_string_equal(setting(f, "kafka", "sasl_mechanism"), "SCRAM-SHA-512");
  assert_string_equal(setting(f, "kafka", "sasl_username"), "pipeline");
  char *ca = xasprintf("%s/certs/ca.pem", f->dir);
  assert_string_equal(setting(f, "kafka", "ssl_ca_location"), ca);
  free(ca);
}

static void test_env_overrides_file(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "kafka:\n  bootstrap_servers: kafka-1:9092\n");
  char *env[] = {"DAGCTL__KAFKA__BOOTSTRAP_SERVERS=embedded", NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(setting(f, "kafka", "bootstrap_servers"), "embedded");
  char *env2[] = {"DAGCTL__KAFKA__BOOTSTRAP_SERVERS=broker:19092", NULL};
  assert_int_equal(load(f, env2), 0);
  assert_string_equal(setting(f, "kafka", "bootstrap_servers"), "broker:19092");
}

static void test_password_in_clear_is_an_error(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "kafka:\n  sasl_username: u\n  sasl_password: hunter2-in-clear\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:18: kafka.sasl_password must not be written in "
                  "clear in the config file; set DAGCTL__KAFKA__SASL_PASSWORD in the "
                  "environment or kafka.sasl_password_file to a file only you can read");
  assert_null(strstr(f->errors, "hunter2"));
  assert_null(setting(f, "kafka", "sasl_password"));
}

static void test_password_from_env_is_masked(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__KAFKA__SASL_PASSWORD=kafka secret 42", NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(setting(f, "kafka", "sasl_password"), "kafka secret 42");
  char line[] = "auth failed password=kafka secret 42 user=u";
  dag_log_redact(line);
  assert_string_equal(line, "auth failed password=*** user=u");
}

static void test_password_file(void **state) {
  struct config_fixture *f = *state;
  write_file(f, "secrets/kafka", "from-a-file\n");
  write_config(f, "kafka:\n  sasl_password_file: secrets/kafka\n");
  char *env[] = {NULL};
  assert_int_equal(load(f, env), 0);
  assert_string_equal(setting(f, "kafka", "sasl_password"), "from-a-file");

  /* Both spellings in one layer: ambiguous, refused. */
  char *env2[] = {"DAGCTL__KAFKA__SASL_PASSWORD=a-secret",
                  "DAGCTL__KAFKA__SASL_PASSWORD_FILE=secrets/kafka", NULL};
  assert_int_equal(load(f, env2), DAG_ECONFIG);
  assert_error(f, "DAGCTL__KAFKA__SASL_PASSWORD_FILE: kafka.sasl_password_file: conflicts "
                  "with kafka.sasl_password (at DAGCTL__KAFKA__SASL_PASSWORD); set only one");
  assert_null(strstr(f->errors, "a-secret"));
}

static void test_bad_values(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "kafka:\n  bootstrap_servers: localhost\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:22: kafka.bootstrap_servers: 'localhost' is not a "
                  "broker (expected host:port, or 'embedded')");

  write_config(f, "kafka:\n  bootstrap_servers: a:9092,b:70000\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:22: kafka.bootstrap_servers: 'b:70000' is not a "
                  "broker (expected host:port, or 'embedded')");

  write_config(f, "kafka:\n  bootstrap_servers: ' , '\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:22: kafka.bootstrap_servers: expected 'embedded' "
                  "or brokers as host:port,host:port, got ' , '");

  write_config(f, "kafka:\n  security_protocol: tls\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:22: kafka.security_protocol: expected one of "
                  "plaintext, ssl, sasl_plaintext, sasl_ssl, got 'tls'");

  write_config(f, "kafka:\n  sasl_mechanism: SCRAM\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:19: kafka.sasl_mechanism: expected one of PLAIN, "
                  "SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI, OAUTHBEARER, got 'SCRAM'");

  write_config(f, "kafka:\n  bootstrap_server: a:1\n");
  assert_int_equal(load(f, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:3: unknown key 'kafka.bootstrap_server' (did you "
                  "mean 'kafka.bootstrap_servers'?)");

  char *env2[] = {"DAGCTL__KAFKA__BOOTSTRAP_SERVERS=a:1/x", NULL};
  write_config(f, "");
  assert_int_equal(load(f, env2), DAG_ECONFIG);
  assert_error(f, "DAGCTL__KAFKA__BOOTSTRAP_SERVERS: kafka.bootstrap_servers: 'a:1/x' is not "
                  "a broker (expected host:port, or 'embedded')");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_defaults),
      T(test_file_values),
      T(test_env_overrides_file),
      T(test_password_in_clear_is_an_error),
      T(test_password_from_env_is_masked),
      T(test_password_file),
      T(test_bad_values),
  };
  return cmocka_run_group_tests(tests, NULL, config_group_teardown);
}
