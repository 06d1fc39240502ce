/* test_didyoumean.c - typo suggestions by edit distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "didyoumean.h"

static const char *const keys[] = {"parallelism",
                                   "max_active_tasks_per_dag",
                                   "max_active_runs_per_dag",
                                   "default_timezone",
                                   "log_level",
                                   "durability",
                                   "dags_folder"};

#define SUGGEST(word) dag_did_you_mean(word, keys, DAG_ARRAY_SIZE(keys))

static void test_typos(void **state) {
  (void)state;
  assert_string_equal(SUGGEST("paralelism"), "parallelism");   /* deletion */
  assert_string_equal(SUGGEST("parallelisms"), "parallelism"); /* insertion */
  assert_string_equal(SUGGEST("parallelixm"), "parallelism");  /* substitution */
  assert_string_equal(SUGGEST("loglevel"), "log_level");
  assert_string_equal(SUGGEST("dag_folder"), "dags_folder");
  assert_string_equal(SUGGEST("default_timezon"), "default_timezone");
}

static void test_closest_wins(void **state) {
  (void)state;
  /* One edit from max_active_runs_per_dag, more from the tasks one. */
  assert_string_equal(SUGGEST("max_active_run_per_dag"), "max_active_runs_per_dag");
  assert_string_equal(SUGGEST("max_active_task_per_dag"), "max_active_tasks_per_dag");
}

static void test_exact_match(void **state) {
  (void)state;
  assert_string_equal(SUGGEST("durability"), "durability");
}

static void test_threshold(void **state) {
  (void)state;
  /* Short words allow two edits... */
  static const char *const vars[] = {"ds", "ts", "run_id"};
  assert_string_equal(dag_did_you_mean("dss", vars, 3), "ds");
  assert_string_equal(dag_did_you_mean("d", vars, 3), "ds");
  assert_null(dag_did_you_mean("foo", vars, 3)); /* three edits from everything */
  /* ...longer ones len/3: "parlelism" (9) allows 3, and is 2 away. */
  assert_string_equal(SUGGEST("parlelism"), "parallelism");
  /* "xarallelxsx" (11) allows 3 edits; it is 3 away from parallelism. */
  assert_string_equal(SUGGEST("xarallelxsx"), "parallelism");
  /* 4 edits is too many for an 11-letter word. */
  assert_null(SUGGEST("xarxllelxsx"));
  assert_null(SUGGEST("kafka"));
}

static void test_first_of_equals_wins(void **state) {
  (void)state;
  static const char *const c[] = {"cat", "bat"};
  assert_string_equal(dag_did_you_mean("at", c, 2), "cat");
  static const char *const d[] = {"bat", "cat"};
  assert_string_equal(dag_did_you_mean("at", d, 2), "bat");
}

static void test_degenerate_inputs(void **state) {
  (void)state;
  assert_null(dag_did_you_mean("anything", keys, 0));
  /* Words longer than the distance table are never suggested or matched. */
  char longword[80];
  memset(longword, 'a', sizeof(longword) - 1);
  longword[sizeof(longword) - 1] = '\0';
  const char *const c[] = {longword};
  assert_null(dag_did_you_mean(longword, c, 1));
  assert_null(SUGGEST(longword));
  /* The result is borrowed from the candidates, not a copy. */
  assert_ptr_equal(SUGGEST("log_levl"), keys[4]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typos),
      cmocka_unit_test(test_closest_wins),
      cmocka_unit_test(test_exact_match),
      cmocka_unit_test(test_threshold),
      cmocka_unit_test(test_first_of_equals_wins),
      cmocka_unit_test(test_degenerate_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
