/* store_backends.h - run one store test suite against each backend.
 *
 * store_backends_run() runs a cmocka group twice: on SQLite (a database file
 * in a temporary folder per test), then on PostgreSQL (a database created
 * per test on a private server that pg_server.h starts, or on
 * DAGCTL_TEST_PG_URL). A test asks store_test_open() for a fresh database
 * of the current backend and store_test_drop() removes it. A PostgreSQL
 * that cannot be started fails the suite: it never skips. */
#ifndef DAGCTL_TEST_STORE_BACKENDS_H
#define DAGCTL_TEST_STORE_BACKENDS_H

#include <libpq-fe.h>

#include "pg_server.h"
#include "store.h"

/* The backend of the group being run, and the server's URL. */
static enum dag_store_kind store_test_kind = DAG_STORE_SQLITE;
static char *store_test_pg_url;
static bool store_test_pg_private; /* the server is the test's own */
static struct pg_server *store_test_pg_server; /* borrowed: the running group's */
static unsigned store_test_serial;

struct store_test_db {
  char dir[64];  /* SQLite: the temporary folder */
  char db[32];   /* PostgreSQL: the database's name */
  char *state;   /* what dag_store_open() takes (owned) */
};

/* `url` with its database (the path after the host) replaced by `db`. */
static char *store__url_with_db(const char *url, const char *db) {
  const char *host = strstr(url, "://");
  host = host ? host + 3 : url;
  const char *path = strchr(host, '/');
  const char *query = strchr(host, '?');
  if (!path || (query && path > query)) path = query ? query : host + strlen(host);
  const char *end = path + strcspn(path, "?");
  return xasprintf("%.*s/%s%s", (int)(path - url), url, db, end);
}

/* Run one statement on the server's maintenance database. */
static void store__pg_admin(const char *sql) {
  PGconn *c = PQconnectdb(store_test_pg_url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

/* A fresh, empty database of the current backend; db->state names it. */
static void store_test_open(struct store_test_db *db) {
  memset(db, 0, sizeof(*db));
  if (store_test_kind == DAG_STORE_SQLITE) {
    snprintf(db->dir, sizeof(db->dir), "/tmp/dagctl-store-XXXXXX");
    assert_non_null(mkdtemp(db->dir));
    db->state = xasprintf("%s/dagctl.db", db->dir);
    return;
  }
  snprintf(db->db, sizeof(db->db), "dagctl_t%u_%ld", store_test_serial++, (long)getpid());
  char *sql = xasprintf("CREATE DATABASE %s", db->db);
  store__pg_admin(sql);
  free(sql);
  db->state = store__url_with_db(store_test_pg_url, db->db);
}

static void store_test_drop(struct store_test_db *db) {
  if (db->dir[0]) {
    char *cmd = xasprintf("rm -rf '%s'", db->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
  }
  if (db->db[0]) {
    char *sql = xasprintf("DROP DATABASE %s WITH (FORCE)", db->db);
    store__pg_admin(sql);
    free(sql);
  }
  free(db->state);
  memset(db, 0, sizeof(*db));
}

/* Cut every client of the PostgreSQL server as its restart does: the
 * private server is restarted; a server named by DAGCTL_TEST_PG_URL, which
 * the test may not restart, has the sessions of database `db` terminated,
 * which is what its clients see of a restart. */
static inline void store_test_pg_restart(const char *db) {
  if (store_test_pg_private) {
    assert_int_equal(pg_server_restart(store_test_pg_server), 0);
    return;
  }
  char *sql = xasprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = '%s' AND pid <> pg_backend_pid()", db);
  PGconn *c = PQconnectdb(store_test_pg_url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
  free(sql);
}

/* Run `tests` on SQLite, then on PostgreSQL; the number of failures (a
 * server that does not start is one). */
static int store_backends_run(const char *name, const struct CMUnitTest *tests, size_t n) {
  char *group = xasprintf("%s on sqlite", name);
  store_test_kind = DAG_STORE_SQLITE;
  int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
  free(group);
  struct pg_server server;
  store_test_pg_url = pg_server_start(&server);
  if (!store_test_pg_url) {
    fprintf(stderr, "%s: no PostgreSQL to run the suite against\n", name);
    pg_server_stop(&server);
    return failed + 1;
  }
  store_test_pg_private = server.started;
  store_test_pg_server = &server;
  group = xasprintf("%s on postgresql", name);
  store_test_kind = DAG_STORE_POSTGRESQL;
  failed += _cmocka_run_group_tests(group, tests, n, NULL, NULL);
  free(group);
  store_test_pg_server = NULL;
  pg_server_stop(&server);
  free(store_test_pg_url);
  store_test_pg_url = NULL;
  return failed;
}

#endif
