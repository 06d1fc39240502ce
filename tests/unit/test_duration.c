/* test_duration.c - dag_duration_parse() and dag_duration_format(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"
#include "error.h"

#define S INT64_C(1000000)

static int64_t parse_ok(const char *s) {
  int64_t v = -42;
  int rc = dag_duration_parse(s, &v);
  if (rc != 0) fail_msg("'%s' did not parse (rc %d)", s, rc);
  return v;
}

static void parse_fails(const char *s) {
  int64_t v = -42;
  int rc = dag_duration_parse(s, &v);
  if (rc != DAG_EINVAL) fail_msg("'%s' gave rc %d, value %lld", s, rc, (long long)v);
  assert_int_equal(v, -42); /* untouched on error */
}

static void test_units(void **state) {
  (void)state;
  assert_int_equal(parse_ok("250us"), 250);
  assert_int_equal(parse_ok("500ms"), 500000);
  assert_int_equal(parse_ok("30s"), 30 * S);
  assert_int_equal(parse_ok("5m"), 300 * S);
  assert_int_equal(parse_ok("2h"), 7200 * S);
  assert_int_equal(parse_ok("1d"), 86400 * S);
  assert_int_equal(parse_ok("0s"), 0);
  assert_int_equal(parse_ok("0ms"), 0);
  assert_int_equal(parse_ok("007m"), 420 * S);
}

static void test_bare_integers_are_seconds(void **state) {
  (void)state;
  assert_int_equal(parse_ok("0"), 0);
  assert_int_equal(parse_ok("1"), S);
  assert_int_equal(parse_ok("300"), 300 * S);
}

static void test_compounds(void **state) {
  (void)state;
  assert_int_equal(parse_ok("1h30m"), 5400 * S);
  assert_int_equal(parse_ok("1m30s"), 90 * S);
  assert_int_equal(parse_ok("1d12h"), 36 * 3600 * S);
  assert_int_equal(parse_ok("2h5s"), 7205 * S);
  assert_int_equal(parse_ok("1s500ms"), 1500000);
  assert_int_equal(parse_ok("1d2h3m4s5ms6us"),
                   ((((INT64_C(1) * 24 + 2) * 60 + 3) * 60 + 4) * S) + 5006);
}

static void test_fractions(void **state) {
  (void)state;
  assert_int_equal(parse_ok("1.5h"), 5400 * S);
  assert_int_equal(parse_ok("2.5s"), 2500000);
  assert_int_equal(parse_ok("0.25s"), 250000);
  assert_int_equal(parse_ok("1.5ms"), 1500);
  assert_int_equal(parse_ok("0.5d"), 43200 * S);
  assert_int_equal(parse_ok("1.5m30s"), 120 * S);
  /* Below a microsecond is dropped, not rounded. */
  assert_int_equal(parse_ok("1.9us"), 1);
  assert_int_equal(parse_ok("0.0000001s"), 0);
  /* Digits past the ninth are ignored; no overflow on long fractions. */
  assert_int_equal(parse_ok("0.1234567891234567890d"), INT64_C(10666666569));
}

static void test_errors(void **state) {
  (void)state;
  int64_t v = -42;
  assert_int_equal(dag_duration_parse(NULL, &v), DAG_EINVAL);
  parse_fails("");
  parse_fails("-5");
  parse_fails("-5s");
  parse_fails("+5s");
  parse_fails("5 minutes");
  parse_fails("5 m");
  parse_fails(" 5m");
  parse_fails("5m ");
  parse_fails("m");
  parse_fails("5x");
  parse_fails("5M");
  parse_fails("5S");
  parse_fails("1h30");  /* a unitless tail is ambiguous */
  parse_fails("30m1h"); /* units go from larger to smaller */
  parse_fails("1m1m");
  parse_fails("1s1m");
  parse_fails("1.5");   /* bare numbers are whole seconds */
  parse_fails("1.s");
  parse_fails(".5s");
  parse_fails("1e3s");
  parse_fails("0x10s");
  parse_fails("1,5s");
}

static void parse_too_long(const char *s) {
  int64_t v = -42;
  int rc = dag_duration_parse(s, &v);
  if (rc != -ERANGE) fail_msg("'%s' gave rc %d, value %lld", s, rc, (long long)v);
  assert_int_equal(v, -42);
}

/* At most 100 years: far past any real wait, and far enough below INT64_MAX
 * that a time plus a duration, or two durations added, cannot overflow. */
static void test_at_most_a_century(void **state) {
  (void)state;
  assert_int_equal(DAG_DURATION_MAX_US, INT64_C(36525) * 86400 * S);
  assert_true(DAG_DURATION_MAX_US <= INT64_MAX / 2);
  assert_int_equal(parse_ok("36525d"), DAG_DURATION_MAX_US);
  assert_int_equal(parse_ok("876600h"), DAG_DURATION_MAX_US);
  assert_int_equal(parse_ok("3155760000"), DAG_DURATION_MAX_US);
  assert_int_equal(parse_ok("36524d23h59m59s999ms999us"), DAG_DURATION_MAX_US - 1);
  parse_too_long("36526d");
  parse_too_long("36525d1us");
  parse_too_long("36525.5d");
  parse_too_long("3155760001");
  parse_too_long("106751990d"); /* the reported value: just below INT64_MAX us */
  parse_too_long("106751991d");
  parse_too_long("106751991d5h");
  parse_too_long("9223372036854775807us");
  parse_too_long("9223372036854775808us");
  parse_too_long("9223372036855");
  parse_too_long("99999999999999999999s");
  parse_too_long("99999999999999999999");
  parse_too_long("99999999999999999999.5us");
  parse_too_long("36000d900000000h"); /* each part fits, the sum does not */
  /* A malformed value is malformed, whatever its size. */
  parse_fails("99999999999999999999x");
  parse_fails("1h99999999999999999999d");
}

static void check_format(int64_t us, const char *want) {
  char buf[64];
  memset(buf, 'x', sizeof(buf));
  dag_duration_format(us, buf, sizeof(buf));
  assert_string_equal(buf, want);
}

static void test_format(void **state) {
  (void)state;
  check_format(0, "0s");
  check_format(1, "1us");
  check_format(999, "999us");
  check_format(1000, "1ms");
  check_format(1500, "1.5ms");
  check_format(1001, "1.001ms");
  check_format(750000, "750ms");
  check_format(S, "1s");
  check_format(2500000, "2.5s");
  check_format(S + 1, "1.000001s");
  check_format(90 * S, "1m30s");
  check_format(3600 * S, "1h");
  check_format(5400 * S, "1h30m");
  check_format(86405 * S, "1d5s");
  check_format(90061 * S + 500000, "1d1h1m1.5s");
  check_format(-1500000, "-1.5s");
  check_format(INT64_MAX, "106751991d4h54.775807s");
  check_format(INT64_MIN, "-106751991d4h54.775808s");
}

static void test_format_small_buffers(void **state) {
  (void)state;
  char buf[8] = "zzzzzzz";
  dag_duration_format(5400 * S, buf, 4);
  assert_string_equal(buf, "1h3");
  assert_int_equal(buf[4], 'z');
  dag_duration_format(5400 * S, buf, 1);
  assert_string_equal(buf, "");
  buf[0] = 'q';
  dag_duration_format(5400 * S, buf, 0);
  assert_int_equal(buf[0], 'q');
}

/* format's output always parses back to the same value. */
static void test_round_trip(void **state) {
  (void)state;
  static const int64_t fixed[] = {0, 1, 999, 1000, 1001, 999999, S, 59 * S, 60 * S,
                                  3599 * S + 999999, 86400 * S, DAG_DURATION_MAX_US};
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < 2000; i++) {
    int64_t v;
    if (i < sizeof(fixed) / sizeof(fixed[0])) {
      v = fixed[i];
    } else {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
      v = (int64_t)(x >> (1 + i % 40)) % (DAG_DURATION_MAX_US + 1);
    }
    char buf[64];
    int64_t back = -1;
    dag_duration_format(v, buf, sizeof(buf));
    if (dag_duration_parse(buf, &back) != 0 || back != v)
      fail_msg("%lld -> '%s' -> %lld", (long long)v, buf, (long long)back);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_bare_integers_are_seconds),
      cmocka_unit_test(test_compounds),
      cmocka_unit_test(test_fractions),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_at_most_a_century),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_format_small_buffers),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
