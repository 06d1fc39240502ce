/* api_versions.c - the stored versions of a DAG and their sources (Airflow
 * 3's dagVersions and dagSources): what each run ran, as the scheduler
 * stored it, never read from the DAG folder. */
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "error.h"
#include "route.h"
#include "web_api.h"

static json_t *version_json(const struct dag_store_version *v) {
  return json_pack("{s:I, s:s, s:i, s:s, s:s, s:o}", "id", (json_int_t)v->id, "dag_id",
                   v->dag_id, "version_number", v->version_number, "dag_hash", v->dag_hash,
                   "fileloc", v->fileloc, "created_at", dag_api_time(v->created_at));
}

static void store_failed(struct dag_http_conn *c, int rc) {
  web_error(c, 500, "Internal Server Error", "the state store failed: %s", dag_strerror(rc));
}

static void list_versions(struct dag_web *w, struct dag_http_conn *c, const char *dag_id) {
  struct dag_store_dag d;
  if (!api_get_dag(w, c, dag_id, &d)) return;
  dag_store_dag_free(&d);
  struct dag_store_version *v = NULL;
  size_t n = 0;
  int rc = dag_store_list_versions(w->store, dag_id, &v, &n);
  if (rc) {
    store_failed(c, rc);
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, version_json(&v[i]));
  dag_store_versions_free(v, n);
  web_json(c, 200,
           json_pack("{s:o, s:I}", "dag_versions", arr, "total_entries", (json_int_t)n));
}

/* The source of version `version_number`, by default the latest good one
 * (the one the scheduler runs, whatever the file holds now): JSON, or the
 * text alone for a client that prefers text/plain (Airflow's two forms). */
static void get_source(struct dag_web *w, struct dag_http_conn *c,
                       const struct dag_http_request *req, const char *dag_id) {
  long number;
  if (!api_query_int(c, req, "version_number", 0, 1, 1000000000, &number)) return;
  int text = dag_http_accept_choose(dag_http_header(req, "Accept"), "application/json",
                                    "text/plain");
  if (text < 0) {
    web_error(c, 406, "Not Acceptable", "a DAG's source is served as application/json or text/plain");
    return;
  }
  struct dag_store_version v;
  int rc = number ? dag_store_get_version_number(w->store, dag_id, (int)number, true, &v)
                  : dag_store_get_version(w->store, 0, dag_id, true, &v);
  if (rc == DAG_ENOTFOUND) {
    if (number)
      web_error(c, 404, "Not Found", "DAG '%s' has no version %ld", dag_id, number);
    else
      web_error(c, 404, "Not Found", "no stored version of DAG '%s'", dag_id);
    return;
  }
  if (rc) {
    store_failed(c, rc);
    return;
  }
  if (text == 1) {
    const char *src = v.source_code ? v.source_code : "";
    dag_http_respond(c, 200, "text/plain; charset=utf-8", "Cache-Control: no-store\r\n", src,
                     strlen(src));
    dag_store_version_free(&v);
    return;
  }
  json_t *j = version_json(&v);
  json_object_set_new(j, "content", v.source_code ? json_string(v.source_code) : json_null());
  /* Beside the last good source, why the file as it is now does not load. */
  struct dag_store_import_error *errs = NULL;
  size_t n = 0;
  json_t *why = json_null();
  if (dag_store_list_import_errors(w->store, &errs, &n) == 0)
    for (size_t i = 0; i < n; i++)
      if (strcmp(errs[i].filename, v.fileloc) == 0) {
        json_decref(why);
        why = json_string(errs[i].stacktrace);
      }
  dag_store_import_errors_free(errs, n);
  json_object_set_new(j, "import_error", why);
  dag_store_version_free(&v);
  web_json(c, 200, j);
}

void api_versions(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const struct dag_route_match *m) {
  if (m->route == DAG_ROUTE_VERSIONS)
    list_versions(w, c, m->params[0]);
  else
    get_source(w, c, req, m->params[0]);
}
