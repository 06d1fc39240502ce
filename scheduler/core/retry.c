/* retry.c - Airflow's retry delay with exponential backoff (see retry.h). */
#include "retry.h"

#include <inttypes.h>
#include <stdio.h>

#include "duration.h"

/* Airflow's MAX_RETRY_DELAY: a backoff never waits more than a day. */
#define BACKOFF_CEILING_S INT64_C(86400)

/* FNV-1a, 64 bits: Airflow hashes the task instance with SHA-1 only to
 * spread retries of different tasks apart; any stable, well-mixed hash does
 * that, and this one needs no library. */
#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= FNV_PRIME;
  }
  return h;
}

/* The hash of "dag_id#task_id#logical_date_us#retry", fed piecewise so no
 * buffer has to hold ids of arbitrary length. */
static uint64_t ti_hash(const char *dag_id, const char *task_id, dag_time_t logical_date,
                        int retry) {
  char num[48];
  uint64_t h = fnv1a(FNV_OFFSET, dag_id ? dag_id : "");
  h = fnv1a(h, "#");
  h = fnv1a(h, task_id ? task_id : "");
  snprintf(num, sizeof(num), "#%" PRId64 "#%d", logical_date, retry);
  return fnv1a(h, num);
}

/* ceil(delay_us * 2^(retry-1) / 1e6), or BACKOFF_CEILING_S when the product
 * would reach the ceiling anyway: past it the jitter cannot matter, and
 * retries numbered in the hundreds (a task cleared many times) must not
 * overflow. */
static int64_t backoff_base_s(int64_t delay_us, int retry) {
  const int64_t ceiling_us = BACKOFF_CEILING_S * DAG_USEC_PER_SEC;
  int shift = retry - 1;
  if (delay_us <= 0) return 1;
  if (shift >= 62 || delay_us > (ceiling_us >> shift)) return BACKOFF_CEILING_S;
  int64_t us = delay_us << shift;
  int64_t s = (us + DAG_USEC_PER_SEC - 1) / DAG_USEC_PER_SEC;
  return s < 1 ? 1 : s;
}

int64_t dag_retry_delay(const struct dag_task_args *args, const char *dag_id,
                        const char *task_id, dag_time_t logical_date, int retry) {
  int64_t delay_us = args->retry_delay_us > 0 ? args->retry_delay_us : 0;
  if (retry < 1) retry = 1;

  if (args->retry_exponential_backoff) {
    int64_t base = backoff_base_s(delay_us, retry);
    int64_t s = BACKOFF_CEILING_S;
    if (base < BACKOFF_CEILING_S) {
      int64_t jitter =
          (int64_t)(ti_hash(dag_id, task_id, logical_date, retry) % (uint64_t)base);
      if (base + jitter < s) s = base + jitter;
    }
    delay_us = s * DAG_USEC_PER_SEC;
  }
  if (args->max_retry_delay_us > 0 && delay_us > args->max_retry_delay_us)
    delay_us = args->max_retry_delay_us;
  /* The loader refuses longer durations; args built elsewhere must not make
   * the caller's now + delay overflow either. */
  return delay_us < DAG_DURATION_MAX_US ? delay_us : DAG_DURATION_MAX_US;
}
