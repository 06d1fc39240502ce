/* cron.h - five-field cron expressions, evaluated in a time zone. */
#ifndef DAG_CRON_H
#define DAG_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

struct dag_cron {
  uint64_t minutes; /* bit m for minute 0..59 */
  uint32_t hours;   /* bit h for 0..23 */
  uint32_t days;    /* bit d for day of month 1..31 */
  uint16_t months;  /* bit m for 1..12 */
  uint8_t weekdays; /* bit d for 0..6, Sunday = 0 (7 accepted as Sunday) */
  bool days_star;   /* day-of-month field was '*' (cron's OR rule) */
  bool weekdays_star;
  /* The hour field is not '*' (it leaves out some hour): the schedule is
   * evaluated on the wall clock, a repeated wall time firing at its second
   * occurrence; with '*' it advances in absolute time. Airflow's rule (its
   * CronMixin), see cron.c. */
  bool wall_clock;
};

/* Parse "M H DOM MON DOW" (lists, ranges, steps, '*', JAN-DEC, SUN-SAT) or a
 * preset: @hourly @daily @midnight @weekly @monthly @quarterly @yearly
 * @annually.
 * Returns 0, or DAG_EINVAL with a message naming the bad field in *err (caller
 * frees) when err is non-NULL. */
int dag_cron_parse(const char *expr, struct dag_cron *out, char **err);

/* First fire time strictly after `after`, in zone `tz`. Returns 0, or
 * DAG_ENOTFOUND if the expression never fires (e.g. "0 0 31 2 *"). */
int dag_cron_next(const struct dag_cron *c, const char *tz, dag_time_t after,
                  dag_time_t *out);

/* Last fire time strictly before `before`, in zone `tz`. */
int dag_cron_prev(const struct dag_cron *c, const char *tz, dag_time_t before,
                  dag_time_t *out);

#endif
