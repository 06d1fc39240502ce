/* backfill.h - backfills, as Airflow 3's: runs of a DAG for the past
 * logical dates of a range, on its timetable, created by the scheduler a
 * few at a time (sched_backfill.c). Shared by `dagctl backfill`, the API
 * and the scheduler. */
#ifndef DAG_BACKFILL_H
#define DAG_BACKFILL_H

#include <stdbool.h>

#include "dag.h"
#include "schedule.h"
#include "store.h"
#include "store_backfill.h"

struct dag_backfill_request {
  dag_time_t from_date, to_date; /* logical dates, both included */
  const char *reprocess;         /* none (default), failed, completed; `all` is completed */
  int max_active_runs;           /* 0: 10, Airflow's default */
  const char *conf_json;         /* NULL or a JSON object: each run's conf */
};

/* Check the request against the DAG (it has a time-based schedule, from
 * <= to, the reprocess behaviour and conf are valid) and record the
 * backfill (part of the caller's transaction, if open). On failure *err
 * says why in a sentence for the user (caller frees): DAG_EINVAL for a bad
 * request, else the store's error. */
int dag_backfill_create(dag_store *st, const struct dag *dag,
                        const struct dag_backfill_request *req, int64_t *id, char **err);

/* The canonical reprocess behaviour for `name` (none, failed, completed,
 * or `all` for completed), or NULL if it is none of these. Static. */
const char *dag_backfill_reprocess_name(const char *name);

enum dag_backfill_decision {
  DAG_BACKFILL_CREATE,      /* no run at that logical date: create one */
  DAG_BACKFILL_RERUN,       /* a finished run that the behaviour re-runs: clear it */
  DAG_BACKFILL_SKIP,        /* a run that the behaviour leaves as it is */
  DAG_BACKFILL_SKIP_ACTIVE, /* a queued or running run: never touched */
};
const char *dag_backfill_decision_name(enum dag_backfill_decision d);

/* What a backfill with behaviour `reprocess` does at `logical_date`, from
 * the DAG's runs there. *pk: the existing run's (0 when none). */
int dag_backfill_decide(dag_store *st, const char *dag_id, dag_time_t logical_date,
                        const char *reprocess, enum dag_backfill_decision *out, int64_t *pk,
                        enum dag_run_state *state);

/* Call fn(ud, interval) for each interval of the DAG whose logical date is
 * in [from, to], oldest first, until fn returns non-zero (returned). Lazy:
 * constant memory for any range. DAG_ENOTFOUND if the DAG has no
 * time-based schedule. */
typedef int (*dag_backfill_fn)(void *ud, const struct dag_interval *iv);
int dag_backfill_each(const struct dag *dag, dag_time_t from, dag_time_t to, dag_backfill_fn fn,
                      void *ud);

#endif
