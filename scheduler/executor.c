/* executor.c - task processes: spawn, timeout, terminate (see executor.h). */
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  uv_close((uv_handle_t *)&p->process, on_handle_closed);
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

static void on_process_exit(uv_process_t *proc, int64_t exit_status, int term_signal) {
  struct dag_proc *p = container_of(proc, struct dag_proc, process);
  p->exit_status = term_signal ? -1 : exit_status;
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
  free(container_of((uv_process_t *)h, struct dag_proc, process));
}

int dag_proc_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  *out = NULL;
  int fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = fd;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = fd;

  uv_process_options_t opts;
  memset(&opts, 0, sizeof(opts));
  opts.exit_cb = on_process_exit;
  opts.file = spec->file;
  opts.args = spec->argv;
  opts.env = spec->env;
  opts.cwd = spec->cwd;
  opts.stdio = stdio;
  opts.stdio_count = 3;
  /* DETACHED = setsid(): a process group of its own to signal as a whole.
   * libuv still reports the exit: the child stays ours. */
  opts.flags = UV_PROCESS_DETACHED;

  struct dag_proc *p = xcalloc(1, sizeof(*p));
  p->data = data;
  p->exit_cb = exit_cb;
  p->kill_grace_ms = spec->kill_grace_ms;

  int rc = uv_spawn(loop, &p->process, &opts);
  close(fd);
  if (rc != 0) {
    /* libuv wants the handle closed even when the spawn failed; the memory
     * is freed in that close callback, never by the caller. */
    uv_close((uv_handle_t *)&p->process, free_failed);
    return rc;
  }
  p->pid = p->process.pid;
  p->pid_start = dag_pid_start_time(p->pid);
  p->process.data = p;
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
