/* test_smtp_send.c - what an SMTP attempt means for an alert, and the
 * backoff between attempts. (Sending itself is tested against a real SMTP
 * server in tests/integration/test_alerts_*.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_send.h"

#define S DAG_USEC_PER_SEC

static void test_backoff(void **state) {
  (void)state;
  assert_int_equal(dag_smtp_backoff(30 * S, 1), 30 * S);
  assert_int_equal(dag_smtp_backoff(30 * S, 2), 60 * S);
  assert_int_equal(dag_smtp_backoff(30 * S, 3), 120 * S);
  assert_int_equal(dag_smtp_backoff(30 * S, 7), 1920 * S);
  assert_int_equal(dag_smtp_backoff(30 * S, 8), 3600 * S); /* 3840 s, capped */
  assert_int_equal(dag_smtp_backoff(30 * S, 1000000), 3600 * S);
  assert_int_equal(dag_smtp_backoff(0, 1), 1 * S); /* a floor: never a busy loop */
  assert_int_equal(dag_smtp_backoff(0, 3), 4 * S);
  assert_int_equal(dag_smtp_backoff(2 * 3600 * S, 1), 3600 * S);
}

static const char *const two[] = {"good@x.org", "bad@x.org"};

static void classify(const struct dag_smtp_result *r, const char *const *rcpts, size_t n,
                     bool before, struct dag_smtp_outcome *o) {
  dag_smtp_classify(rcpts, n, r, before, o);
}

static void test_all_delivered(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[] = {{250, "250 OK"}, {250, "250 OK"}};
  struct dag_smtp_result r = {.reached = true, .mail_code = 250, .mail_reply = "250 OK",
                              .data_code = 250, .data_reply = "250 2.0.0 queued as X",
                              .rcpts = st, .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_SENT);
  assert_false(o.server_trouble);
  assert_null(o.error);
  assert_int_equal(o.n_rcpts, 2);
  assert_string_equal(o.rcpts[1].address, "bad@x.org");
  assert_false(o.rcpts[1].rejected);
  assert_string_equal(o.rcpts[1].reply, "250 2.0.0 queued as X");
  dag_smtp_outcome_free(&o);
}

static void test_one_rejected_other_delivered(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[] = {{250, "250 OK"}, {550, "550 5.1.1 <bad@x.org>: unknown"}};
  struct dag_smtp_result r = {.reached = true, .mail_code = 250, .data_code = 250,
                              .data_reply = "250 accepted", .rcpts = st, .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_SENT);
  assert_string_equal(o.error, "rejected: bad@x.org: 550 5.1.1 <bad@x.org>: unknown");
  assert_int_equal(o.n_rcpts, 2);
  assert_false(o.rcpts[0].rejected);
  assert_true(o.rcpts[1].rejected);
  assert_string_equal(o.rcpts[1].reply, "550 5.1.1 <bad@x.org>: unknown");
  dag_smtp_outcome_free(&o);
}

static void test_all_rejected_fails(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[] = {{550, "550 no a"}, {553, "553 no b"}};
  struct dag_smtp_result r = {.reached = true, .mail_code = 250, .data_code = 503,
                              .data_reply = "503 need RCPT", .rcpts = st, .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_FAILED);
  assert_string_equal(o.error, "rejected: good@x.org: 550 no a; bad@x.org: 553 no b");
  assert_int_equal(o.n_rcpts, 2);
  dag_smtp_outcome_free(&o);
  /* ... unless an earlier attempt already reached someone. */
  classify(&r, two, 2, true, &o);
  assert_int_equal(o.state, DAG_ALERT_SENT);
  dag_smtp_outcome_free(&o);
}

static void test_unreachable_is_temporary(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[2] = {{0, NULL}, {0, NULL}};
  struct dag_smtp_result r = {.error = "cannot connect to 127.0.0.1:25: Connection refused",
                              .rcpts = st, .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_QUEUED);
  assert_true(o.server_trouble);
  assert_string_equal(o.error, "cannot connect to 127.0.0.1:25: Connection refused");
  assert_int_equal(o.n_rcpts, 0);
  dag_smtp_outcome_free(&o);
}

static void test_auth_refusal_is_temporary(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[2] = {{0, NULL}, {0, NULL}};
  struct dag_smtp_result r = {.reached = true, .mail_code = 530,
                              .mail_reply = "530 5.7.0 Authentication required", .rcpts = st,
                              .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_QUEUED);
  assert_true(o.server_trouble);
  assert_string_equal(o.error, "MAIL FROM: 530 5.7.0 Authentication required");
  dag_smtp_outcome_free(&o);
}

static void test_sender_refused_fails(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[2] = {{0, NULL}, {0, NULL}};
  struct dag_smtp_result r = {.reached = true, .mail_code = 550,
                              .mail_reply = "550 5.7.1 sender not allowed", .rcpts = st,
                              .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_FAILED);
  assert_string_equal(o.error, "rejected: good@x.org: 550 5.7.1 sender not allowed; "
                               "bad@x.org: 550 5.7.1 sender not allowed");
  dag_smtp_outcome_free(&o);
}

static void test_deferred_recipient_stays_queued(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[] = {{250, "250 OK"}, {450, "450 mailbox busy"}};
  struct dag_smtp_result r = {.reached = true, .mail_code = 250, .data_code = 250,
                              .data_reply = "250 ok", .rcpts = st, .n_rcpts = 2};
  struct dag_smtp_outcome o;
  classify(&r, two, 2, false, &o);
  assert_int_equal(o.state, DAG_ALERT_QUEUED);
  assert_false(o.server_trouble); /* other alerts may go meanwhile */
  assert_string_equal(o.error, "1 recipient deferred");
  assert_int_equal(o.n_rcpts, 1); /* good@ got it and is never mailed again */
  assert_string_equal(o.rcpts[0].address, "good@x.org");
  dag_smtp_outcome_free(&o);
}

static void test_message_refused_or_deferred(void **state) {
  (void)state;
  struct dag_smtp_rcpt_status st[] = {{250, "250 OK"}};
  const char *one[] = {"good@x.org"};
  struct dag_smtp_result r = {.reached = true, .mail_code = 250, .data_code = 554,
                              .data_reply = "554 5.7.1 spam", .rcpts = st, .n_rcpts = 1};
  struct dag_smtp_outcome o;
  classify(&r, one, 1, false, &o);
  assert_int_equal(o.state, DAG_ALERT_FAILED);
  assert_string_equal(o.error, "rejected: good@x.org: 554 5.7.1 spam");
  dag_smtp_outcome_free(&o);

  r.data_code = 451;
  r.data_reply = "451 try later";
  classify(&r, one, 1, false, &o);
  assert_int_equal(o.state, DAG_ALERT_QUEUED);
  assert_string_equal(o.error, "the message was deferred: 451 try later");
  dag_smtp_outcome_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff),
      cmocka_unit_test(test_all_delivered),
      cmocka_unit_test(test_one_rejected_other_delivered),
      cmocka_unit_test(test_all_rejected_fails),
      cmocka_unit_test(test_unreachable_is_temporary),
      cmocka_unit_test(test_auth_refusal_is_temporary),
      cmocka_unit_test(test_sender_refused_fails),
      cmocka_unit_test(test_deferred_recipient_stays_queued),
      cmocka_unit_test(test_message_refused_or_deferred),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
