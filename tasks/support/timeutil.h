/* timeutil.h - wall-clock instants: now, calendar days, and ISO-8601 text.
 *
 * dag_iso_parse() is the project's one reader of ISO-8601 dates and times:
 * DAG files, the CLI, the API, and the plugins (through the support library)
 * all go through it, so every one of them refuses the same impossible dates. */
#ifndef DAG_TIMEUTIL_H
#define DAG_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Now, UTC, in microseconds. */
dag_time_t dag_time_now(void);

/* "2026-11-22T00:41:00+00:00", with ".123456" before the offset when the
 * instant has a fraction (Airflow's format). buf of at least 40 bytes. */
void dag_time_iso(dag_time_t t, char *buf, size_t size);

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil); m is 1-12, d may run past the month's end. */
int64_t dag_days_from_civil(int64_t y, int m, int d);

/* Days in month m (1-12) of year y. */
int dag_days_in_month(int64_t y, int m);

/* An ISO-8601 date or date and time, field by field as written. */
struct dag_iso {
  int year, month, day; /* 0000-9999, 1-12, 1 to the month's last day */
  int hour, min, sec;   /* 0-23, 0-59, 0-59; 0 when not written */
  int usec;             /* the fraction, cut to microseconds */
  int offset_s;         /* east of UTC, in seconds, when has_offset */
  bool has_time;        /* a time follows the date */
  bool has_sec;         /* the time has seconds */
  bool has_offset;      /* "Z" or an offset follows the time */
};

/* Parse the `len` bytes at `s` (no NUL needed): "YYYY-MM-DD", then
 * optionally 'T' (also 't' or a space) and "HH:MM", then optionally ":SS",
 * then optionally a fraction ('.' or ',' and digits), then optionally "Z"
 * ('z') or an offset "+HH", "+HH:MM", "+HHMM" (or '-'); an offset needs a
 * time. Days that do not exist (2026-02-30, 2026-04-31, 2026-02-29), hour
 * 24, minute or second 60 (POSIX time has no leap seconds) and offsets past
 * 23:59 are refused, never rolled over. Returns 0, or DAG_EINVAL with the
 * reason in `why` (why_size bytes, always terminated; why may be NULL). */
int dag_iso_parse(const char *s, size_t len, struct dag_iso *out, char *why, size_t why_size);

/* The instant a parsed value names; without an offset it is read as UTC.
 * A value in a time zone's wall time goes through dag_tz_to_utc instead. */
dag_time_t dag_iso_utc(const struct dag_iso *iso);

/* dag_iso_parse() of the string s, then dag_iso_utc(). Returns 0, or
 * DAG_EINVAL with the reason in why (why_size bytes; why may be NULL). */
int dag_time_parse_iso(const char *s, dag_time_t *out, char *why, size_t why_size);

#endif
