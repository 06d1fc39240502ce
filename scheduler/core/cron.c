/* cron.c - five-field cron expressions.
 *
 * Parsing is one pass over the string into bit sets, with no allocation
 * unless it fails: the loader parses every DAG's schedule on every reload.
 *
 * Fire times are found on the local wall clock of the DAG's zone by skipping
 * whole fields (a month that does not match is skipped in one step, then a
 * day, an hour, a minute), so a search costs at most a few hundred steps a
 * year and never walks minute by minute. The wall time found is then mapped
 * to UTC in one of two ways, as Airflow's CronMixin (timetables/_cron.py)
 * does, decided by the hour field alone:
 *  - an hour field that is not '*' (any list, range or step that leaves out
 *    an hour: "30 2 * * *", "0 0-23/2 * * *", "15,45 0-3 * * *") is evaluated
 *    on the wall clock: each fire is a wall time the expression names, made
 *    aware with fold=1 (Airflow's make_aware), so a wall time repeated by a
 *    fall-back fires once, at its second occurrence, and one skipped by a
 *    spring-forward fires late by the gap (02:30 -> 03:30, pendulum's rule);
 *  - an hour field of '*' (or one listing all 24 hours, which croniter
 *    reduces to '*') advances by the naive wall-clock distance in absolute
 *    time, so "0,30 * * * *" fires every 30 real minutes straight through
 *    both changes, the repeated hour included.
 * Asked from an instant inside the first pass of a repeated hour (never a
 * fire time), next and prev return the nearest fire in real time; Airflow's
 * croniter stepping can there skip a fire still ahead or call one in the
 * future "previous". */
#include "cron.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "timeutil.h"
#include "tz.h"

/* Search bound. "0 0 29 2 *" fires every 4 years, or 8 across a skipped
 * leap year such as 2100; anything rarer never fires. */
#define SEARCH_YEARS 8

/* Around a fall-back overlap or a spring-forward gap (at most 2 h in current
 * tzdata) a wall-clock fire can lie on one side of an instant on the wall
 * clock and on the other side in absolute time, so the search for one starts
 * this many minutes beyond the instant's wall time and checks each UTC
 * result. */
#define DST_SLACK_MIN 180

#define USEC_PER_MIN (60 * DAG_USEC_PER_SEC)

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR",
                                          "MAY", "JUN", "JUL", "AUG",
                                          "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED",
                                        "THU", "FRI", "SAT"};

struct field {
  const char *name;
  int min, max;
  int star_max;             /* '*' and "N/step" stop here (day of week: 6) */
  const char *const *names; /* names[i] stands for min_name + i */
  int n_names;
  int min_name;
  const char *name_range;
};

static const struct field fields[5] = {
    {"minute", 0, 59, 59, NULL, 0, 0, NULL},
    {"hour", 0, 23, 23, NULL, 0, 0, NULL},
    {"day of month", 1, 31, 31, NULL, 0, 0, NULL},
    {"month", 1, 12, 12, month_names, 12, 1, "JAN-DEC"},
    {"day of week", 0, 7, 6, day_names, 7, 0, "SUN-SAT"},
};

static const struct {
  const char *name;
  const char *expr;
} presets[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},  {"@quarterly", "0 0 1 */3 *"},
    {"@yearly", "0 0 1 1 *"},   {"@annually", "0 0 1 1 *"},
};

__attribute__((format(printf, 2, 3))) static int fail(char **err,
                                                      const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    *err = xvasprintf(fmt, ap);
    va_end(ap);
  }
  return DAG_EINVAL;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* One value: digits or (in month and day-of-week) a three-letter name.
 * Advances *p past it. */
static int parse_value(const struct field *f, int idx, const char *item,
                       const char **p, const char *end, int *out, char **err) {
  const char *s = *p, *q = s;
  if (q < end && is_digit(*q)) {
    int v = 0;
    while (q < end && is_digit(*q)) {
      if (v < 1000) v = v * 10 + (*q - '0'); /* large stays out of range */
      q++;
    }
    if (v < f->min || v > f->max)
      return fail(err, "cron field %d (%s): %.*s is out of range %d-%d", idx,
                  f->name, (int)(q - s), s, f->min, f->max);
    *out = v;
    *p = q;
    return 0;
  }
  while (q < end && is_alpha(*q)) q++;
  if (q == s || f->names == NULL)
    return fail(err, "cron field %d (%s): invalid item '%.*s'", idx, f->name,
                (int)(end - item), item);
  for (int i = 0; i < f->n_names; i++) {
    if (q - s == 3 && strncasecmp(s, f->names[i], 3) == 0) {
      *out = f->min_name + i;
      *p = q;
      return 0;
    }
  }
  return fail(err, "cron field %d (%s): unknown name '%.*s' (expected %s)", idx,
              f->name, (int)(q - s), s, f->name_range);
}

/* One list item: '*', N, N-M, each optionally followed by /STEP. */
static int parse_item(const struct field *f, int idx, const char *s,
                      const char *end, uint64_t *bits, char **err) {
  int lo, hi, step = 1, rc;
  const char *p = s;
  bool range = false;
  if (p == end)
    return fail(err, "cron field %d (%s): empty list item", idx, f->name);
  if (*p == '*') {
    lo = f->min;
    hi = f->star_max;
    p++;
    range = true;
  } else {
    if ((rc = parse_value(f, idx, s, &p, end, &lo, err)) != 0) return rc;
    hi = lo;
    if (p < end && *p == '-') {
      p++;
      if ((rc = parse_value(f, idx, s, &p, end, &hi, err)) != 0) return rc;
      if (hi < lo)
        return fail(err, "cron field %d (%s): range '%.*s' is backwards", idx,
                    f->name, (int)(p - s), s);
      range = true;
    }
  }
  if (p < end && *p == '/') {
    const char *st = ++p;
    int v = 0;
    while (p < end && is_digit(*p)) {
      if (v < 1000) v = v * 10 + (*p - '0');
      p++;
    }
    if (p == st || p != end || v == 0)
      return fail(err,
                  "cron field %d (%s): step must be a positive number, "
                  "got '%.*s'",
                  idx, f->name, (int)(end - st), st);
    step = v;
    if (!range) /* "5/10" runs to the end of the field */
      hi = lo > f->star_max ? lo : f->star_max;
  }
  if (p != end)
    return fail(err, "cron field %d (%s): invalid item '%.*s'", idx, f->name,
                (int)(end - s), s);
  for (int v = lo; v <= hi; v += step) *bits |= UINT64_C(1) << v;
  return 0;
}

static int parse_field(int idx, const char *s, const char *end, uint64_t *out,
                       char **err) {
  const struct field *f = &fields[idx - 1];
  uint64_t bits = 0;
  for (;;) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *item_end = comma ? comma : end;
    int rc = parse_item(f, idx, s, item_end, &bits, err);
    if (rc != 0) return rc;
    if (!comma) break;
    s = comma + 1;
  }
  *out = bits;
  return 0;
}

static int parse_preset(const char *s, size_t len, struct dag_cron *out,
                        char **err) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(presets); i++) {
    if (strlen(presets[i].name) == len &&
        strncasecmp(s, presets[i].name, len) == 0)
      return dag_cron_parse(presets[i].expr, out, err);
  }
  return fail(err, "unknown preset '%.*s'", (int)len, s);
}

int dag_cron_parse(const char *expr, struct dag_cron *out, char **err) {
  const char *start[5], *stop[5];
  int n = 0;
  if (err != NULL) *err = NULL;
  if (expr == NULL) expr = "";

  const char *p = expr;
  while (is_space(*p)) p++;
  if (*p == '@') {
    const char *e = p;
    while (*e && !is_space(*e)) e++;
    const char *rest = e;
    while (is_space(*rest)) rest++;
    if (*rest != '\0') return fail(err, "a preset takes no fields after it");
    return parse_preset(p, (size_t)(e - p), out, err);
  }
  while (*p) {
    const char *e = p;
    while (*e && !is_space(*e)) e++;
    if (n < 5) {
      start[n] = p;
      stop[n] = e;
    }
    n++;
    p = e;
    while (is_space(*p)) p++;
  }
  if (n != 5) return fail(err, "expected 5 fields, got %d", n);

  uint64_t bits[5];
  for (int i = 0; i < 5; i++) {
    int rc = parse_field(i + 1, start[i], stop[i], &bits[i], err);
    if (rc != 0) return rc;
  }
  struct dag_cron c;
  c.minutes = bits[0];
  c.hours = (uint32_t)bits[1];
  c.days = (uint32_t)bits[2];
  c.months = (uint16_t)bits[3];
  /* 7 is another name for Sunday. */
  c.weekdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
  /* A field that lists every value counts as '*' whatever its spelling
   * ("*", "1-31", a step of 1), as croniter (and so Airflow) decides the OR
   * rule; "*" with a larger step is a restriction. */
  c.days_star = c.days == 0xfffffffeu;
  c.weekdays_star = c.weekdays == 0x7f;
  /* croniter turns an hour list naming all 24 hours into '*', and Airflow
   * asks only whether the hour field is '*'. */
  c.wall_clock = c.hours != 0xffffffu;
  *out = c;
  return 0;
}

/* ---- calendar arithmetic on naive (zone-less) wall-clock times ---- */

struct civil {
  int y, mon, d, h, min;
};

static void civil_from_days(int64_t z, struct civil *c) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
  c->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
  c->y = (int)(yoe + era * 400 + (c->mon <= 2));
}

static int64_t civil_to_min(const struct civil *c) {
  return dag_days_from_civil(c->y, c->mon, c->d) * 1440 + c->h * 60 + c->min;
}

static void min_to_civil(int64_t m, struct civil *c) {
  int64_t days = m / 1440, rem = m % 1440;
  if (rem < 0) {
    rem += 1440;
    days--;
  }
  civil_from_days(days, c);
  c->h = (int)(rem / 60);
  c->min = (int)(rem % 60);
}

static int weekday(int y, int m, int d) {
  int64_t w = (dag_days_from_civil(y, m, d) + 4) % 7; /* 1970-01-01: Thursday */
  return (int)(w < 0 ? w + 7 : w);
}

/* Lowest set bit in [from, 63], or -1. */
static int bit_at_or_after(uint64_t set, int from) {
  if (from > 63) return -1;
  uint64_t m = set & (~UINT64_C(0) << from);
  return m ? __builtin_ctzll(m) : -1;
}

/* Highest set bit in [0, from], or -1. */
static int bit_at_or_before(uint64_t set, int from) {
  if (from < 0) return -1;
  uint64_t m = from >= 63 ? set : set & ((UINT64_C(1) << (from + 1)) - 1);
  return m ? 63 - __builtin_clzll(m) : -1;
}

static bool day_matches(const struct dag_cron *c, int y, int m, int d) {
  bool dom = (c->days >> d) & 1;
  bool dow = (c->weekdays >> weekday(y, m, d)) & 1;
  /* Classic cron: two restricted day fields match either way. */
  if (c->days_star || c->weekdays_star) return dom && dow;
  return dom || dow;
}

static void next_day(struct civil *t) {
  if (++t->d > dag_days_in_month(t->y, t->mon)) {
    t->d = 1;
    if (++t->mon > 12) {
      t->mon = 1;
      t->y++;
    }
  }
  t->h = 0;
  t->min = 0;
}

static void prev_day(struct civil *t) {
  if (--t->d < 1) {
    if (--t->mon < 1) {
      t->mon = 12;
      t->y--;
    }
    t->d = dag_days_in_month(t->y, t->mon);
  }
  t->h = 23;
  t->min = 59;
}

/* Advance *t to the first matching wall time at or after it. */
static int search_up(const struct dag_cron *c, struct civil *t, int last_year) {
  for (;;) {
    if (t->y > last_year) return DAG_ENOTFOUND;
    if (!((c->months >> t->mon) & 1)) {
      int m = bit_at_or_after(c->months, t->mon + 1);
      if (m < 0) {
        t->y++;
        m = bit_at_or_after(c->months, 1);
        if (m < 0) return DAG_ENOTFOUND;
      }
      t->mon = m;
      t->d = 1;
      t->h = 0;
      t->min = 0;
      continue;
    }
    if (!day_matches(c, t->y, t->mon, t->d)) {
      next_day(t);
      continue;
    }
    int h = bit_at_or_after(c->hours, t->h);
    if (h < 0) {
      next_day(t);
      continue;
    }
    if (h != t->h) {
      t->h = h;
      t->min = 0;
    }
    int m = bit_at_or_after(c->minutes, t->min);
    if (m < 0) {
      if (t->h == 23) {
        next_day(t);
      } else {
        t->h++;
        t->min = 0;
      }
      continue;
    }
    t->min = m;
    return 0;
  }
}

/* Move *t back to the last matching wall time at or before it. */
static int search_down(const struct dag_cron *c, struct civil *t,
                       int first_year) {
  for (;;) {
    if (t->y < first_year) return DAG_ENOTFOUND;
    if (!((c->months >> t->mon) & 1)) {
      int m = bit_at_or_before(c->months, t->mon - 1);
      if (m < 1) {
        t->y--;
        m = bit_at_or_before(c->months, 12);
        if (m < 1) return DAG_ENOTFOUND;
      }
      t->mon = m;
      t->d = dag_days_in_month(t->y, m);
      t->h = 23;
      t->min = 59;
      continue;
    }
    if (!day_matches(c, t->y, t->mon, t->d)) {
      prev_day(t);
      continue;
    }
    int h = bit_at_or_before(c->hours, t->h);
    if (h < 0) {
      prev_day(t);
      continue;
    }
    if (h != t->h) {
      t->h = h;
      t->min = 59;
    }
    int m = bit_at_or_before(c->minutes, t->min);
    if (m < 0) {
      if (t->h == 0) {
        prev_day(t);
      } else {
        t->h--;
        t->min = 59;
      }
      continue;
    }
    t->min = m;
    return 0;
  }
}

/* The wall time of `t` in zone `z`: whole minutes since the naive epoch
 * and the microseconds past that minute. */
static void naive_of(const struct dag_tz *z, dag_time_t t, int64_t *min,
                     int64_t *us, int *year) {
  int64_t s = t / DAG_USEC_PER_SEC, frac = t % DAG_USEC_PER_SEC;
  if (frac < 0) {
    frac += DAG_USEC_PER_SEC;
    s--;
  }
  struct dag_tz_info info;
  dag_tz_lookup(z, s, &info);
  int64_t wall = s + info.utoff;
  int64_t m = wall / 60, sec = wall % 60;
  if (sec < 0) {
    sec += 60;
    m--;
  }
  struct civil c;
  min_to_civil(m, &c);
  *min = m;
  *us = sec * DAG_USEC_PER_SEC + frac;
  *year = c.y;
}

/* Airflow's make_aware: fold=1, the second of a repeated wall time. */
static dag_time_t wall_to_utc(const struct dag_tz *z, const struct civil *c) {
  return dag_tz_wall_to_utc(z, civil_to_min(c) * 60, 1) * DAG_USEC_PER_SEC;
}

int dag_cron_next(const struct dag_cron *c, const char *tz, dag_time_t after,
                  dag_time_t *out) {
  const struct dag_tz *z;
  int rc = dag_tz_get(tz, &z, NULL);
  if (rc != 0) return rc;
  int64_t min, us;
  int year;
  naive_of(z, after, &min, &us, &year);
  struct civil t;

  if (!c->wall_clock) {
    min_to_civil(min + 1, &t);
    if ((rc = search_up(c, &t, year + SEARCH_YEARS)) != 0) return rc;
    *out = after + (civil_to_min(&t) - min) * USEC_PER_MIN - us;
    return 0;
  }
  min_to_civil(min + 1 - DST_SLACK_MIN, &t);
  for (;;) {
    if ((rc = search_up(c, &t, year + SEARCH_YEARS)) != 0) return rc;
    dag_time_t u = wall_to_utc(z, &t);
    if (u > after) {
      *out = u;
      return 0;
    }
    min_to_civil(civil_to_min(&t) + 1, &t);
  }
}

int dag_cron_prev(const struct dag_cron *c, const char *tz, dag_time_t before,
                  dag_time_t *out) {
  const struct dag_tz *z;
  int rc = dag_tz_get(tz, &z, NULL);
  if (rc != 0) return rc;
  int64_t min, us;
  int year;
  naive_of(z, before, &min, &us, &year);
  /* The minute that started at `min` is before `before` unless it is it. */
  int64_t last = us == 0 ? min - 1 : min;
  struct civil t;

  if (!c->wall_clock) {
    min_to_civil(last, &t);
    if ((rc = search_down(c, &t, year - SEARCH_YEARS)) != 0) return rc;
    *out = before - ((min - civil_to_min(&t)) * USEC_PER_MIN + us);
    return 0;
  }
  min_to_civil(last + DST_SLACK_MIN, &t);
  for (;;) {
    if ((rc = search_down(c, &t, year - SEARCH_YEARS)) != 0) return rc;
    dag_time_t u = wall_to_utc(z, &t);
    if (u < before) {
      *out = u;
      return 0;
    }
    min_to_civil(civil_to_min(&t) - 1, &t);
  }
}
