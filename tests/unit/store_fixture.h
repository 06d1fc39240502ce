/* store_fixture.h - the fixture the store's test suites share: a fresh
 * database of the backend store_backends_run() is on, and one connection
 * to it.
 *
 * Header-only, like store_backends.h, because the backend being run is a
 * file-local variable of the test that includes them: a separate object
 * would always see SQLite. Its functions are `static inline` so that a
 * suite may use only some of them without an unused-function warning. */
#ifndef DAGCTL_TEST_STORE_FIXTURE_H
#define DAGCTL_TEST_STORE_FIXTURE_H

#include "store_backends.h"

struct store_fixture {
  struct store_test_db db;
  dag_store *st; /* owned; closed by store_fixture_close() */
};

/* Create the database and open `f->st` on it; fails the test otherwise. */
static inline void store_fixture_open(struct store_fixture *f) {
  store_test_open(&f->db);
  char *err = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &f->st, &err), 0);
}

/* Close the connection and drop the database. */
static inline void store_fixture_close(struct store_fixture *f) {
  dag_store_close(f->st);
  f->st = NULL;
  store_test_drop(&f->db);
}

/* cmocka setup: *state becomes a store_fixture that the teardown frees. */
static inline int store_fixture_setup(void **state) {
  struct store_fixture *f = xcalloc(1, sizeof(*f));
  store_fixture_open(f);
  *state = f;
  return 0;
}

static inline int store_fixture_teardown(void **state) {
  store_fixture_close(*state);
  free(*state);
  return 0;
}

/* A test of a suite run by store_backends_run() on this fixture. */
#define STORE_TEST(name) \
  cmocka_unit_test_setup_teardown(name, store_fixture_setup, store_fixture_teardown)

#endif
