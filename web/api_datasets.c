/* api_datasets.c - datasets at Airflow 2.10's paths:
 *   GET /api/v1/datasets?limit=&offset=&uri_pattern=&dag_ids=
 *   GET /api/v1/datasets/{uri}          (the URI percent-encoded, as Airflow)
 *   GET /api/v1/datasets/events?limit=&offset=&order_by=&dataset_id=
 *       &source_dag_id=&source_task_id=&source_run_id=
 * answering DatasetCollection, Dataset and DatasetEventCollection. */
#include <stdlib.h>
#include <string.h>

#include "apijson_dataset.h"
#include "error.h"
#include "http.h"
#include "web_api.h"

/* dag_ids: a comma-separated list; a dataset matches when one of them
 * consumes it or has a task producing it (Airflow's filter). */
static bool names_dag(const struct dag_store_dataset *d, const char *dag_ids) {
  if (!dag_ids || !*dag_ids) return true;
  for (const char *p = dag_ids; *p;) {
    size_t len = strcspn(p, ",");
    for (size_t i = 0; i < d->n_consumers; i++)
      if (strlen(d->consumers[i].dag_id) == len && strncmp(d->consumers[i].dag_id, p, len) == 0)
        return true;
    for (size_t i = 0; i < d->n_producers; i++)
      if (strlen(d->producers[i].dag_id) == len && strncmp(d->producers[i].dag_id, p, len) == 0)
        return true;
    p += len;
    if (*p == ',') p++;
  }
  return false;
}

static void list(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req) {
  long limit, offset;
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1L << 40, &offset))
    return;
  char *pattern = dag_http_query_param(req->query, "uri_pattern");
  char *dag_ids = dag_http_query_param(req->query, "dag_ids");
  struct dag_store_dataset *d = NULL;
  size_t n = 0;
  int rc = dag_store_list_datasets(w->store, NULL, &d, &n);
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s", dag_strerror(rc));
  } else {
    json_t *arr = json_array();
    long total = 0;
    for (size_t i = 0; i < n; i++) {
      if (pattern && !strstr(d[i].uri, pattern)) continue;
      if (!names_dag(&d[i], dag_ids)) continue;
      if (total >= offset && total < offset + limit)
        json_array_append_new(arr, dag_api_dataset(&d[i]));
      total++;
    }
    web_json(c, 200, json_pack("{s:o, s:I}", "datasets", arr, "total_entries", (json_int_t)total));
  }
  dag_store_datasets_free(d, n);
  free(pattern);
  free(dag_ids);
}

static void one(struct dag_web *w, struct dag_http_conn *c, const char *uri) {
  struct dag_store_dataset *d = NULL;
  size_t n = 0;
  int rc = dag_store_list_datasets(w->store, uri, &d, &n);
  if (rc)
    web_error(c, 500, "Internal Server Error", "the state store failed: %s", dag_strerror(rc));
  else if (n == 0)
    web_error(c, 404, "Dataset not found", "no dataset with the URI '%s'", uri);
  else
    web_json(c, 200, dag_api_dataset(&d[0]));
  dag_store_datasets_free(d, n);
}

static void events(struct dag_web *w, struct dag_http_conn *c,
                   const struct dag_http_request *req) {
  long limit, offset, dataset_id;
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1L << 40, &offset) ||
      !api_query_int(c, req, "dataset_id", 0, 1, 1L << 62, &dataset_id))
    return;
  char *order = dag_http_query_param(req->query, "order_by");
  if (order && strcmp(order, "timestamp") != 0 && strcmp(order, "-timestamp") != 0 &&
      strcmp(order, "id") != 0 && strcmp(order, "-id") != 0) {
    web_error(c, 400, "Bad Request", "order_by: '%s' is not one of timestamp, -timestamp, id, -id",
              order);
    free(order);
    return;
  }
  struct dag_store_dataset_event_filter f = {
      .dataset_id = dataset_id,
      .source_dag_id = dag_http_query_param(req->query, "source_dag_id"),
      .source_task_id = dag_http_query_param(req->query, "source_task_id"),
      .source_run_id = dag_http_query_param(req->query, "source_run_id"),
      .newest_first = order && order[0] == '-',
      .limit = limit,
      .offset = offset};
  struct dag_store_dataset_event *e = NULL;
  size_t n = 0;
  int64_t total = 0;
  int rc = dag_store_list_dataset_events(w->store, &f, &e, &n, &total);
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s", dag_strerror(rc));
  } else {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_dataset_event(&e[i]));
    web_json(c, 200,
             json_pack("{s:o, s:I}", "dataset_events", arr, "total_entries", (json_int_t)total));
  }
  dag_store_dataset_events_free(e, n);
  free(order);
  free((char *)f.source_dag_id);
  free((char *)f.source_task_id);
  free((char *)f.source_run_id);
}

void api_datasets(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const struct dag_route_match *m) {
  if (m->route == DAG_ROUTE_DATASET_EVENTS)
    events(w, c, req);
  else if (m->route == DAG_ROUTE_DATASET)
    one(w, c, m->params[0]);
  else
    list(w, c, req);
}
