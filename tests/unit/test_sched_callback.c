/* test_sched_callback.c - callbacks (sched_callback.c) driven through the
 * run state machine without processes: the harness's fake spawner and
 * clock, the real store on SQLite and PostgreSQL, and a fake callback
 * runner that records which callback each transition asked for, with
 * what context. No test sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched_harness.h"

#define MAX_CALLS 32

/* What the fake runner saw, for the test being run (one at a time). */
struct call {
  char *what; /* "TASK:EVENT:TRY", "run:EVENT" */
  char *argv; /* argv joined by '|' */
  char *log_path;
  char *state, *exception, *reason, *callback_env;
};

struct recorder {
  struct call calls[MAX_CALLS];
  size_t n;
  int fail_with; /* the runner's answer: 0 (started) or a UV_* code */
};

static struct recorder rec;

static char *dup_env(char *const *env, const char *name) {
  const char *v = env_get((char **)env, name);
  return v ? xstrdup(v) : NULL;
}

static int fake_callback(void *ctx, const struct sched_callback_spec *spec) {
  (void)ctx;
  assert_true(rec.n < MAX_CALLS);
  struct call *c = &rec.calls[rec.n++];
  c->what = spec->task_id ? xasprintf("%s:%s:%d", spec->task_id,
                                      dag_callback_name(spec->event), spec->try_number)
                          : xasprintf("run:%s", dag_callback_name(spec->event));
  char *a = xstrdup("");
  for (size_t i = 0; spec->argv[i]; i++) {
    char *n = xasprintf("%s%s%s", a, i ? "|" : "", spec->argv[i]);
    free(a);
    a = n;
  }
  c->argv = a;
  c->log_path = xstrdup(spec->log_path);
  c->state = dup_env(spec->env, "DAGCTL_STATE");
  c->exception = dup_env(spec->env, "DAGCTL_EXCEPTION");
  c->reason = dup_env(spec->env, "DAGCTL_REASON");
  c->callback_env = dup_env(spec->env, "DAGCTL_CALLBACK");
  /* The scheduler's own settings never reach a callback. */
  for (size_t i = 0; spec->env[i]; i++) assert_true(strncmp(spec->env[i], "DAGCTL__", 8) != 0);
  assert_int_equal(spec->timeout_ms, 60000);
  return rec.fail_with;
}

static void rec_clear(void) {
  for (size_t i = 0; i < rec.n; i++) {
    struct call *c = &rec.calls[i];
    free(c->what);
    free(c->argv);
    free(c->log_path);
    free(c->state);
    free(c->exception);
    free(c->reason);
    free(c->callback_env);
  }
  memset(&rec, 0, sizeof(rec));
}

/* The callbacks asked for so far, "what what ...", in order. */
static void expect_calls(const char *want) {
  char *got = xstrdup("");
  for (size_t i = 0; i < rec.n; i++) {
    char *n = xasprintf("%s%s%s", got, i ? " " : "", rec.calls[i].what);
    free(got);
    got = n;
  }
  if (strcmp(got, want) != 0) fail_msg("callbacks: got '%s'\n                want '%s'", got, want);
  free(got);
}

static int cb_setup(void **state) {
  setup(state);
  struct harness *h = *state;
  h->s->ops.callback = fake_callback;
  rec_clear();
  return 0;
}

static int cb_teardown(void **state) {
  rec_clear();
  return teardown(state);
}

static bool a_running(struct harness *h) {
  return find_live(h, "a") != NULL;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return xstrdup("");
  char buf[8192];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return xstrdup(buf);
}

static const char every[] = "dag_id: d\n"
                            "on_success_callback: echo run ok\n"
                            "on_failure: [/bin/echo, run failed]\n"
                            "default_args:\n"
                            "  retries: 1\n"
                            "  retry_delay: 0s\n"
                            "  on_execute_callback: echo start\n"
                            "  on_retry: echo retry {{ task_id }} {{ ti.try_number }}\n"
                            "  on_failure_callback: echo failed\n"
                            "  on_success: echo ok\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    command: x\n";

/* A retry fires on_retry, the last try on_failure, the run's end its
 * on_failure with Airflow's reason; each with the state it records. */
static void retry_then_failure(void **state) {
  struct harness *h = *state;
  run_one(h, every);
  pump_until(h, a_running);
  expect_calls("a:on_execute:1");
  assert_string_equal(rec.calls[0].state, "running");
  assert_null(rec.calls[0].exception);
  finish(h, "a", 3);
  pump_until(h, a_running);
  expect_calls("a:on_execute:1 a:on_retry:1 a:on_execute:2");
  struct call *retry = &rec.calls[1];
  assert_string_equal(retry->state, "up_for_retry");
  assert_string_equal(retry->exception, "exited with status 3");
  assert_string_equal(retry->callback_env, "on_retry");
  /* Values rendered as a shell task's: quoted words. */
  assert_string_equal(retry->argv, "/bin/sh|-c|echo retry 'a' '1'");
  /* Its output goes to the try's log. */
  char *want = xasprintf("%s/home/logs/d/", h->dir);
  assert_memory_equal(retry->log_path, want, strlen(want));
  assert_string_equal(retry->log_path + strlen(retry->log_path) - 6, "/1.log");
  free(want);
  finish(h, "a", 3);
  pump_until(h, one_done);
  expect_states(h, "a=failed");
  expect_calls("a:on_execute:1 a:on_retry:1 a:on_execute:2 a:on_failure:2 run:on_failure");
  assert_string_equal(rec.calls[3].state, "failed");
  assert_string_equal(rec.calls[3].exception, "exited with status 3");
  struct call *run = &rec.calls[4];
  assert_string_equal(run->argv, "/bin/echo|run failed");
  assert_string_equal(run->reason, "task_failure");
  assert_string_equal(run->state, "failed");
  assert_null(run->exception);
  assert_string_equal(run->log_path + strlen(run->log_path) - 14, "/callbacks.log");
  assert_int_equal(h->final, DAG_RUN_FAILED);
}

/* Success, a skip by exit code, and a task without callbacks. */
static void success_and_skip(void **state) {
  struct harness *h = *state;
  run_one(h, "dag_id: d\n"
             "on_success: echo run ok\n"
             "on_failure: echo run failed\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n"
             "    on_success_callback: echo ok\n"
             "    on_failure: echo failed\n"
             "  - id: b\n"
             "    command: x\n"
             "    on_skipped: echo skipped\n"
             "    on_success: echo ok\n"
             "  - id: c\n"
             "    upstream: b\n"
             "    trigger_rule: all_done\n"
             "    command: x\n");
  pump_until(h, a_running);
  expect_calls("");
  finish(h, "a", 0);
  finish(h, "b", 99);
  pump_until(h, NULL);
  expect_calls("a:on_success:1 b:on_skipped:1");
  assert_string_equal(rec.calls[1].state, "skipped");
  finish(h, "c", 0);
  pump_until(h, one_done);
  expect_states(h, "a=success b=skipped c=success");
  expect_calls("a:on_success:1 b:on_skipped:1 run:on_success");
  assert_string_equal(rec.calls[2].reason, "success");
  assert_string_equal(rec.calls[2].state, "success");
}

/* A callback that cannot start changes no state: the run succeeds, and
 * the reason is in the try's log. */
static void failing_callback_changes_nothing(void **state) {
  struct harness *h = *state;
  rec.fail_with = UV_ENOENT;
  run_one(h, "dag_id: d\n"
             "on_success: [/no/such/program]\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n"
             "    on_success: [/no/such/program]\n");
  pump_until(h, a_running);
  finish(h, "a", 0);
  pump_until(h, one_done);
  expect_states(h, "a=success");
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  expect_calls("a:on_success:1 run:on_success");
  char *log = read_text(rec.calls[0].log_path);
  if (!strstr(log, "[dagctl] on_success callback could not start: /no/such/program: "))
    fail_msg("try log: %s", log);
  free(log);
  log = read_text(rec.calls[1].log_path);
  assert_non_null(strstr(log, "[dagctl] on_success callback could not start"));
  free(log);
}

/* A value from conf is one quoted word in a command; a template that does
 * not render runs nothing and says why, the state unchanged. */
static void conf_quoted_and_bad_template(void **state) {
  struct harness *h = *state;
  struct dag *dag = load_yaml(h, "dag_id: d\n"
                                 "tasks:\n"
                                 "  - id: a\n"
                                 "    command: x\n"
                                 "    on_success: echo {{ conf.msg }}\n"
                                 "    on_failure: echo {{ conf.missing }}\n"
                                 "  - id: b\n"
                                 "    command: x\n"
                                 "    retries: 0\n"
                                 "    on_failure: echo {{ conf.missing }}\n");
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_TEST,
                                .conf_json = "{\"msg\": \"x'; touch /tmp/pwned; echo '\"}"};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
  pump_until(h, a_running);
  finish(h, "a", 0);
  finish(h, "b", 1);
  pump_until(h, one_done);
  expect_states(h, "a=success b=failed");
  expect_calls("a:on_success:1");
  assert_string_equal(rec.calls[0].argv, "/bin/sh|-c|echo 'x'\\''; touch /tmp/pwned; echo '\\'''");
  /* b's on_failure did not render: nothing ran, its log says why. */
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, "b", &t, &n), 0);
  assert_int_equal(n, 1);
  char *path = xasprintf("%s/home/logs/%s", h->dir, t[0].log_path);
  dag_store_tries_free(t, n);
  char *log = read_text(path);
  if (!strstr(log, "[dagctl] on_failure callback not run: command: "))
    fail_msg("b's log: %s", log);
  free(log);
  free(path);
}

/* Each instance of a mapped task fires its own, with its map_index; the
 * task's own entry, which ends with their outcome, fires none. */
static void mapped_instances(void **state) {
  struct harness *h = *state;
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - id: m\n"
             "    expand: {n: [5, 6]}\n"
             "    command: x\n"
             "    on_failure: echo {{ ti.map_index }} $DAGCTL_MAP_INDEX\n");
  pump_until(h, NULL);
  finish(h, "m", 1);
  finish(h, "m", 1);
  pump_until(h, one_done);
  expect_calls("m:on_failure:1 m:on_failure:1");
  bool seen[2] = {false, false};
  for (size_t i = 0; i < rec.n; i++) {
    if (strcmp(rec.calls[i].argv, "/bin/sh|-c|echo '0' $DAGCTL_MAP_INDEX") == 0) seen[0] = true;
    if (strcmp(rec.calls[i].argv, "/bin/sh|-c|echo '1' $DAGCTL_MAP_INDEX") == 0) seen[1] = true;
    assert_non_null(strstr(rec.calls[i].log_path, "/m/map_index="));
  }
  assert_true(seen[0] && seen[1]);
  assert_int_equal(h->final, DAG_RUN_FAILED);
}

/* dagrun_timeout fails the run: its on_failure, reason timed_out. */
static void run_timeout_reason(void **state) {
  struct harness *h = *state;
  run_one(h, "dag_id: d\n"
             "dagrun_timeout: 1h\n"
             "on_failure: echo timed out\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n");
  pump_until(h, a_running);
  h->now += (dag_time_t)2 * 3600 * DAG_USEC_PER_SEC;
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = SCHED_WORK_RUN_TIMEOUT;
  w.pk = h->pk;
  assert_int_equal(sched_run_timeout_work(h->s, &w), 0);
  sched_callback_flush(h->s);
  pump_until(h, one_done);
  expect_calls("run:on_failure");
  assert_string_equal(rec.calls[0].reason, "timed_out");
  assert_int_equal(h->final, DAG_RUN_FAILED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(retry_then_failure, cb_setup, cb_teardown),
      cmocka_unit_test_setup_teardown(success_and_skip, cb_setup, cb_teardown),
      cmocka_unit_test_setup_teardown(failing_callback_changes_nothing, cb_setup, cb_teardown),
      cmocka_unit_test_setup_teardown(conf_quoted_and_bad_template, cb_setup, cb_teardown),
      cmocka_unit_test_setup_teardown(run_timeout_reason, cb_setup, cb_teardown),
      cmocka_unit_test_setup_teardown(mapped_instances, cb_setup, cb_teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_callback", tests, DAG_ARRAY_SIZE(tests));
}
