/* test_store_trigger.c - runs linked by a trigger_dag task
 * (store_trigger.c, migration 0013) and runs found by logical date, on
 * SQLite and on PostgreSQL. */
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
#include "store_fixture.h"

static int64_t make_run(dag_store *st, const char *dag_id, const char *run_id, dag_time_t at) {
  struct dag_store_run run = {.dag_id = (char *)dag_id, .run_id = (char *)run_id,
                              .run_type = "manual", .logical_date = at,
                              .data_interval_start = at, .data_interval_end = at,
                              .conf = "{}", .queued_at = at};
  const char *tasks[] = {"a"};
  int tries[] = {0};
  int64_t pk = 0;
  assert_int_equal(dag_store_create_run(st, &run, tasks, tries, 1, false, &pk, NULL), 0);
  return pk;
}

/* A parent's task triggers two runs of a child; each finds its link. */
static void links_both_ways(void **state) {
  struct store_fixture *f = *state;
  int64_t parent = make_run(f->st, "parent", "p1", 1000);
  int64_t c1 = make_run(f->st, "child", "c1", 1000);
  int64_t c2 = make_run(f->st, "child", "c2", 2000);
  int64_t other = make_run(f->st, "other", "o1", 1000);
  assert_int_equal(dag_store_run_trigger_add(f->st, c1, parent, "fire"), 0);
  assert_int_equal(dag_store_run_trigger_add(f->st, c2, parent, "wait"), 0);
  assert_int_equal(dag_store_run_trigger_add(f->st, other, parent, "fire"), 0);
  /* One row per triggered run. */
  assert_int_not_equal(dag_store_run_trigger_add(f->st, c1, parent, "again"), 0);

  struct dag_store_run r;
  assert_int_equal(dag_store_run_triggered_by(f->st, parent, "fire", "child", &r), 0);
  assert_string_equal(r.run_id, "c1");
  dag_store_run_free(&r);
  assert_int_equal(dag_store_run_triggered_by(f->st, parent, "fire", "other", &r), 0);
  assert_string_equal(r.run_id, "o1");
  dag_store_run_free(&r);
  assert_int_equal(dag_store_run_triggered_by(f->st, parent, "wait", "child", &r), 0);
  assert_string_equal(r.run_id, "c2");
  dag_store_run_free(&r);
  assert_int_equal(dag_store_run_triggered_by(f->st, parent, "nope", "child", &r),
                   DAG_ENOTFOUND);
  assert_int_equal(dag_store_run_triggered_by(f->st, c1, "fire", "child", &r), DAG_ENOTFOUND);

  struct dag_store_run_link *l = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_run_links(f->st, parent, &l, &n), 0);
  assert_int_equal(n, 3);
  const char *want[][3] = {{"child", "c1", "fire"}, {"child", "c2", "wait"}, {"other", "o1", "fire"}};
  for (size_t i = 0; i < n; i++) {
    assert_false(l[i].triggered_by);
    assert_string_equal(l[i].dag_id, want[i][0]);
    assert_string_equal(l[i].run_id, want[i][1]);
    assert_string_equal(l[i].task_id, want[i][2]);
    assert_int_equal(l[i].state, DAG_RUN_QUEUED);
  }
  dag_store_run_links_free(l, n);
  assert_int_equal(dag_store_run_links(f->st, c2, &l, &n), 0);
  assert_int_equal(n, 1);
  assert_true(l[0].triggered_by);
  assert_string_equal(l[0].dag_id, "parent");
  assert_string_equal(l[0].run_id, "p1");
  assert_string_equal(l[0].task_id, "wait");
  dag_store_run_links_free(l, n);
}

/* external_task's lookup: the latest run of a DAG at one logical date. */
static void run_at_logical_date(void **state) {
  struct store_fixture *f = *state;
  make_run(f->st, "up", "u1", 1000);
  make_run(f->st, "up", "u2", 1000);
  make_run(f->st, "up", "u3", 3000);
  make_run(f->st, "down", "d1", 2000);
  struct dag_store_run r;
  assert_int_equal(dag_store_run_at(f->st, "up", 1000, &r), 0);
  assert_string_equal(r.run_id, "u2");
  dag_store_run_free(&r);
  assert_int_equal(dag_store_run_at(f->st, "up", 3000, &r), 0);
  assert_string_equal(r.run_id, "u3");
  dag_store_run_free(&r);
  assert_int_equal(dag_store_run_at(f->st, "up", 2000, &r), DAG_ENOTFOUND);
  assert_int_equal(dag_store_run_at(f->st, "nope", 1000, &r), DAG_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(links_both_ways),
      STORE_TEST(run_at_logical_date),
  };
  return store_backends_run("store_trigger", tests, DAG_ARRAY_SIZE(tests));
}
