/* timeutil.c - wall-clock time and ISO-8601 text. */
#include "timeutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "error.h"

dag_time_t dag_time_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (dag_time_t)tv.tv_sec * DAG_USEC_PER_SEC + tv.tv_usec;
}

void dag_time_iso(dag_time_t t, char *buf, size_t size) {
  time_t secs = (time_t)(t / DAG_USEC_PER_SEC);
  long usec = (long)(t % DAG_USEC_PER_SEC);
  if (usec < 0) {
    usec += DAG_USEC_PER_SEC;
    secs -= 1;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  if (usec)
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
  else
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d+00:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int64_t dag_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int dag_days_in_month(int64_t y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

/* The text being parsed: a cursor and its end, so a length-bounded field
 * (a JSON string, a YAML scalar) needs no copy. */
struct cur {
  const char *p, *end;
};

/* Read exactly `n` digits. */
static bool digits(struct cur *c, int n, int *out) {
  if (c->end - c->p < n) return false;
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)c->p[i])) return false;
    v = v * 10 + (c->p[i] - '0');
  }
  c->p += n;
  *out = v;
  return true;
}

static bool at(const struct cur *c, char ch) { return c->p < c->end && *c->p == ch; }

static int fail(char *why, size_t size, const char *fmt, ...) {
  if (why && size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
  }
  return DAG_EINVAL;
}

int dag_iso_parse(const char *s, size_t len, struct dag_iso *out, char *why,
                  size_t why_size) {
  static const char *const months[] = {"January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December"};
  struct cur c = {s, s + len};
  struct dag_iso v = {0};
  if (!digits(&c, 4, &v.year) || !at(&c, '-') || (c.p++, !digits(&c, 2, &v.month)) ||
      !at(&c, '-') || (c.p++, !digits(&c, 2, &v.day)))
    return fail(why, why_size, "expected a date YYYY-MM-DD");
  if (v.month < 1 || v.month > 12)
    return fail(why, why_size, "month %02d does not exist", v.month);
  int last = dag_days_in_month(v.year, v.month);
  if (v.day < 1 || v.day > last)
    return fail(why, why_size, "day %02d does not exist: %s %04d has %d days", v.day,
                months[v.month - 1], v.year, last);
  if (at(&c, 'T') || at(&c, 't') || at(&c, ' ')) {
    c.p++;
    v.has_time = true;
    if (!digits(&c, 2, &v.hour) || !at(&c, ':') || (c.p++, !digits(&c, 2, &v.min)))
      return fail(why, why_size, "expected a time HH:MM after the date");
    if (at(&c, ':')) {
      c.p++;
      if (!digits(&c, 2, &v.sec)) return fail(why, why_size, "expected seconds SS after HH:MM:");
      v.has_sec = true;
      if (at(&c, '.') || at(&c, ',')) {
        c.p++;
        int n = 0;
        for (; c.p < c.end && isdigit((unsigned char)*c.p); c.p++, n++)
          if (n < 6) v.usec = v.usec * 10 + (*c.p - '0');
        if (n == 0) return fail(why, why_size, "expected digits after the decimal sign");
        for (; n < 6; n++)
          v.usec *= 10;
      }
    }
    if (v.hour > 23) return fail(why, why_size, "hour %02d does not exist (00-23)", v.hour);
    if (v.min > 59) return fail(why, why_size, "minute %02d does not exist (00-59)", v.min);
    if (v.sec > 59) return fail(why, why_size, "second %02d does not exist (00-59)", v.sec);
    if (at(&c, 'Z') || at(&c, 'z')) {
      c.p++;
      v.has_offset = true;
    } else if (at(&c, '+') || at(&c, '-')) {
      int sign = *c.p++ == '-' ? -1 : 1, oh, om = 0;
      if (!digits(&c, 2, &oh)) return fail(why, why_size, "expected an offset +HH:MM");
      if (at(&c, ':')) {
        c.p++;
        if (!digits(&c, 2, &om)) return fail(why, why_size, "expected an offset +HH:MM");
      } else if (c.p < c.end && isdigit((unsigned char)*c.p) && !digits(&c, 2, &om)) {
        return fail(why, why_size, "expected an offset +HH:MM");
      }
      if (oh > 23 || om > 59)
        return fail(why, why_size, "offset %c%02d:%02d does not exist", sign < 0 ? '-' : '+',
                    oh, om);
      v.has_offset = true;
      v.offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (c.p != c.end)
    return fail(why, why_size, "unexpected text after the %s",
                v.has_offset ? "offset" : v.has_time ? "time" : "date");
  *out = v;
  if (why && why_size) why[0] = '\0';
  return 0;
}

dag_time_t dag_iso_utc(const struct dag_iso *iso) {
  int64_t secs = dag_days_from_civil(iso->year, iso->month, iso->day) * 86400 +
                 iso->hour * 3600 + iso->min * 60 + iso->sec - iso->offset_s;
  return secs * DAG_USEC_PER_SEC + iso->usec;
}

int dag_time_parse_iso(const char *s, dag_time_t *out, char *why, size_t why_size) {
  struct dag_iso iso;
  int rc = dag_iso_parse(s, strlen(s), &iso, why, why_size);
  if (rc == 0) *out = dag_iso_utc(&iso);
  return rc;
}
