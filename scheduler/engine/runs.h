/* runs.h - creating DAG runs: the one path shared by the scheduler (scheduled
 * runs), `dagctl trigger`, the API and `dagctl test`. */
#ifndef DAG_RUNS_H
#define DAG_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "dag.h"
#include "schedule.h"
#include "store.h"

enum dag_run_type {
  DAG_RUN_TYPE_SCHEDULED,
  DAG_RUN_TYPE_MANUAL,
  DAG_RUN_TYPE_TEST,
  DAG_RUN_TYPE_BACKFILL, /* created by a backfill (backfill.h) */
  DAG_RUN_TYPE_DATASET, /* dataset_triggered: its datasets were updated */
};

struct dag_run_request {
  enum dag_run_type type;
  const char *run_id;        /* NULL: TYPE__LOGICALDATE, as Airflow names runs,
                                with _2, _3... added to a manual or test id
                                that is taken */
  dag_time_t logical_date;   /* scheduled: interval.start; others: 0 = now */
  const struct dag_interval *interval; /* NULL: inferred from the schedule */
  const char *conf_json;     /* NULL or a JSON object */
  const char *only_task;     /* NULL, or create only this task's instance (test) */
  int64_t backfill_id;       /* 0, or the backfill creating it */
};

/* Validate the request and create the run with its task instances in one
 * transaction. On failure *err says why in a sentence fit for a user
 * (caller frees): bad conf JSON, bad run id (ids.h), duplicate run id (one the
 * caller chose, or a scheduled run's), unknown task. Returns 0, the new
 * run's pk and its id (*run_id_out, caller frees), or a negative code. */
int dag_run_create(dag_store *st, const struct dag *dag, const struct dag_run_request *req,
                   int64_t *pk, char **run_id_out, char **err);

/* Tell a running scheduler that the database has news for it (a trigger, a
 * clear, a pause). Best effort: the scheduler also looks every few seconds. */
void dag_scheduler_notify(const char *home);

#endif
