/* test_retry.c - dag_retry_delay: Airflow's next_retry_datetime. */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"
#include "retry.h"

#define S(n) ((int64_t)(n)*DAG_USEC_PER_SEC)
#define MS(n) ((int64_t)(n)*DAG_USEC_PER_MSEC)
#define DAY_S INT64_C(86400)

/* 2024-01-01T00:00:00Z */
static const dag_time_t LD = INT64_C(1704067200) * DAG_USEC_PER_SEC;

static struct dag_task_args args(int64_t delay_us, bool backoff, int64_t max_us) {
  struct dag_task_args a;
  memset(&a, 0, sizeof(a));
  a.retry_delay_us = delay_us;
  a.retry_exponential_backoff = backoff;
  a.max_retry_delay_us = max_us;
  return a;
}

/* An independent FNV-1a 64 over the documented key, to check exact values. */
static uint64_t ref_fnv(const char *s) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

static int64_t ref_backoff_s(int64_t base_s, const char *dag, const char *task,
                             dag_time_t ld, int retry) {
  char key[256];
  snprintf(key, sizeof(key), "%s#%s#%" PRId64 "#%d", dag, task, ld, retry);
  int64_t s = base_s + (int64_t)(ref_fnv(key) % (uint64_t)base_s);
  return s < DAY_S ? s : DAY_S;
}

static void test_reference_hash_vectors(void **state) {
  (void)state;
  /* Published FNV-1a 64 test vectors: the reference itself is right. */
  assert_true(ref_fnv("") == UINT64_C(0xcbf29ce484222325));
  assert_true(ref_fnv("a") == UINT64_C(0xaf63dc4c8601ec8c));
  assert_true(ref_fnv("foobar") == UINT64_C(0x85944171f73967e8));
}

static void test_fixed_delay(void **state) {
  (void)state;
  struct dag_task_args a = args(S(300), false, 0);
  for (int retry = 1; retry <= 10; retry++)
    assert_int_equal(dag_retry_delay(&a, "d", "t", LD, retry), S(300));
}

static void test_fixed_delay_sub_second_is_exact(void **state) {
  (void)state;
  struct dag_task_args a = args(MS(250), false, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), 250000);
  a = args(1, false, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 3), 1);
  a = args(0, false, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), 0);
}

static void test_fixed_delay_not_capped_at_a_day(void **state) {
  (void)state;
  struct dag_task_args a = args(S(2 * DAY_S), false, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(2 * DAY_S));
}

static void test_fixed_delay_max_retry_delay(void **state) {
  (void)state;
  struct dag_task_args a = args(S(300), false, S(100));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(100));
  a = args(S(50), false, S(100));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(50));
}

static void test_backoff_first_retry_is_the_delay(void **state) {
  (void)state;
  struct dag_task_args a = args(S(1), true, 0);
  char task[32];
  for (int i = 0; i < 100; i++) {
    snprintf(task, sizeof(task), "task_%d", i);
    /* b = 1 s, jitter = hash % 1 = 0. */
    assert_int_equal(dag_retry_delay(&a, "dag", task, LD, 1), S(1));
  }
}

static void test_backoff_ranges_and_exact_values(void **state) {
  (void)state;
  struct dag_task_args a = args(S(1), true, 0);
  char task[32];
  for (int i = 0; i < 200; i++) {
    snprintf(task, sizeof(task), "task_%d", i);
    for (int retry = 2; retry <= 8; retry++) {
      int64_t b = INT64_C(1) << (retry - 1);
      int64_t d = dag_retry_delay(&a, "dag", task, LD + i, retry);
      assert_true(d >= S(b));
      assert_true(d < S(2 * b));
      assert_int_equal(d % DAG_USEC_PER_SEC, 0); /* whole seconds, as Airflow */
      assert_int_equal(d, S(ref_backoff_s(b, "dag", task, LD + i, retry)));
    }
  }
}

static void test_backoff_retry_two_and_three(void **state) {
  (void)state;
  struct dag_task_args a = args(S(1), true, 0);
  int64_t d2 = dag_retry_delay(&a, "etl", "load", LD, 2);
  int64_t d3 = dag_retry_delay(&a, "etl", "load", LD, 3);
  assert_true(d2 >= S(2) && d2 < S(4));
  assert_true(d3 >= S(4) && d3 < S(8));
  assert_int_equal(d2, S(ref_backoff_s(2, "etl", "load", LD, 2)));
  assert_int_equal(d3, S(ref_backoff_s(4, "etl", "load", LD, 3)));
}

static void test_backoff_deterministic_and_spread(void **state) {
  (void)state;
  struct dag_task_args a = args(S(10), true, 0);
  int64_t first = dag_retry_delay(&a, "dag", "t", LD, 4);
  for (int i = 0; i < 5; i++)
    assert_int_equal(dag_retry_delay(&a, "dag", "t", LD, 4), first);

  /* The jitter exists to spread tasks apart: 50 tasks must not all agree. */
  char task[32];
  int distinct = 0;
  for (int i = 0; i < 50; i++) {
    snprintf(task, sizeof(task), "t%d", i);
    if (dag_retry_delay(&a, "dag", task, LD, 4) != first) distinct++;
  }
  assert_true(distinct > 0);
  /* Each input takes part: another dag, date or retry changes the hash. */
  assert_int_equal(dag_retry_delay(&a, "dag2", "t", LD, 4),
                   S(ref_backoff_s(80, "dag2", "t", LD, 4)));
  assert_int_equal(dag_retry_delay(&a, "dag", "t", LD + 1, 4),
                   S(ref_backoff_s(80, "dag", "t", LD + 1, 4)));
}

static void test_backoff_rounds_up_fractions(void **state) {
  (void)state;
  /* ceil(1.5 s) = 2 s; ceil(0.25 s) = 1 s; 0.25 * 2^2 = 1 s; 0.25 * 2^3 = 2 s. */
  struct dag_task_args a = args(MS(1500), true, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1),
                   S(ref_backoff_s(2, "d", "t", LD, 1)));
  a = args(MS(250), true, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(1));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 3), S(1));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 4),
                   S(ref_backoff_s(2, "d", "t", LD, 4)));
  /* A zero delay still waits at least a second (Airflow's lower bound). */
  a = args(0, true, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(1));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 5), S(1));
}

static void test_backoff_capped_at_a_day(void **state) {
  (void)state;
  struct dag_task_args a = args(S(3600), true, 0);
  /* 2^4 h = 16 h base: the jitter may or may not reach the cap. */
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 5),
                   S(ref_backoff_s(16 * 3600, "d", "t", LD, 5)));
  /* 2^5 h = 32 h base: past the cap whatever the jitter. */
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 6), S(DAY_S));
  a = args(S(DAY_S), true, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(DAY_S));
}

static void test_backoff_huge_numbers_do_not_overflow(void **state) {
  (void)state;
  struct dag_task_args a = args(S(1), true, 0);
  static const int retries[] = {40, 61, 62, 63, 64, 65, 100, 1000, INT_MAX};
  for (size_t i = 0; i < sizeof(retries) / sizeof(retries[0]); i++)
    assert_int_equal(dag_retry_delay(&a, "d", "t", LD, retries[i]), S(DAY_S));
  a = args(INT64_MAX / 2, true, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 2), S(DAY_S));
  a = args(INT64_MAX, true, S(30));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, INT_MAX), S(30));
}

/* Whatever args reach it (a struct built by hand, a value the loader did not
 * bound), the delay is at most DAG_DURATION_MAX_US, so the caller's
 * `now + delay` cannot overflow. */
static void test_delay_never_exceeds_the_longest_duration(void **state) {
  (void)state;
  static const int64_t delays[] = {DAG_DURATION_MAX_US, DAG_DURATION_MAX_US + 1,
                                   INT64_MAX / 2, INT64_MAX - 1, INT64_MAX};
  static const int retries[] = {1, 2, 62, 63, 64, INT_MAX};
  for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
    for (size_t k = 0; k < sizeof(retries) / sizeof(retries[0]); k++) {
      for (int backoff = 0; backoff < 2; backoff++) {
        struct dag_task_args a = args(delays[i], backoff, 0);
        int64_t d = dag_retry_delay(&a, "d", "t", LD, retries[k]);
        assert_true(d >= 0 && d <= DAG_DURATION_MAX_US);
        a = args(delays[i], backoff, INT64_MAX);
        d = dag_retry_delay(&a, "d", "t", LD, retries[k]);
        assert_true(d >= 0 && d <= DAG_DURATION_MAX_US);
      }
    }
  }
  /* The longest valid delay is kept as it is. */
  struct dag_task_args a = args(DAG_DURATION_MAX_US, false, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), DAG_DURATION_MAX_US);
  /* A negative max_retry_delay means none, as 0 does. */
  a = args(S(300), false, -1);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(300));
}

static void test_backoff_max_retry_delay(void **state) {
  (void)state;
  struct dag_task_args a = args(S(1), true, S(60));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), S(1));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 10), S(60)); /* base 512 s */
  /* max_retry_delay may be sub-second; it is applied after rounding. */
  a = args(S(1), true, MS(500));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 1), MS(500));
}

static void test_retry_below_one_counts_as_first(void **state) {
  (void)state;
  struct dag_task_args a = args(S(1), true, 0);
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, 0), S(1));
  assert_int_equal(dag_retry_delay(&a, "d", "t", LD, -5), S(1));
  assert_int_equal(dag_retry_delay(&a, NULL, NULL, LD, 1), S(1));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_hash_vectors),
      cmocka_unit_test(test_fixed_delay),
      cmocka_unit_test(test_fixed_delay_sub_second_is_exact),
      cmocka_unit_test(test_fixed_delay_not_capped_at_a_day),
      cmocka_unit_test(test_fixed_delay_max_retry_delay),
      cmocka_unit_test(test_backoff_first_retry_is_the_delay),
      cmocka_unit_test(test_backoff_ranges_and_exact_values),
      cmocka_unit_test(test_backoff_retry_two_and_three),
      cmocka_unit_test(test_backoff_deterministic_and_spread),
      cmocka_unit_test(test_backoff_rounds_up_fractions),
      cmocka_unit_test(test_backoff_capped_at_a_day),
      cmocka_unit_test(test_backoff_huge_numbers_do_not_overflow),
      cmocka_unit_test(test_delay_never_exceeds_the_longest_duration),
      cmocka_unit_test(test_backoff_max_retry_delay),
      cmocka_unit_test(test_retry_below_one_counts_as_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
