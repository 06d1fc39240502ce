/* test_cron.c - cron parsing and fire times.
 *
 * Most cases are data: tests/data/cron/cases.txt. Here are the bit-level
 * parse checks, year-long walks through DST changes, and a comparison with a
 * minute-by-minute scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cron.h"
#include "error.h"
#include "tz.h"

#define SEC DAG_USEC_PER_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

/* "2026-03-08T07:30:00Z" or "...:00.000001Z" -> microseconds. */
static int parse_iso(const char *s, dag_time_t *out) {
  struct tm tm = {0};
  int us = 0, n = 0;
  if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
    return -1;
  s += n;
  if (*s == '.') {
    int m = 0;
    if (sscanf(s, ".%6d%n", &us, &m) != 1 || m != 7) return -1;
    s += m;
  }
  if (strcmp(s, "Z") != 0) return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *out = (dag_time_t)timegm(&tm) * SEC + us;
  return 0;
}

static dag_time_t iso(const char *s) {
  dag_time_t t;
  if (parse_iso(s, &t) != 0) fail_msg("bad ISO time in test: %s", s);
  return t;
}

static void fmt_iso(dag_time_t t, char *buf, size_t size) {
  time_t s = (time_t)(t / SEC);
  int64_t us = t % SEC;
  if (us < 0) {
    us += SEC;
    s--;
  }
  struct tm tm;
  gmtime_r(&s, &tm);
  size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  if (us != 0)
    snprintf(buf + n, size - n, ".%06dZ", (int)us);
  else
    snprintf(buf + n, size - n, "Z");
}

static struct dag_cron cron(const char *expr) {
  struct dag_cron c = {0};
  char *err = NULL;
  if (dag_cron_parse(expr, &c, &err) != 0) fail_msg("%s: %s", expr, err);
  return c;
}

/* ---- data-driven cases ---- */

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                   s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

/* Split `line` on '|' into at most `max` trimmed parts. */
static int split(char *line, char **parts, int max) {
  int n = 0;
  for (char *p = line;;) {
    char *bar = strchr(p, '|');
    if (bar) *bar = '\0';
    if (n < max) parts[n] = trim(p);
    n++;
    if (!bar) return n;
    p = bar + 1;
  }
}

/* Returns 0 if the case passes, else prints why and returns 1. */
static int run_case(const char *file, int lineno, char **f, int n) {
  char got[64];
  if (strcmp(f[0], "error") == 0 && n == 3) {
    struct dag_cron c;
    char *err = NULL;
    int rc = dag_cron_parse(f[1], &c, &err);
    int bad = rc != DAG_EINVAL || err == NULL || strcmp(err, f[2]) != 0;
    if (bad)
      print_error("%s:%d: '%s': rc %d, message '%s', want '%s'\n", file, lineno,
                  f[1], rc, err ? err : "(null)", f[2]);
    free(err);
    return bad;
  }
  if ((strcmp(f[0], "next") != 0 && strcmp(f[0], "prev") != 0) || n != 5) {
    print_error("%s:%d: malformed case\n", file, lineno);
    return 1;
  }
  struct dag_cron c;
  char *err = NULL;
  if (dag_cron_parse(f[1], &c, &err) != 0) {
    print_error("%s:%d: '%s': %s\n", file, lineno, f[1], err);
    free(err);
    return 1;
  }
  dag_time_t from, out = 0;
  if (parse_iso(f[3], &from) != 0) {
    print_error("%s:%d: bad time '%s'\n", file, lineno, f[3]);
    return 1;
  }
  int rc = f[0][0] == 'n' ? dag_cron_next(&c, f[2], from, &out)
                          : dag_cron_prev(&c, f[2], from, &out);
  if (rc == DAG_ENOTFOUND)
    snprintf(got, sizeof(got), "none");
  else if (rc != 0)
    snprintf(got, sizeof(got), "error %d", rc);
  else
    fmt_iso(out, got, sizeof(got));
  if (strcmp(got, f[4]) != 0) {
    print_error("%s:%d: %s '%s' in %s from %s: got %s, want %s\n", file, lineno,
                f[0], f[1], f[2], f[3], got, f[4]);
    return 1;
  }
  return 0;
}

static void test_data_cases(void **state) {
  (void)state;
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  char path[4096];
  snprintf(path, sizeof(path), "%s/tests/data/cron/cases.txt", src ? src : ".");
  FILE *fp = fopen(path, "r");
  if (!fp) fail_msg("cannot open %s", path);
  char line[512];
  int lineno = 0, cases = 0, failed = 0;
  while (fgets(line, sizeof(line), fp)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *s = trim(line);
    if (*s == '\0') continue;
    char *f[5];
    int n = split(s, f, 5);
    cases++;
    failed += run_case(path, lineno, f, n);
  }
  fclose(fp);
  assert_int_equal(failed, 0);
  assert_true(cases >= 150); /* the file was read whole */
}

/* ---- parsing ---- */

static uint64_t bits(const int *v, int n) {
  uint64_t b = 0;
  for (int i = 0; i < n; i++) b |= UINT64_C(1) << v[i];
  return b;
}

#define BITS(...)                  \
  bits((const int[]){__VA_ARGS__}, \
       (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))

static void test_parse_fields(void **state) {
  (void)state;
  struct dag_cron c = cron("*/15 1-23/5 5/10 JAN,mar-May sun,7,WED");
  assert_int_equal(c.minutes, BITS(0, 15, 30, 45));
  assert_int_equal(c.hours, BITS(1, 6, 11, 16, 21));
  assert_int_equal(c.days, BITS(5, 15, 25));
  assert_int_equal(c.months, BITS(1, 3, 4, 5));
  assert_int_equal(c.weekdays, BITS(0, 3));
  assert_false(c.days_star);
  assert_false(c.weekdays_star);
  assert_true(c.wall_clock); /* the hour field leaves hours out */

  c = cron("  0,59\t23 * * *  ");
  assert_int_equal(c.minutes, BITS(0, 59));
  assert_int_equal(c.hours, BITS(23));
  assert_int_equal(c.days, UINT64_C(0xfffffffe));
  assert_int_equal(c.months, UINT64_C(0x1ffe));
  assert_int_equal(c.weekdays, UINT64_C(0x7f));
  assert_true(c.days_star);
  assert_true(c.weekdays_star);

  c = cron("* * * * 5-7");
  assert_int_equal(c.weekdays, BITS(0, 5, 6));
  c = cron("* * * * */2");
  assert_int_equal(c.weekdays, BITS(0, 2, 4, 6));
  c = cron("* * * * 0-7");
  assert_true(c.weekdays_star);
  c = cron("* * 1-31 * MON");
  assert_true(c.days_star); /* every value listed: '*' for the OR rule */
  c = cron("* * */2 * MON");
  assert_false(c.days_star);
  c = cron("0 0 * * *");
  assert_int_equal(c.minutes, 1);
  c = cron("*/90 * * * *");
  assert_int_equal(c.minutes, 1);
}

/* Airflow decides by the hour field alone: anything but '*' (or a list of
 * all 24 hours, which croniter turns into '*') is wall-clock time. */
static void test_parse_wall_clock(void **state) {
  (void)state;
  assert_true(cron("30 2 * * *").wall_clock);
  assert_true(cron("0 3 * * MON").wall_clock);
  assert_true(cron("0 0 1 1 *").wall_clock);
  assert_true(cron("@daily").wall_clock);
  assert_true(cron("@quarterly").wall_clock);
  assert_true(cron("0-0 5/24 * * *").wall_clock);
  assert_true(cron("0 */2 * * *").wall_clock);
  assert_true(cron("0,30 3 * * *").wall_clock);
  assert_true(cron("15 1-3 * * *").wall_clock);
  assert_true(cron("15,45 0-3 * * *").wall_clock);
  assert_true(cron("* 0-22 * * *").wall_clock);
  assert_false(cron("*/30 * * * *").wall_clock);
  assert_false(cron("0 * * * *").wall_clock);
  assert_false(cron("@hourly").wall_clock);
  assert_false(cron("0 0-23 * * *").wall_clock);
  assert_false(cron("0 */1 * * *").wall_clock);
  assert_false(cron("0 0-11,12-23 * * *").wall_clock);
}

static void assert_cron_equal(const struct dag_cron *a,
                              const struct dag_cron *b) {
  assert_int_equal(a->minutes, b->minutes);
  assert_int_equal(a->hours, b->hours);
  assert_int_equal(a->days, b->days);
  assert_int_equal(a->months, b->months);
  assert_int_equal(a->weekdays, b->weekdays);
  assert_int_equal(a->days_star, b->days_star);
  assert_int_equal(a->weekdays_star, b->weekdays_star);
  assert_int_equal(a->wall_clock, b->wall_clock);
}

static void test_presets(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"@hourly", "0 * * * *"},      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},    {"@weekly", "0 0 * * 0"},
      {"@monthly", "0 0 1 * *"},     {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},    {" @Weekly ", "0 0 * * SUN"},
      {"@quarterly", "0 0 1 */3 *"}, {"@QUARTERLY", "0 0 1 1,4,7,10 *"},
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    struct dag_cron a = cron(pairs[i][0]), b = cron(pairs[i][1]);
    assert_cron_equal(&a, &b);
  }
}

static void test_parse_error_leaves_output(void **state) {
  (void)state;
  struct dag_cron c = cron("1 2 3 4 5"), before = c;
  assert_int_equal(dag_cron_parse("1 2 3 4 9", &c, NULL), DAG_EINVAL);
  assert_cron_equal(&c, &before);
  char *err = (char *)"untouched";
  assert_int_equal(dag_cron_parse(NULL, &c, &err), DAG_EINVAL);
  assert_string_equal(err, "expected 5 fields, got 0");
  free(err);
  err = (char *)"untouched";
  assert_int_equal(dag_cron_parse("5 4 * * *", &c, &err), 0);
  assert_null(err);
}

/* ---- walks through a whole year ---- */

/* Half-hourly in New York fires every 30 real minutes through both DST
 * changes, 48 times a day, and prev retraces next exactly. */
static void test_walk_half_hourly_new_york(void **state) {
  (void)state;
  struct dag_cron c = cron("*/30 * * * *");
  const char *tz = "America/New_York";
  dag_time_t t = iso("2026-01-01T05:00:00Z"), end = iso("2027-01-01T05:00:00Z");
  int steps = 0;
  while (t < end) {
    dag_time_t n, p;
    assert_int_equal(dag_cron_next(&c, tz, t, &n), 0);
    assert_int_equal(n - t, 30 * MIN);
    assert_int_equal(dag_cron_prev(&c, tz, n, &p), 0);
    assert_int_equal(p, t);
    t = n;
    steps++;
  }
  assert_int_equal(t, end);
  assert_int_equal(steps, 365 * 48);
}

/* Local midnight every day: one 23-hour and one 25-hour day in 2026. */
static void test_walk_daily_new_york(void **state) {
  (void)state;
  struct dag_cron c = cron("0 0 * * *");
  const char *tz = "America/New_York";
  dag_time_t t = iso("2026-01-01T05:00:00Z");
  int days = 0, short_days = 0, long_days = 0;
  while (days < 365) {
    dag_time_t n, p;
    struct tm tm;
    assert_int_equal(dag_cron_next(&c, tz, t, &n), 0);
    assert_int_equal(dag_tz_to_local(tz, n, &tm), 0);
    assert_int_equal(tm.tm_hour, 0);
    assert_int_equal(tm.tm_min, 0);
    if (n - t == 23 * HOUR)
      short_days++;
    else if (n - t == 25 * HOUR)
      long_days++;
    else
      assert_int_equal(n - t, 24 * HOUR);
    assert_int_equal(dag_cron_prev(&c, tz, n, &p), 0);
    assert_int_equal(p, t);
    t = n;
    days++;
  }
  assert_int_equal(t, iso("2027-01-01T05:00:00Z"));
  assert_int_equal(short_days, 1);
  assert_int_equal(long_days, 1);
}

/* A fixed time inside the spring-forward gap fires once that day, late by
 * the gap; inside the fall-back overlap, once at its second occurrence. */
static void test_walk_fixed_through_dst(void **state) {
  (void)state;
  static const struct {
    const char *expr, *tz;
    int hour, min;
    const char *odd_day; /* the day it fires at another wall time */
    int odd_hour, odd_min;
  } cases[] = {
      {"30 2 * * *", "America/New_York", 2, 30, "2026-03-08", 3, 30},
      {"30 1 * * *", "America/New_York", 1, 30, "", 0, 0},
      {"30 2 * * *", "Australia/Sydney", 2, 30, "2026-10-04", 3, 30},
      {"15 2 * * *", "Australia/Lord_Howe", 2, 15, "2026-10-04", 2, 45},
      {"30 1 * * *", "Europe/London", 1, 30, "2026-03-29", 2, 30},
      {"0 9 * * *", "Asia/Kolkata", 9, 0, "", 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct dag_cron c = cron(cases[i].expr);
    dag_time_t t = iso("2026-01-01T00:00:00Z");
    for (int d = 0; d < 365; d++) {
      dag_time_t n, p;
      struct tm tm;
      char day[16];
      assert_int_equal(dag_cron_next(&c, cases[i].tz, t, &n), 0);
      assert_int_equal(dag_tz_to_local(cases[i].tz, n, &tm), 0);
      strftime(day, sizeof(day), "%Y-%m-%d", &tm);
      int odd = strcmp(day, cases[i].odd_day) == 0;
      assert_int_equal(tm.tm_hour, odd ? cases[i].odd_hour : cases[i].hour);
      assert_int_equal(tm.tm_min, odd ? cases[i].odd_min : cases[i].min);
      /* Never twice in one local day. */
      if (d > 0) assert_true(n - t >= 23 * HOUR && n - t <= 25 * HOUR);
      assert_int_equal(dag_cron_prev(&c, cases[i].tz, n, &p), 0);
      if (d > 0) assert_int_equal(p, t);
      t = n;
    }
  }
}

/* Wall-clock crons through the 2024 clock changes, one local day each:
 * how many fires, each at a wall time the expression names (or, in a
 * spring-forward gap, late by the gap), never two at one wall time, each
 * after the last, and prev retracing next. */
static void test_walk_wall_clock_days(void **state) {
  (void)state;
  static const struct {
    const char *expr, *tz;
    const char *from, *to; /* local midnights, as UTC */
    int fires;
  } cases[] = {
      /* Berlin falls back 2024-10-27 03:00 CEST -> 02:00 CET. */
      {"0 */2 * * *", "Europe/Berlin", "2024-10-26T22:00:00Z",
       "2024-10-27T23:00:00Z", 12},
      {"15 1-3 * * *", "Europe/Berlin", "2024-10-26T22:00:00Z",
       "2024-10-27T23:00:00Z", 3},
      {"0 2 * * *", "Europe/Berlin", "2024-10-26T22:00:00Z",
       "2024-10-27T23:00:00Z", 1},
      /* Berlin springs forward 2024-03-31 02:00 CET -> 03:00 CEST: 02:00
       * fires late at 03:00, and 03:15 stands for both 02:15 and 03:15. */
      {"0 */2 * * *", "Europe/Berlin", "2024-03-30T23:00:00Z",
       "2024-03-31T22:00:00Z", 12},
      {"15 1-3 * * *", "Europe/Berlin", "2024-03-30T23:00:00Z",
       "2024-03-31T22:00:00Z", 2},
      /* New York falls back 2024-11-03 02:00 EDT -> 01:00 EST. */
      {"15,45 0-3 * * *", "America/New_York", "2024-11-03T04:00:00Z",
       "2024-11-04T05:00:00Z", 8},
      {"15,45 0-3 * * *", "America/New_York", "2024-03-10T05:00:00Z",
       "2024-03-11T04:00:00Z", 6},
      /* Lord Howe: 30 minutes back on 2024-04-07, forward on 2024-10-06. */
      {"*/30 0-3 * * *", "Australia/Lord_Howe", "2024-04-06T13:00:00Z",
       "2024-04-07T13:30:00Z", 8},
      {"*/30 0-3 * * *", "Australia/Lord_Howe", "2024-10-05T13:30:00Z",
       "2024-10-06T13:00:00Z", 7},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct dag_cron c = cron(cases[i].expr);
    const char *tz = cases[i].tz;
    /* From just before local midnight: a fire at 00:00 counts. */
    dag_time_t t = iso(cases[i].from) - 1, end = iso(cases[i].to);
    int n = 0, walls[64];
    for (;;) {
      dag_time_t next, back;
      struct tm tm;
      assert_int_equal(dag_cron_next(&c, tz, t, &next), 0);
      if (next >= end) break;
      assert_true(next > t);
      assert_int_equal(dag_cron_prev(&c, tz, next, &back), 0);
      if (n > 0) assert_int_equal(back, t);
      assert_int_equal(dag_tz_to_local(tz, next, &tm), 0);
      int wall = tm.tm_hour * 60 + tm.tm_min;
      for (int k = 0; k < n; k++)
        if (walls[k] == wall)
          fail_msg("%s in %s fires twice at %02d:%02d", cases[i].expr, tz,
                   tm.tm_hour, tm.tm_min);
      assert_true(n < 64);
      walls[n++] = wall;
      /* The wall time is named by the expression, or a skipped one shifted
       * past the gap (named before the shift). */
      int named_ok =
          (c.minutes >> tm.tm_min & 1) && (c.hours >> tm.tm_hour & 1);
      for (int gap = 30; !named_ok && gap <= 60; gap += 30) {
        int w = wall - gap;
        if (w < 0 || !(c.minutes >> (w % 60) & 1) || !(c.hours >> (w / 60) & 1))
          continue;
        struct tm skipped = tm, seen;
        dag_time_t u;
        skipped.tm_hour = w / 60;
        skipped.tm_min = w % 60;
        assert_int_equal(dag_tz_to_utc(tz, &skipped, &u), 0);
        assert_int_equal(dag_tz_to_local(tz, u, &seen), 0);
        named_ok = seen.tm_hour * 60 + seen.tm_min != w; /* it does not exist */
      }
      if (!named_ok)
        fail_msg("%s in %s fires at %02d:%02d, a time it does not name",
                 cases[i].expr, tz, tm.tm_hour, tm.tm_min);
      t = next;
    }
    if (n != cases[i].fires)
      fail_msg("%s in %s from %s: %d fires, want %d", cases[i].expr, tz,
               cases[i].from, n, cases[i].fires);
  }
}

/* Three New York days around the fall-back, 8 fires each: 24 runs, not 26
 * (the repeated hour's 01:15 and 01:45 fire once each). */
static void test_count_new_york_fall_back(void **state) {
  (void)state;
  struct dag_cron c = cron("15,45 0-3 * * *");
  dag_time_t t = iso("2024-11-02T04:00:00Z"), end = iso("2024-11-05T05:00:00Z");
  int runs = 0;
  for (;;) {
    assert_int_equal(dag_cron_next(&c, "America/New_York", t, &t), 0);
    if (t >= end) break;
    runs++;
  }
  assert_int_equal(runs, 24);
}

/* ---- against a minute-by-minute scan (UTC: wall time == instant) ---- */

static int brute_matches(const struct dag_cron *c, int64_t minute) {
  time_t s = (time_t)(minute * 60);
  struct tm tm;
  gmtime_r(&s, &tm);
  if (!((c->minutes >> tm.tm_min) & 1) || !((c->hours >> tm.tm_hour) & 1) ||
      !((c->months >> (tm.tm_mon + 1)) & 1))
    return 0;
  int dom = (c->days >> tm.tm_mday) & 1, dow = (c->weekdays >> tm.tm_wday) & 1;
  if (c->days_star || c->weekdays_star) return dom && dow;
  return dom || dow;
}

static dag_time_t floor_minute(dag_time_t t) {
  dag_time_t m = t / MIN;
  if (t % MIN < 0) m--;
  return m;
}

static void test_against_scan(void **state) {
  (void)state;
  static const char *const exprs[] = {
      "*/7 * * * *",       "0 0 13 * FRI",
      "15 10 * * 1-5",     "0 0 31 * *",
      "5,10 */5 1,15 * *", "0 12 * 1,7 *",
      "0 0 * * 0",         "59 23 * * 6",
      "0 0 1-7 * MON",     "*/20 9-17 * * MON-FRI",
      "30 4 28-31 * *",    "0 0 29 2,3 *",
  };
  static const char *const starts[] = {
      "2026-01-01T00:00:00Z",        "2026-02-27T23:59:30Z",
      "2027-12-31T23:59:00Z",        "2028-02-28T12:00:00Z",
      "2026-07-15T10:15:00.000001Z", "2026-06-30T23:59:59.999999Z",
      "2028-03-01T00:00:00Z",
  };
  const int64_t limit = 400 * 1440;
  for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
    struct dag_cron c = cron(exprs[e]);
    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
      dag_time_t from = iso(starts[s]), got;
      int64_t m0 = floor_minute(from), m;

      m = m0 + 1;
      while (m < m0 + limit && !brute_matches(&c, m)) m++;
      assert_int_equal(dag_cron_next(&c, "UTC", from, &got), 0);
      assert_int_equal(got, m * MIN);

      m = (from % MIN == 0) ? m0 - 1 : m0;
      while (m > m0 - limit && !brute_matches(&c, m)) m--;
      assert_int_equal(dag_cron_prev(&c, "UTC", from, &got), 0);
      assert_int_equal(got, m * MIN);
    }
  }
}

static void test_bad_zone(void **state) {
  (void)state;
  struct dag_cron c = cron("0 0 * * *");
  dag_time_t out;
  assert_int_equal(dag_cron_next(&c, "Mars/Olympus_Mons", 0, &out), DAG_EINVAL);
  assert_int_equal(dag_cron_prev(&c, "../etc/passwd", 0, &out), DAG_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_data_cases),
      cmocka_unit_test(test_parse_fields),
      cmocka_unit_test(test_parse_wall_clock),
      cmocka_unit_test(test_presets),
      cmocka_unit_test(test_parse_error_leaves_output),
      cmocka_unit_test(test_walk_half_hourly_new_york),
      cmocka_unit_test(test_walk_daily_new_york),
      cmocka_unit_test(test_walk_fixed_through_dst),
      cmocka_unit_test(test_walk_wall_clock_days),
      cmocka_unit_test(test_count_new_york_fall_back),
      cmocka_unit_test(test_against_scan),
      cmocka_unit_test(test_bad_zone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
