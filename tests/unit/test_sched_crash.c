/* test_sched_crash.c - a scheduler killed (SIGKILL) at the instants around
 * the start of a try, then a new scheduler on the same home: the try runs
 * exactly once and the run succeeds with retries 0.
 *
 * Real processes, real store, real supervisors: a child process runs the
 * scheduler, whose spawner kills it at the chosen instant while the try is
 * being started; the supervisor that gets the try is stopped (SIGSTOP)
 * before the try reaches it, so that it cannot start its task before the
 * next scheduler has recovered. The supervisor is the dagctl-supervise
 * beside $DAGCTL_BIN. No sleeps: every wait is for a process's end. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "config.h"
#include "dag.h"
#include "dag_load.h"
#include "diag.h"
#include "error.h"
#include "executor.h"
#include "runs.h"
#include "sched_int.h"
#include "store.h"

/* Where the first scheduler dies, around the start of task b's try. */
enum crash_at {
  CRASH_AFTER_SPAWN,  /* the spawner has returned: before the try is recorded */
  CRASH_BEFORE_START, /* recorded, not handed to its supervisor yet */
  CRASH_AFTER_START,  /* recorded and handed over */
};

struct world {
  char dir[64];
  char *home, *dags, *db, *trace;
  char supervisor[4096];
  int64_t pk;
  /* The first scheduler's. */
  enum crash_at crash;
  int report; /* write end: the stopped supervisor's pid goes to the test */
};

/* --- the world ---------------------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
}

static struct world *world_new(void) {
  struct world *w = xcalloc(1, sizeof(*w));
  snprintf(w->dir, sizeof(w->dir), "/tmp/test_sched_crash.XXXXXX");
  assert_non_null(mkdtemp(w->dir));
  w->home = xasprintf("%s/home", w->dir);
  w->dags = xasprintf("%s/dags", w->dir);
  w->db = xasprintf("%s/dagctl.db", w->home);
  w->trace = xasprintf("%s/trace", w->dir);
  assert_int_equal(mkdir(w->home, 0755), 0);
  assert_int_equal(mkdir(w->dags, 0755), 0);
  const char *bin = getenv("DAGCTL_BIN");
  assert_true(bin && strrchr(bin, '/'));
  snprintf(w->supervisor, sizeof(w->supervisor), "%.*s/dagctl-supervise",
           (int)(strrchr(bin, '/') - bin), bin);
  /* Each task appends its id and try number to the trace. */
  char *yaml = xasprintf("dag_id: crash\n"
                         "default_args:\n"
                         "  retries: 0\n"
                         "tasks:\n"
                         "  - id: a\n"
                         "    command: echo \"$DAGCTL_TASK_ID $DAGCTL_TRY_NUMBER\" >> %s\n"
                         "  - id: b\n"
                         "    upstream: a\n"
                         "    command: echo \"$DAGCTL_TASK_ID $DAGCTL_TRY_NUMBER\" >> %s\n",
                         w->trace, w->trace);
  char *path = xasprintf("%s/crash.yaml", w->dags);
  write_file(path, yaml);
  /* The run, queued. */
  struct dag_load_options opts = {0};
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  assert_int_equal(dag_load_file(path, &opts, &dag, &diags), 0);
  dag_diags_free(&diags);
  free(path);
  free(yaml);
  dag_store *st = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(w->db, NULL, &st, &err), 0);
  bool paused = false;
  assert_int_equal(dag_store_sync_dag(st, dag, false, 0, &paused), 0);
  struct dag_run_request req = {.type = DAG_RUN_TYPE_MANUAL};
  char *run_id = NULL;
  assert_int_equal(dag_run_create(st, dag, &req, &w->pk, &run_id, &err), 0);
  free(run_id);
  dag_free(dag);
  dag_store_close(st);
  return w;
}

static void world_free(struct world *w) {
  char *cmd = xasprintf("rm -rf '%s'", w->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(w->home);
  free(w->dags);
  free(w->db);
  free(w->trace);
  free(w);
}

/* A scheduler in service mode on the world's home, with the real executor. */
struct sched {
  struct dag_config cfg;
  dag_store *st;
  uv_loop_t loop;
  struct dag_scheduler *s;
  bool closed;
};

static void sched_open(struct sched *x, struct world *w) {
  memset(x, 0, sizeof(*x));
  struct dag_config_flags flags = {.home = w->home, .dags_folder = w->dags};
  char *envp[] = {NULL};
  struct dag_diags diags = DAG_DIAGS_INIT;
  assert_int_equal(dag_config_load(&x->cfg, &flags, envp, &diags), 0);
  dag_diags_free(&diags);
  char *err = NULL;
  assert_int_equal(dag_store_open(w->db, NULL, &x->st, &err), 0);
  assert_int_equal(uv_loop_init(&x->loop), 0);
  assert_int_equal(dag_scheduler_new(&x->loop, &x->cfg, x->st, &x->s), 0);
  free(x->s->supervisor);
  x->s->supervisor = xstrdup(w->supervisor);
}

static void on_closed(void *ctx) {
  struct sched *x = ctx;
  x->closed = true;
}

static void sched_close(struct sched *x) {
  dag_scheduler_shutdown(x->s, on_closed, x);
  for (int i = 0; i < 100000 && !x->closed; i++) uv_run(&x->loop, UV_RUN_ONCE);
  assert_true(x->closed);
  dag_scheduler_free(x->s);
  uv_run(&x->loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&x->loop), 0);
  dag_store_close(x->st);
  dag_config_free(&x->cfg);
}

/* --- the first scheduler, killed ----------------------------------------------------- */

static struct world *world_of(void *data) {
  struct sched_ti *ti = data;
  return ti->run->sd->s->ops.ctx;
}

static bool is_b(void *data) {
  struct sched_ti *ti = data;
  return strcmp(ti->run->ref->dag->tasks[ti->idx].id, "b") == 0;
}

/* The supervisor the server has forked for the next try: the pool's, or
 * the one in its answer still unread (which begins with its pid). */
static int next_supervisor(struct dag_proc_pool *pool) {
  if (!pool->asked) return pool->next_pid;
  struct pollfd pfd = {.fd = pool->fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, -1), 1);
  int32_t pid = 0;
  assert_int_equal(recv(pool->fd, &pid, sizeof(pid), MSG_PEEK), (ssize_t)sizeof(pid));
  return pid;
}

static void stop_and_report(struct world *w, int pid) {
  assert_true(pid > 0);
  assert_int_equal(kill(pid, SIGSTOP), 0);
  assert_int_equal(write(w->report, &pid, sizeof(pid)), (ssize_t)sizeof(pid));
}

static int crash_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                       dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  struct world *w = world_of(data);
  if (!is_b(data)) return dag_proc_spawn(loop, spec, exit_cb, data, out);
  assert_non_null(spec->pool);
  /* b's status file was made ahead, empty, while a ran (sched_ahead.c):
   * each crash below leaves it so, and it must read as no status. */
  sched_ahead_drain(((struct sched_ti *)data)->run->sd->s);
  struct stat st;
  assert_int_equal(stat(spec->status_path, &st), 0);
  assert_int_equal(st.st_size, 0);
  stop_and_report(w, next_supervisor(spec->pool));
  int rc = dag_proc_spawn(loop, spec, exit_cb, data, out);
  if (w->crash == CRASH_AFTER_SPAWN) raise(SIGKILL);
  return rc;
}

static int crash_start(struct dag_proc *p) {
  struct world *w = world_of(p->data);
  if (!is_b(p->data)) return dag_proc_start(p);
  /* Recorded: the record names the supervisor. */
  dag_store *st = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(w->db, NULL, &st, &err), 0);
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(st, w->pk, &tis, &n), 0);
  for (size_t i = 0; i < n; i++)
    if (strcmp(tis[i].task_id, "b") == 0) {
      assert_int_equal(tis[i].state, DAG_TI_RUNNING);
      assert_int_equal(tis[i].try_number, 1);
      assert_int_equal(tis[i].pid, p->pid);
    }
  dag_store_tis_free(tis, n);
  dag_store_close(st);
  if (w->crash == CRASH_BEFORE_START) raise(SIGKILL);
  int rc = dag_proc_start(p);
  if (w->crash == CRASH_AFTER_START) raise(SIGKILL);
  return rc;
}

/* The child: a scheduler that dies in b's start. */
static void first_scheduler(struct world *w) {
  struct sched x;
  sched_open(&x, w);
  x.s->ops.spawn = crash_spawn;
  x.s->ops.start = crash_start;
  x.s->ops.ctx = w;
  assert_int_equal(dag_scheduler_start(x.s), 0);
  uv_run(&x.loop, UV_RUN_DEFAULT);
  _exit(3); /* not killed: b never started */
}

/* --- waiting for a process that is not our child ---------------------------------------- */

static void wait_gone(int pid, int64_t start) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, -1), 1);
    close(fd);
    return;
  }
  if (errno == ESRCH) return; /* gone, and reaped */
  /* No pidfds (valgrind): look every 10 ms. */
  assert_int_equal(errno, ENOSYS);
  struct timespec ts = {0, 10 * 1000 * 1000};
  while (dag_pid_start_time(pid) == start) nanosleep(&ts, NULL);
}

/* --- the cases ----------------------------------------------------------------------------- */

static int count_lines(const char *path, const char *line) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[256];
  int n = 0;
  size_t len = strlen(line);
  while (fgets(buf, sizeof(buf), f))
    if (strncmp(buf, line, len) == 0 && buf[len] == '\n') n++;
  fclose(f);
  return n;
}

static enum dag_run_state run_state(dag_store *st, int64_t pk) {
  struct dag_store_run row;
  assert_int_equal(dag_store_get_run_by_pk(st, pk, &row), 0);
  enum dag_run_state state = row.state;
  dag_store_run_free(&row);
  return state;
}

/* The first scheduler dies at `crash`; the supervisor that was to get b's
 * try is stopped until the second scheduler has recovered the run (or, if
 * `gone_first`, continued and waited for before it starts). */
static void crash_and_recover(enum crash_at crash, bool gone_first) {
  struct world *w = world_new();
  w->crash = crash;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  w->report = fds[1];
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(fds[0]);
    first_scheduler(w);
  }
  close(fds[1]);
  int ws = 0;
  assert_int_equal(waitpid(child, &ws, 0), child);
  assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
  int sup = 0;
  assert_int_equal(read(fds[0], &sup, sizeof(sup)), (ssize_t)sizeof(sup));
  close(fds[0]);
  int64_t sup_start = dag_pid_start_time(sup);
  assert_true(sup_start >= 0);
  if (gone_first) {
    kill(sup, SIGCONT);
    wait_gone(sup, sup_start);
  }

  struct sched x;
  sched_open(&x, w);
  assert_int_equal(dag_scheduler_start(x.s), 0);
  kill(sup, SIGCONT);
  enum dag_run_state state = DAG_RUN_QUEUED;
  for (int i = 0; i < 100000; i++) {
    state = run_state(x.st, w->pk);
    if ((state == DAG_RUN_SUCCESS || state == DAG_RUN_FAILED) && x.s->running_tasks == 0) break;
    uv_run(&x.loop, UV_RUN_ONCE);
  }
  /* Whatever the stopped supervisor still does happens before the count. */
  wait_gone(sup, sup_start);
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tries(x.st, w->pk, "b", &tries, &n), 0);
  int last_try = n ? tries[n - 1].try_number : 0;
  dag_store_tries_free(tries, n);
  sched_close(&x);

  int a_runs = count_lines(w->trace, "a 1"), b_runs = count_lines(w->trace, "b 1");
  world_free(w);
  assert_int_equal(a_runs, 1);
  if (b_runs != 1) fail_msg("task b ran %d times", b_runs);
  assert_int_equal(state, DAG_RUN_SUCCESS);
  assert_int_equal(n, 1);
  assert_int_equal(last_try, 1);
}

/* Killed after the spawner handed b's try to its supervisor, before the try
 * was recorded: before, the next scheduler found no trace of the try (its
 * supervisor had not started the task, so no environment named it) and ran
 * b again beside it. */
static void crash_after_spawn(void **state) {
  (void)state;
  crash_and_recover(CRASH_AFTER_SPAWN, false);
}

/* Killed after b's try was recorded, before its supervisor got it: the
 * supervisor gets the end of file and ends without a status file. The next
 * scheduler adopts it by its recorded pid, still waiting (stopped), learns
 * when it ends that the try never started, and starts the same try again,
 * not counted: with retries 0 the run succeeds. */
static void crash_before_start(void **state) {
  (void)state;
  crash_and_recover(CRASH_BEFORE_START, false);
}

/* The same, the supervisor gone before the next scheduler starts. */
static void crash_before_start_gone(void **state) {
  (void)state;
  crash_and_recover(CRASH_BEFORE_START, true);
}

/* Killed once b's supervisor has its try: the next scheduler adopts it by
 * its recorded pid and learns its outcome when it ends. */
static void crash_after_start(void **state) {
  (void)state;
  crash_and_recover(CRASH_AFTER_START, false);
}

/* The same, the try over before the next scheduler starts: its status
 * file tells. */
static void crash_after_start_gone(void **state) {
  (void)state;
  crash_and_recover(CRASH_AFTER_START, true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crash_after_spawn),
      cmocka_unit_test(crash_before_start),
      cmocka_unit_test(crash_before_start_gone),
      cmocka_unit_test(crash_after_start),
      cmocka_unit_test(crash_after_start_gone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
