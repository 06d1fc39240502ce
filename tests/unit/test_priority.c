/* test_priority.c - Airflow's effective priority weights (priority.h) and
 * the capacity keys of a task as the loader reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "dag.h"
#include "dag_load.h"
#include "diag.h"
#include "priority.h"

static struct dag *load(const char *yaml, char **first_error) {
  struct dag *dag = NULL;
  struct dag_diags diags = DAG_DIAGS_INIT;
  int rc = dag_load_buffer("d.yaml", yaml, strlen(yaml), NULL, &dag, &diags);
  *first_error = NULL;
  if (rc != 0 && diags.n)
    *first_error = xasprintf("%d:%d: %s", diags.items[0].line, diags.items[0].col,
                             diags.items[0].msg);
  dag_diags_free(&diags);
  return dag;
}

static struct dag *load_ok(const char *yaml) {
  char *err;
  struct dag *dag = load(yaml, &err);
  if (!dag) fail_msg("%s", err ? err : "?");
  return dag;
}

static void expect_error(const char *yaml, const char *want) {
  char *err;
  struct dag *dag = load(yaml, &err);
  assert_null(dag);
  if (!err || strcmp(err, want) != 0) fail_msg("got '%s', want '%s'", err ? err : "", want);
  free(err);
}

/* a -> b, a -> c, b -> d, c -> d: d is below a twice and counts once. */
static const char diamond[] = "dag_id: d\n"
                              "tasks:\n"
                              "  - {id: a, command: x}\n"
                              "  - {id: b, command: x, upstream: a, priority_weight: 2}\n"
                              "  - {id: c, command: x, upstream: a, priority_weight: 3}\n"
                              "  - {id: d, command: x, upstream: [b, c], priority_weight: 10}\n";

static void downstream_counts_each_once(void **state) {
  (void)state;
  struct dag *dag = load_ok(diamond);
  int32_t w[4];
  dag_priority_weights(dag, w);
  assert_int_equal(w[0], 1 + 2 + 3 + 10);
  assert_int_equal(w[1], 2 + 10);
  assert_int_equal(w[2], 3 + 10);
  assert_int_equal(w[3], 10);
  dag_free(dag);
}

static void upstream_and_absolute(void **state) {
  (void)state;
  struct dag *dag = load_ok("dag_id: d\n"
                            "default_args: {weight_rule: upstream}\n"
                            "tasks:\n"
                            "  - {id: a, command: x}\n"
                            "  - {id: b, command: x, upstream: a, priority_weight: 2}\n"
                            "  - {id: c, command: x, upstream: a, priority_weight: 3,"
                            " weight_rule: absolute}\n"
                            "  - {id: d, command: x, upstream: [b, c], priority_weight: 10}\n");
  int32_t w[4];
  dag_priority_weights(dag, w);
  assert_int_equal(w[0], 1);
  assert_int_equal(w[1], 2 + 1);
  assert_int_equal(w[2], 3);
  assert_int_equal(w[3], 10 + 2 + 3 + 1);
  dag_free(dag);
}

/* A chain longer than one 64-source block: task i has 150 - i below it,
 * itself included, whichever block its sources fall in. */
static void long_chain(void **state) {
  (void)state;
  char *y = xstrdup("dag_id: d\ntasks:\n  - {id: t0, command: x}\n");
  for (int i = 1; i < 150; i++) {
    char *n = xasprintf("%s  - {id: t%d, command: x, upstream: t%d}\n", y, i, i - 1);
    free(y);
    y = n;
  }
  struct dag *dag = load_ok(y);
  free(y);
  int32_t w[150];
  dag_priority_weights(dag, w);
  for (int i = 0; i < 150; i++) assert_int_equal(w[i], 150 - i);
  dag_free(dag);
}

/* Airflow keeps weights in 32 bits (db_safe_priority). */
static void clamped(void **state) {
  (void)state;
  struct dag *dag = load_ok("dag_id: d\n"
                            "tasks:\n"
                            "  - {id: a, command: x, priority_weight: 2147483647}\n"
                            "  - {id: b, command: x, upstream: a, priority_weight: 2147483647}\n");
  int32_t w[2];
  dag_priority_weights(dag, w);
  assert_int_equal(w[0], INT32_MAX);
  assert_int_equal(w[1], INT32_MAX);
  dag_free(dag);
}

static void keys_read_and_checked(void **state) {
  (void)state;
  struct dag *dag = load_ok("dag_id: d\n"
                            "default_args: {pool: etl, pool_slots: 2}\n"
                            "tasks:\n"
                            "  - {id: a, command: x}\n"
                            "  - {id: b, command: x, pool: other, pool_slots: 1}\n");
  assert_string_equal(dag_task_pool(&dag->tasks[0]), "etl");
  assert_int_equal(dag->tasks[0].args.pool_slots, 2);
  assert_string_equal(dag_task_pool(&dag->tasks[1]), "other");
  assert_int_equal(dag->tasks[1].args.pool_slots, 1);
  assert_int_equal(dag->tasks[1].args.priority_weight, 1);
  assert_int_equal(dag->tasks[1].args.weight_rule, DAG_WEIGHT_DOWNSTREAM);
  dag_free(dag);
  dag = load_ok("dag_id: d\ntasks:\n  - {id: a, command: x}\n");
  assert_string_equal(dag_task_pool(&dag->tasks[0]), DAG_DEFAULT_POOL);
  dag_free(dag);
  expect_error("dag_id: d\ntasks:\n  - id: a\n    command: x\n    pool_slots: 0\n",
               "5:17: tasks[0].pool_slots: must be >= 1, got 0");
  expect_error("dag_id: d\ntasks:\n  - id: a\n    command: x\n    weight_rule: heaviest\n",
               "5:18: tasks[0].weight_rule: unknown weight_rule 'heaviest' (one of: "
               "downstream, upstream, absolute)");
  expect_error("dag_id: d\ntasks:\n  - id: a\n    command: x\n    pool: ''\n",
               "5:11: tasks[0].pool: a pool name cannot be empty");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(downstream_counts_each_once),
      cmocka_unit_test(upstream_and_absolute),
      cmocka_unit_test(long_chain),
      cmocka_unit_test(clamped),
      cmocka_unit_test(keys_read_and_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
