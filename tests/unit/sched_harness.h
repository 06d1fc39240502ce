/* sched_harness.h - the run state machine driven without processes, for
 * the engine's unit tests: a fake spawner whose "processes" end when a test
 * says so (after writing the try's $DAGCTL_XCOM file and log as a task
 * would) or when they are stopped, a fake clock that advances 1 ms a call,
 * and the real store on the backend store_backends.h selects. No sleeps.
 *
 * Header-only, like store_backends.h (whose per-program state it shares):
 * include it once, after cmocka.h, from a test's single source file. */
#ifndef DAGCTL_TEST_SCHED_HARNESS_H
#define DAGCTL_TEST_SCHED_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  char *cmd; /* its last argument: a shell task's rendered command */
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
  size_t argc = 0;
  while (spec->argv && spec->argv[argc]) argc++;
  h->live[h->n_live++] = (struct fake){p, x ? xstrdup(x) : NULL, xstrdup(spec->log_path),
                                       xstrdup(argc ? spec->argv[argc - 1] : "")};
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
  free(copy.cmd);
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
        free(copy.cmd);
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
  snprintf(h->dir, sizeof(h->dir), "/tmp/dagctl-sched-XXXXXX");
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

/* A run of `type` of the DAG in `yaml`, driven by the harness's scheduler. */
static void run_one_as(struct harness *h, const char *yaml, enum dag_run_type type) {
  struct dag *dag = load_yaml(h, yaml);
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = type};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
}

/* A test run, as `dagctl test` makes. */
static void run_one(struct harness *h, const char *yaml) {
  run_one_as(h, yaml, DAG_RUN_TYPE_TEST);
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

#endif
