/* test_s3_sensor.c - the wait_for_s3_files plugin over a local lake, loaded
 * from the build's plugins folder and run by the fake host: matching,
 * placeholders, XComs, poke and reschedule modes, timeouts, soft_fail,
 * cancellation and bad params. tests/integration/test_lake_s3.sh runs it
 * against s3rver. */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "fake_host.h"
#include "lake.h"
#include "timeutil.h"

struct fixture {
  char dir[PATH_MAX];
  struct fake_host fh;
  const struct dagctl_task_type *type;
  struct lake *lk; /* the same folder, to put objects */
};

static char *plugin_path(void) {
  const char *bin = getenv("DAGCTL_BIN");
  assert_non_null(bin);
  char *copy = xstrdup(bin);
  char *path = xasprintf("%s/plugins/s3_sensor.so", dirname(copy));
  free(copy);
  return path;
}

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  char tmpl[] = "/tmp/dagctl-s3-sensor-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
  fake_host_init(&f->fh);
  f->fh.echo = getenv("SENSOR_TEST_VERBOSE") != NULL;
  char *path = plugin_path();
  f->type = fake_host_load(&f->fh, path, "wait_for_s3_files");
  free(path);
  assert_non_null(f->type);
  /* No lake.url: the sensor uses HOME/lake, as with the default config. */
  fake_host_ctx(&f->fh, "home", f->dir);
  fake_host_ctx(&f->fh, "ds", "2026-11-22");
  fake_host_ctx(&f->fh, "run_id", "manual__2026-11-22T01:00:00+00:00");
  char *root = xasprintf("%s/lake", f->dir);
  char *err = NULL;
  assert_int_equal(lake_open(&(struct lake_options){.url = root}, &f->lk, &err), 0);
  free(root);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  lake_close(f->lk);
  fake_host_free(&f->fh);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(f);
  return 0;
}

static void put(struct fixture *f, const char *key) {
  char *err = NULL;
  if (lake_put(f->lk, key, "x", 1, &err) != 0) fail_msg("put %s: %s", key, err);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void assert_log_has(struct fixture *f, const char *want) {
  if (strstr(sb_str(&f->fh.log), want) == NULL)
    fail_msg("log lacks \"%s\":\n%s", want, sb_str(&f->fh.log));
}

static int count_lines(struct fixture *f, const char *needle) {
  int n = 0;
  for (const char *p = sb_str(&f->fh.log); (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

static void test_types(void **state) {
  struct fixture *f = *state;
  const struct dagctl_task_type *alias = fake_host_load(&f->fh, "", "s3_key_sensor");
  assert_non_null(alias);
  assert_ptr_equal(alias->execute, f->type->execute);
  assert_int_equal(f->type->size, sizeof(struct dagctl_task_type));
  assert_non_null(strstr(f->type->description, "lake"));
}

static void test_pattern_and_placeholders(void **state) {
  struct fixture *f = *state;
  put(f, "raw/day=2026-11-22/b.ndjson");
  put(f, "raw/day=2026-11-22/a.ndjson");
  put(f, "raw/day=2026-11-22/sub/c.ndjson"); /* '*' crosses '/' */
  put(f, "raw/day=2026-11-22/a.json");
  put(f, "raw/day=2026-11-23/d.ndjson");
  put(f, "raw/20261122/e.ndjson");
  fake_host_param(&f->fh, "prefix", "raw/day={{ ds }}/*.ndjson");
  fake_host_param(&f->fh, "min_count", "3");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
  assert_string_equal(fake_host_xcom(&f->fh, "keys"),
                      "[\"raw/day=2026-11-22/a.ndjson\",\"raw/day=2026-11-22/b.ndjson\","
                      "\"raw/day=2026-11-22/sub/c.ndjson\"]");
  assert_string_equal(fake_host_xcom(&f->fh, "count"), "3");
  char *want = xasprintf("INFO found 3 key(s) matching 'raw/day=2026-11-22/*.ndjson' in "
                         "%s/lake (first: raw/day=2026-11-22/a.ndjson)", f->dir);
  assert_log_has(f, want);
  free(want);

  /* '?' matches one character; {{ds_nodash}} without spaces. */
  fake_host_param(&f->fh, "prefix", "raw/{{ds_nodash}}/?.ndjson");
  fake_host_param(&f->fh, "min_count", "1");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
  assert_string_equal(fake_host_xcom(&f->fh, "keys"), "[\"raw/20261122/e.ndjson\"]");

  /* Without a wildcard it is a plain prefix. */
  fake_host_param(&f->fh, "prefix", "raw/day=2026-11-2");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
  assert_string_equal(fake_host_xcom(&f->fh, "count"), "5");
}

static void test_poke_timeout_and_soft_fail(void **state) {
  struct fixture *f = *state;
  put(f, "x/other.txt");
  fake_host_param(&f->fh, "prefix", "x/*.ndjson");
  fake_host_param(&f->fh, "poke_interval", "100ms");
  fake_host_param(&f->fh, "timeout", "350ms");
  double t0 = now_s();
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_FAILED);
  double took = now_s() - t0;
  assert_true(took >= 0.35);
  char *want = xasprintf("ERROR timed out after 350ms waiting for 1 key(s) matching "
                         "'x/*.ndjson' in %s/lake: found 0 (1 under 'x/')\n", f->dir);
  assert_log_has(f, want);
  free(want);
  /* Pokes at 0, 100, 200, 300 ms and the deadline: at most four "not yet"
   * between, fewer on a machine too loaded to keep the pace, never none. */
  int not_yet = count_lines(f, "not yet: 0 of 1 key(s)");
  assert_true(not_yet >= 1 && not_yet <= 4);
  assert_null(fake_host_xcom(&f->fh, "keys"));

  fake_host_param(&f->fh, "soft_fail", "true");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_SKIP);
  assert_log_has(f, "; soft_fail: skipping");
  assert_log_has(f, "WARN timed out after 350ms");
}

/* The object arrives after the second "not yet": acting on the sensor's own
 * log line, not after a delay, keeps the test exact on a loaded machine. */
static void put_after_two_pokes(struct fake_host *fh, const char *level, const char *msg) {
  (void)level;
  struct fixture *f = fh->data;
  if (strstr(msg, "not yet") && count_lines(f, "not yet") == 2) put(f, "late/file");
}

static void test_poke_finds_later(void **state) {
  struct fixture *f = *state;
  fake_host_param(&f->fh, "prefix", "late/");
  fake_host_param(&f->fh, "poke_interval", "100ms");
  fake_host_param(&f->fh, "timeout", "10s");
  f->fh.on_log = put_after_two_pokes;
  f->fh.data = f;
  double t0 = now_s();
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
  double took = now_s() - t0;
  f->fh.on_log = NULL;
  /* Two pokes found nothing, the third found it: two intervals waited. */
  assert_true(took >= 0.2);
  assert_string_equal(fake_host_xcom(&f->fh, "keys"), "[\"late/file\"]");
  assert_int_equal(count_lines(f, "not yet"), 2);
}

static void test_reschedule(void **state) {
  struct fixture *f = *state;
  fake_host_param(&f->fh, "prefix", "r/{{ run_id }}/");
  fake_host_param(&f->fh, "mode", "reschedule");
  fake_host_param(&f->fh, "poke_interval", "30s");
  /* One poke, no sleeping: the slot goes back at once. */
  double t0 = now_s();
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_NOT_YET);
  assert_true(now_s() - t0 < 1.0);
  assert_log_has(f, "INFO not yet: 0 of 1 key(s) matching "
                    "'r/manual__2026-11-22T01:00:00+00:00/' (0 under "
                    "'r/manual__2026-11-22T01:00:00+00:00/'); next poke in 30s");

  /* Started two hours ago, with the default timeout of an hour. */
  char started[40];
  dag_time_iso(dag_time_now() - INT64_C(7200) * 1000000, started, sizeof(started));
  fake_host_ctx(&f->fh, "sensor_started", started);
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_FAILED);
  assert_log_has(f, "ERROR timed out after 1h waiting for 1 key(s)");
  fake_host_param(&f->fh, "soft_fail", "yes");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_SKIP);

  /* Within the timeout: still waiting. */
  dag_time_iso(dag_time_now() - INT64_C(600) * 1000000, started, sizeof(started));
  fake_host_ctx(&f->fh, "sensor_started", started);
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_NOT_YET);

  /* Found, even past the timeout: a last look wins. */
  put(f, "r/manual__2026-11-22T01:00:00+00:00/part-0");
  dag_time_iso(dag_time_now() - INT64_C(7200) * 1000000, started, sizeof(started));
  fake_host_ctx(&f->fh, "sensor_started", started);
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
  assert_string_equal(fake_host_xcom(&f->fh, "count"), "1");

  /* A start the sensor cannot read times from now. */
  fake_host_param(&f->fh, "prefix", "none/");
  fake_host_ctx(&f->fh, "sensor_started", "yesterday");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_NOT_YET);
  assert_log_has(f, "WARN sensor_started: not an ISO-8601 instant 'yesterday'");
}

static void test_cancelled(void **state) {
  struct fixture *f = *state;
  fake_host_param(&f->fh, "prefix", "never/");
  fake_host_param(&f->fh, "poke_interval", "1m");
  f->fh.cancel_after = 3;
  double t0 = now_s();
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_FAILED);
  assert_true(now_s() - t0 < 2.0);
  assert_int_equal(f->fh.cancelled_calls, 3);
  assert_log_has(f, "WARN cancelled while waiting for 'never/'");
}

static void test_bad_params(void **state) {
  struct fixture *f = *state;
  static const struct {
    const char *name, *value, *log;
  } cases[] = {
      {"prefix", NULL, "ERROR prefix: required"},
      {"prefix", "a/{{ foo }}/", "ERROR param prefix: unknown template variable 'foo'"},
      {"min_count", "0", "ERROR min_count: expected an integer >= 1, got '0'"},
      {"min_count", "2x", "ERROR min_count: expected an integer >= 1, got '2x'"},
      {"poke_interval", "soon", "ERROR poke_interval: expected a duration such as 30s, 5m or "
                                "1h, got 'soon'"},
      {"poke_interval", "0s", "ERROR poke_interval: must be longer than 0"},
      {"timeout", "-1s", "ERROR timeout: expected a duration"},
      {"mode", "sometimes", "ERROR mode: expected poke or reschedule, got 'sometimes'"},
      {"soft_fail", "maybe", "ERROR soft_fail: expected true or false, got 'maybe'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fake_host_param(&f->fh, "prefix", "a/");
    fake_host_param(&f->fh, cases[i].name, cases[i].value);
    assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_FAILED);
    assert_log_has(f, cases[i].log);
    fake_host_param(&f->fh, cases[i].name, NULL);
  }
  /* JSON-quoted strings are accepted as the host may hand them. */
  put(f, "q/1");
  fake_host_param(&f->fh, "prefix", "\"q/\"");
  fake_host_param(&f->fh, "poke_interval", "\"1s\"");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
}

/* Far more matches than 64 KiB of JSON holds: the array is cut, stays
 * valid JSON, and count tells the whole. */
static void test_xcom_truncated(void **state) {
  struct fixture *f = *state;
  enum { N = 700 };
  char *dir = xasprintf("%s/lake/many", f->dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  for (int i = 0; i < N; i++) {
    char *p = xasprintf("%s/%04d-%0100d.ndjson", dir, i, 0);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
    free(p);
  }
  free(dir);
  fake_host_param(&f->fh, "prefix", "many/*.ndjson");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_OK);
  assert_string_equal(fake_host_xcom(&f->fh, "count"), "700");
  const char *keys = fake_host_xcom(&f->fh, "keys");
  assert_true(strlen(keys) <= 64 * 1024);
  json_error_t e;
  json_t *arr = json_loads(keys, 0, &e);
  assert_non_null(arr);
  /* An item is 120 bytes with its quotes and comma: "[" + 546 items + "]"
   * is 65521 bytes, and one more would not fit. */
  assert_int_equal(json_array_size(arr), 546);
  assert_int_equal(strlen(keys), 65521);
  assert_string_equal(json_string_value(json_array_get(arr, 0)),
                      "many/0000-0000000000000000000000000000000000000000000000000000000000"
                      "000000000000000000000000000000000000000000.ndjson");
  json_decref(arr);
  assert_log_has(f, "WARN xcom keys: 546 of 700 keys kept (64 KiB limit)");
}

/* An unreachable S3 lake: retried, logged without the secret, and in
 * reschedule mode simply "not yet". */
static void test_unreachable_s3(void **state) {
  struct fixture *f = *state;
  fake_host_conn(&f->fh, "lake", "url", "s3://b12/p");
  fake_host_conn(&f->fh, "lake", "endpoint", "http://127.0.0.1:1");
  fake_host_conn(&f->fh, "lake", "access_key_id", "AKIDSENSORTEST");
  fake_host_conn(&f->fh, "lake", "secret_access_key", "wJalrXUtnFEMI-SENSOR-SECRET");
  fake_host_conn(&f->fh, "lake", "timeout", "2s");
  fake_host_param(&f->fh, "prefix", "a/");
  fake_host_param(&f->fh, "mode", "reschedule");
  assert_int_equal(fake_host_run(&f->fh, f->type), DAGCTL_NOT_YET);
  assert_log_has(f, "WARN lake: LIST s3://b12/p/a/ (page 1): ");
  assert_log_has(f, "after 5 attempts (will poke again)");
  assert_log_has(f, "in s3://b12/p at http://127.0.0.1:1/b12 mode=reschedule");
  assert_null(strstr(sb_str(&f->fh.log), "SENSOR-SECRET"));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_types),
      T(test_pattern_and_placeholders),
      T(test_poke_timeout_and_soft_fail),
      T(test_poke_finds_later),
      T(test_reschedule),
      T(test_cancelled),
      T(test_bad_params),
      T(test_xcom_truncated),
      T(test_unreachable_s3),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
