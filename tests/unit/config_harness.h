/* config_harness.h - the fixture of the dagctl.yaml tests (test_config*.c).
 *
 * Each test runs in a fresh temporary directory (also the working directory,
 * so relative paths are predictable) with a synthetic environment: the real
 * one never leaks in. Settings are loaded as `dagctl config check` loads
 * them: dagctl's own sections, then the plugins' sections against what the
 * shipped plugins (built beside DAGCTL_BIN) declare. Include after
 * <cmocka.h>; pass config_group_teardown to cmocka_run_group_tests(). */
#ifndef DAGCTL_CONFIG_HARNESS_H
#define DAGCTL_CONFIG_HARNESS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "plugins.h"

struct config_fixture {
  char dir[PATH_MAX]; /* the temporary directory, as getcwd() sees it */
  char old_cwd[PATH_MAX];
  struct dag_config cfg;
  struct dag_diags diags;
  char *errors; /* the diagnostics joined, after config_load() */
  char *value;  /* the last setting() */
};

/* A cmocka setup: `tmpl` is the mkdtemp() template of the directory. */
static inline int config_setup(void **state, const char *tmpl) {
  struct config_fixture *f = xcalloc(1, sizeof(*f));
  char *dir = xstrdup(tmpl);
  assert_non_null(mkdtemp(dir));
  assert_non_null(getcwd(f->old_cwd, sizeof(f->old_cwd)));
  assert_int_equal(chdir(dir), 0);
  free(dir);
  /* /tmp may be a symlink: compare against what getcwd() reports. */
  assert_non_null(getcwd(f->dir, sizeof(f->dir)));
  *state = f;
  return 0;
}

static inline int config_teardown(void **state) {
  struct config_fixture *f = *state;
  dag_config_free(&f->cfg);
  dag_diags_free(&f->diags);
  free(f->errors);
  free(f->value);
  dag_log_reset();
  assert_int_equal(chdir(f->old_cwd), 0);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(f);
  return 0;
}

/* Write `text` to `name` under the test directory, mode 0600. */
static inline void write_file(struct config_fixture *f, const char *name, const char *text) {
  char *path = xasprintf("%s/%s", f->dir, name);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdir(path, 0700); /* one level is all the tests need */
  *slash = '/';
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  assert_int_equal(chmod(path, 0600), 0);
  free(path);
}

/* HOME/dagctl.yaml with the default home (./.dagctl). */
static inline void write_config(struct config_fixture *f, const char *yaml) {
  write_file(f, ".dagctl/dagctl.yaml", yaml);
}

/* The shipped plugins' declarations, read once (plugins are loaded here:
 * a test is no scheduler). */
static struct dag_plugin_catalog config_shipped;

static inline const struct dag_plugin_catalog *config_plugins(void) {
  if (config_shipped.loaded) return &config_shipped;
  const char *bin = getenv("DAGCTL_BIN");
  const char *slash = bin ? strrchr(bin, '/') : NULL;
  if (slash == NULL) fail_msg("DAGCTL_BIN must name the dagctl binary, beside its plugins");
  char *dir = xasprintf("%.*s/plugins", (int)(slash - bin), bin);
  dag_plugin_catalog_scan(&config_shipped, dir);
  free(dir);
  if (config_shipped.n_sections == 0) fail_msg("the shipped plugins are not built beside %s", bin);
  return &config_shipped;
}

static inline int config_group_teardown(void **state) {
  (void)state;
  dag_plugin_catalog_free(&config_shipped);
  return 0;
}

/* Load afresh into f->cfg, f->diags and f->errors: dagctl's sections, then
 * the plugins'. */
static inline int config_load(struct config_fixture *f, const struct dag_config_flags *flags,
                              char *const *envp) {
  dag_config_free(&f->cfg);
  dag_diags_free(&f->diags);
  free(f->errors);
  const struct dag_plugin_catalog *c = config_plugins();
  int rc = dag_config_load(&f->cfg, flags, envp, &f->diags);
  int rc2 = dag_config_check_plugins(&f->cfg, c->sections, c->n_sections, true, &f->diags);
  f->errors = dag_diags_join(&f->diags);
  return rc ? rc : rc2;
}

/* A setting's resolved value as text, or NULL; owned by the fixture until
 * the next call. */
static inline const char *setting(struct config_fixture *f, const char *section,
                                  const char *key) {
  free(f->value);
  f->value = dag_config_value(&f->cfg, section, key);
  return f->value;
}

/* The one diagnostic must be exactly `want`, with the file name relative to
 * the test directory (the loader reports absolute paths). */
static inline void assert_error(struct config_fixture *f, const char *want) {
  if (f->diags.n != 1)
    fail_msg("want one diagnostic, got %zu:\n%s", f->diags.n, f->errors);
  char *full = f->errors;
  size_t dlen = strlen(f->dir);
  if (strncmp(full, f->dir, dlen) == 0 && full[dlen] == '/') full += dlen + 1;
  assert_string_equal(full, want);
}

#endif
