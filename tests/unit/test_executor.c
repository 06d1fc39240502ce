/* test_executor.c - dag_proc_spawn: what a task process gets (argv, the
 * task's own environment and PATH, cwd, log, stdin, process group, default
 * signals) and what its exit reports, one real supervised child per case;
 * what the supervisor stops and records; dag_proc_adopt. The supervisor is
 * the dagctl-supervise beside $DAGCTL_BIN. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "executor.h"

struct result {
  int calls;
  int64_t status;
  int sig;
  bool timed_out;
  bool unstarted, lost;
  int pid;           /* the supervisor's */
  uint64_t ended_ms; /* uv_now() when exit_cb ran */
  uv_loop_t *loop;
};

struct fixture {
  char dir[64];
  char log[128];
  char status[128];
  char supervisor[4096];
  uv_loop_t loop;
};

static void on_exit_cb(struct dag_proc *p, int64_t status, int sig, bool timed_out) {
  struct result *r = p->data;
  r->calls++;
  r->status = status;
  r->sig = sig;
  r->timed_out = timed_out;
  r->unstarted = p->unstarted;
  r->lost = p->lost;
  r->pid = p->pid;
  r->ended_ms = uv_now(r->loop);
}

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_executor.XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->log, sizeof(f->log), "%s/try.log", f->dir);
  snprintf(f->status, sizeof(f->status), "%s/try.status", f->dir);
  const char *bin = getenv("DAGCTL_BIN");
  if (!bin || !strrchr(bin, '/')) return -1;
  snprintf(f->supervisor, sizeof(f->supervisor), "%.*s/dagctl-supervise",
           (int)(strrchr(bin, '/') - bin), bin);
  uv_loop_init(&f->loop);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  uv_loop_close(&f->loop);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

/* Start one process; returns dag_proc_spawn()'s code. */
static int start(struct fixture *f, const char *file, char **argv, char **env,
                 uint64_t timeout_ms, struct result *r) {
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = file;
  spec.argv = argv;
  spec.env = env;
  spec.cwd = f->dir;
  spec.log_path = f->log;
  spec.timeout_ms = timeout_ms;
  spec.kill_grace_ms = 1000;
  spec.supervisor = f->supervisor;
  spec.status_path = f->status;
  memset(r, 0, sizeof(*r));
  r->loop = &f->loop;
  struct dag_proc *p = NULL;
  int rc = dag_proc_spawn(&f->loop, &spec, on_exit_cb, r, &p);
  if (rc == 0) {
    assert_non_null(p);
    assert_true(p->pid > 0);
  } else {
    assert_null(p);
  }
  return rc;
}

/* Run `sh -c script` to its end with env ENV (NULL: a minimal one). */
static void run_sh(struct fixture *f, const char *script, char **env, struct result *r) {
  static char *min_env[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
  assert_int_equal(start(f, "/bin/sh", argv, env ? env : min_env, 0, r), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r->calls, 1);
}

/* Wait until process `pid` (not our child) has ended. */
static void wait_gone(int pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, -1), 1);
    close(fd);
    return;
  }
  if (errno == ESRCH) return;
  /* No pidfds (valgrind): nothing to wait on but /proc, looked at every
   * millisecond (a zombie counts as gone). */
  int64_t start = dag_pid_start_time(pid);
  while (start > 0 && dag_pid_start_time(pid) == start) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

static void read_log(const struct fixture *f, char *buf, size_t size) {
  buf[0] = '\0';
  FILE *fp = fopen(f->log, "r");
  assert_non_null(fp);
  size_t n = fread(buf, 1, size - 1, fp);
  buf[n] = '\0';
  fclose(fp);
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  assert_int_equal(chmod(path, mode), 0);
}

static void test_exit_code_and_output(void **state) {
  struct fixture *f = *state;
  struct result r;
  run_sh(f, "echo out; echo err >&2; exit 3", NULL, &r);
  assert_int_equal(r.status, 3);
  assert_int_equal(r.sig, 0);
  assert_false(r.timed_out);
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "out\nerr\n");
}

static void test_killed_by_signal(void **state) {
  struct fixture *f = *state;
  struct result r;
  run_sh(f, "kill -KILL $$", NULL, &r);
  assert_int_equal(r.status, -1);
  assert_int_equal(r.sig, SIGKILL);
}

static void test_log_is_appended(void **state) {
  struct fixture *f = *state;
  write_file(f->log, "[header]\n", 0644);
  struct result r;
  run_sh(f, "echo body", NULL, &r);
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "[header]\nbody\n");
}

static void test_missing_program(void **state) {
  struct fixture *f = *state;
  struct result r;
  char *argv[] = {"/nonexistent/prog", NULL};
  char *env[] = {NULL};
  assert_int_equal(start(f, argv[0], argv, env, 0, &r), UV_ENOENT);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 0);
}

static void test_not_executable(void **state) {
  struct fixture *f = *state;
  char path[160];
  snprintf(path, sizeof(path), "%s/plain", f->dir);
  write_file(path, "echo no\n", 0644);
  struct result r;
  char *argv[] = {path, NULL};
  char *env[] = {NULL};
  assert_int_equal(start(f, path, argv, env, 0, &r), UV_EACCES);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 0);
}

/* A bare name is looked up in the task's PATH, not in dagctl's. */
static void test_path_of_the_task(void **state) {
  struct fixture *f = *state;
  char tool[160], path_var[200];
  snprintf(tool, sizeof(tool), "%s/dagctl_test_tool", f->dir);
  write_file(tool, "#!/bin/sh\necho \"found $1\"\n", 0755);
  snprintf(path_var, sizeof(path_var), "PATH=/nonexistent:%s:/bin", f->dir);
  char *argv[] = {"dagctl_test_tool", "it", NULL};
  char *env[] = {path_var, NULL};
  struct result r;
  assert_int_equal(start(f, "dagctl_test_tool", argv, env, 0, &r), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "found it\n");

  char *miss_env[] = {"PATH=/nonexistent:/also/not/here", NULL};
  assert_int_equal(start(f, "dagctl_test_tool", argv, miss_env, 0, &r), UV_ENOENT);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 0);
}

/* Without PATH, execvp's default (/bin:/usr/bin) applies. */
static void test_default_path(void **state) {
  struct fixture *f = *state;
  char *argv[] = {"true", NULL};
  char *env[] = {"HOME=/", NULL};
  struct result r;
  assert_int_equal(start(f, "true", argv, env, 0, &r), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
}

/* An executable file without "#!" runs under /bin/sh, as with execvp(). */
static void test_script_without_shebang(void **state) {
  struct fixture *f = *state;
  char path[160];
  snprintf(path, sizeof(path), "%s/noshebang", f->dir);
  write_file(path, "echo \"via sh $1\"\nexit 7\n", 0755);
  char *argv[] = {path, "arg1", NULL};
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  struct result r;
  assert_int_equal(start(f, path, argv, env, 0, &r), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 7);
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "via sh arg1\n");
}

/* The environment is exactly the one given: nothing of dagctl's leaks. */
static void test_environment_is_exact(void **state) {
  struct fixture *f = *state;
  setenv("DAGCTL_TEST_PARENT_ONLY", "leaked", 1);
  char *env[] = {"PATH=/usr/bin:/bin", "FOO=bar baz", NULL};
  struct result r;
  run_sh(f, "echo \"$FOO|${DAGCTL_TEST_PARENT_ONLY:-unset}\"", env, &r);
  unsetenv("DAGCTL_TEST_PARENT_ONLY");
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "bar baz|unset\n");
}

/* cwd, stdin from /dev/null, a process group of its own, in the session of
 * its supervisor (its parent). */
static void test_cwd_stdin_session(void **state) {
  struct fixture *f = *state;
  struct result r;
  run_sh(f,
         "pwd; cat; set -- $(sed 's/.*) //' /proc/$$/stat);"
         " [ \"$3\" = $$ ] && [ \"$4\" = \"$2\" ] && [ \"$2\" != $$ ] && echo leader",
         NULL, &r);
  assert_int_equal(r.status, 0);
  char log[256], want[160];
  read_log(f, log, sizeof(log));
  snprintf(want, sizeof(want), "%s\nleader\n", f->dir);
  assert_string_equal(log, want);
}

/* Dispositions and the mask dagctl runs with are not the task's: an
 * ignored SIGINT and a blocked SIGTERM are back to their defaults. */
static void test_signals_reset(void **state) {
  struct fixture *f = *state;
  struct sigaction ign, old_int;
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old_int);
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &old_mask);

  struct result r;
  run_sh(f, "kill -INT $$; echo survived", NULL, &r);
  assert_int_equal(r.sig, SIGINT);
  run_sh(f, "kill -TERM $$; echo survived", NULL, &r);
  assert_int_equal(r.sig, SIGTERM);

  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  sigaction(SIGINT, &old_int, NULL);
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "");
}

/* Two children at once, ending in the opposite order: each exit is
 * reported to its own callback with its own status. */
static void test_concurrent_children(void **state) {
  struct fixture *f = *state;
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  char *slow[] = {"/bin/sh", "-c", "sleep 0.3; exit 4", NULL};
  char *fast[] = {"/bin/sh", "-c", "exit 5", NULL};
  struct result a, b;
  assert_int_equal(start(f, "/bin/sh", slow, env, 0, &a), 0);
  assert_int_equal(start(f, "/bin/sh", fast, env, 0, &b), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(a.status, 4);
  assert_int_equal(b.status, 5);
  assert_true(b.ended_ms <= a.ended_ms);
}

static void test_timeout_stops_the_group(void **state) {
  struct fixture *f = *state;
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"/bin/sh", "-c", "sleep 5 & sleep 5; echo not reached", NULL};
  struct result r;
  uint64_t t0 = uv_now(&f->loop);
  assert_int_equal(start(f, "/bin/sh", argv, env, 100, &r), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_true(r.timed_out);
  assert_int_equal(r.status, -1);
  assert_int_equal(r.sig, SIGTERM);
  assert_true(r.ended_ms - t0 < 2000);
  char log[256];
  read_log(f, log, sizeof(log));
  assert_string_equal(log, "");
}

static bool pid_gone(const char *pidfile) {
  FILE *fp = fopen(pidfile, "r");
  assert_non_null(fp);
  int pid = 0;
  assert_int_equal(fscanf(fp, "%d", &pid), 1);
  fclose(fp);
  assert_true(pid > 0);
  return kill(pid, 0) != 0 && errno == ESRCH;
}

/* What a task leaves running when it ends is stopped and reaped with it:
 * in its process group, or out of it (setsid), and after the grace period
 * when it ignores SIGTERM. The try's outcome is its first process's. */
static void test_leftovers_are_stopped(void **state) {
  struct fixture *f = *state;
  char script[512];
  snprintf(script, sizeof(script),
           "sleep 30 & echo $! > %s/bg.pid;"
           " setsid sleep 30 & echo $! > %s/sid.pid;"
           " exit 0",
           f->dir, f->dir);
  struct result r;
  uint64_t t0 = uv_now(&f->loop);
  run_sh(f, script, NULL, &r);
  assert_int_equal(r.status, 0);
  assert_false(r.timed_out);
  assert_true(r.ended_ms - t0 < 900); /* SIGTERM sufficed: no grace period */
  char path[160];
  snprintf(path, sizeof(path), "%s/bg.pid", f->dir);
  assert_true(pid_gone(path));
  snprintf(path, sizeof(path), "%s/sid.pid", f->dir);
  assert_true(pid_gone(path));

  snprintf(script, sizeof(script),
           "sh -c 'trap \"\" TERM; echo $$ > %s/stubborn.pid; exec sleep 30' &"
           " while [ ! -s %s/stubborn.pid ]; do sleep 0.01; done; exit 4",
           f->dir, f->dir);
  uv_update_time(&f->loop);
  t0 = uv_now(&f->loop);
  run_sh(f, script, NULL, &r);
  assert_int_equal(r.status, 4);
  assert_true(r.ended_ms - t0 >= 900 && r.ended_ms - t0 < 5000);
  snprintf(path, sizeof(path), "%s/stubborn.pid", f->dir);
  assert_true(pid_gone(path));
}

/* The status file says how the try ended and what it used. */
static void test_status_file(void **state) {
  struct fixture *f = *state;
  struct result r;
  run_sh(f, "exit 3", NULL, &r);
  int64_t status = 0;
  int sig = -1;
  bool timed_out = true;
  struct dag_proc_usage u;
  assert_int_equal(dag_proc_read_status(f->status, &status, &sig, &timed_out, &u), 0);
  assert_int_equal(status, 3);
  assert_int_equal(sig, 0);
  assert_false(timed_out);
  assert_true(u.maxrss_kb > 0);
  assert_true(u.wall_us > 0);

  run_sh(f, "kill -KILL $$", NULL, &r);
  assert_int_equal(dag_proc_read_status(f->status, &status, &sig, &timed_out, &u), 0);
  assert_int_equal(status, -1);
  assert_int_equal(sig, SIGKILL);

  /* Empty (made ahead by the scheduler): as good as none. */
  write_file(f->status, "", 0644);
  assert_int_equal(dag_proc_read_status(f->status, &status, &sig, &timed_out, &u), -ENOENT);
  write_file(f->status, "dagctl-status 1\nexit 0\n", 0644);
  assert_int_equal(dag_proc_read_status(f->status, &status, &sig, &timed_out, &u), -EINVAL);
  unlink(f->status);
  assert_int_equal(dag_proc_read_status(f->status, &status, &sig, &timed_out, &u), -ENOENT);
}

/* The supervisor's first form of the status file ("started") replaces
 * whatever the file held: an earlier outcome (a sensor's earlier poke of
 * the same try) must not show through it, nor read as this try's. The
 * task sees the file as it is once the supervisor has started it. */
static void test_started_replaces_the_file(void **state) {
  struct fixture *f = *state;
  write_file(f->status,
             "dagctl-status 1\nexit 0\nsignal 0\ntimed_out 0\nmaxrss_kb 1\nuser_us 1\n"
             "sys_us 1\nwall_us 1\n",
             0644);
  char script[512];
  snprintf(script, sizeof(script), "cat '%s'", f->status);
  struct result r;
  run_sh(f, script, NULL, &r);
  assert_int_equal(r.status, 0);
  char buf[4096];
  read_log(f, buf, sizeof(buf));
  if (strcmp(buf, "dagctl-status 1\nstarted 1\n") != 0) fail_msg("status at the start: '%s'", buf);
  /* Made ahead, empty: the same. */
  write_file(f->status, "", 0644);
  unlink(f->log);
  run_sh(f, script, NULL, &r);
  read_log(f, buf, sizeof(buf));
  assert_string_equal(buf, "dagctl-status 1\nstarted 1\n");
}

static void test_terminate(void **state) {
  struct fixture *f = *state;
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"/bin/sh", "-c", "sleep 30", NULL};
  struct result r;
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = "/bin/sh";
  spec.argv = argv;
  spec.env = env;
  spec.log_path = f->log;
  spec.kill_grace_ms = 1000;
  spec.supervisor = f->supervisor;
  spec.status_path = f->status;
  memset(&r, 0, sizeof(r));
  r.loop = &f->loop;
  struct dag_proc *p = NULL;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
  dag_proc_terminate(p);
  dag_proc_terminate(p);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.sig, SIGTERM);
  assert_false(r.timed_out);
}

/* A released try runs on; adopting its supervisor reports its end. */
static void test_release_then_adopt(void **state) {
  struct fixture *f = *state;
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"/bin/sh", "-c", "sleep 0.3; exit 6", NULL};
  struct result r;
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = "/bin/sh";
  spec.argv = argv;
  spec.env = env;
  spec.log_path = f->log;
  spec.supervisor = f->supervisor;
  spec.status_path = f->status;
  memset(&r, 0, sizeof(r));
  r.loop = &f->loop;
  struct dag_proc *p = NULL;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
  int pid = p->pid;
  int64_t pid_start = p->pid_start;
  assert_true(pid_start > 0);
  assert_true(dag_pid_is_supervisor(pid));
  dag_proc_release(p);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 0);

  assert_int_equal(dag_proc_adopt(&f->loop, pid, pid_start, f->status, on_exit_cb, &r, &p), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 6);
  assert_int_equal(waitpid(pid, NULL, 0), pid); /* still our child: reap it */

  /* Gone, with its status file: the end is delivered from the loop. */
  assert_int_equal(dag_proc_adopt(&f->loop, pid, pid_start, f->status, on_exit_cb, &r, &p), 0);
  assert_int_equal(r.calls, 1);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 2);
  assert_int_equal(r.status, 6);

  /* Gone without one; alive but no supervisor. */
  unlink(f->status);
  assert_int_equal(dag_proc_adopt(&f->loop, pid, pid_start, f->status, on_exit_cb, &r, &p),
                   -ESRCH);
  assert_int_equal(dag_proc_adopt(&f->loop, getpid(), dag_pid_start_time(getpid()), f->status,
                                  on_exit_cb, &r, &p),
                   -ENOTSUP);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 2);
}

/* The parent of `pid` from /proc, or 0. */
static int parent_pid(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  char st;
  int ppid;
  return p && sscanf(p + 1, " %c %d", &st, &ppid) == 2 ? ppid : 0;
}

/* Tries through the supervisor server: the same argv, environment, working
 * folder, log and status as the usual way, one after another, each under a
 * supervisor of its own that the one server forked (no exec per try);
 * closing the pool ends the server, and a try still running runs on to its
 * end and is seen to end. */
static void test_pool(void **state) {
  struct fixture *f = *state;
  struct dag_proc_pool pool;
  memset(&pool, 0, sizeof(pool));
  char *env[] = {"PATH=/usr/bin:/bin", "FOO=bar baz", NULL};
  char *argv[] = {"/bin/sh", "-c", "echo \"$FOO|$1|$(pwd)\"; exit $2", "sh", "one", "5", NULL};
  int server = 0;
  for (int i = 0; i < 2; i++) {
    struct dag_proc_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.file = "/bin/sh";
    spec.argv = argv;
    spec.env = env;
    spec.cwd = f->dir;
    spec.log_path = f->log;
    spec.log_header = "[header]\n";
    spec.kill_grace_ms = 1000;
    spec.supervisor = f->supervisor;
    spec.status_path = f->status;
    spec.pool = &pool;
    struct result r;
    memset(&r, 0, sizeof(r));
    r.loop = &f->loop;
    struct dag_proc *p = NULL;
    assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
    assert_int_equal(dag_proc_start(p), 0);
    assert_true(pool.pid > 0 && pool.pid != p->pid);
    if (i == 0) server = pool.pid;
    assert_int_equal(pool.pid, server); /* one server for every try */
    assert_true(p->pid_start > 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 5);
  }
  char log[512], want[512];
  read_log(f, log, sizeof(log));
  snprintf(want, sizeof(want), "[header]\nbar baz|one|%s\n[header]\nbar baz|one|%s\n", f->dir,
           f->dir);
  assert_string_equal(log, want);

  /* A try that waits on a FIFO outlives the server. */
  char fifo[600];
  snprintf(fifo, sizeof(fifo), "%s/gate", f->dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  char *wait_argv[] = {"/bin/sh", "-c", "read x < \"$1\"; exit 3", "sh", fifo, NULL};
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = "/bin/sh";
  spec.argv = wait_argv;
  spec.env = env;
  spec.log_path = f->log;
  spec.kill_grace_ms = 1000;
  spec.supervisor = f->supervisor;
  spec.status_path = f->status;
  spec.pool = &pool;
  struct result r;
  memset(&r, 0, sizeof(r));
  r.loop = &f->loop;
  struct dag_proc *p = NULL;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
  assert_int_equal(dag_proc_start(p), 0);
  int try_pid = p->pid;
  /* Blocked on the FIFO: still there to be looked at. */
  assert_int_equal(pool.pid, server);
  assert_int_equal(parent_pid(try_pid), server);
  assert_true(dag_pid_is_supervisor(try_pid));
  dag_proc_pool_close(&pool);
  assert_int_equal(pool.pid, 0);
  assert_true(kill(server, 0) != 0 && errno == ESRCH);
  assert_true(kill(try_pid, 0) == 0);
  assert_int_not_equal(parent_pid(try_pid), server);
  int gate = open(fifo, O_WRONLY);
  assert_true(gate >= 0);
  assert_int_equal(write(gate, "go\n", 3), 3);
  close(gate);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 3);
}

/* A supervisor started ahead of need that never gets its try (stopped
 * before dag_proc_start(): the end of file) ends without a status file, and
 * says so: its task never started. One adopted while it waits (its
 * scheduler died before the hand-over) says the same when it ends; so does
 * adopting it once it has ended. One that got its try and ran it does not. */
static void test_pool_unstarted(void **state) {
  struct fixture *f = *state;
  struct dag_proc_pool pool;
  memset(&pool, 0, sizeof(pool));
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"/bin/sh", "-c", "echo ran", NULL};
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = "/bin/sh";
  spec.argv = argv;
  spec.env = env;
  spec.log_path = f->log;
  spec.kill_grace_ms = 1000;
  spec.supervisor = f->supervisor;
  spec.status_path = f->status;
  spec.pool = &pool;
  struct result r;
  memset(&r, 0, sizeof(r));
  r.loop = &f->loop;
  struct dag_proc *p = NULL;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
  dag_proc_terminate(p);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_true(r.unstarted);
  assert_false(r.lost);
  assert_int_equal(r.status, -1);
  assert_true(access(f->status, F_OK) != 0 && errno == ENOENT);

  /* Released before the hand-over (a scheduler that stops, or dies), then
   * adopted by its pid as a later scheduler does. */
  memset(&r, 0, sizeof(r));
  r.loop = &f->loop;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
  int pid = p->pid;
  int64_t start = p->pid_start;
  assert_int_equal(kill(pid, SIGSTOP), 0);
  dag_proc_release(p);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 0);
  assert_int_equal(dag_proc_adopt(&f->loop, pid, start, f->status, on_exit_cb, &r, &p), 0);
  assert_int_equal(kill(pid, SIGCONT), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_true(r.unstarted);
  /* Gone: nothing to adopt, its task never started. */
  assert_int_equal(dag_proc_adopt(&f->loop, pid, start, f->status, on_exit_cb, &r, &p), -ESRCH);

  /* Handed over: it ran, and its status file says how it ended. */
  memset(&r, 0, sizeof(r));
  r.loop = &f->loop;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, &r, &p), 0);
  assert_int_equal(dag_proc_start(p), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_false(r.unstarted);
  assert_int_equal(r.status, 0);
  dag_proc_pool_close(&pool);
}

/* Run `sh -c script` through `pool` with status file f->status, to its end. */
static void run_pooled(struct fixture *f, struct dag_proc_pool *pool, const char *script,
                       struct result *r) {
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = "/bin/sh";
  spec.argv = argv;
  spec.env = env;
  spec.cwd = f->dir;
  spec.log_path = f->log;
  spec.kill_grace_ms = 1000;
  spec.supervisor = f->supervisor;
  spec.status_path = f->status;
  spec.pool = pool;
  memset(r, 0, sizeof(*r));
  r->loop = &f->loop;
  struct dag_proc *p = NULL;
  assert_int_equal(dag_proc_spawn(&f->loop, &spec, on_exit_cb, r, &p), 0);
  assert_int_equal(dag_proc_start(p), 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(r->calls, 1);
}

/* A served supervisor reports the try's end on its socket, before it
 * writes the outcome to its status file: the end is known even when that
 * write fails (the task put a folder where the file was). One killed
 * before its report is seen to end without one (lost). */
static void test_pool_report(void **state) {
  struct fixture *f = *state;
  struct dag_proc_pool pool;
  memset(&pool, 0, sizeof(pool));
  char script[512];
  snprintf(script, sizeof(script), "rm '%s' && mkdir '%s' && exit 5", f->status, f->status);
  struct result r;
  run_pooled(f, &pool, script, &r);
  assert_false(r.lost);
  assert_int_equal(r.status, 5);
  assert_int_equal(r.sig, 0);
  wait_gone(r.pid); /* its complaint goes to the log */
  assert_int_equal(rmdir(f->status), 0);

  run_pooled(f, &pool, "kill -TERM $$", &r);
  assert_false(r.lost);
  assert_int_equal(r.status, -1);
  assert_int_equal(r.sig, SIGTERM);
  wait_gone(r.pid);
  int64_t status = 0;
  int sig = -1;
  bool timed_out = true;
  struct dag_proc_usage u;
  assert_int_equal(dag_proc_read_status(f->status, &status, &sig, &timed_out, &u), 0);
  assert_int_equal(sig, SIGTERM);

  run_pooled(f, &pool, "kill -KILL $PPID; exit 0", &r);
  assert_true(r.lost);
  assert_false(r.unstarted);
  assert_int_equal(r.status, -1);
  dag_proc_pool_close(&pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_exit_code_and_output, setup, teardown),
      cmocka_unit_test_setup_teardown(test_killed_by_signal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log_is_appended, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_program, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_executable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_path_of_the_task, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_script_without_shebang, setup, teardown),
      cmocka_unit_test_setup_teardown(test_environment_is_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cwd_stdin_session, setup, teardown),
      cmocka_unit_test_setup_teardown(test_signals_reset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_children, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout_stops_the_group, setup, teardown),
      cmocka_unit_test_setup_teardown(test_leftovers_are_stopped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_status_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_started_replaces_the_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_terminate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_release_then_adopt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool_unstarted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool_report, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
