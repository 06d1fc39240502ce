/* runs.c - creating DAG runs (see runs.h). */
#include "runs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "ids.h"
#include "param_schema.h"
#include "timeutil.h"

static const char *type_name(enum dag_run_type t) {
  switch (t) {
  case DAG_RUN_TYPE_SCHEDULED:
    return "scheduled";
  case DAG_RUN_TYPE_MANUAL:
    return "manual";
  case DAG_RUN_TYPE_TEST:
    return "test";
  case DAG_RUN_TYPE_BACKFILL:
    return "backfill";
  case DAG_RUN_TYPE_DATASET:
    return "dataset_triggered";
  }
  return "manual";
}

int dag_run_create(dag_store *st, const struct dag *dag, const struct dag_run_request *req,
                   int64_t *pk, char **run_id_out, char **err) {
  *err = NULL;
  if (run_id_out) *run_id_out = NULL;
  dag_time_t now = dag_time_now();
  dag_time_t logical = req->logical_date ? req->logical_date : now;

  char *conf = NULL;
  if (req->conf_json && *req->conf_json) {
    json_error_t jerr;
    json_t *j = json_loads(req->conf_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
      *err = xasprintf("conf is not valid JSON: %s (line %d, column %d)", jerr.text,
                       jerr.line, jerr.column);
      return DAG_EINVAL;
    }
    if (!json_is_object(j)) {
      json_decref(j);
      *err = xstrdup("conf must be a JSON object, e.g. '{\"n\": 5}'");
      return DAG_EINVAL;
    }
    conf = json_dumps(j, JSON_COMPACT);
    json_decref(j);
  }
  /* Typed params (param_schema.h): a trigger's conf must fit them, as
   * Airflow checks a run's params against each Param before creating it. */
  if (dag->params_schema && req->type != DAG_RUN_TYPE_SCHEDULED) {
    json_t *j = conf ? json_loads(conf, 0, NULL) : NULL;
    int rc = dag_params_validate(dag->params_schema, dag->params, j, err);
    json_decref(j);
    if (rc) {
      free(conf);
      return rc;
    }
  }

  struct dag_interval interval;
  if (req->interval)
    interval = *req->interval;
  else
    dag_schedule_manual_interval(dag, logical, &interval);

  char *run_id;
  if (req->run_id) {
    const char *why = dag_id_problem(DAG_ID_RUN, req->run_id);
    if (why) {
      free(conf);
      *err = xasprintf("invalid run id '%s' (%s)", req->run_id, why);
      return DAG_EINVAL;
    }
    run_id = xstrdup(req->run_id);
  } else {
    char iso[48];
    dag_time_iso(logical, iso, sizeof(iso));
    run_id = xasprintf("%s__%s", type_name(req->type), iso);
  }

  size_t n = dag->n_tasks;
  const char **ids = xcalloc(n, sizeof(*ids));
  int *tries = xcalloc(n, sizeof(*tries));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (req->only_task && strcmp(req->only_task, dag->tasks[i].id) != 0) continue;
    ids[k] = dag->tasks[i].id;
    tries[k] = dag->tasks[i].args.retries;
    k++;
  }
  int rc = 0;
  if (k == 0) {
    *err = xasprintf("DAG '%s' has no task '%s'", dag->dag_id,
                     req->only_task ? req->only_task : "");
    rc = DAG_ENOTFOUND;
  } else {
    struct dag_store_run row;
    memset(&row, 0, sizeof(row));
    row.dag_id = dag->dag_id;
    row.run_id = run_id;
    row.run_type = (char *)type_name(req->type);
    row.logical_date = logical;
    row.data_interval_start = interval.start;
    row.data_interval_end = interval.end;
    row.conf = conf;
    row.queued_at = now;
    row.backfill_id = req->backfill_id;
    /* A generated id names an instant; two triggers in the same
     * microsecond must both get a run, so the store adds a suffix. A
     * scheduled or backfill id names its interval, and an id the user
     * chose is theirs: all are refused when taken. */
    bool suffix = !req->run_id && req->type != DAG_RUN_TYPE_SCHEDULED &&
                  req->type != DAG_RUN_TYPE_BACKFILL;
    char *used = NULL;
    /* The run keeps the graph it starts with: record that content's
     * version (found by digest, so usually the DAG's current one). */
    if ((rc = dag_store_begin(st)) == 0) {
      rc = dag_store_put_version(st, dag, NULL, false, now, &row.dag_version_id, NULL);
      if (rc == 0) rc = dag_store_create_run(st, &row, ids, tries, k, suffix, pk, &used);
      /* A taken id wrote nothing (the version stands, as any other time):
       * the caller's transaction goes on, as another scheduler's run for
       * the same interval must not undo this scheduler's other work. */
      if (rc == DAG_EEXIST) {
        int crc = dag_store_commit(st);
        if (crc) rc = crc;
      } else if (rc)
        dag_store_rollback(st);
      else if ((rc = dag_store_commit(st)) != 0) {
        free(used);
        used = NULL;
      }
    }
    if (rc == 0) {
      free(run_id);
      run_id = used;
    } else if (rc == DAG_EEXIST)
      *err = xasprintf("DAG '%s' already has a run '%s'", dag->dag_id, run_id);
    else if (rc)
      *err = xasprintf("cannot record the run: %s", dag_store_errmsg(st));
  }
  free(ids);
  free(tries);
  free(conf);
  if (rc == 0 && run_id_out)
    *run_id_out = run_id;
  else
    free(run_id);
  return rc;
}

void dag_scheduler_notify(const char *home) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/wakeup", home);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  /* The write is what inotify reports (IN_MODIFY); its content is unused. */
  ssize_t w = write(fd, "1\n", 2);
  DAG_UNUSED(w);
  close(fd);
}
