/* test_bundle.c - run bundles (scheduler/store/bundle.c): a log of any
 * bytes survives the trip through JSON (text or base64, every padding), and
 * a bundle is refused whole, naming the field, for each kind of problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle.h"
#include "dag.h"
#include "dag_load.h"
#include "dag_serial.h"
#include "error.h"

/* A bundle of a one-task DAG, with `n` tries of that task. */
static void minimal(struct dag_bundle *b, size_t n) {
  memset(b, 0, sizeof(*b));
  b->exported_at = 1700000000000000;
  b->run.dag_id = strdup("d");
  b->run.run_id = strdup("manual__2026-11-22T00:41:00+00:00");
  b->run.run_type = strdup("manual");
  b->run.state = DAG_RUN_SUCCESS;
  b->run.logical_date = b->run.data_interval_start = b->run.data_interval_end = 1700000000000000;
  b->run.queued_at = 1700000000000001;
  b->run.conf = strdup("{\"a\":1}");
  b->n_tis = 1;
  b->tis = calloc(1, sizeof(*b->tis));
  b->tis[0].task_id = strdup("t");
  b->tis[0].state = DAG_TI_SUCCESS;
  b->tis[0].try_number = (int)n;
  b->n_tries = n;
  b->tries = calloc(n + 1, sizeof(*b->tries));
  b->logs = calloc(n + 1, sizeof(*b->logs));
  for (size_t i = 0; i < n; i++) {
    b->tries[i].task_id = strdup("t");
    b->tries[i].try_number = (int)i + 1;
    b->tries[i].state = DAG_TI_FAILED;
    b->tries[i].start_date = 1700000000000002;
  }
}

static char *dump(const struct dag_bundle *b) {
  json_t *doc = dag_bundle_to_json(b);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  return text;
}

static void logs_any_bytes(void **state) {
  (void)state;
  /* Every length modulo 3 (base64 padding), NUL and bytes that are not
   * UTF-8, and plain text. */
  static const struct {
    const char *bytes;
    size_t len;
    const char *encoding;
  } cases[] = {
      {"", 0, "utf-8"},          {"a\n", 2, "utf-8"},     {"\0", 1, "utf-8"},
      {"\xff", 1, "base64"},     {"\xff\xfe", 2, "base64"}, {"\xff\xfe\xfd", 3, "base64"},
      {"x\0\xff\n", 4, "base64"}, {"caf\xc3\xa9", 5, "utf-8"},
  };
  size_t n = sizeof(cases) / sizeof(cases[0]);
  struct dag_bundle b;
  minimal(&b, n);
  for (size_t i = 0; i < n; i++) {
    b.logs[i].present = true;
    b.logs[i].data = malloc(cases[i].len + 1);
    memcpy(b.logs[i].data, cases[i].bytes, cases[i].len);
    b.logs[i].len = cases[i].len;
  }
  char *text = dump(&b);
  json_t *doc = json_loads(text, JSON_ALLOW_NUL, NULL);
  assert_non_null(doc);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(json_object_get(doc, "tries"), i), "log"),
                            "encoding")),
                        cases[i].encoding);
  json_decref(doc);
  struct dag_bundle back;
  char *err = NULL;
  assert_int_equal(dag_bundle_parse(text, strlen(text), &back, &err), 0);
  assert_null(err);
  assert_int_equal(back.n_tries, n);
  for (size_t i = 0; i < n; i++) {
    assert_true(back.logs[i].present);
    assert_int_equal(back.logs[i].len, cases[i].len);
    assert_memory_equal(back.logs[i].data, cases[i].bytes, cases[i].len);
  }
  assert_string_equal(back.run.conf, "{\"a\":1}");
  free(text);
  dag_bundle_free(&back);
  dag_bundle_free(&b);
}

/* Edit the minimal bundle's JSON with `edit`, parse it, and expect a
 * refusal whose message starts with `want`. */
static void refused(void (*edit)(json_t *doc), const char *want) {
  struct dag_bundle b;
  minimal(&b, 1);
  char *text = dump(&b);
  dag_bundle_free(&b);
  json_t *doc = json_loads(text, 0, NULL);
  free(text);
  edit(doc);
  text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  char *err = NULL;
  assert_int_equal(dag_bundle_parse(text, strlen(text), &b, &err), DAG_EINVAL);
  assert_non_null(err);
  if (strncmp(err, want, strlen(want)) != 0) fail_msg("got '%s', want '%s...'", err, want);
  /* A refused bundle leaves nothing to free. */
  assert_null(b.tis);
  free(err);
  free(text);
}

static json_t *run_of(json_t *doc) { return json_object_get(doc, "run"); }
static void e_dag_id(json_t *d) { json_object_set_new(run_of(d), "dag_id", json_string("a/b")); }
static void e_state(json_t *d) { json_object_set_new(run_of(d), "state", json_string("done")); }
static void e_conf(json_t *d) { json_object_set_new(run_of(d), "conf", json_array()); }
static void e_extra(json_t *d) { json_object_set_new(run_of(d), "extra", json_true()); }
static void e_missing(json_t *d) { json_object_del(run_of(d), "queued_at"); }
static void e_time(json_t *d) { json_object_set_new(run_of(d), "end_date", json_string("now")); }
static void e_try_task(json_t *d) {
  json_object_set_new(json_array_get(json_object_get(d, "tries"), 0), "task_id",
                      json_string("other"));
}
static void e_try_zero(json_t *d) {
  json_object_set_new(json_array_get(json_object_get(d, "tries"), 0), "try_number",
                      json_integer(0));
}
static void e_ti_twice(json_t *d) {
  json_t *tis = json_object_get(d, "task_instances");
  json_array_append_new(tis, json_deep_copy(json_array_get(tis, 0)));
}
static void e_xcom(json_t *d) {
  json_array_append_new(json_object_get(d, "xcom"),
                        json_pack("{s:s, s:s, s:i}", "task_id", "t", "key", "", "value", 1));
}
static void e_log(json_t *d) {
  json_object_set_new(json_array_get(json_object_get(d, "tries"), 0), "log",
                      json_pack("{s:s, s:s}", "encoding", "base64", "content", "abc"));
}
static void e_version(json_t *d) {
  json_object_set_new(d, "dag_version",
                      json_pack("{s:i, s:s, s:s, s:s, s:n, s:I}", "version_number", 1, "dag_hash",
                                "00", "data", "{}", "fileloc", "/x.yaml", "source_code",
                                "created_at", (json_int_t)1));
}
static void e_format(json_t *d) { json_object_set_new(d, "format", json_string("tarball")); }

static void refusals(void **state) {
  (void)state;
  refused(e_dag_id, "run.dag_id: invalid id 'a/b'");
  refused(e_state, "run.state: 'done' is not a run state");
  refused(e_conf, "run.conf: expected an object");
  refused(e_extra, "run.extra: unknown field");
  refused(e_missing, "run.queued_at: missing");
  refused(e_time, "run.end_date: expected microseconds since 1970");
  refused(e_try_task, "tries[0].task_id: no task instance 'other'");
  refused(e_try_zero, "tries[0].try_number: 0 is out of range");
  refused(e_ti_twice, "task_instances[1].task_id: task 't' twice");
  refused(e_xcom, "xcom[0].key: empty");
  refused(e_log, "tries[0].log.content: not base64");
  refused(e_version, "dag_version.data: not a serialized DAG");
  refused(e_format, "format: 'tarball' is not a dagctl run bundle");
  char *err = NULL;
  struct dag_bundle b;
  assert_int_equal(dag_bundle_parse("{\"run\": ", 8, &b, &err), DAG_EINVAL);
  /* jansson's own words after the place. */
  assert_true(strncmp(err, "1:8: ", 5) == 0);
  free(err);
}

/* A real DAG version: the hash and the canonical form are checked. */
static void version_checked(void **state) {
  (void)state;
  static const char yaml[] = "dag_id: d\ntasks:\n  - {id: t, command: echo}\n";
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  assert_int_equal(dag_load_buffer("d.yaml", yaml, sizeof(yaml) - 1, NULL, &dag, &diags), 0);
  struct dag_bundle b;
  minimal(&b, 0);
  b.has_version = true;
  b.version.version_number = 3;
  b.version.data = dag_serialize(dag);
  b.version.dag_hash = calloc(DAG_SHA256_HEX_LEN + 1, 1);
  dag_serial_hash(b.version.data, b.version.dag_hash);
  b.version.fileloc = strdup("/dags/d.yaml");
  b.version.created_at = 5;
  char *text = dump(&b);
  struct dag_bundle back;
  char *err = NULL;
  assert_int_equal(dag_bundle_parse(text, strlen(text), &back, &err), 0);
  assert_non_null(back.dag);
  assert_string_equal(back.dag->dag_id, "d");
  assert_int_equal(back.version.version_number, 3);
  dag_bundle_free(&back);
  free(text);
  /* Another hash: refused. */
  b.version.dag_hash[0] = b.version.dag_hash[0] == '0' ? '1' : '0';
  text = dump(&b);
  assert_int_equal(dag_bundle_parse(text, strlen(text), &back, &err), DAG_EINVAL);
  assert_non_null(strstr(err, "dag_version.dag_hash: "));
  free(err);
  free(text);
  dag_bundle_free(&b);
  dag_free(dag);
  dag_diags_free(&diags);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(logs_any_bytes),
      cmocka_unit_test(refusals),
      cmocka_unit_test(version_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
