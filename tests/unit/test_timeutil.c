/* test_timeutil.c - dag_iso_parse(), the one ISO-8601 reader, and its
 * helpers. The cases gather what the five parsers it replaced accepted and
 * refused (DAG dates, the CLI and API, freshness checks, Kafka events and
 * the bronze loader), so each caller keeps its inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "timeutil.h"

#define S INT64_C(1000000)
/* 2026-11-22T12:00:00Z */
#define NOON INT64_C(1795348800)

static dag_time_t parse_ok(const char *s) {
  dag_time_t t = -42;
  int rc = dag_time_parse_iso(s, &t, NULL, 0);
  if (rc != 0) fail_msg("'%s' refused (rc %d)", s, rc);
  return t;
}

/* Refused, with `reason` as the explanation. */
static void parse_fails(const char *s, const char *reason) {
  struct dag_iso iso;
  char why[96];
  int rc = dag_iso_parse(s, strlen(s), &iso, why, sizeof(why));
  if (rc != DAG_EINVAL) fail_msg("'%s' accepted (rc %d)", s, rc);
  if (strcmp(why, reason) != 0) fail_msg("'%s': want reason '%s', got '%s'", s, reason, why);
  dag_time_t t = -42;
  char why2[96];
  assert_int_equal(dag_time_parse_iso(s, &t, why2, sizeof(why2)), DAG_EINVAL);
  assert_int_equal(t, -42); /* untouched on error */
  assert_string_equal(why2, reason);
}

static void test_forms(void **state) {
  (void)state;
  assert_int_equal(parse_ok("2026-11-22T12:00:00Z"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T12:00:00z"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22t12:00:00Z"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22 12:00:00"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T12:00"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T12:00Z"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22"), (NOON - 12 * 3600) * S);
  assert_int_equal(parse_ok("2026-11-22 14:00:00+02"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T14:00:00+02:00"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T07:30:00-04:30"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T07:30:00-0430"), NOON * S);
  assert_int_equal(parse_ok("2026-11-22T12:00:00.000001Z"), NOON * S + 1);
  assert_int_equal(parse_ok("2026-11-22T12:00:00,5Z"), NOON * S + S / 2);
  assert_int_equal(parse_ok("2026-11-22T12:00:00.1234569+00:00"), NOON * S + 123456);
  assert_int_equal(parse_ok("2024-02-29T23:59:59Z"), INT64_C(1709251199) * S);
  assert_int_equal(parse_ok("2000-02-29"), INT64_C(951782400) * S);
  assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
  assert_int_equal(parse_ok("1969-12-31T23:00:00Z"), -3600 * S);
  assert_int_equal(parse_ok("2026-12-31T23:59:59-23:59"), parse_ok("2027-01-01T23:58:59Z"));
}

static void test_fields(void **state) {
  (void)state;
  struct dag_iso iso;
  const char *s = "2026-11-22T07:30+01:30 and more";
  assert_int_equal(dag_iso_parse(s, 22, &iso, NULL, 0), 0);
  assert_int_equal(iso.year, 2026);
  assert_int_equal(iso.month, 11);
  assert_int_equal(iso.day, 22);
  assert_int_equal(iso.hour, 7);
  assert_int_equal(iso.min, 30);
  assert_true(iso.has_time && !iso.has_sec && iso.has_offset);
  assert_int_equal(iso.offset_s, 5400);
  assert_int_equal(dag_iso_parse("2026-11-22", 10, &iso, NULL, 0), 0);
  assert_true(!iso.has_time && !iso.has_sec && !iso.has_offset);
  /* The length bounds the text: a cut value is incomplete, not read on. */
  assert_int_equal(dag_iso_parse("2026-11-22T12:00:00Z", 12, &iso, NULL, 0), DAG_EINVAL);
}

/* Days that do not exist are refused with the reason, never rolled into the
 * next month as timegm() does (the freshness check took 2026-02-30 for
 * March 2nd). */
static void test_impossible(void **state) {
  (void)state;
  parse_fails("2026-02-30", "day 30 does not exist: February 2026 has 28 days");
  parse_fails("2024-02-30T00:00:00Z", "day 30 does not exist: February 2024 has 29 days");
  parse_fails("2026-02-29T12:00:00Z", "day 29 does not exist: February 2026 has 28 days");
  parse_fails("1900-02-29", "day 29 does not exist: February 1900 has 28 days");
  parse_fails("2026-04-31", "day 31 does not exist: April 2026 has 30 days");
  parse_fails("2026-11-00", "day 00 does not exist: November 2026 has 30 days");
  parse_fails("2026-13-01", "month 13 does not exist");
  parse_fails("2026-00-01", "month 00 does not exist");
  parse_fails("2026-11-22T24:00:00Z", "hour 24 does not exist (00-23)");
  parse_fails("2026-11-22T12:60:00Z", "minute 60 does not exist (00-59)");
  parse_fails("2026-11-22T12:00:60Z", "second 60 does not exist (00-59)");
  parse_fails("2026-11-22T12:00:00+24:00", "offset +24:00 does not exist");
  parse_fails("2026-11-22T12:00:00-01:60", "offset -01:60 does not exist");
}

static void test_malformed(void **state) {
  (void)state;
  parse_fails("", "expected a date YYYY-MM-DD");
  parse_fails("yesterday", "expected a date YYYY-MM-DD");
  parse_fails("22/11/2026", "expected a date YYYY-MM-DD");
  parse_fails("2026/11/22", "expected a date YYYY-MM-DD");
  parse_fails("2026-1-01", "expected a date YYYY-MM-DD");
  parse_fails("26-11-21", "expected a date YYYY-MM-DD");
  parse_fails(" 2026-11-22", "expected a date YYYY-MM-DD");
  parse_fails("2026-11-22T", "expected a time HH:MM after the date");
  parse_fails("2026-11-22T5:00", "expected a time HH:MM after the date");
  parse_fails("2026-11-22T12", "expected a time HH:MM after the date");
  parse_fails("2026-11-22T12:00:", "expected seconds SS after HH:MM:");
  parse_fails("2026-11-22T12:00:00.Z", "expected digits after the decimal sign");
  parse_fails("2026-11-22T12:00:00+2:00", "expected an offset +HH:MM");
  parse_fails("2026-11-22T12:00:00+02:0", "expected an offset +HH:MM");
  parse_fails("2026-11-22T12:00:00+020", "expected an offset +HH:MM");
  parse_fails("2026-11-22T12:00:00 junk", "unexpected text after the time");
  parse_fails("2026-11-22T12:00:00Zjunk", "unexpected text after the offset");
  parse_fails("2026-11-22X12:00:00Z", "unexpected text after the date");
  /* An offset belongs to a time of day. */
  parse_fails("2026-11-22Z", "unexpected text after the date");
  parse_fails("2026-11-22+02:00", "unexpected text after the date");
}

static void test_calendar(void **state) {
  (void)state;
  assert_int_equal(dag_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(dag_days_from_civil(1969, 12, 31), -1);
  assert_int_equal(dag_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(dag_days_from_civil(2026, 1, 32), dag_days_from_civil(2026, 2, 1));
  assert_int_equal(dag_days_in_month(2024, 2), 29);
  assert_int_equal(dag_days_in_month(2100, 2), 28);
  assert_int_equal(dag_days_in_month(2000, 2), 29);
  assert_int_equal(dag_days_in_month(2026, 12), 31);
}

/* What dag_time_iso() writes, dag_time_parse_iso() reads back. */
static void test_round_trip(void **state) {
  (void)state;
  const dag_time_t ts[] = {0, NOON * S, NOON * S + 1, -3600 * S, INT64_C(951782400) * S + 7};
  for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
    char buf[40];
    dag_time_iso(ts[i], buf, sizeof(buf));
    assert_int_equal(parse_ok(buf), ts[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),     cmocka_unit_test(test_fields),
      cmocka_unit_test(test_impossible), cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_calendar),  cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
