/* timeutil.c - wall-clock time and ISO-8601 text. */
#include "timeutil.h"

#include <ctype.h>
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

/* Read exactly `n` digits. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int dag_time_parse_iso(const char *s, dag_time_t *out) {
  const char *p = s;
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  int y, mo, d, h = 0, mi = 0, se = 0;
  long usec = 0;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
      digits(&p, 2, &d))
    return DAG_EINVAL;
  if (*p == 'T' || *p == ' ') {
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return DAG_EINVAL;
    if (*p == ':') {
      p++;
      if (digits(&p, 2, &se)) return DAG_EINVAL;
      if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
          if (n < 6) usec = usec * 10 + (*p - '0');
          n++;
          p++;
        }
        if (n == 0) return DAG_EINVAL;
        for (; n < 6; n++) usec *= 10;
      }
    }
  }
  int offset = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (digits(&p, 2, &oh)) return DAG_EINVAL;
    if (*p == ':') p++;
    if (digits(&p, 2, &om) || oh > 23 || om > 59) return DAG_EINVAL;
    offset = sign * (oh * 3600 + om * 60);
  }
  if (*p != '\0') return DAG_EINVAL;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
    return DAG_EINVAL;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return DAG_EINVAL;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  time_t secs = timegm(&tm);
  *out = ((dag_time_t)secs - offset) * DAG_USEC_PER_SEC + usec;
  return 0;
}
