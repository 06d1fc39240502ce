/* test_sched_branch.c - XCom values of shell tasks, branch and
 * short_circuit, driven through the run state machine without processes:
 * a fake spawner whose "processes" end when a test says so (after writing
 * the try's $DAGCTL_XCOM file and log as a task would), a fake clock and
 * the real store, on SQLite and on PostgreSQL. No test sleeps. */
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

/* The value of task.key as stored (JSON), or NULL. Caller frees. */
static char *xcom(struct harness *h, const char *task, const char *key) {
  struct dag_store_xcom *x = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_xcom_list_task(h->st, h->pk, task, key, &x, &n), 0);
  char *v = n ? xstrdup(x[0].value) : NULL;
  dag_store_xcoms_free(x, n);
  return v;
}

static void expect_xcom(struct harness *h, const char *task, const char *key, const char *want) {
  char *got = xcom(h, task, key);
  if (!got || strcmp(got, want) != 0)
    fail_msg("%s.%s: got %s, want %s", task, key, got ? got : "(none)", want);
  free(got);
}

static char *last_error(struct harness *h, const char *task) {
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, task, &t, &n), 0);
  assert_true(n > 0);
  char *e = t[n - 1].error ? xstrdup(t[n - 1].error) : NULL;
  dag_store_tries_free(t, n);
  return e;
}

/* --- XCom from shell tasks ------------------------------------------------------ */

static const char two[] = "dag_id: d\n"
                          "tasks:\n"
                          "  - id: a\n"
                          "    command: x\n"
                          "    xcom_push: last_line\n"
                          "  - id: b\n"
                          "    upstream: a\n"
                          "    command: echo {{ ti.xcom_pull(task_ids='a') }}\n";

static void xcom_file_and_last_line(void **state) {
  struct harness *h = *state;
  run_one(h, two);
  finish_with(h, "a", "rows=42\n{not json: a key=value file}=x\n", NULL, 0);
  /* A line that is not key=value fails the try (no retries): nothing is
   * stored, b never runs. */
  pump_until(h, one_done);
  expect_states(h, "a=failed b=upstream_failed");
  char *e = last_error(h, "a");
  assert_non_null(e);
  assert_non_null(strstr(e, "XCom file ($DAGCTL_XCOM): line 2"));
  free(e);
  assert_null(xcom(h, "a", "rows"));
}

static void xcom_values_stored_with_success(void **state) {
  struct harness *h = *state;
  run_one(h, two);
  finish_with(h, "a", "rows=42\nname=x y\n",
              "[dagctl] d.a started\nsome output\nthe result\n[dagctl] try 1 exited\n", 0);
  pump_until(h, NULL);
  expect_xcom(h, "a", "rows", "\"42\"");
  expect_xcom(h, "a", "name", "\"x y\"");
  expect_xcom(h, "a", "return_value", "\"the result\"");
  /* b's command was rendered with the value. */
  assert_non_null(find_live(h, "b"));
  finish_with(h, "b", "{\"n\": 3, \"l\": [1, 2]}", NULL, 0);
  pump_until(h, one_done);
  expect_states(h, "a=success b=success");
  expect_xcom(h, "b", "n", "3");
  expect_xcom(h, "b", "l", "[1,2]");
  assert_null(xcom(h, "b", "return_value"));
}

/* --- branch ---------------------------------------------------------------------- */

static const char branchy[] = "dag_id: d\n"
                              "tasks:\n"
                              "  - id: pick\n"
                              "    command: x\n"
                              "    branch: true\n"
                              "  - id: left\n"
                              "    upstream: pick\n"
                              "    command: x\n"
                              "  - id: right\n"
                              "    upstream: pick\n"
                              "    command: x\n"
                              "  - id: after_right\n"
                              "    upstream: right\n"
                              "    command: x\n"
                              "  - id: join\n"
                              "    upstream: [left, after_right]\n"
                              "    trigger_rule: none_failed_min_one_success\n"
                              "    command: x\n";

static void branch_follows_one(void **state) {
  struct harness *h = *state;
  run_one(h, branchy);
  finish_with(h, "pick", "return_value=left\n", NULL, 0);
  pump_until(h, NULL);
  expect_states(h, "after_right=skipped join=none left=running pick=success right=skipped");
  assert_null(find_live(h, "right"));
  finish(h, "left", 0);
  pump_until(h, NULL);
  finish(h, "join", 0);
  pump_until(h, one_done);
  expect_states(h,
                "after_right=skipped join=success left=success pick=success right=skipped");
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static void branch_follows_a_list(void **state) {
  struct harness *h = *state;
  run_one(h, branchy);
  /* A list from a JSON file, and one as text (a last line). */
  finish_with(h, "pick", "{\"return_value\": [\"left\", \"right\"]}", NULL, 0);
  pump_until(h, NULL);
  assert_non_null(find_live(h, "left"));
  assert_non_null(find_live(h, "right"));
  finish(h, "left", 0);
  finish(h, "right", 0);
  pump_until(h, NULL);
  finish(h, "after_right", 0);
  pump_until(h, NULL);
  finish(h, "join", 0);
  pump_until(h, one_done);
  expect_states(h,
                "after_right=success join=success left=success pick=success right=success");
}

static void branch_list_as_text_and_none(void **state) {
  struct harness *h = *state;
  run_one(h, branchy);
  finish_with(h, "pick", "return_value=[\"right\"]\n", NULL, 0);
  pump_until(h, NULL);
  expect_states(h, "after_right=none join=none left=skipped pick=success right=running");
  finish(h, "right", 0);
  pump_until(h, NULL);
  finish(h, "after_right", 0);
  pump_until(h, NULL);
  finish(h, "join", 0);
  pump_until(h, one_done);
  expect_states(h,
                "after_right=success join=success left=skipped pick=success right=success");
}

static void branch_to_unknown_task_fails(void **state) {
  struct harness *h = *state;
  run_one(h, branchy);
  /* after_right is a task of the DAG, but not a direct downstream one. */
  finish_with(h, "pick", "return_value=after_right\n", NULL, 0);
  pump_until(h, one_done);
  expect_states(h, "after_right=upstream_failed join=upstream_failed left=upstream_failed "
                   "pick=failed right=upstream_failed");
  char *e = last_error(h, "pick");
  assert_non_null(e);
  assert_string_equal(e, "branch: 'after_right' is not a direct downstream task of 'pick' "
                         "(they are: left, right)");
  free(e);
  assert_int_equal(h->final, DAG_RUN_FAILED);
}

static void branch_join_right_below(void **state) {
  struct harness *h = *state;
  /* Airflow's special case: join is a direct downstream task of the branch
   * and of the followed task: it is not skipped. */
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - id: pick\n"
             "    command: x\n"
             "    branch: true\n"
             "  - id: t1\n"
             "    upstream: pick\n"
             "    command: x\n"
             "  - id: join\n"
             "    upstream: [pick, t1]\n"
             "    command: x\n");
  finish_with(h, "pick", "return_value=t1\n", NULL, 0);
  pump_until(h, NULL);
  finish(h, "t1", 0);
  pump_until(h, NULL);
  finish(h, "join", 0);
  pump_until(h, one_done);
  expect_states(h, "join=success pick=success t1=success");
}

/* --- short circuit ------------------------------------------------------------------- */

static char *sc_yaml(const char *ignore) {
  return xasprintf("dag_id: d\n"
                   "tasks:\n"
                   "  - id: check\n"
                   "    command: x\n"
                   "    short_circuit: true\n%s"
                   "  - id: next\n"
                   "    upstream: check\n"
                   "    command: x\n"
                   "  - id: other\n"
                   "    command: x\n"
                   "  - id: last\n"
                   "    upstream: [next, other]\n"
                   "    trigger_rule: all_done\n"
                   "    command: x\n",
                   ignore);
}

static void short_circuit_true_runs_on(void **state) {
  struct harness *h = *state;
  char *yaml = sc_yaml("");
  run_one(h, yaml);
  free(yaml);
  finish(h, "other", 0);
  finish_with(h, "check", "return_value=yes\n", NULL, 0);
  pump_until(h, NULL);
  finish(h, "next", 0);
  pump_until(h, NULL);
  finish(h, "last", 0);
  pump_until(h, one_done);
  expect_states(h, "check=success last=success next=success other=success");
}

static void short_circuit_skips_everything(void **state) {
  struct harness *h = *state;
  char *yaml = sc_yaml("");
  run_one(h, yaml);
  free(yaml);
  finish_with(h, "check", "return_value=false\n", NULL, 0);
  pump_until(h, NULL);
  /* ignore_downstream_trigger_rules (the default): last is skipped though
   * all_done would run it. */
  expect_states(h, "check=success last=skipped next=skipped other=running");
  finish(h, "other", 0);
  pump_until(h, one_done);
  expect_states(h, "check=success last=skipped next=skipped other=success");
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static void short_circuit_respects_rules(void **state) {
  struct harness *h = *state;
  char *yaml = sc_yaml("    ignore_downstream_trigger_rules: false\n");
  run_one(h, yaml);
  free(yaml);
  /* Exit 99 (skip_on_exit_code) is a false result too. */
  finish(h, "check", 99);
  pump_until(h, NULL);
  finish(h, "other", 0);
  pump_until(h, NULL);
  /* Only next is skipped; last's all_done decides, and runs it. */
  finish(h, "last", 0);
  pump_until(h, one_done);
  expect_states(h, "check=skipped last=success next=skipped other=success");
}

static void short_circuit_exit_99_skips_everything(void **state) {
  struct harness *h = *state;
  char *yaml = sc_yaml("");
  run_one(h, yaml);
  free(yaml);
  finish(h, "check", 99);
  finish(h, "other", 0);
  pump_until(h, one_done);
  expect_states(h, "check=skipped last=skipped next=skipped other=success");
}

/* --- what a branch skips, without a run --------------------------------------------- */

static void skips_by_value(void **state) {
  struct harness *h = *state;
  struct dag *dag = load_yaml(h, branchy);
  static const struct {
    const char *rv; /* JSON; NULL: none pushed */
    const char *skipped; /* ids, space-separated; NULL: the branch fails */
  } cases[] = {
      {"\"left\"", "right"},
      {"[\"right\"]", "left"},
      {"\"[\\\"left\\\", \\\"right\\\"]\"", ""},
      {"null", "left right"},
      {NULL, "left right"},
      {"[]", "left right"},
      {"\"nope\"", NULL},
      {"[\"left\", 3]", NULL},
      {"{\"a\": 1}", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *rv = cases[i].rv ? json_loads(cases[i].rv, JSON_DECODE_ANY, NULL) : NULL;
    bool *skip = xcalloc(dag->n_tasks, sizeof(*skip));
    char *why = NULL;
    int rc = sched_branch_skips(dag, 0, false, rv, skip, &why);
    if (cases[i].skipped == NULL) {
      assert_int_equal(rc, DAG_EINVAL);
      assert_non_null(why);
    } else {
      if (rc) fail_msg("case %zu: %s", i, why);
      char got[128] = "";
      for (size_t k = 0; k < dag->n_tasks; k++)
        if (skip[k])
          snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", *got ? " " : "",
                   dag->tasks[k].id);
      if (strcmp(got, cases[i].skipped) != 0)
        fail_msg("case %zu (%s): skipped '%s', want '%s'", i, cases[i].rv, got,
                 cases[i].skipped);
    }
    free(why);
    free(skip);
    json_decref(rv);
  }
  dag_free(dag);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(xcom_file_and_last_line, setup, teardown),
      cmocka_unit_test_setup_teardown(xcom_values_stored_with_success, setup, teardown),
      cmocka_unit_test_setup_teardown(branch_follows_one, setup, teardown),
      cmocka_unit_test_setup_teardown(branch_follows_a_list, setup, teardown),
      cmocka_unit_test_setup_teardown(branch_list_as_text_and_none, setup, teardown),
      cmocka_unit_test_setup_teardown(branch_to_unknown_task_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(branch_join_right_below, setup, teardown),
      cmocka_unit_test_setup_teardown(short_circuit_true_runs_on, setup, teardown),
      cmocka_unit_test_setup_teardown(short_circuit_skips_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(short_circuit_respects_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(short_circuit_exit_99_skips_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(skips_by_value, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_branch", tests, DAG_ARRAY_SIZE(tests));
}
