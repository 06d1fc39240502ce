/* task_email.c - the mails of email tasks into the alerts' outbox
 * (dagctl/plugin.h, minor 5: queue_email), for `dagctl __task`. The
 * scheduler's sender sends them as it sends alerts: smtp settings, retries
 * and backoff, one outcome per recipient. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_msg.h"
#include "alloc.h"
#include "error.h"
#include "log.h"
#include "runs.h"
#include "task_email.h"
#include "timeutil.h"

/* A JSON array of addresses, each checked; NULL text: an empty one. */
static int addresses(const char *json, const char *what, bool required, char **out, char **err) {
  json_t *arr = json_loads(json ? json : "[]", 0, NULL);
  int rc = 0;
  if (!json_is_array(arr)) {
    *err = xasprintf("%s: expected a list of addresses", what);
    rc = DAG_EINVAL;
  } else if (required && json_array_size(arr) == 0) {
    *err = xasprintf("%s: no address", what);
    rc = DAG_EINVAL;
  }
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    if (rc) break;
    if (!json_is_string(e) || !dag_alert_address_ok(json_string_value(e))) {
      char *text = json_dumps(e, JSON_ENCODE_ANY);
      *err = xasprintf("%s[%zu]: %s is not a bare address such as ops@example.com", what, i,
                       text ? text : "?");
      free(text);
      rc = DAG_EINVAL;
    }
  }
  *out = rc || json_array_size(arr) == 0 ? NULL : json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return rc;
}

int cli_task_queue_email(struct cli *c, const struct cli_task_email *m, int64_t *id,
                         char **err) {
  *err = NULL;
  *id = 0;
  if (c->store == NULL) {
    *err = xstrdup("no state store");
    return DAG_EINVAL;
  }
  if (m->subject == NULL || m->body == NULL) {
    *err = xstrdup("a mail needs a subject and a body");
    return DAG_EINVAL;
  }
  char *to = NULL, *cc = NULL;
  int rc = addresses(m->to_json, "to", true, &to, err);
  if (rc == 0) rc = addresses(m->cc_json, "cc", false, &cc, err);
  if (rc == 0) {
    /* As every alert: no configured secret is ever mailed. */
    char *subject = xstrdup(m->subject), *body = xstrdup(m->body);
    dag_log_redact(subject);
    dag_log_redact(body);
    dag_time_t now = dag_time_now();
    struct dag_store_alert a = {.created_at = now,
                                .kind = DAG_ALERT_EMAIL,
                                .dag_id = (char *)m->dag_id,
                                .run_id = (char *)m->run_id,
                                .task_id = (char *)m->task_id,
                                .try_number = m->try_number,
                                .recipients = to,
                                .subject = subject,
                                .body = body,
                                .next_attempt_at = now,
                                .cc = cc};
    rc = dag_store_add_alert(c->store, &a, id);
    if (rc) *err = xasprintf("cannot queue the mail: %s", dag_store_errmsg(c->store));
    free(subject);
    free(body);
  }
  free(to);
  free(cc);
  if (rc == 0) dag_scheduler_notify(c->cfg.home); /* the sender watches the wake-up file */
  return rc;
}
