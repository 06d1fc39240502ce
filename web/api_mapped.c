/* api_mapped.c - a mapped task's instances (expand:) at Airflow 2.10's
 * paths:
 *   GET .../dagRuns/{run_id}/taskInstances/{task_id}/listMapped
 *   GET .../dagRuns/{run_id}/taskInstances/{task_id}/{map_index}
 * with the fields of every task instance (map_index 0..N-1). The task's own
 * row (map_index -1), which dagctl keeps as their summary, is not a task
 * instance Airflow has once the task is expanded: the lists leave it out
 * (api_mapped_hidden()) and GET .../taskInstances/{task_id} answers 404, as
 * Airflow does, asking for the map_index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api_sort.h"
#include "apijson.h"
#include "error.h"
#include "store_pools.h"
#include "web_api.h"

bool api_mapped_hidden(const struct dag_store_ti *tis, size_t n, size_t i) {
  if (tis[i].map_index >= 0) return false;
  for (size_t k = 0; k < n; k++)
    if (tis[k].map_index >= 0 && strcmp(tis[k].task_id, tis[i].task_id) == 0) return true;
  return false;
}

/* The run's task instances and the DAG's graph; false once answered. */
static bool load(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                 const char *run_id, struct dag_store_run *run, struct dag_store_ti **tis,
                 size_t *n, struct api_task_order *order) {
  if (!api_get_run(w, c, dag_id, run_id, run)) return false;
  int rc = dag_store_list_tis(w->store, run->pk, tis, n);
  if (rc) {
    dag_store_run_free(run);
    web_error(c, 500, "Internal Server Error", "the state store failed: %s", dag_strerror(rc));
    return false;
  }
  struct dag_store_dag d;
  char *graph = NULL;
  if (dag_store_get_dag(w->store, dag_id, &d) == 0) {
    graph = d.graph;
    d.graph = NULL;
    dag_store_dag_free(&d);
  }
  api_order_init(order, graph);
  free(graph);
  return true;
}

static int by_map_index(const void *a, const void *b) {
  const struct dag_store_ti *x = a, *y = b;
  return (x->map_index > y->map_index) - (x->map_index < y->map_index);
}

/* GET .../taskInstances/{task_id}/{map_index} */
static void get_one(struct dag_web *w, struct dag_http_conn *c, char *const *p) {
  const char *dag_id = p[0], *run_id = p[1], *task_id = p[2];
  char *end;
  errno = 0;
  long map_index = strtol(p[3], &end, 10);
  if (errno || end == p[3] || *end || map_index < -1 || map_index > DAG_MAX_MAP_LENGTH) {
    web_error(c, 404, "Not Found", "'%s' is not a map index", p[3]);
    return;
  }
  struct dag_store_run run;
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  struct api_task_order order;
  if (!load(w, c, dag_id, run_id, &run, &tis, &n, &order)) return;
  json_t *one = NULL;
  for (size_t i = 0; i < n && !one; i++)
    if (tis[i].map_index == map_index && strcmp(tis[i].task_id, task_id) == 0 &&
        !api_mapped_hidden(tis, n, i))
      one = dag_api_task_instance(&run, &tis[i], api_order_type(&order, task_id));
  struct dag_store_ti_pool *pools = NULL;
  size_t np = 0;
  if (one && dag_store_ti_pools(w->store, run.pk, &pools, &np) == 0)
    dag_api_ti_pool(one, dag_store_ti_pool_find(pools, np, task_id, (int)map_index));
  dag_store_ti_pools_free(pools, np);
  if (one)
    web_json(c, 200, one);
  else
    web_error(c, 404, "Task instance not found",
              "run '%s' of DAG '%s' has no task instance '%s' with map_index %ld", run_id,
              dag_id, task_id, map_index);
  api_order_free(&order);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
}

/* A query parameter that may repeat (state=a&state=b), as Airflow's lists. */
static bool state_wanted(const struct dag_http_request *req, enum dag_task_state st) {
  const char *q = req->query;
  bool any = false;
  while (q && *q) {
    const char *amp = strchr(q, '&');
    size_t len = amp ? (size_t)(amp - q) : strlen(q);
    if (len > 6 && strncmp(q, "state=", 6) == 0) {
      any = true;
      const char *name = dag_task_state_name(st);
      if (strlen(name) == len - 6 && strncmp(q + 6, name, len - 6) == 0) return true;
    }
    q = amp ? amp + 1 : NULL;
  }
  return !any;
}

/* GET .../taskInstances/{task_id}/listMapped: Airflow's limit, offset,
 * state and order_by (map_index by default). */
static void list(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                 char *const *p) {
  const char *dag_id = p[0], *run_id = p[1], *task_id = p[2];
  long limit, offset;
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1000000000, &offset))
    return;
  struct dag_store_run run;
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  struct api_task_order order;
  if (!load(w, c, dag_id, run_id, &run, &tis, &n, &order)) return;
  bool known = api_order_find(&order, task_id) >= 0, mapped = false;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(tis[i].task_id, task_id) != 0) continue;
    known = true;
    if (tis[i].map_index < 0) continue;
    mapped = true;
    struct dag_store_ti tmp = tis[k];
    tis[k++] = tis[i];
    tis[i] = tmp;
  }
  if (!known) {
    web_error(c, 404, "Task not found", "Task id %s not found", task_id);
  } else if (!mapped) {
    web_error(c, 404, "Task instance not found", "Task id %s is not mapped", task_id);
  } else {
    qsort(tis, k, sizeof(*tis), by_map_index);
    json_t *arr = json_array();
    struct dag_store_ti_pool *pools = NULL;
    size_t np = 0;
    if (dag_store_ti_pools(w->store, run.pk, &pools, &np) != 0) np = 0;
    for (size_t i = 0; i < k; i++)
      if (state_wanted(req, tis[i].state)) {
        json_t *one = dag_api_task_instance(&run, &tis[i], api_order_type(&order, task_id));
        dag_api_ti_pool(one, dag_store_ti_pool_find(pools, np, task_id, tis[i].map_index));
        json_array_append_new(arr, one);
      }
    dag_store_ti_pools_free(pools, np);
    /* Airflow's order_by: any field, "-" for descending; map_index by default. */
    if (api_sort_query(c, req, api_ti_fields, arr)) {
      json_t *page = api_page(arr, offset, limit);
      web_json(c, 200, json_pack("{s:o, s:I}", "task_instances", page, "total_entries",
                                 (json_int_t)json_array_size(arr)));
    }
    json_decref(arr);
  }
  api_order_free(&order);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
}

void api_mapped(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                const struct dag_route_match *m) {
  if (m->route == DAG_ROUTE_TI_MAPPED)
    list(w, c, req, m->params);
  else
    get_one(w, c, m->params);
}
