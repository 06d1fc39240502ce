/* api.c - the JSON API on Airflow's stable REST paths: DAGs, runs, import
 * errors, health; dispatch of every API route. Task instances, logs,
 * clearing and the grid are api_runs.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "api_sort.h"
#include "apijson.h"
#include "dag_find.h"
#include "error.h"
#include "log.h"
#include "runs.h"
#include "timeutil.h"
#include "web_api.h"
#include "web_lists.h"

/* --- shared helpers ----------------------------------------------------------------- */

bool api_query_int(struct dag_http_conn *c, const struct dag_http_request *req,
                   const char *name, long def, long min, long max, long *out) {
  char *v = dag_http_query_param(req->query, name);
  *out = def;
  if (!v) return true;
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  bool ok = !errno && end != v && *end == '\0' && n >= min && n <= max;
  if (ok)
    *out = n;
  else
    web_error(c, 400, "Bad Request", "query parameter %s must be an integer from %ld to %ld",
              name, min, max);
  free(v);
  return ok;
}

bool api_query_bool(struct dag_http_conn *c, const struct dag_http_request *req,
                    const char *name, int *out) {
  char *v = dag_http_query_param(req->query, name);
  if (!v) return true; /* *out keeps its default */
  bool ok = true;
  if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
    *out = 1;
  else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
    *out = 0;
  else
    ok = false;
  if (!ok) web_error(c, 400, "Bad Request", "query parameter %s must be true or false", name);
  free(v);
  return ok;
}

json_t *api_body_object(struct dag_http_conn *c, const struct dag_http_request *req) {
  json_error_t jerr;
  json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!j) {
    web_error(c, 400, "Bad Request", "the body is not JSON: %s (line %d, column %d)",
              jerr.text, jerr.line, jerr.column);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    web_error(c, 400, "Bad Request", "the body must be a JSON object");
    return NULL;
  }
  return j;
}

bool api_get_dag(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                 struct dag_store_dag *out) {
  int rc = dag_store_get_dag(w->store, dag_id, out);
  if (rc == 0) return true;
  if (rc == DAG_ENOTFOUND)
    web_error(c, 404, "DAG not found", "DAG with dag_id: '%s' not found", dag_id);
  else
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
  return false;
}

bool api_get_run(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                 const char *run_id, struct dag_store_run *out) {
  int rc = dag_store_get_run(w->store, dag_id, run_id, out);
  if (rc == 0) return true;
  if (rc == DAG_ENOTFOUND)
    web_error(c, 404, "DAGRun not found",
              "DAGRun with DAG ID: '%s' and DagRun ID: '%s' not found", dag_id, run_id);
  else
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
  return false;
}

#define WEB_WRITE_BUSY_MS 100

dag_store *api_writer(struct dag_web *w, struct dag_http_conn *c) {
  if (!w->write_db) return w->store;
  /* A connection per change: the read-only handle stays read-only, and a
   * change costs an open (about a millisecond) it would not otherwise. */
  struct dag_store_options opts = {.no_migrate = true,
                                   .fsync_each_commit = w->cfg->durable_fsync,
                                   .password = w->cfg->state_password,
                                   .secret_key = w->cfg->secret_key};
  dag_store *st = NULL;
  char *err = NULL;
  int rc = dag_store_open(w->write_db, &opts, &st, &err);
  if (rc) {
    LOG_WARN("web: cannot open the database to write db=%s error=\"%s\"", w->write_db,
             err ? err : dag_strerror(rc));
    if (c)
      web_error(c, 500, "Internal Server Error",
                "cannot open the database to save the change: %s", err ? err : dag_strerror(rc));
    free(err);
    return NULL;
  }
  /* The loop serves every page: a change waits for another process's
   * write lock only briefly, then is answered 503 (web_store_error). */
  dag_store_set_busy_timeout(st, WEB_WRITE_BUSY_MS);
  if (dag_store_readonly(st)) {
    /* SQLite opens a file it may not write read-only without a word; say
     * so before any change is attempted. */
    dag_store_close(st);
    if (c)
      web_error(c, 500, "Internal Server Error",
                "the database is read-only for this server (file permissions): "
                "the change cannot be saved here");
    return NULL;
  }
  return st;
}

void api_writer_done(struct dag_web *w, dag_store *st) {
  if (st && st != w->store) dag_store_close(st);
}

struct dag *api_load_dag(struct dag_web *w, struct dag_http_conn *c, const char *dag_id) {
  struct dag *dag = NULL;
  struct dag_diags broken = DAG_DIAGS_INIT;
  int rc = dag_find_load(w->store, w->cfg, dag_id, &dag, &broken);
  if (rc == DAG_ENOTFOUND) {
    char *why = broken.n ? dag_diags_join(&broken) : NULL;
    web_error(c, 404, "DAG not found", "no loadable DAG '%s' in the DAG folder%s%s", dag_id,
              why ? "; files with errors:\n" : "", why ? why : "");
    free(why);
  } else if (rc) {
    web_error(c, 500, "Internal Server Error", "cannot read the DAG folder: %s",
              strerror(-rc));
  }
  dag_diags_free(&broken);
  return dag;
}

static int by_id(const void *a, const void *b) {
  return strcmp(((const struct api_task_pos *)a)->id, ((const struct api_task_pos *)b)->id);
}

void api_order_init(struct api_task_order *o, const char *graph_json) {
  memset(o, 0, sizeof(*o));
  o->graph = json_loads(graph_json ? graph_json : "[]", 0, NULL);
  if (!json_is_array(o->graph)) {
    json_decref(o->graph);
    o->graph = json_array();
  }
  size_t n = json_array_size(o->graph);
  o->pos = xcalloc(n ? n : 1, sizeof(*o->pos));
  size_t i;
  json_t *node;
  json_array_foreach(o->graph, i, node) {
    const char *id = json_string_value(json_object_get(node, "task_id"));
    if (!id) continue;
    o->pos[o->n].id = id;
    o->pos[o->n].index = i;
    o->n++;
  }
  qsort(o->pos, o->n, sizeof(*o->pos), by_id);
}

long api_order_find(const struct api_task_order *o, const char *task_id) {
  struct api_task_pos key = {task_id, 0};
  const struct api_task_pos *p = bsearch(&key, o->pos, o->n, sizeof(*o->pos), by_id);
  return p ? (long)p->index : -1;
}

const char *api_order_type(const struct api_task_order *o, const char *task_id) {
  long i = api_order_find(o, task_id);
  if (i < 0) return NULL;
  return json_string_value(json_object_get(json_array_get(o->graph, (size_t)i), "type"));
}

void api_order_free(struct api_task_order *o) {
  json_decref(o->graph);
  free(o->pos);
  memset(o, 0, sizeof(*o));
}

/* --- DAGs ------------------------------------------------------------------------------ */

static bool has_import_error(const struct dag_store_dag *d,
                             const struct dag_store_import_error *errs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (d->fileloc && strcmp(errs[i].filename, d->fileloc) == 0) return true;
  return false;
}

static json_t *dag_json(struct dag_web *w, const struct dag_store_dag *d) {
  struct dag_store_import_error *errs = NULL;
  size_t n = 0;
  dag_store_list_import_errors(w->store, &errs, &n);
  json_t *j = dag_api_dag(d, has_import_error(d, errs, n));
  dag_store_import_errors_free(errs, n);
  return j;
}

static void list_dags(struct dag_web *w, struct dag_http_conn *c,
                      const struct dag_http_request *req) {
  long limit, offset;
  int only_active = 1, paused = -1;
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1000000000, &offset) ||
      !api_query_bool(c, req, "only_active", &only_active) ||
      !api_query_bool(c, req, "paused", &paused))
    return;
  uint64_t version;
  bool cacheable = dag_store_data_version(w->store, &version) == 0;
  if (cacheable && web_cache_answer(w, c, req->url, version)) return;
  char *pattern = dag_http_query_param(req->query, "dag_id_pattern");
  struct dag_store_dag *dags = NULL;
  size_t n = 0;
  struct dag_store_import_error *errs = NULL;
  size_t n_errs = 0;
  int rc = dag_store_list_dags_brief(w->store, &dags, &n);
  if (rc == 0) rc = dag_store_list_import_errors(w->store, &errs, &n_errs);
  if (rc) {
    free(pattern);
    dag_store_dags_free(dags, n);
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    const struct dag_store_dag *d = &dags[i];
    if (only_active && !d->is_active) continue;
    if (paused >= 0 && d->is_paused != (paused == 1)) continue;
    if (pattern && !strstr(d->dag_id, pattern)) continue;
    json_array_append_new(arr, dag_api_dag(d, has_import_error(d, errs, n_errs)));
  }
  free(pattern);
  dag_store_dags_free(dags, n);
  dag_store_import_errors_free(errs, n_errs);
  static const char *const fields[] = {
      "dag_id", "description", "fileloc", "is_paused", "is_active", "has_import_errors",
      "max_active_runs", "max_active_tasks", "next_dagrun", "last_parsed_time", NULL};
  if (!api_sort_query(c, req, fields, arr)) {
    json_decref(arr);
    return;
  }
  size_t total = json_array_size(arr);
  json_t *page = api_page(arr, offset, limit);
  json_decref(arr);
  json_t *j = json_pack("{s:o, s:I}", "dags", page, "total_entries", (json_int_t)total);
  char *text = web_json_dumps(j);
  json_decref(j);
  if (cacheable) web_cache_store(w, req->url, version, text, strlen(text));
  web_json_text(c, 200, text, strlen(text));
  free(text);
}

static void get_dag(struct dag_web *w, struct dag_http_conn *c, const char *dag_id) {
  struct dag_store_dag d;
  if (!api_get_dag(w, c, dag_id, &d)) return;
  web_json(c, 200, dag_json(w, &d));
  dag_store_dag_free(&d);
}

static void patch_dag(struct dag_web *w, struct dag_http_conn *c,
                      const struct dag_http_request *req, const char *dag_id) {
  char *mask = dag_http_query_param(req->query, "update_mask");
  bool mask_ok = !mask || strcmp(mask, "is_paused") == 0;
  free(mask);
  if (!mask_ok) {
    web_error(c, 400, "Bad Request", "only is_paused can be updated (update_mask=is_paused)");
    return;
  }
  json_t *body = api_body_object(c, req);
  if (!body) return;
  json_t *v = json_object_get(body, "is_paused");
  if (!json_is_boolean(v)) {
    json_decref(body);
    web_error(c, 400, "Bad Request", "is_paused must be true or false");
    return;
  }
  bool paused = json_is_true(v);
  json_decref(body);
  dag_store *writer = api_writer(w, c);
  if (!writer) return;
  int rc = dag_store_begin(writer);
  if (rc == 0) rc = dag_store_set_paused(writer, dag_id, paused);
  rc = web_audit_finish(w, c, writer, rc, paused ? "pause" : "unpause", dag_id, NULL, NULL);
  api_writer_done(w, writer);
  if (rc == DAG_ENOTFOUND) {
    web_error(c, 404, "DAG not found", "DAG with dag_id: '%s' not found", dag_id);
    return;
  }
  if (rc) {
    web_store_error(c, rc, "the state store failed");
    return;
  }
  LOG_INFO("web: DAG %s dag=%s", paused ? "paused" : "unpaused", dag_id);
  dag_scheduler_notify(w->cfg->home);
  get_dag(w, c, dag_id);
}

/* --- runs -------------------------------------------------------------------------------- */

static void get_run(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                    const char *run_id) {
  struct dag_store_run r;
  if (!api_get_run(w, c, dag_id, run_id, &r)) return;
  json_t *j = dag_api_run(&r);
  /* Runs linked by a trigger_dag task, for the run's page. */
  struct dag_store_run_link *links = NULL;
  size_t n = 0;
  if (dag_store_run_links(w->store, r.pk, &links, &n) == 0) dag_api_run_links(j, links, n);
  dag_store_run_links_free(links, n);
  web_json(c, 200, j);
  dag_store_run_free(&r);
}

/* Airflow's POST /dags/{dag_id}/dagRuns: dag_run_id, logical_date and conf,
 * all optional. The run is queued; the scheduler is woken at once. */
static void trigger(struct dag_web *w, struct dag_http_conn *c,
                    const struct dag_http_request *req, const char *dag_id) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  json_t *run_id = json_object_get(body, "dag_run_id");
  json_t *logical = json_object_get(body, "logical_date");
  if (!logical) logical = json_object_get(body, "execution_date"); /* Airflow < 2.2 */
  json_t *conf = json_object_get(body, "conf");
  const char *bad = NULL;
  if (run_id && !json_is_null(run_id) && !json_is_string(run_id))
    bad = "dag_run_id must be a string";
  else if (logical && !json_is_null(logical) && !json_is_string(logical))
    bad = "logical_date must be an ISO-8601 string";
  else if (conf && !json_is_null(conf) && !json_is_object(conf))
    bad = "conf must be a JSON object";
  struct dag_run_request rr;
  memset(&rr, 0, sizeof(rr));
  rr.type = DAG_RUN_TYPE_MANUAL;
  rr.run_id = json_string_value(run_id);
  char why[96], bad_date[160];
  if (!bad && json_is_string(logical) &&
      dag_time_parse_iso(json_string_value(logical), &rr.logical_date, why, sizeof(why)) != 0) {
    snprintf(bad_date, sizeof(bad_date), "logical_date is not an ISO-8601 date or time: %s",
             why);
    bad = bad_date;
  }
  if (bad) {
    json_decref(body);
    web_error(c, 400, "Bad Request", "%s", bad);
    return;
  }
  struct dag *dag = api_load_dag(w, c, dag_id);
  if (!dag) {
    json_decref(body);
    return;
  }
  char *conf_json = json_is_object(conf) ? json_dumps(conf, JSON_COMPACT) : NULL;
  rr.conf_json = conf_json;
  int64_t pk = 0;
  char *err = NULL, *created = NULL;
  dag_store *writer = api_writer(w, c);
  if (!writer) {
    free(conf_json);
    json_decref(body);
    dag_free(dag);
    return;
  }
  int rc = dag_store_begin(writer);
  if (rc == 0) rc = dag_run_create(writer, dag, &rr, &pk, &created, &err);
  rc = web_audit_finish(w, c, writer, rc, "trigger", dag_id, rc == 0 ? created : rr.run_id, NULL);
  api_writer_done(w, writer);
  free(conf_json);
  json_decref(body);
  dag_free(dag);
  if (rc) {
    if (rc == DAG_ELOCKED) {
      free(err);
      web_store_error(c, rc, "cannot trigger");
      return;
    }
    int status = rc == DAG_EINVAL ? 400 : rc == DAG_EEXIST ? 409 : rc == DAG_ENOTFOUND ? 404 : 500;
    web_error(c, status, dag_http_reason(status), "%s", err ? err : dag_strerror(rc));
    free(err);
    return;
  }
  LOG_INFO("web: run triggered dag=%s run=%s", dag_id, created);
  free(created);
  dag_scheduler_notify(w->cfg->home);
  struct dag_store_run r;
  if (dag_store_get_run_by_pk(w->store, pk, &r) != 0) {
    web_error(c, 500, "Internal Server Error", "the run was created but cannot be read back");
    return;
  }
  web_json(c, 200, dag_api_run(&r));
  dag_store_run_free(&r);
}

/* The newest runs of every DAG, for the DAG list's squares. */
static void recent_runs(struct dag_web *w, struct dag_http_conn *c,
                        const struct dag_http_request *req) {
  long limit;
  if (!api_query_int(c, req, "limit", 10, 1, 100, &limit)) return;
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  int rc = dag_store_list_recent_runs(w->store, (int)limit, &runs, &n);
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_run(&runs[i]));
  dag_store_runs_free(runs, n);
  web_json(c, 200, json_pack("{s:o, s:I}", "dag_runs", arr, "total_entries", (json_int_t)n));
}

/* The workers as the database knows them (active first, then by id), as
 * /metrics shows them: for the DAG list's Workers view. */
static void list_workers(struct dag_web *w, struct dag_http_conn *c) {
  struct dag_store_worker *ws = NULL;
  size_t n = 0;
  int rc = dag_store_list_workers(w->store, &ws, &n);
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    /* queues is stored as a JSON array; a row that is not one shows as []. */
    json_t *queues = json_loads(ws[i].queues ? ws[i].queues : "[]", 0, NULL);
    if (!json_is_array(queues)) {
      json_decref(queues);
      queues = json_array();
    }
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:o, s:s, s:i, s:i, s:o, s:o}", "worker_id", ws[i].id,
                       "hostname", ws[i].host ? ws[i].host : "", "queues", queues, "state",
                       ws[i].state, "running", ws[i].running, "concurrency",
                       ws[i].concurrency, "started_at", dag_api_time(ws[i].started_at),
                       "latest_heartbeat", dag_api_time(ws[i].last_heartbeat)));
  }
  dag_store_workers_free(ws, n);
  web_json(c, 200, json_pack("{s:o, s:I}", "workers", arr, "total_entries", (json_int_t)n));
}

/* --- health, version -------------------------------------------------------- */

/* Served alone, the page can only tell whether a scheduler holds the home:
 * its lock file names its pid. */
static bool scheduler_alive(const char *home) {
  char *path = xasprintf("%s/scheduler.lock", home);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return false;
  char buf[32] = {0};
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  char *end;
  long pid = strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return false;
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void health(struct dag_web *w, struct dag_http_conn *c) {
  bool db = dag_store_ping(w->store) == 0;
  bool sched = w->sched ? !dag_scheduler_failed(w->sched) : scheduler_alive(w->cfg->home);
  json_t *beat = w->sched && sched ? dag_api_time(dag_time_now()) : json_null();
  web_json(c, 200,
           json_pack("{s:{s:s}, s:{s:s, s:o}}", "metadatabase", "status",
                     db ? "healthy" : "unhealthy", "scheduler", "status",
                     sched ? "healthy" : "unhealthy", "latest_scheduler_heartbeat", beat));
}

/* --- dispatch -------------------------------------------------------------------------------- */

void web_api(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
             const struct dag_route_match *m) {
  char *const *p = m->params;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  switch (m->route) {
  case DAG_ROUTE_DAGS:
    list_dags(w, c, req);
    break;
  case DAG_ROUTE_DAG:
    if (get)
      get_dag(w, c, p[0]);
    else
      patch_dag(w, c, req, p[0]);
    break;
  case DAG_ROUTE_RUNS:
    if (get)
      api_list_runs(w, c, req, p[0]);
    else
      trigger(w, c, req, p[0]);
    break;
  case DAG_ROUTE_RUN:
    get_run(w, c, p[0], p[1]);
    break;
  case DAG_ROUTE_TIS:
  case DAG_ROUTE_TI:
  case DAG_ROUTE_LOG:
  case DAG_ROUTE_TRIES:
  case DAG_ROUTE_CLEAR:
  case DAG_ROUTE_GRID:
    api_runs(w, c, req, m);
    break;
  case DAG_ROUTE_XCOMS:
  case DAG_ROUTE_XCOM:
    api_xcom(w, c, req, m);
    break;
  case DAG_ROUTE_TI_MAPPED:
  case DAG_ROUTE_TI_MAP:
    api_mapped(w, c, req, m);
    break;
  case DAG_ROUTE_DATASETS:
  case DAG_ROUTE_DATASET:
  case DAG_ROUTE_DATASET_EVENTS:
    api_datasets(w, c, req, m);
    break;
  case DAG_ROUTE_RUNS_LIST:
    api_list_runs_batch(w, c, req);
    break;
  case DAG_ROUTE_IMPORT_ERRORS:
  case DAG_ROUTE_IMPORT_ERROR:
  case DAG_ROUTE_DAG_DETAILS:
  case DAG_ROUTE_TASKS:
  case DAG_ROUTE_DAG_STATS:
  case DAG_ROUTE_CONFIG:
    api_dags(w, c, req, m);
    break;
  case DAG_ROUTE_PLUGINS:
    api_plugins(w, c, req);
    break;
  case DAG_ROUTE_HEALTH:
    health(w, c);
    break;
  case DAG_ROUTE_VERSION:
    web_json(c, 200, json_pack("{s:s, s:n}", "version", DAGCTL_VERSION, "git_version"));
    break;
  case DAG_ROUTE_RECENT_RUNS:
    recent_runs(w, c, req);
    break;
  case DAG_ROUTE_WORKERS:
    list_workers(w, c);
    break;
  case DAG_ROUTE_VERSIONS:
  case DAG_ROUTE_SOURCE:
    api_versions(w, c, req, m);
    break;
  case DAG_ROUTE_POOLS:
  case DAG_ROUTE_POOL:
    api_pools(w, c, req, m);
    break;
  case DAG_ROUTE_VARIABLES:
  case DAG_ROUTE_VARIABLE:
  case DAG_ROUTE_CONNECTIONS:
  case DAG_ROUTE_CONNECTION:
    api_vars(w, c, req, m);
    break;
  case DAG_ROUTE_BACKFILLS:
  case DAG_ROUTE_BACKFILL:
  case DAG_ROUTE_BACKFILL_DRY_RUN:
  case DAG_ROUTE_BACKFILL_CANCEL:
  case DAG_ROUTE_BACKFILL_PAUSE:
  case DAG_ROUTE_BACKFILL_UNPAUSE:
    web_backfills(w, c, req, m);
    break;
  case DAG_ROUTE_TI_MARK:
  case DAG_ROUTE_MARK_TIS:
  case DAG_ROUTE_RUN_STATE:
    web_mark(w, c, req, m);
    break;
  case DAG_ROUTE_CALLBACK_LOG:
    api_callback_log(w, c, p[0], p[1]);
    break;
  case DAG_ROUTE_ALERTS:
    api_alerts(w, c, req);
    break;
  default:
    web_error(c, 404, "Not Found", "no such API endpoint");
  }
}
