/* api_mark.c - states set by hand, with Airflow 2.10's stable REST paths:
 *   PATCH /api/v1/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}
 *         {dry_run (default true), new_state}  -> TaskInstanceReference
 *   POST  /api/v1/dags/{dag_id}/updateTaskInstancesState
 *         {dry_run (default true), task_id, dag_run_id | execution_date,
 *          include_upstream, include_downstream, include_future,
 *          include_past, new_state}  -> {task_instances: [TaskInstanceReference]}
 *   PATCH /api/v1/dags/{dag_id}/dagRuns/{run_id}  {state}  -> the run
 *   DELETE /api/v1/dags/{dag_id}/dagRuns/{run_id}  -> 204; 202 when the
 *         scheduler deletes it once its tasks are stopped (run_delete.h)
 * (mark.h, store_mark.h). Each change is audited in its transaction. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apijson.h"
#include "dag_find.h"
#include "error.h"
#include "log.h"
#include "mark.h"
#include "run_delete.h"
#include "runs.h"
#include "store_mark.h"
#include "timeutil.h"
#include "web_api.h"
#include "web_int.h"

static bool flag(json_t *body, const char *name, bool def, const char **bad) {
  json_t *v = json_object_get(body, name);
  if (!v || json_is_null(v)) return def;
  if (!json_is_boolean(v)) {
    *bad = name;
    return def;
  }
  return json_is_true(v);
}

/* The run's own graph (its version), as the scheduler runs it. */
static struct dag *run_dag(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                           const struct dag_store_run *run) {
  struct dag *dag = NULL;
  if (run->dag_version_id && dag_find_load_version(w->store, run->dag_version_id, &dag) == 0)
    return dag;
  return api_load_dag(w, c, dag_id);
}

static json_t *reference(const char *dag_id, const struct dag_mark_item *it) {
  return json_pack("{s:s, s:s, s:s, s:o}", "task_id", it->task_id, "dag_id", dag_id,
                   "dag_run_id", it->run_id, "execution_date", dag_api_time(it->logical_date));
}

/* Mark; answers. `one`: PATCH of one task instance (its reference alone). */
static void mark(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                 const char *run_id, const char *task_id, json_t *body, bool one) {
  const char *bad = NULL;
  struct dag_mark_request r;
  memset(&r, 0, sizeof(r));
  r.dry_run = flag(body, "dry_run", true, &bad);
  r.upstream = flag(body, "include_upstream", false, &bad);
  r.downstream = flag(body, "include_downstream", false, &bad);
  r.future = flag(body, "include_future", false, &bad);
  r.past = flag(body, "include_past", false, &bad);
  const char *state = json_string_value(json_object_get(body, "new_state"));
  if (bad) {
    web_error(c, 400, "Bad Request", "%s must be true or false", bad);
    return;
  }
  if (!state || dag_task_state_parse(state, &r.state) != 0 ||
      (r.state != DAG_TI_SUCCESS && r.state != DAG_TI_FAILED && r.state != DAG_TI_SKIPPED)) {
    web_error(c, 400, "Bad Request", "new_state must be success, failed or skipped");
    return;
  }
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  struct dag *dag = run_dag(w, c, dag_id, &run);
  if (!dag) {
    dag_store_run_free(&run);
    return;
  }
  r.run_id = run.run_id;
  r.task_ids = &task_id;
  r.n_tasks = 1;
  struct dag_mark_item *items = NULL;
  size_t n = 0, cleared = 0;
  char *err = NULL;
  int rc;
  if (r.dry_run) {
    rc = dag_mark_tasks(w->store, dag, &r, &items, &n, &cleared, &err);
  } else {
    dag_store *writer = api_writer(w, c);
    if (!writer) {
      dag_free(dag);
      dag_store_run_free(&run);
      return;
    }
    rc = dag_store_begin(writer);
    if (rc == 0) rc = dag_mark_tasks(writer, dag, &r, &items, &n, &cleared, &err);
    char event[32];
    snprintf(event, sizeof(event), "mark.%s", dag_task_state_name(r.state));
    rc = web_audit_finish(w, c, writer, rc, event, dag_id, run.run_id, task_id);
    api_writer_done(w, writer);
    if (rc == 0) {
      LOG_INFO("web: marked dag=%s run=%s task=%s state=%s changed=%zu cleared=%zu", dag_id,
               run.run_id, task_id, state, n, cleared);
      dag_scheduler_notify(w->cfg->home);
    }
  }
  if (rc == DAG_ENOTFOUND) {
    web_error(c, 404, "Not Found", "%s", err ? err : "no such task");
  } else if (rc == DAG_ESTATE) {
    web_error(c, 409, "Conflict", "%s", err ? err : "the run was imported");
  } else if (rc) {
    web_store_error(c, rc, "cannot mark");
  } else if (one) {
    /* The one task instance, changed or not. */
    struct dag_mark_item it = {.run_id = run.run_id, .task_id = (char *)task_id,
                               .logical_date = run.logical_date};
    web_json(c, 200, reference(dag_id, &it));
  } else {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, reference(dag_id, &items[i]));
    web_json(c, 200, json_pack("{s:o}", "task_instances", arr));
  }
  free(err);
  dag_mark_items_free(items, n);
  dag_free(dag);
  dag_store_run_free(&run);
}

static void update_states(struct dag_web *w, struct dag_http_conn *c,
                          const struct dag_http_request *req, const char *dag_id) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  const char *task_id = json_string_value(json_object_get(body, "task_id"));
  const char *run_id = json_string_value(json_object_get(body, "dag_run_id"));
  const char *date = json_string_value(json_object_get(body, "execution_date"));
  char *found = NULL;
  if (!task_id) {
    web_error(c, 400, "Bad Request", "task_id (a string) names the task to mark");
  } else if (!run_id == !date) {
    web_error(c, 400, "Bad Request", "give either dag_run_id or execution_date");
  } else if (date) {
    /* The run at that logical date. */
    dag_time_t t;
    char why[96];
    struct dag_store_run run;
    if (dag_time_parse_iso(date, &t, why, sizeof(why)) != 0) {
      web_error(c, 400, "Bad Request", "execution_date is not an ISO-8601 date or time: %s", why);
    } else if (dag_store_run_at(w->store, dag_id, t, &run) != 0) {
      web_error(c, 404, "Not Found", "DAG '%s' has no run at %s", dag_id, date);
    } else {
      found = run.run_id;
      run.run_id = NULL;
      dag_store_run_free(&run);
      mark(w, c, dag_id, found, task_id, body, false);
    }
  } else {
    mark(w, c, dag_id, run_id, task_id, body, false);
  }
  free(found);
  json_decref(body);
}

static void patch_ti(struct dag_web *w, struct dag_http_conn *c,
                     const struct dag_http_request *req, char *const *p) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  mark(w, c, p[0], p[1], p[2], body, true);
  json_decref(body);
}

/* Airflow's PATCH .../dagRuns/{run_id} {state}: success or failed marks the
 * run (store_mark.h); queued clears every task to run it again. */
static void patch_run(struct dag_web *w, struct dag_http_conn *c,
                      const struct dag_http_request *req, const char *dag_id,
                      const char *run_id) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  const char *state = json_string_value(json_object_get(body, "state"));
  enum dag_run_state rs;
  if (!state || dag_run_state_parse(state, &rs) != 0 || rs == DAG_RUN_RUNNING) {
    web_error(c, 400, "Bad Request", "state must be success, failed or queued");
    json_decref(body);
    return;
  }
  json_decref(body);
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  struct dag *dag = rs == DAG_RUN_QUEUED ? run_dag(w, c, dag_id, &run) : NULL;
  if (rs == DAG_RUN_QUEUED && !dag) {
    dag_store_run_free(&run);
    return;
  }
  dag_store *writer = api_writer(w, c);
  if (!writer) {
    dag_free(dag);
    dag_store_run_free(&run);
    return;
  }
  int rc = dag_store_begin(writer);
  if (rc == 0 && rs == DAG_RUN_QUEUED) {
    const char **ids = xcalloc(dag->n_tasks, sizeof(*ids));
    int *retries = xcalloc(dag->n_tasks, sizeof(*retries));
    for (size_t i = 0; i < dag->n_tasks; i++) {
      ids[i] = dag->tasks[i].id;
      retries[i] = dag->tasks[i].args.retries;
    }
    rc = dag_store_clear(writer, run.pk, ids, retries, dag->n_tasks, NULL, NULL);
    free(ids);
    free(retries);
  } else if (rc == 0) {
    size_t changed = 0;
    rc = dag_store_run_mark(writer, run.pk, rs, dag_time_now(), &changed);
  }
  char event[32];
  if (rs == DAG_RUN_QUEUED)
    snprintf(event, sizeof(event), "clear");
  else
    snprintf(event, sizeof(event), "mark.%s", dag_run_state_name(rs));
  rc = web_audit_finish(w, c, writer, rc, event, dag_id, run.run_id, NULL);
  api_writer_done(w, writer);
  dag_free(dag);
  struct dag_store_run after;
  if (rc == DAG_ESTATE) {
    web_error(c, 409, "Conflict", "run %s was imported from another home", run.run_id);
  } else if (rc) {
    web_store_error(c, rc, "cannot change the run");
  } else if (dag_store_get_run_by_pk(w->store, run.pk, &after) != 0) {
    web_error(c, 500, "Internal Server Error", "the run changed but cannot be read back");
  } else {
    LOG_INFO("web: run state set dag=%s run=%s state=%s", dag_id, run.run_id,
             dag_run_state_name(rs));
    dag_scheduler_notify(w->cfg->home);
    web_json(c, 200, dag_api_run(&after));
    dag_store_run_free(&after);
  }
  dag_store_run_free(&run);
}

static void delete_run(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                       const char *run_id) {
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  dag_store *writer = api_writer(w, c);
  if (!writer) {
    dag_store_run_free(&run);
    return;
  }
  bool deferred = false;
  int rc = dag_store_begin(writer);
  if (rc == 0) rc = dag_run_delete(writer, &run, &deferred);
  rc = web_audit_finish(w, c, writer, rc, "run.delete", dag_id, run.run_id, NULL);
  api_writer_done(w, writer);
  if (rc == DAG_ESTATE) {
    web_error(c, 409, "Conflict", "run %s is being deleted already", run.run_id);
  } else if (rc) {
    web_store_error(c, rc, "cannot delete the run");
  } else if (deferred) {
    LOG_INFO("web: run to be deleted once its tasks stop dag=%s run=%s", dag_id, run.run_id);
    dag_scheduler_notify(w->cfg->home);
    web_json(c, 202, json_pack("{s:s, s:s, s:b}", "dag_id", dag_id, "dag_run_id", run.run_id,
                               "deleted", false));
  } else {
    int lrc = dag_run_remove_logs(w->cfg->home, dag_id, run.run_id);
    if (lrc)
      LOG_WARN("web: cannot remove a deleted run's logs dag=%s run=%s error=\"%s\"", dag_id,
               run.run_id, dag_strerror(lrc));
    LOG_INFO("web: run deleted dag=%s run=%s", dag_id, run.run_id);
    dag_scheduler_notify(w->cfg->home);
    dag_http_respond(c, 204, "application/json", NULL, "", 0);
  }
  dag_store_run_free(&run);
}

void web_mark(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m) {
  char *const *p = m->params;
  switch (m->route) {
  case DAG_ROUTE_TI_MARK:
    patch_ti(w, c, req, p);
    break;
  case DAG_ROUTE_MARK_TIS:
    update_states(w, c, req, p[0]);
    break;
  case DAG_ROUTE_RUN_STATE:
    if (req->method == HTTP_DELETE)
      delete_run(w, c, p[0], p[1]);
    else
      patch_run(w, c, req, p[0], p[1]);
    break;
  default:
    web_error(c, 404, "Not Found", "no such API endpoint");
  }
}
