/* sched_backfill.c - the scheduler's side of backfills (backfill.h): on
 * every look at a DAG (its schedule, a run's end, a backfill created,
 * paused or cancelled) each active backfill of the DAG creates runs, in
 * logical-date order, until max_active_runs of its runs are queued or
 * running, moving its stored cursor as it goes. The plan is never held
 * whole: a ten-year backfill costs one interval computation per run, and
 * memory for its active runs only. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "backfill.h"
#include "error.h"
#include "log.h"
#include "runs.h"
#include "sched_int.h"
#include "timeutil.h"

/* Re-run a finished run for the backfill: Airflow's clear of every task,
 * the run queued again and now the backfill's. */
static int rerun(struct sched_dag *sd, int64_t backfill_id, int64_t pk) {
  struct dag_scheduler *s = sd->s;
  const struct dag *dag = sd->ref->dag;
  const char **ids = xcalloc(dag->n_tasks, sizeof(*ids));
  int *retries = xcalloc(dag->n_tasks, sizeof(*retries));
  for (size_t i = 0; i < dag->n_tasks; i++) {
    ids[i] = dag->tasks[i].id;
    retries[i] = dag->tasks[i].args.retries;
  }
  int rc = dag_store_clear(s->store, pk, ids, retries, dag->n_tasks, NULL, NULL);
  free(ids);
  free(retries);
  if (rc == 0) rc = dag_store_run_set_backfill(s->store, pk, backfill_id);
  return rc;
}

/* Create runs for one backfill while it has room. Inside the caller's
 * transaction. */
static int advance_one(struct sched_dag *sd, const struct dag_store_backfill *b, bool *any) {
  struct dag_scheduler *s = sd->s;
  const struct dag *dag = sd->ref->dag;
  int64_t active = 0;
  int rc = dag_store_backfill_active_runs(s->store, b->id, &active);
  if (rc) return rc;
  bool has = b->has_cursor;
  dag_time_t cursor = b->cursor;
  int64_t created = 0, skipped = 0;
  while (has && active < b->max_active_runs && rc == 0) {
    struct dag_interval iv;
    if (dag_schedule_interval_at(dag, cursor, &iv) != 0 || iv.start > b->to_date) {
      has = false;
      break;
    }
    cursor = iv.start + 1;
    enum dag_backfill_decision d;
    int64_t pk = 0;
    rc = dag_backfill_decide(s->store, sd->dag_id, iv.start, b->reprocess_behavior, &d, &pk,
                             NULL);
    if (rc) break;
    char iso[48];
    dag_time_iso(iv.start, iso, sizeof(iso));
    if (d == DAG_BACKFILL_CREATE) {
      struct dag_run_request req;
      memset(&req, 0, sizeof(req));
      req.type = DAG_RUN_TYPE_BACKFILL;
      req.logical_date = iv.start;
      req.interval = &iv;
      req.conf_json = b->dag_run_conf;
      req.backfill_id = b->id;
      char *err = NULL, *run_id = NULL;
      rc = dag_run_create(s->store, dag, &req, &pk, &run_id, &err);
      if (rc == DAG_EEXIST) {
        /* Its id is taken by a run at another date: leave this one. */
        LOG_WARN("backfill run id taken, interval skipped dag=%s backfill=%lld logical_date=%s",
                 sd->dag_id, (long long)b->id, iso);
        skipped++;
        rc = 0;
      } else if (rc) {
        LOG_ERROR("cannot create backfill run dag=%s backfill=%lld error=\"%s\"", sd->dag_id,
                  (long long)b->id, err);
      } else {
        LOG_INFO("backfill run created dag=%s backfill=%lld run=%s", sd->dag_id,
                 (long long)b->id, run_id);
      }
      free(err);
      free(run_id);
      if (rc || !pk) continue;
    } else if (d == DAG_BACKFILL_RERUN) {
      if ((rc = rerun(sd, b->id, pk)) != 0) break;
      LOG_INFO("backfill re-runs a finished run dag=%s backfill=%lld logical_date=%s", sd->dag_id,
               (long long)b->id, iso);
    } else {
      skipped++;
      continue;
    }
    /* Our own event row is redundant: the run is loaded here. */
    if (!sched_find_run(s, pk) && (rc = sched_run_load(s, sd, sd->ref, pk)) != 0) break;
    created++;
    active++;
    *any = true;
  }
  if (rc) return rc;
  dag_time_t now = sched_now(s);
  if (created || skipped || has != b->has_cursor)
    rc = dag_store_backfill_advance(s->store, b->id, has, cursor, created, skipped, now);
  if (rc == 0 && !has && active == 0) {
    rc = dag_store_backfill_complete(s->store, b->id, now);
    LOG_INFO("backfill completed dag=%s backfill=%lld", sd->dag_id, (long long)b->id);
  }
  return rc;
}

int sched_backfill_advance(struct sched_dag *sd) {
  struct dag_scheduler *s = sd->s;
  if (!s->service || s->stopping || sd->paused || !sd->ref) return 0;
  struct dag_store_backfill *b = NULL;
  size_t n = 0;
  int rc = dag_store_backfill_list(s->store, sd->dag_id, true, &b, &n);
  bool any = false;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (b[i].is_paused) continue;
    /* Several schedulers: one at a time plans a backfill; the one holding
     * it now sees the same runs end. */
    if (s->ha && (rc = dag_store_backfill_lock(s->store, b[i].id)) == DAG_ECLAIM) {
      rc = 0;
      continue;
    }
    if (rc == 0) rc = advance_one(sd, &b[i], &any);
  }
  dag_store_backfills_free(b, n);
  if (rc == 0 && any) sched_post_dag(sd, SCHED_WORK_START_RUNS);
  return rc;
}
