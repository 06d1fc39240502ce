/* test_config_items.c - dag_config_items(): every setting listed once, as
 * text, with secrets masked, the plugins' sections (as the shipped plugins
 * built beside DAGCTL_BIN declare them) after dagctl's own. What `dagctl
 * config show` prints. */
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
#include "plugins.h"

/* The shipped plugins' declarations, read in main(). */
static struct dag_plugin_catalog shipped;

struct fixture {
  char dir[PATH_MAX];
  char old_cwd[PATH_MAX];
  struct dag_config cfg;
  struct dag_diags diags;
  struct dag_config_item *items;
  size_t n;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  char tmpl[] = "/tmp/dagctl-config-items-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  assert_non_null(getcwd(f->old_cwd, sizeof(f->old_cwd)));
  assert_int_equal(chdir(tmpl), 0);
  assert_non_null(getcwd(f->dir, sizeof(f->dir)));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dag_config_items_free(f->items, f->n);
  dag_config_free(&f->cfg);
  dag_diags_free(&f->diags);
  dag_log_reset();
  assert_int_equal(chdir(f->old_cwd), 0);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(f);
  return 0;
}

static void write_file(const char *name, const char *text, mode_t mode) {
  FILE *fp = fopen(name, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  assert_int_equal(chmod(name, mode), 0);
}

/* Load from `config` (may be NULL) and `envp`, then list. */
static void load_and_list(struct fixture *f, const char *config, char *const *envp) {
  struct dag_config_flags flags = {.home = "home", .config_file = NULL};
  if (config) {
    write_file("dagctl.yaml", config, 0600);
    flags.config_file = "dagctl.yaml";
  }
  int rc = dag_config_load(&f->cfg, &flags, envp, &f->diags);
  if (rc == 0)
    rc = dag_config_check_plugins(&f->cfg, shipped.sections, shipped.n_sections, true,
                                  &f->diags);
  if (rc) {
    char *errs = dag_diags_join(&f->diags);
    fail_msg("config did not load: %s", errs);
  }
  dag_config_items(&f->cfg, &f->items, &f->n);
}

static const struct dag_config_item *item(const struct fixture *f, const char *section,
                                          const char *key) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->items[i].section, section) == 0 && strcmp(f->items[i].key, key) == 0)
      return &f->items[i];
  return NULL;
}

static void defaults_as_text(void **state) {
  struct fixture *f = *state;
  char *env[] = {NULL};
  load_and_list(f, NULL, env);
  assert_string_equal(item(f, "core", "parallelism")->value, "32");
  assert_string_equal(item(f, "core", "task_kill_grace")->value, "5s");
  assert_string_equal(item(f, "core", "durability")->value, "normal");
  assert_string_equal(item(f, "core", "log_level")->value, "info");
  assert_string_equal(item(f, "core", "dags_are_paused_at_creation")->value, "false");
  assert_string_equal(item(f, "smtp", "tls")->value, "starttls");
  assert_string_equal(item(f, "smtp", "port")->value, "587");
  assert_string_equal(item(f, "kafka", "bootstrap_servers")->value, "embedded");
  assert_string_equal(item(f, "web", "base_url")->value, "http://127.0.0.1:8080");
  char *lake = xasprintf("%s/home/lake", f->dir);
  assert_string_equal(item(f, "lake", "url")->value, lake);
  free(lake);
  assert_null(item(f, "smtp", "host")->value);
  assert_null(item(f, "web", "token")->value);
  assert_false(item(f, "core", "parallelism")->secret);
}

/* Alternative spellings are one item, named as its alias; each value is
 * listed exactly once. */
static void aliases_listed_once(void **state) {
  struct fixture *f = *state;
  char *env[] = {NULL};
  load_and_list(f, NULL, env);
  assert_null(item(f, "web", "token_file"));
  assert_null(item(f, "smtp", "password_file"));
  assert_null(item(f, "lake", "secret_access_key_file"));
  assert_null(item(f, "warehouse", "password_file"));
  assert_null(item(f, "kafka", "sasl_password_file"));
  assert_string_equal(item(f, "web", "token")->alias, "token_file");
  assert_string_equal(item(f, "smtp", "password")->alias, "password_file");
  assert_string_equal(item(f, "kafka", "sasl_password")->alias, "sasl_password_file");
  assert_null(item(f, "core", "state_password_file"));
  assert_string_equal(item(f, "core", "state_password")->alias, "state_password_file");
  assert_null(item(f, "core", "parallelism")->alias);
  for (size_t i = 0; i < f->n; i++)
    for (size_t j = i + 1; j < f->n; j++)
      assert_false(strcmp(f->items[i].section, f->items[j].section) == 0 &&
                   strcmp(f->items[i].key, f->items[j].key) == 0);
  /* The first and the last rows of dagctl's own format, in order, then
   * the plugins' sections. */
  assert_string_equal(f->items[0].key, "dags_folder");
  size_t last = 0;
  while (last < f->n && !(strcmp(f->items[last].section, "notify") == 0 &&
                          strcmp(f->items[last].key, "retry_base") == 0))
    last++;
  assert_true(last + 1 < f->n);
  assert_string_equal(f->items[last - 1].key, "timeout");
  for (size_t i = last + 1; i < f->n; i++)
    assert_true(strcmp(f->items[i].section, "kafka") == 0 ||
                strcmp(f->items[i].section, "lake") == 0 ||
                strcmp(f->items[i].section, "warehouse") == 0 ||
                strcmp(f->items[i].section, "http") == 0 ||
                strcmp(f->items[i].section, "ssh") == 0);
}

/* Set secrets read "***" whether they came from the environment or a file;
 * the secret text itself appears in no item. */
static void secrets_masked(void **state) {
  struct fixture *f = *state;
  write_file("token", "file-token-1234-0123456789abcdef0123\n", 0600);
  char *env[] = {"DAGCTL__SMTP__PASSWORD=pass word 5678",
                 "DAGCTL__LAKE__SECRET_ACCESS_KEY=lake-secret-9012",
                 "DAGCTL__CORE__DURABILITY=full", "DAGCTL__SMTP__TLS=implicit",
                 "DAGCTL__CORE__LOG_LEVEL=warn", NULL};
  load_and_list(f,
                "web:\n  token_file: token\n"
                "lake:\n  url: s3://my-bucket/raw/\n  endpoint: http://minio:9000\n"
                "  path_style: yes\n",
                env);
  assert_string_equal(item(f, "web", "token")->value, "***");
  assert_true(item(f, "web", "token")->secret);
  assert_string_equal(item(f, "smtp", "password")->value, "***");
  assert_string_equal(item(f, "lake", "secret_access_key")->value, "***");
  assert_null(item(f, "warehouse", "password")->value);
  assert_true(item(f, "warehouse", "password")->secret);
  assert_string_equal(item(f, "lake", "url")->value, "s3://my-bucket/raw");
  assert_string_equal(item(f, "lake", "endpoint")->value, "http://minio:9000");
  assert_string_equal(item(f, "lake", "path_style")->value, "true");
  assert_string_equal(item(f, "core", "durability")->value, "full");
  assert_string_equal(item(f, "core", "log_level")->value, "warn");
  assert_string_equal(item(f, "smtp", "tls")->value, "implicit");
  assert_string_equal(item(f, "smtp", "port")->value, "465");
  for (size_t i = 0; i < f->n; i++) {
    const char *v = f->items[i].value;
    if (v == NULL) continue;
    assert_null(strstr(v, "1234"));
    assert_null(strstr(v, "5678"));
    assert_null(strstr(v, "9012"));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(defaults_as_text, setup, teardown),
      cmocka_unit_test_setup_teardown(aliases_listed_once, setup, teardown),
      cmocka_unit_test_setup_teardown(secrets_masked, setup, teardown),
  };
  const char *bin = getenv("DAGCTL_BIN");
  const char *slash = bin ? strrchr(bin, '/') : NULL;
  if (slash == NULL) {
    fprintf(stderr, "DAGCTL_BIN must name the dagctl binary, beside its plugins\n");
    return 1;
  }
  char *plugins = xasprintf("%.*s/plugins", (int)(slash - bin), bin);
  dag_plugin_catalog_scan(&shipped, plugins);
  free(plugins);
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  dag_plugin_catalog_free(&shipped);
  return rc;
}
