/* api_alerts.c - GET /api/v1/alerts (dagctl's own path): the alerts'
 * outbox, newest first, as `dagctl alerts --json` lists it (id, created_at,
 * kind, target, connection, dag_id, dag_run_id, task_id, try_number, state,
 * attempts, next_attempt_at, sent_at, last_error), for the admin page. A
 * webhook is named by its connection, never by its URL (a secret); the
 * recipients, subject and body stay with the CLI. An op's right (route.c). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apijson.h"
#include "web_api.h"

/* "webhook:FORMAT:CONN" (webhook_msg.h): CONN, or NULL for any other
 * target. Connection names have no ':'. */
static json_t *connection_of(const char *target) {
  if (!target || strncmp(target, "webhook:", 8) != 0) return json_null();
  const char *colon = strchr(target + 8, ':');
  if (!colon || colon == target + 8 || colon[1] == '\0' || strchr(colon + 1, ':'))
    return json_null();
  return json_string(colon + 1);
}

static json_t *alert_json(const struct dag_store_alert *a) {
  json_t *conn = connection_of(a->target);
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer(a->id));
  json_object_set_new(o, "created_at", dag_api_time(a->created_at));
  json_object_set_new(o, "kind", json_string(dag_alert_kind_name(a->kind)));
  json_object_set_new(o, "target", json_string(!json_is_null(conn) ? "webhook"
                                               : a->target      ? a->target
                                                                : "email"));
  json_object_set_new(o, "connection", conn);
  json_object_set_new(o, "dag_id", json_string(a->dag_id));
  json_object_set_new(o, "dag_run_id", json_string(a->run_id));
  json_object_set_new(o, "task_id", a->task_id ? json_string(a->task_id) : json_null());
  json_object_set_new(o, "try_number", a->task_id ? json_integer(a->try_number) : json_null());
  json_object_set_new(o, "state", json_string(dag_alert_state_name(a->state)));
  json_object_set_new(o, "attempts", json_integer(a->attempts));
  json_object_set_new(o, "next_attempt_at",
                      a->state == DAG_ALERT_QUEUED ? dag_api_time(a->next_attempt_at)
                                                   : json_null());
  json_object_set_new(o, "sent_at", dag_api_time(a->sent_at));
  json_object_set_new(o, "last_error", a->last_error ? json_string(a->last_error) : json_null());
  return o;
}

void api_alerts(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req) {
  long limit;
  if (!api_query_int(c, req, "limit", 100, 1, 10000, &limit)) return;
  struct dag_store_alert *a = NULL;
  size_t n = 0;
  int rc = dag_store_list_alerts(w->store, (int)limit, &a, &n);
  if (rc) {
    web_store_error(c, rc, "cannot list the alerts");
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, alert_json(&a[i]));
  web_json(c, 200, json_pack("{s:o, s:I}", "alerts", arr, "total_entries", (json_int_t)n));
  dag_store_alerts_free(a, n);
}
