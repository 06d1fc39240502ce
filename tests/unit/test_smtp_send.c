/* test_smtp_send.c - what an SMTP attempt means for an alert, the backoff
 * between attempts, and an attempt that owns what its worker thread reads.
 * (Sending itself is tested against a real SMTP server in
 * tests/integration/test_alerts_*.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "smtp_send.h"
#include "timeutil.h"

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

/* --- the worker shares nothing with the loop ------------------------------- */

static uv_sem_t pool_gate;

/* Holds the thread pool's only thread until the test opens the gate. */
static void hold_pool(uv_work_t *req) {
  (void)req;
  uv_sem_wait(&pool_gate);
}

static void held_done(uv_work_t *req, int status) {
  (void)req;
  (void)status;
}

static void sender_closed(void *ctx) {
  *(int *)ctx = 1;
}

/* An attempt is queued while the pool is busy; before its worker runs, the
 * loop's copy of the settings changes (the sender borrows dag_config). The
 * attempt must still go where it was meant to when it was queued: the
 * worker reads only what the attempt copied. */
static void test_attempt_owns_its_settings(void **state) {
  (void)state;
  /* A port that refuses connections: bound, never listening. */
  int sd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(sd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(sd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  socklen_t len = sizeof(sa);
  assert_int_equal(getsockname(sd, (struct sockaddr *)&sa, &len), 0);
  int port = ntohs(sa.sin_port);

  char dir[] = "/tmp/dagctl-smtp-send-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *db = xasprintf("%s/dagctl.db", dir);
  dag_store *st = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(db, NULL, &st, &err), 0);
  struct dag_store_alert a = {
      .created_at = dag_time_now(),
      .kind = DAG_ALERT_TASK_FAILED,
      .dag_id = "d",
      .run_id = "r",
      .task_id = "t",
      .try_number = 1,
      .recipients = "[\"ops@example.org\"]",
      .subject = "s",
      .body = "b\n",
      .next_attempt_at = 0,
  };
  int64_t id = 0;
  assert_int_equal(dag_store_add_alert(st, &a, &id), 0);
  char *wake = xasprintf("%s/wakeup", dir);
  FILE *wf = fopen(wake, "w");
  assert_non_null(wf);
  fclose(wf);
  free(wake);

  char host[32] = "127.0.0.1";
  struct dag_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.home = dir;
  cfg.smtp_host = host;
  cfg.smtp_port = port;
  cfg.smtp_tls = DAG_SMTP_NO_TLS;
  cfg.smtp_from = "dagctl@example.org";
  cfg.smtp_timeout_us = 5 * S;
  cfg.smtp_retry_base_us = 30 * S;

  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_sem_init(&pool_gate, 0), 0);
  uv_work_t hold;
  assert_int_equal(uv_queue_work(&loop, &hold, hold_pool, held_done), 0);
  struct dag_smtp_sender *s = NULL;
  assert_int_equal(dag_smtp_sender_new(&loop, &cfg, st, &s), 0);
  /* The first tick starts the attempt; its worker waits behind hold_pool. */
  uv_run(&loop, UV_RUN_NOWAIT);
  /* The loop's settings change while the attempt is queued. */
  snprintf(host, sizeof(host), "localhost");
  uv_sem_post(&pool_gate);
  uv_run(&loop, UV_RUN_DEFAULT);

  struct dag_store_alert got;
  assert_int_equal(dag_store_get_alert(st, id, &got), 0);
  assert_int_equal(got.attempts, 1);
  assert_non_null(got.last_error);
  char *want = xasprintf("cannot connect to 127.0.0.1:%d", port);
  if (strstr(got.last_error, want) == NULL)
    fail_msg("the attempt went elsewhere: %s (expected %s)", got.last_error, want);
  free(want);
  dag_store_alert_free(&got);

  int closed = 0;
  dag_smtp_sender_close(s, sender_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
  uv_sem_destroy(&pool_gate);
  dag_store_close(st);
  close(sd);
  char *cmd = xasprintf("rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(db);
}

int main(void) {
  /* One pool thread, so that test_attempt_owns_its_settings can hold the
   * attempt back: set before libuv starts its pool. */
  setenv("UV_THREADPOOL_SIZE", "1", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attempt_owns_its_settings),
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
