/* test_store_deadline.c - the claim of a missed deadline (store_deadline.h)
 * on each backend: once per run, across connections (a restart, a second
 * scheduler), never for an ended run, and given back by a rollback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_deadline.h"
#include "store_mark.h"
#include "store_fixture.h"

static int64_t make_run(dag_store *st, const char *run_id) {
  struct dag_store_run run = {.dag_id = "d", .run_id = (char *)run_id, .run_type = "manual",
                              .logical_date = 1000, .data_interval_start = 1000,
                              .data_interval_end = 1000, .conf = "{}", .queued_at = 1000};
  const char *tasks[] = {"a"};
  int tries[] = {0};
  int64_t pk = 0;
  assert_int_equal(dag_store_create_run(st, &run, tasks, tries, 1, false, &pk, NULL), 0);
  return pk;
}

static bool missed(dag_store *st, int64_t pk) {
  bool m = true;
  assert_int_equal(dag_store_deadline_missed(st, pk, &m), 0);
  return m;
}

static dag_store *second(struct store_fixture *f) {
  dag_store *st = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &st, &err), 0);
  return st;
}

/* The first claim wins; a second, here or on another connection, does
 * not, and the run reads as missed from both. */
static void claimed_once(void **state) {
  struct store_fixture *f = *state;
  int64_t pk = make_run(f->st, "r1");
  int64_t other = make_run(f->st, "r2");
  assert_false(missed(f->st, pk));
  bool claimed = false;
  /* Times as the scheduler has them: microseconds, beyond 32 bits. */
  const dag_time_t at = INT64_C(1767225600) * DAG_USEC_PER_SEC;
  assert_int_equal(dag_store_deadline_claim(f->st, pk, at, at + 1, &claimed), 0);
  assert_true(claimed);
  assert_int_equal(dag_store_deadline_claim(f->st, pk, 5000, 7000, &claimed), 0);
  assert_false(claimed);
  dag_store *st2 = second(f);
  assert_true(missed(st2, pk));
  assert_false(missed(st2, other));
  assert_int_equal(dag_store_deadline_claim(st2, pk, 5000, 8000, &claimed), 0);
  assert_false(claimed);
  assert_int_equal(dag_store_deadline_claim(st2, other, 5000, 8000, &claimed), 0);
  assert_true(claimed);
  dag_store_close(st2);
}

/* A claim rolled back (the alert's transaction failed) is no claim. */
static void rollback_gives_it_back(void **state) {
  struct store_fixture *f = *state;
  int64_t pk = make_run(f->st, "r1");
  bool claimed = false;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(dag_store_deadline_claim(f->st, pk, 5000, 6000, &claimed), 0);
  assert_true(claimed);
  dag_store_rollback(f->st);
  dag_store *st2 = second(f);
  assert_false(missed(st2, pk));
  assert_int_equal(dag_store_deadline_claim(st2, pk, 5000, 6000, &claimed), 0);
  assert_true(claimed);
  dag_store_close(st2);
}

/* A run that ended before its deadline was noticed has none to miss. */
static void ended_run_not_claimed(void **state) {
  struct store_fixture *f = *state;
  int64_t ok = make_run(f->st, "ok");
  int64_t bad = make_run(f->st, "bad");
  int64_t running = make_run(f->st, "running");
  assert_int_equal(dag_store_set_run_state(f->st, ok, DAG_RUN_SUCCESS, 2000, 3000), 0);
  assert_int_equal(dag_store_set_run_state(f->st, bad, DAG_RUN_FAILED, 2000, 3000), 0);
  assert_int_equal(dag_store_set_run_state(f->st, running, DAG_RUN_RUNNING, 2000, 0), 0);
  bool claimed = true;
  assert_int_equal(dag_store_deadline_claim(f->st, ok, 5000, 6000, &claimed), 0);
  assert_false(claimed);
  assert_int_equal(dag_store_deadline_claim(f->st, bad, 5000, 6000, &claimed), 0);
  assert_false(claimed);
  assert_int_equal(dag_store_deadline_claim(f->st, running, 5000, 6000, &claimed), 0);
  assert_true(claimed);
  assert_false(missed(f->st, ok));
  assert_true(missed(f->st, running));
}

/* Deleting the run deletes its claim: SQLite gives a deleted run's id to
 * the next, which must not inherit it. */
static void delete_cascades(void **state) {
  struct store_fixture *f = *state;
  int64_t pk = make_run(f->st, "r1");
  bool claimed = false;
  assert_int_equal(dag_store_deadline_claim(f->st, pk, 5000, 6000, &claimed), 0);
  assert_true(claimed);
  assert_int_equal(dag_store_run_delete(f->st, pk), 0);
  assert_false(missed(f->st, pk));
}

struct racer {
  dag_store *st;
  int64_t pk;
  int rc;
  bool claimed;
};

static void *race(void *arg) {
  struct racer *r = arg;
  r->rc = dag_store_deadline_claim(r->st, r->pk, 5000, 7000, &r->claimed);
  return NULL;
}

/* Until a session of the test's database waits for a lock. */
static void await_lock_wait(const char *url) {
  PGconn *c = PQconnectdb(url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  for (int i = 0; i < 20000; i++) {
    PGresult *res = PQexec(c, "SELECT count(*) FROM pg_stat_activity"
                              " WHERE datname = current_database() AND wait_event_type = 'Lock'");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    bool waiting = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    if (waiting) break;
    usleep(1000);
  }
  PQfinish(c);
}

/* Two schedulers on PostgreSQL claim at once: the second waits for the
 * first's transaction at the key, then claims only if it rolled back. */
static void pg_concurrent_claims(void **state) {
  struct store_fixture *f = *state;
  if (store_test_kind != DAG_STORE_POSTGRESQL) return;
  for (int commit = 1; commit >= 0; commit--) {
    int64_t pk = make_run(f->st, commit ? "r1" : "r2");
    bool claimed = false;
    assert_int_equal(dag_store_begin(f->st), 0);
    assert_int_equal(dag_store_deadline_claim(f->st, pk, 5000, 6000, &claimed), 0);
    assert_true(claimed);
    struct racer r = {.st = second(f), .pk = pk};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race, &r), 0);
    await_lock_wait(f->db.state);
    if (commit)
      assert_int_equal(dag_store_commit(f->st), 0);
    else
      dag_store_rollback(f->st);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.claimed, !commit);
    dag_store_close(r.st);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(claimed_once),
      STORE_TEST(rollback_gives_it_back),
      STORE_TEST(ended_run_not_claimed),
      STORE_TEST(delete_cascades),
      STORE_TEST(pg_concurrent_claims),
  };
  return store_backends_run("store_deadline", tests, DAG_ARRAY_SIZE(tests));
}
