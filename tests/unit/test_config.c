/* test_config.c - dagctl.yaml, DAGCTL__* overrides and flags.
 *
 * Each test runs in a fresh temporary directory (also the working directory,
 * so relative paths are predictable) with a synthetic environment: the real
 * one never leaks in. */
#include <errno.h>
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
  return config_setup(state, "/tmp/dagctl-config-XXXXXX");
}

static int teardown(void **state) {
  return config_teardown(state);
}

static char *in_dir(struct config_fixture *f, const char *rel) {
  return xasprintf("%s/%s", f->dir, rel);
}

static void assert_path(struct config_fixture *f, const char *got, const char *rel) {
  char *want = in_dir(f, rel);
  assert_string_equal(got, want);
  free(want);
}

static void test_defaults(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"PATH=/usr/bin", "HOME=/root", NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_int_equal(f->diags.n, 0);
  assert_path(f, f->cfg.home, ".dagctl");
  assert_path(f, f->cfg.dags_folder, "dags");
  assert_null(f->cfg.config_file);
  assert_int_equal(f->cfg.parallelism, 32);
  assert_int_equal(f->cfg.max_active_tasks_per_dag, 16);
  assert_int_equal(f->cfg.max_active_runs_per_dag, 16);
  assert_string_equal(f->cfg.default_timezone, "UTC");
  assert_int_equal(f->cfg.task_kill_grace_us, 5 * DAG_USEC_PER_SEC);
  assert_int_equal(f->cfg.callback_timeout_us, 60 * DAG_USEC_PER_SEC);
  assert_false(f->cfg.dags_are_paused_at_creation);
  assert_false(f->cfg.durable_fsync);
  assert_int_equal(f->cfg.log_level, DAG_LOG_INFO);
  assert_string_equal(f->cfg.web_bind, "127.0.0.1");
  assert_int_equal(f->cfg.web_port, 8080);
  assert_null(f->cfg.web_token);
  assert_string_equal(f->cfg.web_base_url, "http://127.0.0.1:8080");
  /* A NULL environment is an empty one. */
  assert_int_equal(config_load(f, NULL, NULL), 0);
  assert_int_equal(f->cfg.parallelism, 32);
}

static void test_file_values(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "# dagctl settings\n"
                  "core:\n"
                  "  dags_folder: /srv/dags\n"
                  "  parallelism: 4\n"
                  "  max_active_tasks_per_dag: 3\n"
                  "  max_active_runs_per_dag: 2\n"
                  "  default_timezone: Europe/Paris\n"
                  "  task_kill_grace: 1m30s\n"
                  "  callback_timeout: 2m\n"
                  "  dags_are_paused_at_creation: true\n"
                  "  durability: full\n"
                  "  log_level: debug\n"
                  "web:\n"
                  "  bind: 0.0.0.0\n"
                  "  port: 9090\n"
                  "  token: \"s3cret-token-value-0123456789abcdef\"\n"
                  "  base_url: https://dagctl.example.com/\n");
  char *env[] = {NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_path(f, f->cfg.config_file, ".dagctl/dagctl.yaml");
  assert_string_equal(f->cfg.dags_folder, "/srv/dags");
  assert_int_equal(f->cfg.parallelism, 4);
  assert_int_equal(f->cfg.max_active_tasks_per_dag, 3);
  assert_int_equal(f->cfg.max_active_runs_per_dag, 2);
  assert_string_equal(f->cfg.default_timezone, "Europe/Paris");
  assert_int_equal(f->cfg.task_kill_grace_us, 90 * DAG_USEC_PER_SEC);
  assert_int_equal(f->cfg.callback_timeout_us, 120 * DAG_USEC_PER_SEC);
  assert_true(f->cfg.dags_are_paused_at_creation);
  assert_true(f->cfg.durable_fsync);
  assert_int_equal(f->cfg.log_level, DAG_LOG_DEBUG);
  assert_string_equal(f->cfg.web_bind, "0.0.0.0");
  assert_int_equal(f->cfg.web_port, 9090);
  assert_string_equal(f->cfg.web_token, "s3cret-token-value-0123456789abcdef");
  assert_string_equal(f->cfg.web_base_url, "https://dagctl.example.com");
}

static void test_empty_file_and_empty_sections(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "# nothing yet\n");
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_non_null(f->cfg.config_file);
  assert_int_equal(f->cfg.parallelism, 32);
  write_config(f, "core:\nweb:\n");
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_int_equal(f->cfg.web_port, 8080);
}

static void test_base_url_follows_bind_and_port(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "web:\n  bind: 10.0.0.5\n  port: 8443\n");
  char *env[] = {NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_string_equal(f->cfg.web_base_url, "http://10.0.0.5:8443");
  char *env6[] = {"DAGCTL__WEB__BIND=::1", NULL};
  assert_int_equal(config_load(f, NULL, env6), 0);
  assert_string_equal(f->cfg.web_base_url, "http://[::1]:8443");
}

static void test_env_overrides_file(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  parallelism: 8\n  log_level: warn\nweb:\n  port: 9000\n");
  char *env[] = {"DAGCTL__CORE__PARALLELISM=4",
                 "dagctl__core__log_level=debug",
                 "DAGCTL__web__Port=9001",
                 "DAGCTL__CORE__DURABILITY=full",
                 "DAGCTL__CORE__TASK_KILL_GRACE=250ms",
                 NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_int_equal(f->cfg.parallelism, 4);
  /* The prefix is case-sensitive like every variable name; the rest is not. */
  assert_int_equal(f->cfg.log_level, DAG_LOG_WARN);
  assert_int_equal(f->cfg.web_port, 9001);
  assert_true(f->cfg.durable_fsync);
  assert_int_equal(f->cfg.task_kill_grace_us, 250 * DAG_USEC_PER_MSEC);
  assert_string_equal(f->cfg.web_base_url, "http://127.0.0.1:9001");
}

static void test_flags_override_env(void **state) {
  struct config_fixture *f = *state;
  write_file(f, "envhome/dagctl.yaml", "core:\n  parallelism: 2\n");
  write_file(f, "flaghome/dagctl.yaml", "core:\n  parallelism: 3\n");
  char *env[] = {"DAGCTL_HOME=envhome", "DAGCTL_DAGS=/env/dags", NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_path(f, f->cfg.home, "envhome");
  assert_path(f, f->cfg.config_file, "envhome/dagctl.yaml");
  assert_int_equal(f->cfg.parallelism, 2);
  assert_string_equal(f->cfg.dags_folder, "/env/dags");

  struct dag_config_flags flags = {.home = "flaghome", .dags_folder = "flagdags"};
  assert_int_equal(config_load(f, &flags, env), 0);
  assert_path(f, f->cfg.home, "flaghome");
  assert_int_equal(f->cfg.parallelism, 3);
  assert_path(f, f->cfg.dags_folder, "flagdags");
}

static void test_dags_folder_precedence(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  dags_folder: from_file\n");
  char *none[] = {NULL};
  assert_int_equal(config_load(f, NULL, none), 0);
  assert_path(f, f->cfg.dags_folder, "from_file");
  char *override[] = {"DAGCTL__CORE__DAGS_FOLDER=from_override", NULL};
  assert_int_equal(config_load(f, NULL, override), 0);
  assert_path(f, f->cfg.dags_folder, "from_override");
  char *both[] = {"DAGCTL__CORE__DAGS_FOLDER=from_override", "DAGCTL_DAGS=from_env",
                  NULL};
  assert_int_equal(config_load(f, NULL, both), 0);
  assert_path(f, f->cfg.dags_folder, "from_env");
  struct dag_config_flags flags = {.dags_folder = "/abs/from_flag"};
  assert_int_equal(config_load(f, &flags, both), 0);
  assert_string_equal(f->cfg.dags_folder, "/abs/from_flag");
  /* An empty variable is an unset one, as in a shell `DAGCTL_DAGS= dagctl`. */
  char *empty[] = {"DAGCTL_DAGS=", "DAGCTL_HOME=", NULL};
  assert_int_equal(config_load(f, NULL, empty), 0);
  assert_path(f, f->cfg.dags_folder, "from_file");
  assert_path(f, f->cfg.home, ".dagctl");
}

static void test_relative_paths_are_absolute_and_normal(void **state) {
  struct config_fixture *f = *state;
  write_file(f, "conf/alt.yaml", "core:\n  dags_folder: ./x/../y//z/.\n");
  struct dag_config_flags flags = {.home = "./h/../home/",
                                   .config_file = "conf/./alt.yaml"};
  char *env[] = {NULL};
  assert_int_equal(config_load(f, &flags, env), 0);
  assert_path(f, f->cfg.home, "home");
  assert_path(f, f->cfg.config_file, "conf/alt.yaml");
  assert_path(f, f->cfg.dags_folder, "y/z");
  struct dag_config_flags root = {.home = "/../..", .dags_folder = "/a/b/../../.."};
  assert_int_equal(config_load(f, &root, env), 0);
  assert_string_equal(f->cfg.home, "/");
  assert_string_equal(f->cfg.dags_folder, "/");
}

static void test_explicit_config_file(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  parallelism: 2\n");
  write_file(f, "other.yaml", "core:\n  parallelism: 7\n");
  struct dag_config_flags flags = {.config_file = "other.yaml"};
  char *env[] = {NULL};
  assert_int_equal(config_load(f, &flags, env), 0);
  assert_int_equal(f->cfg.parallelism, 7); /* HOME/dagctl.yaml is not read */
  assert_path(f, f->cfg.config_file, "other.yaml");
}

static void test_missing_config_file(void **state) {
  struct config_fixture *f = *state;
  struct dag_config_flags flags = {.config_file = "nope.yaml"};
  char *env[] = {NULL};
  assert_int_equal(config_load(f, &flags, env), DAG_ECONFIG);
  assert_error(f, "nope.yaml: config file not found: No such file or directory");
  /* Without --config a missing HOME/dagctl.yaml is simply no settings. */
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_null(f->cfg.config_file);
}

static void test_unknown_key_in_file(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  parallelism: 4\n  paralelism: 5\n");
  char *env[] = {NULL};
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:3: unknown key 'core.paralelism' "
                  "(did you mean 'core.parallelism'?)");
  write_config(f, "web:\n  colour: blue\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:3: unknown key 'web.colour'");
}

static void test_unknown_section_in_file(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "cor:\n  parallelism: 4\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f,
               ".dagctl/dagctl.yaml:1:1: unknown section 'cor' (did you mean 'core'?)");
  write_config(f, "web: {}\nzookeeper:\n  hosts: a\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:1: unknown section 'zookeeper'");
}

static void test_bad_values_in_file(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  static const struct {
    const char *yaml, *want;
  } cases[] = {
      {"core:\n  parallelism: lots\n",
       "2:16: core.parallelism: expected an integer from 1 to 1000000, got 'lots'"},
      {"core:\n  parallelism: 0\n",
       "2:16: core.parallelism: expected an integer from 1 to 1000000, got '0'"},
      {"core:\n  parallelism: 4.5\n",
       "2:16: core.parallelism: expected an integer from 1 to 1000000, got '4.5'"},
      {"core:\n  parallelism: 99999999999\n",
       "2:16: core.parallelism: expected an integer from 1 to 1000000, got '99999999999'"},
      {"core:\n  parallelism: [1, 2]\n",
       "2:16: core.parallelism: expected an integer from 1 to 1000000, got a list"},
      {"core:\n  parallelism:\n",
       "2:15: core.parallelism: expected an integer from 1 to 1000000, got null"},
      {"core:\n  parallelism: 1000001\n",
       "2:16: core.parallelism: expected an integer from 1 to 1000000, got '1000001'"},
      {"core:\n  max_active_runs_per_dag: 1000001\n",
       "2:28: core.max_active_runs_per_dag: expected an integer from 1 to 1000000, "
       "got '1000001'"},
      {"core:\n  max_active_tasks_per_dag: 1000001\n",
       "2:29: core.max_active_tasks_per_dag: expected an integer from 1 to 1000000, "
       "got '1000001'"},
      {"core:\n  task_kill_grace: 106751990d\n",
       "2:20: core.task_kill_grace: duration '106751990d' is too long "
       "(at most 36525d, 100 years)"},
      {"smtp:\n  timeout: 36525d1us\n",
       "2:12: smtp.timeout: duration '36525d1us' is too long (at most 36525d, 100 years)"},
      {"smtp:\n  retry_base: 9999999999999\n",
       "2:15: smtp.retry_base: duration '9999999999999' is too long "
       "(at most 36525d, 100 years)"},
      {"lake:\n  timeout: 99999999999999999999s\n",
       "2:12: lake.timeout: duration '99999999999999999999s' is too long "
       "(at most 36525d, 100 years)"},
      {"web:\n  port: 70000\n",
       "2:9: web.port: expected an integer from 1 to 65535, got '70000'"},
      {"core:\n  dags_are_paused_at_creation: maybe\n",
       "2:32: core.dags_are_paused_at_creation: expected true or false, got 'maybe'"},
      {"core:\n  task_kill_grace: soon\n",
       "2:20: core.task_kill_grace: expected a duration such as 30s, 5m or 1h30m, "
       "got 'soon'"},
      {"core:\n  default_timezone: Mars/Olympus\n",
       "2:21: core.default_timezone: expected a time zone such as UTC or "
       "Europe/Paris, got 'Mars/Olympus'"},
      {"core:\n  durability: paranoid\n",
       "2:15: core.durability: expected 'normal' or 'full', got 'paranoid'"},
      {"core:\n  log_level: verbose\n",
       "2:14: core.log_level: expected one of debug, info, warn, error, got 'verbose'"},
      {"web:\n  base_url: ftp://x\n",
       "2:13: web.base_url: expected an http:// or https:// URL, got 'ftp://x'"},
      {"web:\n  bind: ''\n", "2:9: web.bind: expected a non-empty string, got ''"},
      {"core: 5\n", "1:7: core: expected a mapping of settings, got a scalar"},
      {"- core\n", "1:1: expected a mapping of sections (core:, web:, ...), got a list"},
      {"core:\n  [a]: 1\n", "2:3: core: expected a key name, got a list"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    write_config(f, cases[i].yaml);
    assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
    char *want = xasprintf(".dagctl/dagctl.yaml:%s", cases[i].want);
    assert_error(f, want);
    free(want);
  }
}

static void test_bool_spellings(void **state) {
  struct config_fixture *f = *state;
  static const struct {
    const char *text;
    bool want;
  } cases[] = {{"true", true}, {"True", true},   {"yes", true},    {"on", true},
               {"1", true},    {"false", false}, {"FALSE", false}, {"no", false},
               {"off", false}, {"0", false}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *var = xasprintf("DAGCTL__CORE__DAGS_ARE_PAUSED_AT_CREATION=%s", cases[i].text);
    char *env[] = {var, NULL};
    assert_int_equal(config_load(f, NULL, env), 0);
    assert_int_equal(f->cfg.dags_are_paused_at_creation, cases[i].want);
    free(var);
  }
}

static void test_every_problem_is_reported(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  parallelism: -1\n  log_level: loud\nweb:\n  port: http\n");
  char *env[] = {"DAGCTL__CORE__NOPE=1", NULL};
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_int_equal(f->diags.n, 4);
  assert_int_equal(f->diags.items[0].line, 2);
  assert_int_equal(f->diags.items[1].line, 3);
  assert_int_equal(f->diags.items[2].line, 5);
  assert_string_equal(f->diags.items[3].file, "DAGCTL__CORE__NOPE");
}

static void test_duplicates_in_file(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "core:\n  parallelism: 4\n  parallelism: 5\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:16: duplicate key 'core.parallelism' "
                  "(first at line 2)");
  write_config(f, "core:\n  parallelism: 4\nweb: {}\ncore:\n  log_level: info\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:4:1: duplicate section 'core' (first at line 1)");
}

static void test_syntax_error_and_multiple_documents(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "core:\n  parallelism: 4\n bad\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:2: syntax error: did not find expected key "
                  "(while parsing a block mapping at line 1)");
  write_config(f, "core:\n  parallelism: 4\n---\nweb:\n  port: 1\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:4:1: only one YAML document is allowed");
}

static void test_unknown_names_in_env(void **state) {
  struct config_fixture *f = *state;
  static const struct {
    const char *var, *want;
  } cases[] = {
      {"DAGCTL__CORE__PARALELISM=4",
       "DAGCTL__CORE__PARALELISM: unknown key 'core.paralelism' "
       "(did you mean DAGCTL__CORE__PARALLELISM?)"},
      {"DAGCTL__COR__PARALLELISM=4", "DAGCTL__COR__PARALLELISM: unknown section 'cor' "
                                     "(did you mean DAGCTL__CORE__PARALLELISM?)"},
      {"DAGCTL__KAFKAESQUE__BROKERS=x",
       "DAGCTL__KAFKAESQUE__BROKERS: unknown section 'kafkaesque'"},
      {"DAGCTL__WEB__THEME=dark", "DAGCTL__WEB__THEME: unknown key 'web.theme'"},
      {"DAGCTL__CORE=1", "DAGCTL__CORE: expected DAGCTL__SECTION__KEY"},
      {"DAGCTL__CORE__=1", "DAGCTL__CORE__: expected DAGCTL__SECTION__KEY"},
      {"DAGCTL____PARALLELISM=1", "DAGCTL____PARALLELISM: expected DAGCTL__SECTION__KEY"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *env[] = {"DAGCTL_HOME=h", (char *)cases[i].var, NULL};
    assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
    assert_error(f, cases[i].want);
  }
}

static void test_bad_values_in_env(void **state) {
  struct config_fixture *f = *state;
  static const struct {
    const char *var, *want;
  } cases[] = {
      {"DAGCTL__CORE__PARALLELISM=lots", "DAGCTL__CORE__PARALLELISM: core.parallelism: "
                                         "expected an integer from 1 to 1000000, got 'lots'"},
      {"DAGCTL__CORE__PARALLELISM= 4",
       "DAGCTL__CORE__PARALLELISM: core.parallelism: expected an integer from 1 to 1000000, got ' 4'"},
      {"DAGCTL__CORE__PARALLELISM=",
       "DAGCTL__CORE__PARALLELISM: core.parallelism: expected an integer from 1 to 1000000, got ''"},
      {"DAGCTL__CORE__DAGS_ARE_PAUSED_AT_CREATION=2",
       "DAGCTL__CORE__DAGS_ARE_PAUSED_AT_CREATION: core.dags_are_paused_at_creation: "
       "expected true or false, got '2'"},
      {"DAGCTL__CORE__TASK_KILL_GRACE=5 minutes",
       "DAGCTL__CORE__TASK_KILL_GRACE: core.task_kill_grace: expected a duration such "
       "as 30s, 5m or 1h30m, got '5 minutes'"},
      {"DAGCTL__CORE__TASK_KILL_GRACE=36526d",
       "DAGCTL__CORE__TASK_KILL_GRACE: core.task_kill_grace: duration '36526d' is too "
       "long (at most 36525d, 100 years)"},
      {"DAGCTL__CORE__TASK_KILL_GRACE=-5s",
       "DAGCTL__CORE__TASK_KILL_GRACE: core.task_kill_grace: expected a duration such "
       "as 30s, 5m or 1h30m, got '-5s'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *env[] = {(char *)cases[i].var, NULL};
    assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
    assert_error(f, cases[i].want);
  }
}

static void test_same_key_twice_in_env(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__CORE__PARALLELISM=4", "DAGCTL__core__parallelism=5", NULL};
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, "DAGCTL__core__parallelism: core.parallelism: also set by "
                  "DAGCTL__CORE__PARALLELISM");
}

static void test_token_file(void **state) {
  struct config_fixture *f = *state;
  write_file(f, "secrets/token", "tok-0123456789abcdef0123456789abcdef\n");
  write_config(f, "web:\n  token_file: secrets/token\n");
  char *env[] = {NULL};
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_string_equal(f->cfg.web_token, "tok-0123456789abcdef0123456789abcdef");
  /* Loaded secrets never reach the log. */
  char line[] = "auth failed token=tok-0123456789abcdef0123456789abcdef from=1.2.3.4";
  dag_log_redact(line);
  assert_string_equal(line, "auth failed token=*** from=1.2.3.4");

  write_file(f, "secrets/crlf", "tok-crlf-0123456789abcdef0123456789\r\n\n");
  char *env2[] = {"DAGCTL__WEB__TOKEN_FILE=secrets/crlf", NULL};
  assert_int_equal(config_load(f, NULL, env2), 0);
  assert_string_equal(f->cfg.web_token, "tok-crlf-0123456789abcdef0123456789");
}

static void test_token_sources_and_precedence(void **state) {
  struct config_fixture *f = *state;
  write_file(f, "secrets/token", "from-file-token-0123456789abcdef0\n");
  char *env[] = {"DAGCTL__WEB__TOKEN=from-env-token-0123456789abcdef01", NULL};
  write_config(f, "web:\n  token_file: secrets/token\n");
  assert_int_equal(config_load(f, NULL, env), 0);
  assert_string_equal(f->cfg.web_token, "from-env-token-0123456789abcdef01");

  char *env2[] = {"DAGCTL__WEB__TOKEN_FILE=secrets/token", NULL};
  write_config(f, "web:\n  token: in-clear-token-0123456789abcdef01\n");
  assert_int_equal(config_load(f, NULL, env2), 0);
  assert_string_equal(f->cfg.web_token, "from-file-token-0123456789abcdef0");

  char *none[] = {NULL};
  write_config(f, "web:\n  token: in-clear-token-0123456789abcdef01\n  token_file: secrets/token\n");
  assert_int_equal(config_load(f, NULL, none), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:15: web.token_file: conflicts with web.token "
                  "(at line 2); set only one");
}

static void test_token_file_errors(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "web:\n  token_file: missing\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  char *want = xasprintf(".dagctl/dagctl.yaml:2:15: web.token_file: cannot read "
                         "%s/missing: No such file or directory",
                         f->dir);
  assert_error(f, want);
  free(want);

  write_file(f, "secrets/empty", "\n");
  write_config(f, "web:\n  token_file: secrets/empty\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  want = xasprintf(".dagctl/dagctl.yaml:2:15: web.token_file: %s/secrets/empty is empty",
                   f->dir);
  assert_error(f, want);
  free(want);

  write_file(f, "secrets/two", "one two\n");
  write_config(f, "web:\n  token_file: secrets/two\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_null(strstr(f->errors, "one two"));
}

/* A bearer token anyone can guess protects nothing: web.token needs 32
 * bytes, whichever way it is given, and the message names the setting and
 * how to make one without quoting the value. */
static void test_token_too_short(void **state) {
  struct config_fixture *f = *state;
  char *none[] = {NULL};
  write_config(f, "web:\n  token: x\n");
  assert_int_equal(config_load(f, NULL, none), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:10: web.token: must be at least 32 bytes long, "
                  "this one has 1; make one with `openssl rand -hex 32`");
  assert_null(f->cfg.web_token);

  char *env[] = {"DAGCTL__WEB__TOKEN=0123456789abcdef0123456789abcde", NULL};
  write_config(f, "# nothing\n");
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, "DAGCTL__WEB__TOKEN: web.token: must be at least 32 bytes long, "
                  "this one has 31; make one with `openssl rand -hex 32`");
  assert_null(strstr(f->errors, "0123456789abcdef"));

  write_file(f, "secrets/short", "short-secret\n");
  write_config(f, "web:\n  token_file: secrets/short\n");
  assert_int_equal(config_load(f, NULL, none), DAG_ECONFIG);
  char *want = xasprintf(".dagctl/dagctl.yaml:2:15: web.token_file: %s/secrets/short must hold "
                         "at least 32 bytes, it has 12; make one with `openssl rand -hex 32`",
                         f->dir);
  assert_error(f, want);
  free(want);
  assert_null(strstr(f->errors, "short-secret"));

  char *ok[] = {"DAGCTL__WEB__TOKEN=0123456789abcdef0123456789abcdef", NULL};
  write_config(f, "# nothing\n");
  assert_int_equal(config_load(f, NULL, ok), 0);
  assert_string_equal(f->cfg.web_token, "0123456789abcdef0123456789abcdef");
}

static void test_secrets_are_never_echoed(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {"DAGCTL__WEB__TOKEN=has a space", NULL};
  assert_int_equal(config_load(f, NULL, env), DAG_ECONFIG);
  assert_error(f, "DAGCTL__WEB__TOKEN: web.token: expected a token without spaces or "
                  "control characters");
  assert_null(f->cfg.web_token);
}

static void test_empty_flag(void **state) {
  struct config_fixture *f = *state;
  struct dag_config_flags flags = {.home = ""};
  char *env[] = {NULL};
  assert_int_equal(config_load(f, &flags, env), DAG_ECONFIG);
  assert_error(f, "--home: empty path");
  /* A failed load leaves a config that frees cleanly (teardown). */
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_defaults),
      T(test_file_values),
      T(test_empty_file_and_empty_sections),
      T(test_base_url_follows_bind_and_port),
      T(test_env_overrides_file),
      T(test_flags_override_env),
      T(test_dags_folder_precedence),
      T(test_relative_paths_are_absolute_and_normal),
      T(test_explicit_config_file),
      T(test_missing_config_file),
      T(test_unknown_key_in_file),
      T(test_unknown_section_in_file),
      T(test_bad_values_in_file),
      T(test_bool_spellings),
      T(test_every_problem_is_reported),
      T(test_duplicates_in_file),
      T(test_syntax_error_and_multiple_documents),
      T(test_unknown_names_in_env),
      T(test_bad_values_in_env),
      T(test_same_key_twice_in_env),
      T(test_token_file),
      T(test_token_sources_and_precedence),
      T(test_token_file_errors),
      T(test_token_too_short),
      T(test_secrets_are_never_echoed),
      T(test_empty_flag),
  };
  return cmocka_run_group_tests(tests, NULL, config_group_teardown);
}
