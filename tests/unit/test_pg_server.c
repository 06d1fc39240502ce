/* test_pg_server.c - the private PostgreSQL server of pg_server.h does not
 * outlive its test: a test program killed outright (a ctest timeout, a
 * sanitizer's abort) still has its server stopped and its folder removed. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "pg_server.h"

static void killed_test_leaves_no_server(void **state) {
  (void)state;
  int path[2];
  assert_int_equal(pipe(path), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(path[0]);
    struct pg_server s;
    char *url = pg_server_start(&s);
    if (!url || !s.started) _exit(1);
    if (write(path[1], s.dir, sizeof(s.dir)) != (ssize_t)sizeof(s.dir)) _exit(1);
    pause(); /* until killed */
    _exit(0);
  }
  close(path[1]);
  char dir[64] = "";
  assert_int_equal(read(path[0], dir, sizeof(dir)), (ssize_t)sizeof(dir));
  close(path[0]);
  int in = inotify_init1(IN_CLOEXEC);
  assert_true(in >= 0);
  assert_true(inotify_add_watch(in, dir, IN_DELETE_SELF) >= 0);
  assert_int_equal(kill(child, SIGKILL), 0);
  assert_int_equal(waitpid(child, NULL, 0), child);
  /* The folder goes once the server is down; alarm() bounds the wait. */
  alarm(60);
  char buf[4096];
  ssize_t n;
  do n = read(in, buf, sizeof(buf));
  while (n < 0 && errno == EINTR);
  alarm(0);
  assert_true(n > 0);
  close(in);
  assert_int_not_equal(access(dir, F_OK), 0);
}

/* The usual end: stopped, the folder removed. */
static void stopped_server_is_gone(void **state) {
  (void)state;
  struct pg_server s;
  char *url = pg_server_start(&s);
  assert_non_null(url);
  free(url);
  char dir[64];
  memcpy(dir, s.dir, sizeof(dir));
  assert_true(s.started);
  pg_server_stop(&s);
  assert_int_not_equal(access(dir, F_OK), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stopped_server_is_gone),
      cmocka_unit_test(killed_test_leaves_no_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
