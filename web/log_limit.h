/* log_limit.h - at most one log line per interval for events a client can
 * cause at will (refused connections, wrong API tokens), with a count of
 * the lines left out, so that a flood costs a few lines, not gigabytes.
 *
 * The first event logs at once; later ones within `interval_ms` of the
 * last logged line are only counted, and the next line that is logged
 * carries that count. What is still counted when the owner stops is
 * reported by dag_log_limit_flush(). Plain data on one loop: no handle,
 * nothing to close. */
#ifndef DAG_LOG_LIMIT_H
#define DAG_LOG_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define DAG_LOG_LIMIT_INTERVAL_MS 10000

struct dag_log_limit {
  uint64_t interval_ms; /* 0: DAG_LOG_LIMIT_INTERVAL_MS */
  uint64_t last_ms;     /* when the last line was logged (monotonic) */
  bool logged;          /* a line was logged at last_ms */
  uint64_t suppressed;  /* events since then that were not logged */
};

/* An event at monotonic time `now_ms` (uv_now). True: log a line now and
 * report *suppressed, the events left out since the previous line (the
 * count restarts). False: the event was counted; log nothing. */
bool dag_log_limit_allow(struct dag_log_limit *l, uint64_t now_ms, uint64_t *suppressed);

/* The events counted and not yet reported; the count restarts. */
uint64_t dag_log_limit_flush(struct dag_log_limit *l);

#endif
