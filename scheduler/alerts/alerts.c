/* alerts.c - the listener that turns failures into queued alerts (see
 * alerts.h).
 *
 * It runs inside the scheduler's transaction, on the loop: it reads the
 * run and the try from the store (rows written moments ago in the same
 * transaction), the last lines of the try's log (one bounded read from the
 * end of a local file), composes the text and adds one outbox row. The
 * SMTP work happens later, elsewhere (smtp_send.c). */
#include "alerts.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_msg.h"
#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "ids.h"
#include "log.h"
#include "scheduler.h"
#include "smtp_send.h"
#include "store_vars.h"
#include "timeutil.h"
#include "webhook_msg.h"
#include "webhook_send.h"

struct dag_alerts {
  const struct dag_config *cfg;
  dag_store *store;
  struct dag_scheduler *sched;
  struct dag_alert_masker masker;
  struct dag_smtp_sender *sender; /* NULL once closed */
  struct dag_webhook_sender *webhook; /* NULL once closed */
};

static char *emails_json(char *const *email, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    if (dag_alert_address_ok(email[i]))
      json_array_append_new(arr, json_string(email[i]));
    else
      LOG_WARN("not an address an alert can go to, skipped address=\"%s\"", email[i]);
  }
  char *s = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return s;
}

static void masker_add(void *m, const char *secret) { dag_alert_masker_add(m, secret); }

/* `json` (a JSON array of addresses, owned) with the DAG's own notify
 * addresses added, each once. Returns the new text; frees `json`. */
static char *with_dag_emails(const struct dag *dag, char *json) {
  if (!dag || dag->n_notify_email == 0) return json;
  json_t *arr = json_loads(json, 0, NULL);
  if (!json_is_array(arr)) {
    json_decref(arr);
    arr = json_array();
  }
  for (size_t e = 0; e < dag->n_notify_email; e++) {
    bool seen = false;
    size_t j;
    json_t *v;
    json_array_foreach(arr, j, v) {
      seen = seen || strcmp(json_string_value(v), dag->notify_email[e]) == 0;
    }
    if (seen) continue;
    if (dag_alert_address_ok(dag->notify_email[e]))
      json_array_append_new(arr, json_string(dag->notify_email[e]));
    else
      LOG_WARN("not an address an alert can go to, skipped address=\"%s\"", dag->notify_email[e]);
  }
  free(json);
  char *out = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return out;
}

/* One webhook row: `target` "webhook" for the global notify section, or
 * a DAG's own (dag_webhook_target()). Its own row, so that each target's
 * retries and outcome are its own. */
static void queue_hook(struct dag_alerts *a, const struct dag_store_alert *row,
                       const char *target) {
  struct dag_store_alert hook = *row;
  hook.recipients = "[]";
  hook.cc = NULL;
  hook.target = (char *)target;
  int64_t id = 0;
  int rc = dag_store_add_alert(a->store, &hook, &id);
  if (rc) {
    LOG_ERROR("cannot queue a webhook notification dag=%s run=%s kind=%s error=\"%s\"",
              row->dag_id, row->run_id, dag_alert_kind_name(row->kind), dag_strerror(rc));
    return;
  }
  LOG_INFO("webhook notification queued id=%lld kind=%s dag=%s run=%s target=%s",
           (long long)id, dag_alert_kind_name(row->kind), row->dag_id, row->run_id, target);
  dag_webhook_sender_kick(a->webhook);
}

/* The mail row (its recipients plus the DAG's notify addresses), then a
 * row for the global webhook and one for each of the DAG's own. */
static void queue(struct dag_alerts *a, const struct dag *dag, struct dag_store_alert *row) {
  int64_t id = 0;
  row->recipients = with_dag_emails(dag, row->recipients);
  int rc = dag_store_add_alert(a->store, row, &id);
  if (rc) {
    LOG_ERROR("cannot queue an alert dag=%s run=%s kind=%s error=\"%s\"", row->dag_id,
              row->run_id, dag_alert_kind_name(row->kind), dag_strerror(rc));
    return;
  }
  LOG_INFO("alert queued id=%lld kind=%s dag=%s run=%s%s%s", (long long)id,
           dag_alert_kind_name(row->kind), row->dag_id, row->run_id,
           row->task_id ? " task=" : "", row->task_id ? row->task_id : "");
  dag_smtp_sender_kick(a->sender);
  if (a->cfg->notify_kind) queue_hook(a, row, "webhook");
  for (size_t i = 0; dag && i < dag->n_notify_hooks; i++) {
    char *target = dag_webhook_target(&dag->notify_hooks[i]);
    queue_hook(a, row, target);
    free(target);
  }
}

static void queue_task_alert(struct dag_alerts *a, const struct dag *dag,
                             enum dag_alert_kind kind, const char *dag_id,
                             const struct dag_store_run *run, const char *task_id,
                             int try_number, const struct dag_task_args *args,
                             const struct dag_store_try *t, const struct dag_store_ti *ti,
                             const char *error);

static void on_task_changed(void *ctx, const char *dag_id, const char *run_id,
                            const char *task_id, int map_index, enum dag_task_state state,
                            int try_number) {
  struct dag_alerts *a = ctx;
  if (state != DAG_TI_FAILED && state != DAG_TI_UP_FOR_RETRY) return;
  const struct dag *dag = dag_scheduler_run_dag(a->sched, dag_id, run_id);
  long idx = dag ? dag_find_task(dag, task_id) : -1;
  if (idx < 0) return;
  const struct dag_task_args *args = &dag->tasks[idx].args;
  enum dag_alert_kind kind = state == DAG_TI_FAILED ? DAG_ALERT_TASK_FAILED : DAG_ALERT_TASK_RETRY;
  if (kind == DAG_ALERT_TASK_FAILED && !args->email_on_failure) return;
  if (kind == DAG_ALERT_TASK_RETRY && !args->email_on_retry) return;

  struct dag_store_run run;
  if (dag_store_get_run(a->store, dag_id, run_id, &run) != 0) return;
  struct dag_store_try *tries = NULL;
  size_t n_tries = 0;
  struct dag_store_ti *tis = NULL;
  size_t n_tis = 0;
  dag_store_list_tries(a->store, run.pk, task_id, &tries, &n_tries);
  dag_store_list_tis(a->store, run.pk, &tis, &n_tis);
  const struct dag_store_try *t = NULL;
  for (size_t i = 0; i < n_tries; i++)
    if (tries[i].try_number == try_number && tries[i].map_index == map_index) t = &tries[i];
  const struct dag_store_ti *ti = NULL;
  bool instances = false;
  for (size_t i = 0; i < n_tis; i++) {
    if (strcmp(tis[i].task_id, task_id) != 0) continue;
    if (tis[i].map_index == map_index) ti = &tis[i];
    instances |= tis[i].map_index >= 0;
  }

  /* A try the scheduler itself interrupted (a stop, a restart) is run
   * again without counting: nobody needs a mail about it. Nor about a
   * mapped task's own row failing after an instance did: that instance's
   * mail said it (as Airflow mails per task instance). */
  const char *error = t && t->error ? t->error : ti ? ti->error : NULL;
  bool summary = map_index < 0 && instances;
  if (!summary && (!error || strncmp(error, "interrupted:", 12) != 0))
    queue_task_alert(a, dag, kind, dag_id, &run, task_id, try_number, args, t, ti, error);
  dag_store_tries_free(tries, n_tries);
  dag_store_tis_free(tis, n_tis);
  dag_store_run_free(&run);
}

static void queue_task_alert(struct dag_alerts *a, const struct dag *dag,
                             enum dag_alert_kind kind, const char *dag_id,
                             const struct dag_store_run *run, const char *task_id,
                             int try_number, const struct dag_task_args *args,
                             const struct dag_store_try *t, const struct dag_store_ti *ti,
                             const char *error) {
  const char *run_id = run->run_id;
  char *log_path = NULL, *tail = NULL;
  /* Connection passwords and secret variables as they are now: a task
   * may have printed one (the masker keeps each once). */
  dag_store_secret_values(a->store, NULL, masker_add, &a->masker);
  /* The tail of the log goes into a mail: never from outside the folder. */
  if (t && dag_id_rel_path_is_safe(t->log_path)) {
    log_path = xasprintf("%s/logs/%s", a->cfg->home, t->log_path);
    int rc = dag_alert_log_tail(log_path, &a->masker, &tail);
    if (rc) LOG_DEBUG("no log for an alert file=%s error=\"%s\"", log_path, dag_strerror(rc));
  }
  char *url = dag_alert_url(a->cfg->web_base_url, dag_id, run_id, task_id, try_number);
  struct dag_alert_facts f = {
      .kind = kind,
      .dag_id = dag_id,
      .run_id = run_id,
      .logical_date = run->logical_date,
      .url = url,
      .task_id = task_id,
      .try_number = try_number,
      .tries = ti ? ti->max_tries + 1 : args->retries + 1,
      .result = error,
      .start = t ? t->start_date : 0,
      .end = t ? t->end_date : 0,
      .next_try_at = ti ? ti->next_retry_at : 0,
      .log_name = t ? t->log_path : NULL,
      .log_tail = tail,
  };
  struct dag_store_alert row = {
      .created_at = dag_time_now(),
      .kind = kind,
      .dag_id = (char *)dag_id,
      .run_id = (char *)run_id,
      .task_id = (char *)task_id,
      .try_number = try_number,
      .recipients = emails_json(args->email, args->n_email),
  };
  row.next_attempt_at = row.created_at;
  dag_alert_compose(&f, &a->masker, &row.subject, &row.body);
  queue(a, dag, &row);
  free(row.subject);
  free(row.body);
  free(row.recipients);
  free(url);
  free(tail);
  free(log_path);
}

/* Recipients of a run summary: default_args' list, else every address of
 * the failed tasks that asked for failure mail, else none (smtp.to). */
static char *run_recipients(const struct dag *dag, const struct dag_store_ti *tis, size_t n) {
  if (dag->default_args.n_email)
    return emails_json(dag->default_args.email, dag->default_args.n_email);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    if (tis[i].state != DAG_TI_FAILED) continue;
    long k = dag_find_task(dag, tis[i].task_id);
    if (k < 0 || !dag->tasks[k].args.email_on_failure) continue;
    const struct dag_task_args *args = &dag->tasks[k].args;
    for (size_t e = 0; e < args->n_email; e++) {
      bool seen = false;
      size_t j;
      json_t *v;
      json_array_foreach(arr, j, v) {
        seen = seen || strcmp(json_string_value(v), args->email[e]) == 0;
      }
      if (!seen && dag_alert_address_ok(args->email[e]))
        json_array_append_new(arr, json_string(args->email[e]));
    }
  }
  char *s = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return s;
}

static void on_run_changed(void *ctx, const char *dag_id, const char *run_id,
                           enum dag_run_state state) {
  struct dag_alerts *a = ctx;
  if (state != DAG_RUN_FAILED) return;
  const struct dag *dag = dag_scheduler_run_dag(a->sched, dag_id, run_id);
  if (!dag || !dag->default_args.email_on_failure) return;
  struct dag_store_run run;
  if (dag_store_get_run(a->store, dag_id, run_id, &run) != 0) return;
  struct dag_store_ti *tis = NULL;
  size_t n_tis = 0;
  dag_store_list_tis(a->store, run.pk, &tis, &n_tis);

  /* The tasks that did not succeed, in the order the file declares them. */
  struct dag_alert_task_line *lines = xcalloc(n_tis ? n_tis : 1, sizeof(*lines));
  size_t n_lines = 0;
  for (size_t k = 0; k < dag->n_tasks; k++) {
    for (size_t i = 0; i < n_tis; i++) {
      if (strcmp(tis[i].task_id, dag->tasks[k].id) != 0) continue;
      if (tis[i].state != DAG_TI_FAILED && tis[i].state != DAG_TI_UPSTREAM_FAILED) continue;
      lines[n_lines++] = (struct dag_alert_task_line){
          .task_id = tis[i].task_id,
          .state = tis[i].state,
          .try_number = tis[i].try_number,
          .tries = tis[i].max_tries + 1,
          .error = tis[i].error,
      };
    }
  }
  char *url = dag_alert_url(a->cfg->web_base_url, dag_id, run_id, NULL, 0);
  struct dag_alert_facts f = {
      .kind = DAG_ALERT_RUN_FAILED,
      .dag_id = dag_id,
      .run_id = run_id,
      .logical_date = run.logical_date,
      .url = url,
      .run_start = run.start_date,
      .run_end = run.end_date,
      .tasks = lines,
      .n_tasks = n_lines,
  };
  struct dag_store_alert row = {
      .created_at = dag_time_now(),
      .kind = DAG_ALERT_RUN_FAILED,
      .dag_id = (char *)dag_id,
      .run_id = (char *)run_id,
      .recipients = run_recipients(dag, tis, n_tis),
  };
  row.next_attempt_at = row.created_at;
  dag_alert_compose(&f, &a->masker, &row.subject, &row.body);
  queue(a, dag, &row);
  free(row.subject);
  free(row.body);
  free(row.recipients);
  free(url);
  free(lines);
  dag_store_tis_free(tis, n_tis);
  dag_store_run_free(&run);
}

/* A run has not finished by its DAG's deadline: one alert, to
 * default_args.email (else smtp.to), whatever email_on_failure says: the
 * deadline itself asks for it. */
static void on_deadline_missed(void *ctx, const char *dag_id, const char *run_id,
                               dag_time_t deadline) {
  struct dag_alerts *a = ctx;
  const struct dag *dag = dag_scheduler_run_dag(a->sched, dag_id, run_id);
  if (!dag) return;
  struct dag_store_run run;
  if (dag_store_get_run(a->store, dag_id, run_id, &run) != 0) return;
  struct dag_store_ti *tis = NULL;
  size_t n_tis = 0;
  dag_store_list_tis(a->store, run.pk, &tis, &n_tis);
  struct dag_alert_task_line *lines = xcalloc(n_tis ? n_tis : 1, sizeof(*lines));
  size_t n_lines = 0;
  for (size_t k = 0; k < dag->n_tasks; k++) {
    for (size_t i = 0; i < n_tis; i++) {
      if (strcmp(tis[i].task_id, dag->tasks[k].id) != 0) continue;
      if (dag_task_state_is_finished(tis[i].state)) continue;
      lines[n_lines++] = (struct dag_alert_task_line){
          .task_id = tis[i].task_id,
          .state = tis[i].state,
          .try_number = tis[i].try_number,
          .tries = tis[i].max_tries + 1,
      };
    }
  }
  char *url = dag_alert_url(a->cfg->web_base_url, dag_id, run_id, NULL, 0);
  struct dag_alert_facts f = {
      .kind = DAG_ALERT_DEADLINE_MISSED,
      .dag_id = dag_id,
      .run_id = run_id,
      .logical_date = run.logical_date,
      .url = url,
      .run_start = run.start_date,
      .tasks = lines,
      .n_tasks = n_lines,
      .deadline = deadline,
      .deadline_after = dag_deadline_ref_name(dag->deadline_after),
      .deadline_within_us = dag->deadline_within_us,
      .queued_at = run.queued_at,
      .run_state = dag_run_state_name(run.state),
  };
  struct dag_store_alert row = {
      .created_at = dag_time_now(),
      .kind = DAG_ALERT_DEADLINE_MISSED,
      .dag_id = (char *)dag_id,
      .run_id = (char *)run_id,
      .recipients = emails_json(dag->default_args.email, dag->default_args.n_email),
  };
  row.next_attempt_at = row.created_at;
  dag_alert_compose(&f, &a->masker, &row.subject, &row.body);
  queue(a, dag, &row);
  free(row.subject);
  free(row.body);
  free(row.recipients);
  free(url);
  free(lines);
  dag_store_tis_free(tis, n_tis);
  dag_store_run_free(&run);
}

int dag_alerts_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                   struct dag_scheduler *sched, char *const *envp, struct dag_alerts **out) {
  struct dag_alerts *a = xcalloc(1, sizeof(*a));
  a->cfg = cfg;
  a->store = store;
  a->sched = sched;
  dag_alert_masker_init(&a->masker, envp);
  dag_alert_masker_add(&a->masker, cfg->smtp_password);
  dag_alert_masker_add(&a->masker, cfg->notify_url);
  int rc = dag_smtp_sender_new(loop, cfg, store, &a->sender);
  if (rc == 0) rc = dag_webhook_sender_new(loop, cfg, store, envp, &a->webhook);
  if (rc) {
    dag_alert_masker_free(&a->masker);
    free(a);
    return rc;
  }
  *out = a;
  return 0;
}

void dag_alerts_listener(struct dag_alerts *a, struct dag_scheduler_listener *out) {
  memset(out, 0, sizeof(*out));
  out->task_changed = on_task_changed;
  out->run_changed = on_run_changed;
  out->deadline_missed = on_deadline_missed;
  out->ctx = a;
}

void dag_alerts_close(struct dag_alerts *a) {
  if (!a) return;
  if (a->webhook) dag_webhook_sender_close(a->webhook, NULL, NULL);
  a->webhook = NULL;
  if (!a->sender) return;
  dag_smtp_sender_close(a->sender, NULL, NULL);
  a->sender = NULL;
}

void dag_alerts_free(struct dag_alerts *a) {
  if (!a) return;
  dag_alerts_close(a);
  dag_alert_masker_free(&a->masker);
  free(a);
}
