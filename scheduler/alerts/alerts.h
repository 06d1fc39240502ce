/* alerts.h - email alerts: failures and retries into a durable outbox,
 * and out through SMTP.
 *
 * The scheduler listener queues an alert in the same transaction as the
 * state change that causes it, so a crash can neither lose one nor send
 * one for a change that never committed:
 *   - a task failed for good, if the task's email_on_failure (default true);
 *   - a try failed and the task will run again, if email_on_retry (default
 *     true); a try interrupted by a scheduler stop or restart is no failure;
 *   - a DAG run failed: one summary, if default_args' email_on_failure;
 *   - a DAG run missed its DAG's deadline: one alert, to default_args' email.
 * Recipients are the task's `email` (default_args' for a run summary, or
 * the failed tasks' lists), else smtp.to when the alert is sent. Sending is
 * smtp_send.h's job; without smtp.host the alerts stay queued. With
 * notify.kind set, each alert also gets a row of its own for the webhook
 * (target "webhook"), sent by webhook_send.h. */
#ifndef DAG_ALERTS_H
#define DAG_ALERTS_H

#include <uv.h>

#include "config.h"
#include "scheduler.h"
#include "store.h"

struct dag_alerts;

/* `cfg`, `store` and `sched` are borrowed and must outlive the alerts.
 * `envp` (NULL-terminated) is the scheduler's environment: the values of
 * variables whose names look secret (*PASSWORD*, *SECRET*, *TOKEN*, *KEY*)
 * are masked in every alert, as are the SMTP password, the webhook's URL
 * and the logger's secrets. Returns 0. */
int dag_alerts_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                   struct dag_scheduler *sched, char *const *envp, struct dag_alerts **out);

/* The listener that queues alerts, for dag_scheduler_set_listener() (or a
 * fan-out calling it). Its callbacks must run inside the scheduler's
 * transaction for the change; they add one row to it. */
void dag_alerts_listener(struct dag_alerts *a, struct dag_scheduler_listener *out);

/* Stop sending: the SMTP attempt in progress ends and is recorded, then
 * the sender's handles close (run the loop once more to finish). Its
 * handles never keep the loop alive, so the service may simply run the
 * loop until the scheduler has stopped, then close the alerts and run it
 * again. The listener queues alerts until dag_alerts_free(), so a failure
 * during shutdown is not lost. */
void dag_alerts_close(struct dag_alerts *a);

/* Once the loop has closed the alerts' handles. NULL is a no-op. */
void dag_alerts_free(struct dag_alerts *a);

#endif
