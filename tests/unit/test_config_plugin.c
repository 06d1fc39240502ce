/* test_config_plugin.c - the sections of dagctl.yaml that plugins declare
 * (config_plugin.c): kept by dag_config_load() with their positions,
 * judged by dag_config_check_plugins() once the declarations are known,
 * and the catalog's merge of one section declared by several plugins
 * (plugin_decl.c).
 *
 * The declarations here are made up (a `queue` section), so the tests say
 * what the host does with any plugin's, not only with the shipped ones. */
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
#include "plugin_decl.h"
#include "config_harness.h"

static struct dag_config_key_decl queue_keys[] = {
    {(char *)"brokers", DAGCTL_SETTING_BROKERS, 0, (char *)"local", (char *)"local", 0, 0,
     (char *)""},
    {(char *)"workers", DAGCTL_SETTING_INTEGER, 0, (char *)"4", NULL, 1, 64, (char *)""},
    {(char *)"mode", DAGCTL_SETTING_ENUM, 0, NULL, (char *)"fast,Safe", 0, 0, (char *)""},
    {(char *)"spool", DAGCTL_SETTING_PATH, 0, (char *)DAGCTL_HOME_PLACEHOLDER "/spool", NULL,
     0, 0, (char *)""},
    {(char *)"token", DAGCTL_SETTING_TOKEN, DAGCTL_SETTING_SECRET, NULL, NULL, 0, 0,
     (char *)""},
    {(char *)"linger", DAGCTL_SETTING_DURATION, 0, (char *)"1m30s", NULL, 0, 0, (char *)""},
    {(char *)"offset", DAGCTL_SETTING_INTEGER, 0, NULL, NULL, 0, 0, (char *)""}, /* unbounded */
};

static const struct dag_config_section_decl queue = {
    (char *)"queue", (char *)"queue_plugin", (char *)"a made-up queue", queue_keys,
    DAG_ARRAY_SIZE(queue_keys)};

static int setup(void **state) {
  return config_setup(state, "/tmp/dagctl-config-plugin-XXXXXX");
}

static int teardown(void **state) {
  return config_teardown(state);
}

/* dag_config_load(), then the check against `queue` alone. */
static int load_queue(struct config_fixture *f, char *const *envp, bool whole) {
  dag_config_free(&f->cfg);
  dag_diags_free(&f->diags);
  free(f->errors);
  int rc = dag_config_load(&f->cfg, NULL, envp, &f->diags);
  int rc2 = dag_config_check_plugins(&f->cfg, &queue, 1, whole, &f->diags);
  f->errors = dag_diags_join(&f->diags);
  return rc ? rc : rc2;
}

/* The load alone accepts a section it does not know: it may be a
 * plugin's, judged later. */
static void test_load_keeps_unknown_sections(void **state) {
  struct config_fixture *f = *state;
  write_config(f, "core:\n  parallelism: 3\nqueue:\n  workers: 8\n  wokers: 9\n");
  char *env[] = {"DAGCTL__QUEUE__MODE=fast", NULL};
  assert_int_equal(dag_config_load(&f->cfg, NULL, env, &f->diags), 0);
  assert_int_equal(f->diags.n, 0);
  assert_int_equal(f->cfg.parallelism, 3);
  /* The section itself, its two keys and the variable, with positions. */
  assert_int_equal(f->cfg.n_raw, 4);
  assert_null(f->cfg.raw[0].key);
  assert_int_equal(f->cfg.raw[0].line, 3);
  assert_string_equal(f->cfg.raw[2].key, "wokers");
  assert_int_equal(f->cfg.raw[2].line, 5);
  assert_int_equal(f->cfg.raw[2].col, 3);
  assert_string_equal(f->cfg.raw[2].value, "9");
  assert_true(f->cfg.raw[3].env);
  /* Not resolved until checked. */
  assert_null(setting(f, "queue", "workers"));
}

static void test_defaults_and_values(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  assert_int_equal(load_queue(f, env, true), 0);
  assert_string_equal(setting(f, "queue", "brokers"), "local");
  assert_string_equal(setting(f, "queue", "workers"), "4");
  assert_null(setting(f, "queue", "mode"));
  /* The home placeholder, expanded and made absolute. */
  char *spool = xasprintf("%s/.dagctl/spool", f->dir);
  assert_string_equal(setting(f, "queue", "spool"), spool);
  free(spool);
  assert_string_equal(setting(f, "queue", "linger"), "1m30s");

  write_config(f, "queue:\n  brokers: ' a:1 , b:2'\n  workers: 64\n  mode: SAFE\n"
                  "  spool: s/../t\n  linger: 90\n  offset: -17\n");
  char *env2[] = {"DAGCTL__QUEUE__WORKERS=2", NULL};
  assert_int_equal(load_queue(f, env2, true), 0);
  assert_string_equal(setting(f, "queue", "brokers"), "a:1,b:2");
  assert_string_equal(setting(f, "queue", "workers"), "2"); /* the environment wins */
  assert_string_equal(setting(f, "queue", "mode"), "Safe");  /* the declared spelling */
  char *t = xasprintf("%s/t", f->dir);
  assert_string_equal(setting(f, "queue", "spool"), t);
  free(t);
  assert_string_equal(setting(f, "queue", "linger"), "1m30s");
  assert_string_equal(setting(f, "queue", "offset"), "-17");
}

/* An unknown key of a declared section: FILE:LINE:COL and a did-you-mean
 * over the declared keys (the KEY_file of a secret among them). */
static void test_unknown_key(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "queue:\n  workers: 8\n  wokers: 9\n");
  assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:3:3: unknown key 'queue.wokers' (did you mean "
                  "'queue.workers'?)");
  write_config(f, "queue:\n  tokn_file: x\n");
  assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:3: unknown key 'queue.tokn_file' (did you mean "
                  "'queue.token_file'?)");
  write_config(f, "queue:\n  colour: blue\n");
  assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:3: unknown key 'queue.colour'");
  char *env2[] = {"DAGCTL__QUEUE__MDOE=fast", NULL};
  write_config(f, "");
  assert_int_equal(load_queue(f, env2, true), DAG_ECONFIG);
  assert_error(f, "DAGCTL__QUEUE__MDOE: unknown key 'queue.mdoe' (did you mean "
                  "DAGCTL__QUEUE__MODE?)");
}

/* A section nobody declares: a did-you-mean over dagctl's sections and the
 * declared ones; left alone when the caller knows only some plugins. */
static void test_unknown_section(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  write_config(f, "web: {}\nqueeu:\n  workers: 2\n");
  assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:1: unknown section 'queeu' (did you mean 'queue'?)");
  write_config(f, "smpt:\n  host: x\n");
  assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:1:1: unknown section 'smpt' (did you mean 'smtp'?)");
  write_config(f, "zookeeper: {}\n");
  assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:1:1: unknown section 'zookeeper'");
  assert_int_equal(load_queue(f, env, false), 0);

  char *env2[] = {"DAGCTL__QUEU__WORKERS=2", NULL};
  write_config(f, "");
  assert_int_equal(load_queue(f, env2, true), DAG_ECONFIG);
  assert_error(f, "DAGCTL__QUEU__WORKERS: unknown section 'queu' (did you mean "
                  "DAGCTL__QUEUE__WORKERS?)");
}

static void test_bad_values(void **state) {
  struct config_fixture *f = *state;
  char *env[] = {NULL};
  static const struct {
    const char *yaml, *want;
  } cases[] = {
      {"queue:\n  workers: 65\n",
       "2:12: queue.workers: expected an integer from 1 to 64, got '65'"},
      {"queue:\n  workers: [1]\n",
       "2:12: queue.workers: expected an integer from 1 to 64, got a list"},
      {"queue:\n  workers:\n", "2:11: queue.workers: expected an integer from 1 to 64, got null"},
      {"queue:\n  offset: 1.5\n", "2:11: queue.offset: expected an integer, got '1.5'"},
      {"queue:\n  mode: slow\n", "2:9: queue.mode: expected one of fast, Safe, got 'slow'"},
      {"queue:\n  brokers: a\n",
       "2:12: queue.brokers: 'a' is not a broker (expected host:port, or 'local')"},
      {"queue:\n  brokers: ','\n",
       "2:12: queue.brokers: expected 'local' or brokers as host:port,host:port, got ','"},
      {"queue:\n  linger: soon\n",
       "2:11: queue.linger: expected a duration such as 30s, 5m or 1h30m, got 'soon'"},
      {"queue: 3\n", "1:8: queue: expected a mapping of settings, got a scalar"},
      {"queue:\n  workers: 2\n  workers: 3\n",
       "3:12: duplicate key 'queue.workers' (first at line 2)"},
  };
  for (size_t i = 0; i < DAG_ARRAY_SIZE(cases); i++) {
    write_config(f, cases[i].yaml);
    assert_int_equal(load_queue(f, env, true), DAG_ECONFIG);
    char *want = xasprintf(".dagctl/dagctl.yaml:%s", cases[i].want);
    assert_error(f, want);
    free(want);
  }
}

/* A declared secret: never in clear in the file, from the environment or
 * KEY_file, masked in logs and listings. */
static void test_secret(void **state) {
  struct config_fixture *f = *state;
  char *none[] = {NULL};
  write_config(f, "queue:\n  token: hunter2-in-clear\n");
  assert_int_equal(load_queue(f, none, true), DAG_ECONFIG);
  assert_error(f, ".dagctl/dagctl.yaml:2:10: queue.token must not be written in clear in the "
                  "config file; set DAGCTL__QUEUE__TOKEN in the environment or "
                  "queue.token_file to a file only you can read");
  assert_null(strstr(f->errors, "hunter2"));

  write_file(f, "secrets/q", "from-a-file\n");
  write_config(f, "queue:\n  token_file: secrets/q\n");
  assert_int_equal(load_queue(f, none, true), 0);
  assert_string_equal(setting(f, "queue", "token"), "from-a-file");

  char *env[] = {"DAGCTL__QUEUE__TOKEN=env-secret-42", NULL};
  assert_int_equal(load_queue(f, env, true), 0);
  assert_string_equal(setting(f, "queue", "token"), "env-secret-42");
  char line[] = "connect token=env-secret-42 ok";
  dag_log_redact(line);
  assert_string_equal(line, "connect token=*** ok");

  struct dag_config_item *items;
  size_t n;
  dag_config_items(&f->cfg, &items, &n);
  const struct dag_config_item *tok = NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(items[i].section, "queue") == 0 && strcmp(items[i].key, "token") == 0)
      tok = &items[i];
    assert_false(strcmp(items[i].key, "token_file") == 0);
    assert_true(items[i].value == NULL || strstr(items[i].value, "secret-42") == NULL);
  }
  assert_non_null(tok);
  assert_true(tok->secret);
  assert_string_equal(tok->value, "***");
  assert_string_equal(tok->alias, "token_file");
  dag_config_items_free(items, n);

  char *env2[] = {"DAGCTL__QUEUE__TOKEN=a-secret", "DAGCTL__QUEUE__TOKEN_FILE=secrets/q", NULL};
  write_config(f, "");
  assert_int_equal(load_queue(f, env2, true), DAG_ECONFIG);
  assert_error(f, "DAGCTL__QUEUE__TOKEN_FILE: queue.token_file: conflicts with queue.token "
                  "(at DAGCTL__QUEUE__TOKEN); set only one");
}

/* dagctl's own sections belong to dagctl. */
static void test_core_section_refused(void **state) {
  struct config_fixture *f = *state;
  struct dag_config_section_decl smtp = queue;
  smtp.name = (char *)"smtp";
  char *env[] = {NULL};
  assert_int_equal(dag_config_load(&f->cfg, NULL, env, &f->diags), 0);
  assert_int_equal(dag_config_check_plugins(&f->cfg, &smtp, 1, true, &f->diags), DAG_ECONFIG);
  f->errors = dag_diags_join(&f->diags);
  assert_error(f, "queue_plugin: declares the config section 'smtp', which is dagctl's own: "
                  "ignored");
}

/* --- the catalog's merge --------------------------------------------------- */

static void add_plugin(struct dag_plugin_catalog *c, const char *name,
                       const struct dag_config_section_decl *d) {
  c->plugins = xrealloc(c->plugins, (c->n + 1) * sizeof(*c->plugins));
  struct dag_plugin_info *p = &c->plugins[c->n++];
  memset(p, 0, sizeof(*p));
  p->path = xasprintf("/plugins/%s.so", name);
  p->name = xstrdup(name);
  p->version = xstrdup("1");
  p->types = xcalloc(1, sizeof(*p->types));
  p->sections = xcalloc(1, sizeof(*p->sections));
  p->n_sections = 1;
  dag_config_section_decl_copy(d, &p->sections[0]);
  free(p->sections[0].owner);
  p->sections[0].owner = xstrdup(name);
}

static void test_merge_identical(void **state) {
  DAG_UNUSED(state);
  struct dag_plugin_catalog c;
  memset(&c, 0, sizeof(c));
  add_plugin(&c, "first", &queue);
  struct dag_config_section_decl other = queue;
  other.description = (char *)"worded otherwise"; /* descriptions may differ */
  add_plugin(&c, "second", &other);
  dag_plugin_catalog_merge_sections(&c);
  assert_null(c.sections_error);
  assert_int_equal(c.n_sections, 1);
  assert_string_equal(c.sections[0].name, "queue");
  assert_string_equal(c.sections[0].owner, "first, second");
  assert_int_equal(c.sections[0].n_keys, DAG_ARRAY_SIZE(queue_keys));
  dag_plugin_catalog_free(&c);
}

static void test_merge_conflict(void **state) {
  DAG_UNUSED(state);
  struct dag_plugin_catalog c;
  memset(&c, 0, sizeof(c));
  add_plugin(&c, "first", &queue);
  struct dag_config_key_decl keys[DAG_ARRAY_SIZE(queue_keys)];
  memcpy(keys, queue_keys, sizeof(keys));
  keys[1].default_value = (char *)"8";
  struct dag_config_section_decl other = queue;
  other.keys = keys;
  add_plugin(&c, "second", &other);
  dag_plugin_catalog_merge_sections(&c);
  assert_string_equal(c.sections_error,
                      "config section 'queue' is declared differently by the plugins first "
                      "and second (/plugins/second.so): key 'workers' has the default '4' in "
                      "one and '8' in the other; the first declaration is used");
  assert_int_equal(c.n_sections, 1);
  assert_string_equal(c.sections[0].keys[1].default_value, "4");

  /* Another key list, another type. */
  keys[1].default_value = (char *)"4";
  keys[2].type = DAGCTL_SETTING_STRING;
  add_plugin(&c, "third", &other);
  other.n_keys = 2;
  add_plugin(&c, "fourth", &other);
  dag_plugin_catalog_merge_sections(&c);
  assert_non_null(strstr(c.sections_error, "key 'mode' is of type enum in one and string in "
                                           "the other"));
  assert_non_null(strstr(c.sections_error, "first and fourth (/plugins/fourth.so): key 3 is "
                                           "'mode' in one and '(none)' in the other"));
  dag_plugin_catalog_free(&c);
}

/* `dagctl plugins --json` carries the sections to the scheduler intact. */
static void test_json_round_trip(void **state) {
  DAG_UNUSED(state);
  struct dag_plugin_catalog c;
  memset(&c, 0, sizeof(c));
  add_plugin(&c, "first", &queue);
  json_t *j = dag_plugins_to_json(c.plugins, c.n);
  struct dag_plugin_info *back = NULL;
  size_t n = 0;
  assert_int_equal(dag_plugins_from_json(j, &back, &n), 0);
  json_decref(j);
  assert_int_equal(n, 1);
  assert_int_equal(back[0].n_sections, 1);
  char *why = NULL;
  assert_int_equal(dag_config_section_decl_compare(&back[0].sections[0], &queue, &why), 0);
  assert_string_equal(back[0].sections[0].owner, "first");
  dag_plugins_free(back, n);
  dag_plugin_catalog_free(&c);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_load_keeps_unknown_sections),
      T(test_defaults_and_values),
      T(test_unknown_key),
      T(test_unknown_section),
      T(test_bad_values),
      T(test_secret),
      T(test_core_section_refused),
      cmocka_unit_test(test_merge_identical),
      cmocka_unit_test(test_merge_conflict),
      cmocka_unit_test(test_json_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, config_group_teardown);
}
