/* pg_server.h - a private PostgreSQL server for one test program.
 *
 * DAGCTL_TEST_PG_URL names an existing server to use instead. Otherwise
 * initdb and pg_ctl (on PATH or under /usr/lib/postgresql/N/bin) start one
 * in a temporary folder, listening on a Unix socket only, as the postgres
 * user when the test runs as root (the server refuses root). PostgreSQL is
 * required (.ci/install-deps.sh test installs it): a test that gets no URL
 * fails, it never skips.
 *
 * The server does not outlive the test, however the test ends: a watchdog
 * process, started with it, waits for the end of a pipe only the test holds
 * open, which the kernel closes when the test exits, is killed or aborts;
 * it then stops the server and removes its folder. */
#ifndef DAGCTL_TEST_PG_SERVER_H
#define DAGCTL_TEST_PG_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"

struct pg_server {
  char dir[64];
  char *bin;    /* folder of initdb and pg_ctl; NULL: on PATH */
  bool started; /* by us */
  int watchdog_fd;   /* the pipe's end whose closing stops the server; -1: none */
  int watchdog_done; /* at end of file, the watchdog is through */
};

static char *pg__bin_dir(void) {
  if (system("command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1") == 0)
    return xstrdup("");
  for (int v = 20; v >= 11; v--) {
    char *d = xasprintf("/usr/lib/postgresql/%d/bin/", v);
    char *initdb = xasprintf("%sinitdb", d);
    bool ok = access(initdb, X_OK) == 0;
    free(initdb);
    if (ok) return d;
    free(d);
  }
  return NULL;
}

/* Run `inner` through sh, as the postgres user when we are root. */
static int pg__run(char *inner) {
  char *cmd = geteuid() == 0 ? xasprintf("runuser -u postgres -- sh -c '%s'", inner)
                             : xstrdup(inner);
  int rc = system(cmd);
  free(cmd);
  free(inner);
  return rc;
}

/* Start the process that stops the server and removes its folder once
 * every copy of the pipe end s->watchdog_fd is closed: at pg_server_stop(),
 * or when the test process dies. CLOEXEC keeps the end out of the programs
 * a test runs. The watchdog is forked twice and in a session of its own,
 * so that whatever kills a test and its descendants (a ctest timeout)
 * does not take it along; it closes s->watchdog_done when it is through. */
static void pg__watchdog(struct pg_server *s) {
  int p[2], done[2];
  s->watchdog_fd = s->watchdog_done = -1;
  if (pipe2(p, O_CLOEXEC) != 0) return;
  if (pipe2(done, O_CLOEXEC) != 0) {
    close(p[0]);
    close(p[1]);
    return;
  }
  char *stop = xasprintf("%spg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1", s->bin,
                         s->dir);
  char *rm = xasprintf("rm -rf '%s'", s->dir);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    close(p[1]);
    close(done[0]);
    char c;
    while (read(p[0], &c, 1) < 0 && errno == EINTR) {
    }
    pg__run(stop);
    if (system(rm) != 0) fprintf(stderr, "pg_server: cannot remove %s\n", s->dir);
    _exit(0); /* closes done[1] */
  }
  free(stop);
  free(rm);
  close(p[0]);
  close(done[1]);
  if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
    close(p[1]);
    close(done[0]);
    return;
  }
  s->watchdog_fd = p[1];
  s->watchdog_done = done[0];
}

/* The URL of a server for this test (caller frees), or NULL (said why on
 * stderr): the caller fails. */
static char *pg_server_start(struct pg_server *s) {
  memset(s, 0, sizeof(*s));
  s->watchdog_fd = s->watchdog_done = -1;
  const char *url = getenv("DAGCTL_TEST_PG_URL");
  if (url && *url) return xstrdup(url);
  s->bin = pg__bin_dir();
  if (s->bin == NULL) {
    fprintf(stderr, "pg_server: missing tool: initdb and pg_ctl, on PATH or in "
                    "/usr/lib/postgresql/N/bin (run .ci/install-deps.sh test)\n");
    return NULL;
  }
  if (geteuid() == 0 && getpwnam("postgres") == NULL) {
    fprintf(stderr, "pg_server: running as root without a postgres user\n");
    return NULL;
  }
  snprintf(s->dir, sizeof(s->dir), "/tmp/dagctl_pg.XXXXXX");
  if (mkdtemp(s->dir) == NULL) return NULL;
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (chown(s->dir, pw->pw_uid, pw->pw_gid) != 0) return NULL;
  }
  pg__watchdog(s);
  /* fsync off: this server's data dies with the test. */
  if (pg__run(xasprintf("%sinitdb -D %s/data -A trust -U postgres --locale=C -E UTF8 "
                        ">%s/initdb.log 2>&1",
                        s->bin, s->dir, s->dir)) != 0 ||
      pg__run(xasprintf("%spg_ctl -D %s/data -l %s/server.log -w -o \"-k %s -c "
                        "listen_addresses= -c fsync=off\" start >/dev/null 2>&1",
                        s->bin, s->dir, s->dir, s->dir)) != 0) {
    fprintf(stderr, "pg_server: could not start PostgreSQL in %s (see its logs)\n", s->dir);
    return NULL;
  }
  s->started = true;
  return xasprintf("postgresql:///postgres?host=%s&user=postgres", s->dir);
}

/* Restart a server this test started, as an upgrade or a crash-restart
 * would: every session is cut, and the server accepts new ones once the
 * call returns (pg_ctl -w). 0, or -1 if it is not ours or did not come
 * back (see its log). Inline, so that a test without a restart builds
 * without an unused-function warning. */
static inline int pg_server_restart(struct pg_server *s) {
  if (!s->started) return -1;
  return pg__run(xasprintf("%spg_ctl -D %s/data -l %s/server.log -m fast -w restart "
                           ">/dev/null 2>&1",
                           s->bin, s->dir, s->dir)) == 0
             ? 0
             : -1;
}

static void pg_server_stop(struct pg_server *s) {
  if (s->watchdog_fd >= 0) {
    /* The watchdog stops the server and removes the folder: wait for it. */
    close(s->watchdog_fd);
    s->watchdog_fd = -1;
    char c;
    while (read(s->watchdog_done, &c, 1) < 0 && errno == EINTR) {
    }
    close(s->watchdog_done);
    s->watchdog_done = -1;
  } else if (s->started) {
    pg__run(xasprintf("%spg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1", s->bin,
                      s->dir));
    char *cmd = xasprintf("rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "pg_server: cannot remove %s\n", s->dir);
    free(cmd);
  }
  free(s->bin);
  s->bin = NULL;
  s->started = false;
}

#endif
