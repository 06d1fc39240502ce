/* test_store_pools.c - pools in the store (scheduler/store/store_pools.c),
 * on SQLite and on PostgreSQL: default_pool from the migration and kept,
 * pools created, replaced, listed and deleted; the slots the task
 * instances of every run hold, by state; a claim that takes slots only
 * when enough are open; and, on PostgreSQL, a claim while another
 * connection (another scheduler) holds the pool's row: "look again
 * later", never a second taker. */
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
#include "store_pools.h"

static int64_t make_run(dag_store *st, const char *run_id) {
  struct dag_store_run run = {.dag_id = "d", .run_id = (char *)run_id, .run_type = "manual",
                              .logical_date = 1000, .data_interval_start = 1000,
                              .data_interval_end = 1000, .conf = "{}", .queued_at = 1000};
  const char *tasks[] = {"a", "b", "c"};
  int tries[] = {0, 0, 0};
  int64_t pk = 0;
  assert_int_equal(dag_store_create_run(st, &run, tasks, tries, 3, false, &pk, NULL), 0);
  return pk;
}

static void crud(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  struct dag_store_pool p;
  assert_int_equal(dag_store_pool_get(st, "default_pool", &p), 0);
  assert_int_equal(p.slots, 128);
  assert_string_equal(p.description, "Default pool");
  assert_int_equal(dag_store_pool_open(&p), 128);
  dag_store_pool_clear(&p);
  bool created = false;
  assert_int_equal(dag_store_pool_put(st, "etl", 2, "loads", false, &created), 0);
  assert_true(created);
  assert_int_equal(dag_store_pool_put(st, "etl", 3, NULL, true, &created), 0);
  assert_false(created);
  assert_int_equal(dag_store_pool_get(st, "etl", &p), 0);
  assert_int_equal(p.slots, 3);
  assert_null(p.description);
  assert_true(p.include_deferred);
  dag_store_pool_clear(&p);
  assert_int_equal(dag_store_pool_put(st, "", 1, NULL, false, NULL), DAG_EINVAL);
  assert_int_equal(dag_store_pool_put(st, "x", -1, NULL, false, NULL), DAG_EINVAL);
  struct dag_store_pool *all = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_pool_list(st, &all, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(all[0].name, "default_pool");
  assert_string_equal(all[1].name, "etl");
  dag_store_pools_free(all, n);
  assert_int_equal(dag_store_pool_delete(st, "default_pool"), DAG_ESTATE);
  assert_int_equal(dag_store_pool_delete(st, "etl"), 0);
  assert_int_equal(dag_store_pool_delete(st, "etl"), DAG_ENOTFOUND);
  assert_int_equal(dag_store_pool_get(st, "etl", &p), DAG_ENOTFOUND);
}

/* Slots held by the task instances of two runs, by state; a claim takes
 * what is open and no more. */
static void slots_and_claims(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  assert_int_equal(dag_store_pool_put(st, "two", 2, NULL, false, NULL), 0);
  int64_t r1 = make_run(st, "r1"), r2 = make_run(st, "r2");
  assert_int_equal(dag_store_ti_schedule(st, r1, "a", -1, "two", 1, 5), 0);
  assert_int_equal(dag_store_ti_schedule(st, r1, "b", -1, "two", 2, 3), 0);
  assert_int_equal(dag_store_ti_schedule(st, r2, "a", -1, "two", 1, 1), 0);
  struct dag_store_pool p;
  assert_int_equal(dag_store_pool_get(st, "two", &p), 0);
  assert_int_equal(p.scheduled_slots, 4);
  assert_int_equal(dag_store_pool_occupied(&p), 0);
  dag_store_pool_clear(&p);
  bool granted = false;
  int open = -1;
  assert_int_equal(dag_store_pool_claim(st, "two", 1, r1, "a", -1, 5, &granted, &open), 0);
  assert_true(granted);
  assert_int_equal(open, 2);
  assert_int_equal(dag_store_ti_start_try(st, r1, "a", -1, 1, 2000, 0, 0, "a.log"), 0);
  /* b needs 2, one is open: refused, nothing recorded. */
  assert_int_equal(dag_store_pool_claim(st, "two", 2, r1, "b", -1, 3, &granted, &open), 0);
  assert_false(granted);
  assert_int_equal(open, 1);
  struct dag_store_ti_pool *w = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_ti_pools(st, r1, &w, &n), 0);
  const struct dag_store_ti_pool *b = dag_store_ti_pool_find(w, n, "b", -1);
  assert_non_null(b);
  assert_true(b->waiting);
  assert_int_equal(b->pool_open, 1);
  assert_int_equal(b->pool_total, 2);
  assert_false(dag_store_ti_pool_find(w, n, "a", -1)->waiting);
  dag_store_ti_pools_free(w, n);
  /* r2's a fits in the other slot; then the pool is full. */
  assert_int_equal(dag_store_pool_claim(st, "two", 1, r2, "a", -1, 1, &granted, &open), 0);
  assert_true(granted);
  assert_int_equal(dag_store_ti_start_try(st, r2, "a", -1, 1, 2000, 0, 0, "a.log"), 0);
  assert_int_equal(dag_store_pool_get(st, "two", &p), 0);
  assert_int_equal(p.running_slots, 2);
  assert_int_equal(p.scheduled_slots, 2);
  assert_int_equal(dag_store_pool_open(&p), 0);
  dag_store_pool_clear(&p);
  assert_int_equal(dag_store_pool_claim(st, "nowhere", 1, r1, "c", -1, 1, &granted, &open),
                   DAG_ENOTFOUND);
  /* A try's end gives its slot back. */
  assert_int_equal(dag_store_ti_end_try(st, r1, "a", -1, 1, DAG_TI_SUCCESS, 3000, 0, true, NULL,
                                        0),
                   0);
  assert_int_equal(dag_store_pool_claim(st, "two", 1, r1, "c", -1, 1, &granted, &open), 0);
  assert_true(granted);
}

/* Two schedulers claim under the pool row's lock: while one transaction
 * holds it, the other's claim is "look again later" on PostgreSQL; on
 * SQLite the one writer serializes them (the second cannot even begin). */
static void claim_while_locked(void **state) {
  struct store_fixture *f = *state;
  if (dag_store_kind(f->st) != DAG_STORE_POSTGRESQL) return;
  assert_int_equal(dag_store_pool_put(f->st, "one", 1, NULL, false, NULL), 0);
  int64_t r1 = make_run(f->st, "r1");
  dag_store *st2 = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &st2, &err), 0);
  bool granted = false;
  int open = 0;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(dag_store_pool_claim(f->st, "one", 1, r1, "a", -1, 1, &granted, &open), 0);
  assert_true(granted);
  assert_int_equal(dag_store_begin(st2), 0);
  assert_int_equal(dag_store_pool_claim(st2, "one", 1, r1, "b", -1, 1, &granted, &open),
                   DAG_ECLAIM);
  assert_false(granted);
  dag_store_rollback(st2);
  assert_int_equal(dag_store_ti_start_try(f->st, r1, "a", -1, 1, 2000, 0, 0, "a.log"), 0);
  assert_int_equal(dag_store_commit(f->st), 0);
  /* Committed: the other sees the slot taken. */
  assert_int_equal(dag_store_pool_claim(st2, "one", 1, r1, "b", -1, 1, &granted, &open), 0);
  assert_false(granted);
  assert_int_equal(open, 0);
  dag_store_close(st2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(crud),
      STORE_TEST(slots_and_claims),
      STORE_TEST(claim_while_locked),
  };
  return store_backends_run("store_pools", tests, DAG_ARRAY_SIZE(tests));
}
