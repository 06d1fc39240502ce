/* smtp_send.h - the outbox sender: queued alerts out through SMTP, with
 * retries, without ever delaying the scheduler.
 *
 * The sender lives on the scheduler's loop. A timer is armed for the
 * earliest next_attempt_at in the outbox; dag_smtp_sender_kick() (a new
 * alert) and a write to DAGCTL_HOME/wakeup (`dagctl alerts retry`) wake it
 * sooner. Nothing polls the table. One attempt at a time runs on libuv's
 * thread pool (libesmtp blocks); the loop only reads the alert, formats the
 * message and records the outcome, each a short transaction.
 *
 * Outcomes: a recipient the server accepted is never mailed again; a 5xx
 * reply to RCPT TO rejects that recipient for good (kept with the reply)
 * while the others still get the message; a 5xx to the message itself
 * fails the alert; anything temporary (no connection, TLS, AUTH, 4xx)
 * queues it again after an exponential backoff, and holds back every
 * other alert until then too, since the server is the problem. Delivery is
 * at least once: a crash between the server's 250 and the record resends. */
#ifndef DAG_SMTP_SEND_H
#define DAG_SMTP_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "smtp_client.h"
#include "store.h"

/* Backoffs never exceed this. */
#define DAG_SMTP_BACKOFF_MAX_US (3600 * DAG_USEC_PER_SEC)

struct dag_smtp_sender;

/* `cfg` and `store` are borrowed and must outlive the sender. Without
 * smtp.host the sender never sends: alerts stay queued in the outbox and
 * `dagctl alerts` lists them. Its handles do not keep the loop alive (the
 * scheduler decides when the service ends); an attempt in progress does.
 * Returns 0. */
int dag_smtp_sender_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                        struct dag_smtp_sender **out);

/* The outbox has news (an alert was queued): look again once the current
 * callback returns, so after its transaction commits. Cheap; calls
 * coalesce. Does nothing once closing. */
void dag_smtp_sender_kick(struct dag_smtp_sender *s);

/* Stop: no new attempts. An attempt in progress ends (bounded by
 * smtp.timeout) and is recorded; then every handle is closed and
 * closed_cb(ctx), if not NULL, runs once and the sender is freed. */
void dag_smtp_sender_close(struct dag_smtp_sender *s, void (*closed_cb)(void *ctx),
                           void *ctx);

/* The wait after `attempts` failed attempts (>= 1): base, 2 base, 4 base...
 * capped at DAG_SMTP_BACKOFF_MAX_US; base is at least one second. */
int64_t dag_smtp_backoff(int64_t base_us, int attempts);

/* What one attempt means for an alert (see the rules above). */
struct dag_smtp_outcome {
  enum dag_alert_state state;
  bool server_trouble; /* temporary and not about one recipient: hold back */
  char *error;         /* NULL, or what to record as last_error; owned */
  struct dag_store_alert_rcpt *rcpts; /* new final outcomes; owned */
  size_t n_rcpts;
};

/* Classify the result of offering the message to rcpts[0..n) (the
 * recipients still pending). `served_before`: some recipient got it in an
 * earlier attempt. Pure. */
void dag_smtp_classify(const char *const *rcpts, size_t n, const struct dag_smtp_result *r,
                       bool served_before, struct dag_smtp_outcome *out);
void dag_smtp_outcome_free(struct dag_smtp_outcome *o);

#endif
