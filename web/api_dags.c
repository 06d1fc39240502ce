/* api_dags.c - Airflow's routes about DAGs as a whole and the server: a
 * DAG's details and tasks (from its file, as Airflow serves them from the
 * parsed DAG), dagStats, importErrors, config (secrets hidden) and
 * plugins. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api_sort.h"
#include "apijson.h"
#include "config.h"
#include "error.h"
#include "param_schema.h"
#include "priority.h"
#include "state.h"
#include "timeutil.h"
#include "web_api.h"
#include "web_lists.h"

/* Airflow's TimeDelta object, or null for 0 (unset). */
static json_t *time_delta(int64_t us) {
  if (us <= 0) return json_null();
  int64_t secs = us / DAG_USEC_PER_SEC;
  return json_pack("{s:s, s:I, s:I, s:I}", "__type", "TimeDelta", "days",
                   (json_int_t)(secs / 86400), "seconds", (json_int_t)(secs % 86400),
                   "microseconds", (json_int_t)(us % DAG_USEC_PER_SEC));
}

/* --- a DAG's details ------------------------------------------------------------------- */

/* GET /dags/{dag_id}/details: Airflow's DAGDetail, the DAG object and what
 * only its file says. */
static void details(struct dag_web *w, struct dag_http_conn *c, const char *dag_id) {
  struct dag_store_dag d;
  if (!api_get_dag(w, c, dag_id, &d)) return;
  struct dag *dag = api_load_dag(w, c, dag_id);
  if (!dag) {
    dag_store_dag_free(&d);
    return;
  }
  struct dag_store_import_error *errs = NULL;
  size_t n_errs = 0;
  bool broken = false;
  if (dag_store_list_import_errors(w->store, &errs, &n_errs) == 0)
    for (size_t i = 0; i < n_errs; i++)
      broken = broken || (d.fileloc && strcmp(errs[i].filename, d.fileloc) == 0);
  dag_store_import_errors_free(errs, n_errs);
  json_t *j = dag_api_dag(&d, broken);
  json_object_set_new(j, "timezone", json_string(dag->timezone ? dag->timezone : "UTC"));
  json_object_set_new(j, "catchup", json_boolean(dag->catchup));
  json_object_set_new(j, "orientation", json_string("LR"));
  json_object_set_new(j, "concurrency", json_integer(dag->max_active_tasks));
  json_object_set_new(j, "start_date", dag_api_time(dag->start_date));
  json_object_set_new(j, "end_date", dag_api_time(dag->end_date));
  json_object_set_new(j, "dag_run_timeout", json_null());
  json_object_set_new(j, "dataset_expression", json_null());
  json_object_set_new(j, "doc_md", json_null());
  /* Airflow's serialized Params, with their schemas (param_schema.h). */
  json_object_set_new(j, "params", dag_params_airflow(dag->params, dag->params_schema));
  json_object_set_new(j, "is_paused_upon_creation", json_boolean(dag->is_paused_upon_creation));
  json_object_set_new(j, "last_parsed", dag_api_time(d.last_parsed_time));
  json_object_set_new(j, "template_search_path", json_null());
  json_object_set_new(j, "render_template_as_native_obj", json_false());
  dag_free(dag);
  dag_store_dag_free(&d);
  web_json(c, 200, j);
}

/* --- a DAG's tasks ----------------------------------------------------------------------- */

static const char *const task_fields[] = {
    "task_id", "task_display_name", "owner", "start_date", "end_date", "trigger_rule",
    "depends_on_past", "is_mapped", "wait_for_downstream", "retries", "queue", "pool",
    "pool_slots", "retry_exponential_backoff", "priority_weight", "weight_rule", NULL};

/* Airflow's Task: dagctl's task, with Airflow's neutral values where
 * dagctl has no such setting (one pool, no priorities, no colours). */
static json_t *task_json(const struct dag *dag, const struct dag_task *t) {
  json_t *down = json_array();
  for (size_t i = 0; i < t->n_downstream; i++)
    json_array_append_new(down, json_string(dag->tasks[t->downstream[i]].id));
  json_t *templated = json_array();
  if (t->type == DAG_TASK_SHELL) json_array_append_new(templated, json_string("command"));
  if (t->type == DAG_TASK_EXEC) json_array_append_new(templated, json_string("argv"));
  if (t->type != DAG_TASK_PLUGIN) {
    json_array_append_new(templated, json_string("env"));
    json_array_append_new(templated, json_string("cwd"));
  }
  json_t *o = json_object();
  json_object_set_new(o, "class_ref", json_pack("{s:s, s:s}", "module_path", "dagctl.tasks",
                                                "class_name", t->type_name));
  json_object_set_new(o, "task_id", json_string(t->id));
  json_object_set_new(o, "task_display_name", json_string(t->id));
  json_object_set_new(o, "owner", json_string(""));
  json_object_set_new(o, "start_date", dag_api_time(dag->start_date));
  json_object_set_new(o, "end_date", dag_api_time(dag->end_date));
  json_object_set_new(o, "trigger_rule", json_string(dag_trigger_rule_name(t->trigger_rule)));
  json_object_set_new(o, "extra_links", json_array());
  json_object_set_new(o, "depends_on_past", json_false());
  json_object_set_new(o, "is_mapped", json_false());
  json_object_set_new(o, "wait_for_downstream", json_false());
  json_object_set_new(o, "retries", json_integer(t->args.retries));
  json_object_set_new(o, "queue", json_string(t->queue ? t->queue : "default"));
  json_object_set_new(o, "executor", json_null());
  json_object_set_new(o, "pool", json_string(dag_task_pool(t)));
  json_object_set_new(o, "pool_slots", json_integer(t->args.pool_slots));
  json_object_set_new(o, "execution_timeout", time_delta(t->args.execution_timeout_us));
  json_object_set_new(o, "retry_delay", time_delta(t->args.retry_delay_us));
  json_object_set_new(o, "retry_exponential_backoff",
                      json_boolean(t->args.retry_exponential_backoff));
  json_object_set_new(o, "priority_weight", json_integer(t->args.priority_weight));
  json_object_set_new(o, "weight_rule", json_string(dag_weight_rule_name(t->args.weight_rule)));
  json_object_set_new(o, "ui_color", json_string("#fff"));
  json_object_set_new(o, "ui_fgcolor", json_string("#000"));
  json_object_set_new(o, "template_fields", templated);
  json_object_set_new(o, "downstream_task_ids", down);
  json_object_set_new(o, "doc_md", json_null());
  return o;
}

/* GET /dags/{dag_id}/tasks: every task, by task_id unless order_by says
 * otherwise (Airflow's default). */
static void tasks(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const char *dag_id) {
  struct dag *dag = api_load_dag(w, c, dag_id);
  if (!dag) return;
  json_t *arr = json_array();
  for (size_t i = 0; i < dag->n_tasks; i++) json_array_append_new(arr, task_json(dag, &dag->tasks[i]));
  dag_free(dag);
  char *order_by = dag_http_query_param(req->query, "order_by");
  bool ok = api_sort(c, order_by ? order_by : "task_id", task_fields, arr);
  free(order_by);
  if (!ok) {
    json_decref(arr);
    return;
  }
  web_json(c, 200, json_pack("{s:o}", "tasks", arr));
}

/* --- dagStats ------------------------------------------------------------------------------ */

/* GET /dagStats?dag_ids=a,b: for each DAG named, its runs counted by
 * state, every state listed (0 too), as Airflow does; a DAG that does not
 * exist counts zeros. */
static void dag_stats(struct dag_web *w, struct dag_http_conn *c,
                      const struct dag_http_request *req) {
  char *ids = dag_http_query_param(req->query, "dag_ids");
  if (!ids || !*ids) {
    free(ids);
    web_error(c, 400, "Bad Request", "dag_ids is required: one or more DAG ids, comma-separated");
    return;
  }
  static const enum dag_run_state states[] = {DAG_RUN_QUEUED, DAG_RUN_RUNNING, DAG_RUN_SUCCESS,
                                              DAG_RUN_FAILED};
  json_t *dags = json_array();
  int rc = 0;
  for (char *p = ids; *p && rc == 0;) {
    size_t len = strcspn(p, ",");
    char *id = xstrndup(p, len);
    p += len;
    if (*p == ',') p++;
    if (!*id) {
      free(id);
      continue;
    }
    struct dag_store_run_filter f = {.dag_id = id};
    struct dag_store_run *runs = NULL;
    size_t n = 0;
    rc = dag_store_find_runs(w->store, &f, &runs, &n);
    json_t *stats = json_array();
    for (size_t s = 0; s < DAG_ARRAY_SIZE(states); s++) {
      long count = 0;
      for (size_t i = 0; i < n; i++) count += runs[i].state == states[s];
      json_array_append_new(stats, json_pack("{s:s, s:i}", "state",
                                             dag_run_state_name(states[s]), "count", (int)count));
    }
    dag_store_runs_free(runs, n);
    json_array_append_new(dags, json_pack("{s:s, s:o}", "dag_id", id, "stats", stats));
    free(id);
  }
  free(ids);
  if (rc) {
    json_decref(dags);
    web_store_error(c, rc, "cannot count runs");
    return;
  }
  size_t n = json_array_size(dags);
  web_json(c, 200, json_pack("{s:o, s:I}", "dags", dags, "total_entries", (json_int_t)n));
}

/* --- import errors ----------------------------------------------------------------------- */

static const char *const import_error_fields[] = {"import_error_id", "timestamp", "filename",
                                                  NULL};

/* GET /importErrors (order_by, limit, offset) and /importErrors/{id}. */
static void import_errors(struct dag_web *w, struct dag_http_conn *c,
                          const struct dag_http_request *req, const char *one) {
  long limit = 100, offset = 0, want = 0;
  if (one) {
    char *end;
    errno = 0;
    want = strtol(one, &end, 10);
    if (errno || end == one || *end || want < 1 || want > INT32_MAX) {
      web_error(c, 400, "Bad Request", "the import error id must be a positive integer");
      return;
    }
  } else if (!api_query_int(c, req, "limit", 100, 1, 100000, &limit) ||
             !api_query_int(c, req, "offset", 0, 0, 1000000000, &offset)) {
    return;
  }
  struct dag_store_import_error *errs = NULL;
  size_t n = 0;
  int rc = dag_store_list_import_errors(w->store, &errs, &n);
  if (rc) {
    web_store_error(c, rc, "cannot list import errors");
    return;
  }
  json_t *arr = json_array(), *found = NULL;
  for (size_t i = 0; i < n; i++) {
    json_t *e = dag_api_import_error(&errs[i]);
    if (one && dag_api_import_error_id(errs[i].filename) == want) found = json_incref(e);
    json_array_append_new(arr, e);
  }
  dag_store_import_errors_free(errs, n);
  if (one) {
    json_decref(arr);
    if (found)
      web_json(c, 200, found);
    else
      web_error(c, 404, "Import error not found",
                "The ImportError with import_error_id: `%ld` was not found", want);
    return;
  }
  if (!api_sort_query(c, req, import_error_fields, arr)) {
    json_decref(arr);
    return;
  }
  json_t *page = api_page(arr, offset, limit);
  json_decref(arr);
  web_json(c, 200, json_pack("{s:o, s:I}", "import_errors", page, "total_entries", (json_int_t)n));
}

/* --- config -------------------------------------------------------------------------------- */

/* GET /config[?section=S]: every setting as `dagctl config show` lists it,
 * in Airflow's Config shape. A secret reads "< hidden >", as in Airflow; an
 * unset setting "". As text/plain (an INI-like listing) when the client
 * prefers it, as Airflow answers. */
static void config(struct dag_web *w, struct dag_http_conn *c,
                   const struct dag_http_request *req) {
  int kind = dag_http_accept_choose(dag_http_header(req, "Accept"), "application/json",
                                    "text/plain");
  if (kind < 0) {
    web_error(c, 406, "Not Acceptable", "the configuration is served as application/json or text/plain");
    return;
  }
  char *only = dag_http_query_param(req->query, "section");
  struct dag_config_item *items = NULL;
  size_t n = 0;
  dag_config_items(w->cfg, &items, &n);
  json_t *sections = json_array(), *cur = NULL;
  const char *cur_name = NULL;
  struct strbuf text = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    const struct dag_config_item *it = &items[i];
    if (only && strcmp(it->section, only) != 0) continue;
    if (!cur_name || strcmp(cur_name, it->section) != 0) {
      cur = json_array();
      json_array_append_new(sections, json_pack("{s:s, s:o}", "name", it->section, "options", cur));
      cur_name = it->section;
      sb_appendf(&text, "%s[%s]\n", text.len ? "\n" : "", it->section);
    }
    const char *value = it->secret && it->value ? "< hidden >" : it->value ? it->value : "";
    json_array_append_new(cur, json_pack("{s:s, s:s}", "key", it->key, "value", value));
    sb_appendf(&text, "%s = %s\n", it->key, value);
  }
  dag_config_items_free(items, n);
  if (only && json_array_size(sections) == 0) {
    web_error(c, 404, "Section not found", "section=%s not found.", only);
  } else if (kind == 1) {
    dag_http_respond(c, 200, "text/plain; charset=utf-8", "Cache-Control: no-store\r\n",
                     sb_str(&text), text.len);
  } else {
    web_json(c, 200, json_pack("{s:O}", "sections", sections));
  }
  json_decref(sections);
  sb_free(&text);
  free(only);
}

/* --- dispatch ------------------------------------------------------------------------------- */

void api_dags(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m) {
  char *const *p = m->params;
  switch (m->route) {
  case DAG_ROUTE_DAG_DETAILS:
    details(w, c, p[0]);
    break;
  case DAG_ROUTE_TASKS:
    tasks(w, c, req, p[0]);
    break;
  case DAG_ROUTE_DAG_STATS:
    dag_stats(w, c, req);
    break;
  case DAG_ROUTE_IMPORT_ERRORS:
    import_errors(w, c, req, NULL);
    break;
  case DAG_ROUTE_IMPORT_ERROR:
    import_errors(w, c, req, p[0]);
    break;
  case DAG_ROUTE_CONFIG:
    config(w, c, req);
    break;
  default:
    web_error(c, 404, "Not Found", "no such API endpoint");
  }
}
