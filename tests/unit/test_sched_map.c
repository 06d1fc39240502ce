/* test_sched_map.c - dynamic task mapping (expand:) driven through the run
 * state machine without processes (sched_harness.h): instances made when
 * the task is ready, each with its own tries and state, their values in
 * templates (quoted in shell commands), downstream tasks waiting for all
 * of them with trigger rules that count each, an empty list, a list too
 * long, a value that is not a list, and a run loaded back from the store.
 * On SQLite and on PostgreSQL. No test sleeps. */
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

/* The live process of instance `map_index` of `task`, or NULL. */
static struct fake *find_kid(struct harness *h, const char *task, int map_index) {
  for (size_t i = 0; i < h->n_live; i++) {
    const struct sched_ti *ti = h->live[i].p->data;
    if (strcmp(ti->run->ref->dag->tasks[ti->idx].id, task) == 0 && ti->map_index == map_index)
      return &h->live[i];
  }
  return NULL;
}

static void finish_kid(struct harness *h, const char *task, int map_index, const char *xcom,
                       int status) {
  struct fake *f = find_kid(h, task, map_index);
  if (!f) fail_msg("instance %s[%d] is not running", task, map_index);
  if (xcom) write_file(f->xcom, xcom);
  struct fake copy = *f;
  *f = h->live[--h->n_live];
  copy.p->exit_cb(copy.p, status, 0, false);
  free(copy.p);
  free(copy.xcom);
  free(copy.log);
  free(copy.cmd);
}

static int by_key(const void *a, const void *b) {
  const struct dag_store_ti *x = a, *y = b;
  int c = strcmp(x->task_id, y->task_id);
  return c ? c : x->map_index - y->map_index;
}

/* Every task instance as "id=state" or "id[N]=state/tries", by id then map_index. */
static char *mstates(struct harness *h) {
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(h->st, h->pk, &tis, &n), 0);
  qsort(tis, n, sizeof(*tis), by_key);
  char *out = xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *next = tis[i].map_index < 0
                     ? xasprintf("%s%s%s=%s", out, i ? " " : "", tis[i].task_id,
                                 dag_task_state_name(tis[i].state))
                     : xasprintf("%s%s%s[%d]=%s/%d", out, i ? " " : "", tis[i].task_id,
                                 tis[i].map_index, dag_task_state_name(tis[i].state),
                                 tis[i].try_number);
    free(out);
    out = next;
  }
  dag_store_tis_free(tis, n);
  return out;
}

static void expect(struct harness *h, const char *want) {
  char *got = mstates(h);
  if (strcmp(got, want) != 0) fail_msg("states: got '%s'\n                want '%s'", got, want);
  free(got);
}

/* The error recorded on task's own row (map_index -1). Caller frees. */
static char *row_error(struct harness *h, const char *task) {
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(h->st, h->pk, &tis, &n), 0);
  char *e = NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(tis[i].task_id, task) == 0 && tis[i].map_index < 0 && tis[i].error)
      e = xstrdup(tis[i].error);
  dag_store_tis_free(tis, n);
  return e;
}

static const char literal[] = "dag_id: d\n"
                              "tasks:\n"
                              "  - id: m\n"
                              "    expand:\n"
                              "      item: [a, \"it's; rm -rf x\", {k: v}]\n"
                              "    command: echo {{ item }} {{ ti.map_index }}\n"
                              "  - id: after\n"
                              "    upstream: m\n"
                              "    command: x\n";

static void literal_list_one_instance_each(void **state) {
  struct harness *h = *state;
  run_one(h, literal);
  pump_until(h, NULL);
  expect(h, "after=none m=running m[0]=running/1 m[1]=running/1 m[2]=running/1");
  /* Each value went in as one quoted word; an object as JSON. */
  assert_string_equal(find_kid(h, "m", 0)->cmd, "echo 'a' '0'");
  assert_string_equal(find_kid(h, "m", 1)->cmd, "echo 'it'\\''s; rm -rf x' '1'");
  assert_string_equal(find_kid(h, "m", 2)->cmd, "echo '{\"k\":\"v\"}' '2'");
  finish_kid(h, "m", 2, NULL, 0);
  finish_kid(h, "m", 0, NULL, 0);
  pump_until(h, NULL);
  /* Downstream waits for every instance. */
  expect(h, "after=none m=running m[0]=success/1 m[1]=running/1 m[2]=success/1");
  assert_null(find_live(h, "after"));
  finish_kid(h, "m", 1, NULL, 0);
  pump_until(h, NULL);
  expect(h, "after=running m=success m[0]=success/1 m[1]=success/1 m[2]=success/1");
  finish(h, "after", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static const char from_xcom[] = "dag_id: d\n"
                                "tasks:\n"
                                "  - id: list_files\n"
                                "    command: x\n"
                                "  - id: m\n"
                                "    upstream: list_files\n"
                                "    expand:\n"
                                "      file: \"{{ ti.xcom_pull('list_files') }}\"\n"
                                "      mode: [x, y]\n"
                                "    command: echo {{ file }}-{{ mode }}\n"
                                "    xcom_push: last_line\n"
                                "  - id: sum\n"
                                "    upstream: m\n"
                                "    command: echo {{ ti.xcom_pull('m') }}\n";

static void xcom_list_cross_product(void **state) {
  struct harness *h = *state;
  run_one(h, from_xcom);
  finish_with(h, "list_files", "{\"return_value\": [\"a.csv\", \"b.csv\"]}", NULL, 0);
  pump_until(h, NULL);
  /* Airflow's order: the last key varies fastest. */
  assert_string_equal(find_kid(h, "m", 0)->cmd, "echo 'a.csv'-'x'");
  assert_string_equal(find_kid(h, "m", 1)->cmd, "echo 'a.csv'-'y'");
  assert_string_equal(find_kid(h, "m", 2)->cmd, "echo 'b.csv'-'x'");
  assert_string_equal(find_kid(h, "m", 3)->cmd, "echo 'b.csv'-'y'");
  for (int i = 3; i >= 0; i--) {
    char *out = xasprintf("%d", i * 10);
    struct fake *f = find_kid(h, "m", i);
    write_file(f->log, out);
    free(out);
    finish_kid(h, "m", i, NULL, 0);
  }
  pump_until(h, NULL);
  /* The mapped task's value: its instances' values, by map_index. */
  assert_string_equal(find_live(h, "sum")->cmd, "echo '[\"0\",\"10\",\"20\",\"30\"]'");
  finish(h, "sum", 0);
  pump_until(h, one_done);
  expect(h, "list_files=success m=success m[0]=success/1 m[1]=success/1 m[2]=success/1 "
            "m[3]=success/1 sum=success");
}

static const char retried[] = "dag_id: d\n"
                              "default_args:\n"
                              "  retries: 1\n"
                              "  retry_delay: 0s\n"
                              "tasks:\n"
                              "  - id: m\n"
                              "    expand: {n: [1, 2, 3]}\n"
                              "    command: x {{ n }}\n"
                              "  - id: after\n"
                              "    upstream: m\n"
                              "    command: x\n";

static bool kid1_again(struct harness *h) {
  return find_kid(h, "m", 1) != NULL;
}

static void failed_instance_retried_alone(void **state) {
  struct harness *h = *state;
  run_one(h, retried);
  pump_until(h, NULL);
  finish_kid(h, "m", 1, NULL, 1);
  finish_kid(h, "m", 0, NULL, 0);
  finish_kid(h, "m", 2, NULL, 0);
  pump_until(h, kid1_again);
  expect(h, "after=none m=running m[0]=success/1 m[1]=running/2 m[2]=success/1");
  assert_int_equal(h->spawns, 4); /* the two others ran once */
  finish_kid(h, "m", 1, NULL, 0);
  pump_until(h, NULL);
  finish(h, "after", 0);
  pump_until(h, one_done);
  expect(h, "after=success m=success m[0]=success/1 m[1]=success/2 m[2]=success/1");
  /* Each try has its own log under map_index=N. */
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, "m", &t, &n), 0);
  assert_int_equal(n, 4);
  assert_int_equal(t[1].map_index, 1);
  assert_int_equal(t[1].try_number, 1);
  assert_string_equal(t[1].log_path, strstr(t[1].log_path, "d/") ? t[1].log_path : "");
  assert_non_null(strstr(t[2].log_path, "/m/map_index=1/2.log"));
  dag_store_tries_free(t, n);
}

static const char rules[] = "dag_id: d\n"
                            "tasks:\n"
                            "  - id: m\n"
                            "    expand: {n: [1, 2]}\n"
                            "    command: x\n"
                            "  - id: strict\n"
                            "    upstream: m\n"
                            "    command: x\n"
                            "  - id: any_failed\n"
                            "    upstream: m\n"
                            "    trigger_rule: one_failed\n"
                            "    command: x\n"
                            "  - id: cleanup\n"
                            "    upstream: m\n"
                            "    trigger_rule: all_done\n"
                            "    command: x\n";

static void trigger_rules_count_instances(void **state) {
  struct harness *h = *state;
  run_one(h, rules);
  pump_until(h, NULL);
  finish_kid(h, "m", 0, NULL, 2);
  pump_until(h, NULL);
  /* one_failed fires at the first failed instance; all_done waits. */
  expect(h, "any_failed=running cleanup=none m=running m[0]=failed/1 m[1]=running/1 "
            "strict=upstream_failed");
  finish(h, "any_failed", 0);
  finish_kid(h, "m", 1, NULL, 0);
  pump_until(h, NULL);
  finish(h, "cleanup", 0);
  pump_until(h, one_done);
  expect(h, "any_failed=success cleanup=success m=failed m[0]=failed/1 m[1]=success/1 "
            "strict=upstream_failed");
  assert_int_equal(h->final, DAG_RUN_FAILED);
}

static const char empty[] = "dag_id: d\n"
                            "tasks:\n"
                            "  - id: up\n"
                            "    command: x\n"
                            "  - id: m\n"
                            "    upstream: up\n"
                            "    expand: {n: \"{{ ti.xcom_pull('up') }}\"}\n"
                            "    command: x\n"
                            "  - id: after\n"
                            "    upstream: m\n"
                            "    command: x\n"
                            "  - id: cleanup\n"
                            "    upstream: m\n"
                            "    trigger_rule: all_done\n"
                            "    command: x\n";

static void empty_list_skips(void **state) {
  struct harness *h = *state;
  run_one(h, empty);
  finish_with(h, "up", "{\"return_value\": []}", NULL, 0);
  pump_until(h, NULL);
  /* No instance at all: the task's own row only. */
  expect_states(h, "after=skipped cleanup=running m=skipped up=success");
  finish(h, "cleanup", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static void too_long_fails(void **state) {
  struct harness *h = *state;
  h->cfg.max_map_length = 2;
  run_one(h, empty);
  finish_with(h, "up", "{\"return_value\": [1, 2, 3]}", NULL, 0);
  pump_until(h, NULL);
  expect(h, "after=upstream_failed cleanup=running m=failed up=success");
  char *e = row_error(h, "m");
  assert_non_null(e);
  assert_non_null(strstr(e, "expand of task m makes more than core.max_map_length (2)"));
  free(e);
  finish(h, "cleanup", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_FAILED);
}

static void not_a_list_fails(void **state) {
  struct harness *h = *state;
  run_one(h, empty);
  finish_with(h, "up", "return_value=a.csv b.csv\n", NULL, 0);
  pump_until(h, NULL);
  expect(h, "after=upstream_failed cleanup=running m=failed up=success");
  char *e = row_error(h, "m");
  assert_non_null(e);
  assert_non_null(strstr(e, "expand.n of task m: the template gave 'a.csv b.csv', which is "
                            "not a JSON list"));
  free(e);
  finish(h, "cleanup", 0);
  pump_until(h, one_done);
}

/* A run loaded back from the store (a scheduler restart) finds each
 * instance where the store left it: one succeeded, one scheduled, one up
 * for retry; the task is not expanded again. */
static void load_back(void **state) {
  struct harness *h = *state;
  struct dag *dag = load_yaml(h, retried);
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_TEST};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  assert_int_equal(dag_store_begin(h->st), 0);
  assert_int_equal(dag_store_set_run_state(h->st, h->pk, DAG_RUN_RUNNING, h->now, 0), 0);
  assert_int_equal(dag_store_ti_expand(h->st, h->pk, "m", 3, 1, h->now), 0);
  assert_int_equal(dag_store_ti_start_try(h->st, h->pk, "m", 0, 1, h->now, 0, 0, "x"), 0);
  assert_int_equal(dag_store_ti_end_try(h->st, h->pk, "m", 0, 1, DAG_TI_SUCCESS, h->now, 0,
                                        true, NULL, 0), 0);
  assert_int_equal(dag_store_ti_start_try(h->st, h->pk, "m", 2, 1, h->now, 0, 0, "x"), 0);
  assert_int_equal(dag_store_ti_end_try(h->st, h->pk, "m", 2, 1, DAG_TI_UP_FOR_RETRY, h->now, 1,
                                        true, "exited with status 1", h->now), 0);
  assert_int_equal(dag_store_commit(h->st), 0);
  expect(h, "after=none m=running m[0]=success/1 m[1]=scheduled/0 m[2]=up_for_retry/1");
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
  pump_until(h, NULL);
  expect(h, "after=none m=running m[0]=success/1 m[1]=running/1 m[2]=running/2");
  assert_int_equal(h->spawns, 2);
  finish_kid(h, "m", 1, NULL, 0);
  finish_kid(h, "m", 2, NULL, 0);
  pump_until(h, NULL);
  finish(h, "after", 0);
  pump_until(h, one_done);
  expect(h, "after=success m=success m[0]=success/1 m[1]=success/1 m[2]=success/2");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(literal_list_one_instance_each, setup, teardown),
      cmocka_unit_test_setup_teardown(xcom_list_cross_product, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_instance_retried_alone, setup, teardown),
      cmocka_unit_test_setup_teardown(trigger_rules_count_instances, setup, teardown),
      cmocka_unit_test_setup_teardown(empty_list_skips, setup, teardown),
      cmocka_unit_test_setup_teardown(too_long_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(not_a_list_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(load_back, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_map", tests, DAG_ARRAY_SIZE(tests));
}
