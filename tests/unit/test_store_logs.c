/* test_store_logs.c - where a worker's finished log was copied, recorded
 * with the try's claim (store_logs.c), on both backends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_fixture.h"

struct fixture {
  struct store_fixture s;
  int64_t run_pk;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  store_fixture_open(&f->s);
  struct dag_store_run run = {.dag_id = "d", .run_id = "r1", .run_type = "manual",
                              .logical_date = 1000, .data_interval_start = 1000,
                              .data_interval_end = 1000, .conf = "{}", .queued_at = 1000};
  const char *tasks[] = {"a", "b"};
  int tries[] = {0, 0};
  assert_int_equal(dag_store_create_run(f->s.st, &run, tasks, tries, 2, false, &f->run_pk, NULL),
                   0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  store_fixture_close(&f->s);
  free(f);
  return 0;
}

/* NULL until recorded; then the base, for that try only; a claim that is
 * gone is DAG_ENOTFOUND on both sides. */
static void copy_recorded_per_try(void **state) {
  struct fixture *f = *state;
  dag_store *st = f->s.st;
  assert_int_equal(dag_store_queue_try(st, f->run_pk, "a", 1, "default", "shell", "d/r1/a/1.log",
                                       2000),
                   0);
  assert_int_equal(dag_store_queue_try(st, f->run_pk, "b", 1, "default", "shell", "d/r1/b/1.log",
                                       2000),
                   0);
  static const char *const q[] = {"default"};
  static const char *const types[] = {"shell"};
  struct dag_store_claim *c = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_claim_tries(st, "w1", q, 1, types, 1, 8, 3000, &c, &n), 0);
  assert_int_equal(n, 2);
  int64_t a_id = strcmp(c[0].task_id, "a") == 0 ? c[0].id : c[1].id;
  dag_store_claims_free(c, n);

  char *base = (char *)"untouched";
  assert_int_equal(dag_store_claim_log_archive(st, f->run_pk, "a", 1, &base), 0);
  assert_null(base);
  assert_int_equal(dag_store_claim_set_log_archive(st, a_id, "s3://bucket/logs"), 0);
  assert_int_equal(dag_store_claim_log_archive(st, f->run_pk, "a", 1, &base), 0);
  assert_string_equal(base, "s3://bucket/logs");
  free(base);
  assert_int_equal(dag_store_claim_log_archive(st, f->run_pk, "b", 1, &base), 0);
  assert_null(base);
  assert_int_equal(dag_store_claim_log_archive(st, f->run_pk, "a", 2, &base), DAG_ENOTFOUND);
  assert_null(base);
  assert_int_equal(dag_store_claim_set_log_archive(st, a_id + 1000, "/x"), DAG_ENOTFOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(copy_recorded_per_try, setup, teardown),
  };
  return store_backends_run("store_logs", tests, DAG_ARRAY_SIZE(tests));
}
