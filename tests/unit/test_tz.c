/* test_tz.c - zone validation and local <-> UTC conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "tz.h"

#define SEC DAG_USEC_PER_SEC

static dag_time_t iso(const char *s) {
  struct tm tm = {0};
  int n = 0;
  if (sscanf(s, "%d-%d-%dT%d:%d:%dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
      s[n] != '\0')
    fail_msg("bad ISO time in test: %s", s);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (dag_time_t)timegm(&tm) * SEC;
}

static void fmt_iso(dag_time_t t, char *buf, size_t size) {
  time_t s = (time_t)(t / SEC);
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Wall time "YYYY-MM-DD HH:MM" in `tz` -> ISO UTC string. */
static void to_utc(const char *tz, const char *wall, char *buf, size_t size) {
  struct tm tm = {0};
  if (sscanf(wall, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min) != 5)
    fail_msg("bad wall time in test: %s", wall);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  dag_time_t out;
  assert_int_equal(dag_tz_to_utc(tz, &tm, &out), 0);
  fmt_iso(out, buf, size);
}

#define assert_to_utc(tz, wall, want)         \
  do {                                        \
    char got_[32];                            \
    to_utc((tz), (wall), got_, sizeof(got_)); \
    assert_string_equal(got_, (want));        \
  } while (0)

/* Instant -> "YYYY-MM-DD HH:MM:SS +HHMM" in `tz`. */
static void to_local(const char *tz, dag_time_t t, char *buf, size_t size) {
  struct tm tm;
  assert_int_equal(dag_tz_to_local(tz, t, &tm), 0);
  long off = tm.tm_gmtoff, a = off < 0 ? -off : off;
  size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(buf + n, size - n, " %c%02ld%02ld", off < 0 ? '-' : '+', a / 3600,
           a / 60 % 60);
}

#define assert_to_local(tz, when, want)            \
  do {                                             \
    char got_[48];                                 \
    to_local((tz), iso(when), got_, sizeof(got_)); \
    assert_string_equal(got_, (want));             \
  } while (0)

static void test_validate(void **state) {
  (void)state;
  static const char *const good[] = {
      "UTC",
      "America/New_York",
      "Europe/London",
      "Asia/Kolkata",
      "Australia/Lord_Howe",
      "Etc/GMT+5",
      "America/Argentina/Buenos_Aires",
  };
  static const char *const bad[] = {
      "",
      "/etc/passwd",
      "../../etc/passwd",
      "America/../UTC",
      "America",
      "America/",
      "Nowhere/City",
      "america/new_york_",
      "zone.tab",
      "America/New York",
      "EST5EDT,M3.2.0,M11.1.0",
      ":America/New_York",
      "right/UTC",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    if (dag_tz_validate(good[i]) != 0) fail_msg("rejected %s", good[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (dag_tz_validate(bad[i]) != DAG_EINVAL) fail_msg("accepted %s", bad[i]);
  assert_int_equal(dag_tz_validate(NULL), DAG_EINVAL);
}

static void test_to_local(void **state) {
  (void)state;
  assert_to_local("UTC", "2026-07-01T12:00:00Z", "2026-07-01 12:00:00 +0000");
  assert_to_local("America/New_York", "2026-07-01T12:00:00Z",
                  "2026-07-01 08:00:00 -0400");
  assert_to_local("America/New_York", "2026-01-15T12:00:00Z",
                  "2026-01-15 07:00:00 -0500");
  assert_to_local("America/New_York", "2026-03-08T06:59:59Z",
                  "2026-03-08 01:59:59 -0500");
  assert_to_local("America/New_York", "2026-03-08T07:00:00Z",
                  "2026-03-08 03:00:00 -0400");
  assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                  "2026-07-01 17:30:00 +0530");
  assert_to_local("Australia/Sydney", "2026-01-15T12:00:00Z",
                  "2026-01-15 23:00:00 +1100");
  assert_to_local("Australia/Sydney", "2026-07-15T12:00:00Z",
                  "2026-07-15 22:00:00 +1000");
  assert_to_local("Australia/Lord_Howe", "2026-01-15T12:00:00Z",
                  "2026-01-15 23:00:00 +1100");
  assert_to_local("Australia/Lord_Howe", "2026-07-15T12:00:00Z",
                  "2026-07-15 22:30:00 +1030");
  assert_to_local("Europe/London", "2026-07-01T12:00:00Z",
                  "2026-07-01 13:00:00 +0100");

  /* Before the epoch, sub-second parts round down. */
  char got[48];
  to_local("UTC", -1, got, sizeof(got));
  assert_string_equal(got, "1969-12-31 23:59:59 +0000");
  to_local("UTC", 999999, got, sizeof(got));
  assert_string_equal(got, "1970-01-01 00:00:00 +0000");
}

static void test_to_utc_plain(void **state) {
  (void)state;
  assert_to_utc("UTC", "2026-07-01 12:00", "2026-07-01T12:00:00Z");
  assert_to_utc(NULL, "2026-07-01 12:00", "2026-07-01T12:00:00Z");
  assert_to_utc("America/New_York", "2026-07-01 08:00", "2026-07-01T12:00:00Z");
  assert_to_utc("America/New_York", "2026-01-15 07:00", "2026-01-15T12:00:00Z");
  assert_to_utc("Asia/Kolkata", "2026-01-01 00:00", "2025-12-31T18:30:00Z");
  assert_to_utc("Australia/Sydney", "2026-01-15 23:00", "2026-01-15T12:00:00Z");
  assert_to_utc("Australia/Sydney", "2026-07-15 22:00", "2026-07-15T12:00:00Z");
  assert_to_utc("Australia/Lord_Howe", "2026-07-15 22:30",
                "2026-07-15T12:00:00Z");
  /* Just either side of a change. */
  assert_to_utc("America/New_York", "2026-03-08 01:59", "2026-03-08T06:59:00Z");
  assert_to_utc("America/New_York", "2026-03-08 03:00", "2026-03-08T07:00:00Z");
  assert_to_utc("America/New_York", "2026-11-01 00:59", "2026-11-01T04:59:00Z");
  assert_to_utc("America/New_York", "2026-11-01 02:00", "2026-11-01T07:00:00Z");
}

/* Wall times that do not exist move forward by the gap. */
static void test_to_utc_gap(void **state) {
  (void)state;
  assert_to_utc("America/New_York", "2026-03-08 02:00", "2026-03-08T07:00:00Z");
  assert_to_utc("America/New_York", "2026-03-08 02:30", "2026-03-08T07:30:00Z");
  assert_to_utc("America/New_York", "2026-03-08 02:59", "2026-03-08T07:59:00Z");
  assert_to_utc("Europe/London", "2026-03-29 01:30", "2026-03-29T01:30:00Z");
  assert_to_utc("Australia/Sydney", "2026-10-04 02:30", "2026-10-03T16:30:00Z");
  assert_to_utc("Australia/Lord_Howe", "2026-10-04 02:15",
                "2026-10-03T15:45:00Z");
}

/* Wall times that happen twice resolve to the first. */
static void test_to_utc_overlap(void **state) {
  (void)state;
  assert_to_utc("America/New_York", "2026-11-01 01:00", "2026-11-01T05:00:00Z");
  assert_to_utc("America/New_York", "2026-11-01 01:30", "2026-11-01T05:30:00Z");
  assert_to_utc("America/New_York", "2026-11-01 01:59", "2026-11-01T05:59:00Z");
  assert_to_utc("Europe/London", "2026-10-25 01:30", "2026-10-25T00:30:00Z");
  assert_to_utc("Australia/Sydney", "2026-04-05 02:30", "2026-04-04T15:30:00Z");
  assert_to_utc("Australia/Lord_Howe", "2026-04-05 01:45",
                "2026-04-04T14:45:00Z");
}

/* Out-of-range fields normalise like timegm(); tm_isdst is ignored. */
static void test_to_utc_fields(void **state) {
  (void)state;
  struct tm tm = {0};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 0;
  tm.tm_mday = 32; /* February 1 */
  tm.tm_hour = 10;
  tm.tm_sec = 7;
  tm.tm_isdst = 1;
  dag_time_t out;
  assert_int_equal(dag_tz_to_utc("America/New_York", &tm, &out), 0);
  assert_int_equal(out, iso("2026-02-01T15:00:07Z"));
  tm.tm_isdst = -1;
  assert_int_equal(dag_tz_to_utc("America/New_York", &tm, &out), 0);
  assert_int_equal(out, iso("2026-02-01T15:00:07Z"));
}

/* Every quarter hour of 2026 maps back to itself, except the second pass
 * through a fall-back overlap, which maps to the first. */
static void test_round_trip_year(void **state) {
  (void)state;
  static const struct {
    const char *tz;
    int second_pass; /* quarter hours in the repeated part of the year */
    dag_time_t shift;
  } zones[] = {
      {"America/New_York", 4, 3600 * SEC},
      {"Europe/London", 4, 3600 * SEC},
      {"Australia/Sydney", 4, 3600 * SEC},
      {"Australia/Lord_Howe", 2, 1800 * SEC},
      {"Asia/Kolkata", 0, 0},
      {"UTC", 0, 0},
  };
  dag_time_t from = iso("2026-01-01T00:00:00Z"),
             to = iso("2027-01-01T00:00:00Z");
  for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
    int moved = 0;
    for (dag_time_t t = from; t < to; t += 900 * SEC) {
      struct tm tm;
      dag_time_t back;
      assert_int_equal(dag_tz_to_local(zones[z].tz, t, &tm), 0);
      assert_int_equal(dag_tz_to_utc(zones[z].tz, &tm, &back), 0);
      if (back != t) {
        assert_int_equal(t - back, zones[z].shift);
        moved++;
      }
    }
    assert_int_equal(moved, zones[z].second_pass);
  }
}

/* Alternating zones gives each its own answer: the cached zone is switched. */
static void test_switching_zones(void **state) {
  (void)state;
  for (int i = 0; i < 3; i++) {
    assert_to_local("America/New_York", "2026-07-01T12:00:00Z",
                    "2026-07-01 08:00:00 -0400");
    assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                    "2026-07-01 17:30:00 +0530");
    assert_to_utc("Australia/Sydney", "2026-07-15 22:00",
                  "2026-07-15T12:00:00Z");
    assert_to_local("UTC", "2026-07-01T12:00:00Z", "2026-07-01 12:00:00 +0000");
    assert_to_utc("America/New_York", "2026-07-01 08:00",
                  "2026-07-01T12:00:00Z");
  }
}

static void test_bad_zone(void **state) {
  (void)state;
  struct tm tm = {0};
  dag_time_t out;
  assert_int_equal(dag_tz_to_local("Nowhere/City", 0, &tm), DAG_EINVAL);
  assert_int_equal(dag_tz_to_local("../etc/passwd", 0, &tm), DAG_EINVAL);
  assert_int_equal(dag_tz_to_utc("zone.tab", &tm, &out), DAG_EINVAL);
  assert_int_equal(dag_tz_to_utc("", &tm, &out), DAG_EINVAL);
  /* A failed switch leaves the previous zone working. */
  assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                  "2026-07-01 17:30:00 +0530");
  assert_int_equal(dag_tz_to_local("Nowhere/City", 0, &tm), DAG_EINVAL);
  assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                  "2026-07-01 17:30:00 +0530");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_to_local),
      cmocka_unit_test(test_to_utc_plain),
      cmocka_unit_test(test_to_utc_gap),
      cmocka_unit_test(test_to_utc_overlap),
      cmocka_unit_test(test_to_utc_fields),
      cmocka_unit_test(test_round_trip_year),
      cmocka_unit_test(test_switching_zones),
      cmocka_unit_test(test_bad_zone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
