/* test_tz.c - zone validation and local <-> UTC conversion. */
#include <pthread.h>
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

extern char **environ;

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

/* Wall time "YYYY-MM-DD HH:MM" in `tz`, second occurrence -> ISO UTC. */
static void to_utc_late(const char *tz, const char *wall, char *buf,
                        size_t size) {
  struct tm tm = {0};
  if (sscanf(wall, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min) != 5)
    fail_msg("bad wall time in test: %s", wall);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  dag_time_t out;
  assert_int_equal(dag_tz_to_utc_fold(tz, &tm, 1, &out), 0);
  fmt_iso(out, buf, size);
}

#define assert_to_utc_late(tz, wall, want)         \
  do {                                             \
    char got_[32];                                 \
    to_utc_late((tz), (wall), got_, sizeof(got_)); \
    assert_string_equal(got_, (want));             \
  } while (0)

/* Instant -> "YYYY-MM-DD HH:MM:SS +HHMM" in `tz`. */
static void to_local(const char *tz, dag_time_t t, char *buf, size_t size) {
  struct tm tm;
  assert_int_equal(dag_tz_to_local(tz, t, &tm), 0);
  long off = tm.tm_gmtoff, a = off < 0 ? -off : off;
  size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(buf + n, size - n, " %c%02ld%02ld %s", off < 0 ? '-' : '+', a / 3600,
           a / 60 % 60, tm.tm_zone);
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
  assert_to_local("UTC", "2026-07-01T12:00:00Z",
                  "2026-07-01 12:00:00 +0000 UTC");
  assert_to_local("America/New_York", "2026-07-01T12:00:00Z",
                  "2026-07-01 08:00:00 -0400 EDT");
  assert_to_local("America/New_York", "2026-01-15T12:00:00Z",
                  "2026-01-15 07:00:00 -0500 EST");
  assert_to_local("America/New_York", "2026-03-08T06:59:59Z",
                  "2026-03-08 01:59:59 -0500 EST");
  assert_to_local("America/New_York", "2026-03-08T07:00:00Z",
                  "2026-03-08 03:00:00 -0400 EDT");
  assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                  "2026-07-01 17:30:00 +0530 IST");
  assert_to_local("Australia/Sydney", "2026-01-15T12:00:00Z",
                  "2026-01-15 23:00:00 +1100 AEDT");
  assert_to_local("Australia/Sydney", "2026-07-15T12:00:00Z",
                  "2026-07-15 22:00:00 +1000 AEST");
  assert_to_local("Australia/Lord_Howe", "2026-01-15T12:00:00Z",
                  "2026-01-15 23:00:00 +1100 +11");
  assert_to_local("Australia/Lord_Howe", "2026-07-15T12:00:00Z",
                  "2026-07-15 22:30:00 +1030 +1030");
  assert_to_local("Europe/London", "2026-07-01T12:00:00Z",
                  "2026-07-01 13:00:00 +0100 BST");

  /* Before the epoch, sub-second parts round down. */
  char got[48];
  to_local("UTC", -1, got, sizeof(got));
  assert_string_equal(got, "1969-12-31 23:59:59 +0000 UTC");
  to_local("UTC", 999999, got, sizeof(got));
  assert_string_equal(got, "1970-01-01 00:00:00 +0000 UTC");
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

/* Alternating zones gives each its own answer. */
static void test_switching_zones(void **state) {
  (void)state;
  for (int i = 0; i < 3; i++) {
    assert_to_local("America/New_York", "2026-07-01T12:00:00Z",
                    "2026-07-01 08:00:00 -0400 EDT");
    assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                    "2026-07-01 17:30:00 +0530 IST");
    assert_to_utc("Australia/Sydney", "2026-07-15 22:00",
                  "2026-07-15T12:00:00Z");
    assert_to_local("UTC", "2026-07-01T12:00:00Z",
                    "2026-07-01 12:00:00 +0000 UTC");
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
  /* A failed lookup leaves the zones already loaded working. */
  assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                  "2026-07-01 17:30:00 +0530 IST");
  assert_int_equal(dag_tz_to_local("Nowhere/City", 0, &tm), DAG_EINVAL);
  assert_to_local("Asia/Kolkata", "2026-07-01T12:00:00Z",
                  "2026-07-01 17:30:00 +0530 IST");
}

/* Wall times that happen twice resolve to the second with fold 1, as
 * Airflow's make_aware does; fold changes nothing elsewhere. */
static void test_to_utc_fold(void **state) {
  (void)state;
  assert_to_utc_late("Europe/Berlin", "2024-10-27 02:00",
                     "2024-10-27T01:00:00Z");
  assert_to_utc_late("Europe/Berlin", "2024-10-27 02:59",
                     "2024-10-27T01:59:00Z");
  assert_to_utc_late("Europe/Berlin", "2024-10-27 03:00",
                     "2024-10-27T02:00:00Z");
  assert_to_utc_late("Europe/Berlin", "2024-10-27 01:59",
                     "2024-10-26T23:59:00Z");
  assert_to_utc_late("America/New_York", "2024-11-03 01:30",
                     "2024-11-03T06:30:00Z");
  assert_to_utc_late("Australia/Lord_Howe", "2024-04-07 01:45",
                     "2024-04-06T15:15:00Z");
  assert_to_utc("Australia/Lord_Howe", "2024-04-07 01:45",
                "2024-04-06T14:45:00Z");
  /* Gaps move forward by the gap whatever the fold. */
  assert_to_utc_late("Europe/Berlin", "2024-03-31 02:30",
                     "2024-03-31T01:30:00Z");
  assert_to_utc_late("Australia/Lord_Howe", "2024-10-06 02:15",
                     "2024-10-05T15:45:00Z");
  assert_to_utc_late("Asia/Kolkata", "2024-10-27 02:00",
                     "2024-10-26T20:30:00Z");
  assert_to_utc_late("UTC", "2024-10-27 02:00", "2024-10-27T02:00:00Z");
}

/* Known instants across the 2024 changes, with each zone's abbreviation;
 * checked against Python's zoneinfo. */
static void test_known_instants_2024(void **state) {
  (void)state;
  static const char *const cases[][3] = {
      {"Europe/Berlin", "2024-03-31T00:59:59Z",
       "2024-03-31 01:59:59 +0100 CET"},
      {"Europe/Berlin", "2024-03-31T01:00:00Z",
       "2024-03-31 03:00:00 +0200 CEST"},
      {"Europe/Berlin", "2024-10-27T00:59:59Z",
       "2024-10-27 02:59:59 +0200 CEST"},
      {"Europe/Berlin", "2024-10-27T01:00:00Z",
       "2024-10-27 02:00:00 +0100 CET"},
      {"America/New_York", "2024-03-10T06:59:59Z",
       "2024-03-10 01:59:59 -0500 EST"},
      {"America/New_York", "2024-03-10T07:00:00Z",
       "2024-03-10 03:00:00 -0400 EDT"},
      {"America/New_York", "2024-11-03T05:59:59Z",
       "2024-11-03 01:59:59 -0400 EDT"},
      {"America/New_York", "2024-11-03T06:00:00Z",
       "2024-11-03 01:00:00 -0500 EST"},
      {"Australia/Lord_Howe", "2024-04-06T14:59:59Z",
       "2024-04-07 01:59:59 +1100 +11"},
      {"Australia/Lord_Howe", "2024-04-06T15:00:00Z",
       "2024-04-07 01:30:00 +1030 +1030"},
      {"Australia/Lord_Howe", "2024-10-05T15:29:59Z",
       "2024-10-06 01:59:59 +1030 +1030"},
      {"Australia/Lord_Howe", "2024-10-05T15:30:00Z",
       "2024-10-06 02:30:00 +1100 +11"},
      /* No DST at all. */
      {"Asia/Kolkata", "2024-07-01T12:00:00Z", "2024-07-01 17:30:00 +0530 IST"},
      {"Asia/Tokyo", "2024-07-01T12:00:00Z", "2024-07-01 21:00:00 +0900 JST"},
      {"Asia/Tokyo", "2024-01-01T12:00:00Z", "2024-01-01 21:00:00 +0900 JST"},
      {"America/Sao_Paulo", "2024-01-15T12:00:00Z",
       "2024-01-15 09:00:00 -0300 -03"},
      {"UTC", "2024-07-01T12:00:00Z", "2024-07-01 12:00:00 +0000 UTC"},
      {"Etc/UTC", "2024-07-01T12:00:00Z", "2024-07-01 12:00:00 +0000 UTC"},
      /* From the transition tables, long ago. */
      {"America/New_York", "1950-06-01T12:00:00Z",
       "1950-06-01 08:00:00 -0400 EDT"},
      {"Europe/Berlin", "1900-01-01T00:00:00Z",
       "1900-01-01 01:00:00 +0100 CET"},
      /* From the footer's POSIX rule, past any table (2100 is no leap year). */
      {"Europe/Berlin", "2100-03-28T00:59:59Z",
       "2100-03-28 01:59:59 +0100 CET"},
      {"Europe/Berlin", "2100-03-28T01:00:00Z",
       "2100-03-28 03:00:00 +0200 CEST"},
      {"Europe/Berlin", "2100-10-31T01:00:00Z",
       "2100-10-31 02:00:00 +0100 CET"},
      {"America/New_York", "2100-03-14T07:00:00Z",
       "2100-03-14 03:00:00 -0400 EDT"},
      {"America/New_York", "2100-11-07T05:59:59Z",
       "2100-11-07 01:59:59 -0400 EDT"},
      {"America/New_York", "2100-11-07T06:00:00Z",
       "2100-11-07 01:00:00 -0500 EST"},
      {"Australia/Lord_Howe", "2100-04-03T14:59:59Z",
       "2100-04-04 01:59:59 +1100 +11"},
      {"Australia/Lord_Howe", "2100-04-03T15:00:00Z",
       "2100-04-04 01:30:00 +1030 +1030"},
      {"Australia/Lord_Howe", "2100-10-02T15:29:59Z",
       "2100-10-03 01:59:59 +1030 +1030"},
      {"Australia/Lord_Howe", "2100-10-02T15:30:00Z",
       "2100-10-03 02:30:00 +1100 +11"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char got[64];
    to_local(cases[i][0], iso(cases[i][1]), got, sizeof(got));
    if (strcmp(got, cases[i][2]) != 0)
      fail_msg("%s at %s: got '%s', want '%s'", cases[i][0], cases[i][1], got,
               cases[i][2]);
  }
}

/* A copy of the environment, to compare. */
static char **env_copy(void) {
  size_t n = 0;
  while (environ[n]) n++;
  char **copy = calloc(n + 1, sizeof(*copy));
  assert_non_null(copy);
  for (size_t i = 0; i < n; i++) copy[i] = strdup(environ[i]);
  return copy;
}

static void env_free(char **env) {
  for (size_t i = 0; env[i]; i++) free(env[i]);
  free(env);
}

/* Converting in a zone leaves TZ and the rest of the environment alone
 * (tasks inherit it, and other threads read it), with or without a TZ of
 * the process's own. */
static void test_environment_untouched(void **state) {
  (void)state;
  static const char *const zones[] = {"America/New_York", "Australia/Lord_Howe",
                                      "Asia/Kolkata", "Europe/Berlin", "UTC"};
  for (int pass = 0; pass < 2; pass++) {
    /* The test sets up its own environment; dagctl never does. */
    if (pass == 1) assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
    char **before = env_copy();
    char **array = environ;
    const char *tz_before = getenv("TZ");
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
      struct tm tm;
      dag_time_t out;
      assert_int_equal(
          dag_tz_to_local(zones[z], iso("2024-07-01T12:00:00Z"), &tm), 0);
      assert_int_equal(dag_tz_to_utc(zones[z], &tm, &out), 0);
      assert_int_equal(dag_tz_validate(zones[z]), 0);
      const char *tz = getenv("TZ");
      if (pass == 0 && tz != NULL)
        fail_msg("converting in %s set TZ=%s", zones[z], tz);
      if (pass == 1) assert_string_equal(tz, "Asia/Tokyo");
    }
    assert_ptr_equal(environ, array);
    assert_ptr_equal(getenv("TZ"), tz_before);
    size_t i = 0;
    for (; before[i] && environ[i]; i++)
      assert_string_equal(environ[i], before[i]);
    assert_null(before[i]);
    assert_null(environ[i]);
    env_free(before);
    if (pass == 1) unsetenv("TZ");
  }
}

/* Every quarter hour of 2100, past the tables, maps back to itself except
 * the second pass through the repeated hour: the footer's rule round-trips
 * as the tables do. */
static void test_round_trip_footer(void **state) {
  (void)state;
  static const char *const zones[] = {"America/New_York", "Europe/Berlin",
                                      "Australia/Lord_Howe"};
  static const int second_pass[] = {4, 4, 2};
  dag_time_t from = iso("2100-01-01T00:00:00Z"),
             to = iso("2101-01-01T00:00:00Z");
  for (size_t z = 0; z < 3; z++) {
    int moved = 0;
    for (dag_time_t t = from; t < to; t += 900 * SEC) {
      struct tm tm;
      dag_time_t back;
      assert_int_equal(dag_tz_to_local(zones[z], t, &tm), 0);
      assert_int_equal(dag_tz_to_utc(zones[z], &tm, &back), 0);
      if (back != t) moved++;
      assert_int_equal(dag_tz_to_utc_fold(zones[z], &tm, 1, &back), 0);
      if (back != t) moved++; /* the first pass moves with fold 1 */
    }
    assert_int_equal(moved, 2 * second_pass[z]);
  }
}

/* Bad names and files say what is wrong, naming the zone. */
static void test_errors(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons' (no file "
                            "/usr/share/zoneinfo/Mars/Olympus_Mons)"},
      {"../etc/passwd",
       "invalid time zone name '../etc/passwd' (expected an IANA name such as "
       "Europe/Berlin)"},
      {"America/New York",
       "invalid time zone name 'America/New York' (expected an IANA name such "
       "as Europe/Berlin)"},
      {"", "invalid time zone name '' (expected an IANA name such as "
           "Europe/Berlin)"},
      {"zone.tab",
       "unknown time zone 'zone.tab' (/usr/share/zoneinfo/zone.tab: no TZif "
       "header)"},
      {"America",
       "unknown time zone 'America' (/usr/share/zoneinfo/America is not a zone "
       "file)"},
      {"right/UTC", "time zone 'right/UTC' counts leap seconds: use 'UTC'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct dag_tz *z = NULL;
    char *err = NULL;
    assert_int_equal(dag_tz_get(cases[i][0], &z, &err), DAG_EINVAL);
    assert_non_null(err);
    if (strcmp(err, cases[i][1]) != 0)
      fail_msg("'%s': got '%s', want '%s'", cases[i][0], err, cases[i][1]);
    free(err);
    assert_int_equal(dag_tz_get(cases[i][0], &z, NULL), DAG_EINVAL);
  }
  /* A zone is loaded once: the second lookup hands out the same table. */
  const struct dag_tz *a, *b;
  assert_int_equal(dag_tz_get("Europe/Berlin", &a, NULL), 0);
  assert_int_equal(dag_tz_get("Europe/Berlin", &b, NULL), 0);
  assert_ptr_equal(a, b);
}

/* Threads loading and using zones at once (the scheduler loop, the thread
 * pool, the web server's workers) each get the right answer; the first
 * load of each zone races. */
static const struct {
  const char *tz;
  long utoff;
} thread_zones[] = {
    {"Europe/Paris", 7200},      {"Europe/Madrid", 7200},
    {"America/Chicago", -18000}, {"America/Denver", -21600},
    {"Asia/Shanghai", 28800},    {"Africa/Cairo", 10800},
    {"Pacific/Auckland", 43200}, {"America/Halifax", -10800},
};
#define N_THREAD_ZONES (sizeof(thread_zones) / sizeof(thread_zones[0]))

static void *convert_many(void *arg) {
  size_t first = (size_t)(uintptr_t)arg;
  dag_time_t t = iso("2024-07-01T12:00:00Z");
  for (int round = 0; round < 200; round++) {
    for (size_t k = 0; k < N_THREAD_ZONES; k++) {
      size_t i = (first + k) % N_THREAD_ZONES;
      struct tm tm;
      dag_time_t back;
      if (dag_tz_to_local(thread_zones[i].tz, t, &tm) != 0 ||
          tm.tm_gmtoff != thread_zones[i].utoff ||
          dag_tz_to_utc(thread_zones[i].tz, &tm, &back) != 0 || back != t)
        return (void *)1;
    }
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  pthread_t th[4];
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(
        pthread_create(&th[i], NULL, convert_many, (void *)(uintptr_t)(i * 2)),
        0);
  for (size_t i = 0; i < 4; i++) {
    void *bad;
    assert_int_equal(pthread_join(th[i], &bad), 0);
    assert_null(bad);
  }
}

/* ---- TZif data built by hand ---- */

struct tzif {
  uint8_t buf[1024];
  size_t len;
};

static void put(struct tzif *f, const void *p, size_t n) {
  assert_true(f->len + n <= sizeof(f->buf));
  memcpy(f->buf + f->len, p, n);
  f->len += n;
}

static void put32(struct tzif *f, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                  (uint8_t)v};
  put(f, b, 4);
}

static void put64(struct tzif *f, int64_t v) {
  put32(f, (uint32_t)((uint64_t)v >> 32));
  put32(f, (uint32_t)v);
}

static void header(struct tzif *f, char version, uint32_t timecnt,
                   uint32_t typecnt, uint32_t charcnt) {
  put(f, "TZif", 4);
  put(f, &version, 1);
  static const uint8_t unused[15];
  put(f, unused, 15);
  put32(f, 0); /* isutcnt */
  put32(f, 0); /* isstdcnt */
  put32(f, 0); /* leapcnt */
  put32(f, timecnt);
  put32(f, typecnt);
  put32(f, charcnt);
}

/* Two types, "AAA" +1 h and "BBB" +2 h DST; a transition to BBB at t1 and
 * back to AAA at t2. tsize 4 or 8. */
static void block(struct tzif *f, int tsize, int64_t t1, int64_t t2) {
  if (tsize == 4) {
    put32(f, (uint32_t)t1);
    put32(f, (uint32_t)t2);
  } else {
    put64(f, t1);
    put64(f, t2);
  }
  put(f, "\x01\x00", 2);
  put(f, "\x00\x00\x0e\x10\x00\x00", 6); /* +3600, std, "AAA" */
  put(f, "\x00\x00\x1c\x20\x01\x04", 6); /* +7200, dst, "BBB" */
  put(f, "AAA\0BBB\0", 8);
}

static int parse(const struct tzif *f, struct dag_tz **z, char **err) {
  return dag_tz_parse("test", f->buf, f->len, z, err);
}

static struct dag_tz_info info_at(const struct dag_tz *z, int64_t t) {
  struct dag_tz_info i;
  dag_tz_lookup(z, t, &i);
  return i;
}

static void test_parse_tzif(void **state) {
  (void)state;
  struct tzif f = {{0}, 0};
  struct dag_tz *z = NULL;
  char *err = NULL;

  /* Version 1: 32-bit times, no footer; type 0 before the first. */
  const int64_t t1 = 10 * 86400, t2 = 100 * 86400;
  header(&f, 0, 2, 2, 8);
  block(&f, 4, t1, t2);
  assert_int_equal(parse(&f, &z, &err), 0);
  assert_int_equal(info_at(z, 0).utoff, 3600);
  assert_int_equal(info_at(z, t1).utoff, 7200);
  assert_true(info_at(z, t2 - 1).isdst);
  assert_string_equal(info_at(z, t2 - 1).abbr, "BBB");
  assert_int_equal(info_at(z, t2).utoff, 3600);
  assert_int_equal(info_at(z, INT64_C(1) << 40).utoff, 3600);
  /* The gap after t1 moves forward; the overlap after t2 has two answers. */
  assert_int_equal(dag_tz_wall_to_utc(z, t1 + 3600 + 1800, 0), t1 + 1800);
  assert_int_equal(dag_tz_wall_to_utc(z, t1 + 3600 + 1800, 1), t1 + 1800);
  assert_int_equal(dag_tz_wall_to_utc(z, t2 + 5400, 0), t2 - 1800);
  assert_int_equal(dag_tz_wall_to_utc(z, t2 + 5400, 1), t2 + 1800);
  assert_int_equal(dag_tz_wall_to_utc(z, t2 + 7200, 1), t2 + 3600);
  dag_tz_free(z);

  /* Transitions minutes apart still map every local time back exactly:
   * fold 0 finds the first occurrence, fold 1 the last. */
  f.len = 0;
  header(&f, 0, 2, 2, 8);
  block(&f, 4, 1000, 2000);
  assert_int_equal(parse(&f, &z, &err), 0);
  for (int64_t t = -8000; t < 12000; t += 50) {
    int64_t wall = t + info_at(z, t).utoff;
    int64_t u0 = dag_tz_wall_to_utc(z, wall, 0);
    int64_t u1 = dag_tz_wall_to_utc(z, wall, 1);
    assert_true(u0 <= t && t <= u1);
    assert_int_equal(u0 + info_at(z, u0).utoff, wall);
    assert_int_equal(u1 + info_at(z, u1).utoff, wall);
  }
  dag_tz_free(z);

  /* Version 2: the 64-bit block and a footer rule for later instants, here
   * a zone in DST all year ("J365/25" ends a day after it starts). */
  f.len = 0;
  header(&f, '2', 2, 2, 8);
  block(&f, 4, 1000, 2000);
  header(&f, '2', 2, 2, 8);
  block(&f, 8, -(INT64_C(1) << 40), 2000); /* v1 says 1000: it is skipped */
  put(&f, "\n<AAA>-1<BBB>-2,0/0,J365/25\n", 28);
  assert_int_equal(parse(&f, &z, &err), 0);
  assert_int_equal(info_at(z, -(INT64_C(1) << 41)).utoff, 3600);
  assert_int_equal(info_at(z, 1500).utoff, 7200); /* 64-bit, not v1's 1000 */
  assert_int_equal(info_at(z, 2000).utoff, 3600);
  assert_int_equal(info_at(z, 1000000000).utoff, 7200); /* the footer */
  assert_int_equal(info_at(z, 4102444800).utoff, 7200);
  dag_tz_free(z);

  /* No transitions at all: the footer rules everything. */
  f.len = 0;
  header(&f, '3', 0, 1, 4);
  put(&f, "\x00\x00\x00\x00\x00\x00UTC\0", 10);
  header(&f, '3', 0, 1, 4);
  put(&f, "\x00\x00\x00\x00\x00\x00UTC\0", 10);
  put(&f, "\nEST5EDT,M3.2.0,M11.1.0\n", 24);
  assert_int_equal(parse(&f, &z, &err), 0);
  assert_int_equal(info_at(z, 1720000000).utoff, -4 * 3600); /* 2024-07-03 */
  assert_int_equal(info_at(z, 1704067200).utoff, -5 * 3600); /* 2024-01-01 */
  assert_string_equal(info_at(z, 1704067200).abbr, "EST");
  assert_int_equal(info_at(z, 1710054000 - 1).utoff, -5 * 3600);
  assert_int_equal(info_at(z, 1710054000).utoff, -4 * 3600); /* 03-10 07:00Z */
  assert_int_equal(info_at(z, 1730613600 - 1).utoff, -4 * 3600);
  assert_int_equal(info_at(z, 1730613600).utoff, -5 * 3600); /* 11-03 06:00Z */
  dag_tz_free(z);

  /* Broken files: each is refused with a reason, nothing leaks. */
  static const struct {
    const char *data;
    size_t len;
    const char *why;
  } bad[] = {
      {"", 0, "no TZif header"},
      {"TZjf2", 5, "no TZif header"},
      {"TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\0\0\x01\0\0\0\x04",
       44, "truncated"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(
        dag_tz_parse("bad", (const uint8_t *)bad[i].data, bad[i].len, &z, &err),
        DAG_EINVAL);
    assert_string_equal(err, bad[i].why);
    free(err);
  }
  /* Out-of-order transitions, a bad type index, a bad footer, no footer. */
  f.len = 0;
  header(&f, 0, 2, 2, 8);
  block(&f, 4, 2000, 1000);
  assert_int_equal(parse(&f, &z, &err), DAG_EINVAL);
  assert_string_equal(err, "transition times out of order");
  free(err);
  f.len = 0;
  header(&f, 0, 2, 2, 8);
  block(&f, 4, 1000, 2000);
  f.buf[44 + 8] = 7;
  assert_int_equal(parse(&f, &z, &err), DAG_EINVAL);
  assert_string_equal(err, "bad local time type index");
  free(err);
  static const char *const footers[] = {
      "\nEST5EDT,M3.2.0\n",
      "\nEST\n",
      "\nEST5EDT,M13.1.0,M11.1.0\n",
      "\nEST5EDT,M3.2.0/200,M11.1.0\n",
      "\n<EST5\n",
      "\nE5\n",
      "\nUTC0",
  };
  for (size_t i = 0; i < sizeof(footers) / sizeof(footers[0]); i++) {
    f.len = 0;
    header(&f, '2', 0, 1, 4);
    put(&f, "\x00\x00\x00\x00\x00\x00UTC\0", 10);
    header(&f, '2', 0, 1, 4);
    put(&f, "\x00\x00\x00\x00\x00\x00UTC\0", 10);
    put(&f, footers[i], strlen(footers[i]));
    if (parse(&f, &z, &err) != DAG_EINVAL)
      fail_msg("accepted footer %s", footers[i]);
    free(err);
  }
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
      cmocka_unit_test(test_to_utc_fold),
      cmocka_unit_test(test_known_instants_2024),
      cmocka_unit_test(test_environment_untouched),
      cmocka_unit_test(test_round_trip_footer),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_parse_tzif),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
