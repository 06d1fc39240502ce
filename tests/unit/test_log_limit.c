/* test_log_limit.c - rate-limited log lines (web/log_limit.c): one line per
 * interval, every event accounted for, and the auth delays built on the
 * same idea (web_auth_delay_ms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log_limit.h"
#include "web_int.h"

static void test_one_line_per_interval(void **state) {
  (void)state;
  struct dag_log_limit l = {.interval_ms = 1000};
  uint64_t suppressed = 99;
  assert_true(dag_log_limit_allow(&l, 5000, &suppressed));
  assert_int_equal(suppressed, 0);
  /* A flood within the interval: counted, not logged. */
  for (uint64_t t = 5000; t < 6000; t += 10) assert_false(dag_log_limit_allow(&l, t, &suppressed));
  /* The first event after it logs, with the count of those left out. */
  assert_true(dag_log_limit_allow(&l, 6000, &suppressed));
  assert_int_equal(suppressed, 100);
  assert_false(dag_log_limit_allow(&l, 6001, &suppressed));
  assert_false(dag_log_limit_allow(&l, 6002, &suppressed));
  /* What is left is reported once at the end. */
  assert_int_equal(dag_log_limit_flush(&l), 2);
  assert_int_equal(dag_log_limit_flush(&l), 0);
}

static void test_default_interval(void **state) {
  (void)state;
  struct dag_log_limit l = {0};
  uint64_t suppressed;
  assert_true(dag_log_limit_allow(&l, 0, &suppressed));
  assert_false(dag_log_limit_allow(&l, DAG_LOG_LIMIT_INTERVAL_MS - 1, &suppressed));
  assert_true(dag_log_limit_allow(&l, DAG_LOG_LIMIT_INTERVAL_MS, &suppressed));
  assert_int_equal(suppressed, 1);
}

static void test_auth_delays(void **state) {
  (void)state;
  assert_int_equal(web_auth_delay_ms(0), 0);
  assert_int_equal(web_auth_delay_ms(1), 100);
  assert_int_equal(web_auth_delay_ms(2), 200);
  assert_int_equal(web_auth_delay_ms(6), 3200);
  assert_int_equal(web_auth_delay_ms(7), 5000);
  assert_int_equal(web_auth_delay_ms(1000000), 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_line_per_interval),
      cmocka_unit_test(test_default_interval),
      cmocka_unit_test(test_auth_delays),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
