/* test_sched_run.c - the run state machine driven without processes: a fake
 * spawner (struct sched_ops) whose "processes" end when a test says so, a
 * fake clock, the real SQLite store on a temporary file (faults made real:
 * a second connection holding the write lock, a database at its page
 * limit) and the real libuv loop, run only for the scheduler's own timers.
 * No test sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

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
#include "store_int.h"

#define MAX_PROCS 64

struct harness {
  char dir[64];
  char *dags;
  struct store_test_db db; /* the state store: SQLite or PostgreSQL */
  struct dag_config cfg;
  dag_store *st;
  uv_loop_t loop;
  struct dag_scheduler *s;
  dag_time_t now;
  /* The fake executor. */
  struct dag_proc *live[MAX_PROCS];
  size_t n_live;
  int spawns;           /* successful spawns */
  int spawn_errors;     /* fail this many spawns next... */
  int spawn_error;      /* ... with this code */
  /* Foreground mode. */
  int64_t pk;
  int done_calls;
  enum dag_run_state final;
  bool closed;
  sqlite3 *locker; /* a second connection, holding the write lock (SQLite) */
  PGconn *pg_locker; /* the same on PostgreSQL: the tables locked against writes */
};

/* --- the fake executor and clock ---------------------------------------------- */

static struct harness *of(void *data) {
  struct sched_ti *ti = data;
  return ti->run->sd->s->ops.ctx;
}

static int fake_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec, dag_proc_exit_cb exit_cb,
                      void *data, struct dag_proc **out) {
  struct harness *h = of(data);
  (void)loop;
  (void)spec;
  if (h->spawn_errors > 0) {
    h->spawn_errors--;
    return h->spawn_error;
  }
  assert_true(h->n_live < MAX_PROCS);
  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->pid = 4000000 + h->spawns; /* no such process: never signalled */
  p->pid_start = 1;
  /* No descriptors: the executor closes (and writes the try to) those >= 0,
   * and a calloc'd 0 is stdin, or whatever took its number since, such as
   * a PostgreSQL connection's socket. */
  p->handover_fd = -1;
  p->pidfd = -1;
  p->data = data;
  p->exit_cb = exit_cb;
  h->live[h->n_live++] = p;
  h->spawns++;
  *out = p;
  return 0;
}

static void fake_terminate(struct dag_proc *p) {
  p->terminating = true; /* ended by pump() with SIGTERM */
}

static dag_time_t fake_now(void *ctx) {
  struct harness *h = ctx;
  return h->now += 1000; /* every reading is 1 ms later */
}

static const char *proc_task(const struct dag_proc *p) {
  const struct sched_ti *ti = p->data;
  return ti->run->ref->dag->tasks[ti->idx].id;
}

static struct dag_proc *find_live(struct harness *h, const char *task) {
  for (size_t i = 0; i < h->n_live; i++)
    if (strcmp(proc_task(h->live[i]), task) == 0) return h->live[i];
  return NULL;
}

/* The process of `task` ends: as the executor does, the callback runs and
 * the dag_proc is freed once it returns. */
static void end_proc(struct harness *h, struct dag_proc *p, int64_t status, int sig) {
  for (size_t i = 0; i < h->n_live; i++)
    if (h->live[i] == p) {
      h->live[i] = h->live[--h->n_live];
      break;
    }
  p->exit_cb(p, status, sig, false);
  free(p);
}

static void finish(struct harness *h, const char *task, int status) {
  struct dag_proc *p = find_live(h, task);
  assert_non_null(p);
  end_proc(h, p, status, 0);
}

/* Run the loop's due callbacks and end terminated processes, until
 * `done(h)` or nothing is left to run. UV_RUN_ONCE waits only for the
 * scheduler's own timers (retry and wait delays of a few milliseconds). */
static void pump_until(struct harness *h, bool (*done)(struct harness *)) {
  for (int i = 0; i < 10000 && !(done && done(h)); i++) {
    bool ended = false;
    for (size_t k = 0; k < h->n_live && !ended; k++)
      if (h->live[k]->terminating) {
        end_proc(h, h->live[k], -1, 15);
        ended = true;
      }
    if (ended) continue;
    if (!uv_run(&h->loop, UV_RUN_ONCE) && !h->n_live) break;
  }
}

/* Run the loop until `task` has a live process (a retry or a wait's timer
 * has fired); each iteration blocks only until the next timer is due. */
static void wait_live(struct harness *h, const char *task) {
  for (int i = 0; i < 1000 && !find_live(h, task); i++) uv_run(&h->loop, UV_RUN_ONCE);
  assert_non_null(find_live(h, task));
}

/* --- set-up --------------------------------------------------------------------- */

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
  h->s->ops.release = NULL; /* a stop terminates the fake processes */
  h->s->ops.now = fake_now;
  h->s->ops.ctx = h;
  h->now = (dag_time_t)1767225600 * DAG_USEC_PER_SEC; /* 2026-01-01 */
  *state = h;
  return 0;
}

static bool is_closed(struct harness *h) {
  return h->closed;
}

static int teardown(void **state) {
  struct harness *h = *state;
  if (h->locker) sqlite3_close(h->locker);
  if (h->pg_locker) PQfinish(h->pg_locker);
  dag_scheduler_shutdown(h->s, on_closed, h);
  pump_until(h, is_closed);
  assert_true(h->closed);
  dag_scheduler_free(h->s);
  uv_run(&h->loop, UV_RUN_NOWAIT); /* the closed handles' callbacks */
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

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static char *dag_path(struct harness *h, const char *name) {
  return xasprintf("%s/%s.yaml", h->dags, name);
}

static struct dag *load_dag(const char *path) {
  struct dag_load_options opts = {0};
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  int rc = dag_load_file(path, &opts, &dag, &diags);
  if (rc) fprintf(stderr, "%s\n", diags.n ? diags.items[0].msg : "?");
  assert_int_equal(rc, 0);
  dag_diags_free(&diags);
  return dag;
}

/* A run of the DAG in `yaml` (type test unless service mode), recorded in
 * the store; returns its pk. */
static int64_t create_run(struct harness *h, const char *yaml, enum dag_run_type type,
                          const char *only_task, struct dag **out) {
  char *path = dag_path(h, "d");
  write_file(path, yaml);
  struct dag *dag = load_dag(path);
  free(path);
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(h->st, dag, false, h->now, &paused), 0);
  struct dag_run_request req = {.type = type, .only_task = only_task};
  int64_t pk = 0;
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &pk, &run_id, &err), 0);
  free(run_id);
  if (out)
    *out = dag;
  else
    dag_free(dag);
  return pk;
}

/* `dagctl test`'s way: the run in the foreground. */
static void run_one(struct harness *h, const char *yaml, const char *only_task) {
  struct dag *dag = NULL;
  h->pk = create_run(h, yaml, DAG_RUN_TYPE_TEST, only_task, &dag);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
}

static enum dag_task_state ti_state(struct harness *h, const char *task) {
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(h->st, h->pk, &tis, &n), 0);
  enum dag_task_state st = DAG_TI__COUNT;
  for (size_t i = 0; i < n; i++)
    if (strcmp(tis[i].task_id, task) == 0) st = tis[i].state;
  dag_store_tis_free(tis, n);
  assert_int_not_equal(st, DAG_TI__COUNT);
  return st;
}

static size_t tries(struct harness *h, const char *task) {
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, task, &t, &n), 0);
  dag_store_tries_free(t, n);
  return n;
}

static enum dag_run_state run_state(struct harness *h) {
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, h->pk, &row), 0);
  enum dag_run_state st = row.state;
  dag_store_run_free(&row);
  return st;
}

static void lock_store(struct harness *h) {
  if (store_test_kind == DAG_STORE_POSTGRESQL) {
    /* EXCLUSIVE lets readers on and makes every writer wait. */
    h->pg_locker = PQconnectdb(h->db.state);
    assert_int_equal(PQstatus(h->pg_locker), CONNECTION_OK);
    PGresult *r = PQexec(h->pg_locker, "BEGIN; LOCK TABLE dag_run, task_instance, task_try,"
                                       " scheduler_event IN EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return;
  }
  assert_int_equal(sqlite3_open(h->db.state, &h->locker), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h->locker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void unlock_store(struct harness *h) {
  if (store_test_kind == DAG_STORE_POSTGRESQL) {
    PGresult *r = PQexec(h->pg_locker, "COMMIT");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(h->pg_locker);
    h->pg_locker = NULL;
    return;
  }
  assert_int_equal(sqlite3_exec(h->locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h->locker);
  h->locker = NULL;
}

static bool one_done(struct harness *h) {
  return h->done_calls > 0;
}

static const char chain[] = "dag_id: d\n"
                            "tasks:\n"
                            "  - id: a\n"
                            "    command: x\n"
                            "  - id: b\n"
                            "    upstream: a\n"
                            "    command: x\n";

/* --- trigger rules ------------------------------------------------------------------ */

/* Two upstream tasks ending with `o1` and `o2` (0 or 1), then `d` with
 * `rule`: d's final state. */
static enum dag_task_state rule_outcome(const char *rule, int o1, int o2, bool *early) {
  struct harness *h = NULL;
  setup((void **)&h);
  char *yaml = xasprintf("dag_id: d\n"
                         "tasks:\n"
                         "  - id: u1\n"
                         "    command: x\n"
                         "  - id: u2\n"
                         "    command: x\n"
                         "  - id: d\n"
                         "    upstream: [u1, u2]\n"
                         "    trigger_rule: %s\n"
                         "    command: x\n",
                         rule);
  run_one(h, yaml, NULL);
  free(yaml);
  finish(h, "u1", o1);
  /* one_success and one_failed decide on the first upstream that matches. */
  *early = find_live(h, "d") != NULL;
  if (find_live(h, "u2")) finish(h, "u2", o2);
  if (find_live(h, "d")) finish(h, "d", 0);
  pump_until(h, one_done);
  assert_int_equal(h->done_calls, 1);
  enum dag_task_state st = ti_state(h, "d");
  /* A run fails when its leaf (d) failed or could not run. */
  assert_int_equal(h->final,
                   st == DAG_TI_UPSTREAM_FAILED ? DAG_RUN_FAILED : DAG_RUN_SUCCESS);
  teardown((void **)&h);
  return st;
}

static void trigger_rules(void **state) {
  (void)state;
  const enum dag_task_state S = DAG_TI_SUCCESS, K = DAG_TI_SKIPPED, U = DAG_TI_UPSTREAM_FAILED;
  /* Airflow's semantics, for upstream outcomes (success, success),
   * (success, failed) and (failed, failed); d succeeds when it runs. */
  static const struct {
    const char *rule;
    enum dag_task_state ss, sf, ff;
    bool early_s, early_f; /* runs as soon as u1 succeeded / failed */
  } cases[] = {
      {"all_success", 0, 0, 0, false, false},
      {"all_failed", 0, 0, 0, false, false},
      {"all_done", 0, 0, 0, false, false},
      {"one_success", 0, 0, 0, true, false},
      {"one_failed", 0, 0, 0, false, true},
      {"none_failed", 0, 0, 0, false, false},
      {"none_failed_min_one_success", 0, 0, 0, false, false},
      {"none_skipped", 0, 0, 0, false, false},
      {"all_skipped", 0, 0, 0, false, false},
      {"always", 0, 0, 0, true, true},
  };
  const enum dag_task_state expect[][3] = {
      {S, U, U}, /* all_success */
      {K, K, S}, /* all_failed */
      {S, S, S}, /* all_done */
      {S, S, U}, /* one_success */
      {K, S, S}, /* one_failed */
      {S, U, U}, /* none_failed */
      {S, U, U}, /* none_failed_min_one_success */
      {S, S, S}, /* none_skipped */
      {K, K, K}, /* all_skipped */
      {S, S, S}, /* always */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    bool early = false;
    const int outcome[3][2] = {{0, 0}, {0, 1}, {1, 1}};
    for (int k = 0; k < 3; k++) {
      enum dag_task_state got = rule_outcome(cases[i].rule, outcome[k][0], outcome[k][1], &early);
      if (got != expect[i][k])
        fail_msg("rule %s, upstream outcome %d: d is %s, expected %s", cases[i].rule, k,
                 dag_task_state_name(got), dag_task_state_name(expect[i][k]));
      bool want_early = outcome[k][0] == 0 ? cases[i].early_s : cases[i].early_f;
      if (early != want_early)
        fail_msg("rule %s, upstream outcome %d: d %s before u2 ended", cases[i].rule, k,
                 early ? "ran" : "did not run");
    }
  }
}

/* Decisions cascade down a chain in the transaction of the end that
 * caused them: upstream failures, and skips. */
static void cascades(void **state) {
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
             "    command: x\n"
             "  - id: s1\n"
             "    upstream: a\n"
             "    trigger_rule: one_failed\n"
             "    command: x\n"
             "  - id: s2\n"
             "    upstream: s1\n"
             "    command: x\n"
             "  - id: end\n"
             "    upstream: [c, s2]\n"
             "    trigger_rule: all_done\n"
             "    command: x\n",
          NULL);
  finish(h, "a", 0);
  /* a succeeded: b runs; s1 (one_failed) is skipped, and so is s2. */
  assert_int_equal(ti_state(h, "s1"), DAG_TI_SKIPPED);
  assert_int_equal(ti_state(h, "s2"), DAG_TI_SKIPPED);
  finish(h, "b", 1);
  /* b failed: c cannot run; end (all_done) runs. */
  assert_int_equal(ti_state(h, "c"), DAG_TI_UPSTREAM_FAILED);
  assert_int_equal(h->spawns, 3);
  finish(h, "end", 0);
  pump_until(h, one_done);
  /* The leaf succeeded: Airflow's rule makes the run a success. */
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  assert_int_equal(ti_state(h, "b"), DAG_TI_FAILED);
}

/* --- starting tasks ------------------------------------------------------------------ */

/* A last task that cannot start ends the run, and the foreground run's
 * owner hears of it (`dagctl test` used to hang). */
static void spawn_failure_ends_the_run(void **state) {
  struct harness *h = *state;
  run_one(h, chain, NULL);
  h->spawn_errors = 1;
  h->spawn_error = UV_ENOENT; /* b's program is missing */
  finish(h, "a", 0);
  pump_until(h, one_done);
  assert_int_equal(h->done_calls, 1);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  assert_int_equal(ti_state(h, "b"), DAG_TI_FAILED);
}

static void missing_program_fails_its_try(void **state) {
  struct harness *h = *state;
  h->spawn_errors = 1;
  h->spawn_error = UV_ENOENT;
  run_one(h, "dag_id: d\ntasks:\n  - id: a\n    command: x\n", NULL);
  pump_until(h, one_done);
  assert_int_equal(h->done_calls, 1);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  assert_int_equal(ti_state(h, "a"), DAG_TI_FAILED);
  assert_int_equal(tries(h, "a"), 1);
  assert_int_equal(h->s->running_tasks, 0);
}

/* EMFILE at spawn is a wait: no try is recorded, the task starts once a
 * spawn works again, at its first try. */
static void emfile_is_a_wait(void **state) {
  struct harness *h = *state;
  h->spawn_errors = 3;
  h->spawn_error = UV_EMFILE;
  run_one(h, chain, NULL);
  assert_int_equal(h->spawns, 0);
  assert_int_equal(ti_state(h, "a"), DAG_TI_SCHEDULED);
  assert_int_equal(tries(h, "a"), 0);
  assert_true(h->s->spawn_waiting);
  wait_live(h, "a");
  assert_int_equal(h->spawn_errors, 0);
  finish(h, "a", 0);
  finish(h, "b", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  assert_int_equal(tries(h, "a"), 1);
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, "a", &t, &n), 0);
  assert_int_equal(t[0].try_number, 1);
  assert_int_equal(t[0].pid, 4000000); /* recorded with its pid */
  dag_store_tries_free(t, n);
}

/* A task's end and its downstream's start are one transaction
 * (sched_batch.c): one commit between a's end and b's start, and b is
 * handed over only once that commit holds both. */
static int commits;
static int count_commit(void *ctx) {
  (void)ctx;
  commits++;
  return 0;
}
static int handovers, handover_commits;
static int count_start(struct dag_proc *p) {
  struct harness *h = of(p->data);
  handovers++;
  handover_commits = commits;
  /* Nothing uncommitted is acted on. */
  assert_int_equal(h->st->depth, 0);
  return 0;
}

static void end_and_downstream_start_commit_once(void **state) {
  struct harness *h = *state;
  if (store_test_kind != DAG_STORE_SQLITE) return; /* the commit hook is SQLite's */
  h->s->ops.start = count_start;
  run_one(h, chain, NULL);
  assert_int_equal(handovers, 1);
  sqlite3_commit_hook(h->st->conn, count_commit, NULL);
  commits = 0;
  finish(h, "a", 0);
  pump_until(h, NULL);
  assert_non_null(find_live(h, "b"));
  assert_int_equal(handovers, 2);
  assert_int_equal(handover_commits, 1); /* a's end and b's try together */
  assert_int_equal(ti_state(h, "a"), DAG_TI_SUCCESS);
  assert_int_equal(ti_state(h, "b"), DAG_TI_RUNNING);
  finish(h, "b", 0);
  pump_until(h, one_done);
  sqlite3_commit_hook(h->st->conn, NULL, NULL);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  assert_int_equal(tries(h, "a"), 1);
  assert_int_equal(tries(h, "b"), 1);
}

/* EMFILE when the downstream starts inside its upstream's end: the end
 * stays recorded, the downstream gets no try and starts at its first try
 * once spawns work again. */
static void emfile_at_downstream_keeps_the_end(void **state) {
  struct harness *h = *state;
  run_one(h, chain, NULL);
  h->spawn_errors = 2;
  h->spawn_error = UV_EMFILE;
  finish(h, "a", 0);
  assert_int_equal(ti_state(h, "a"), DAG_TI_SUCCESS);
  assert_int_equal(tries(h, "b"), 0);
  assert_int_equal(ti_state(h, "b"), DAG_TI_SCHEDULED);
  assert_true(h->s->spawn_waiting);
  wait_live(h, "b");
  finish(h, "b", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  assert_int_equal(tries(h, "b"), 1);
  assert_int_equal(h->s->running_tasks, 0);
}

/* A single task tested alone: the run's outcome is that task's, though
 * its downstream task is not part of the run. */
static void single_task_outcome(void **state) {
  struct harness *h = *state;
  run_one(h, chain, "a");
  finish(h, "a", 3);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_FAILED);
  assert_int_equal(run_state(h), DAG_RUN_FAILED);
}

/* --- a busy store -------------------------------------------------------------------- */

/* Another connection holds the write lock when a task ends: nothing
 * changes (not even in memory) and nothing new starts until it is gone;
 * then the end is recorded and the run goes on. */
static void busy_store_delays_and_loses_nothing(void **state) {
  struct harness *h = *state;
  if (store_test_kind != DAG_STORE_SQLITE) return; /* see pg_lock_timeout_stops_cleanly */
  run_one(h, chain, NULL);
  assert_non_null(find_live(h, "a"));
  lock_store(h);
  finish(h, "a", 0);
  assert_true(h->s->store_waiting);
  assert_non_null(h->s->work_head);
  assert_int_equal(h->s->running_tasks, 1); /* a's slot is still held */
  assert_int_equal(h->spawns, 1);
  assert_int_equal(ti_state(h, "a"), DAG_TI_RUNNING);
  /* The retries run from the loop while the lock is held. */
  for (int i = 0; i < 3; i++) uv_run(&h->loop, UV_RUN_ONCE);
  assert_int_equal(h->spawns, 1);
  unlock_store(h);
  wait_live(h, "b");
  assert_false(h->s->store_waiting);
  assert_int_equal(ti_state(h, "a"), DAG_TI_SUCCESS);
  finish(h, "b", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
  assert_int_equal(tries(h, "a"), 1);
  assert_int_equal(tries(h, "b"), 1);
}

/* Record, then spawn: a task due while the store is locked is not spawned
 * until its try can be recorded. */
static void busy_store_spawns_nothing(void **state) {
  struct harness *h = *state;
  if (store_test_kind != DAG_STORE_SQLITE) return;
  struct dag *dag = NULL;
  h->pk = create_run(h, chain, DAG_RUN_TYPE_TEST, NULL, &dag);
  lock_store(h);
  assert_int_equal(dag_scheduler_run_one(h->s, dag, h->pk, on_done, h), 0);
  for (int i = 0; i < 3; i++) uv_run(&h->loop, UV_RUN_ONCE);
  assert_int_equal(h->spawns, 0);
  assert_int_equal(run_state(h), DAG_RUN_QUEUED);
  unlock_store(h);
  wait_live(h, "a");
  assert_int_equal(ti_state(h, "a"), DAG_TI_RUNNING);
  finish(h, "a", 0);
  finish(h, "b", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

/* A full database is not a wait: the scheduler stops (its owner is told
 * through dag_scheduler_failed()), the run's outcome is never reported as
 * if it had been recorded, and every handle closes. */
static void full_store_stops_cleanly(void **state) {
  struct harness *h = *state;
  /* SQLite's page limit stands for a full disk; PostgreSQL has no such knob. */
  if (store_test_kind != DAG_STORE_SQLITE) return;
  /* 300 tasks with long names: their tries need new pages soon. */
  char *yaml = xstrdup("dag_id: d\ntasks:\n");
  for (int i = 0; i < 300; i++) {
    char *more = xasprintf("%s  - id: a_task_with_a_long_name_to_fill_pages_%03d\n"
                           "    command: x\n", yaml, i);
    free(yaml);
    yaml = more;
  }
  run_one(h, yaml, NULL);
  free(yaml);
  /* The database may not grow: the next write that needs a page fails. */
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2((sqlite3 *)h->st->conn, "PRAGMA page_count", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  char *pragma = xasprintf("PRAGMA max_page_count = %d", sqlite3_column_int(q, 0));
  sqlite3_finalize(q);
  assert_int_equal(sqlite3_exec((sqlite3 *)h->st->conn, pragma, NULL, NULL, NULL), SQLITE_OK);
  free(pragma);
  for (int i = 0; i < 300 && h->n_live && !dag_scheduler_failed(h->s); i++)
    end_proc(h, h->live[0], 0, 0);
  assert_true(dag_scheduler_failed(h->s));
  assert_int_equal(h->done_calls, 0);
  dag_scheduler_shutdown(h->s, on_closed, h);
  pump_until(h, is_closed);
  assert_true(h->closed);
}

/* On PostgreSQL nothing is locked at the begin: a writer meets another
 * session's lock at the statement that needs it, halfway through a
 * handler, where the scheduler cannot wait and retry. A lock held past
 * lock_timeout there stops the scheduler as a failed write does, with
 * nothing of the transaction written; a restart recovers (restart_mid_run). */
static void pg_lock_timeout_stops_cleanly(void **state) {
  struct harness *h = *state;
  if (store_test_kind != DAG_STORE_POSTGRESQL) return;
  run_one(h, chain, NULL);
  assert_non_null(find_live(h, "a"));
  dag_store_set_busy_timeout(h->st, 50);
  lock_store(h);
  finish(h, "a", 0);
  assert_true(dag_scheduler_failed(h->s));
  unlock_store(h);
  assert_int_equal(ti_state(h, "a"), DAG_TI_RUNNING);
  assert_int_equal(h->spawns, 1);
  assert_int_equal(h->done_calls, 0);
  dag_scheduler_shutdown(h->s, on_closed, h);
  pump_until(h, is_closed);
  assert_true(h->closed);
}

/* Another session's short transaction (a `dagctl clear`, the web server's
 * writer) holds the rows a task's end must write for 300 ms: on
 * PostgreSQL the scheduler meets the lock halfway through its transaction,
 * where it cannot back off and retry, so it waits it out and goes on. */
static void pg_short_lock_is_waited_out(void **state) {
  struct harness *h = *state;
  if (store_test_kind != DAG_STORE_POSTGRESQL) return;
  run_one(h, chain, NULL);
  assert_non_null(find_live(h, "a"));
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    PGconn *c = PQconnectdb(h->db.state);
    PGresult *r = PQexec(c, "BEGIN; LOCK TABLE task_instance IN EXCLUSIVE MODE");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (write(ready[1], ok ? "1" : "0", 1) != 1) _exit(1);
    usleep(300000); /* the other session's work */
    r = PQexec(c, "COMMIT");
    PQclear(r);
    PQfinish(c);
    _exit(ok ? 0 : 1);
  }
  char b = 0;
  assert_int_equal(read(ready[0], &b, 1), 1);
  assert_int_equal(b, '1');
  close(ready[0]);
  close(ready[1]);
  finish(h, "a", 0);
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_false(dag_scheduler_failed(h->s));
  assert_int_equal(ti_state(h, "a"), DAG_TI_SUCCESS);
  wait_live(h, "b");
  finish(h, "b", 0);
  pump_until(h, one_done);
  assert_int_equal(h->final, DAG_RUN_SUCCESS);
}

/* --- service mode: loading, clearing, recovering -------------------------------------- */

static void start_service(struct harness *h) {
  assert_int_equal(dag_scheduler_start(h->s), 0);
}

static void rescan(struct harness *h) {
  struct sched_work w = {.kind = SCHED_WORK_RESCAN};
  sched_post(h->s, &w);
  sched_dispatch(h->s);
}

static void take_events(struct harness *h) {
  struct sched_work w = {.kind = SCHED_WORK_EVENTS};
  sched_post(h->s, &w);
  sched_dispatch(h->s);
}

/* A run queued while its file was broken runs once the file is fixed. */
static void broken_file_with_queued_run(void **state) {
  struct harness *h = *state;
  h->pk = create_run(h, chain, DAG_RUN_TYPE_MANUAL, NULL, NULL);
  char *path = dag_path(h, "d");
  write_file(path, "dag_id: d\ntasks: [\n");
  start_service(h);
  assert_int_equal(h->spawns, 0);
  assert_int_equal(run_state(h), DAG_RUN_QUEUED);
  write_file(path, chain);
  free(path);
  rescan(h);
  assert_non_null(find_live(h, "a"));
  finish(h, "a", 0);
  finish(h, "b", 0);
  assert_int_equal(run_state(h), DAG_RUN_SUCCESS);
}

/* --- DAGs triggered by data (sched_dataset.c) ---------------------------------------- */

static const char producer[] = "dag_id: d\n"
                               "tasks:\n"
                               "  - id: a\n"
                               "    command: x\n"
                               "    outlets: [warehouse://silver]\n"
                               "  - id: b\n"
                               "    upstream: a\n"
                               "    command: x\n"
                               "    outlets: [warehouse://gold]\n";

/* The consumer's dataset_triggered runs. */
static size_t consumer_runs(struct harness *h) {
  struct dag_store_run_filter f = {.dag_id = "c"};
  struct dag_store_run *runs = NULL;
  size_t n = 0, k = 0;
  assert_int_equal(dag_store_find_runs(h->st, &f, &runs, &n), 0);
  for (size_t i = 0; i < n; i++) k += strcmp(runs[i].run_type, "dataset_triggered") == 0;
  dag_store_runs_free(runs, n);
  return k;
}

/* The producer's successes update silver, then gold; the consumer of both
 * gets one run when the second is updated, and none from a run whose gold
 * task failed. */
static void dataset_update_starts_its_consumer_once(void **state) {
  struct harness *h = *state;
  char *cpath = dag_path(h, "c");
  write_file(cpath, "dag_id: c\nschedule: [warehouse://silver, warehouse://gold]\n"
                    "tasks:\n  - id: check\n    command: x\n");
  free(cpath);
  h->pk = create_run(h, producer, DAG_RUN_TYPE_MANUAL, NULL, NULL);
  start_service(h);
  finish(h, "a", 0);
  assert_int_equal(consumer_runs(h), 0); /* silver only */
  finish(h, "b", 0);
  assert_int_equal(run_state(h), DAG_RUN_SUCCESS);
  assert_int_equal(consumer_runs(h), 1);
  assert_non_null(find_live(h, "check"));
  finish(h, "check", 0);
  assert_int_equal(consumer_runs(h), 1);
  /* A second producer run whose gold task fails: silver queued, no run. */
  char *dpath = dag_path(h, "d");
  struct dag *dag = load_dag(dpath);
  free(dpath);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_MANUAL};
  char *run_id = NULL, *err = NULL;
  assert_int_equal(dag_run_create(h->st, dag, &req, &h->pk, &run_id, &err), 0);
  free(run_id);
  dag_free(dag);
  take_events(h);
  finish(h, "a", 0);
  finish(h, "b", 3);
  assert_int_equal(run_state(h), DAG_RUN_FAILED);
  assert_int_equal(consumer_runs(h), 1);
  assert_null(find_live(h, "check"));
}

/* A finished task cleared by another process runs again. */
static void clear_and_reload(void **state) {
  struct harness *h = *state;
  h->pk = create_run(h, chain, DAG_RUN_TYPE_MANUAL, NULL, NULL);
  start_service(h);
  finish(h, "a", 0);
  assert_non_null(find_live(h, "b"));
  const char *ids[] = {"a"};
  int retries[] = {0};
  size_t cleared = 0, skipped = 0;
  assert_int_equal(dag_store_clear(h->st, h->pk, ids, retries, 1, &cleared, &skipped), 0);
  assert_int_equal(cleared, 1);
  take_events(h);
  assert_non_null(find_live(h, "a")); /* b still runs: it is left alone */
  finish(h, "a", 0);
  finish(h, "b", 0);
  assert_int_equal(run_state(h), DAG_RUN_SUCCESS);
  assert_int_equal(tries(h, "a"), 2);
}

/* What a crash leaves: the run running, a's try 1 recorded with a pid that
 * no longer exists; with `started`, the status file its supervisor wrote
 * before starting the task. */
static void crash_mid_run(struct harness *h, bool started) {
  h->pk = create_run(h, "dag_id: d\n"
                        "tasks:\n"
                        "  - id: a\n"
                        "    command: x\n"
                        "    retries: 1\n"
                        "    retry_delay: 0s\n"
                        "  - id: b\n"
                        "    upstream: a\n"
                        "    command: x\n",
                     DAG_RUN_TYPE_MANUAL, NULL, NULL);
  assert_int_equal(dag_store_begin(h->st), 0);
  assert_int_equal(dag_store_set_run_state(h->st, h->pk, DAG_RUN_RUNNING, h->now, 0), 0);
  assert_int_equal(dag_store_ti_start_try(h->st, h->pk, "a", -1, 1, h->now, 0, 0, "a/1.log"), 0);
  assert_int_equal(dag_store_ti_set_pid(h->st, h->pk, "a", -1, 1, 4999999, 1), 0);
  assert_int_equal(dag_store_commit(h->st), 0);
  if (!started) return;
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(h->st, h->pk, &row), 0);
  char *dir = xasprintf("%s/logs/d/%s/a", h->cfg.home, row.run_id);
  dag_store_run_free(&row);
  char *cmd = xasprintf("mkdir -p '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  char *status = xasprintf("%s/1.status", dir);
  write_file(status, "dagctl-status 1\nstarted 1\n");
  free(status);
  free(dir);
}

/* A scheduler starting on a run left mid-way: the try whose process is
 * gone after it started its task counts as failed (retries apply), the
 * rest goes on. */
static void restart_mid_run(void **state) {
  struct harness *h = *state;
  crash_mid_run(h, true);
  start_service(h);
  wait_live(h, "a");
  assert_int_equal(tries(h, "a"), 2);
  finish(h, "a", 0);
  finish(h, "b", 0);
  assert_int_equal(run_state(h), DAG_RUN_SUCCESS);
}

/* The same, but no status file at all: the try was recorded and its
 * supervisor ended before it got it (the scheduler died before the
 * hand-over). The same try runs again, not counted. */
static void restart_never_started(void **state) {
  struct harness *h = *state;
  crash_mid_run(h, false);
  start_service(h);
  wait_live(h, "a");
  assert_int_equal(tries(h, "a"), 1);
  finish(h, "a", 0);
  finish(h, "b", 0);
  assert_int_equal(run_state(h), DAG_RUN_SUCCESS);
  struct dag_store_try *t = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(h->st, h->pk, "a", &t, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(t[0].try_number, 1);
  assert_int_equal(t[0].state, DAG_TI_SUCCESS);
  dag_store_tries_free(t, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(trigger_rules),
      cmocka_unit_test_setup_teardown(cascades, setup, teardown),
      cmocka_unit_test_setup_teardown(spawn_failure_ends_the_run, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_program_fails_its_try, setup, teardown),
      cmocka_unit_test_setup_teardown(emfile_is_a_wait, setup, teardown),
      cmocka_unit_test_setup_teardown(end_and_downstream_start_commit_once, setup, teardown),
      cmocka_unit_test_setup_teardown(emfile_at_downstream_keeps_the_end, setup, teardown),
      cmocka_unit_test_setup_teardown(single_task_outcome, setup, teardown),
      cmocka_unit_test_setup_teardown(busy_store_delays_and_loses_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(busy_store_spawns_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(full_store_stops_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(pg_lock_timeout_stops_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(pg_short_lock_is_waited_out, setup, teardown),
      cmocka_unit_test_setup_teardown(broken_file_with_queued_run, setup, teardown),
      cmocka_unit_test_setup_teardown(clear_and_reload, setup, teardown),
      cmocka_unit_test_setup_teardown(dataset_update_starts_its_consumer_once, setup, teardown),
      cmocka_unit_test_setup_teardown(restart_mid_run, setup, teardown),
      cmocka_unit_test_setup_teardown(restart_never_started, setup, teardown),
  };
  if (getenv("TEST_FILTER")) cmocka_set_test_filter(getenv("TEST_FILTER"));
  return store_backends_run("sched_run", tests, DAG_ARRAY_SIZE(tests));
}
