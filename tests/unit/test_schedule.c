/* test_schedule.c - data intervals: catchup, alignment, end_date, @once,
 * interval grids and manual runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dag.h"
#include "error.h"
#include "schedule.h"

#define SEC DAG_USEC_PER_SEC
#define MIN (60 * SEC)

static dag_time_t iso(const char *s) {
  struct tm tm = {0};
  int n = 0, us = 0;
  if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
    fail_msg("bad ISO time in test: %s", s);
  if (s[n] == '.' && sscanf(s + n, ".%6d", &us) == 1) n += 7;
  if (strcmp(s + n, "Z") != 0) fail_msg("bad ISO time in test: %s", s);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (dag_time_t)timegm(&tm) * SEC + us;
}

static void fmt_iso(dag_time_t t, char *buf, size_t size) {
  time_t s = (time_t)(t / SEC);
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "START/END" for readable failures. */
static void fmt_interval(const struct dag_interval *iv, char *buf,
                         size_t size) {
  char a[32], b[32];
  fmt_iso(iv->start, a, sizeof(a));
  fmt_iso(iv->end, b, sizeof(b));
  snprintf(buf, size, "%s/%s", a, b);
}

struct spec {
  enum dag_schedule_kind kind;
  const char *expr; /* cron expression, or the interval in minutes */
  const char *tz;
  const char *start, *end; /* NULL: unset */
  bool catchup;
};

static struct dag make_dag(struct spec s) {
  struct dag d;
  memset(&d, 0, sizeof(d));
  d.dag_id = (char *)"test";
  d.schedule.kind = s.kind;
  d.schedule.expr = (char *)s.expr;
  if (s.kind == DAG_SCHEDULE_CRON) {
    char *err = NULL;
    if (dag_cron_parse(s.expr, &d.schedule.cron, &err) != 0)
      fail_msg("%s: %s", s.expr, err);
  } else if (s.kind == DAG_SCHEDULE_INTERVAL) {
    d.schedule.interval_us = strtoll(s.expr, NULL, 10) * MIN;
  }
  d.timezone = (char *)(s.tz ? s.tz : "UTC");
  d.start_date = s.start ? iso(s.start) : 0;
  d.end_date = s.end ? iso(s.end) : 0;
  d.catchup = s.catchup;
  return d;
}

/* The next interval as "START/END", or "none" / "error N". */
static void next_str(struct spec s, const char *last_start,
                     const char *last_end, const char *now, char *buf,
                     size_t size) {
  struct dag d = make_dag(s);
  struct dag_interval last, next = {-1, -1};
  if (last_start) {
    last.start = iso(last_start);
    last.end = iso(last_end);
  }
  int rc = dag_schedule_next(&d, last_start ? &last : NULL, iso(now), &next);
  if (rc == DAG_ENOTFOUND) {
    /* A failed call leaves *next alone. */
    assert_int_equal(next.start, -1);
    snprintf(buf, size, "none");
  } else if (rc != 0) {
    snprintf(buf, size, "error %d", rc);
  } else {
    fmt_interval(&next, buf, size);
  }
}

#define assert_next(spec, last_start, last_end, now, want)         \
  do {                                                             \
    char got_[80];                                                 \
    next_str(spec, last_start, last_end, now, got_, sizeof(got_)); \
    assert_string_equal(got_, want);                               \
  } while (0)

#define assert_manual(spec, run_after, want)                 \
  do {                                                       \
    char got_[80];                                           \
    struct dag d_ = make_dag(spec);                          \
    struct dag_interval iv_;                                 \
    dag_schedule_manual_interval(&d_, iso(run_after), &iv_); \
    fmt_interval(&iv_, got_, sizeof(got_));                  \
    assert_string_equal(got_, want);                         \
  } while (0)

#define CRON(expr, tz, start, end, catchup) \
  ((struct spec){DAG_SCHEDULE_CRON, expr, tz, start, end, catchup})
#define EVERY(minutes, start, end, catchup) \
  ((struct spec){DAG_SCHEDULE_INTERVAL, #minutes, NULL, start, end, catchup})
#define ONCE(start, end) \
  ((struct spec){DAG_SCHEDULE_ONCE, NULL, NULL, start, end, true})
#define NONE(start) \
  ((struct spec){DAG_SCHEDULE_NONE, NULL, NULL, start, NULL, true})

static void test_cron_catchup(void **state) {
  (void)state;
  struct spec s = CRON("@daily", NULL, "2026-01-01T00:00:00Z", NULL, true);
  const char *now = "2026-03-10T15:00:00Z";
  assert_next(s, NULL, NULL, now, "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z");
  assert_next(s, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", now,
              "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z");
  /* A start_date between fire times aligns to the next one. */
  s.start = "2026-01-01T10:00:00Z";
  assert_next(s, NULL, NULL, now, "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z");
  /* A start_date in the future is still the first interval. */
  s.start = "2026-06-01T12:00:00Z";
  assert_next(s, NULL, NULL, now, "2026-06-02T00:00:00Z/2026-06-03T00:00:00Z");
}

/* Catching up from start_date creates every interval that has ended. */
static void test_cron_catchup_walk(void **state) {
  (void)state;
  struct dag d =
      make_dag(CRON("0 */6 * * *", NULL, "2026-01-01T00:00:00Z", NULL, true));
  dag_time_t now = iso("2026-01-03T01:00:00Z");
  struct dag_interval iv, *last = NULL;
  int runs = 0;
  for (;;) {
    assert_int_equal(dag_schedule_next(&d, last, now, &iv), 0);
    if (iv.end > now) break;
    assert_int_equal(iv.start, iso("2026-01-01T00:00:00Z") + runs * 360 * MIN);
    assert_int_equal(iv.end - iv.start, 360 * MIN);
    last = &iv;
    runs++;
  }
  assert_int_equal(runs, 8);
  assert_int_equal(iv.start, iso("2026-01-03T00:00:00Z"));
}

static void test_cron_no_catchup(void **state) {
  (void)state;
  struct spec s = CRON("@daily", NULL, "2026-01-01T00:00:00Z", NULL, false);
  /* The latest complete interval, not the one in progress. */
  assert_next(s, NULL, NULL, "2026-03-10T15:00:00Z",
              "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  assert_next(s, NULL, NULL, "2026-03-10T00:00:00Z",
              "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  assert_next(s, NULL, NULL, "2026-03-09T23:59:59.999999Z",
              "2026-03-08T00:00:00Z/2026-03-09T00:00:00Z");
  /* Runs long past are skipped over. */
  assert_next(s, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
              "2026-03-10T15:00:00Z",
              "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  /* But an interval never repeats: after the latest, wait for the next. */
  assert_next(s, "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z",
              "2026-03-10T15:00:00Z",
              "2026-03-10T00:00:00Z/2026-03-11T00:00:00Z");
  /* Nothing before start_date. */
  s.start = "2026-06-01T12:00:00Z";
  assert_next(s, NULL, NULL, "2026-03-10T15:00:00Z",
              "2026-06-02T00:00:00Z/2026-06-03T00:00:00Z");
  /* No start_date: start from now, whatever catchup says. */
  s.start = NULL;
  assert_next(s, NULL, NULL, "2026-03-10T15:00:00Z",
              "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  s.catchup = true;
  assert_next(s, NULL, NULL, "2026-03-10T15:00:00Z",
              "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  assert_next(s, "2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z",
              "2026-03-10T15:00:00Z",
              "2026-03-10T00:00:00Z/2026-03-11T00:00:00Z");
}

static void test_cron_end_date(void **state) {
  (void)state;
  struct spec s = CRON("@daily", NULL, "2026-01-01T00:00:00Z",
                       "2026-01-03T00:00:00Z", true);
  const char *now = "2026-03-10T15:00:00Z";
  /* An interval starting on end_date is the last one. */
  assert_next(s, "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", now,
              "2026-01-03T00:00:00Z/2026-01-04T00:00:00Z");
  assert_next(s, "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", now, "none");
  s.catchup = false;
  assert_next(s, NULL, NULL, now, "none");
  s.end = "2026-12-31T00:00:00Z";
  assert_next(s, NULL, NULL, now, "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
}

static void test_cron_time_zones(void **state) {
  (void)state;
  const char *now = "2026-12-01T00:00:00Z";
  /* Local midnight in New York: the spring-forward day is 23 hours. */
  struct spec s =
      CRON("0 0 * * *", "America/New_York", "2026-03-07T05:00:00Z", NULL, true);
  assert_next(s, NULL, NULL, now, "2026-03-07T05:00:00Z/2026-03-08T05:00:00Z");
  assert_next(s, "2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z", now,
              "2026-03-08T05:00:00Z/2026-03-09T04:00:00Z");
  assert_next(s, "2026-10-31T04:00:00Z", "2026-11-01T04:00:00Z", now,
              "2026-11-01T04:00:00Z/2026-11-02T05:00:00Z");
  /* 02:30 does not exist on 2026-03-08: that run fires at 03:30 EDT. */
  s = CRON("30 2 * * *", "America/New_York", "2026-03-01T00:00:00Z", NULL,
           true);
  assert_next(s, "2026-03-06T07:30:00Z", "2026-03-07T07:30:00Z", now,
              "2026-03-07T07:30:00Z/2026-03-08T07:30:00Z");
  assert_next(s, "2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", now,
              "2026-03-08T07:30:00Z/2026-03-09T06:30:00Z");
  /* start_date at local midnight in Kolkata is a fire time. */
  s = CRON("@daily", "Asia/Kolkata", "2025-12-31T18:30:00Z", NULL, true);
  assert_next(s, NULL, NULL, now, "2025-12-31T18:30:00Z/2026-01-01T18:30:00Z");
  s.catchup = false;
  assert_next(s, NULL, NULL, "2026-03-10T00:00:00Z",
              "2026-03-08T18:30:00Z/2026-03-09T18:30:00Z");
  /* Half-hourly through the fall-back hour: 30 real minutes each. */
  s = CRON("*/30 * * * *", "America/New_York", "2026-01-01T00:00:00Z", NULL,
           true);
  assert_next(s, "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", now,
              "2026-11-01T05:30:00Z/2026-11-01T06:00:00Z");
  assert_next(s, "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", now,
              "2026-11-01T06:00:00Z/2026-11-01T06:30:00Z");
  s.catchup = false;
  assert_next(s, NULL, NULL, "2026-11-01T06:10:00Z",
              "2026-11-01T05:30:00Z/2026-11-01T06:00:00Z");
  /* An unknown zone is an error, not UTC. */
  s = CRON("@daily", "Mars/Olympus_Mons", "2026-01-01T00:00:00Z", NULL, true);
  char want[32];
  snprintf(want, sizeof(want), "error %d", DAG_EINVAL);
  assert_next(s, NULL, NULL, now, want);
}

static void test_cron_never_fires(void **state) {
  (void)state;
  struct spec s = CRON("0 0 30 2 *", NULL, "2026-01-01T00:00:00Z", NULL, true);
  assert_next(s, NULL, NULL, "2026-03-10T15:00:00Z", "none");
  s.catchup = false;
  assert_next(s, NULL, NULL, "2026-03-10T15:00:00Z", "none");
}

static void test_interval(void **state) {
  (void)state;
  struct spec s = EVERY(30, "2026-01-01T00:10:00Z", NULL, true);
  const char *now = "2026-01-01T05:00:00Z";
  assert_next(s, NULL, NULL, now, "2026-01-01T00:10:00Z/2026-01-01T00:40:00Z");
  assert_next(s, "2026-01-01T00:10:00Z", "2026-01-01T00:40:00Z", now,
              "2026-01-01T00:40:00Z/2026-01-01T01:10:00Z");

  /* Without catchup: the latest complete interval on the start_date grid. */
  s.catchup = false;
  assert_next(s, NULL, NULL, now, "2026-01-01T04:10:00Z/2026-01-01T04:40:00Z");
  assert_next(s, NULL, NULL, "2026-01-01T04:40:00Z",
              "2026-01-01T04:10:00Z/2026-01-01T04:40:00Z");
  assert_next(s, NULL, NULL, "2026-01-01T04:39:59Z",
              "2026-01-01T03:40:00Z/2026-01-01T04:10:00Z");
  assert_next(s, "2026-01-01T00:10:00Z", "2026-01-01T00:40:00Z", now,
              "2026-01-01T04:10:00Z/2026-01-01T04:40:00Z");
  assert_next(s, "2026-01-01T04:40:00Z", "2026-01-01T05:10:00Z", now,
              "2026-01-01T05:10:00Z/2026-01-01T05:40:00Z");
  /* start_date in the future. */
  assert_next(s, NULL, NULL, "2025-12-31T00:00:00Z",
              "2026-01-01T00:10:00Z/2026-01-01T00:40:00Z");

  /* No start_date: the grid starts at the epoch, and there is no catching
   * up from 1970. */
  s = EVERY(30, NULL, NULL, true);
  assert_next(s, NULL, NULL, now, "2026-01-01T04:30:00Z/2026-01-01T05:00:00Z");
  assert_next(s, NULL, NULL, "2026-01-01T05:07:00Z",
              "2026-01-01T04:30:00Z/2026-01-01T05:00:00Z");
  s = EVERY(90, NULL, NULL, false);
  assert_next(s, NULL, NULL, "2026-01-01T05:07:00Z",
              "2026-01-01T03:00:00Z/2026-01-01T04:30:00Z");

  s = EVERY(60, "2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z", true);
  assert_next(s, "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", now,
              "2026-01-01T02:00:00Z/2026-01-01T03:00:00Z");
  assert_next(s, "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z", now, "none");
}

static void test_once_and_none(void **state) {
  (void)state;
  const char *now = "2026-03-10T15:00:00Z";
  assert_next(ONCE("2026-01-01T08:00:00Z", NULL), NULL, NULL, now,
              "2026-01-01T08:00:00Z/2026-01-01T08:00:00Z");
  assert_next(ONCE("2026-01-01T08:00:00Z", NULL), "2026-01-01T08:00:00Z",
              "2026-01-01T08:00:00Z", now, "none");
  assert_next(ONCE(NULL, NULL), NULL, NULL, now,
              "2026-03-10T15:00:00Z/2026-03-10T15:00:00Z");
  assert_next(ONCE("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"), NULL, NULL,
              now, "none");
  assert_next(NONE(NULL), NULL, NULL, now, "none");
  assert_next(NONE("2026-01-01T00:00:00Z"), NULL, NULL, now, "none");
}

static void test_manual_interval(void **state) {
  (void)state;
  struct spec daily = CRON("@daily", NULL, "2026-01-01T00:00:00Z", NULL, true);
  assert_manual(daily, "2026-03-10T15:00:00Z",
                "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  assert_manual(daily, "2026-03-10T00:00:00Z",
                "2026-03-09T00:00:00Z/2026-03-10T00:00:00Z");
  assert_manual(CRON("0 * * * *", NULL, NULL, NULL, true),
                "2026-03-10T10:30:00Z",
                "2026-03-10T09:00:00Z/2026-03-10T10:00:00Z");
  assert_manual(CRON("0 0 * * *", "America/New_York", NULL, NULL, true),
                "2026-03-09T12:00:00Z",
                "2026-03-08T05:00:00Z/2026-03-09T04:00:00Z");
  assert_manual(CRON("0 9 * * MON-FRI", NULL, NULL, NULL, true),
                "2026-03-09T08:00:00Z", /* a Monday, before 09:00 */
                "2026-03-05T09:00:00Z/2026-03-06T09:00:00Z");
  assert_manual(CRON("0 0 30 2 *", NULL, NULL, NULL, true),
                "2026-03-10T15:00:00Z",
                "2026-03-10T15:00:00Z/2026-03-10T15:00:00Z");
  assert_manual(EVERY(90, "2026-01-01T00:10:00Z", NULL, true),
                "2026-03-10T15:00:00Z",
                "2026-03-10T13:30:00Z/2026-03-10T15:00:00Z");
  assert_manual(ONCE("2026-01-01T00:00:00Z", NULL), "2026-03-10T15:00:00Z",
                "2026-03-10T15:00:00Z/2026-03-10T15:00:00Z");
  assert_manual(NONE(NULL), "2026-03-10T15:00:00Z",
                "2026-03-10T15:00:00Z/2026-03-10T15:00:00Z");
}

/* A manual run's interval ends at the latest real fire at or before the
 * trigger and starts at the fire before that, across clock changes too:
 * never a wall time the expression does not name, never the first pass of
 * a repeated hour, never a fire still in the future. */
static void test_manual_interval_dst(void **state) {
  (void)state;
  /* Berlin, 2024-10-27 03:00 CEST -> 02:00 CET at 01:00Z. */
  assert_manual(CRON("15 1-3 * * *", "Europe/Berlin", NULL, NULL, true),
                "2024-10-27T01:20:00Z", /* 02:20 CET */
                "2024-10-26T23:15:00Z/2024-10-27T01:15:00Z");
  assert_manual(CRON("15 1-3 * * *", "Europe/Berlin", NULL, NULL, true),
                "2024-10-27T00:20:00Z", /* 02:20 CEST, the first pass */
                "2024-10-26T01:15:00Z/2024-10-26T23:15:00Z");
  assert_manual(CRON("0 */2 * * *", "Europe/Berlin", NULL, NULL, true),
                "2024-10-27T02:30:00Z", /* 03:30 CET */
                "2024-10-26T22:00:00Z/2024-10-27T01:00:00Z");
  assert_manual(CRON("0 2 * * *", "Europe/Berlin", NULL, NULL, true),
                "2024-10-27T01:30:00Z", /* 02:30 CET */
                "2024-10-26T00:00:00Z/2024-10-27T01:00:00Z");
  assert_manual(CRON("0 2 * * *", "Europe/Berlin", NULL, NULL, true),
                "2024-10-27T01:00:00Z", /* on the fire itself */
                "2024-10-26T00:00:00Z/2024-10-27T01:00:00Z");
  /* New York, 2024-11-03 02:00 EDT -> 01:00 EST at 06:00Z. */
  assert_manual(CRON("15,45 0-3 * * *", "America/New_York", NULL, NULL, true),
                "2024-11-03T06:20:00Z", /* 01:20 EST */
                "2024-11-03T04:45:00Z/2024-11-03T06:15:00Z");
  /* Lord Howe, 2024-04-07 02:00 +11 -> 01:30 +1030 at 15:00Z. */
  assert_manual(CRON("45 1 * * *", "Australia/Lord_Howe", NULL, NULL, true),
                "2024-04-06T15:20:00Z", /* 01:50 +1030 */
                "2024-04-05T14:45:00Z/2024-04-06T15:15:00Z");
  /* An hour field of '*' keeps real time: the repeated hour counts. */
  assert_manual(CRON("0 * * * *", "Europe/Berlin", NULL, NULL, true),
                "2024-10-27T01:20:00Z",
                "2024-10-27T00:00:00Z/2024-10-27T01:00:00Z");
}

/* Scheduled intervals through Berlin's fall-back: every boundary is a wall
 * time the expression names, 02:00 once (CET), 03:00 never. */
static void test_cron_walk_fall_back(void **state) {
  (void)state;
  struct spec s =
      CRON("0 */2 * * *", "Europe/Berlin", "2024-10-26T22:00:00Z", NULL, true);
  const char *now = "2024-10-28T00:00:00Z";
  assert_next(s, NULL, NULL, now, "2024-10-26T22:00:00Z/2024-10-27T01:00:00Z");
  assert_next(s, "2024-10-26T22:00:00Z", "2024-10-27T01:00:00Z", now,
              "2024-10-27T01:00:00Z/2024-10-27T03:00:00Z");
  s = CRON("0 2 * * *", "Europe/Berlin", "2024-10-25T00:00:00Z", NULL, true);
  assert_next(s, "2024-10-25T00:00:00Z", "2024-10-26T00:00:00Z", now,
              "2024-10-26T00:00:00Z/2024-10-27T01:00:00Z");
  assert_next(s, "2024-10-26T00:00:00Z", "2024-10-27T01:00:00Z", now,
              "2024-10-27T01:00:00Z/2024-10-28T01:00:00Z");
  /* Without catchup, at 02:30 CEST (the first pass): the latest complete
   * interval ends at 02:00 CEST of the day before, not in the future. */
  s.catchup = false;
  assert_next(s, NULL, NULL, "2024-10-27T00:30:00Z",
              "2024-10-25T00:00:00Z/2024-10-26T00:00:00Z");
  assert_next(s, NULL, NULL, "2024-10-27T01:30:00Z",
              "2024-10-26T00:00:00Z/2024-10-27T01:00:00Z");
  /* @quarterly in New York: local midnight on the first of each quarter. */
  s = CRON("@quarterly", "America/New_York", "2024-01-01T05:00:00Z", NULL,
           true);
  assert_next(s, NULL, NULL, now, "2024-01-01T05:00:00Z/2024-04-01T04:00:00Z");
  assert_next(s, "2024-01-01T05:00:00Z", "2024-04-01T04:00:00Z", now,
              "2024-04-01T04:00:00Z/2024-07-01T04:00:00Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cron_catchup),
      cmocka_unit_test(test_cron_catchup_walk),
      cmocka_unit_test(test_cron_no_catchup),
      cmocka_unit_test(test_cron_end_date),
      cmocka_unit_test(test_cron_time_zones),
      cmocka_unit_test(test_cron_never_fires),
      cmocka_unit_test(test_interval),
      cmocka_unit_test(test_once_and_none),
      cmocka_unit_test(test_manual_interval),
      cmocka_unit_test(test_manual_interval_dst),
      cmocka_unit_test(test_cron_walk_fall_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
