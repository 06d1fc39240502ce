/* fake_task.c - a task for the integration tests: it exits with a chosen
 * code, sleeps, floods its output, ignores SIGTERM, starts a grandchild,
 * allocates and touches memory, burns CPU time, and records when it started
 * and ended so that tests can check for overlaps.
 *
 * Record lines (one write(2) each, to a file opened with O_APPEND, so lines
 * from concurrent tasks never interleave):
 *   start US PID PGID LABEL TRY
 *   end   US PID PGID LABEL TRY    (it finished on its own)
 *   term  US PID PGID LABEL TRY    (SIGTERM ended it)
 * US is wall-clock microseconds since the epoch, as in the state store. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: fake_task [--exit N] [--sleep S] [--first-try-sleep S] [--lines N]\n"
    "                 [--ignore-term] [--record FILE] [--label L] [--grandchild FILE]\n"
    "                 [--echo TEXT] [--alloc-mb N] [--cpu S]\n";

struct opts {
  int exit_code;
  double sleep_s;
  double first_try_sleep_s; /* < 0: same as sleep_s */
  long lines;
  int ignore_term;
  const char *record;
  const char *label;
  const char *grandchild;
  const char *echo;
  long alloc_mb;  /* MiB allocated and touched, kept until the exit */
  double cpu_s;   /* CPU time (user + system) to have used before going on */
};

static volatile sig_atomic_t got_term;

static void on_term(int sig) {
  (void)sig;
  got_term = 1;
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int try_number(void) {
  const char *s = getenv("DAGCTL_TRY_NUMBER");
  if (!s) return 0;
  char *end;
  long v = strtol(s, &end, 10);
  return end == s || *end || v < 0 || v > 1000000 ? 0 : (int)v;
}

static void record(const struct opts *o, const char *what) {
  if (!o->record) return;
  char line[512];
  int n = snprintf(line, sizeof(line), "%s %lld %d %d %s %d\n", what, now_us(), (int)getpid(),
                   (int)getpgrp(), o->label, try_number());
  if (n < 0 || (size_t)n >= sizeof(line)) return;
  int fd = open(o->record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "fake_task: %s: %s\n", o->record, strerror(errno));
    exit(70);
  }
  ssize_t w = write(fd, line, (size_t)n);
  (void)w;
  close(fd);
}

/* SIGTERM, when not ignored, ends the task as it would end a real one (by
 * the signal), after the record says so. */
static void check_term(const struct opts *o) {
  if (!got_term) return;
  record(o, "term");
  signal(SIGTERM, SIG_DFL);
  raise(SIGTERM);
  _exit(143);
}

static void sleep_for(const struct opts *o, double secs) {
  if (secs <= 0) return;
  struct timespec ts;
  ts.tv_sec = (time_t)secs;
  ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) check_term(o);
  check_term(o);
}

static void start_grandchild(const char *pidfile) {
  pid_t pid = fork();
  if (pid < 0) {
    perror("fake_task: fork");
    exit(70);
  }
  if (pid == 0) {
    /* An ignored SIGTERM survives exec; a handler would not. */
    execlp("sleep", "sleep", "60", (char *)NULL);
    _exit(127);
  }
  FILE *fp = fopen(pidfile, "w");
  if (!fp) {
    fprintf(stderr, "fake_task: %s: %s\n", pidfile, strerror(errno));
    exit(70);
  }
  fprintf(fp, "%d\n", (int)pid);
  fclose(fp);
}

/* Every page written: resident, not merely reserved. The caller frees it. */
static void *alloc_touch(long mb) {
  if (mb <= 0) return NULL;
  size_t len = (size_t)mb << 20;
  volatile char *p = malloc(len);
  if (!p) {
    fprintf(stderr, "fake_task: cannot allocate %ld MiB\n", mb);
    exit(70);
  }
  long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < len; i += (size_t)page) p[i] = 1;
  return (void *)p;
}

/* Busy until this process has used `secs` of CPU time, whatever the load. */
static void burn_cpu(double secs) {
  volatile unsigned long x = 0;
  for (;;) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double used = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (used >= secs) return;
    for (int i = 0; i < 1000000; i++) x += (unsigned long)i;
  }
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0) return -1;
  *out = v;
  return 0;
}

static int parse_long(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  enum {
    O_EXIT = 1, O_SLEEP, O_FIRST, O_LINES, O_IGNORE, O_RECORD, O_LABEL, O_GRAND, O_ECHO,
    O_ALLOC, O_CPU
  };
  static const struct option longopts[] = {
      {"exit", required_argument, NULL, O_EXIT},
      {"sleep", required_argument, NULL, O_SLEEP},
      {"first-try-sleep", required_argument, NULL, O_FIRST},
      {"lines", required_argument, NULL, O_LINES},
      {"ignore-term", no_argument, NULL, O_IGNORE},
      {"record", required_argument, NULL, O_RECORD},
      {"label", required_argument, NULL, O_LABEL},
      {"grandchild", required_argument, NULL, O_GRAND},
      {"echo", required_argument, NULL, O_ECHO},
      {"alloc-mb", required_argument, NULL, O_ALLOC},
      {"cpu", required_argument, NULL, O_CPU},
      {0, 0, 0, 0}};
  struct opts o;
  memset(&o, 0, sizeof(o));
  o.first_try_sleep_s = -1;
  o.label = getenv("DAGCTL_TASK_ID") ? getenv("DAGCTL_TASK_ID") : "task";
  long v;
  int opt, bad = 0;
  while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (opt) {
    case O_EXIT:
      if (parse_long(optarg, &v) || v < 0 || v > 255)
        bad = 1;
      else
        o.exit_code = (int)v;
      break;
    case O_SLEEP:
      bad |= parse_double(optarg, &o.sleep_s) != 0;
      break;
    case O_FIRST:
      bad |= parse_double(optarg, &o.first_try_sleep_s) != 0;
      break;
    case O_LINES:
      if (parse_long(optarg, &o.lines) || o.lines < 0) bad = 1;
      break;
    case O_IGNORE:
      o.ignore_term = 1;
      break;
    case O_RECORD:
      o.record = optarg;
      break;
    case O_LABEL:
      o.label = optarg;
      break;
    case O_GRAND:
      o.grandchild = optarg;
      break;
    case O_ECHO:
      o.echo = optarg;
      break;
    case O_ALLOC:
      if (parse_long(optarg, &o.alloc_mb) || o.alloc_mb < 0 || o.alloc_mb > 65536) bad = 1;
      break;
    case O_CPU:
      bad |= parse_double(optarg, &o.cpu_s) != 0;
      break;
    default:
      bad = 1;
    }
  }
  if (bad || optind != argc) {
    fputs(usage, stderr);
    return 64;
  }

  if (o.ignore_term) {
    signal(SIGTERM, SIG_IGN);
  } else {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
  }
  record(&o, "start");
  if (o.grandchild) start_grandchild(o.grandchild);
  if (o.echo) printf("%s\n", o.echo);
  void *mem = alloc_touch(o.alloc_mb);
  burn_cpu(o.cpu_s);
  for (long i = 1; i <= o.lines; i++) {
    printf("line %ld of %ld: the quick brown fox jumps over the lazy dog\n", i, o.lines);
    if (i % 1024 == 0) check_term(&o);
  }
  fflush(stdout);
  double secs = o.sleep_s;
  if (o.first_try_sleep_s >= 0 && try_number() <= 1) secs = o.first_try_sleep_s;
  sleep_for(&o, secs);
  free(mem);
  record(&o, "end");
  return o.exit_code;
}
