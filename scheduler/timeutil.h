/* timeutil.h - wall-clock instants: now, and ISO-8601 text. */
#ifndef DAG_TIMEUTIL_H
#define DAG_TIMEUTIL_H

#include <stddef.h>

#include "common.h"

/* Now, UTC, in microseconds. */
dag_time_t dag_time_now(void);

/* "2026-11-22T00:41:00+00:00", with ".123456" before the offset when the
 * instant has a fraction (Airflow's format). buf of at least 40 bytes. */
void dag_time_iso(dag_time_t t, char *buf, size_t size);

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with an optional "Z"
 * or "+HH:MM" offset (space accepted for 'T'). Without an offset the time is
 * UTC. Returns 0 or DAG_EINVAL. */
int dag_time_parse_iso(const char *s, dag_time_t *out);

#endif
