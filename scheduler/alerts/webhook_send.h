/* webhook_send.h - the outbox's second sender: alerts queued for the
 * notify.* webhook or a DAG's own (its `notify:` list, named by a
 * connection), POSTed with libcurl, with retries, without ever delaying
 * the scheduler.
 *
 * Like the SMTP sender (smtp_send.h) it lives on the scheduler's loop: a
 * timer armed for the earliest due webhook row, kicked when one is queued;
 * one request at a time runs on libuv's thread pool (libcurl's easy
 * interface blocks). TLS peers are always verified (notify.ca_file or the
 * system's CAs). Outcomes: 2xx sends; 408, 429, 5xx and no answer at all
 * queue the row again after an exponential backoff (notify.retry_base
 * doubling, at most 1 h) and hold back the other rows of the same target
 * until then (other targets' rows go on); any other answer fails it with
 * the status. The URL is a secret: it is never
 * logged, stored or shown; the errors recorded have it masked. */
#ifndef DAG_WEBHOOK_SEND_H
#define DAG_WEBHOOK_SEND_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "store.h"

struct dag_webhook_sender;

/* `cfg` and `store` are borrowed and must outlive the sender; `envp`
 * (NULL-terminated, borrowed likewise) is where DAGCTL_CONN_<NAME> may
 * hold a webhook's connection. Its handles do not keep the loop alive.
 * Returns 0. */
int dag_webhook_sender_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                           char *const *envp, struct dag_webhook_sender **out);

/* A row was queued: look once the current callback (and its transaction)
 * is over. Calls coalesce; nothing once closing. */
void dag_webhook_sender_kick(struct dag_webhook_sender *s);

/* Stop: a request in progress ends (bounded by notify.timeout) and is
 * recorded, the handles close, closed_cb(ctx) runs once (if not NULL) and
 * the sender is freed. */
void dag_webhook_sender_close(struct dag_webhook_sender *s, void (*closed_cb)(void *ctx),
                              void *ctx);

/* What one HTTP answer (status 0: none, `curl_error` says why) means. */
struct dag_webhook_outcome {
  enum dag_alert_state state;
  char *error; /* NULL, or what to record as last_error; owned */
};
/* Pure. `reply` (may be NULL) is the start of the answer's body. */
void dag_webhook_classify(long status, const char *curl_error, const char *reply,
                          struct dag_webhook_outcome *out);

#endif
