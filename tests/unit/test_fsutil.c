/* test_fsutil.c - dag_fs_mkdir_p() and dag_fs_mkdir_parents(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "fsutil.h"

struct fx {
  char root[64];
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  snprintf(f->root, sizeof(f->root), "/tmp/dagctl-fsutil-XXXXXX");
  if (mkdtemp(f->root) == NULL) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char *cmd[] = {"rm", "-rf", f->root, NULL};
  pid_t pid = fork();
  if (pid == 0) {
    execvp(cmd[0], cmd);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  free(f);
  return 0;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_nested(void **state) {
  struct fx *f = *state;
  char *deep = xasprintf("%s/a/b//c/", f->root);
  assert_int_equal(dag_fs_mkdir_p(deep), 0);
  assert_true(is_dir(deep));
  /* Again: every level exists, which is fine. */
  assert_int_equal(dag_fs_mkdir_p(deep), 0);
  assert_int_equal(dag_fs_mkdir_p("/"), 0);
  assert_int_equal(dag_fs_mkdir_p(""), -ENOENT);
  free(deep);
}

static void test_parents(void **state) {
  struct fx *f = *state;
  char *log = xasprintf("%s/logs/dag/run/1.log", f->root);
  assert_int_equal(dag_fs_mkdir_parents(log), 0);
  char *dir = xasprintf("%s/logs/dag/run", f->root);
  assert_true(is_dir(dir));
  assert_false(is_dir(log)); /* the file itself is not made */
  assert_int_equal(access(log, F_OK), -1);
  assert_int_equal(dag_fs_mkdir_parents("no-slash.txt"), 0);
  assert_int_equal(dag_fs_mkdir_parents("/at-the-root"), 0);
  free(dir);
  free(log);
}

/* A file where a folder should be is an error, at the end or on the way. */
static void test_file_in_the_way(void **state) {
  struct fx *f = *state;
  char *file = xasprintf("%s/plain", f->root);
  FILE *fp = fopen(file, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(dag_fs_mkdir_p(file), -ENOTDIR);
  char *below = xasprintf("%s/below/x", file);
  assert_int_equal(dag_fs_mkdir_p(below), -ENOTDIR);
  assert_int_equal(dag_fs_mkdir_parents(below), -ENOTDIR);
  free(below);
  free(file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
      cmocka_unit_test_setup_teardown(test_parents, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_in_the_way, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
