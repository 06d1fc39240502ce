/* test_store_alerts.c - the outbox in the store, on each backend: queueing, due
 * order, attempts with per-recipient outcomes, `alerts retry`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_fixture.h"

static int64_t add(struct store_fixture *f, enum dag_alert_kind kind, const char *task,
                   const char *rcpts, dag_time_t due) {
  struct dag_store_alert a = {
      .created_at = 1000,
      .kind = kind,
      .dag_id = "d",
      .run_id = "manual__1",
      .task_id = (char *)task,
      .try_number = task ? 2 : 0,
      .recipients = (char *)rcpts,
      .subject = "[dagctl] FAILED d.t (try 2/3)",
      .body = "body\n",
      .next_attempt_at = due,
  };
  int64_t id = 0;
  assert_int_equal(dag_store_add_alert(f->st, &a, &id), 0);
  assert_true(id > 0);
  return id;
}

static void test_queue_and_due_order(void **state) {
  struct store_fixture *f = *state;
  dag_time_t due;
  assert_int_equal(dag_store_next_alert_due(f->st, &due), DAG_ENOTFOUND);
  int64_t late = add(f, DAG_ALERT_TASK_FAILED, "t", "[\"a@x.org\"]", 500);
  int64_t early = add(f, DAG_ALERT_RUN_FAILED, NULL, NULL, 200);
  assert_int_equal(dag_store_next_alert_due(f->st, &due), 0);
  assert_int_equal(due, 200);

  struct dag_store_alert a;
  assert_int_equal(dag_store_due_alert(f->st, 199, &a), DAG_ENOTFOUND);
  assert_int_equal(dag_store_due_alert(f->st, 600, &a), 0);
  assert_int_equal(a.id, early);
  assert_int_equal(a.kind, DAG_ALERT_RUN_FAILED);
  assert_null(a.task_id);
  assert_int_equal(a.try_number, 0);
  assert_string_equal(a.recipients, "[]");
  assert_int_equal(a.state, DAG_ALERT_QUEUED);
  assert_int_equal(a.attempts, 0);
  dag_store_alert_free(&a);

  assert_int_equal(dag_store_get_alert(f->st, late, &a), 0);
  assert_string_equal(a.task_id, "t");
  assert_int_equal(a.try_number, 2);
  assert_string_equal(a.subject, "[dagctl] FAILED d.t (try 2/3)");
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_get_alert(f->st, 999, &a), DAG_ENOTFOUND);

  struct dag_store_alert *all;
  size_t n;
  assert_int_equal(dag_store_list_alerts(f->st, 0, &all, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(all[0].id, early); /* newest first */
  assert_int_equal(all[1].id, late);
  dag_store_alerts_free(all, n);
}

static void test_attempts_and_recipients(void **state) {
  struct store_fixture *f = *state;
  int64_t id = add(f, DAG_ALERT_TASK_RETRY, "t", "[\"a@x.org\",\"b@x.org\"]", 100);
  /* First attempt: a@ rejected, b@ deferred: queued again for later. */
  struct dag_store_alert_rcpt r1[] = {{"a@x.org", true, "550 5.1.1 no such user", 0}};
  struct dag_store_alert_attempt at = {
      .state = DAG_ALERT_QUEUED,
      .now = 150,
      .next_attempt_at = 180,
      .error = "1 recipient deferred",
      .rcpts = r1,
      .n_rcpts = 1,
  };
  assert_int_equal(dag_store_alert_attempted(f->st, id, &at), 0);
  struct dag_store_alert a;
  assert_int_equal(dag_store_get_alert(f->st, id, &a), 0);
  assert_int_equal(a.state, DAG_ALERT_QUEUED);
  assert_int_equal(a.attempts, 1);
  assert_int_equal(a.next_attempt_at, 180);
  assert_string_equal(a.last_error, "1 recipient deferred");
  assert_int_equal(a.sent_at, 0);
  dag_store_alert_free(&a);

  /* Second attempt: b@ accepted: sent. */
  struct dag_store_alert_rcpt r2[] = {{"b@x.org", false, "250 2.0.0 OK", 0}};
  at = (struct dag_store_alert_attempt){
      .state = DAG_ALERT_SENT, .now = 190, .error = "rejected: a@x.org: 550 ...",
      .rcpts = r2, .n_rcpts = 1};
  assert_int_equal(dag_store_alert_attempted(f->st, id, &at), 0);
  assert_int_equal(dag_store_get_alert(f->st, id, &a), 0);
  assert_int_equal(a.state, DAG_ALERT_SENT);
  assert_int_equal(a.attempts, 2);
  assert_int_equal(a.sent_at, 190);
  assert_int_equal(a.next_attempt_at, 180); /* untouched once sent */
  dag_store_alert_free(&a);
  dag_time_t due;
  assert_int_equal(dag_store_next_alert_due(f->st, &due), DAG_ENOTFOUND);

  struct dag_store_alert_rcpt *rc;
  size_t n;
  assert_int_equal(dag_store_alert_recipients(f->st, id, &rc, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(rc[0].address, "a@x.org");
  assert_true(rc[0].rejected);
  assert_string_equal(rc[0].reply, "550 5.1.1 no such user");
  assert_int_equal(rc[0].updated_at, 150);
  assert_string_equal(rc[1].address, "b@x.org");
  assert_false(rc[1].rejected);
  dag_store_alert_rcpts_free(rc, n);

  /* Retry: the rejection is forgotten, a@ is pending again, b@ is not. */
  assert_int_equal(dag_store_retry_alert(f->st, id, 300), 0);
  assert_int_equal(dag_store_get_alert(f->st, id, &a), 0);
  assert_int_equal(a.state, DAG_ALERT_QUEUED);
  assert_int_equal(a.next_attempt_at, 300);
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_alert_recipients(f->st, id, &rc, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(rc[0].address, "b@x.org");
  dag_store_alert_rcpts_free(rc, n);

  /* Everyone served: nothing to retry. */
  struct dag_store_alert_rcpt r3[] = {{"a@x.org", false, "250 OK", 0}};
  at = (struct dag_store_alert_attempt){.state = DAG_ALERT_SENT, .now = 310, .rcpts = r3,
                                        .n_rcpts = 1};
  assert_int_equal(dag_store_alert_attempted(f->st, id, &at), 0);
  assert_int_equal(dag_store_retry_alert(f->st, id, 400), DAG_ESTATE);
  assert_int_equal(dag_store_retry_alert(f->st, 12345, 400), DAG_ENOTFOUND);
  assert_int_equal(dag_store_alert_attempted(f->st, 12345, &at), DAG_ENOTFOUND);
}

static void test_defaults_resolved_and_recorded(void **state) {
  struct store_fixture *f = *state;
  int64_t id = add(f, DAG_ALERT_RUN_FAILED, NULL, "[]", 100);
  /* An empty list means smtp.to: always retryable until resolved. */
  assert_int_equal(dag_store_retry_alert(f->st, id, 120), 0);
  struct dag_store_alert_attempt at = {.state = DAG_ALERT_FAILED, .now = 130,
                                       .error = "rejected: ops@x.org: 550 no",
                                       .recipients = "[\"ops@x.org\"]"};
  struct dag_store_alert_rcpt r[] = {{"ops@x.org", true, "550 no", 0}};
  at.rcpts = r;
  at.n_rcpts = 1;
  assert_int_equal(dag_store_alert_attempted(f->st, id, &at), 0);
  struct dag_store_alert a;
  assert_int_equal(dag_store_get_alert(f->st, id, &a), 0);
  assert_int_equal(a.state, DAG_ALERT_FAILED);
  assert_string_equal(a.recipients, "[\"ops@x.org\"]");
  assert_string_equal(a.last_error, "rejected: ops@x.org: 550 no");
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_retry_alert(f->st, id, 140), 0);
  assert_int_equal(dag_store_get_alert(f->st, id, &a), 0);
  assert_int_equal(a.state, DAG_ALERT_QUEUED);
  dag_store_alert_free(&a);
}

static void test_add_keeps_an_enclosing_transaction(void **state) {
  struct store_fixture *f = *state;
  assert_int_equal(dag_store_begin(f->st), 0);
  int64_t id = add(f, DAG_ALERT_TASK_FAILED, "t", "[]", 1);
  /* A failing insert (bad kind cannot happen; a NULL subject violates NOT
   * NULL) must not end the caller's transaction. */
  struct dag_store_alert bad = {.created_at = 1, .dag_id = "d", .run_id = "r",
                                .subject = NULL, .body = "b", .next_attempt_at = 1};
  assert_int_not_equal(dag_store_add_alert(f->st, &bad, NULL), 0);
  int64_t id2 = add(f, DAG_ALERT_TASK_RETRY, "t", "[]", 1);
  assert_int_equal(dag_store_commit(f->st), 0);
  struct dag_store_alert a;
  assert_int_equal(dag_store_get_alert(f->st, id, &a), 0);
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_get_alert(f->st, id2, &a), 0);
  dag_store_alert_free(&a);
}

/* Mail and webhook rows share the table but not their senders' queues; a
 * webhook row is pending until sent, then `alerts retry` sends it again
 * only if asked before it was sent. */
static void test_webhook_rows(void **state) {
  struct store_fixture *f = *state;
  int64_t mail = add(f, DAG_ALERT_TASK_FAILED, "t", "[\"a@x.org\"]", 300);
  struct dag_store_alert h = {
      .created_at = 1000,
      .kind = DAG_ALERT_RUN_FAILED,
      .dag_id = "d",
      .run_id = "manual__1",
      .subject = "s",
      .body = "b",
      .next_attempt_at = 100,
      .target = "webhook",
  };
  int64_t hook = 0;
  assert_int_equal(dag_store_add_alert(f->st, &h, &hook), 0);

  dag_time_t due;
  assert_int_equal(dag_store_next_alert_due(f->st, &due), 0);
  assert_int_equal(due, 300); /* the mail's, not the earlier webhook's */
  assert_int_equal(dag_store_next_webhook_due(f->st, &due), 0);
  assert_int_equal(due, 100);
  struct dag_store_alert a;
  assert_int_equal(dag_store_due_alert(f->st, 1000, &a), 0);
  assert_int_equal(a.id, mail);
  assert_null(a.target);
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_due_webhook(f->st, 99, &a), DAG_ENOTFOUND);
  assert_int_equal(dag_store_due_webhook(f->st, 1000, &a), 0);
  assert_int_equal(a.id, hook);
  assert_string_equal(a.target, "webhook");
  assert_string_equal(a.recipients, "[]");
  dag_store_alert_free(&a);

  /* Failed for good: retry queues it again. */
  struct dag_store_alert_attempt failed = {
      .state = DAG_ALERT_FAILED, .now = 2000, .error = "HTTP 404"};
  assert_int_equal(dag_store_alert_attempted(f->st, hook, &failed), 0);
  assert_int_equal(dag_store_due_webhook(f->st, 5000, &a), DAG_ENOTFOUND);
  assert_int_equal(dag_store_retry_alert(f->st, hook, 3000), 0);
  assert_int_equal(dag_store_due_webhook(f->st, 3000, &a), 0);
  assert_int_equal(a.id, hook);
  dag_store_alert_free(&a);
  /* Sent: nothing to retry. */
  struct dag_store_alert_attempt sent = {.state = DAG_ALERT_SENT, .now = 4000};
  assert_int_equal(dag_store_alert_attempted(f->st, hook, &sent), 0);
  assert_int_equal(dag_store_retry_alert(f->st, hook, 5000), DAG_ESTATE);
  assert_int_equal(dag_store_next_webhook_due(f->st, &due), DAG_ENOTFOUND);
}

static int64_t add_hook(struct store_fixture *f, const char *target, dag_time_t due) {
  struct dag_store_alert h = {.created_at = 1000, .kind = DAG_ALERT_RUN_FAILED, .dag_id = "d",
                              .run_id = "manual__1", .subject = "s", .body = "b",
                              .next_attempt_at = due, .target = (char *)target};
  int64_t id = 0;
  assert_int_equal(dag_store_add_alert(f->st, &h, &id), 0);
  return id;
}

/* A receiver that does not answer holds back its own rows only: the
 * other targets' rows stay due, and no row is moved earlier. */
static void test_webhook_hold_per_target(void **state) {
  struct store_fixture *f = *state;
  int64_t a1 = add_hook(f, "webhook:slack:team_a", 100);
  int64_t b1 = add_hook(f, "webhook:json:team_b", 200);
  int64_t a2 = add_hook(f, "webhook:slack:team_a", 9000);
  int64_t mail = add(f, DAG_ALERT_TASK_FAILED, "t", "[\"a@x.org\"]", 50);
  assert_int_equal(dag_store_webhook_hold(f->st, "webhook:slack:team_a", 5000), 0);
  struct dag_store_alert a;
  assert_int_equal(dag_store_due_webhook(f->st, 1000, &a), 0);
  assert_int_equal(a.id, b1);
  assert_string_equal(a.target, "webhook:json:team_b");
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_get_alert(f->st, a1, &a), 0);
  assert_int_equal(a.next_attempt_at, 5000);
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_get_alert(f->st, a2, &a), 0);
  assert_int_equal(a.next_attempt_at, 9000);
  dag_store_alert_free(&a);
  assert_int_equal(dag_store_get_alert(f->st, mail, &a), 0);
  assert_int_equal(a.next_attempt_at, 50);
  dag_store_alert_free(&a);
}

int main(void) {
#define T(name) STORE_TEST(name)
  const struct CMUnitTest tests[] = {
      T(test_queue_and_due_order),
      T(test_attempts_and_recipients),
      T(test_defaults_resolved_and_recorded),
      T(test_add_keeps_an_enclosing_transaction),
      T(test_webhook_rows),
      T(test_webhook_hold_per_target),
  };
  return store_backends_run("store_alerts", tests, DAG_ARRAY_SIZE(tests));
}
