/* webhook_msg.h - the body of a webhook notification.
 *
 * An outbox row (subject and body composed and masked when it was queued,
 * alerts_msg.h) becomes the JSON a receiver expects:
 *   json   dagctl's own object: event, dag_id, dag_run_id, task_id,
 *          try_number, subject, text, alert_id, created_at;
 *   slack  an incoming webhook's {"text": ...}, with Slack's three control
 *          characters (& < >) escaped so a task name cannot make a link or a
 *          mention;
 *   teams  a Microsoft Teams (Workflows) message holding an Adaptive Card.
 * JSON escaping is jansson's. Pure: no I/O. */
#ifndef DAG_WEBHOOK_MSG_H
#define DAG_WEBHOOK_MSG_H

#include "store.h"

/* The payload of alert `a` in `format` ("json", "slack", "teams"), as
 * compact UTF-8 JSON; NULL for an unknown format. Caller frees. */
char *dag_webhook_payload(const char *format, const struct dag_store_alert *a);

/* The outbox's target of a DAG's own webhook (dag.h's dag_notify_hook):
 * "webhook:FORMAT:CONNECTION", naming the connection and never the URL
 * (a secret). Caller frees. */
struct dag_notify_hook;
char *dag_webhook_target(const struct dag_notify_hook *h);
/* Split such a target: 0 with *format and *connection (caller frees
 * both), or DAG_EINVAL for anything else ("webhook", the global notify
 * section's target, among them). */
int dag_webhook_target_parse(const char *target, char **format, char **connection);

/* `s` with & < > written as Slack's &amp; &lt; &gt;. Caller frees. */
char *dag_webhook_slack_escape(const char *s);

#endif
