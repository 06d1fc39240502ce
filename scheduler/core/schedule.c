/* schedule.c - data intervals for the next run, after Airflow's timetables
 * (CronDataIntervalTimetable, a grid-aligned DeltaDataIntervalTimetable,
 * OnceTimetable, NullTimetable). */
#include "schedule.h"

#include "dag.h"
#include "error.h"

static dag_time_t max_time(dag_time_t a, dag_time_t b) {
  return a > b ? a : b;
}

static int cron_next(const struct dag *dag, dag_time_t t, dag_time_t *out) {
  return dag_cron_next(&dag->schedule.cron, dag->timezone, t, out);
}

static int cron_prev(const struct dag *dag, dag_time_t t, dag_time_t *out) {
  return dag_cron_prev(&dag->schedule.cron, dag->timezone, t, out);
}

/* `t` if it is a fire time, else the first fire after it. */
static int align_to_next(const struct dag *dag, dag_time_t t, dag_time_t *out) {
  dag_time_t next, prev;
  int rc = cron_next(dag, t, &next);
  if (rc == 0) rc = cron_prev(dag, next, &prev);
  if (rc != 0) return rc;
  *out = prev == t ? t : next;
  return 0;
}

/* `t` if it is a fire time, else the last fire before it. */
static int align_to_prev(const struct dag *dag, dag_time_t t, dag_time_t *out) {
  dag_time_t prev, next;
  int rc = cron_prev(dag, t, &prev);
  if (rc == 0) rc = cron_next(dag, prev, &next);
  if (rc != 0) return rc;
  *out = next == t ? t : prev;
  return 0;
}

/* Start of the latest interval that is complete at `now` (one ending exactly
 * at `now` counts), but not before start_date. */
static int cron_skip_to_latest(const struct dag *dag, dag_time_t now,
                               dag_time_t *out) {
  dag_time_t last_start, next_start, start;
  int rc = cron_prev(dag, now, &last_start);
  if (rc == 0) rc = cron_next(dag, last_start, &next_start);
  if (rc != 0) return rc;
  if (next_start <= now) {
    start = last_start;
  } else if ((rc = cron_prev(dag, last_start, &start)) != 0) {
    return rc;
  }
  if (dag->start_date != 0) {
    dag_time_t first;
    if ((rc = align_to_next(dag, dag->start_date, &first)) != 0) return rc;
    start = max_time(start, first);
  }
  *out = start;
  return 0;
}

static int cron_next_interval(const struct dag *dag,
                              const struct dag_interval *last, dag_time_t now,
                              struct dag_interval *next) {
  dag_time_t start;
  int rc;
  /* Without a start_date there is nothing to catch up from: begin with the
   * latest complete interval, as if catchup were off. */
  if (!dag->catchup || (last == NULL && dag->start_date == 0)) {
    if ((rc = cron_skip_to_latest(dag, now, &start)) != 0) return rc;
    if (last != NULL) start = max_time(start, last->end);
  } else if (last != NULL) {
    start = last->end;
  } else if ((rc = align_to_next(dag, dag->start_date, &start)) != 0) {
    return rc;
  }
  next->start = start;
  return cron_next(dag, start, &next->end);
}

static dag_time_t floor_div(dag_time_t a, dag_time_t b) {
  dag_time_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Intervals lie on the grid start_date + k * interval (the epoch without a
 * start_date); this is the start of the latest one complete at `now`. */
static dag_time_t grid_latest(const struct dag *dag, dag_time_t now) {
  dag_time_t iv = dag->schedule.interval_us;
  dag_time_t anchor = dag->start_date;
  dag_time_t k = floor_div(now - anchor, iv);
  return anchor + (k - 1) * iv;
}

static int interval_next(const struct dag *dag, const struct dag_interval *last,
                         dag_time_t now, struct dag_interval *next) {
  dag_time_t iv = dag->schedule.interval_us;
  if (iv <= 0) return DAG_EINVAL;
  dag_time_t start;
  if (last != NULL)
    start = last->end;
  else if (dag->start_date != 0)
    start = dag->start_date;
  else
    start = grid_latest(dag, now);
  if (!dag->catchup) start = max_time(start, grid_latest(dag, now));
  next->start = start;
  next->end = start + iv;
  return 0;
}

int dag_schedule_next(const struct dag *dag, const struct dag_interval *last,
                      dag_time_t now, struct dag_interval *next) {
  struct dag_interval iv;
  int rc;
  switch (dag->schedule.kind) {
  case DAG_SCHEDULE_CRON:
    rc = cron_next_interval(dag, last, now, &iv);
    break;
  case DAG_SCHEDULE_INTERVAL:
    rc = interval_next(dag, last, now, &iv);
    break;
  case DAG_SCHEDULE_ONCE:
    if (last != NULL) return DAG_ENOTFOUND;
    iv.start = iv.end = dag->start_date != 0 ? dag->start_date : now;
    rc = 0;
    break;
  case DAG_SCHEDULE_NONE:
  default:
    return DAG_ENOTFOUND;
  }
  if (rc != 0) return rc;
  if (dag->end_date != 0 && iv.start > dag->end_date) return DAG_ENOTFOUND;
  *next = iv;
  return 0;
}

void dag_schedule_manual_interval(const struct dag *dag, dag_time_t run_after,
                                  struct dag_interval *out) {
  out->start = out->end = run_after;
  switch (dag->schedule.kind) {
  case DAG_SCHEDULE_CRON: {
    dag_time_t end, start;
    /* A schedule that never fires leaves the empty interval. */
    if (align_to_prev(dag, run_after, &end) == 0 &&
        cron_prev(dag, end, &start) == 0) {
      out->start = start;
      out->end = end;
    }
    break;
  }
  case DAG_SCHEDULE_INTERVAL:
    if (dag->schedule.interval_us > 0)
      out->start = run_after - dag->schedule.interval_us;
    break;
  case DAG_SCHEDULE_ONCE:
  case DAG_SCHEDULE_NONE:
  default:
    break;
  }
}

int dag_schedule_interval_at(const struct dag *dag, dag_time_t t, struct dag_interval *out) {
  int rc;
  switch (dag->schedule.kind) {
  case DAG_SCHEDULE_CRON:
    if ((rc = align_to_next(dag, t, &out->start)) != 0) return rc;
    return cron_next(dag, out->start, &out->end);
  case DAG_SCHEDULE_INTERVAL: {
    dag_time_t iv = dag->schedule.interval_us;
    if (iv <= 0) return DAG_EINVAL;
    /* The grid of interval_next(): start_date + k * interval. */
    dag_time_t k = floor_div(t - dag->start_date, iv);
    dag_time_t start = dag->start_date + k * iv;
    if (start < t) start += iv;
    out->start = start;
    out->end = start + iv;
    return 0;
  }
  case DAG_SCHEDULE_ONCE:
    if (dag->start_date == 0 || dag->start_date < t) return DAG_ENOTFOUND;
    out->start = out->end = dag->start_date;
    return 0;
  case DAG_SCHEDULE_NONE:
  default:
    return DAG_ENOTFOUND;
  }
}
