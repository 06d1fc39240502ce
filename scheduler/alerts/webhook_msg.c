/* webhook_msg.c - the bodies of webhook notifications (see webhook_msg.h). */
#include "webhook_msg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "strbuf.h"
#include "timeutil.h"

char *dag_webhook_slack_escape(const char *s) {
  struct strbuf b = STRBUF_INIT;
  for (const char *p = s ? s : ""; *p; p++) {
    if (*p == '&')
      sb_append(&b, "&amp;");
    else if (*p == '<')
      sb_append(&b, "&lt;");
    else if (*p == '>')
      sb_append(&b, "&gt;");
    else
      sb_appendc(&b, *p);
  }
  return sb_detach(&b);
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

static json_t *generic(const struct dag_store_alert *a) {
  char created[48];
  dag_time_iso(a->created_at, created, sizeof(created));
  json_t *o = json_object();
  json_object_set_new(o, "event", json_string(dag_alert_kind_name(a->kind)));
  json_object_set_new(o, "dag_id", str_or_null(a->dag_id));
  json_object_set_new(o, "dag_run_id", str_or_null(a->run_id));
  json_object_set_new(o, "task_id", str_or_null(a->task_id));
  json_object_set_new(o, "try_number", a->task_id ? json_integer(a->try_number) : json_null());
  json_object_set_new(o, "subject", str_or_null(a->subject));
  json_object_set_new(o, "text", str_or_null(a->body));
  json_object_set_new(o, "alert_id", json_integer(a->id));
  json_object_set_new(o, "created_at", json_string(created));
  return o;
}

static json_t *slack(const struct dag_store_alert *a) {
  char *subject = dag_webhook_slack_escape(a->subject);
  char *body = dag_webhook_slack_escape(a->body);
  /* The subject in bold, the body (with the log's tail) as preformatted
   * text so that its own * and _ stay as written. */
  char *text = xasprintf("*%s*\n```\n%s\n```", subject, body);
  json_t *o = json_object();
  json_object_set_new(o, "text", json_string(text));
  free(text);
  free(subject);
  free(body);
  return o;
}

static json_t *text_block(const char *text, int bold) {
  json_t *b = json_object();
  json_object_set_new(b, "type", json_string("TextBlock"));
  json_object_set_new(b, "text", json_string(text ? text : ""));
  json_object_set_new(b, "wrap", json_true());
  if (bold) {
    json_object_set_new(b, "weight", json_string("Bolder"));
    json_object_set_new(b, "size", json_string("Medium"));
  } else {
    json_object_set_new(b, "fontType", json_string("Monospace"));
  }
  return b;
}

static json_t *teams(const struct dag_store_alert *a) {
  json_t *body = json_array();
  json_array_append_new(body, text_block(a->subject, 1));
  json_array_append_new(body, text_block(a->body, 0));
  json_t *card = json_object();
  json_object_set_new(card, "$schema",
                      json_string("http://adaptivecards.io/schemas/adaptive-card.json"));
  json_object_set_new(card, "type", json_string("AdaptiveCard"));
  json_object_set_new(card, "version", json_string("1.4"));
  json_object_set_new(card, "body", body);
  json_t *att = json_object();
  json_object_set_new(att, "contentType",
                      json_string("application/vnd.microsoft.card.adaptive"));
  json_object_set_new(att, "contentUrl", json_null());
  json_object_set_new(att, "content", card);
  json_t *atts = json_array();
  json_array_append_new(atts, att);
  json_t *o = json_object();
  json_object_set_new(o, "type", json_string("message"));
  json_object_set_new(o, "attachments", atts);
  return o;
}

char *dag_webhook_payload(const char *format, const struct dag_store_alert *a) {
  json_t *o = NULL;
  if (format == NULL || strcmp(format, "json") == 0)
    o = generic(a);
  else if (strcmp(format, "slack") == 0)
    o = slack(a);
  else if (strcmp(format, "teams") == 0)
    o = teams(a);
  if (o == NULL) return NULL;
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

char *dag_webhook_target(const struct dag_notify_hook *h) {
  return xasprintf("webhook:%s:%s", h->format, h->url_connection);
}

int dag_webhook_target_parse(const char *target, char **format, char **connection) {
  if (!target || strncmp(target, "webhook:", 8) != 0) return DAG_EINVAL;
  const char *f = target + 8, *colon = strchr(f, ':');
  /* Connection names have no ':' (conn.h). */
  if (!colon || colon == f || colon[1] == '\0' || strchr(colon + 1, ':')) return DAG_EINVAL;
  *format = xstrndup(f, (size_t)(colon - f));
  *connection = xstrdup(colon + 1);
  return 0;
}
