/* test_alerts_msg.c - alert text: secrets masked, the log's last lines,
 * subjects and bodies, and the RFC 5322 message around them.
 *
 * Whole bodies and messages are compared with golden files in
 * tests/data/alerts/ (a message file holds CRLF line ends, as sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerts_msg.h"
#include "alloc.h"
#include "log.h"
#include "strbuf.h"

/* 2026-11-22T00:41:00Z, a Sunday */
#define T0 (INT64_C(1795308060) * DAG_USEC_PER_SEC)

static char *read_all(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot read %s", path);
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) sb_appendn(&sb, buf, n);
  fclose(fp);
  return sb_detach(&sb);
}

static char *data_file(const char *name) {
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  assert_non_null(src);
  char *path = xasprintf("%s/tests/data/alerts/%s", src, name);
  char *text = read_all(path);
  free(path);
  return text;
}

/* Compare with a golden file; DAGCTL_UPDATE_GOLDEN=1 rewrites it instead. */
static void assert_golden(const char *got, const char *name) {
  if (getenv("DAGCTL_UPDATE_GOLDEN")) {
    char *path = xasprintf("%s/tests/data/alerts/%s", getenv("DAGCTL_SOURCE_DIR"), name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(got, fp);
    fclose(fp);
    free(path);
    return;
  }
  char *want = data_file(name);
  assert_string_equal(got, want);
  free(want);
}

static char *temp_file(const char *content, size_t len) {
  char tmpl[] = "/tmp/dagctl-alerts-msg-XXXXXX";
  int fd = mkstemp(tmpl);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, len), (ssize_t)len);
  close(fd);
  return xstrdup(tmpl);
}

static int reset_log(void **state) {
  (void)state;
  dag_log_reset();
  return 0;
}

/* --- secrets ------------------------------------------------------------------ */

static void test_secret_names(void **state) {
  (void)state;
  assert_true(dag_alert_secret_name("DB_PASSWORD"));
  assert_true(dag_alert_secret_name("db_passwd"));
  assert_true(dag_alert_secret_name("AWS_SECRET_ACCESS_KEY"));
  assert_true(dag_alert_secret_name("GITHUB_TOKEN"));
  assert_true(dag_alert_secret_name("api_key"));
  assert_true(dag_alert_secret_name("GOOGLE_APPLICATION_CREDENTIALS"));
  assert_false(dag_alert_secret_name("HOME"));
  assert_false(dag_alert_secret_name("PATH"));
  assert_false(dag_alert_secret_name("DAGCTL_HOME"));
}

static void test_masker_from_environment(void **state) {
  (void)state;
  char *env[] = {"DB_PASSWORD=hunter2secret", "API_TOKEN=abc", "USE_KEYRING=true",
                 "TOKEN_TTL=3600",            "HOME=/root/home-not-secret",
                 "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "NOEQUALS", NULL};
  struct dag_alert_masker m;
  dag_alert_masker_init(&m, env);
  assert_int_equal(m.n, 2);
  assert_string_equal(m.secrets[0], "wJalrXUtnFEMI/K7MDENG");
  assert_string_equal(m.secrets[1], "hunter2secret");
  char *r = dag_alert_mask(&m, "pw=hunter2secret key=wJalrXUtnFEMI/K7MDENG tok=abc "
                               "home=/root/home-not-secret true 3600");
  assert_string_equal(r, "pw=*** key=*** tok=abc home=/root/home-not-secret true 3600");
  free(r);
  dag_alert_masker_free(&m);
}

static void test_mask_longest_first_and_logger_secrets(void **state) {
  (void)state;
  struct dag_alert_masker m;
  dag_alert_masker_init(&m, NULL);
  dag_alert_masker_add(&m, "abcd");
  dag_alert_masker_add(&m, "abcdefgh");
  dag_alert_masker_add(&m, "abc"); /* too short: ignored */
  dag_alert_masker_add(&m, NULL);
  dag_alert_masker_add(&m, "abcd"); /* duplicate */
  assert_int_equal(m.n, 2);
  dag_log_mask("smtp-pass-123");
  char *r = dag_alert_mask(&m, "xabcdefghy abcd abc abcabcd smtp-pass-123!");
  assert_string_equal(r, "x***y *** abc abc*** ***!");
  free(r);
  dag_alert_masker_free(&m);
}

/* --- the log's tail ------------------------------------------------------------ */

static void test_log_tail_last_50_lines(void **state) {
  (void)state;
  struct strbuf sb = STRBUF_INIT;
  for (int i = 1; i <= 60; i++) sb_appendf(&sb, "line %d\n", i);
  sb_append(&sb, "DB_PASSWORD=hunter2secret\n");
  char *path = temp_file(sb.buf, sb.len);
  struct dag_alert_masker m;
  char *env[] = {"DB_PASSWORD=hunter2secret", NULL};
  dag_alert_masker_init(&m, env);
  char *tail = NULL;
  assert_int_equal(dag_alert_log_tail(path, &m, &tail), 0);
  struct strbuf want = STRBUF_INIT;
  for (int i = 12; i <= 60; i++) sb_appendf(&want, "line %d\n", i);
  sb_append(&want, "DB_PASSWORD=***\n");
  assert_string_equal(tail, want.buf);
  free(tail);

  /* Fewer lines than the limit, and no final newline. */
  unlink(path);
  free(path);
  path = temp_file("one\ntwo", 7);
  assert_int_equal(dag_alert_log_tail(path, &m, &tail), 0);
  assert_string_equal(tail, "one\ntwo\n");
  free(tail);
  unlink(path);
  free(path);

  path = temp_file("", 0);
  assert_int_equal(dag_alert_log_tail(path, &m, &tail), 0);
  assert_string_equal(tail, "");
  free(tail);
  unlink(path);
  free(path);

  assert_int_equal(dag_alert_log_tail("/nonexistent/dagctl.log", &m, &tail), -2);
  assert_null(tail);
  dag_alert_masker_free(&m);
  sb_free(&sb);
  sb_free(&want);
}

static void test_log_tail_cleans_text(void **state) {
  (void)state;
  static const char text[] =
      "\x1b[31mred\x1b[0m text\n"            /* colour codes removed */
      "10%\r50%\r100% done\r\n"               /* progress bar: last redraw */
      "bad \xff\xfe bytes \xc3\xa9t\xc3\xa9\n" /* invalid UTF-8 replaced, valid kept */
      "bell\a and tab\there\n"                /* controls but tab replaced */
      "\x1b]0;title\x07""after osc\n"           /* a window title removed */
      "overlong \xc0\xaf and surrogate \xed\xa0\x80\n";
  char *path = temp_file(text, sizeof(text) - 1);
  char *tail = NULL;
  assert_int_equal(dag_alert_log_tail(path, NULL, &tail), 0);
  assert_string_equal(tail, "red text\n"
                            "100% done\n"
                            "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xc3\xa9t\xc3\xa9\n"
                            "bell\xEF\xBF\xBD and tab\there\n"
                            "after osc\n"
                            "overlong \xEF\xBF\xBD\xEF\xBF\xBD and surrogate "
                            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\n");
  free(tail);
  unlink(path);
  free(path);
}

static void test_log_tail_cuts_long_lines_after_masking(void **state) {
  (void)state;
  struct strbuf sb = STRBUF_INIT;
  /* The secret straddles the cut: masked first, it cannot leak a prefix. */
  for (int i = 0; i < DAG_ALERT_LOG_LINE_MAX - 5; i++) sb_appendc(&sb, 'a');
  sb_append(&sb, "hunter2secret and more\n");
  /* A two-byte character at the cut is not split. */
  for (int i = 0; i < DAG_ALERT_LOG_LINE_MAX - 1; i++) sb_appendc(&sb, 'b');
  sb_append(&sb, "\xc3\xa9zzz\n");
  char *path = temp_file(sb.buf, sb.len);
  struct dag_alert_masker m;
  dag_alert_masker_init(&m, NULL);
  dag_alert_masker_add(&m, "hunter2secret");
  char *tail = NULL;
  assert_int_equal(dag_alert_log_tail(path, &m, &tail), 0);
  assert_null(strstr(tail, "hunter"));
  struct strbuf want = STRBUF_INIT;
  for (int i = 0; i < DAG_ALERT_LOG_LINE_MAX - 5; i++) sb_appendc(&want, 'a');
  sb_append(&want, "*** a [...]\n");
  for (int i = 0; i < DAG_ALERT_LOG_LINE_MAX - 1; i++) sb_appendc(&want, 'b');
  sb_append(&want, " [...]\n");
  assert_string_equal(tail, want.buf);
  free(tail);
  dag_alert_masker_free(&m);
  unlink(path);
  free(path);
  sb_free(&sb);
  sb_free(&want);
}

static void test_log_tail_drops_the_fragment_before_the_window(void **state) {
  (void)state;
  struct strbuf sb = STRBUF_INIT;
  /* One line longer than the window, with a secret straddling the
   * window's start: no part of it may be quoted. */
  size_t line_len = DAG_ALERT_LOG_WINDOW + 100;
  for (size_t i = 0; i < line_len; i++) sb_appendc(&sb, 'y');
  sb_append(&sb, "\nlast line\n");
  size_t win = sb.len - DAG_ALERT_LOG_WINDOW;
  memcpy(sb.buf + win - 7, "hunter2secret", 13);
  char *path = temp_file(sb.buf, sb.len);
  char *tail = NULL;
  assert_int_equal(dag_alert_log_tail(path, NULL, &tail), 0);
  assert_string_equal(tail, "last line\n");
  free(tail);
  unlink(path);
  free(path);

  /* No newline at all inside the window: nothing but a note. */
  sb_reset(&sb);
  for (size_t i = 0; i < DAG_ALERT_LOG_WINDOW + 10; i++) sb_appendc(&sb, 'q');
  path = temp_file(sb.buf, sb.len);
  assert_int_equal(dag_alert_log_tail(path, NULL, &tail), 0);
  assert_string_equal(tail, "[the log ends with a line longer than 64 KiB; not quoted]\n");
  free(tail);
  unlink(path);
  free(path);
  sb_free(&sb);
}

/* --- composing ---------------------------------------------------------------- */

static void test_url(void **state) {
  (void)state;
  char *u = dag_alert_url("http://127.0.0.1:8080", "spotify_data_basic",
                          "scheduled__2026-11-22T00:00:00+00:00", "dbt_test", 2);
  assert_string_equal(u, "http://127.0.0.1:8080/dags/spotify_data_basic/runs/"
                         "scheduled__2026-11-22T00%3A00%3A00%2B00%3A00/tasks/dbt_test/tries/2");
  free(u);
  u = dag_alert_url("https://x.example", "d.1", "manual__a b+c", NULL, 0);
  assert_string_equal(u, "https://x.example/dags/d.1?run=manual__a%20b%2Bc");
  free(u);
}

static void test_compose_task_failed(void **state) {
  (void)state;
  struct dag_alert_masker m;
  char *env[] = {"DB_PASSWORD=hunter2secret", NULL};
  dag_alert_masker_init(&m, env);
  struct dag_alert_facts f = {
      .kind = DAG_ALERT_TASK_FAILED,
      .dag_id = "spotify_data_basic",
      .run_id = "scheduled__2026-11-22T00:00:00+00:00",
      .logical_date = T0 - 41 * 60 * DAG_USEC_PER_SEC,
      .url = "http://127.0.0.1:8080/dags/spotify_data_basic/runs/x/tasks/dbt_test",
      .task_id = "dbt_test",
      .try_number = 3,
      .tries = 3,
      .result = "exited with status 1 (password hunter2secret rejected)",
      .start = T0,
      .end = T0 + 12500 * DAG_USEC_PER_MSEC,
      .log_name = "spotify_data_basic/scheduled__2026-11-22T00:00:00+00:00/dbt_test/3.log",
      .log_tail = "Running dbt test\nFAIL 1 not_null_users_id\n",
  };
  char *subject, *body;
  dag_alert_compose(&f, &m, &subject, &body);
  assert_string_equal(subject, "[dagctl] FAILED spotify_data_basic.dbt_test (try 3/3)");
  assert_null(strstr(body, "hunter2secret"));
  assert_golden(body, "task_failed.txt");
  free(subject);
  free(body);
  dag_alert_masker_free(&m);
}

static void test_compose_task_retry(void **state) {
  (void)state;
  struct dag_alert_facts f = {
      .kind = DAG_ALERT_TASK_RETRY,
      .dag_id = "spotify_data_basic",
      .run_id = "manual__1",
      .logical_date = T0,
      .url = "http://h/dags/spotify_data_basic/runs/manual__1/tasks/dbt_test",
      .task_id = "dbt_test",
      .try_number = 2,
      .tries = 3,
      .result = "killed by signal 9 (Killed)",
      .start = T0,
      .end = T0 + 2 * DAG_USEC_PER_SEC,
      .next_try_at = T0 + 302 * DAG_USEC_PER_SEC,
      .log_name = "spotify_data_basic/manual__1/dbt_test/2.log",
      .log_tail = NULL,
  };
  char *subject, *body;
  dag_alert_compose(&f, NULL, &subject, &body);
  assert_string_equal(subject, "[dagctl] RETRY spotify_data_basic.dbt_test (try 2/3)");
  assert_golden(body, "task_retry.txt");
  free(subject);
  free(body);
}

static void test_compose_run_failed(void **state) {
  (void)state;
  struct dag_alert_task_line tasks[] = {
      {"dbt_test", DAG_TI_FAILED, 3, 3, "exited with status 1"},
      {"publish", DAG_TI_UPSTREAM_FAILED, 0, 1, NULL},
  };
  struct dag_alert_facts f = {
      .kind = DAG_ALERT_RUN_FAILED,
      .dag_id = "spotify_data_basic",
      .run_id = "manual__1",
      .logical_date = T0,
      .url = "http://h/dags/spotify_data_basic/runs/manual__1",
      .run_start = T0,
      .run_end = T0 + 90 * DAG_USEC_PER_SEC,
      .tasks = tasks,
      .n_tasks = 2,
  };
  char *subject, *body;
  dag_alert_compose(&f, NULL, &subject, &body);
  assert_string_equal(subject, "[dagctl] RUN FAILED spotify_data_basic (manual__1)");
  assert_golden(body, "run_failed.txt");
  free(subject);
  free(body);
}

static void test_compose_deadline_missed(void **state) {
  (void)state;
  struct dag_alert_task_line tasks[] = {
      {"dbt_run", DAG_TI_RUNNING, 1, 3, NULL},
      {"dbt_test", DAG_TI_NONE, 0, 1, NULL},
  };
  struct dag_alert_facts f = {
      .kind = DAG_ALERT_DEADLINE_MISSED,
      .dag_id = "spotify_data_basic",
      .run_id = "scheduled__1",
      .logical_date = T0,
      .url = "http://h/dags/spotify_data_basic?run=scheduled__1",
      .run_start = T0 + 60 * DAG_USEC_PER_SEC,
      .tasks = tasks,
      .n_tasks = 2,
      .deadline = T0 + 45 * 60 * DAG_USEC_PER_SEC,
      .deadline_after = "logical_date",
      .deadline_within_us = 45 * 60 * DAG_USEC_PER_SEC,
      .queued_at = T0 + 2 * DAG_USEC_PER_SEC,
      .run_state = "running",
  };
  char *subject, *body;
  dag_alert_compose(&f, NULL, &subject, &body);
  assert_string_equal(subject, "[dagctl] DEADLINE MISSED spotify_data_basic (scheduled__1)");
  assert_golden(body, "deadline_missed.txt");
  free(subject);
  free(body);
}

/* --- the RFC 5322 message ------------------------------------------------------- */

static void test_address_check(void **state) {
  (void)state;
  assert_true(dag_alert_address_ok("ops@example.com"));
  assert_true(dag_alert_address_ok("a.b+tag@x"));
  assert_false(dag_alert_address_ok("a@b\r\nBcc: evil@x.org"));
  assert_false(dag_alert_address_ok("Ops <ops@example.com>"));
  assert_false(dag_alert_address_ok("a b@x"));
  assert_false(dag_alert_address_ok("@x"));
  assert_false(dag_alert_address_ok("a@"));
  assert_false(dag_alert_address_ok("a@b@c"));
  assert_false(dag_alert_address_ok("a@x,b@y"));
}

static void test_message_id(void **state) {
  (void)state;
  char *id = dag_alert_message_id(42, T0, "dagctl@example.com");
  assert_string_equal(id, "<dagctl.alert.42.1795308060000000@example.com>");
  free(id);
  id = dag_alert_message_id(7, 1, "weird@ex<am>ple.org\r\n");
  assert_string_equal(id, "<dagctl.alert.7.1@example.org>");
  free(id);
}

static void test_subject_ascii_and_folding(void **state) {
  (void)state;
  char *h = dag_alert_subject_header("[dagctl] FAILED d.t (try 1/1)");
  assert_string_equal(h, "[dagctl] FAILED d.t (try 1/1)");
  free(h);
  /* Header injection: CR/LF never survive. */
  h = dag_alert_subject_header("a\r\nBcc: x@y");
  assert_string_equal(h, "a  Bcc: x@y");
  free(h);
  h = dag_alert_subject_header("[dagctl] RUN FAILED a_dag_with_a_rather_long_name_indeed "
                               "(scheduled__2026-11-22T00:00:00+00:00)");
  assert_string_equal(h, "[dagctl] RUN FAILED a_dag_with_a_rather_long_name_indeed\r\n"
                         " (scheduled__2026-11-22T00:00:00+00:00)");
  free(h);
}

static void test_subject_rfc2047(void **state) {
  (void)state;
  /* "[dagctl] FAILED café.tâche (try 1/1)" */
  char *h = dag_alert_subject_header("[dagctl] FAILED caf\xc3\xa9.t\xc3\xa2""che (try 1/1)");
  assert_string_equal(h, "=?UTF-8?B?W2RhZ2N0bF0gRkFJTEVEIGNhZsOpLnTDomNoZSAodHJ5IDEvMSk=?=");
  free(h);
  /* A long run of 3-byte characters: every word <= 75 characters, and no
   * character split across words (39 bytes = 13 whole characters). */
  struct strbuf sb = STRBUF_INIT;
  for (int i = 0; i < 30; i++) sb_append(&sb, "\xe2\x82\xac"); /* € */
  h = dag_alert_subject_header(sb.buf);
  assert_string_equal(h, "=?UTF-8?B?4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs?=\r\n"
                         " =?UTF-8?B?4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs?=\r\n"
                         " =?UTF-8?B?4oKs4oKs4oKs4oKs?=");
  free(h);
  sb_free(&sb);
}

static void assert_crlf_only(const char *msg) {
  for (const char *p = msg; *p; p++) {
    if (*p == '\n') assert_true(p > msg && p[-1] == '\r');
    if (*p == '\r') assert_true(p[1] == '\n');
  }
}

static void test_format_message_7bit(void **state) {
  (void)state;
  const char *to[] = {"ops@example.com", "data@example.com"};
  struct dag_alert_envelope e = {
      .from = "dagctl@example.com",
      .to = to,
      .n_to = 2,
      .date = T0,
      .message_id = "<dagctl.alert.1.2@example.com>",
      .subject = "[dagctl] FAILED d.t (try 1/1)",
      .body = "Line one\n.starts with a dot\n\nlone CR\rthen CRLF\r\nend",
  };
  char *msg = dag_alert_format_message(&e);
  assert_crlf_only(msg);
  assert_golden(msg, "message_7bit.eml");
  free(msg);
}

/* An email task's mail: a Cc header after To, folded the same way. */
static void test_format_message_cc(void **state) {
  (void)state;
  const char *to[] = {"ops@example.com"};
  const char *cc[] = {"a-rather-long-address-number-one@example.com",
                      "another-long-address-number-two@example.com"};
  struct dag_alert_envelope e = {
      .from = "dagctl@example.com",
      .to = to,
      .n_to = 1,
      .cc = cc,
      .n_cc = 2,
      .date = T0,
      .message_id = "<dagctl.alert.1.2@example.com>",
      .subject = "Report",
      .body = "hello\n",
  };
  char *msg = dag_alert_format_message(&e);
  assert_crlf_only(msg);
  assert_non_null(strstr(msg, "\r\nTo: ops@example.com\r\nCc: "
                              "a-rather-long-address-number-one@example.com,\r\n "
                              "another-long-address-number-two@example.com\r\nMessage-ID: "));
  e.n_cc = 0;
  free(msg);
  msg = dag_alert_format_message(&e);
  assert_null(strstr(msg, "Cc:"));
  free(msg);
}

static void test_format_message_quoted_printable(void **state) {
  (void)state;
  const char *to[] = {"a-rather-long-address-number-one@example.com",
                      "another-long-address-number-two@example.com", "c@example.com"};
  struct strbuf body = STRBUF_INIT;
  sb_append(&body, "caf\xc3\xa9 = 100%\ntrailing space \n");
  for (int i = 0; i < 100; i++) sb_appendc(&body, 'x');
  sb_appendc(&body, '\n');
  struct dag_alert_envelope e = {
      .from = "dagctl@example.com",
      .to = to,
      .n_to = 3,
      .date = T0,
      .message_id = "<dagctl.alert.1.2@example.com>",
      .subject = "[dagctl] RETRY caf\xc3\xa9.t (try 1/2)",
      .body = body.buf,
  };
  char *msg = dag_alert_format_message(&e);
  assert_crlf_only(msg);
  /* No encoded line is longer than 76 characters. */
  for (const char *p = strstr(msg, "\r\n\r\n") + 4; *p;) {
    size_t n = strcspn(p, "\r");
    assert_true(n <= 76);
    p += n + 2;
  }
  assert_golden(msg, "message_qp.eml");
  free(msg);
  sb_free(&body);
}

int main(void) {
#define T(name) cmocka_unit_test_teardown(name, reset_log)
  const struct CMUnitTest tests[] = {
      T(test_secret_names),
      T(test_masker_from_environment),
      T(test_mask_longest_first_and_logger_secrets),
      T(test_log_tail_last_50_lines),
      T(test_log_tail_cleans_text),
      T(test_log_tail_cuts_long_lines_after_masking),
      T(test_log_tail_drops_the_fragment_before_the_window),
      T(test_url),
      T(test_compose_task_failed),
      T(test_compose_task_retry),
      T(test_compose_run_failed),
      T(test_compose_deadline_missed),
      T(test_address_check),
      T(test_message_id),
      T(test_subject_ascii_and_folding),
      T(test_subject_rfc2047),
      T(test_format_message_7bit),
      T(test_format_message_quoted_printable),
      T(test_format_message_cc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
