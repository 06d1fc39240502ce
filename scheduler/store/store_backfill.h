/* store_backfill.h - backfills (migration 0014_backfill), as Airflow 3's:
 * runs of a DAG for the past logical dates of a range, created by the
 * scheduler a few at a time (at most max_active_runs queued or running),
 * in order. A backfill keeps only a cursor of its plan: the logical date
 * from which the next interval is looked for. */
#ifndef DAG_STORE_BACKFILL_H
#define DAG_STORE_BACKFILL_H

#include "store.h"

struct dag_store_backfill {
  int64_t id;
  char *dag_id;
  dag_time_t from_date, to_date; /* logical dates, both included */
  char *dag_run_conf;            /* JSON object */
  char *reprocess_behavior;      /* none | failed | completed */
  int max_active_runs;
  bool is_paused;
  bool has_cursor; /* false: every interval has been considered */
  dag_time_t cursor;
  int64_t runs_created; /* runs created, and existing runs cleared to run again */
  int64_t runs_skipped; /* intervals whose run was left as it was */
  dag_time_t created_at, updated_at;
  dag_time_t completed_at; /* 0: still going */
  bool cancelled;
  int64_t runs[DAG_RUN__COUNT]; /* its runs by state (get and list fill it) */
};

/* Record a new backfill from b's dag_id, dates, conf, reprocess behaviour
 * and max_active_runs (the caller has checked them), its cursor at
 * from_date, and tell the scheduler. Part of the caller's transaction if
 * one is open. *id: its id. */
int dag_store_backfill_create(dag_store *st, const struct dag_store_backfill *b, dag_time_t now,
                              int64_t *id);
/* DAG_ENOTFOUND if none. Caller frees with dag_store_backfill_free(). */
int dag_store_backfill_get(dag_store *st, int64_t id, struct dag_store_backfill *out);
/* Backfills of `dag_id` (NULL: every DAG), newest first; with active_only
 * those not completed, oldest first. Free with dag_store_backfills_free(). */
int dag_store_backfill_list(dag_store *st, const char *dag_id, bool active_only,
                            struct dag_store_backfill **out, size_t *n);
void dag_store_backfill_free(struct dag_store_backfill *b);
void dag_store_backfills_free(struct dag_store_backfill *b, size_t n);

/* Airflow's cancel: the backfill is completed and paused now, and its
 * queued runs fail (its running runs finish); the scheduler is told. One
 * transaction (or part of the caller's). DAG_ENOTFOUND; DAG_ESTATE if it
 * had completed already. */
int dag_store_backfill_cancel(dag_store *st, int64_t id, dag_time_t now);
/* Pause (no new runs) or unpause; DAG_ESTATE once completed. */
int dag_store_backfill_set_paused(dag_store *st, int64_t id, bool paused, dag_time_t now);

/* The scheduler's side, inside its transaction. */
/* Hold the backfill's row until the transaction ends, so that of several
 * schedulers one at a time creates its runs; DAG_ECLAIM without waiting
 * when another holds it (PostgreSQL; SQLite's one writer needs none). */
int dag_store_backfill_lock(dag_store *st, int64_t id);
/* Its queued and running runs, in *n. */
int dag_store_backfill_active_runs(dag_store *st, int64_t id, int64_t *n);
/* Save the plan's progress: the cursor (has_cursor false: done) and the
 * runs created and intervals skipped since the last save. */
int dag_store_backfill_advance(dag_store *st, int64_t id, bool has_cursor, dag_time_t cursor,
                               int64_t created, int64_t skipped, dag_time_t now);
/* Every run done: completed now. */
int dag_store_backfill_complete(dag_store *st, int64_t id, dag_time_t now);
/* Run `pk` now belongs to backfill `id` (an existing run it re-runs). */
int dag_store_run_set_backfill(dag_store *st, int64_t pk, int64_t id);

#endif
