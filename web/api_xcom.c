/* api_xcom.c - a task instance's XCom values at Airflow's paths:
 *   GET .../dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries
 *   GET .../dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}
 * with Airflow's fields: dag_id, execution_date, key, map_index, task_id,
 * timestamp, and for one entry its value (as text, the JSON dagctl stores;
 * Airflow's stringified value). */
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "error.h"
#include "web_api.h"

static json_t *entry(const char *dag_id, const struct dag_store_run *run,
                     const struct dag_store_xcom *x, bool with_value) {
  json_t *o = json_pack("{s:s, s:o, s:s, s:i, s:s, s:o}", "dag_id", dag_id, "execution_date",
                        dag_api_time(run->logical_date), "key", x->key, "map_index", x->map_index,
                        "task_id", x->task_id, "timestamp", dag_api_time(x->timestamp));
  if (with_value) json_object_set_new(o, "value", json_string(x->value));
  return o;
}

void api_xcom(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m) {
  char *const *p = m->params;
  const char *dag_id = p[0], *run_id = p[1], *task_id = p[2];
  const char *key = m->route == DAG_ROUTE_XCOM ? p[3] : NULL;
  /* Airflow's map_index: an entry's is -1 unless asked; a list has every
   * instance's unless asked. */
  long map_index;
  if (!api_query_int(c, req, "map_index", key ? -1 : -2, -1, DAG_MAX_MAP_LENGTH, &map_index))
    return;
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  struct dag_store_xcom *x = NULL;
  size_t n = 0;
  int rc = dag_store_xcom_list_task(w->store, run.pk, task_id, key, &x, &n);
  if (rc == 0 && map_index != -2) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      if (x[i].map_index != map_index) continue;
      struct dag_store_xcom tmp = x[k];
      x[k++] = x[i];
      x[i] = tmp;
    }
    for (size_t i = k; i < n; i++) {
      free(x[i].task_id);
      free(x[i].key);
      free(x[i].value);
    }
    n = k;
  }
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s", dag_strerror(rc));
  } else if (key && n == 0) {
    web_error(c, 404, "XCom entry not found",
              "task '%s' of run '%s' of DAG '%s' has no XCom value '%s'", task_id, run_id,
              dag_id, key);
  } else if (key) {
    web_json(c, 200, entry(dag_id, &run, &x[0], true));
  } else {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, entry(dag_id, &run, &x[i], false));
    web_json(c, 200,
             json_pack("{s:o, s:I}", "xcom_entries", arr, "total_entries", (json_int_t)n));
  }
  dag_store_xcoms_free(x, n);
  dag_store_run_free(&run);
}
