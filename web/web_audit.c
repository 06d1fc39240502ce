/* web_audit.c - changes made through the web, into the audit log: who (the
 * request's user), from where (its address), what, on which object, and
 * how it went. A change and its entry commit together; a failed change is
 * rolled back and its entry written on its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_sort.h"
#include "apijson.h"
#include "http.h"
#include "error.h"
#include "log.h"
#include "store_audit.h"
#include "timeutil.h"
#include "web_api.h"
#include "web_auth.h"
#include "web_int.h"

static void fill(struct dag_web *w, struct dag_http_conn *c, struct dag_audit_entry *e,
                 const char *user, const char *event, const char *dag_id, const char *run_id,
                 const char *task_id, const char *object, bool ok, const char *extra) {
  memset(e, 0, sizeof(*e));
  e->at = dag_time_now();
  e->username = (char *)(user && *user ? user : NULL);
  e->client = (char *)(c ? web_client_address(w, c) : "unknown");
  e->event = (char *)event;
  e->dag_id = (char *)dag_id;
  e->run_id = (char *)run_id;
  e->task_id = (char *)task_id;
  e->object = (char *)object;
  e->outcome = ok ? "success" : "failure";
  e->extra = (char *)extra;
}

static int finish(struct dag_web *w, struct dag_http_conn *c, dag_store *st, int rc,
                  const char *event, const char *dag_id, const char *run_id,
                  const char *task_id, const char *object) {
  const char *user = w->who && !w->who->anonymous ? w->who->user : NULL;
  struct dag_audit_entry e;
  if (rc == 0) {
    fill(w, c, &e, user, event, dag_id, run_id, task_id, object, true, NULL);
    rc = dag_store_audit_add(st, &e);
    if (rc == 0) return dag_store_commit(st);
  }
  dag_store_rollback(st);
  fill(w, c, &e, user, event, dag_id, run_id, task_id, object, false, dag_strerror(rc));
  if (dag_store_audit_add(st, &e) != 0)
    LOG_ERROR("web: cannot record a failed change in the audit log event=%s", event);
  return rc;
}

int web_audit_finish(struct dag_web *w, struct dag_http_conn *c, dag_store *st, int rc,
                     const char *event, const char *dag_id, const char *run_id,
                     const char *task_id) {
  return finish(w, c, st, rc, event, dag_id, run_id, task_id, NULL);
}

int web_audit_finish_object(struct dag_web *w, struct dag_http_conn *c, dag_store *st, int rc,
                            const char *event, const char *object) {
  return finish(w, c, st, rc, event, NULL, NULL, NULL, object);
}

int web_audit_finish_dag_object(struct dag_web *w, struct dag_http_conn *c, dag_store *st,
                                int rc, const char *event, const char *dag_id,
                                const char *object) {
  return finish(w, c, st, rc, event, dag_id, NULL, NULL, object);
}

void web_audit_event(struct dag_web *w, struct dag_http_conn *c, const char *user,
                     const char *event, const char *object, bool ok, const char *extra) {
  dag_store *st = api_writer(w, NULL);
  struct dag_audit_entry e;
  fill(w, c, &e, user, event, NULL, NULL, NULL, object, ok, extra);
  int rc = st ? dag_store_audit_add(st, &e) : DAG_ESTORE;
  if (rc) LOG_ERROR("web: cannot record in the audit log event=%s user=%s", event, user);
  api_writer_done(w, st);
}

void web_event_logs(struct dag_web *w, struct dag_http_conn *c,
                    const struct dag_http_request *req) {
  long limit, offset;
  if (!api_query_int(c, req, "limit", 100, 1, 10000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, INT32_MAX, &offset))
    return;
  char *owner = dag_http_query_param(req->query, "owner");
  char *order_by = dag_http_query_param(req->query, "order_by");
  /* Ordered otherwise than by id, the page is cut after sorting them all. */
  bool sorted = order_by && *order_by;
  struct dag_audit_entry *e = NULL;
  size_t n = 0;
  int64_t total = 0;
  int rc = dag_store_audit_list(w->store, owner, 0, sorted ? INT64_MAX : limit,
                                sorted ? 0 : offset, &e, &n, &total);
  free(owner);
  if (rc) {
    free(order_by);
    web_store_error(c, rc, "cannot read the audit log");
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_event_log(&e[i]));
  dag_store_audit_free(e, n);
  static const char *const fields[] = {"event_log_id", "when", "dag_id", "task_id", "run_id",
                                       "event", "owner", "client", "object", "outcome", NULL};
  bool ok = api_sort(c, order_by, fields, arr);
  free(order_by);
  if (!ok) {
    json_decref(arr);
    return;
  }
  if (sorted) {
    json_t *page = api_page(arr, offset, limit);
    json_decref(arr);
    arr = page;
  }
  web_json(c, 200, json_pack("{s:o, s:I}", "event_logs", arr, "total_entries", (json_int_t)total));
}
