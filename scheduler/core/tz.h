/* tz.h - IANA time zones, computed in-process from their TZif files.
 *
 * Each zone's file under /usr/share/zoneinfo (RFC 8536) is read once, parsed
 * into an immutable table and kept for the life of the process; conversions
 * never touch the TZ environment variable or tzset(), so they are safe on any
 * thread and leave the environment that tasks inherit alone. A change to the
 * installed tzdata takes effect at the next start. */
#ifndef DAG_TZ_H
#define DAG_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common.h"

/* A parsed zone: immutable. From dag_tz_get() it is borrowed and lives
 * until exit; from dag_tz_parse() the caller frees it with dag_tz_free(). */
struct dag_tz;

/* The zone named `name` ("UTC", NULL for UTC, or a name under
 * /usr/share/zoneinfo such as "Europe/Berlin"), loaded and cached on first
 * use. Returns 0, or DAG_EINVAL with a sentence naming the zone and the
 * reason in *err (caller frees) when err is non-NULL: a malformed name
 * (".." or a leading '/'), no such zone, or a file that is not valid TZif. */
int dag_tz_get(const char *name, const struct dag_tz **out, char **err);

/* Parse TZif data `buf` (borrowed) into a new zone called `name`; for tests
 * and the fuzzer. Returns 0, or DAG_EINVAL with the reason in *err (caller
 * frees) when err is non-NULL. */
int dag_tz_parse(const char *name, const uint8_t *buf, size_t len,
                 struct dag_tz **out, char **err);

/* Frees a zone from dag_tz_parse(); NULL is a no-op. */
void dag_tz_free(struct dag_tz *z);

/* What a zone says about one UTC instant. */
struct dag_tz_info {
  int32_t utoff; /* seconds east of UTC */
  bool isdst;
  const char *abbr; /* "CEST", "+1030": borrowed from the zone */
};

/* The offset in effect at `utc_sec` (seconds since the epoch). */
void dag_tz_lookup(const struct dag_tz *z, int64_t utc_sec,
                   struct dag_tz_info *out);

/* Local wall time `wall_sec` (seconds since the naive epoch 1970-01-01T00:00)
 * -> UTC seconds. A wall time the clock skipped (spring-forward gap) moves
 * forward by the gap (02:30 -> 03:30), as pendulum and Airflow do; one it
 * repeats (fall-back overlap) resolves to the first occurrence with fold 0
 * and to the second with fold 1 (Python's datetime.fold). */
int64_t dag_tz_wall_to_utc(const struct dag_tz *z, int64_t wall_sec, int fold);

/* 0 if `name` is a zone dag_tz_get() accepts; DAG_EINVAL otherwise. */
int dag_tz_validate(const char *name);

/* UTC instant -> local broken-down time in zone `tz` (tm_gmtoff, tm_isdst
 * and tm_zone filled). */
int dag_tz_to_local(const char *tz, dag_time_t t, struct tm *out);

/* Local wall time (tm_year..tm_sec, normalised like timegm(); tm_isdst
 * ignored) in zone `tz` -> UTC, seconds resolution; gaps and overlaps as in
 * dag_tz_wall_to_utc(). dag_tz_to_utc() takes the first occurrence. */
int dag_tz_to_utc_fold(const char *tz, const struct tm *local, int fold,
                       dag_time_t *out);
int dag_tz_to_utc(const char *tz, const struct tm *local, dag_time_t *out);

#endif
