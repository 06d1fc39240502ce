/* backfill.c - backfills (see backfill.h). */
#include "backfill.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "timeutil.h"

#define BACKFILL_DEFAULT_MAX_ACTIVE_RUNS 10
#define BACKFILL_MAX_ACTIVE_RUNS_LIMIT 1000000

const char *dag_backfill_reprocess_name(const char *name) {
  if (!name || strcmp(name, "none") == 0) return "none";
  if (strcmp(name, "failed") == 0) return "failed";
  if (strcmp(name, "completed") == 0 || strcmp(name, "all") == 0) return "completed";
  return NULL;
}

const char *dag_backfill_decision_name(enum dag_backfill_decision d) {
  switch (d) {
  case DAG_BACKFILL_CREATE:
    return "create";
  case DAG_BACKFILL_RERUN:
    return "rerun";
  case DAG_BACKFILL_SKIP:
    return "skip";
  case DAG_BACKFILL_SKIP_ACTIVE:
    return "skip_active";
  }
  return "skip";
}

int dag_backfill_create(dag_store *st, const struct dag *dag,
                        const struct dag_backfill_request *req, int64_t *id, char **err) {
  *err = NULL;
  struct dag_interval iv;
  if (dag->schedule.kind == DAG_SCHEDULE_NONE ||
      dag_schedule_interval_at(dag, req->from_date, &iv) == DAG_ENOTFOUND) {
    *err = xasprintf("DAG '%s' has no time-based schedule to backfill", dag->dag_id);
    return DAG_EINVAL;
  }
  if (req->from_date > req->to_date) {
    *err = xstrdup("from_date must not be after to_date");
    return DAG_EINVAL;
  }
  const char *reprocess = dag_backfill_reprocess_name(req->reprocess);
  if (!reprocess) {
    *err = xasprintf("reprocess_behavior '%s' is none of none, failed, completed (or all)",
                     req->reprocess);
    return DAG_EINVAL;
  }
  int max = req->max_active_runs ? req->max_active_runs : BACKFILL_DEFAULT_MAX_ACTIVE_RUNS;
  if (max < 1 || max > BACKFILL_MAX_ACTIVE_RUNS_LIMIT) {
    *err = xasprintf("max_active_runs must be between 1 and %d", BACKFILL_MAX_ACTIVE_RUNS_LIMIT);
    return DAG_EINVAL;
  }
  char *conf = NULL;
  if (req->conf_json && *req->conf_json) {
    json_error_t jerr;
    json_t *j = json_loads(req->conf_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
      *err = j ? xstrdup("dag_run_conf must be a JSON object")
               : xasprintf("dag_run_conf is not valid JSON: %s (line %d, column %d)", jerr.text,
                           jerr.line, jerr.column);
      json_decref(j);
      return DAG_EINVAL;
    }
    conf = json_dumps(j, JSON_COMPACT);
    json_decref(j);
  }
  struct dag_store_backfill b;
  memset(&b, 0, sizeof(b));
  b.dag_id = (char *)dag->dag_id;
  b.from_date = req->from_date;
  b.to_date = req->to_date;
  b.dag_run_conf = conf;
  b.reprocess_behavior = (char *)reprocess;
  b.max_active_runs = max;
  int rc = dag_store_backfill_create(st, &b, dag_time_now(), id);
  free(conf);
  if (rc) *err = xasprintf("cannot record the backfill: %s", dag_store_errmsg(st));
  return rc;
}

int dag_backfill_decide(dag_store *st, const char *dag_id, dag_time_t logical_date,
                        const char *reprocess, enum dag_backfill_decision *out, int64_t *pk,
                        enum dag_run_state *state) {
  struct dag_store_run run;
  int rc = dag_store_run_at(st, dag_id, logical_date, &run);
  *pk = 0;
  if (rc == DAG_ENOTFOUND) {
    *out = DAG_BACKFILL_CREATE;
    return 0;
  }
  if (rc) return rc;
  *pk = run.pk;
  if (state) *state = run.state;
  /* Airflow's rules: a run in flight is never touched; `failed` re-runs a
   * failed run, `completed` any finished one; an imported run is a record
   * of another home and never runs here. */
  if (run.state == DAG_RUN_QUEUED || run.state == DAG_RUN_RUNNING)
    *out = DAG_BACKFILL_SKIP_ACTIVE;
  else if (run.imported_at)
    *out = DAG_BACKFILL_SKIP;
  else if (strcmp(reprocess, "completed") == 0 ||
           (strcmp(reprocess, "failed") == 0 && run.state == DAG_RUN_FAILED))
    *out = DAG_BACKFILL_RERUN;
  else
    *out = DAG_BACKFILL_SKIP;
  dag_store_run_free(&run);
  return 0;
}

int dag_backfill_each(const struct dag *dag, dag_time_t from, dag_time_t to, dag_backfill_fn fn,
                      void *ud) {
  dag_time_t t = from;
  for (;;) {
    struct dag_interval iv;
    int rc = dag_schedule_interval_at(dag, t, &iv);
    if (rc == DAG_ENOTFOUND && t != from) return 0;
    if (rc) return rc;
    if (iv.start > to) return 0;
    if ((rc = fn(ud, &iv)) != 0) return rc;
    t = iv.start + 1;
  }
}
