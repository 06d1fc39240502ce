/* duration.h - durations as people write them in YAML and config. */
#ifndef DAG_DURATION_H
#define DAG_DURATION_H

#include <stdint.h>

/* The longest duration dagctl accepts: 100 years (36525 days). Far past any
 * real wait, and small enough that a time plus a duration, or the sum of two
 * durations, cannot overflow int64 microseconds. */
#define DAG_DURATION_MAX_US (INT64_C(36525) * 86400 * 1000000)
/* Completes "duration '...' is " in diagnostics. */
#define DAG_DURATION_TOO_LONG "too long (at most 36525d, 100 years)"

/* Parse "500ms", "30s", "5m", "2h", "1d", compounds such as "1h30m", or a
 * bare non-negative integer meaning seconds. Stores microseconds in *out.
 * Returns 0, DAG_EINVAL (empty, unknown unit, negative, malformed), or
 * -ERANGE (longer than DAG_DURATION_MAX_US); *out is untouched on error. */
int dag_duration_parse(const char *s, int64_t *out);

/* Format microseconds compactly ("1h30m", "2.5s", "750ms") into buf. */
void dag_duration_format(int64_t us, char *buf, unsigned size);

#endif
