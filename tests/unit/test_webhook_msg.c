/* test_webhook_msg.c - the bodies of webhook notifications (json, slack,
 * teams): fields, JSON escaping of task names and errors, Slack's escapes;
 * and what an HTTP answer means for a notification. (Sending itself is
 * tested against a real receiver in tests/integration/test_alerts_webhook.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "dag.h"
#include "error.h"
#include "store.h"
#include "webhook_msg.h"
#include "webhook_send.h"

/* A task name and an error with everything JSON must escape: quotes,
 * backslashes, control characters, non-ASCII, and Slack's & < >. */
#define NASTY_TASK "load\"x\\y"
#define NASTY_BODY "exit 1\n\tline \"two\" \\ <@here> & \x01 caf\xc3\xa9"

static struct dag_store_alert sample(void) {
  struct dag_store_alert a = {
      .id = 42,
      .created_at = 1700000000LL * 1000000LL,
      .kind = DAG_ALERT_TASK_FAILED,
      .dag_id = "spotify",
      .run_id = "manual__2023-11-14T22:13:20+00:00",
      .task_id = NASTY_TASK,
      .try_number = 2,
      .subject = "[dagctl] FAILED spotify." NASTY_TASK " (try 2/3)",
      .body = NASTY_BODY,
  };
  return a;
}

static json_t *parse(const char *text) {
  assert_non_null(text);
  json_error_t err;
  json_t *o = json_loads(text, 0, &err);
  if (!o) fail_msg("not JSON (%s): %s", err.text, text);
  return o;
}

static void test_generic(void **state) {
  (void)state;
  struct dag_store_alert a = sample();
  char *text = dag_webhook_payload("json", &a);
  /* Escaped as JSON requires: no raw control character in the text. */
  for (const char *p = text; *p; p++) assert_true((unsigned char)*p >= 0x20);
  json_t *o = parse(text);
  assert_string_equal(json_string_value(json_object_get(o, "event")), "task_failed");
  assert_string_equal(json_string_value(json_object_get(o, "dag_id")), "spotify");
  assert_string_equal(json_string_value(json_object_get(o, "dag_run_id")), a.run_id);
  assert_string_equal(json_string_value(json_object_get(o, "task_id")), NASTY_TASK);
  assert_int_equal(json_integer_value(json_object_get(o, "try_number")), 2);
  assert_string_equal(json_string_value(json_object_get(o, "subject")), a.subject);
  assert_string_equal(json_string_value(json_object_get(o, "text")), NASTY_BODY);
  assert_int_equal(json_integer_value(json_object_get(o, "alert_id")), 42);
  assert_string_equal(json_string_value(json_object_get(o, "created_at")),
                      "2023-11-14T22:13:20+00:00");
  assert_int_equal(json_object_size(o), 9);
  json_decref(o);
  free(text);
  /* NULL is the default format. */
  text = dag_webhook_payload(NULL, &a);
  o = parse(text);
  assert_string_equal(json_string_value(json_object_get(o, "event")), "task_failed");
  json_decref(o);
  free(text);
}

static void test_generic_run_failed(void **state) {
  (void)state;
  struct dag_store_alert a = sample();
  a.kind = DAG_ALERT_RUN_FAILED;
  a.task_id = NULL;
  char *text = dag_webhook_payload("json", &a);
  json_t *o = parse(text);
  assert_string_equal(json_string_value(json_object_get(o, "event")), "run_failed");
  assert_true(json_is_null(json_object_get(o, "task_id")));
  assert_true(json_is_null(json_object_get(o, "try_number")));
  json_decref(o);
  free(text);
}

static void test_slack(void **state) {
  (void)state;
  struct dag_store_alert a = sample();
  char *text = dag_webhook_payload("slack", &a);
  json_t *o = parse(text);
  assert_int_equal(json_object_size(o), 1);
  assert_string_equal(json_string_value(json_object_get(o, "text")),
                      "*[dagctl] FAILED spotify.load\"x\\y (try 2/3)*\n```\n"
                      "exit 1\n\tline \"two\" \\ &lt;@here&gt; &amp; \x01 caf\xc3\xa9\n```");
  json_decref(o);
  free(text);
}

static void test_slack_escape(void **state) {
  (void)state;
  char *s = dag_webhook_slack_escape("a<b>&c &amp;");
  assert_string_equal(s, "a&lt;b&gt;&amp;c &amp;amp;");
  free(s);
  s = dag_webhook_slack_escape(NULL);
  assert_string_equal(s, "");
  free(s);
}

static void test_teams(void **state) {
  (void)state;
  struct dag_store_alert a = sample();
  char *text = dag_webhook_payload("teams", &a);
  json_t *o = parse(text);
  assert_string_equal(json_string_value(json_object_get(o, "type")), "message");
  json_t *att = json_array_get(json_object_get(o, "attachments"), 0);
  assert_int_equal(json_array_size(json_object_get(o, "attachments")), 1);
  assert_string_equal(json_string_value(json_object_get(att, "contentType")),
                      "application/vnd.microsoft.card.adaptive");
  json_t *card = json_object_get(att, "content");
  assert_string_equal(json_string_value(json_object_get(card, "type")), "AdaptiveCard");
  assert_string_equal(json_string_value(json_object_get(card, "version")), "1.4");
  json_t *body = json_object_get(card, "body");
  assert_int_equal(json_array_size(body), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(body, 0), "text")),
                      a.subject);
  assert_string_equal(json_string_value(json_object_get(json_array_get(body, 1), "text")),
                      NASTY_BODY);
  assert_string_equal(json_string_value(json_object_get(json_array_get(body, 0), "type")),
                      "TextBlock");
  json_decref(o);
  free(text);
}

static void test_unknown_format(void **state) {
  (void)state;
  struct dag_store_alert a = sample();
  assert_null(dag_webhook_payload("xml", &a));
}

static void test_classify(void **state) {
  (void)state;
  struct dag_webhook_outcome o;
  dag_webhook_classify(200, NULL, "ok", &o);
  assert_int_equal(o.state, DAG_ALERT_SENT);
  assert_null(o.error);
  dag_webhook_classify(204, NULL, NULL, &o);
  assert_int_equal(o.state, DAG_ALERT_SENT);

  dag_webhook_classify(0, "Failed to connect to 127.0.0.1 port 9", NULL, &o);
  assert_int_equal(o.state, DAG_ALERT_QUEUED);
  assert_string_equal(o.error, "Failed to connect to 127.0.0.1 port 9");
  free(o.error);
  dag_webhook_classify(0, "", NULL, &o);
  assert_string_equal(o.error, "no answer");
  free(o.error);

  long again[] = {408, 429, 500, 502, 503};
  for (size_t i = 0; i < sizeof(again) / sizeof(*again); i++) {
    dag_webhook_classify(again[i], NULL, "busy", &o);
    assert_int_equal(o.state, DAG_ALERT_QUEUED);
    free(o.error);
  }
  dag_webhook_classify(404, NULL, "no_service", &o);
  assert_int_equal(o.state, DAG_ALERT_FAILED);
  assert_string_equal(o.error, "HTTP 404: no_service");
  free(o.error);
  dag_webhook_classify(400, NULL, "", &o);
  assert_string_equal(o.error, "HTTP 400");
  free(o.error);
  /* A long answer is cut. */
  char big[1000];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  dag_webhook_classify(403, NULL, big, &o);
  assert_int_equal(strlen(o.error), strlen("HTTP 403: ") + 300);
  free(o.error);
}

/* A DAG's own webhook is named by its connection, never by its URL, and
 * read back the same; the global section's target is not one. */
static void test_dag_target(void **state) {
  (void)state;
  struct dag_notify_hook h = {.format = "slack", .url_connection = "slack_data.1"};
  char *t = dag_webhook_target(&h);
  assert_string_equal(t, "webhook:slack:slack_data.1");
  char *format = NULL, *conn = NULL;
  assert_int_equal(dag_webhook_target_parse(t, &format, &conn), 0);
  assert_string_equal(format, "slack");
  assert_string_equal(conn, "slack_data.1");
  free(format);
  free(conn);
  free(t);
  const char *bad[] = {"webhook", "webhook:", "webhook:json", "webhook::x", "webhook:json:",
                       "webhook:json:a:b", "email"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(dag_webhook_target_parse(bad[i], &format, &conn), DAG_EINVAL);
  assert_int_equal(dag_webhook_target_parse(NULL, &format, &conn), DAG_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generic),      cmocka_unit_test(test_generic_run_failed),
      cmocka_unit_test(test_slack),        cmocka_unit_test(test_slack_escape),
      cmocka_unit_test(test_teams),        cmocka_unit_test(test_unknown_format),
      cmocka_unit_test(test_classify),     cmocka_unit_test(test_dag_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
