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
 * 3 skip), 70 if the plugin cannot be loaded, 2 for bad usage. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "dagctl/plugin.h"

#define XCOM_MAX (64 * 1024)

/* Written by the signal handler: the one thing a handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

struct kv {
  char *key; /* "name" for params and context, "section.key" for connections */
  char *value;
};

struct harness {
  struct dagctl_host host; /* first, so the host table leads to the harness */
  struct kv *params, *conns, *ctx;
  size_t n_params, n_conns, n_ctx;
  size_t cap_params, cap_conns, cap_ctx;
  int ready;
};

static struct harness *H(const struct dagctl_host *h) {
  return (struct harness *)h->host_data;
}

static const char *lookup(const struct kv *kv, size_t n, const char *key) {
  /* The last setting wins, as with repeated flags elsewhere. */
  for (size_t i = n; i-- > 0;)
    if (strcmp(kv[i].key, key) == 0) return kv[i].value;
  return NULL;
}

static void add(struct kv **kv, size_t *n, size_t *cap, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL) {
    fprintf(stderr, "kafka_harness: expected KEY=VALUE, got '%s'\n", arg);
    exit(2);
  }
  *kv = xgrow(*kv, cap, *n + 1, sizeof(**kv));
  (*kv)[*n].key = xstrndup(arg, (size_t)(eq - arg));
  (*kv)[*n].value = xstrdup(eq + 1);
  (*n)++;
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

static const char *host_param(const struct dagctl_host *h, const char *name) {
  return lookup(H(h)->params, H(h)->n_params, name);
}

static const char *host_connection(const struct dagctl_host *h, const char *section,
                                   const char *key) {
  char *k = xasprintf("%s.%s", section, key);
  const char *v = lookup(H(h)->conns, H(h)->n_conns, k);
  free(k);
  return v;
}

static const char *host_context(const struct dagctl_host *h, const char *name) {
  return lookup(H(h)->ctx, H(h)->n_ctx, name);
}

static int host_xcom_push(const struct dagctl_host *h, const char *key, const char *value) {
  (void)h;
  if (strlen(value) > XCOM_MAX) return -1;
  json_error_t jerr;
  json_t *j = json_loads(value, JSON_DECODE_ANY, &jerr);
  if (j == NULL) return -1;
  json_decref(j);
  printf("xcom %s %s\n", key, value);
  fflush(stdout);
  return 0;
}

static const char *host_xcom_pull(const struct dagctl_host *h, const char *task_id,
                                  const char *key) {
  (void)h;
  (void)task_id;
  (void)key;
  return NULL;
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

static void free_kv(struct kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

static int usage(void) {
  fprintf(stderr, "usage: kafka_harness [-p KEY=VALUE]... [-c SECTION.KEY=VALUE]... "
                  "[-x NAME=VALUE]... PLUGIN.so TYPE\n");
  return 2;
}

/* Context a scheduler would give; -x settings, added later, win. */
static void default_context(struct harness *hs) {
  char today[16];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(today, sizeof(today), "%Y-%m-%d", &tm);
  char *cwd = getcwd(NULL, 0);
  const char *home = getenv("DAGCTL_HOME");
  char *defaults[] = {
      xstrdup("dag_id=harness"),
      xstrdup("task_id=task"),
      xasprintf("run_id=manual__%sT00:00:00+00:00", today),
      xasprintf("ds=%s", today),
      xasprintf("ts=%sT00:00:00+00:00", today),
      xasprintf("logical_date=%sT00:00:00+00:00", today),
      xstrdup("try_number=1"),
      xasprintf("home=%s", home && *home ? home : cwd ? cwd : "."),
  };
  free(cwd);
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
    add(&hs->ctx, &hs->n_ctx, &hs->cap_ctx, defaults[i]);
    free(defaults[i]);
  }
}

int main(int argc, char **argv) {
  struct harness hs = {0};
  default_context(&hs);
  int opt;
  while ((opt = getopt(argc, argv, "p:c:x:")) != -1) {
    switch (opt) {
    case 'p': add(&hs.params, &hs.n_params, &hs.cap_params, optarg); break;
    case 'c': add(&hs.conns, &hs.n_conns, &hs.cap_conns, optarg); break;
    case 'x': add(&hs.ctx, &hs.n_ctx, &hs.cap_ctx, optarg); break;
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

  hs.host = (struct dagctl_host){
      .size = sizeof(struct dagctl_host),
      .abi_version = DAGCTL_PLUGIN_ABI_VERSION,
      .host_data = &hs,
      .log = host_log,
      .param = host_param,
      .connection = host_connection,
      .context = host_context,
      .xcom_push = host_xcom_push,
      .xcom_pull = host_xcom_pull,
      .cancelled = host_cancelled,
      .service_ready = host_service_ready,
  };

  int rc = 70;
  void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (so == NULL) {
    fprintf(stderr, "kafka_harness: %s\n", dlerror());
    goto out;
  }
  const struct dagctl_plugin *(*init)(uint32_t);
  *(void **)&init = dlsym(so, DAGCTL_PLUGIN_ENTRY);
  const struct dagctl_plugin *pl = init ? init(DAGCTL_PLUGIN_ABI_VERSION) : NULL;
  if (pl == NULL || pl->abi_version != DAGCTL_PLUGIN_ABI_VERSION) {
    fprintf(stderr, "kafka_harness: %s: no usable %s\n", path, DAGCTL_PLUGIN_ENTRY);
    goto out;
  }
  const struct dagctl_task_type *tt = NULL;
  for (size_t i = 0; i < pl->n_types; i++)
    if (strcmp(pl->types[i].name, type) == 0) tt = &pl->types[i];
  if (tt == NULL) {
    fprintf(stderr, "kafka_harness: %s has no task type '%s'\n", path, type);
    goto out;
  }
  rc = (int)tt->execute(&hs.host);

out:
  /* The plugin stays loaded: librdkafka may still be unwinding threads it
   * detached, and unloading code under them would crash at exit. */
  free_kv(hs.params, hs.n_params);
  free_kv(hs.conns, hs.n_conns);
  free_kv(hs.ctx, hs.n_ctx);
  return rc;
}
