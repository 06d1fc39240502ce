/* retry.h - how long to wait before retrying a failed task. */
#ifndef DAG_RETRY_H
#define DAG_RETRY_H

#include <stdint.h>

#include "common.h"
#include "dag.h"

/* Airflow's delay before retry number `retry` (1 = the first retry):
 * - without retry_exponential_backoff: retry_delay;
 * - with it: b = ceil(retry_delay * 2^(retry-1)) whole seconds (at least 1),
 *   plus a jitter in [0, b) seconds that is deterministic for the task
 *   instance (a hash of dag_id, task_id, logical date and retry), capped at
 *   24 h;
 * then capped by max_retry_delay when set, and by DAG_DURATION_MAX_US so
 * that now + delay cannot overflow. Returns microseconds. */
int64_t dag_retry_delay(const struct dag_task_args *args, const char *dag_id,
                        const char *task_id, dag_time_t logical_date, int retry);

#endif
