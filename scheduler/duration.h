/* duration.h - durations as people write them in YAML and config. */
#ifndef DAG_DURATION_H
#define DAG_DURATION_H

#include <stdint.h>

/* Parse "500ms", "30s", "5m", "2h", "1d", compounds such as "1h30m", or a
 * bare non-negative integer meaning seconds. Stores microseconds in *out.
 * Returns 0, or DAG_EINVAL (empty, unknown unit, overflow, negative). */
int dag_duration_parse(const char *s, int64_t *out);

/* Format microseconds compactly ("1h30m", "2.5s", "750ms") into buf. */
void dag_duration_format(int64_t us, char *buf, unsigned size);

#endif
