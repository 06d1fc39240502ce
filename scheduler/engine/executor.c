/* executor.c - task tries under their supervisors: spawn, adopt, stop
 * (see executor.h). */
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "common.h"
#include "log.h"
#include "strbuf.h"

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

/* --- status files ------------------------------------------------------------- */

/* A status file's text, `buf` (NUL-terminated, modified), as
 * dag_proc_read_status() returns it. */
static int parse_status(char *buf, int64_t *exit_status, int *term_signal, bool *timed_out,
                        struct dag_proc_usage *usage) {
  if (strncmp(buf, "dagctl-status 1\n", 16) != 0) return -EINVAL;
  long long exit_code = 0, sig = 0, tout = 0;
  bool have_exit = false, have_sig = false;
  memset(usage, 0, sizeof(*usage));
  for (char *line = buf + 16; *line;) {
    char *nl = strchr(line, '\n');
    if (!nl) break; /* a line is whole or not at all */
    *nl = '\0';
    char key[32];
    long long v;
    if (sscanf(line, "%31s %lld", key, &v) == 2) {
      if (strcmp(key, "exit") == 0) {
        exit_code = v;
        have_exit = true;
      } else if (strcmp(key, "signal") == 0) {
        sig = v;
        have_sig = true;
      } else if (strcmp(key, "timed_out") == 0) {
        tout = v;
      } else if (strcmp(key, "maxrss_kb") == 0) {
        usage->maxrss_kb = v;
      } else if (strcmp(key, "user_us") == 0) {
        usage->user_us = v;
      } else if (strcmp(key, "sys_us") == 0) {
        usage->sys_us = v;
      } else if (strcmp(key, "wall_us") == 0) {
        usage->wall_us = v;
      }
    }
    line = nl + 1;
  }
  if (!have_exit || !have_sig || sig < 0 || sig > 64 || exit_code < -1 || exit_code > 255)
    return -EINVAL;
  *exit_status = sig ? -1 : exit_code;
  *term_signal = (int)sig;
  *timed_out = tout != 0;
  return 0;
}

int dag_proc_read_status(const char *path, int64_t *exit_status, int *term_signal,
                         bool *timed_out, struct dag_proc_usage *usage) {
  char buf[1024];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  /* Empty: made ahead by the scheduler, never written by a supervisor. */
  if (n == 0) return -ENOENT;
  if (n < 0) return -EINVAL;
  buf[n] = '\0';
  return parse_status(buf, exit_status, term_signal, timed_out, usage);
}

/* --- watching a supervisor ---------------------------------------------------------- */

static int pidfd_open(int pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -errno : fd;
}

/* The try is not to go to its supervisor (any more): a supervisor still
 * waiting for it gets the end of file and ends without it. The socket
 * stays open, for its report or its end, until the dag_proc goes. */
static void drop_handover(struct dag_proc *p) {
  if (p->handover_fd >= 0 && !p->handed) shutdown(p->handover_fd, SHUT_WR);
  free(p->request);
  p->request = NULL;
  p->request_len = 0;
}

static void on_closed(uv_handle_t *h) {
  struct dag_proc *p = h->data;
  drop_handover(p);
  if (p->handover_fd >= 0) close(p->handover_fd);
  if (p->pidfd >= 0) close(p->pidfd);
  if (!p->released) p->exit_cb(p, p->exit_status, p->term_signal, p->timed_out);
  free(p->status_path);
  free(p);
}

static uv_handle_t *watch_handle(struct dag_proc *p) {
  switch (p->how) {
  case DAG_PROC_REPORT:
    return (uv_handle_t *)&p->report;
  case DAG_PROC_PIDFD:
    return (uv_handle_t *)&p->watch;
  case DAG_PROC_SIGCHLD:
    return (uv_handle_t *)&p->child_signal;
  default:
    return (uv_handle_t *)&p->later;
  }
}

/* The supervisor has ended (`ws`: its wait status, when we reaped it): its
 * status file says how the try ended. Then the handle closes and exit_cb
 * runs. */
static void finish(struct dag_proc *p, bool reaped, int ws) {
  int rc = dag_proc_read_status(p->status_path, &p->exit_status, &p->term_signal,
                                &p->timed_out, &p->usage);
  drop_handover(p);
  if (rc == -ENOENT && !p->handed) {
    /* No status file, not even the one written before the task starts,
     * and the try did not come from us whole: it never started. */
    p->unstarted = true;
    p->exit_status = -1;
    p->term_signal = 0;
    p->timed_out = false;
    LOG_INFO("task supervisor ended before it started its task pid=%d status_file=%s", p->pid,
             p->status_path);
  } else if (rc != 0) {
    p->lost = true;
    p->exit_status = -1;
    p->term_signal = reaped && WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
    p->timed_out = false;
    LOG_WARN("task supervisor ended without a status pid=%d status_file=%s error=\"%s\"",
             p->pid, p->status_path, strerror(-rc));
  }
  uv_close(watch_handle(p), on_closed);
}

static void on_pidfd(uv_poll_t *h, int status, int events) {
  struct dag_proc *p = container_of(h, struct dag_proc, watch);
  DAG_UNUSED(status);
  DAG_UNUSED(events);
  uv_poll_stop(h);
  int ws = 0;
  bool reaped = false;
  if (p->child) {
    pid_t r;
    do
      r = waitpid(p->pid, &ws, WNOHANG);
    while (r < 0 && errno == EINTR);
    reaped = r == p->pid;
  }
  finish(p, reaped, ws);
}

/* Without pidfds (valgrind, Linux before 5.3): SIGCHLD says that some child
 * changed state, waitpid() whether it is this one; every running try
 * watches, so an exit costs O(running tries) waitpid() calls. */
static void on_sigchld(uv_signal_t *h, int signum) {
  struct dag_proc *p = container_of(h, struct dag_proc, child_signal);
  DAG_UNUSED(signum);
  int ws;
  pid_t r;
  do
    r = waitpid(p->pid, &ws, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r != p->pid) return;
  uv_signal_stop(h);
  finish(p, true, ws);
}

/* Without pidfds, an adopted supervisor is looked at every 100 ms: only
 * while recovering tries, and only where pidfds are missing. */
static void on_poll_adopted(uv_timer_t *t) {
  struct dag_proc *p = container_of(t, struct dag_proc, later);
  if (dag_pid_start_time(p->pid) == p->pid_start) return;
  uv_timer_stop(t);
  finish(p, false, 0);
}

static void on_later(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, on_closed);
}

/* Watch the supervisor p->pid until it ends; p->pidfd is open, or the
 * error pidfd_open() gave. */
static int watch(uv_loop_t *loop, struct dag_proc *p) {
  int rc;
  if (p->pidfd >= 0) {
    p->how = DAG_PROC_PIDFD;
    p->watch.data = p;
    rc = uv_poll_init(loop, &p->watch, p->pidfd);
    if (rc == 0) rc = uv_poll_start(&p->watch, UV_READABLE, on_pidfd);
    return rc;
  }
  if (p->pidfd != -ENOSYS) return p->pidfd;
  if (p->child) {
    p->how = DAG_PROC_SIGCHLD;
    p->child_signal.data = p;
    rc = uv_signal_init(loop, &p->child_signal);
    if (rc == 0) rc = uv_signal_start(&p->child_signal, on_sigchld, SIGCHLD);
    /* It may have ended before we watched: its SIGCHLD is gone. */
    if (rc == 0) on_sigchld(&p->child_signal, SIGCHLD);
    return rc;
  }
  p->how = DAG_PROC_POLL;
  p->later.data = p;
  rc = uv_timer_init(loop, &p->later);
  if (rc == 0) rc = uv_timer_start(&p->later, on_poll_adopted, 100, 100);
  return rc;
}

/* The socket ended without a report: the supervisor died (killed), or
 * ended without its try. Its end is then learnt as an adopted one's, from
 * its exit and its status file, once the socket's handle is closed. */
static void on_report_dropped(uv_handle_t *h) {
  struct dag_proc *p = h->data;
  close(p->handover_fd);
  p->handover_fd = -1;
  if (p->released) {
    on_closed(h);
    return;
  }
  int rc = watch(h->loop, p);
  if (rc == 0) return;
  LOG_ERROR("cannot watch the task supervisor pid=%d error=\"%s\"", p->pid, uv_strerror(rc));
  if (p->pidfd >= 0) close(p->pidfd);
  p->pidfd = -1;
  p->how = DAG_PROC_DONE;
  p->later.data = p;
  uv_timer_init(h->loop, &p->later);
  finish(p, false, 0);
}

/* A served supervisor's socket is readable: its report (the status file's
 * text, one SOCK_SEQPACKET message) ends the try; the end of file alone
 * means that it ended without one. */
static void on_report(uv_poll_t *h, int status, int events) {
  struct dag_proc *p = container_of(h, struct dag_proc, report);
  DAG_UNUSED(status);
  DAG_UNUSED(events);
  ssize_t n;
  do
    n = recv(p->handover_fd, p->msg, sizeof(p->msg) - 1, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  uv_poll_stop(h);
  if (n > 0) {
    p->msg[n] = '\0';
    if (p->handed &&
        parse_status(p->msg, &p->exit_status, &p->term_signal, &p->timed_out, &p->usage) == 0) {
      uv_close((uv_handle_t *)h, on_closed);
      return;
    }
    LOG_WARN("task supervisor sent a malformed report pid=%d", p->pid);
  }
  uv_close((uv_handle_t *)h, on_report_dropped);
}

void dag_proc_terminate(struct dag_proc *p) {
  if (p->terminating || p->how == DAG_PROC_DONE) return;
  p->terminating = true;
  if (!p->handed && p->handover_fd >= 0) {
    /* Waiting for its try: the end of file ends it, and the try never
     * starts. (An adopted supervisor has no hand-over socket: it runs its
     * try and is signalled below.) */
    drop_handover(p);
    return;
  }
  int rc;
  if (p->pidfd >= 0) {
    /* Through the pidfd: an adopted supervisor that has just ended may have
     * been reaped, and its pid reused. */
    rc = (int)syscall(SYS_pidfd_send_signal, p->pidfd, SIGTERM, NULL, 0);
    /* A pidfd from the server where pidfd_send_signal() is missing
     * (valgrind): by pid, if it is still the same process. */
    if (rc != 0 && errno == ENOSYS && dag_pid_start_time(p->pid) == p->pid_start)
      rc = kill(p->pid, SIGTERM);
  } else if (p->child || dag_pid_start_time(p->pid) == p->pid_start) {
    rc = kill(p->pid, SIGTERM);
  } else {
    return;
  }
  if (rc != 0 && errno != ESRCH)
    LOG_WARN("cannot signal a task's supervisor pid=%d error=\"%s\"", p->pid, strerror(errno));
}

void dag_proc_release(struct dag_proc *p) {
  if (p->released) return;
  p->released = true;
  drop_handover(p);
  uv_handle_t *h = watch_handle(p);
  if (uv_is_closing(h)) return;
  if (p->how == DAG_PROC_REPORT)
    uv_poll_stop(&p->report);
  else if (p->how == DAG_PROC_PIDFD)
    uv_poll_stop(&p->watch);
  else if (p->how == DAG_PROC_SIGCHLD)
    uv_signal_stop(&p->child_signal);
  else
    uv_timer_stop(&p->later);
  uv_close(h, on_closed);
}

bool dag_pid_is_supervisor(int pid) {
  char path[64], comm[32];
  snprintf(path, sizeof(path), "/proc/%d/comm", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, comm, sizeof(comm) - 1);
  close(fd);
  if (n <= 0) return false;
  comm[n] = '\0';
  /* The kernel keeps 15 characters of the name. */
  return strncmp(comm, "dagctl-supervis", 15) == 0;
}

int dag_proc_adopt(uv_loop_t *loop, int pid, int64_t pid_start, const char *status_path,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  *out = NULL;
  int pidfd = pid > 0 ? pidfd_open(pid) : -ESRCH;
  /* The start time is read after the pidfd is open: if it matches, the
   * pidfd holds the process that was recorded, not a reuse of its pid. */
  bool alive = (pidfd >= 0 || pidfd == -ENOSYS) && dag_pid_start_time(pid) == pid_start;
  if (alive && !dag_pid_is_supervisor(pid)) {
    if (pidfd >= 0) close(pidfd);
    return -ENOTSUP;
  }
  if (!alive && pidfd >= 0) close(pidfd);
  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->pid = pid;
  p->pid_start = pid_start;
  p->data = data;
  p->exit_cb = exit_cb;
  p->status_path = xstrdup(status_path);
  p->pidfd = alive ? pidfd : -1;
  p->handover_fd = -1;
  if (alive) {
    int rc = watch(loop, p);
    if (rc) {
      if (p->pidfd >= 0) close(p->pidfd);
      free(p->status_path);
      free(p);
      return rc;
    }
    *out = p;
    return 0;
  }
  /* Gone: the status file is the only witness. None at all: the task
   * never started. One that says only that it started: the supervisor was
   * killed, the outcome is lost. */
  int rc = dag_proc_read_status(status_path, &p->exit_status, &p->term_signal, &p->timed_out,
                                &p->usage);
  if (rc != 0) {
    free(p->status_path);
    free(p);
    return rc == -ENOENT ? -ESRCH : -ENODATA;
  }
  p->how = DAG_PROC_DONE;
  p->later.data = p;
  uv_timer_init(loop, &p->later);
  uv_timer_start(&p->later, on_later, 0, 0);
  *out = p;
  return 0;
}

int dag_supervisor_path(char **out) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return -errno;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  *out = xasprintf("%.*s/dagctl-supervise", slash ? (int)(slash - exe) : 0, exe);
  return 0;
}

/* --- spawning ------------------------------------------------------------------------- */

/* The program's path, as the supervisor will exec it, in *out (caller
 * frees), or an errno value: execvp()'s search in the task's PATH (execvp()
 * in a forked child saw the task's environment too; without one, execvp()'s
 * default), checked with access() here so that a missing or non-executable
 * program fails the spawn rather than the try's process. A relative path
 * is taken from the task's working folder. */
static int resolve_in(const char *file, const char *cwd, char **env, char **out);

static int resolve(const char *file, const char *cwd, char **env, char **out) {
  int rc = resolve_in(file, cwd, env, out);
  if (rc || (*out)[0] == '/') return rc;
  /* Relative to dagctl's folder (a relative cwd): the supervisor runs in
   * the task's folder, where the same path would mean another file. */
  char here[4096];
  if (!getcwd(here, sizeof(here))) {
    rc = errno;
    free(*out);
    *out = NULL;
    return rc;
  }
  char *abs = xasprintf("%s/%s", here, *out);
  free(*out);
  *out = abs;
  return 0;
}

static int resolve_in(const char *file, const char *cwd, char **env, char **out) {
  if (strchr(file, '/')) {
    char *cand = file[0] == '/' || !cwd ? xstrdup(file) : xasprintf("%s/%s", cwd, file);
    if (access(cand, X_OK) != 0) {
      int e = errno;
      free(cand);
      return e;
    }
    *out = cand;
    return 0;
  }
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
    char *rel = end == dir ? xasprintf("./%s", file)
                           : xasprintf("%.*s/%s", (int)(end - dir), dir, file);
    char *cand = rel[0] == '/' || !cwd ? xstrdup(rel) : xasprintf("%s/%s", cwd, rel);
    free(rel);
    if (access(cand, X_OK) == 0) {
      *out = cand;
      return 0;
    }
    rc = errno;
    free(cand);
    if (rc == EACCES)
      denied = true;
    else if (rc != ENOENT && rc != ENOTDIR && rc != ESTALE && rc != ENODEV && rc != ETIMEDOUT)
      return rc;
    if (*end == '\0') break;
    dir = end;
  }
  return denied ? EACCES : rc;
}

/* A dag_proc for the supervisor `pid`, our child, now running the try. */
static int watch_new(uv_loop_t *loop, int pid, int64_t pid_start,
                     const struct dag_proc_spec *spec, dag_proc_exit_cb exit_cb, void *data,
                     struct dag_proc **out) {
  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->pid = pid;
  p->pid_start = pid_start;
  p->data = data;
  p->exit_cb = exit_cb;
  p->child = true;
  p->handed = true; /* its try is in its arguments */
  p->handover_fd = -1;
  p->status_path = xstrdup(spec->status_path);
  p->pidfd = pidfd_open(pid);
  int rc = watch(loop, p);
  if (rc) {
    LOG_ERROR("cannot watch the task supervisor pid=%d error=\"%s\"", pid, uv_strerror(rc));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (p->pidfd >= 0) close(p->pidfd);
    free(p->status_path);
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* --- the supervisor server ------------------------------------------------------------ */

/* The server's answer to a request (supervise.c, server()); the waiting
 * supervisor's pipe, and a pidfd for it when with_pidfd, come with it as
 * SCM_RIGHTS. */
struct dag_served {
  int32_t pid; /* -errno when the server could not fork */
  int32_t with_pidfd;
  int64_t start;
};

static void pool_forget_next(struct dag_proc_pool *pool) {
  if (pool->next_fd >= 0) close(pool->next_fd);
  if (pool->next_pidfd >= 0) close(pool->next_pidfd);
  pool->next_pid = 0;
  pool->next_fd = -1;
  pool->next_pidfd = -1;
}

/* The server is gone (or speaks nonsense): end it; the next try starts a
 * new one. */
static void pool_lost(struct dag_proc_pool *pool) {
  LOG_WARN("the supervisor server is gone pid=%d", pool->pid);
  pool_forget_next(pool);
  close(pool->fd);
  kill(pool->pid, SIGKILL);
  waitpid(pool->pid, NULL, 0);
  pool->pid = 0;
  pool->asked = false;
}

/* Ask for the next supervisor; the answer is read by pool_take(). */
static void pool_ask(struct dag_proc_pool *pool) {
  ssize_t w;
  do
    w = send(pool->fd, "n", 1, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w != 1)
    pool_lost(pool);
  else
    pool->asked = true;
}

/* Read the answer to pool_ask(): blocks only until the server has forked,
 * which it usually did while the last task ran. */
static void pool_take(struct dag_proc_pool *pool) {
  struct dag_served ans;
  int fds[2] = {-1, -1};
  union {
    char buf[CMSG_SPACE(sizeof(fds))];
    struct cmsghdr align;
  } cm;
  struct iovec iov = {.iov_base = &ans, .iov_len = sizeof(ans)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  msg.msg_control = cm.buf;
  msg.msg_controllen = sizeof(cm.buf);
  ssize_t r;
  do
    r = recvmsg(pool->fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (r < 0 && errno == EINTR);
  pool->asked = false;
  size_t nfds = 0;
  struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
      c->cmsg_len >= CMSG_LEN(sizeof(int))) {
    nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (nfds > 2) nfds = 2;
    memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
  }
  if (r != (ssize_t)sizeof(ans) || (ans.pid > 0 && nfds != 1u + (ans.with_pidfd ? 1 : 0))) {
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    pool_lost(pool);
    return;
  }
  if (ans.pid < 0) {
    LOG_WARN("the supervisor server cannot fork error=\"%s\"", strerror(-ans.pid));
    return;
  }
  pool->next_pid = ans.pid;
  pool->next_start = ans.start;
  pool->next_fd = fds[0];
  pool->next_pidfd = nfds == 2 ? fds[1] : -ENOSYS;
}

/* The signal sets a supervisor is spawned with: every disposition reset
 * (`all`) and the signals it waits for blocked (`waited`), so that a SIGTERM
 * sent right after the spawn (a stop) waits for it instead of killing it
 * before it can stop its task. */
static void supervisor_signals(sigset_t *all, sigset_t *waited) {
  sigfillset(all);
  sigemptyset(waited);
  sigaddset(waited, SIGCHLD);
  sigaddset(waited, SIGTERM);
  sigaddset(waited, SIGINT);
  sigaddset(waited, SIGHUP);
}

/* Exec the server, once: its stdin is our end of a socket pair. */
static void pool_start(struct dag_proc_pool *pool, const char *supervisor) {
  pool->next_fd = pool->next_pidfd = -1;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, waited;
  supervisor_signals(&all, &waited);
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc == 0 && (rc = posix_spawnattr_init(&at)) != 0) posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    close(fds[0]);
    close(fds[1]);
    return;
  }
  rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                         POSIX_SPAWN_SETSIGMASK);
  if (!rc) rc = posix_spawnattr_setsigdefault(&at, &all);
  if (!rc) rc = posix_spawnattr_setsigmask(&at, &waited);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 0);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  char *argv[] = {(char *)"dagctl-supervise", (char *)"--server",
                  pool->tied ? (char *)"--tied" : NULL, NULL};
  char *env[] = {NULL};
  pid_t pid = 0;
  if (!rc) rc = posix_spawn(&pid, supervisor, &fa, &at, argv, env);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc) {
    LOG_WARN("cannot start the supervisor server path=%s error=\"%s\"", supervisor,
             strerror(rc));
    close(fds[0]);
    return;
  }
  pool->pid = pid;
  pool->fd = fds[0];
  pool_ask(pool);
}

void dag_proc_pool_close(struct dag_proc_pool *pool) {
  if (!pool || pool->pid <= 0) return;
  /* End of file for the supervisor waiting (it exits) and for the server
   * (it exits; the tries run on). An answer still unread goes with the
   * socket, and its pipe with it. */
  pool_forget_next(pool);
  close(pool->fd);
  waitpid(pool->pid, NULL, 0);
  pool->pid = 0;
  pool->asked = false;
}

static void put_str(struct strbuf *sb, const char *s) {
  sb_appendn(sb, s, strlen(s) + 1);
}

/* Take the waiting supervisor for a try, and ask for the next one: 0 with
 * *pid, *start, *pidfd (-ENOSYS when none came) and *fd (its pipe's write
 * end, which the caller now owns), or -1 (no server, or no supervisor
 * came), then the caller takes the usual way. */
static int pool_take_next(struct dag_proc_pool *pool, int *pid, int64_t *start, int *pidfd,
                          int *fd) {
  if (pool->asked) pool_take(pool);
  if (pool->next_pid <= 0) {
    if (pool->pid > 0 && !pool->asked) pool_ask(pool);
    return -1;
  }
  *pid = pool->next_pid;
  *start = pool->next_start;
  *pidfd = pool->next_pidfd;
  *fd = pool->next_fd;
  pool->next_pid = 0;
  pool->next_pidfd = -1;
  pool->next_fd = -1;
  /* The next one is forked while this try's task runs. */
  pool_ask(pool);
  return 0;
}

/* The try as the waiting supervisor reads it (supervise.c, serve_try()), in
 * *out: the length of the rest, so that a try cut short is refused, then
 * the try. */
static void pool_request(struct strbuf *out, const struct dag_proc_spec *spec, char **argv,
                         char **env) {
  struct strbuf body = STRBUF_INIT, *sb = &body;
  char here[4096];
  put_str(sb, spec->log_path);
  put_str(sb, spec->cwd ? spec->cwd : getcwd(here, sizeof(here)) ? here : "/");
  size_t envc = 0;
  while (env[envc]) envc++;
  char num[24];
  snprintf(num, sizeof(num), "%zu", envc);
  put_str(sb, num);
  for (size_t i = 0; i < envc; i++) put_str(sb, env[i]);
  for (size_t i = 1; argv[i]; i++) put_str(sb, argv[i]);
  snprintf(num, sizeof(num), "%zu", body.len);
  put_str(out, num);
  sb_appendn(out, body.buf, body.len);
  sb_free(&body);
}

/* The largest message of a try's request (supervise.c reads no larger). */
#define TRY_CHUNK 32768

int dag_proc_start(struct dag_proc *p) {
  if (p->handed || !p->request) return 0;
  int rc = 0;
  for (size_t off = 0; off < p->request_len && rc == 0;) {
    size_t len = p->request_len - off < TRY_CHUNK ? p->request_len - off : TRY_CHUNK;
    ssize_t w = send(p->handover_fd, p->request + off, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w != (ssize_t)len)
      rc = w < 0 ? -errno : -EIO;
    else
      off += len;
  }
  /* Whole or not at all: a partial try is refused by the supervisor, which
   * then ends without a status file. */
  p->handed = rc == 0;
  drop_handover(p);
  if (rc)
    LOG_WARN("cannot hand a try to its supervisor pid=%d error=\"%s\"", p->pid, strerror(-rc));
  return rc;
}

/* A dag_proc for the supervisor `pid` the server forked (our grandchild,
 * so not reaped here): watched through `pidfd` as an adopted one. It waits
 * on `fd` for `request` (taken over, *request emptied) until
 * dag_proc_start(). */
static int watch_served(uv_loop_t *loop, int pid, int64_t pid_start, int pidfd, int fd,
                        struct strbuf *request, const struct dag_proc_spec *spec,
                        dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->pid = pid;
  p->pid_start = pid_start;
  p->data = data;
  p->exit_cb = exit_cb;
  p->status_path = xstrdup(spec->status_path);
  p->pidfd = pidfd;
  p->handover_fd = fd;
  p->request = request->buf;
  p->request_len = request->len;
  *request = (struct strbuf)STRBUF_INIT;
  /* Its socket says when the try ends (its report), and when it ends
   * before (the end of file): its pidfd only when the report never came. */
  p->how = DAG_PROC_REPORT;
  p->report.data = p;
  int rc = uv_poll_init(loop, &p->report, fd);
  if (rc == 0) rc = uv_poll_start(&p->report, UV_READABLE, on_report);
  if (rc) {
    LOG_ERROR("cannot watch the task supervisor pid=%d error=\"%s\"", pid, uv_strerror(rc));
    /* The end of file ends it, without a try. */
    drop_handover(p);
    close(fd);
    if (p->pidfd >= 0) close(p->pidfd);
    free(p->status_path);
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* posix_spawn() rather than uv_spawn(): libuv 1.44 forks, which copies
 * dagctl's page tables and then charges a copy-on-write fault for every page
 * dagctl touches until the child has exec'd; glibc's posix_spawn() shares
 * the memory until exec (CLONE_VM | CLONE_VFORK). That was ~0.3 ms of the
 * ~1.2 ms each task of a chain took (bench/README.md). The supervisor gets a
 * new session, stdin /dev/null, stdout and stderr to the log, the working
 * folder, default signal dispositions and nothing blocked, all of which the
 * task inherits from it. */
int dag_proc_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  *out = NULL;
  if (!spec->supervisor || !spec->status_path) return -EINVAL;
  char **env = spec->env ? spec->env : environ;
  char *prog = NULL;
  int rc = resolve(spec->file, spec->cwd, env, &prog);
  if (rc) return -rc;
  int fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = errno;
    free(prog);
    return -rc;
  }
  if (fd < 3) {
    /* Opening /dev/null on 0 must not close the log first. */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fd);
    if (high < 0) {
      free(prog);
      return -err;
    }
    fd = high;
  }
  if (spec->log_header) {
    /* One open of the log for the header and the task (O_APPEND). */
    ssize_t w = write(fd, spec->log_header, strlen(spec->log_header));
    DAG_UNUSED(w);
  }
  size_t argc = 0;
  while (spec->argv[argc]) argc++;
  char num[3][24];
  snprintf(num[0], sizeof(num[0]), "%llu", (unsigned long long)spec->timeout_ms);
  snprintf(num[1], sizeof(num[1]), "%llu", (unsigned long long)spec->kill_grace_ms);
  snprintf(num[2], sizeof(num[2]), "%d", spec->pass_fd > 2 ? 1 : 0);
  char **argv = xcalloc(argc + 7, sizeof(*argv));
  argv[0] = (char *)"dagctl-supervise";
  argv[1] = (char *)spec->status_path;
  argv[2] = num[0];
  argv[3] = num[1];
  argv[4] = num[2];
  argv[5] = prog;
  for (size_t i = 0; i < argc; i++) argv[6 + i] = spec->argv[i];

  if (spec->pool && spec->pass_fd <= 2) {
    if (spec->pool->pid <= 0) pool_start(spec->pool, spec->supervisor);
    int pid, pidfd, pipe_fd;
    int64_t pid_start;
    if (spec->pool->pid > 0 &&
        pool_take_next(spec->pool, &pid, &pid_start, &pidfd, &pipe_fd) == 0) {
      struct strbuf request = STRBUF_INIT;
      pool_request(&request, spec, argv, env);
      close(fd);
      free(argv);
      free(prog);
      rc = watch_served(loop, pid, pid_start, pidfd, pipe_fd, &request, spec, exit_cb, data,
                        out);
      sb_free(&request);
      return rc;
    }
  }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, waited;
  supervisor_signals(&all, &waited);
  rc = posix_spawn_file_actions_init(&fa);
  if (rc == 0 && (rc = posix_spawnattr_init(&at)) != 0) posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    close(fd);
    free(argv);
    free(prog);
    return -rc;
  }
  rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                         POSIX_SPAWN_SETSIGMASK);
  if (!rc) rc = posix_spawnattr_setsigdefault(&at, &all);
  if (!rc) rc = posix_spawnattr_setsigmask(&at, &waited);
  if (!rc) rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fd, 1);
  if (!rc) rc = posix_spawn_file_actions_adddup2(&fa, fd, 2);
  /* Only what the task is meant to have: the libraries in dagctl
   * (librdkafka's pipes and sockets, for one) open descriptors without
   * O_CLOEXEC, and a task must not hold them. */
  if (!rc && spec->pass_fd > 2) rc = posix_spawn_file_actions_adddup2(&fa, spec->pass_fd, 3);
  if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, spec->pass_fd > 2 ? 4 : 3);
  if (!rc && spec->cwd) rc = posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
  pid_t pid = 0;
  if (!rc) rc = posix_spawn(&pid, spec->supervisor, &fa, &at, argv, env);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  free(argv);
  free(prog);
  if (rc) {
    LOG_ERROR("cannot start the task supervisor path=%s error=\"%s\"", spec->supervisor,
              strerror(rc));
    return -rc;
  }

  return watch_new(loop, pid, dag_pid_start_time(pid), spec, exit_cb, data, out);
}

/* The parent of `pid`, or 0. */
static int parent_of(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  char state;
  int ppid;
  return p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 ? ppid : 0;
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
      /* A supervisor started ahead of need got its try on a pipe: the
       * try id is in its task's environment, not in its own. */
      bool sup = dag_pid_is_supervisor((int)pid);
      int ppid = sup ? 0 : parent_of((int)pid);
      if (ppid > 1 && dag_pid_is_supervisor(ppid)) {
        pid = ppid;
        sup = true;
      }
      (*out)[*n].pid = (int)pid;
      (*out)[*n].supervisor = sup;
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
