/* config_harness.h - the fixture of the dagctl.yaml tests (test_config*.c).
 *
 * Each test runs in a fresh temporary directory (also the working directory,
 * so relative paths are predictable) with a synthetic environment: the real
 * one never leaks in. Include after <cmocka.h>. */
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

struct config_fixture {
  char dir[PATH_MAX]; /* the temporary directory, as getcwd() sees it */
  char old_cwd[PATH_MAX];
  struct dag_config cfg;
  struct dag_diags diags;
  char *errors; /* the diagnostics joined, after config_load() */
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

/* Load afresh into f->cfg, f->diags and f->errors. */
static inline int config_load(struct config_fixture *f, const struct dag_config_flags *flags,
                              char *const *envp) {
  dag_config_free(&f->cfg);
  dag_diags_free(&f->diags);
  free(f->errors);
  int rc = dag_config_load(&f->cfg, flags, envp, &f->diags);
  f->errors = dag_diags_join(&f->diags);
  return rc;
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
