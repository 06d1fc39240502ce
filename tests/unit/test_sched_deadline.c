/* test_sched_deadline.c - a DAG's deadline (sched_deadline.c), driven
 * through the run state machine without processes (sched_harness.h): a
 * fake clock, the real store, on SQLite and on PostgreSQL. No test sleeps:
 * deadlines are checked against the fake clock, and the timer's own firing
 * is awaited through the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched_harness.h"
#include "store_deadline.h"
#include "timeutil.h"

/* What the listener was told, in order. */
struct missed {
  char run_id[64];
  dag_time_t deadline;
};
static struct missed calls[64];
static size_t n_calls;

static void on_missed(void *ctx, const char *dag_id, const char *run_id, dag_time_t deadline) {
  (void)ctx;
  assert_string_equal(dag_id, "d");
  assert_true(n_calls < DAG_ARRAY_SIZE(calls));
  snprintf(calls[n_calls].run_id, sizeof(calls[n_calls].run_id), "%s", run_id);
  calls[n_calls++].deadline = deadline;
}

static void listen_missed(struct harness *h) {
  n_calls = 0;
  struct dag_scheduler_listener l = {.deadline_missed = on_missed};
  dag_scheduler_set_listener(h->s, &l);
}

static bool a_running(struct harness *h) {
  return find_live(h, "a") != NULL;
}

static bool any_call(struct harness *h) {
  (void)h;
  return n_calls > 0;
}

static enum dag_run_state state_of(struct harness *h, int64_t pk) {
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, pk, &row), 0);
  enum dag_run_state st = row.state;
  dag_store_run_free(&row);
  return st;
}

static bool missed_in_store(struct harness *h, int64_t pk) {
  bool m = false;
  assert_int_equal(dag_store_deadline_missed(h->st, pk, &m), 0);
  return m;
}

static uint64_t due_ms(struct harness *h) {
  assert_true(uv_is_active((uv_handle_t *)&h->s->deadlines.timer));
  return uv_timer_get_due_in(&h->s->deadlines.timer);
}

/* The timer's work item, as its callback posts it, run now. */
static void fire(struct harness *h) {
  assert_int_equal(sched_deadline_work(h->s), 0);
}

/* The heap's order and each run's slot hold. */
static void check_heap(struct harness *h) {
  const struct sched_deadlines *d = &h->s->deadlines;
  for (size_t i = 0; i < d->n; i++) {
    assert_int_equal(d->heap[i]->deadline_slot, i + 1);
    if (i) assert_true(d->heap[(i - 1) / 2]->deadline_at <= d->heap[i]->deadline_at);
  }
}

static const char queued_1h[] = "dag_id: d\n"
                                "deadline: {after: queued_at, within: 1h}\n"
                                "tasks:\n"
                                "  - id: a\n"
                                "    command: x\n";

/* Missed an hour after queueing: one call, one claim; the run goes on
 * (a deadline stops nothing), and firing again changes nothing. */
static void missed_once(void **state) {
  struct harness *h = *state;
  listen_missed(h);
  /* queued_at is the real clock's: the fake one starts there. */
  h->now = dag_time_now();
  run_one(h, queued_1h);
  pump_until(h, a_running);
  struct sched_run *r = sched_find_run(h->s, h->pk);
  assert_non_null(r);
  assert_int_equal(h->s->deadlines.n, 1);
  assert_int_equal(r->deadline_slot, 1);
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, h->pk, &row), 0);
  assert_int_equal(r->deadline_at, row.queued_at + 3600 * DAG_USEC_PER_SEC);
  dag_store_run_free(&row);
  /* Armed for about an hour. queued_at came from the real clock, the
   * fake one was set from it a moment earlier and the loop's clock moves
   * on its own: under valgrind on a busy machine they drift apart by over
   * a second, so allow a minute either way, far from any wrong deadline. */
  uint64_t due = due_ms(h);
  if (!(due >= 3540 * 1000 && due <= 3660 * 1000))
    fail_msg("due in %llu ms", (unsigned long long)due);

  /* A second early: nothing, and the timer is armed for the rest. */
  h->now = r->deadline_at - DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(n_calls, 0);
  assert_false(missed_in_store(h, h->pk));
  due = due_ms(h);
  assert_true(due > 0 && due <= 1000);

  h->now = r->deadline_at;
  dag_time_t deadline = r->deadline_at;
  fire(h);
  assert_int_equal(n_calls, 1);
  assert_string_equal(calls[0].run_id, r->run_id);
  assert_int_equal(calls[0].deadline, deadline);
  assert_true(missed_in_store(h, h->pk));
  assert_int_equal(h->s->deadlines.n, 0);
  assert_int_equal(r->deadline_slot, 0);
  assert_false(uv_is_active((uv_handle_t *)&h->s->deadlines.timer));
  assert_int_equal(state_of(h, h->pk), DAG_RUN_RUNNING);
  expect_states(h, "a=running");
  assert_false(find_live(h, "a")->p->terminating);

  h->now += 3600 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(n_calls, 1);
  finish(h, "a", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  assert_int_equal(n_calls, 1);
}

/* A run that ends in time leaves the heap at its end: the timer stops and
 * nothing is ever said, nor claimed. */
static void in_time_nothing(void **state) {
  struct harness *h = *state;
  listen_missed(h);
  h->now = dag_time_now();
  run_one(h, queued_1h);
  pump_until(h, a_running);
  assert_int_equal(h->s->deadlines.n, 1);
  h->now += 3599 * DAG_USEC_PER_SEC;
  finish(h, "a", 1);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  assert_int_equal(h->s->deadlines.n, 0);
  assert_false(uv_is_active((uv_handle_t *)&h->s->deadlines.timer));
  h->now += 3600 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(n_calls, 0);
  assert_false(missed_in_store(h, h->pk));
}

/* A run whose miss is already claimed (before a restart, or by another
 * scheduler) is loaded without a deadline to watch. */
static void claimed_before_load(void **state) {
  struct harness *h = *state;
  listen_missed(h);
  h->now = dag_time_now();
  struct dag *dag = load_yaml(h, queued_1h);
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_TEST};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  bool claimed = false;
  assert_int_equal(dag_store_deadline_claim(h->st, h->pk, h->now, h->now, &claimed), 0);
  assert_true(claimed);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
  pump_until(h, a_running);
  assert_int_equal(h->s->deadlines.n, 0);
  h->now += 7200 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(n_calls, 0);
}

/* A run created from the logical date of an hour ago with 10 minutes to
 * finish is late as it loads: the timer, armed at 0, fires by itself. */
static void timer_fires_for_past_deadline(void **state) {
  struct harness *h = *state;
  listen_missed(h);
  struct dag *dag = load_yaml(h, "dag_id: d\n"
                                 "deadline: {after: logical_date, within: 10m}\n"
                                 "tasks:\n"
                                 "  - id: a\n"
                                 "    command: x\n");
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_MANUAL,
                                .logical_date = h->now - 3600 * DAG_USEC_PER_SEC};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
  pump_until(h, any_call);
  assert_int_equal(n_calls, 1);
  assert_int_equal(calls[0].deadline, req.logical_date + 600 * DAG_USEC_PER_SEC);
  assert_true(missed_in_store(h, h->pk));
}

/* Many runs, queued behind max_active_runs: one heap, nearest first; a run
 * leaving from the middle keeps the order; each run is told once, in the
 * order of its deadline, as the clock passes it. */
static void nearest_first(void **state) {
  struct harness *h = *state;
  enum { N = 40 };
  listen_missed(h);
  struct dag *dag = load_yaml(h, "dag_id: d\n"
                                 "max_active_runs: 1\n"
                                 "deadline: {after: logical_date, within: 1h}\n"
                                 "tasks:\n"
                                 "  - id: a\n"
                                 "    command: x\n");
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  int64_t pks[N];
  dag_time_t base = h->now;
  unsigned x = 12345;
  for (int i = 0; i < N; i++) {
    x = x * 1103515245u + 12345u;
    struct dag_run_request req = {.type = DAG_RUN_TYPE_MANUAL,
                                  .logical_date = base + (dag_time_t)(x % 3600) * DAG_USEC_PER_SEC};
    char *run_id = NULL, *err = NULL;
    assert_int_equal(dag_run_create(h->st, dag, &req, &pks[i], &run_id, &err), 0);
    free(run_id);
  }
  h->pk = pks[0];
  assert_int_equal(dag_scheduler_run_one(h->s, dag, pks[0], on_done, h), 0);
  pump_until(h, a_running);
  struct sched_dag *sd = sched_find_dag(h->s, "d");
  for (int i = 1; i < N; i++) assert_int_equal(sched_run_load(h->s, sd, sd->ref, pks[i]), 0);
  assert_int_equal(h->s->deadlines.n, N);
  check_heap(h);
  dag_time_t first = h->s->deadlines.heap[0]->deadline_at;
  for (size_t i = 0; i < h->s->deadlines.n; i++)
    assert_true(first <= h->s->deadlines.heap[i]->deadline_at);

  /* The running run ends: out of the heap, wherever it was. */
  finish(h, "a", 0);
  pump_until(h, one_done);
  assert_int_equal(h->s->deadlines.n, N - 1);
  check_heap(h);

  /* Past half the deadlines, then past all. */
  h->now = base + 5400 * DAG_USEC_PER_SEC;
  fire(h);
  size_t half = n_calls;
  assert_true(half > 0 && half < N - 1);
  assert_int_equal(h->s->deadlines.n, N - 1 - half);
  check_heap(h);
  h->now = base + 7200 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(n_calls, N - 1);
  assert_int_equal(h->s->deadlines.n, 0);
  for (size_t i = 1; i < n_calls; i++) assert_true(calls[i - 1].deadline <= calls[i].deadline);
  for (size_t i = 0; i < n_calls; i++)
    for (size_t k = i + 1; k < n_calls; k++)
      assert_string_not_equal(calls[i].run_id, calls[k].run_id);
  for (int i = 1; i < N; i++) assert_true(missed_in_store(h, pks[i]));
  assert_false(missed_in_store(h, pks[0]));
}

/* Without the key nothing is watched. */
static void none_without_the_key(void **state) {
  struct harness *h = *state;
  listen_missed(h);
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n");
  pump_until(h, a_running);
  assert_int_equal(h->s->deadlines.n, 0);
  assert_false(h->s->deadlines.timer_on);
  h->now += 365LL * 86400 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(n_calls, 0);
  finish(h, "a", 0);
  pump_until(h, one_done);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(missed_once, setup, teardown),
      cmocka_unit_test_setup_teardown(in_time_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(claimed_before_load, setup, teardown),
      cmocka_unit_test_setup_teardown(timer_fires_for_past_deadline, setup, teardown),
      cmocka_unit_test_setup_teardown(nearest_first, setup, teardown),
      cmocka_unit_test_setup_teardown(none_without_the_key, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_deadline", tests, DAG_ARRAY_SIZE(tests));
}
