/* cmd_worker.c - `dagctl worker`: run the tries the schedulers queue
 * (core.executor: workers) on this machine. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "ids.h"
#include "log.h"
#include "log_archive.h"
#include "log_server.h"
#include "plugin_rules.h"
#include "plugins.h"
#include "worker.h"

static const char usage[] =
    "dagctl worker [--home DIR] [--config FILE] [--queues Q1,Q2] [--concurrency N]";

enum { OPT_QUEUES = 1200, OPT_CONCURRENCY };

struct worker_svc {
  uv_loop_t loop;
  uv_signal_t sigterm, sigint;
  struct dag_worker *worker;
  struct dag_log_server *logs; /* NULL: none */
  struct dag_log_archive *archive; /* NULL: worker.remote_logging off */
  int signals;
};

static void on_closed(void *ctx) {
  struct worker_svc *svc = ctx;
  uv_close((uv_handle_t *)&svc->sigterm, NULL);
  uv_close((uv_handle_t *)&svc->sigint, NULL);
  /* Last: a try's log stays readable until the try is recorded. */
  if (svc->logs) dag_log_server_close(svc->logs, NULL, NULL);
  svc->logs = NULL;
  if (svc->archive) dag_log_archive_close(svc->archive, NULL, NULL);
  svc->archive = NULL;
}

static void on_log_done(void *ctx, int64_t claim_id, const char *log_path) {
  struct worker_svc *svc = ctx;
  if (svc->archive) dag_log_archive_add(svc->archive, claim_id, log_path);
}

/* Serve this worker's logs to the other machines; the address it is
 * reached at in *url (caller frees), NULL when it serves none. */
static void start_log_server(struct cli *c, struct worker_svc *svc, char **url) {
  *url = NULL;
  if (!c->cfg.worker_log_server_secret) {
    LOG_INFO("no worker.log_server_secret: this worker's logs are read on this machine only");
    return;
  }
  int rc = dag_log_server_start(&svc->loop, &c->cfg, &svc->logs);
  if (rc) {
    LOG_WARN("cannot serve this worker's logs; they are read on this machine only port=%d "
             "error=\"%s\"", c->cfg.worker_log_server_port, uv_strerror(rc));
    return;
  }
  char host[256];
  const char *h = c->cfg.worker_log_server_host;
  if (!h) {
    if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    h = host;
  }
  bool v6 = strchr(h, ':') != NULL;
  *url = xasprintf("http://%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "",
                   dag_log_server_port(svc->logs));
  LOG_INFO("serving this worker's logs url=%s", *url);
}

/* The first signal lets running tries finish (Celery's warm shutdown); a
 * second stops them, and their tries are failed (retried where allowed). */
static void on_signal(uv_signal_t *h, int signum) {
  struct worker_svc *svc = h->data;
  bool terminate = ++svc->signals > 1;
  LOG_INFO("worker stopping on signal=%d: %s", signum,
           terminate ? "stopping running tries" : "running tries finish first (again to stop them)");
  dag_worker_shutdown(svc->worker, terminate, on_closed, svc);
}

/* Split "a,b" into names, each checked like a task id. */
static int parse_queues(const char *arg, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  size_t cap = 0;
  for (const char *p = arg;;) {
    size_t len = strcspn(p, ",");
    char *name = xstrndup(p, len);
    const char *why = dag_id_problem(DAG_ID_TASK, name);
    if (why) {
      cli_usage_error(usage, "--queues: invalid queue '%s' (%s)", name, why);
      free(name);
      return CLI_USAGE;
    }
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    (*out)[(*n)++] = name;
    if (p[len] == '\0') break;
    p += len + 1;
  }
  return 0;
}

/* shell and exec, and every installed plugin type a worker may run: not
 * the services nor the types that stop them, which the scheduler runs. */
static void task_types(struct cli *c, char ***out, size_t *n) {
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  const char *builtin[] = {"shell", "exec"};
  for (size_t i = 0; i < 2; i++) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    (*out)[(*n)++] = xstrdup(builtin[i]);
  }
  char *folder = dag_plugins_folder(c->cfg.plugins_folder);
  struct dag_plugin_info *p = NULL;
  size_t np = 0;
  /* Loading the plugins here only describes them: each try runs in its
   * own `dagctl __task` child, as on a scheduler. */
  dag_plugins_scan(folder, &p, &np);
  for (size_t i = 0; i < np; i++) {
    if (!p[i].name) {
      LOG_WARN("plugin not usable, its types are not served path=%s error=\"%s\"", p[i].path,
               p[i].error ? p[i].error : "?");
      continue;
    }
    for (size_t k = 0; k < p[i].n_types; k++) {
      const struct dag_plugin_type *t = &p[i].types[k];
      if (dag_plugin_may_serve(t) || dag_plugin_stop_key(t)) continue;
      *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
      (*out)[(*n)++] = xstrdup(t->name);
    }
  }
  dag_plugins_free(p, np);
  free(folder);
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

int cmd_worker(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {{"queues", required_argument, NULL, OPT_QUEUES},
                                       {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  char **queues = NULL;
  size_t n_queues = 0;
  int concurrency = 0, opt, rc;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Claims the task tries that schedulers with core.executor: workers queue,\n"
             "from the given queues (default: default), and runs at most N at once\n"
             "(default: core.parallelism). Runs in the foreground until SIGTERM or\n"
             "SIGINT: the first lets running tries finish, a second stops them.\n"
             "It reads DAGs from the state store, never from a DAG folder.\n",
             usage);
      free_names(queues, n_queues);
      return CLI_OK;
    case OPT_QUEUES:
      free_names(queues, n_queues);
      if ((rc = parse_queues(optarg, &queues, &n_queues)) != 0) return rc;
      break;
    case OPT_CONCURRENCY:
      if (!cli_parse_int(optarg, &concurrency) || concurrency < 1) {
        free_names(queues, n_queues);
        return cli_usage_error(usage, "--concurrency takes a positive number");
      }
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) {
        free_names(queues, n_queues);
        return cli_usage_error(usage, "bad option");
      }
    }
  }
  if (optind < argc) {
    free_names(queues, n_queues);
    return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
  }
  if (!queues) {
    queues = xcalloc(1, sizeof(*queues));
    queues[n_queues++] = xstrdup("default");
  }
  if ((rc = cli_open(c)) != 0) {
    free_names(queues, n_queues);
    return rc;
  }
  if (!concurrency) concurrency = c->cfg.parallelism;
  char **types = NULL;
  size_t n_types = 0;
  task_types(c, &types, &n_types);

  signal(SIGPIPE, SIG_IGN);
  struct worker_svc svc;
  memset(&svc, 0, sizeof(svc));
  uv_loop_init(&svc.loop);
  char *log_url = NULL;
  start_log_server(c, &svc, &log_url);
  dag_log_archive_start(&svc.loop, &c->cfg, c->store, &svc.archive);
  if (svc.archive)
    LOG_INFO("finished logs are copied to base=%s", dag_log_archive_base(svc.archive));
  struct dag_worker_options wo = {.queues = (const char *const *)queues,
                                  .n_queues = n_queues,
                                  .types = (const char *const *)types,
                                  .n_types = n_types,
                                  .concurrency = concurrency,
                                  .log_url = log_url,
                                  .log_done = on_log_done,
                                  .log_done_ctx = &svc};
  dag_worker_new(&svc.loop, &c->cfg, c->store, &wo, &svc.worker);
  free(log_url);
  char *qlist = NULL, *tlist = NULL;
  for (size_t i = 0; i < n_queues; i++) {
    char *next = xasprintf("%s%s%s", qlist ? qlist : "", qlist ? "," : "", queues[i]);
    free(qlist);
    qlist = next;
  }
  for (size_t i = 0; i < n_types; i++) {
    char *next = xasprintf("%s%s%s", tlist ? tlist : "", tlist ? "," : "", types[i]);
    free(tlist);
    tlist = next;
  }
  LOG_INFO("worker starting worker=%s home=%s queues=%s concurrency=%d types=%s",
           dag_worker_id(svc.worker), c->cfg.home, qlist, concurrency, tlist);
  free(qlist);
  free(tlist);
  uv_signal_init(&svc.loop, &svc.sigterm);
  uv_signal_init(&svc.loop, &svc.sigint);
  svc.sigterm.data = svc.sigint.data = &svc;
  uv_signal_start(&svc.sigterm, on_signal, SIGTERM);
  uv_signal_start(&svc.sigint, on_signal, SIGINT);
  rc = dag_worker_start(svc.worker);
  if (rc) {
    LOG_ERROR("worker could not start error=\"%s\" msg=\"%s\"", dag_strerror(rc),
              dag_store_errmsg(c->store));
    dag_worker_shutdown(svc.worker, true, on_closed, &svc);
  }
  uv_run(&svc.loop, UV_RUN_DEFAULT);
  dag_worker_free(svc.worker);
  uv_loop_close(&svc.loop);
  free_names(queues, n_queues);
  free_names(types, n_types);
  LOG_INFO("worker stopped");
  return rc ? CLI_CONFIG : CLI_OK;
}
