/* store_alerts.c - the email outbox in the SQLite store: alerts queued by
 * the scheduler's listener, attempts recorded by the sender, retries asked
 * for by `dagctl alerts retry`. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

static const char *const kind_names[] = {"task_failed", "task_retry", "run_failed", "email",
                                         "deadline_missed"};
static const char *const state_names[] = {"queued", "sent", "failed"};

const char *dag_alert_kind_name(enum dag_alert_kind k) {
  return (unsigned)k < DAG_ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

const char *dag_alert_state_name(enum dag_alert_state s) {
  return (unsigned)s < DAG_ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

int dag_alert_state_parse(const char *name, enum dag_alert_state *out) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(state_names); i++) {
    if (strcmp(name, state_names[i]) == 0) {
      *out = (enum dag_alert_state)i;
      return 0;
    }
  }
  return DAG_EINVAL;
}

static int kind_parse(const char *name, enum dag_alert_kind *out) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(kind_names); i++) {
    if (strcmp(name, kind_names[i]) == 0) {
      *out = (enum dag_alert_kind)i;
      return 0;
    }
  }
  return DAG_EINVAL;
}

#define ALERT_COLUMNS                                                                  \
  "id, created_at, kind, dag_id, run_id, task_id, try_number, recipients, subject,"   \
  " body, state, attempts, next_attempt_at, last_error, sent_at, cc, target"

static void read_alert(struct store_stmt *s, struct dag_store_alert *a) {
  memset(a, 0, sizeof(*a));
  a->id = store_col_int(s, 0);
  a->created_at = store_col_int(s, 1);
  const char *kind = store_col_cstr(s, 2);
  if (!kind || kind_parse(kind, &a->kind) != 0) a->kind = DAG_ALERT_TASK_FAILED;
  a->dag_id = store_col_text(s, 3);
  a->run_id = store_col_text(s, 4);
  a->task_id = store_col_text(s, 5);
  a->try_number = (int)store_col_int(s, 6);
  a->recipients = store_col_text(s, 7);
  a->subject = store_col_text(s, 8);
  a->body = store_col_text(s, 9);
  const char *state = store_col_cstr(s, 10);
  if (!state || dag_alert_state_parse(state, &a->state) != 0) a->state = DAG_ALERT_FAILED;
  a->attempts = (int)store_col_int(s, 11);
  a->next_attempt_at = store_col_int(s, 12);
  a->last_error = store_col_text(s, 13);
  a->sent_at = store_col_int(s, 14);
  a->cc = store_col_text(s, 15);
  a->target = store_col_text(s, 16);
}

static int get_one(dag_store *st, struct store_stmt *s, struct dag_store_alert *out,
                   const char *what) {
  memset(out, 0, sizeof(*out));
  int rc = store_step(s);
  if (rc == STORE_ROW) read_alert(s, out);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, what);
}

int dag_store_add_alert(dag_store *st, const struct dag_store_alert *a, int64_t *id) {
  static const char sql[] =
      "INSERT INTO alert (created_at, kind, dag_id, run_id, task_id, try_number, recipients,"
      " subject, body, next_attempt_at, cc, target)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
      " RETURNING id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, a->created_at);
  store_bind_text(s, 2, dag_alert_kind_name(a->kind));
  store_bind_text(s, 3, a->dag_id);
  store_bind_text(s, 4, a->run_id);
  store_bind_text(s, 5, a->task_id);
  if (a->task_id) store_bind_int64(s, 6, a->try_number);
  store_bind_text(s, 7, a->recipients ? a->recipients : "[]");
  store_bind_text(s, 8, a->subject);
  store_bind_text(s, 9, a->body);
  store_bind_int64(s, 10, a->next_attempt_at);
  store_bind_text(s, 11, a->cc);
  store_bind_text(s, 12, a->target);
  store_guard(st);
  int rc = store_step(s);
  if (rc == STORE_ROW && id) *id = store_col_int(s, 0);
  store_reset(s);
  rc = rc == STORE_ROW ? 0 : store_fail(st, "add alert");
  store_unguard(st, rc == 0);
  return rc;
}

/* Mail (target NULL) and webhooks have a sender each: one's outage never
 * holds back the other's alerts. */
static int next_due(dag_store *st, bool webhook, dag_time_t *due) {
  static const char mail[] =
      "SELECT next_attempt_at FROM alert WHERE state = 'queued' AND target IS NULL"
      " ORDER BY next_attempt_at, id LIMIT 1";
  static const char hook[] =
      "SELECT next_attempt_at FROM alert WHERE state = 'queued' AND target IS NOT NULL"
      " ORDER BY next_attempt_at, id LIMIT 1";
  struct store_stmt *s = store_stmt(st, webhook ? hook : mail);
  if (!s) return DAG_ESTORE;
  int rc = store_step(s);
  if (rc == STORE_ROW) *due = store_col_int(s, 0);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "next alert due");
}

static int due_alert(dag_store *st, bool webhook, dag_time_t now, struct dag_store_alert *out) {
  static const char mail[] =
      "SELECT " ALERT_COLUMNS " FROM alert WHERE state = 'queued' AND target IS NULL"
      " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1";
  static const char hook[] =
      "SELECT " ALERT_COLUMNS " FROM alert WHERE state = 'queued' AND target IS NOT NULL"
      " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1";
  struct store_stmt *s = store_stmt(st, webhook ? hook : mail);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  return get_one(st, s, out, "due alert");
}

int dag_store_next_alert_due(dag_store *st, dag_time_t *due) {
  return next_due(st, false, due);
}

int dag_store_due_alert(dag_store *st, dag_time_t now, struct dag_store_alert *out) {
  return due_alert(st, false, now, out);
}

int dag_store_webhook_hold(dag_store *st, const char *target, dag_time_t until) {
  static const char sql[] =
      "UPDATE alert SET next_attempt_at = ?1"
      " WHERE state = 'queued' AND target = ?2 AND next_attempt_at < ?1";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, until);
  store_bind_text(s, 2, target);
  return store_step_done(st, s, "hold webhook rows");
}

int dag_store_next_webhook_due(dag_store *st, dag_time_t *due) {
  return next_due(st, true, due);
}

int dag_store_due_webhook(dag_store *st, dag_time_t now, struct dag_store_alert *out) {
  return due_alert(st, true, now, out);
}

int dag_store_get_alert(dag_store *st, int64_t id, struct dag_store_alert *out) {
  static const char sql[] = "SELECT " ALERT_COLUMNS " FROM alert WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  return get_one(st, s, out, "get alert");
}

int dag_store_list_alerts(dag_store *st, int limit, struct dag_store_alert **out,
                          size_t *n) {
  static const char sql[] = "SELECT " ALERT_COLUMNS " FROM alert ORDER BY id DESC LIMIT ?";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, limit > 0 ? limit : STORE_NO_LIMIT);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_alert(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list alerts");
}

void dag_store_alert_free(struct dag_store_alert *a) {
  if (!a) return;
  free(a->dag_id);
  free(a->run_id);
  free(a->task_id);
  free(a->recipients);
  free(a->subject);
  free(a->body);
  free(a->last_error);
  free(a->cc);
  free(a->target);
  memset(a, 0, sizeof(*a));
}

void dag_store_alerts_free(struct dag_store_alert *a, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_alert_free(&a[i]);
  free(a);
}

int dag_store_alert_recipients(dag_store *st, int64_t alert_id,
                               struct dag_store_alert_rcpt **out, size_t *n) {
  static const char sql[] =
      "SELECT address, state, reply, updated_at FROM alert_recipient WHERE alert_id = ?"
      " ORDER BY address";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, alert_id);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_alert_rcpt *r = &(*out)[(*n)++];
    r->address = store_col_text(s, 0);
    const char *state = store_col_cstr(s, 1);
    r->rejected = state && strcmp(state, "rejected") == 0;
    r->reply = store_col_text(s, 2);
    r->updated_at = store_col_int(s, 3);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "alert recipients");
}

void dag_store_alert_rcpts_free(struct dag_store_alert_rcpt *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(r[i].address);
    free(r[i].reply);
  }
  free(r);
}

int dag_store_alert_attempted(dag_store *st, int64_t id,
                              const struct dag_store_alert_attempt *a) {
  static const char upd[] =
      "UPDATE alert SET state = ?1, attempts = attempts + 1,"
      " next_attempt_at = CASE WHEN ?1 = 'queued' THEN ?2 ELSE next_attempt_at END,"
      " last_error = ?3, sent_at = CASE WHEN ?1 = 'sent' THEN ?4 ELSE sent_at END,"
      " recipients = coalesce(?6, recipients) WHERE id = ?5";
  static const char ins[] =
      "INSERT INTO alert_recipient (alert_id, address, state, reply, updated_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (alert_id, address)"
      " DO UPDATE SET state = ?3, reply = ?4, updated_at = ?5";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) goto fail;
  store_bind_text(s, 1, dag_alert_state_name(a->state));
  store_bind_int64(s, 2, a->next_attempt_at);
  store_bind_text(s, 3, a->error);
  store_bind_int64(s, 4, a->now);
  store_bind_int64(s, 5, id);
  store_bind_text(s, 6, a->recipients);
  if ((rc = store_step_done(st, s, "record alert attempt")) != 0) goto fail;
  if (store_changes(st) == 0) {
    dag_store_rollback(st);
    return DAG_ENOTFOUND;
  }
  for (size_t i = 0; i < a->n_rcpts; i++) {
    if (!(s = store_stmt(st, ins))) goto fail;
    store_bind_int64(s, 1, id);
    store_bind_text(s, 2, a->rcpts[i].address);
    store_bind_text(s, 3, a->rcpts[i].rejected ? "rejected" : "sent");
    store_bind_text(s, 4, a->rcpts[i].reply);
    store_bind_int64(s, 5, a->now);
    if ((rc = store_step_done(st, s, "record alert recipient")) != 0) goto fail;
  }
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_retry_alert(dag_store *st, int64_t id, dag_time_t now) {
  static const char del[] =
      "DELETE FROM alert_recipient WHERE alert_id = ? AND state = 'rejected'";
  /* Recipients not yet served. An empty list means smtp.to, resolved (and
   * written back) at the first attempt, so it is always pending. A webhook
   * notification has no recipients: pending until it is sent. */
  static const char pending[] =
      "SELECT CASE WHEN a.target IS NOT NULL THEN a.state <> 'sent' ELSE"
      " json_array_length(a.recipients) = 0 OR EXISTS (SELECT 1 FROM"
      " json_each(a.recipients) j WHERE j.value NOT IN"
      " (SELECT address FROM alert_recipient WHERE alert_id = a.id)) END"
      " FROM alert a WHERE a.id = ?";
  static const char pending_pg[] =
      "SELECT CASE WHEN a.target IS NOT NULL THEN a.state <> 'sent' ELSE"
      " json_array_length(a.recipients::json) = 0 OR EXISTS (SELECT 1 FROM"
      " json_array_elements_text(a.recipients::json) j WHERE j NOT IN"
      " (SELECT address FROM alert_recipient WHERE alert_id = a.id)) END"
      " FROM alert a WHERE a.id = ?";
  static const char upd[] =
      "UPDATE alert SET state = 'queued', next_attempt_at = ? WHERE id = ?";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, del);
  if (!s) goto fail;
  store_bind_int64(s, 1, id);
  if ((rc = store_step_done(st, s, "forget rejections")) != 0) goto fail;
  if (!(s = store_stmt2(st, pending, pending_pg))) goto fail;
  store_bind_int64(s, 1, id);
  rc = store_step(s);
  int has_pending = rc == STORE_ROW ? store_col_int(s, 0) : 0;
  store_reset(s);
  if (rc != STORE_ROW) {
    rc = rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "pending recipients");
    dag_store_rollback(st);
    return rc;
  }
  if (!has_pending) {
    dag_store_rollback(st);
    return DAG_ESTATE;
  }
  if (!(s = store_stmt(st, upd))) goto fail;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, id);
  if ((rc = store_step_done(st, s, "retry alert")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

int dag_store_count_alerts(dag_store *st, int64_t counts[3]) {
  static const char sql[] = "SELECT state, count(*) FROM alert GROUP BY state";
  counts[0] = counts[1] = counts[2] = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    enum dag_alert_state state;
    const char *name = store_col_cstr(s, 0);
    if (name && dag_alert_state_parse(name, &state) == 0 && (unsigned)state < 3)
      counts[state] = store_col_int(s, 1);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "count alerts");
}
