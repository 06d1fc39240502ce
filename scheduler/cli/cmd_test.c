/* cmd_test.c - `dagctl test DAG [TASK]`: run in the foreground, like
 * `airflow dags test`, with no scheduler. State is recorded as for any run
 * (run type "test"), so `dagctl tasks` and the status page show it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "apijson.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "runs.h"
#include "scheduler.h"
#include "timeutil.h"

static const char usage[] =
    "dagctl test DAG [TASK] [--conf JSON] [--logical-date ISO8601] [--json]";

struct test_ctx {
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_check_t watch; /* notices a scheduler that stopped by itself */
  struct dag_scheduler *sched;
  enum dag_run_state final;
  bool finished;
  bool quiet;
};

static void on_task(void *ctx, const char *dag_id, const char *run_id, const char *task_id,
                    int map_index, enum dag_task_state state, int try_number) {
  struct test_ctx *t = ctx;
  DAG_UNUSED(dag_id);
  DAG_UNUSED(run_id);
  if (t->quiet || state == DAG_TI_SCHEDULED) return;
  dag_time_t now = dag_time_now();
  time_t secs = (time_t)(now / DAG_USEC_PER_SEC);
  struct tm tm;
  char when[16];
  gmtime_r(&secs, &tm);
  strftime(when, sizeof(when), "%H:%M:%S", &tm);
  char name[300];
  if (map_index >= 0)
    snprintf(name, sizeof(name), "%s[%d]", task_id, map_index);
  else
    snprintf(name, sizeof(name), "%s", task_id);
  fprintf(stderr, "%s.%03d  %-28s %-16s try %d\n", when, (int)(now / 1000 % 1000), name,
          dag_task_state_name(state), try_number);
}

static void on_closed(void *ctx) {
  struct test_ctx *t = ctx;
  uv_close((uv_handle_t *)&t->sigint, NULL);
  uv_close((uv_handle_t *)&t->sigterm, NULL);
  uv_close((uv_handle_t *)&t->watch, NULL);
}

/* The scheduler stops by itself when the state store fails: the signal
 * handlers must then go too, or the loop never ends. */
static void on_check(uv_check_t *h) {
  struct test_ctx *t = h->data;
  if (dag_scheduler_failed(t->sched)) dag_scheduler_shutdown(t->sched, on_closed, t);
}

static void on_done(void *ctx, enum dag_run_state state) {
  struct test_ctx *t = ctx;
  t->final = state;
  t->finished = true;
  dag_scheduler_shutdown(t->sched, on_closed, t);
}

static void on_signal(uv_signal_t *h, int signum) {
  struct test_ctx *t = h->data;
  fprintf(stderr, "dagctl: interrupted (signal %d); stopping running tasks\n", signum);
  dag_scheduler_shutdown(t->sched, on_closed, t);
}

int cmd_test(struct cli *c, int argc, char **argv) {
  enum { OPT_CONF = 1, OPT_LOGICAL, OPT_QUIET };
  static const struct option opts[] = {
      {"conf", required_argument, NULL, OPT_CONF},
      {"logical-date", required_argument, NULL, OPT_LOGICAL},
      {"quiet", no_argument, NULL, OPT_QUIET},
      {"json", no_argument, NULL, OPT_JSON},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  const char *conf = NULL, *logical = NULL;
  struct test_ctx t;
  memset(&t, 0, sizeof(t));
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s [--quiet]\n\n"
             "Runs the whole DAG (or only TASK, ignoring its upstream tasks) in the\n"
             "foreground, honouring retries, timeouts and trigger rules, and exits 0 if\n"
             "the run succeeded, 1 if it failed. No scheduler is needed; the run is\n"
             "recorded with run type \"test\". --json prints the run and its task\n"
             "instances when it ends: {run: {...}, task_instances: [...]} with the\n"
             "fields of `dagctl runs --json` and `dagctl tasks --json`.\n",
             usage);
      return CLI_OK;
    case OPT_CONF:
      conf = optarg;
      break;
    case OPT_LOGICAL:
      logical = optarg;
      break;
    case OPT_JSON:
      c->json = true;
      break;
    case 'q':
    case OPT_QUIET:
      t.quiet = true;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (optind + 1 != argc && optind + 2 != argc)
    return cli_usage_error(usage, "expected a DAG id and optionally a task id");
  const char *dag_id = argv[optind];
  const char *task_id = optind + 2 == argc ? argv[optind + 1] : NULL;

  struct dag_run_request req;
  memset(&req, 0, sizeof(req));
  req.type = DAG_RUN_TYPE_TEST;
  req.conf_json = conf;
  req.only_task = task_id;
  char why[96];
  if (logical && dag_time_parse_iso(logical, &req.logical_date, why, sizeof(why)) != 0)
    return cli_usage_error(usage, "--logical-date: '%s' is not an ISO-8601 date or time: %s",
                           logical, why);

  int rc = cli_open(c);
  if (rc) return rc;
  if (t.quiet && c->cfg.log_level < DAG_LOG_WARN) dag_log_set_level(DAG_LOG_WARN);
  struct dag *dag = NULL;
  /* The file as it is now, not the stored version: `test` tries an edit
   * before the scheduler takes it, as Airflow's `dags test` does. */
  if ((rc = cli_load_dag_from(c, dag_id, true, &dag)) != 0) return rc;
  bool paused;
  rc = dag_store_sync_dag(c->store, dag, c->cfg.dags_are_paused_at_creation, dag_time_now(),
                          &paused);
  if (rc) {
    fprintf(stderr, "dagctl: cannot record the DAG: %s (%s)\n", dag_strerror(rc),
            dag_store_errmsg(c->store));
    dag_free(dag);
    return CLI_CONFIG;
  }

  int64_t pk = 0;
  char *err = NULL, *run_id = NULL;
  int crc = dag_run_create(c->store, dag, &req, &pk, &run_id, &err);
  if (crc) {
    fprintf(stderr, "dagctl: %s\n", err ? err : "cannot create the run");
    free(err);
    dag_free(dag);
    return crc == DAG_EINVAL ? CLI_USAGE : crc == DAG_ENOTFOUND ? CLI_NOTFOUND : CLI_FAILED;
  }
  if (!t.quiet) fprintf(stderr, "run %s\n", run_id);

  signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  uv_loop_init(&loop);
  dag_scheduler_new(&loop, &c->cfg, c->store, &t.sched);
  struct dag_scheduler_listener l = {.task_changed = on_task, .ctx = &t};
  dag_scheduler_set_listener(t.sched, &l);
  uv_signal_init(&loop, &t.sigint);
  uv_signal_init(&loop, &t.sigterm);
  t.sigint.data = t.sigterm.data = &t;
  uv_signal_start(&t.sigint, on_signal, SIGINT);
  uv_signal_start(&t.sigterm, on_signal, SIGTERM);
  uv_check_init(&loop, &t.watch);
  t.watch.data = &t;
  uv_check_start(&t.watch, on_check);
  uv_unref((uv_handle_t *)&t.watch);

  if ((rc = dag_scheduler_run_one(t.sched, dag, pk, on_done, &t)) != 0) {
    fprintf(stderr, "dagctl: cannot run: %s\n", dag_strerror(rc));
    dag_scheduler_shutdown(t.sched, on_closed, &t);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  dag_scheduler_free(t.sched);
  uv_loop_close(&loop);
  if (!t.quiet && t.finished) fprintf(stderr, "run %s %s\n", run_id, dag_run_state_name(t.final));
  if (c->json) {
    struct dag_store_run run;
    if (dag_store_get_run_by_pk(c->store, pk, &run) == 0) {
      struct dag_store_ti *tis = NULL;
      size_t n = 0;
      dag_store_list_tis(c->store, pk, &tis, &n);
      json_t *graph = cli_sort_tis(c, run.dag_id, tis, n), *arr = json_array();
      for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, dag_api_task_instance(&run, &tis[i],
                                                         cli_task_type(graph, tis[i].task_id)));
      cli_print_json(json_pack("{s:o, s:o}", "run", dag_api_run(&run), "task_instances", arr));
      json_decref(graph);
      dag_store_tis_free(tis, n);
      dag_store_run_free(&run);
    }
  } else {
    printf("%s\n", run_id);
  }
  free(run_id);
  if (!t.finished) return CLI_FAILED;
  return t.final == DAG_RUN_SUCCESS ? CLI_OK : CLI_FAILED;
}
