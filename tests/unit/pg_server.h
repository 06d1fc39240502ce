/* pg_server.h - a private PostgreSQL server for one test program.
 *
 * DAGCTL_TEST_PG_URL names an existing server to use instead. Otherwise
 * initdb and pg_ctl (on PATH or under /usr/lib/postgresql/N/bin) start one
 * in a temporary folder, listening on a Unix socket only, as the postgres
 * user when the test runs as root (the server refuses root). PostgreSQL is
 * required (.ci/install-deps.sh test installs it): a test that gets no URL
 * fails, it never skips. */
#ifndef DAGCTL_TEST_PG_SERVER_H
#define DAGCTL_TEST_PG_SERVER_H

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

struct pg_server {
  char dir[64];
  char *bin;    /* folder of initdb and pg_ctl; NULL: on PATH */
  bool started; /* by us */
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

/* The URL of a server for this test (caller frees), or NULL (said why on
 * stderr): the caller fails. */
static char *pg_server_start(struct pg_server *s) {
  memset(s, 0, sizeof(*s));
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

static void pg_server_stop(struct pg_server *s) {
  if (s->started) {
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
