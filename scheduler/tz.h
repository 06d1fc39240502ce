/* tz.h - IANA time zones.
 *
 * glibc offers no per-call time zone API, so conversions switch the TZ
 * environment variable and call tzset(). That is only safe on one thread: it
 * is used by the scheduler loop and the CLI, never from a worker thread.
 * Cached: switching to the zone already in effect costs nothing. */
#ifndef DAG_TZ_H
#define DAG_TZ_H

#include <time.h>

#include "common.h"

/* 0 if `name` is "UTC" or a zone under /usr/share/zoneinfo; DAG_EINVAL for
 * anything else (including names with "..", or a leading '/'). */
int dag_tz_validate(const char *name);

/* UTC instant -> local broken-down time in zone `tz` (tm_gmtoff filled). */
int dag_tz_to_local(const char *tz, dag_time_t t, struct tm *out);

/* Local wall time (tm_year..tm_sec; tm_isdst ignored) in zone `tz` -> UTC.
 * A wall time that does not exist (spring-forward gap) is moved forward by
 * the gap (02:30 -> 03:30), as pendulum and Airflow do; an ambiguous one
 * (fall-back) resolves to its first occurrence. Seconds resolution. */
int dag_tz_to_utc(const char *tz, const struct tm *local, dag_time_t *out);

#endif
