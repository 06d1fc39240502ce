/* test_sched_pool.c - pools and priorities in the run state machine,
 * driven without processes (sched_harness.h) on SQLite and PostgreSQL:
 * the order tries start in when slots are short, the slots a try holds,
 * and a task whose pool is missing. No test sleeps. */
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
#include "store_pools.h"

static int by_pid(const void *a, const void *b) {
  int pa = ((const struct fake *)a)->p->pid, pb = ((const struct fake *)b)->p->pid;
  return (pa > pb) - (pa < pb);
}

/* The tasks running now, "a b ..." in the order they were started (the
 * harness numbers its processes' pids in spawn order). */
static char *started_order(struct harness *h) {
  struct fake *v = xcalloc(h->n_live + 1, sizeof(*v));
  memcpy(v, h->live, h->n_live * sizeof(*v));
  qsort(v, h->n_live, sizeof(*v), by_pid);
  char *out = xstrdup("");
  for (size_t i = 0; i < h->n_live; i++) {
    const struct sched_ti *ti = v[i].p->data;
    char *next = xasprintf("%s%s%s", out, i ? " " : "", ti->run->ref->dag->tasks[ti->idx].id);
    free(out);
    out = next;
  }
  free(v);
  return out;
}

static void expect_running(struct harness *h, const char *want) {
  char *got = started_order(h);
  if (strcmp(got, want) != 0) fail_msg("running: got '%s', want '%s'", got, want);
  free(got);
}

static int live_count;
static bool n_live_reached(struct harness *h) {
  return (int)h->n_live >= live_count;
}

static void pump_to(struct harness *h, int n) {
  live_count = n;
  pump_until(h, n_live_reached);
  /* Whatever else would start has started by now: nothing is pending. */
  uv_run(&h->loop, UV_RUN_NOWAIT);
}

static void put_pool(struct harness *h, const char *name, int slots) {
  assert_int_equal(dag_store_pool_put(h->st, name, slots, NULL, false, NULL), 0);
}

static struct dag_store_pool get_pool(struct harness *h, const char *name) {
  struct dag_store_pool p;
  assert_int_equal(dag_store_pool_get(h->st, name, &p), 0);
  return p;
}

/* Six independent tasks of one pool of 2 slots, weights out of order. */
static const char six[] = "dag_id: d\n"
                          "default_args:\n"
                          "  pool: two\n"
                          "  weight_rule: absolute\n"
                          "tasks:\n"
                          "  - {id: t1, command: x, priority_weight: 1}\n"
                          "  - {id: t2, command: x, priority_weight: 5}\n"
                          "  - {id: t3, command: x, priority_weight: 3}\n"
                          "  - {id: t4, command: x, priority_weight: 9}\n"
                          "  - {id: t5, command: x, priority_weight: 5}\n"
                          "  - {id: t6, command: x, priority_weight: 7}\n";

static void heaviest_first_within_slots(void **state) {
  struct harness *h = *state;
  put_pool(h, "two", 2);
  run_one(h, six);
  pump_to(h, 2);
  expect_running(h, "t4 t6");
  expect_states(h, "t1=scheduled t2=scheduled t3=scheduled t4=running t5=scheduled "
                   "t6=running");
  struct dag_store_pool p = get_pool(h, "two");
  assert_int_equal(p.running_slots, 2);
  assert_int_equal(p.scheduled_slots, 4);
  assert_int_equal(dag_store_pool_open(&p), 0);
  dag_store_pool_clear(&p);
  /* Equal weights (t2, t5): the one that became ready first. */
  finish(h, "t4", 0);
  pump_to(h, 2);
  expect_running(h, "t6 t2");
  finish(h, "t6", 0);
  pump_to(h, 2);
  expect_running(h, "t2 t5");
  finish(h, "t2", 0);
  finish(h, "t5", 0);
  pump_to(h, 2);
  expect_running(h, "t3 t1");
  finish(h, "t3", 0);
  finish(h, "t1", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  p = get_pool(h, "two");
  assert_int_equal(dag_store_pool_occupied(&p), 0);
  dag_store_pool_clear(&p);
}

static const char wide[] = "dag_id: d\n"
                           "tasks:\n"
                           "  - {id: big, command: x, pool: two, pool_slots: 2}\n"
                           "  - {id: small1, command: x, pool: two, priority_weight: 0}\n"
                           "  - {id: small2, command: x, pool: two, priority_weight: 0}\n";

/* A try of pool_slots 2 in a pool of 2 holds all of it: it runs alone. */
static void two_slots_run_alone(void **state) {
  struct harness *h = *state;
  put_pool(h, "two", 2);
  run_one(h, wide);
  pump_to(h, 1);
  expect_running(h, "big");
  struct dag_store_pool p = get_pool(h, "two");
  assert_int_equal(p.running_slots, 2);
  dag_store_pool_clear(&p);
  finish(h, "big", 0);
  pump_to(h, 2);
  expect_running(h, "small1 small2");
  finish(h, "small1", 0);
  finish(h, "small2", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static const char missing[] = "dag_id: d\n"
                              "tasks:\n"
                              "  - {id: a, command: x, pool: nowhere, priority_weight: 50}\n"
                              "  - {id: b, command: x}\n";

/* Airflow keeps a task of a pool that does not exist scheduled; the rest
 * of the run goes on; once the pool exists the task starts. */
static void missing_pool_waits(void **state) {
  struct harness *h = *state;
  run_one_as(h, missing, DAG_RUN_TYPE_MANUAL);
  pump_to(h, 1);
  expect_running(h, "b");
  expect_states(h, "a=scheduled b=running");
  put_pool(h, "nowhere", 1);
  finish(h, "b", 0);
  pump_to(h, 1);
  expect_running(h, "a");
  finish(h, "a", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

/* A test run has nobody to create the pool: as Airflow's `dags test`, it
 * runs the task without one. */
static void missing_pool_test_run(void **state) {
  struct harness *h = *state;
  run_one(h, missing);
  pump_to(h, 2);
  expect_states(h, "a=running b=running");
  finish(h, "a", 0);
  finish(h, "b", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

/* Slots held elsewhere (another run, another DAG, another scheduler) are
 * the database's: a pool whose slot a try of another run holds starts
 * nothing here. */
static void slots_held_elsewhere(void **state) {
  struct harness *h = *state;
  put_pool(h, "one", 1);
  struct dag *other = load_yaml(h, "dag_id: other\n"
                                   "tasks:\n"
                                   "  - {id: o, command: x, pool: one}\n");
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, other, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_TEST};
  char *run_id = NULL, *err = NULL;
  int64_t opk = 0;
  assert_int_equal(dag_run_create(h->st, other, &req, &opk, &run_id, &err), 0);
  free(run_id);
  dag_free(other);
  bool granted = false;
  int open = -1;
  assert_int_equal(dag_store_pool_claim(h->st, "one", 1, opk, "o", -1, 1, &granted, &open), 0);
  assert_true(granted);
  assert_int_equal(open, 1);
  assert_int_equal(dag_store_ti_start_try(h->st, opk, "o", -1, 1, h->now, 123, 1, "o.log"), 0);
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - {id: a, command: x, pool: one}\n"
             "  - {id: b, command: x}\n");
  pump_to(h, 1);
  expect_running(h, "b");
  expect_states(h, "a=scheduled b=running");
  /* The other try ends: the next pass takes its slot. */
  assert_int_equal(dag_store_ti_end_try(h->st, opk, "o", -1, 1, DAG_TI_SUCCESS, h->now, 0, true,
                                        NULL, 0),
                   0);
  finish(h, "b", 0);
  pump_to(h, 1);
  expect_running(h, "a");
  finish(h, "a", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

/* No pool is short here, core.parallelism-like max_active_tasks is: the
 * effective weights order the starts, downstream (the default) summing
 * each task's descendants once. */
static const char tree[] = "dag_id: d\n"
                           "max_active_tasks: 1\n"
                           "tasks:\n"
                           "  - {id: leaf, command: x, priority_weight: 4}\n"
                           "  - {id: root, command: x}\n"
                           "  - {id: mid1, command: x, upstream: root}\n"
                           "  - {id: mid2, command: x, upstream: root}\n"
                           "  - {id: end, command: x, upstream: [mid1, mid2], "
                           "priority_weight: 3}\n";

static void downstream_weights_order(void **state) {
  struct harness *h = *state;
  run_one(h, tree);
  /* root: 1 + mid1 + mid2 + end = 6 > leaf: 4. */
  pump_to(h, 1);
  expect_running(h, "root");
  struct sched_run *r = sched_find_run(h->s, h->pk);
  assert_int_equal(sched_pool_weight(&r->tis[1]), 6);
  assert_int_equal(sched_pool_weight(&r->tis[2]), 4);
  finish(h, "root", 0);
  /* mid1, mid2: 1 + 3 = 4, leaf 4: leaf was ready first. */
  pump_to(h, 1);
  expect_running(h, "leaf");
  finish(h, "leaf", 0);
  pump_to(h, 1);
  expect_running(h, "mid1");
  finish(h, "mid1", 0);
  pump_to(h, 1);
  expect_running(h, "mid2");
  finish(h, "mid2", 0);
  pump_to(h, 1);
  expect_running(h, "end");
  finish(h, "end", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(heaviest_first_within_slots, setup, teardown),
      cmocka_unit_test_setup_teardown(two_slots_run_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_pool_waits, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_pool_test_run, setup, teardown),
      cmocka_unit_test_setup_teardown(slots_held_elsewhere, setup, teardown),
      cmocka_unit_test_setup_teardown(downstream_weights_order, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_pool", tests, DAG_ARRAY_SIZE(tests));
}
