/* test_ids.c - the one rule for DAG, task and run ids, and the check of
 * the log paths built from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"

static void valid(enum dag_id_kind kind, const char *id) {
  const char *why = dag_id_problem(kind, id);
  if (why) fail_msg("'%s' (kind %d) refused: %s", id, (int)kind, why);
}

static void invalid(enum dag_id_kind kind, const char *id, const char *want) {
  const char *why = dag_id_problem(kind, id);
  if (!why) fail_msg("'%s' (kind %d) accepted", id ? id : "(null)", (int)kind);
  assert_string_equal(why, want);
}

static const char dot[] = "an id cannot start with '.'";
static const char names[] = "use letters, digits, '_', '.' and '-'";
static const char runs[] = "use letters, digits and _.:+-";

static void test_every_kind_refuses_dot_ids(void **state) {
  (void)state;
  for (int k = DAG_ID_DAG; k <= DAG_ID_RUN; k++) {
    invalid(k, ".", dot);
    invalid(k, "..", dot);
    invalid(k, "...", dot);
    invalid(k, ".hidden", dot);
    invalid(k, "", k == DAG_ID_RUN ? runs : names);
    invalid(k, NULL, k == DAG_ID_RUN ? runs : names);
    invalid(k, "../x", k == DAG_ID_RUN ? runs : names);
    invalid(k, "a/b", k == DAG_ID_RUN ? runs : names);
    invalid(k, "a\\b", k == DAG_ID_RUN ? runs : names);
    invalid(k, "a b", k == DAG_ID_RUN ? runs : names);
    invalid(k, "a\nb", k == DAG_ID_RUN ? runs : names);
    invalid(k, "\xc3\xa9t\xc3\xa9", k == DAG_ID_RUN ? runs : names);
    /* Dots inside an id are only dots. */
    valid(k, "v1..2");
    valid(k, "a.");
    valid(k, "a..");
    valid(k, "x.y-z_0");
  }
}

static void test_alphabets(void **state) {
  (void)state;
  valid(DAG_ID_RUN, "manual__2026-11-22T02:11:42.186037+00:00");
  valid(DAG_ID_RUN, "manual__2026-11-22T02:11:42.186037+00:00_2");
  invalid(DAG_ID_DAG, "a:b", names);
  invalid(DAG_ID_TASK, "a+b", names);
  invalid(DAG_ID_RUN, "a%2e", runs);
}

static void test_length(void **state) {
  (void)state;
  char id[DAG_ID_MAX_LEN + 2];
  memset(id, 'a', sizeof(id) - 1);
  id[DAG_ID_MAX_LEN] = '\0';
  for (int k = DAG_ID_DAG; k <= DAG_ID_RUN; k++) valid(k, id);
  id[DAG_ID_MAX_LEN] = 'a';
  id[DAG_ID_MAX_LEN + 1] = '\0';
  for (int k = DAG_ID_DAG; k <= DAG_ID_RUN; k++)
    invalid(k, id, "longer than 250 characters");
}

static void test_rel_paths(void **state) {
  (void)state;
  assert_true(dag_id_rel_path_is_safe("ping/v1..2/ping/1.log"));
  assert_true(dag_id_rel_path_is_safe("d/manual__2026-11-22T02:11:42+00:00/t/12.log"));
  assert_true(dag_id_rel_path_is_safe("a..b"));
  assert_true(dag_id_rel_path_is_safe("..a/b.."));
  assert_false(dag_id_rel_path_is_safe(NULL));
  assert_false(dag_id_rel_path_is_safe(""));
  assert_false(dag_id_rel_path_is_safe("/etc/passwd"));
  assert_false(dag_id_rel_path_is_safe(".."));
  assert_false(dag_id_rel_path_is_safe("../dagctl.db"));
  assert_false(dag_id_rel_path_is_safe("ping/../../dagctl.db"));
  assert_false(dag_id_rel_path_is_safe("ping/.."));
  assert_false(dag_id_rel_path_is_safe("./1.log"));
  assert_false(dag_id_rel_path_is_safe("d/./1.log"));
  assert_false(dag_id_rel_path_is_safe("d//1.log"));
  assert_false(dag_id_rel_path_is_safe("d/1.log/"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_kind_refuses_dot_ids),
      cmocka_unit_test(test_alphabets),
      cmocka_unit_test(test_length),
      cmocka_unit_test(test_rel_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
