/* executor.c - task processes: spawn, timeout, terminate (see executor.h). */
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "common.h"
#include "log.h"

int64_t dag_pid_start_time(int pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: fields are
   * counted from the last ')'. starttime is field 22, the 20th after it. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p++;
  /* A zombie has exited; only its parent has yet to notice. */
  if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X')) return -1;
  for (int field = 3; field < 22; field++) {
    p = strchr(p + 1, ' ');
    if (!p) return -1;
  }
  char *end;
  long long v = strtoll(p + 1, &end, 10);
  return end == p + 1 ? -1 : v;
}

bool dag_pgrp_alive(int pgid) {
  if (kill(-pgid, 0) != 0) return false;
  /* Members exist, but maybe only zombies: processes that have exited and
   * wait for a parent to reap them, which never comes when init does not
   * reap (many containers). Read each process's state and group. */
  DIR *d = opendir("/proc");
  if (!d) return true;
  bool alive = false;
  struct dirent *e;
  while (!alive && (e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    /* "pid (comm) state ppid pgrp ...": comm may hold anything, so parse
     * from the last ')'. */
    char *p = strrchr(buf, ')');
    char state;
    long ppid, pgrp;
    if (p && sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
        state != 'Z' && state != 'X')
      alive = true;
  }
  closedir(d);
  return alive;
}

static void on_handle_closed(uv_handle_t *h) {
  struct dag_proc *p = h->data;
  if (--p->open_handles > 0) return;
  p->exit_cb(p, p->exit_status, p->term_signal, p->timed_out);
  free(p);
}

static void finish(struct dag_proc *p) {
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->child, on_handle_closed);
  uv_close((uv_handle_t *)&p->timer, on_handle_closed);
}

/* After the leader exited: wait for the rest of its group until the grace
 * period ends, then kill what is left. Polls every 50 ms (each poll reads
 * /proc: O(processes)), only while a stopped task's group outlives its
 * leader. */
static void on_group_poll(uv_timer_t *t) {
  struct dag_proc *p = container_of(t, struct dag_proc, timer);
  if (dag_pgrp_alive(p->pid) && uv_now(t->loop) < p->kill_at) return;
  kill(-p->pid, SIGKILL);
  finish(p);
}

/* SIGCHLD says that some child changed state; waitpid() says whether it
 * is this one. Every running task watches, so an exit costs O(running
 * tasks) waitpid() calls. */
static void on_sigchld(uv_signal_t *h, int signum) {
  struct dag_proc *p = container_of(h, struct dag_proc, child);
  DAG_UNUSED(signum);
  int status;
  pid_t r;
  /* waitpid(0) would reap any child of the group: never without a pid. */
  if (p->pid <= 0) return;
  do
    r = waitpid(p->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r != p->pid) return;
  uv_signal_stop(h);
  int term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  p->exit_status = term_signal ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  p->term_signal = term_signal;
  /* A task being stopped (timeout, shutdown) ends with its whole group: a
   * shell leader dies at SIGTERM at once, while the program it started may
   * still be cleaning up, or ignore the signal. The rest of the group gets
   * what is left of the grace period, then SIGKILL; the try ends only then,
   * so that nothing of it outlives its record. */
  if (p->terminating && dag_pgrp_alive(p->pid)) {
    uv_timer_stop(&p->timer);
    uv_timer_start(&p->timer, on_group_poll, 50, 50);
    return;
  }
  finish(p);
}

static void on_grace_over(uv_timer_t *t) {
  struct dag_proc *p = container_of(t, struct dag_proc, timer);
  LOG_WARN("task ignored SIGTERM, sending SIGKILL pid=%d", p->pid);
  kill(-p->pid, SIGKILL);
}

void dag_proc_terminate(struct dag_proc *p) {
  if (p->terminating) return;
  p->terminating = true;
  kill(-p->pid, SIGTERM);
  uv_timer_stop(&p->timer);
  p->kill_at = uv_now(p->timer.loop) + p->kill_grace_ms;
  uv_timer_start(&p->timer, on_grace_over, p->kill_grace_ms, 0);
}

static void on_timeout(uv_timer_t *t) {
  struct dag_proc *p = container_of(t, struct dag_proc, timer);
  LOG_WARN("task timed out, sending SIGTERM pid=%d", p->pid);
  p->timed_out = true;
  dag_proc_terminate(p);
}

static void free_failed(uv_handle_t *h) {
  free(container_of((uv_signal_t *)h, struct dag_proc, child));
}

/* posix_spawn() one file; one that is neither a binary nor a "#!" script
 * runs under /bin/sh, as execvp() does it. Returns 0 or an errno value.
 * A file execve() would refuse (missing, not executable) is refused here
 * first: cheaper than a child per PATH entry, and valgrind runs glibc's
 * CLONE_VM child as a plain fork, whose exec error never reaches us. A
 * relative path depends on the child's working folder: the child checks. */
static int spawn_file(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *at, char **argv, char **env) {
  if (path[0] == '/' && access(path, X_OK) != 0) return errno;
  int rc = posix_spawn(pid, path, fa, at, argv, env);
  if (rc != ENOEXEC) return rc;
  size_t n = 0;
  while (argv[n]) n++;
  char **sh = xcalloc(n + 2, sizeof(*sh));
  sh[0] = (char *)"/bin/sh";
  sh[1] = (char *)path;
  for (size_t i = 1; i < n; i++) sh[i + 1] = argv[i];
  rc = posix_spawn(pid, "/bin/sh", fa, at, sh, env);
  free(sh);
  return rc;
}

/* execvp()'s search, in the task's PATH (execvp() in a forked child saw the
 * task's environment too); without one, execvp()'s default. */
static int spawn_search(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *at, char **argv, char **env) {
  if (strchr(file, '/')) return spawn_file(pid, file, fa, at, argv, env);
  const char *path = "/bin:/usr/bin";
  for (char **e = env; *e; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) {
      path = *e + 5;
      break;
    }
  }
  int rc = ENOENT;
  bool denied = false;
  for (const char *dir = path;; dir++) {
    const char *end = strchrnul(dir, ':');
    /* An empty entry is the task's working folder. */
    char *cand = end == dir ? xasprintf("./%s", file)
                            : xasprintf("%.*s/%s", (int)(end - dir), dir, file);
    rc = spawn_file(pid, cand, fa, at, argv, env);
    free(cand);
    if (rc == 0) return 0;
    if (rc == EACCES)
      denied = true;
    else if (rc != ENOENT && rc != ENOTDIR && rc != ESTALE && rc != ENODEV && rc != ETIMEDOUT)
      return rc;
    if (*end == '\0') break;
    dir = end;
  }
  return denied ? EACCES : rc;
}

/* posix_spawn() rather than uv_spawn(): libuv 1.44 forks, which copies
 * dagctl's page tables and then charges a copy-on-write fault for every page
 * dagctl touches until the child has exec'd; glibc's posix_spawn() shares
 * the memory until exec (CLONE_VM | CLONE_VFORK). That was ~0.3 ms of the
 * ~1.2 ms each task of a chain took (bench/README.md). The child is set up
 * as uv_spawn() did it: a new session, stdin /dev/null, stdout and stderr to
 * the log, the working folder, default signal dispositions, nothing
 * blocked, execvp()'s PATH search. */
int dag_proc_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  *out = NULL;
  int fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  if (fd < 3) {
    /* Opening /dev/null on 0 must not close the log first. */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fd);
    if (high < 0) return -err;
    fd = high;
  }
  char **env = spec->env ? spec->env : environ;

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc) {
    close(fd);
    return -rc;
  }
  if ((rc = posix_spawnattr_init(&at)) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    return -rc;
  }
  rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                         POSIX_SPAWN_SETSIGMASK);
  if (!rc) rc = posix_spawnattr_setsigdefault(&at, &all);
  if (!rc) rc = posix_spawnattr_setsigmask(&at, &none);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fd, 1);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fd, 2);
  /* Only what the task is meant to have: the libraries in dagctl
   * (librdkafka's pipes and sockets, for one) open descriptors without
   * O_CLOEXEC, and a task must not hold them. */
  if (!rc && spec->pass_fd > 2) rc = posix_spawn_file_actions_adddup2(&fa, spec->pass_fd, 3);
  if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, spec->pass_fd > 2 ? 4 : 3);
  if (!rc && spec->cwd) rc = posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);

  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->data = data;
  p->exit_cb = exit_cb;
  p->kill_grace_ms = spec->kill_grace_ms;
  if (!rc) rc = -uv_signal_init(loop, &p->child);
  pid_t pid = 0;
  if (!rc) {
    /* Watch before the child exists, so that its exit cannot be missed. */
    p->child.data = p;
    uv_signal_start(&p->child, on_sigchld, SIGCHLD);
    rc = spawn_search(&pid, spec->file, &fa, &at, spec->argv, env);
    if (rc) uv_close((uv_handle_t *)&p->child, free_failed);
  } else {
    free(p);
  }
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  if (rc) return -rc;
  p->pid = pid;
  p->pid_start = dag_pid_start_time(p->pid);
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  p->open_handles = 2;
  if (spec->timeout_ms) uv_timer_start(&p->timer, on_timeout, spec->timeout_ms, 0);
  *out = p;
  return 0;
}

void dag_find_try_procs(struct dag_try_proc **out, size_t *n) {
  *out = NULL;
  *n = 0;
  size_t cap = 0;
  DIR *d = opendir("/proc");
  if (!d) return;
  static const char key[] = DAG_TRY_ID_ENV "=";
  struct dirent *e;
  char *buf = xmalloc(65536);
  while ((e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || getpgid((pid_t)pid) != pid) continue;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t len = read(fd, buf, 65535);
    close(fd);
    if (len <= 0) continue;
    buf[len] = '\0';
    /* environ is NUL-separated NAME=value entries. */
    for (char *p = buf; p < buf + len; p += strlen(p) + 1) {
      if (strncmp(p, key, sizeof(key) - 1) != 0) continue;
      *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
      (*out)[*n].pid = (int)pid;
      (*out)[*n].try_id = xstrdup(p + sizeof(key) - 1);
      (*n)++;
      break;
    }
  }
  free(buf);
  closedir(d);
}

void dag_try_procs_free(struct dag_try_proc *p, size_t n) {
  for (size_t i = 0; i < n; i++) free(p[i].try_id);
  free(p);
}
