/* test_sched_ahead.c - the files of the tries likely to start next, made
 * while the running ones run (sched_ahead.c), driven through the run state
 * machine without processes: a fake spawner, a fake clock and the real
 * store, on SQLite and on PostgreSQL. No test sleeps: the tests wait for
 * the thread that makes the files with sched_ahead_drain(). */
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

static char *run_id_of(struct harness *h) {
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, h->pk, &row), 0);
  char *id = xstrdup(row.run_id);
  dag_store_run_free(&row);
  return id;
}

/* Try `try` of `task`'s log ("log") or status file ("status"). */
static char *try_file(struct harness *h, const char *task, int try, const char *kind) {
  char *run_id = run_id_of(h);
  char *p = xasprintf("%s/logs/d/%s/%s/%d.%s", h->cfg.home, run_id, task, try, kind);
  free(run_id);
  return p;
}

/* -1 if there is no such file, else its size. */
static long long size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static long long file_size(struct harness *h, const char *task, int try, const char *kind) {
  char *p = try_file(h, task, try, kind);
  long long n = size_of(p);
  free(p);
  return n;
}

/* Try 1 of `task` has its files made ahead: its status file exists, empty,
 * once the thread that makes them has done all it was given. */
static void wait_made_ahead(struct harness *h, const char *task) {
  sched_ahead_drain(h->s);
  if (file_size(h, task, 1, "status") != 0)
    fail_msg("try 1 of %s has no status file made ahead", task);
}

static bool a_running(struct harness *h) {
  return find_live(h, "a") != NULL;
}

static bool b_running(struct harness *h) {
  return find_live(h, "b") != NULL;
}

static bool c_running(struct harness *h) {
  return find_live(h, "c") != NULL;
}

static bool j_running(struct harness *h) {
  return find_live(h, "j") != NULL;
}

/* While a runs, b's folder, log and status file are made, empty; b's start
 * then uses them, and the run goes on as without them. Before, b's files
 * were made only when b started. */
static void chain_makes_the_next_try_ahead(void **state) {
  struct harness *h = *state;
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n"
             "  - id: b\n"
             "    upstream: a\n"
             "    command: x\n"
             "  - id: c\n"
             "    upstream: b\n"
             "    command: x\n");
  pump_until(h, a_running);
  wait_made_ahead(h, "b");
  assert_int_equal(file_size(h, "b", 1, "log"), 0);
  assert_false(b_running(h));
  /* Only the next one: c's upstream b has not started. */
  assert_int_equal(file_size(h, "c", 1, "status"), -1);
  assert_int_equal(file_size(h, "c", 1, "log"), -1);
  finish(h, "a", 0);
  pump_until(h, b_running);
  wait_made_ahead(h, "c");
  finish(h, "b", 0);
  pump_until(h, c_running);
  finish(h, "c", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  expect_states(h, "a=success b=success c=success");
}

static const char fan[] = "dag_id: d\n"
                          "tasks:\n"
                          "  - id: a\n"
                          "    command: x\n"
                          "  - id: b\n"
                          "    upstream: a\n"
                          "    command: x\n"
                          "    retries: 0\n"
                          "  - id: c\n"
                          "    upstream: a\n"
                          "    command: x\n"
                          "  - id: j\n"
                          "    upstream: [b, c]\n"
                          "    command: x\n";

/* A guess that turns out wrong: a fails, its downstream tasks end
 * upstream_failed with the empty files made for them and no try recorded;
 * nothing is made for a task with another upstream still to start. */
static void failed_upstream_leaves_no_try(void **state) {
  struct harness *h = *state;
  run_one(h, fan);
  pump_until(h, a_running);
  wait_made_ahead(h, "c");
  assert_int_equal(file_size(h, "b", 1, "status"), 0);
  assert_int_equal(file_size(h, "j", 1, "status"), -1);
  finish(h, "a", 1);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  expect_states(h, "a=failed b=upstream_failed c=upstream_failed j=upstream_failed");
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, "b", &t, &n), 0);
  assert_int_equal(n, 0);
  dag_store_tries_free(t, n);
}

/* With one slot, the tries waiting for it are made ahead too (the head of
 * the ready queue), and j once its last upstream starts. */
static void queued_tries_made_ahead(void **state) {
  struct harness *h = *state;
  h->cfg.parallelism = 1;
  run_one(h, fan);
  pump_until(h, a_running);
  finish(h, "a", 0);
  pump_until(h, b_running);
  assert_null(find_live(h, "c"));
  wait_made_ahead(h, "c");
  assert_int_equal(file_size(h, "j", 1, "status"), -1);
  finish(h, "b", 0);
  pump_until(h, c_running);
  wait_made_ahead(h, "j");
  finish(h, "c", 0);
  pump_until(h, j_running);
  finish(h, "j", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static bool m_running(struct harness *h) {
  return find_live(h, "m") != NULL;
}

/* A mapped task's own entry runs no try (its instances do): nothing is
 * made for it. Its instances waiting for the one slot are made ahead, in
 * their map_index=N folders. */
static void mapped_instances_made_ahead(void **state) {
  struct harness *h = *state;
  h->cfg.parallelism = 1;
  run_one(h, "dag_id: d\n"
             "tasks:\n"
             "  - id: a\n"
             "    command: x\n"
             "  - id: m\n"
             "    upstream: a\n"
             "    expand: {n: [1, 2, 3]}\n"
             "    command: x {{ n }}\n");
  pump_until(h, a_running);
  sched_ahead_drain(h->s);
  assert_int_equal(file_size(h, "m", 1, "status"), -1);
  finish(h, "a", 0);
  pump_until(h, m_running);
  sched_ahead_drain(h->s);
  const struct sched_ti *first = find_live(h, "m")->p->data;
  int ahead = 0;
  for (int i = 0; i < 3; i++) {
    char task[32];
    snprintf(task, sizeof(task), "m/map_index=%d", i);
    if (i != first->map_index) ahead += file_size(h, task, 1, "status") == 0;
  }
  assert_int_equal(ahead, 2);
  assert_int_equal(file_size(h, "m", 1, "status"), -1);
  for (int i = 0; i < 3; i++) {
    pump_until(h, m_running);
    finish(h, "m", 0);
  }
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

static int count_in(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof(line), f)) n += strstr(line, needle) != NULL;
  fclose(f);
  return n;
}

static enum dag_run_state run_state(struct harness *h) {
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, h->pk, &row), 0);
  enum dag_run_state st = row.state;
  dag_store_run_free(&row);
  return st;
}

static bool run_succeeded(struct harness *h) {
  return run_state(h) == DAG_RUN_SUCCESS;
}

/* A scheduler killed while b waited for a slot, its files made ahead: the
 * next one finds b scheduled, with an empty status file for its next try.
 * That is no try at all: b starts try 1 as usual. Before, an empty status
 * file counted as a try started and never recorded: the scheduler
 * recorded try 1, found it had never started, took it back and wrote so
 * into b's log ("never reached its supervisor"). */
static void restart_with_files_made_ahead(void **state) {
  struct harness *h = *state;
  struct dag *dag = load_yaml(h, "dag_id: d\n"
                                 "tasks:\n"
                                 "  - id: b\n"
                                 "    command: x\n");
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_MANUAL};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  dag_free(dag);
  assert_int_equal(dag_store_begin(h->st), 0);
  assert_int_equal(dag_store_set_run_state(h->st, h->pk, DAG_RUN_RUNNING, h->now, 0), 0);
  assert_int_equal(dag_store_ti_set_state(h->st, h->pk, "b", -1, DAG_TI_SCHEDULED, h->now), 0);
  assert_int_equal(dag_store_commit(h->st), 0);
  char *log = try_file(h, "b", 1, "log"), *status = try_file(h, "b", 1, "status");
  char *cmd = xasprintf("mkdir -p \"$(dirname '%s')\" && : > '%s' && : > '%s'", log, log, status);
  assert_int_equal(system(cmd), 0);
  free(cmd);

  assert_int_equal(dag_scheduler_start(h->s), 0);
  pump_until(h, b_running);
  assert_non_null(find_live(h, "b"));
  finish(h, "b", 0);
  pump_until(h, run_succeeded);
  assert_int_equal(run_state(h), DAG_RUN_SUCCESS);
  int undone = count_in(log, "never reached its supervisor");
  free(log);
  free(status);
  if (undone) fail_msg("b's log says its try never reached its supervisor");
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, "b", &t, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(t[0].try_number, 1);
  dag_store_tries_free(t, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(chain_makes_the_next_try_ahead, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_upstream_leaves_no_try, setup, teardown),
      cmocka_unit_test_setup_teardown(queued_tries_made_ahead, setup, teardown),
      cmocka_unit_test_setup_teardown(restart_with_files_made_ahead, setup, teardown),
      cmocka_unit_test_setup_teardown(mapped_instances_made_ahead, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_ahead", tests, DAG_ARRAY_SIZE(tests));
}
