/* test_store_schedulers.c - several schedulers on one database: a run is
 * driven by the one scheduler that claimed it; a silent scheduler is
 * declared gone once and its runs freed for the others; events stay until
 * every active scheduler has read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_backends.h"

struct fixture {
  struct store_test_db db;
  dag_store *a, *b; /* two schedulers' connections */
  int64_t run1, run2;
};

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

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  store_test_open(&f->db);
  char *err = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &f->a, &err), 0);
  assert_int_equal(dag_store_open(f->db.state, NULL, &f->b, &err), 0);
  f->run1 = make_run(f->a, "r1");
  f->run2 = make_run(f->a, "r2");
  assert_int_equal(dag_store_scheduler_register(f->a, "A", "h1", 1000), 0);
  assert_int_equal(dag_store_scheduler_register(f->b, "B", "h2", 1000), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dag_store_close(f->a);
  dag_store_close(f->b);
  store_test_drop(&f->db);
  free(f);
  return 0;
}

static size_t unowned(dag_store *st) {
  struct dag_store_run *r = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_unowned_runs(st, &r, &n), 0);
  dag_store_runs_free(r, n);
  return n;
}

/* A run is claimed by one scheduler; the other is refused, the owner may
 * claim again. */
static void run_has_one_driver(void **state) {
  struct fixture *f = *state;
  assert_int_equal(unowned(f->b), 2);
  assert_int_equal(dag_store_claim_run(f->a, f->run1, "A"), 0);
  assert_int_equal(dag_store_claim_run(f->b, f->run1, "B"), DAG_ECLAIM);
  assert_int_equal(dag_store_claim_run(f->a, f->run1, "A"), 0);
  assert_int_equal(dag_store_claim_run(f->b, f->run2, "B"), 0);
  assert_int_equal(dag_store_claim_run(f->b, 999999, "B"), DAG_ENOTFOUND);
  assert_int_equal(unowned(f->a), 0);
}

/* A silent scheduler is declared gone once (by whichever reaper comes
 * first), its runs freed, and its next heartbeat refused. */
static void silent_scheduler_frees_its_runs(void **state) {
  struct fixture *f = *state;
  assert_int_equal(dag_store_claim_run(f->a, f->run1, "A"), 0);
  assert_int_equal(dag_store_claim_run(f->b, f->run2, "B"), 0);
  assert_int_equal(dag_store_scheduler_heartbeat(f->b, "B", 0, 20000), 0);
  size_t gone = 0;
  assert_int_equal(dag_store_reap_schedulers(f->b, 21000, 10000, &gone), 0);
  assert_int_equal(gone, 1);
  assert_int_equal(dag_store_reap_schedulers(f->b, 21000, 10000, &gone), 0);
  assert_int_equal(gone, 0);
  assert_int_equal(unowned(f->b), 1);
  assert_int_equal(dag_store_claim_run(f->b, f->run1, "B"), 0);
  assert_int_equal(dag_store_claim_run(f->a, f->run1, "A"), DAG_ECLAIM);
  assert_int_equal(dag_store_scheduler_heartbeat(f->a, "A", 0, 22000), DAG_ECLAIM);
  struct dag_store_scheduler *x = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_schedulers(f->a, &x, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(x[0].id, "B");
  assert_string_equal(x[0].state, "active");
  assert_string_equal(x[1].state, "gone");
  dag_store_schedulers_free(x, n);
}

/* A clean stop frees the runs at once. */
static void stop_frees_runs(void **state) {
  struct fixture *f = *state;
  assert_int_equal(dag_store_claim_run(f->a, f->run1, "A"), 0);
  assert_int_equal(dag_store_scheduler_stopped(f->a, "A", 5000), 0);
  assert_int_equal(unowned(f->b), 2);
  assert_int_equal(dag_store_claim_run(f->b, f->run1, "B"), 0);
}

/* Every scheduler reads every event; they are dropped once all active
 * schedulers have read them. */
static void events_reach_everyone(void **state) {
  struct fixture *f = *state;
  int64_t last = 0;
  assert_int_equal(dag_store_last_event_id(f->a, &last), 0);
  assert_true(last >= 2); /* the two runs' creations */
  struct dag_store_event *ev = NULL;
  size_t n = 0;
  int64_t seen_a = 0, seen_b = 0;
  assert_int_equal(dag_store_events_after(f->a, 0, &ev, &n, &seen_a), 0);
  assert_int_equal(n, 2);
  assert_int_equal(ev[0].run_pk, f->run1);
  dag_store_events_free(ev, n);
  assert_int_equal(dag_store_events_after(f->b, 0, &ev, &n, &seen_b), 0);
  assert_int_equal(n, 2);
  dag_store_events_free(ev, n);
  assert_int_equal(dag_store_events_after(f->b, seen_b, &ev, &n, &seen_b), 0);
  assert_int_equal(n, 0);
  /* A has reported reading both, B none: nothing may go. */
  assert_int_equal(dag_store_scheduler_heartbeat(f->a, "A", seen_a, 2000), 0);
  size_t gone = 0;
  assert_int_equal(dag_store_reap_schedulers(f->a, 2000, 10000, &gone), 0);
  assert_int_equal(dag_store_events_after(f->a, 0, &ev, &n, &last), 0);
  assert_int_equal(n, 2);
  dag_store_events_free(ev, n);
  assert_int_equal(dag_store_scheduler_heartbeat(f->b, "B", seen_b, 2000), 0);
  assert_int_equal(dag_store_reap_schedulers(f->a, 2000, 10000, &gone), 0);
  assert_int_equal(dag_store_events_after(f->a, 0, &ev, &n, &last), 0);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(run_has_one_driver, setup, teardown),
      cmocka_unit_test_setup_teardown(silent_scheduler_frees_its_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(stop_frees_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(events_reach_everyone, setup, teardown),
  };
  return store_backends_run("store_schedulers", tests, DAG_ARRAY_SIZE(tests));
}
