/* api_lists.c - Airflow's lists of runs and task instances: one DAG or all
 * of them (`~`), GET and the batch POST dags/~/dagRuns/list, with Airflow's
 * filters, `order_by` and paging. The lists are built in memory from the
 * store's rows (newest first), filtered, sorted, then cut into a page. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api_sort.h"
#include "apijson.h"
#include "error.h"
#include "store_pools.h"
#include "timeutil.h"
#include "web_api.h"
#include "web_lists.h"

/* What a client may order runs and task instances by: their scalar
 * fields. */
static const char *const run_fields[] = {
    "dag_id",         "dag_run_id",          "logical_date",      "execution_date",
    "start_date",     "end_date",            "data_interval_start", "data_interval_end",
    "queued_at",      "state",               "run_type",          "external_trigger",
    "dag_version_number", NULL};
const char *const api_ti_fields[] = {
    "task_id",  "dag_id",    "dag_run_id", "execution_date", "logical_date", "start_date",
    "end_date", "duration",  "state",      "try_number",     "max_tries",    "operator",
    "pid",      "map_index", "pool",       "queue",          "priority_weight", NULL};

/* A time window: a bound of 0 is open. */
struct window {
  dag_time_t gte, lte;
};

struct run_query {
  const char *dag_id;  /* one DAG; NULL: every DAG */
  json_t *dag_ids;     /* array of strings, or NULL: no filter (owned) */
  json_t *states;      /* array of strings, or NULL: no filter (owned) */
  struct window execution, start, end;
  long offset, limit;
  char *order_by; /* owned; NULL: newest first */
};

static void run_query_free(struct run_query *q) {
  json_decref(q->dag_ids);
  json_decref(q->states);
  free(q->order_by);
}

static bool in_window(const struct window *w, dag_time_t t) {
  if (w->gte && (!t || t < w->gte)) return false;
  if (w->lte && (!t || t > w->lte)) return false;
  return true;
}

static bool in_list(const json_t *list, const char *s) {
  if (!list) return true;
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
      return true;
  return false;
}

/* Every value of query parameter `name` (it may repeat: state=a&state=b),
 * as an array of strings; NULL when it does not occur. */
static json_t *query_all(const char *query, const char *name) {
  json_t *out = NULL;
  const char *p = query;
  while (*p) {
    size_t len = strcspn(p, "&");
    size_t klen = strcspn(p, "=&");
    char *key = dag_http_decode(p, klen, true);
    if (key && strcmp(key, name) == 0) {
      char *v = klen < len ? dag_http_decode(p + klen + 1, len - klen - 1, true) : xstrdup("");
      if (v) {
        if (!out) out = json_array();
        json_array_append_new(out, json_string(v));
      }
      free(v);
    }
    free(key);
    p += len;
    if (*p == '&') p++;
  }
  return out;
}

/* A date bound from text; false after answering 400 naming `name`. */
static bool parse_bound(struct dag_http_conn *c, const char *name, const char *text,
                        dag_time_t *out) {
  char why[96];
  if (dag_time_parse_iso(text, out, why, sizeof(why)) == 0) return true;
  web_error(c, 400, "Bad Request", "%s is not an ISO-8601 date or time: %s", name, why);
  return false;
}

static bool query_bound(struct dag_http_conn *c, const struct dag_http_request *req,
                        const char *name, dag_time_t *out) {
  char *v = dag_http_query_param(req->query, name);
  bool ok = !v || parse_bound(c, name, v, out);
  free(v);
  return ok;
}

static bool query_windows(struct dag_http_conn *c, const struct dag_http_request *req,
                          struct run_query *q) {
  return query_bound(c, req, "execution_date_gte", &q->execution.gte) &&
         query_bound(c, req, "execution_date_lte", &q->execution.lte) &&
         query_bound(c, req, "start_date_gte", &q->start.gte) &&
         query_bound(c, req, "start_date_lte", &q->start.lte) &&
         query_bound(c, req, "end_date_gte", &q->end.gte) &&
         query_bound(c, req, "end_date_lte", &q->end.lte);
}

/* Runs of q->dag_id (or every DAG) that pass the filters, newest first.
 * Caller frees with dag_store_runs_free(). False after answering. */
static bool find_runs(struct dag_web *w, struct dag_http_conn *c, const struct run_query *q,
                      struct dag_store_run **out, size_t *n) {
  struct dag_store_run_filter f = {.dag_id = q->dag_id};
  struct dag_store_run *all = NULL;
  size_t n_all = 0;
  int rc = dag_store_find_runs(w->store, &f, &all, &n_all);
  if (rc) {
    web_store_error(c, rc, "cannot list runs");
    return false;
  }
  /* Rows filtered out are freed at once; the kept ones move down. */
  size_t k = 0;
  for (size_t i = 0; i < n_all; i++) {
    const struct dag_store_run *r = &all[i];
    bool keep = in_list(q->dag_ids, r->dag_id) && in_list(q->states, dag_run_state_name(r->state)) &&
                in_window(&q->execution, r->logical_date) && in_window(&q->start, r->start_date) &&
                in_window(&q->end, r->end_date);
    if (keep)
      all[k++] = all[i];
    else
      dag_store_run_free(&all[i]);
  }
  *out = all;
  *n = k;
  return true;
}

static void answer_runs(struct dag_web *w, struct dag_http_conn *c, struct run_query *q) {
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  if (!find_runs(w, c, q, &runs, &n)) return;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_run(&runs[i]));
  dag_store_runs_free(runs, n);
  if (!api_sort(c, q->order_by, run_fields, arr)) {
    json_decref(arr);
    return;
  }
  json_t *page = api_page(arr, q->offset, q->limit);
  json_decref(arr);
  web_json(c, 200, json_pack("{s:o, s:I}", "dag_runs", page, "total_entries", (json_int_t)n));
}

/* A DAG named in the path must exist (404), as in Airflow; `~` is every
 * DAG. */
static bool dag_scope(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                      const char **out) {
  *out = NULL;
  if (strcmp(dag_id, "~") == 0) return true;
  struct dag_store_dag d;
  if (!api_get_dag(w, c, dag_id, &d)) return false;
  dag_store_dag_free(&d);
  *out = dag_id;
  return true;
}

void api_list_runs(struct dag_web *w, struct dag_http_conn *c,
                   const struct dag_http_request *req, const char *dag_id) {
  struct run_query q = {0};
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &q.limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1000000000, &q.offset) ||
      !query_windows(c, req, &q) || !dag_scope(w, c, dag_id, &q.dag_id))
    return;
  q.states = query_all(req->query, "state");
  q.order_by = dag_http_query_param(req->query, "order_by");
  answer_runs(w, c, &q);
  run_query_free(&q);
}

/* A list of strings from the body, or NULL when absent; false after
 * answering 400. */
static bool body_strings(struct dag_http_conn *c, json_t *body, const char *name, json_t **out) {
  json_t *v = json_object_get(body, name);
  *out = NULL;
  if (!v || json_is_null(v)) return true;
  bool ok = json_is_array(v);
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s) ok = ok && json_is_string(s);
  if (!ok) {
    web_error(c, 400, "Bad Request", "%s must be a list of strings", name);
    return false;
  }
  *out = json_incref(v);
  return true;
}

static bool body_bound(struct dag_http_conn *c, json_t *body, const char *name,
                       dag_time_t *out) {
  json_t *v = json_object_get(body, name);
  if (!v || json_is_null(v)) return true;
  if (!json_is_string(v)) {
    web_error(c, 400, "Bad Request", "%s must be an ISO-8601 string", name);
    return false;
  }
  return parse_bound(c, name, json_string_value(v), out);
}

static bool body_int(struct dag_http_conn *c, json_t *body, const char *name, long min,
                     long max, long *out) {
  json_t *v = json_object_get(body, name);
  if (!v || json_is_null(v)) return true;
  if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
    web_error(c, 400, "Bad Request", "%s must be an integer from %ld to %ld", name, min, max);
    return false;
  }
  *out = (long)json_integer_value(v);
  return true;
}

void api_list_runs_batch(struct dag_web *w, struct dag_http_conn *c,
                         const struct dag_http_request *req) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  struct run_query q = {.limit = 100};
  json_t *order = json_object_get(body, "order_by");
  bool ok = body_int(c, body, "page_offset", 0, 1000000000, &q.offset) &&
            body_int(c, body, "page_limit", 1, 100000, &q.limit) &&
            body_strings(c, body, "dag_ids", &q.dag_ids) &&
            body_strings(c, body, "states", &q.states) &&
            body_bound(c, body, "execution_date_gte", &q.execution.gte) &&
            body_bound(c, body, "execution_date_lte", &q.execution.lte) &&
            body_bound(c, body, "start_date_gte", &q.start.gte) &&
            body_bound(c, body, "start_date_lte", &q.start.lte) &&
            body_bound(c, body, "end_date_gte", &q.end.gte) &&
            body_bound(c, body, "end_date_lte", &q.end.lte);
  if (ok && order && !json_is_null(order)) {
    if (json_is_string(order)) {
      q.order_by = xstrdup(json_string_value(order));
    } else {
      web_error(c, 400, "Bad Request", "order_by must be a string");
      ok = false;
    }
  }
  json_decref(body);
  if (ok) answer_runs(w, c, &q);
  run_query_free(&q);
}

/* --- task instances --------------------------------------------------------------------- */

/* The DAG's declared task order, for one DAG at a time: runs come grouped
 * by nothing in particular, so the last DAG's order is kept and reloaded
 * only when the DAG changes. */
struct order_cache {
  char *dag_id; /* owned; NULL: empty */
  struct api_task_order order;
};

static const struct api_task_order *order_of(struct dag_web *w, struct order_cache *oc,
                                             const char *dag_id) {
  if (oc->dag_id && strcmp(oc->dag_id, dag_id) == 0) return &oc->order;
  if (oc->dag_id) api_order_free(&oc->order);
  free(oc->dag_id);
  oc->dag_id = xstrdup(dag_id);
  struct dag_store_dag d;
  char *graph = NULL;
  if (dag_store_get_dag(w->store, dag_id, &d) == 0) {
    graph = d.graph;
    d.graph = NULL;
    dag_store_dag_free(&d);
  }
  api_order_init(&oc->order, graph);
  free(graph);
  return &oc->order;
}

struct ranked {
  long rank;
  int map_index;
  json_t *ti; /* borrowed */
};

static int by_rank(const void *a, const void *b) {
  const struct ranked *x = a, *y = b;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  int c = strcmp(json_string_value(json_object_get(x->ti, "task_id")),
                 json_string_value(json_object_get(y->ti, "task_id")));
  return c ? c : (x->map_index > y->map_index) - (x->map_index < y->map_index);
}

/* Append run `r`'s task instances to `arr` in the DAG's declared order
 * (tasks no longer in the DAG last), as a run's own list shows them. */
static int append_tis(struct dag_web *w, struct order_cache *oc, const struct dag_store_run *r,
                      const json_t *states, json_t *arr) {
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  int rc = dag_store_list_tis(w->store, r->pk, &tis, &n);
  if (rc) return rc;
  const struct api_task_order *order = order_of(w, oc, r->dag_id);
  struct ranked *rk = xcalloc(n ? n : 1, sizeof(*rk));
  struct dag_store_ti_pool *pools = NULL;
  size_t k = 0, np = 0;
  if ((rc = dag_store_ti_pools(w->store, r->pk, &pools, &np)) != 0) np = 0;
  for (size_t i = 0; i < n; i++) {
    if (!in_list(states, dag_task_state_name(tis[i].state))) continue;
    if (api_mapped_hidden(tis, n, i)) continue;
    long pos = api_order_find(order, tis[i].task_id);
    rk[k].rank = pos < 0 ? (long)order->n : pos;
    rk[k].map_index = tis[i].map_index;
    rk[k].ti = dag_api_task_instance(r, &tis[i], api_order_type(order, tis[i].task_id));
    dag_api_ti_pool(rk[k].ti, dag_store_ti_pool_find(pools, np, tis[i].task_id, tis[i].map_index));
    k++;
  }
  dag_store_ti_pools_free(pools, np);
  qsort(rk, k, sizeof(*rk), by_rank);
  for (size_t i = 0; i < k; i++) json_array_append_new(arr, rk[i].ti);
  free(rk);
  dag_store_tis_free(tis, n);
  return 0;
}

void api_list_tis(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const char *dag_id, const char *run_id) {
  struct run_query q = {0};
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &q.limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1000000000, &q.offset) ||
      !dag_scope(w, c, dag_id, &q.dag_id))
    return;
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  if (strcmp(run_id, "~") != 0) {
    if (!q.dag_id) {
      /* Airflow allows a run id under `~` only as `~` itself. */
      web_error(c, 400, "Bad Request", "a run id needs its DAG id: use dags/{dag_id}/dagRuns/%s",
                run_id);
      return;
    }
    runs = xcalloc(1, sizeof(*runs));
    if (!api_get_run(w, c, dag_id, run_id, runs)) {
      free(runs);
      return;
    }
    n = 1;
  } else if (!find_runs(w, c, &q, &runs, &n)) {
    return;
  }
  json_t *states = query_all(req->query, "state");
  json_t *arr = json_array();
  struct order_cache oc = {0};
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) rc = append_tis(w, &oc, &runs[i], states, arr);
  if (oc.dag_id) api_order_free(&oc.order);
  free(oc.dag_id);
  json_decref(states);
  dag_store_runs_free(runs, n);
  if (rc) {
    json_decref(arr);
    web_store_error(c, rc, "cannot list task instances");
    return;
  }
  if (!api_sort_query(c, req, api_ti_fields, arr)) {
    json_decref(arr);
    return;
  }
  json_t *page = api_page(arr, q.offset, q.limit);
  size_t total = json_array_size(arr);
  json_decref(arr);
  web_json(c, 200,
           json_pack("{s:o, s:I}", "task_instances", page, "total_entries", (json_int_t)total));
}
