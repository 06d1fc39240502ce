/* schedule.h - when a DAG runs: logical dates and data intervals.
 *
 * Airflow's timetables, restated: a scheduled run covers a data interval
 * [start, end); its logical date is `start`, and it is created once `end` has
 * passed. Cron schedules align intervals to fire times in the DAG's zone;
 * interval schedules ("every 30m") align to start_date; @once runs a single
 * time at start_date with an empty interval. */
#ifndef DAG_SCHEDULE_H
#define DAG_SCHEDULE_H

#include "common.h"

struct dag;

struct dag_interval {
  dag_time_t start; /* the logical date */
  dag_time_t end;   /* when the run may be created */
};

/* The next scheduled run's interval. `last` is the interval of the latest
 * scheduled run (NULL if none). Honours start_date, end_date and catchup
 * (catchup off skips to the latest complete interval at `now`).
 * Returns 0, or DAG_ENOTFOUND when no further scheduled run exists
 * (manual-only DAG, @once already run, past end_date). */
int dag_schedule_next(const struct dag *dag, const struct dag_interval *last,
                      dag_time_t now, struct dag_interval *next);

/* The data interval of a run triggered by hand at `run_after`: the latest
 * complete interval before it (Airflow's infer_manual_data_interval), or
 * [run_after, run_after] for manual-only and @once DAGs. */
void dag_schedule_manual_interval(const struct dag *dag, dag_time_t run_after,
                                  struct dag_interval *out);

/* The first interval whose logical date is at or after `t`, on the DAG's
 * timetable as a backfill walks it: start_date, end_date and catchup are
 * not applied (the caller's range is). Walking a range is a loop over
 * this with t = the previous interval's start + 1 microsecond: constant
 * memory however long the range. DAG_ENOTFOUND for a DAG without a
 * time-based schedule (manual-only); @once has its start_date alone. */
int dag_schedule_interval_at(const struct dag *dag, dag_time_t t, struct dag_interval *out);

#endif
