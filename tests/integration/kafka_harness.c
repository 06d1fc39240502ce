/* kafka_harness - run one task of a plugin in this process, with a fake host.
 *
 *   kafka_harness [-p KEY=VALUE]... [-c SECTION.KEY=VALUE]... [-x NAME=VALUE]...
 *                 PLUGIN.so TYPE
 *
 * A stand-in for the scheduler's plugin host, for plugin tests and
 * benchmarks: -p sets a param, -c a connection setting, -x a context value
 * (dag_id, run_id, ds, home, ...; sensible defaults otherwise). The task's
 * log lines go to stderr as "LEVEL message"; xcom_push() prints
 * "xcom KEY VALUE" and service_ready() prints "ready" on stdout, flushed at
 * once so a test can wait for them. SIGTERM or SIGINT makes cancelled()
 * true; like the real host's, it only reads a flag, so a task may call it
 * for every message. The exit status is execute()'s result (0 ok, 1 failed, 2 not yet,
 * 3 skip), 70 if the plugin cannot be loaded, 2 for bad usage.
 *
 * The tables and the loader are tests/unit/fake_host.c's; the callbacks
 * that must stream (log, xcom_push, service_ready) or may be called from
 * any thread (log, cancelled) are replaced here. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "dagctl/plugin.h"
#include "fake_host.h"

/* Written by the signal handler: the one thing a handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

struct harness {
  struct fake_host fh; /* first, so the host table leads to the harness */
  int (*record_xcom)(const struct dagctl_host *h, const char *key, const char *value);
  int ready;
};

static struct harness *H(const struct dagctl_host *h) {
  return (struct harness *)h;
}

/* Split "NAME=VALUE" in place; exits with a usage error without the '='. */
static char *value_of(char *arg) {
  char *eq = strchr(arg, '=');
  if (eq == NULL) {
    fprintf(stderr, "kafka_harness: expected KEY=VALUE, got '%s'\n", arg);
    exit(2);
  }
  *eq = '\0';
  return eq + 1;
}

static void add_conn(struct fake_host *fh, char *arg) {
  char *value = value_of(arg);
  char *dot = strchr(arg, '.');
  /* Without a dot no connection lookup could ever find it. */
  if (dot == NULL) return;
  *dot = '\0';
  fake_host_conn(fh, arg, dot + 1, value);
}

static void host_log(const struct dagctl_host *h, enum dagctl_log_level level, const char *fmt,
                     ...) {
  static const char *const tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  (void)h;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  /* One write per line: lines of concurrent threads never interleave. */
  char *line = xasprintf("%s %s\n", level <= DAGCTL_LOG_ERROR ? tags[level] : "?", msg);
  fputs(line, stderr);
  free(line);
  free(msg);
}

/* The fake host checks the value (valid JSON, at most 64 KiB); a test
 * waits for the line. */
static int host_xcom_push(const struct dagctl_host *h, const char *key, const char *value) {
  if (H(h)->record_xcom(h, key, value) != 0) return -1;
  printf("xcom %s %s\n", key, value);
  fflush(stdout);
  return 0;
}

static int host_cancelled(const struct dagctl_host *h) {
  (void)h;
  return stop_requested != 0;
}

static void host_service_ready(const struct dagctl_host *h) {
  struct harness *hs = H(h);
  if (hs->ready) return;
  hs->ready = 1;
  printf("ready\n");
  fflush(stdout);
}

static int usage(void) {
  fprintf(stderr, "usage: kafka_harness [-p KEY=VALUE]... [-c SECTION.KEY=VALUE]... "
                  "[-x NAME=VALUE]... PLUGIN.so TYPE\n");
  return 2;
}

/* Context a scheduler would give; -x settings, added later, win. */
static void default_context(struct fake_host *fh) {
  char today[16];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(today, sizeof(today), "%Y-%m-%d", &tm);
  char *cwd = getcwd(NULL, 0);
  const char *home = getenv("DAGCTL_HOME");
  char *run_id = xasprintf("manual__%sT00:00:00+00:00", today);
  char *ts = xasprintf("%sT00:00:00+00:00", today);
  fake_host_ctx(fh, "dag_id", "harness");
  fake_host_ctx(fh, "task_id", "task");
  fake_host_ctx(fh, "run_id", run_id);
  fake_host_ctx(fh, "ds", today);
  fake_host_ctx(fh, "ts", ts);
  fake_host_ctx(fh, "logical_date", ts);
  fake_host_ctx(fh, "try_number", "1");
  fake_host_ctx(fh, "home", home && *home ? home : cwd ? cwd : ".");
  free(run_id);
  free(ts);
  free(cwd);
}

int main(int argc, char **argv) {
  struct harness hs = {0};
  fake_host_init(&hs.fh);
  hs.record_xcom = hs.fh.host.xcom_push;
  hs.fh.host.log = host_log;
  hs.fh.host.xcom_push = host_xcom_push;
  hs.fh.host.cancelled = host_cancelled;
  hs.fh.host.service_ready = host_service_ready;
  default_context(&hs.fh);
  int opt;
  while ((opt = getopt(argc, argv, "p:c:x:")) != -1) {
    switch (opt) {
    case 'p': fake_host_param(&hs.fh, optarg, value_of(optarg)); break;
    case 'c': add_conn(&hs.fh, optarg); break;
    case 'x': fake_host_ctx(&hs.fh, optarg, value_of(optarg)); break;
    default: return usage();
    }
  }
  if (argc - optind != 2) return usage();
  const char *path = argv[optind], *type = argv[optind + 1];

  /* librdkafka blocks signals in its own threads, so the handler runs on
   * one of ours. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int rc = 70;
  const struct dagctl_task_type *tt = fake_host_load(&hs.fh, path, type);
  if (tt != NULL) rc = (int)fake_host_run(&hs.fh, tt);
  /* The plugin stays loaded: librdkafka may still be unwinding threads it
   * detached, and unloading code under them would crash at exit. */
  hs.fh.dl = NULL;
  fake_host_free(&hs.fh);
  return rc;
}
