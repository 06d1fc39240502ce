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

#include "alloc.h"
#include "config.h"
#include "dag.h"
#include "dag_load.h"
#include "diag.h"
#include "error.h"
#include "runs.h"
#include "sched_int.h"
#include "store.h"
#include "store_backends.h"

#define MAX_PROCS 32

struct fake {
  struct dag_proc *p;
  char *xcom; /* its $DAGCTL_XCOM */
  char *log;
};

struct harness {
  char dir[64];
  char *dags;
  struct store_test_db db;
  struct dag_config cfg;
  dag_store *st;
  uv_loop_t loop;
  struct dag_scheduler *s;
  dag_time_t now;
  struct fake live[MAX_PROCS];
  size_t n_live;
  int spawns;
  int64_t pk;
  int done_calls;
  enum dag_run_state final;
  bool closed;
};

static struct harness *of(void *data) {
  struct sched_ti *ti = data;
  return ti->run->sd->s->ops.ctx;
}

static const char *env_get(char **env, const char *name) {
  size_t n = strlen(name);
  for (; env && *env; env++)
    if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
  return NULL;
}

static int fake_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec, dag_proc_exit_cb exit_cb,
                      void *data, struct dag_proc **out) {
  struct harness *h = of(data);
  (void)loop;
  assert_true(h->n_live < MAX_PROCS);
  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->pid = 4000000 + h->spawns;
  p->pid_start = 1;
  p->handover_fd = -1;
  p->pidfd = -1;
  p->data = data;
  p->exit_cb = exit_cb;
  const char *x = env_get(spec->env, "DAGCTL_XCOM");
  struct sched_ti *ti = data;
  if (ti->run->ref->dag->tasks[ti->idx].type != DAG_TASK_PLUGIN) assert_non_null(x);
  h->live[h->n_live++] = (struct fake){p, x ? xstrdup(x) : NULL, xstrdup(spec->log_path)};
  h->spawns++;
  *out = p;
  return 0;
}

static void fake_terminate(struct dag_proc *p) {
  p->terminating = true;
}

static dag_time_t fake_now(void *ctx) {
  struct harness *h = ctx;
  return h->now += 1000;
}

static struct fake *find_live(struct harness *h, const char *task) {
  for (size_t i = 0; i < h->n_live; i++) {
    const struct sched_ti *ti = h->live[i].p->data;
    if (strcmp(ti->run->ref->dag->tasks[ti->idx].id, task) == 0) return &h->live[i];
  }
  return NULL;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* `task`'s process writes `xcom` to its $DAGCTL_XCOM (NULL: nothing) and
 * `out` to its log, then exits with `status`. */
static void finish_with(struct harness *h, const char *task, const char *xcom, const char *out,
                        int status) {
  struct fake *f = find_live(h, task);
  if (!f) fail_msg("task %s is not running", task);
  if (xcom) write_file(f->xcom, xcom);
  if (out) write_file(f->log, out);
  struct fake copy = *f;
  *f = h->live[--h->n_live];
  copy.p->exit_cb(copy.p, status, 0, false);
  free(copy.p);
  free(copy.xcom);
  free(copy.log);
}

static void finish(struct harness *h, const char *task, int status) {
  finish_with(h, task, NULL, NULL, status);
}

static void pump_until(struct harness *h, bool (*done)(struct harness *)) {
  for (int i = 0; i < 10000 && !(done && done(h)); i++) {
    bool ended = false;
    for (size_t k = 0; k < h->n_live && !ended; k++)
      if (h->live[k].p->terminating) {
        const struct sched_ti *ti = h->live[k].p->data;
        struct fake copy = h->live[k];
        h->live[k] = h->live[--h->n_live];
        copy.p->exit_cb(copy.p, -1, 15, false);
        free(copy.p);
        free(copy.xcom);
        free(copy.log);
        (void)ti;
        ended = true;
      }
    if (ended) continue;
    if (!uv_run(&h->loop, UV_RUN_ONCE) && !h->n_live) break;
  }
}

static void on_done(void *ctx, enum dag_run_state state) {
  struct harness *h = ctx;
  h->done_calls++;
  h->final = state;
}

static void on_closed(void *ctx) {
  struct harness *h = ctx;
  h->closed = true;
}

static int setup(void **state) {
  struct harness *h = xcalloc(1, sizeof(*h));
  snprintf(h->dir, sizeof(h->dir), "/tmp/dagctl-branch-XXXXXX");
  assert_non_null(mkdtemp(h->dir));
  char *home = xasprintf("%s/home", h->dir);
  h->dags = xasprintf("%s/dags", h->dir);
  assert_int_equal(mkdir(home, 0755), 0);
  assert_int_equal(mkdir(h->dags, 0755), 0);
  struct dag_config_flags flags = {.home = home, .dags_folder = h->dags};
  char *envp[] = {NULL};
  struct dag_diags diags = DAG_DIAGS_INIT;
  assert_int_equal(dag_config_load(&h->cfg, &flags, envp, &diags), 0);
  dag_diags_free(&diags);
  free(home);
  store_test_open(&h->db);
  char *err = NULL;
  assert_int_equal(dag_store_open(h->db.state, NULL, &h->st, &err), 0);
  assert_int_equal(uv_loop_init(&h->loop), 0);
  assert_int_equal(dag_scheduler_new(&h->loop, &h->cfg, h->st, &h->s), 0);
  h->s->ops.spawn = fake_spawn;
  h->s->ops.terminate = fake_terminate;
  h->s->ops.release = NULL;
  h->s->ops.now = fake_now;
  h->s->ops.ctx = h;
  h->now = (dag_time_t)1767225600 * DAG_USEC_PER_SEC;
  *state = h;
  return 0;
}

static bool is_closed(struct harness *h) {
  return h->closed;
}

static int teardown(void **state) {
  struct harness *h = *state;
  dag_scheduler_shutdown(h->s, on_closed, h);
  pump_until(h, is_closed);
  assert_true(h->closed);
  dag_scheduler_free(h->s);
  uv_run(&h->loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&h->loop), 0);
  dag_store_close(h->st);
  dag_config_free(&h->cfg);
  char *cmd = xasprintf("rm -rf '%s'", h->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(h->dags);
  store_test_drop(&h->db);
  free(h);
  return 0;
}

static struct dag *load_yaml(struct harness *h, const char *yaml) {
  char *path = xasprintf("%s/d.yaml", h->dags);
  write_file(path, yaml);
  struct dag_load_options opts = {0};
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  int rc = dag_load_file(path, &opts, &dag, &diags);
  if (rc) fail_msg("%s", diags.n ? diags.items[0].msg : "?");
  dag_diags_free(&diags);
  free(path);
  return dag;
}

static void run_one(struct harness *h, const char *yaml) {
  struct dag *dag = load_yaml(h, yaml);
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_TEST};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
}

static bool one_done(struct harness *h) {
  return h->done_calls > 0;
}

static int by_id(const void *a, const void *b) {
  return strcmp(((const struct dag_store_ti *)a)->task_id,
                ((const struct dag_store_ti *)b)->task_id);
}

/* Every task's state, "id=state ..." by task id. */
static char *states(struct harness *h) {
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(h->st, h->pk, &tis, &n), 0);
  qsort(tis, n, sizeof(*tis), by_id);
  char *out = xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *next = xasprintf("%s%s%s=%s", out, i ? " " : "", tis[i].task_id,
                           dag_task_state_name(tis[i].state));
    free(out);
    out = next;
  }
  dag_store_tis_free(tis, n);
  return out;
}

static void expect_states(struct harness *h, const char *want) {
  char *got = states(h);
  if (strcmp(got, want) != 0) fail_msg("states: got '%s'\n                want '%s'", got, want);
  free(got);
}

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
