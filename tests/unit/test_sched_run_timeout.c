/* test_sched_run_timeout.c - a DAG's dagrun_timeout (sched_run_timeout.c),
 * driven through the run state machine without processes: a fake spawner
 * whose "processes" end when a test says so or when they are stopped, a
 * fake clock and the real store, on SQLite and on PostgreSQL. No test
 * sleeps: the deadline is checked against the fake clock. */
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

static char *last_error(struct harness *h, const char *task) {
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, task, &t, &n), 0);
  assert_true(n > 0);
  char *e = t[n - 1].error ? xstrdup(t[n - 1].error) : NULL;
  dag_store_tries_free(t, n);
  return e;
}


static bool a_running(struct harness *h) {
  return find_live(h, "a") != NULL;
}

static enum dag_run_state run_state(struct harness *h) {
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, h->pk, &row), 0);
  enum dag_run_state st = row.state;
  dag_store_run_free(&row);
  return st;
}

static uint64_t due_ms(struct sched_run *r) {
  assert_non_null(r->timeout);
  return uv_timer_get_due_in(&r->timeout->timer);
}

/* The timer's work item, as on_timeout posts it, run now. */
static void fire(struct harness *h) {
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = SCHED_WORK_RUN_TIMEOUT;
  w.pk = h->pk;
  assert_int_equal(sched_run_timeout_work(h->s, &w), 0);
}

static const char chain[] = "dag_id: d\n"
                            "dagrun_timeout: 1h\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    command: x\n"
                            "  - id: b\n"
                            "    upstream: a\n"
                            "    command: x\n"
                            "  - id: c\n"
                            "    upstream: b\n"
                            "    command: x\n"
                            "    retries: 0\n";

static bool b_running(struct harness *h) {
  return find_live(h, "b") != NULL;
}

static void deadline_from_start(void **state) {
  struct harness *h = *state;
  run_one(h, chain);
  pump_until(h, a_running);
  finish(h, "a", 0);
  pump_until(h, b_running);
  struct sched_run *r = sched_find_run(h->s, h->pk);
  assert_non_null(r);
  dag_time_t start = r->start_date;
  assert_true(start > 0);
  /* Armed for the whole hour from the run's start, not from now. */
  uint64_t due = due_ms(r);
  assert_true(due > 3590 * 1000 && due <= 3600 * 1000);

  /* A second before the deadline: nothing changes, the timer is re-armed
   * for the rest. */
  h->now = start + 3599 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(run_state(h), DAG_RUN_RUNNING);
  expect_states(h, "a=success b=running c=none");
  assert_false(find_live(h, "b")->p->terminating);
  due = due_ms(r);
  assert_true(due > 0 && due <= 1000);
  assert_int_equal(h->done_calls, 0);

  /* At the deadline: the run fails, b is stopped, b and c end skipped. */
  h->now = start + 3600 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(run_state(h), DAG_RUN_FAILED);
  expect_states(h, "a=success b=skipped c=skipped");
  pump_until(h, one_done);
  assert_int_equal(h->done_calls, 1);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  assert_int_equal(h->n_live, 0);
  expect_states(h, "a=success b=skipped c=skipped");
  char *e = last_error(h, "b");
  assert_non_null(e);
  assert_non_null(strstr(e, "dagrun_timeout"));
  free(e);
}

/* The timer itself fires the check: a short timeout, with the clock
 * already past it when the loop runs. */
static void timer_fires(void **state) {
  struct harness *h = *state;
  run_one(h, "dag_id: d\n"
             "dagrun_timeout: 20ms\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n");
  pump_until(h, a_running);
  h->now += DAG_USEC_PER_SEC;
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  assert_int_equal(run_state(h), DAG_RUN_FAILED);
  expect_states(h, "a=skipped");
}

/* Without dagrun_timeout no timer is armed. */
static void none_without_the_key(void **state) {
  struct harness *h = *state;
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n");
  pump_until(h, a_running);
  struct sched_run *r = sched_find_run(h->s, h->pk);
  assert_non_null(r);
  assert_null(r->timeout);
  h->now += 365LL * 86400 * DAG_USEC_PER_SEC;
  fire(h);
  assert_int_equal(run_state(h), DAG_RUN_RUNNING);
  finish(h, "a", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

/* Stopping the scheduler with the timer armed closes it: the loop ends
 * (teardown asserts uv_loop_close()) without waiting for the hour. */
static void shutdown_while_armed(void **state) {
  struct harness *h = *state;
  run_one(h, chain);
  pump_until(h, a_running);
  struct sched_run *r = sched_find_run(h->s, h->pk);
  assert_non_null(r);
  assert_non_null(r->timeout);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(deadline_from_start, setup, teardown),
      cmocka_unit_test_setup_teardown(timer_fires, setup, teardown),
      cmocka_unit_test_setup_teardown(none_without_the_key, setup, teardown),
      cmocka_unit_test_setup_teardown(shutdown_while_armed, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_run_timeout", tests, DAG_ARRAY_SIZE(tests));
}
