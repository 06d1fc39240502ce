/* supervise.c - dagctl-supervise: the supervisor of one task try.
 *
 *   dagctl-supervise STATUS_FILE TIMEOUT_MS GRACE_MS PASS_FD PROGRAM ARGV0 [ARG...]
 *
 * The scheduler starts it (executor.c) in a session of its own, with the
 * try's environment and working folder, stdin on /dev/null, stdout and
 * stderr on the try's log, and no other descriptor but fd 3 when PASS_FD is
 * 1 (a plugin's readiness pipe, for the task alone). It runs PROGRAM (an
 * absolute path, or relative to the working folder; one that is not a binary
 * runs under /bin/sh, as execvp() does it) in a process group of its own and
 * stays its parent, so the try's end is known even when no scheduler is
 * there to see it:
 *  - after TIMEOUT_MS (0: never), or at SIGTERM, SIGINT or SIGHUP (the
 *    scheduler stopping the try): SIGTERM to the task's process group,
 *    SIGKILL after GRACE_MS;
 *  - when the task's first process has exited, whatever it left behind (its
 *    process group, and every descendant: a child subreaper inherits them)
 *    gets SIGTERM, SIGKILL after GRACE_MS, and is reaped, so that nothing of
 *    a try outlives it (`cmd &`);
 *  - before it starts the task, STATUS_FILE says "started" (no status file
 *    at all, or an empty one, means the task never started); when the try
 *    has ended, the outcome replaces it (in place: see write_status()), in
 *    the format executor.h describes, and it exits 0. One forked by the
 *    server sends the outcome to the scheduler first (server()).
 * It exits 70 when it cannot write the status file, 64 on a usage error,
 * with the reason on stderr (the try's log).
 *
 * The scheduler usually does not exec it per try: it execs one server
 * ("dagctl-supervise --server", see server() below) that fork()s each try's
 * supervisor ahead of need; the forked child gets its try on a socket and
 * then runs as above. With --tied (`dagctl worker`) each such supervisor
 * stops its try when the server dies, which it does with its owner. Plugin
 * tasks (PASS_FD) get an exec of their own.
 *
 * libc only, small and static, so that its exec and its fork are cheap.
 * Its wait is one sigtimedwait() per event; /proc is read only when a task
 * left processes behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define EXIT_USAGE 64
#define EXIT_STATUS_FILE 70

/* A line for the try's log (our stderr). */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  ssize_t w = write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
  (void)w;
}

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-') return -1;
  *out = v;
  return 0;
}

/* Send `sig` to every child of ours: the descendants a subreaper inherited
 * left the task's process group, or never were in it (setsid). O(processes):
 * only when a task left something behind. */
static void signal_children(int sig) {
  DIR *d = opendir("/proc");
  if (!d) return;
  pid_t self = getpid();
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
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
    /* "pid (comm) state ppid ...": comm may hold anything. */
    char *p = strrchr(buf, ')');
    char state;
    long ppid;
    if (p && sscanf(p + 1, " %c %ld", &state, &ppid) == 2 && ppid == self && state != 'Z')
      kill((pid_t)pid, sig);
  }
  closedir(d);
}

struct try {
  pid_t pid;           /* the task's first process, leader of its group */
  bool leader_done;    /* ... has exited, with leader_status */
  int leader_status;
  bool timed_out;
  bool stopping;       /* SIGTERM sent to the group */
  int64_t kill_at;     /* when SIGKILL follows, once stopping */
};

/* Reap every child that has exited. Returns false once we have none left. */
static bool reap(struct try *t) {
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid > 0) {
      if (pid == t->pid) {
        t->leader_done = true;
        t->leader_status = st;
      }
      continue;
    }
    if (pid == 0) return true;
    if (errno == EINTR) continue;
    return false; /* ECHILD */
  }
}

static void stop(struct try *t, uint64_t grace_us) {
  if (t->stopping) return;
  t->stopping = true;
  t->kill_at = mono_us() + (int64_t)grace_us;
  kill(-t->pid, SIGTERM);
  if (t->leader_done) signal_children(SIGTERM);
}

/* The grace period is over: SIGKILL to the group and to every child, again
 * for each orphan a death hands over to us, until nothing is left. */
static void kill_all(struct try *t) {
  for (;;) {
    kill(-t->pid, SIGKILL);
    signal_children(SIGKILL);
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid == t->pid) {
      t->leader_done = true;
      t->leader_status = st;
    }
    if (pid < 0 && errno == ECHILD) return;
  }
}

/* Start the task: vfork() and execve() by hand rather than posix_spawn(),
 * whose child resets each of the 64 signal dispositions with two system
 * calls; ours are all default already (the scheduler reset them), so the
 * child only leaves our process group and unblocks signals. A file that is
 * neither a binary nor a "#!" script runs under /bin/sh, as execvp() does
 * it. Returns the pid, or -1 (the reason is in the log). */
static pid_t start(char **argv, const char *file, bool pass_fd) {
  size_t n = 0;
  while (argv[n]) n++;
  /* Prepared before vfork(): the child may not allocate. */
  char **volatile sh = calloc(n + 2, sizeof(char *));
  if (!sh) {
    say("[dagctl] cannot start %s: %s\n", file, strerror(ENOMEM));
    return -1;
  }
  sh[0] = (char *)"/bin/sh";
  sh[1] = (char *)file;
  for (size_t i = 1; i < n; i++) sh[i + 1] = argv[i];
  sigset_t none;
  sigemptyset(&none);
  /* The child's exec error comes back through memory shared with it. */
  volatile int child_errno = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(file, argv, environ);
    if (errno == ENOEXEC) execve("/bin/sh", sh, environ);
    child_errno = errno;
    _exit(127);
  }
  int err = pid < 0 ? errno : child_errno;
  free(sh);
  /* The readiness pipe is the task's: its reader sees the end of file when
   * the task exits, not when we do. */
  if (pass_fd) close(3);
  if (err) {
    say("[dagctl] cannot start %s: %s\n", file, strerror(err));
    if (pid > 0) waitpid(pid, NULL, 0);
    return -1;
  }
  return pid;
}

static int64_t tv_us(struct timeval tv) {
  return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The try's outcome as text, the status file's format (executor.h), in
 * buf; returns its length, or -1 if it does not fit. */
static int status_text(char *buf, size_t size, const struct try *t, int64_t wall_us) {
  int exit_code = -1, sig = 0;
  if (t->pid < 0)
    exit_code = 127; /* never started: as a shell reports it */
  else if (WIFEXITED(t->leader_status))
    exit_code = WEXITSTATUS(t->leader_status);
  else if (WIFSIGNALED(t->leader_status))
    sig = WTERMSIG(t->leader_status);
  /* What the whole try used. Called once every child is reaped (ECHILD):
   * RUSAGE_CHILDREN covers every waited-for descendant, and that is all of
   * them. A process reaped by its own parent (the task's shell) is added to
   * that parent's children figures, which come to us when we reap it; an
   * orphan is reparented to us, the subreaper, and reaped here. So the CPU
   * times are those of the task's whole process tree, background jobs and
   * setsid()'d ones included; ru_maxrss is the largest resident set of any
   * one of those processes (the kernel keeps a maximum, not a sum). A
   * supervisor forked by the server starts with zero figures (fork() resets
   * them), so none of the server's other children count. */
  struct rusage ru;
  memset(&ru, 0, sizeof(ru));
  getrusage(RUSAGE_CHILDREN, &ru);
  int n = snprintf(buf, size,
                   "dagctl-status 1\nexit %d\nsignal %d\ntimed_out %d\nmaxrss_kb %ld\n"
                   "user_us %lld\nsys_us %lld\nwall_us %lld\n",
                   exit_code, sig, t->timed_out ? 1 : 0, ru.ru_maxrss,
                   (long long)tv_us(ru.ru_utime), (long long)tv_us(ru.ru_stime),
                   (long long)wall_us);
  return n > 0 && (size_t)n < size ? n : -1;
}

/* The outcome over the "started" form, in place: the status file is read
 * only once its supervisor has ended (executor.c), so no reader sees it
 * half written, and the outcome is longer than the form it replaces (then
 * cut to its length), so the file is never empty meanwhile. No temporary
 * file: creating one is, on some file systems, the costliest step of a
 * try's end (bench/README.md). No fsync: the file must survive the
 * scheduler's death, which the page cache does; the machine's would take
 * the task with it. */
static int write_status(const char *path, const char *text, size_t n) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t w = pwrite(fd, text, n, 0);
  int err = w == (ssize_t)n ? 0 : w < 0 ? errno : EIO;
  if (!err && ftruncate(fd, (off_t)n) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  return err;
}

/* The status file's first form, written before the task starts: a try
 * whose supervisor left no status file at all (or an empty one) never
 * started (its scheduler may start it again), one that left only this
 * was lost. No O_TRUNC: the file is usually there and empty (made ahead
 * by the scheduler), and truncating even an empty file costs ext4 tens of
 * microseconds, before the task starts. Only an earlier content (a
 * sensor's earlier poke of the same try) is cut first. */
static int write_started(const char *path) {
  static const char text[] = "dagctl-status 1\nstarted 1\n";
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  struct stat st;
  int err = fstat(fd, &st) != 0 ? errno : 0;
  if (!err && st.st_size > 0 && ftruncate(fd, 0) != 0) err = errno;
  if (!err) {
    ssize_t w = write(fd, text, sizeof(text) - 1);
    err = w == (ssize_t)sizeof(text) - 1 ? 0 : w < 0 ? errno : EIO;
  }
  if (close(fd) != 0 && !err) err = errno;
  return err;
}

/* REPORT_FD (>= 0, owned) is the scheduler's socket of a supervisor forked
 * by the server: the outcome goes there first, see server(). */
static int run(int argc, char **argv, int report_fd) {
  uint64_t timeout_ms, grace_ms, pass;
  if (argc < 7 || parse_u64(argv[2], &timeout_ms) || parse_u64(argv[3], &grace_ms) ||
      parse_u64(argv[4], &pass) || pass > 1 || argv[1][0] != '/') {
    say("usage: dagctl-supervise STATUS_FILE TIMEOUT_MS GRACE_MS PASS_FD PROGRAM ARGV0 "
        "[ARG...] (run by the scheduler, not by hand)\n");
    if (report_fd >= 0) close(report_fd);
    return EXIT_USAGE;
  }
  const char *status_path = argv[1];
  int64_t t0 = mono_us();

  /* Orphans of the task become our children, so that they can be stopped
   * and reaped. Signals are taken synchronously: nothing runs in a
   * handler. The scheduler starts us with them blocked already, so that a
   * stop sent at once is not lost. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, NULL);

  int err = write_started(status_path);
  if (err) {
    say("[dagctl] cannot write the try's status file %s: %s\n", status_path, strerror(err));
    if (report_fd >= 0) close(report_fd);
    return EXIT_STATUS_FILE;
  }
  struct try t;
  memset(&t, 0, sizeof(t));
  t.pid = start(argv + 6, argv[5], pass == 1);
  int64_t timeout_at = timeout_ms ? t0 + (int64_t)timeout_ms * 1000 : INT64_MAX;
  uint64_t grace_us = grace_ms * 1000;

  while (t.pid > 0) {
    bool any = reap(&t);
    if (!any) break;
    if (t.leader_done && !t.stopping) {
      /* The task is over; what it left running is not part of the next
       * try, nor of anything else. */
      stop(&t, grace_us);
    }
    int64_t now = mono_us();
    if (t.stopping && now >= t.kill_at) {
      kill_all(&t);
      break;
    }
    if (!t.stopping && now >= timeout_at) {
      t.timed_out = true;
      stop(&t, grace_us);
      continue;
    }
    int64_t until = t.stopping ? t.kill_at : timeout_at;
    struct timespec ts, *tsp = NULL;
    if (until != INT64_MAX) {
      int64_t left = until - now;
      ts.tv_sec = (time_t)(left / 1000000);
      ts.tv_nsec = (long)(left % 1000000) * 1000;
      tsp = &ts;
    }
    int sig = sigtimedwait(&set, NULL, tsp);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) stop(&t, grace_us);
  }

  char text[512];
  int n = status_text(text, sizeof(text), &t, mono_us() - t0);
  if (report_fd >= 0) {
    /* The scheduler goes on from this message, not from our exit nor from
     * the file: the task and all it left are gone by now. If it is gone
     * itself (the send fails), the file below is what its successor reads. */
    if (n > 0) {
      ssize_t w;
      do
        w = send(report_fd, text, (size_t)n, MSG_NOSIGNAL);
      while (w < 0 && errno == EINTR);
    }
    close(report_fd);
  }
  err = n > 0 ? write_status(status_path, text, (size_t)n) : ENAMETOOLONG;
  if (err) {
    say("[dagctl] cannot write the try's status file %s: %s\n", status_path, strerror(err));
    return EXIT_STATUS_FILE;
  }
  return 0;
}

/* One try from its request: NUL-terminated strings, the first the number
 * of bytes after it, then LOG_FILE, CWD, the number of environment entries
 * and the entries, then the arguments of the usual mode. Takes stdin,
 * stdout and stderr over (/dev/null, the log), the working folder and the
 * environment, then runs the try. `buf` (len bytes, one more for a NUL) is
 * freed before returning. */
static int serve_try(char *buf, size_t len, int report_fd) {
  buf[len] = '\0';
  /* A try cut short (its scheduler died while writing it) is refused, and
   * never run with an argument cut. */
  size_t head = strlen(buf);
  uint64_t want;
  if (head == len || parse_u64(buf, &want) || want != len - head - 1) {
    say("dagctl-supervise: an incomplete try request\n");
    close(report_fd);
    free(buf);
    return EXIT_USAGE;
  }
  char *body = buf + head + 1;
  size_t n = 0;
  for (char *p = body; p < buf + len; p++) n += *p == '\0';
  char **v = calloc(n + 2, sizeof(*v));
  if (!v) {
    close(report_fd);
    free(buf);
    return EXIT_STATUS_FILE;
  }
  v[0] = (char *)"dagctl-supervise";
  size_t k = 1;
  for (char *p = body; p < buf + len; p += strlen(p) + 1) v[k++] = p;
  /* v[1] log, v[2] cwd, v[3] env count, then env, then the arguments. */
  uint64_t envc;
  if (k < 4 || parse_u64(v[3], &envc) || envc > k - 4) {
    say("dagctl-supervise: a malformed try request\n");
    close(report_fd);
    free(v);
    free(buf);
    return EXIT_USAGE;
  }
  int null = open("/dev/null", O_RDONLY);
  int log = open(v[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) {
    say("dagctl-supervise: cannot open the try's log %s: %s\n", v[1], strerror(errno));
    close(report_fd);
    free(v);
    free(buf);
    return EXIT_STATUS_FILE;
  }
  close(null);
  close(log);
  if (chdir(v[2]) != 0) say("[dagctl] cannot enter %s: %s\n", v[2], strerror(errno));
  char **env = v + 4;
  char *after = env[envc];
  env[envc] = NULL; /* the entry after the environment is copied below */
  environ = env;
  char **args = calloc(k - 4 - envc + 2, sizeof(*args));
  int rc = EXIT_STATUS_FILE;
  if (args) {
    args[0] = v[0];
    args[1] = after;
    size_t argc = 2;
    for (size_t i = 4 + envc + 1; i < k; i++) args[argc++] = v[i];
    rc = run((int)argc, args, report_fd);
  } else {
    close(report_fd);
  }
  /* Freed for leak checkers, whose reports would land in the try's log. */
  environ = NULL;
  free(args);
  free(v);
  free(buf);
  return rc;
}

/* Field 22 of /proc/PID/stat, the start time, zombie or not: -1 if
 * unreadable. */
static long long start_time_of(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  if (!p) return -1;
  char *end;
  long long v = strtoll(p + 1, &end, 10);
  return end == p + 1 ? -1 : v;
}

/* Server mode ("dagctl-supervise --server"): exec'd once per scheduler,
 * stdin a unix stream socket. Each byte received asks for one supervisor
 * ahead of need: the server fork()s a child (a fork of this small static
 * process costs far less than an exec: see bench/README.md), which waits
 * in a session of its own for its try on a socket, and answers with struct
 * dag_served (the child's pid and start time) and, as SCM_RIGHTS, the
 * scheduler's end of that socket and a pidfd for the child. The pidfd is
 * opened here, by the parent, before the child can be reaped, so the
 * scheduler watches the right process however soon it ends. pid is -errno
 * when the fork failed.
 *
 * The socket is a SOCK_SEQPACKET pair, used both ways. The child reads its
 * try (serve_try()'s request, in messages of at most TRY_CHUNK bytes) until
 * it is whole, then becomes that try's supervisor. Once the task and all it
 * left are gone, it sends the try's outcome (the status file's text) as
 * one message, closes the socket, and only then writes the outcome to the
 * status file and exits: the scheduler records the end without waiting for
 * a file or an exit, and the file is there for one that did not hear it.
 * An end of file without that message tells the scheduler that the
 * supervisor died: it then waits for its exit and reads the status file,
 * as for an adopted one. An end of file without a try (the
 * scheduler stopped, or died after recording the try but before handing it
 * over) ends it quietly, without a status file: a later scheduler that
 * adopted it by its recorded pid learns that the try never started, and
 * starts it again. A partial try is refused the same way. The server reaps
 * its children (a signalfd for SIGCHLD). At the end of its socket it exits
 * without waiting for them: they are reparented and run on, and a later
 * scheduler adopts them by pid and start time, as any supervisor. */
struct dag_served {
  int32_t pid;
  int32_t with_pidfd; /* 1: the pidfd follows the socket in SCM_RIGHTS */
  int64_t start;      /* clock ticks after boot, as /proc/PID/stat */
};

/* The largest message of a try's request (executor.c sends no larger). */
#define TRY_CHUNK 32768

/* The forked child: its try from `fd` until it is whole (its first string
 * is the length of the rest) or the end of file. A message larger than the
 * room left would be cut: room for a whole one is made before each read. */
static int await_try(int fd) {
  size_t len = 0, cap = 2 * TRY_CHUNK, want = SIZE_MAX;
  char *buf = malloc(cap);
  while (buf && len < want) {
    if (cap - len < TRY_CHUNK + 1) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
    }
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
    char *nul = want == SIZE_MAX ? memchr(buf, '\0', len) : NULL;
    uint64_t body;
    if (nul && parse_u64(buf, &body) == 0 && body < SIZE_MAX / 2)
      want = (size_t)(nul - buf) + 1 + (size_t)body;
  }
  if (!buf) {
    close(fd);
    return EXIT_STATUS_FILE;
  }
  if (len == 0) {
    close(fd);
    free(buf);
    return 0;
  }
  return serve_try(buf, len, fd);
}

static int server(bool tied) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGTERM);
  sigaddset(&chld, SIGINT);
  sigaddset(&chld, SIGHUP);
  /* Blocked in the server, and so in each child from the fork on: a stop
   * sent to a try's supervisor at once waits for its run(). */
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    say("dagctl-supervise: signalfd: %s\n", strerror(errno));
    return EXIT_USAGE;
  }
  int rc = 0;
  pid_t self = getpid();
  for (;;) {
    struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      rc = EXIT_USAGE;
      break;
    }
    if (pfd[1].revents) {
      struct signalfd_siginfo si;
      bool stop = false;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        stop |= si.ssi_signo != SIGCHLD;
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
      if (stop) break;
    }
    if (!pfd[0].revents) continue;
    char ask;
    ssize_t r = read(0, &ask, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break; /* the scheduler is gone */
    struct dag_served ans = {0, 0, -1};
    int fds[2] = {-1, -1}, pidfd = -1;
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0) pid = fork();
    if (pid == 0) {
      close(sfd);
      close(fds[1]);
      /* --tied: the server's death (its owner's) stops this try; SIGTERM
       * is blocked, so it waits for run()'s stop, as a scheduler's would. */
      if (tied && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != self)) _exit(0);
      setsid();
      _exit(await_try(fds[0])); /* stdin, the socket, is replaced there */
    }
    if (pid < 0) {
      ans.pid = -errno;
    } else {
      ans.pid = pid;
      ans.start = start_time_of(pid);
      pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
      ans.with_pidfd = pidfd >= 0;
    }
    if (fds[0] >= 0) close(fds[0]);
    int pass[2] = {fds[1], pidfd};
    size_t npass = pid < 0 ? 0 : pidfd >= 0 ? 2 : 1;
    struct iovec iov = {.iov_base = &ans, .iov_len = sizeof(ans)};
    union {
      char buf[CMSG_SPACE(sizeof(pass))];
      struct cmsghdr align;
    } cm;
    memset(&cm, 0, sizeof(cm));
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (npass) {
      msg.msg_control = cm.buf;
      msg.msg_controllen = CMSG_SPACE(npass * sizeof(int));
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(npass * sizeof(int));
      memcpy(CMSG_DATA(c), pass, npass * sizeof(int));
    }
    ssize_t w;
    do
      w = sendmsg(0, &msg, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (fds[1] >= 0) close(fds[1]); /* the child waiting has the end of file if we failed */
    if (pidfd >= 0) close(pidfd);
    if (w != (ssize_t)sizeof(ans)) break; /* the scheduler is gone */
  }
  close(sfd);
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--server") == 0)
    return server(argc == 3 && strcmp(argv[2], "--tied") == 0);
  return run(argc, argv, -1);
}
