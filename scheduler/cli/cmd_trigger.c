/* cmd_trigger.c - `dagctl trigger DAG`: queue a manual run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "cli.h"
#include "error.h"
#include "runs.h"
#include "timeutil.h"

static const char usage[] =
    "dagctl trigger DAG [--conf JSON] [--run-id ID] [--logical-date ISO8601] [--wait] [--json]";

int cmd_trigger(struct cli *c, int argc, char **argv) {
  enum { OPT_CONF = 1, OPT_RUN_ID, OPT_LOGICAL, OPT_WAIT };
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"conf", required_argument, NULL, OPT_CONF},
      {"run-id", required_argument, NULL, OPT_RUN_ID},
      {"logical-date", required_argument, NULL, OPT_LOGICAL},
      {"wait", no_argument, NULL, OPT_WAIT},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  const char *conf = NULL, *run_id = NULL, *logical = NULL;
  bool wait = false;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Queues a manual run and prints its run id. The run starts as soon as a\n"
             "scheduler is running (at once if one is). With --wait, shows each task's\n"
             "progress and exits 1 if the run failed. --json prints the run (as\n"
             "`dagctl runs --json` does) when it is queued, or with --wait when it ends.\n",
             usage);
      return CLI_OK;
    case OPT_CONF:
      conf = optarg;
      break;
    case OPT_RUN_ID:
      run_id = optarg;
      break;
    case OPT_LOGICAL:
      logical = optarg;
      break;
    case OPT_WAIT:
      wait = true;
      break;
    case OPT_JSON:
      c->json = true;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (optind + 1 != argc) return cli_usage_error(usage, "expected one DAG id");
  const char *dag_id = argv[optind];

  struct dag_run_request req;
  memset(&req, 0, sizeof(req));
  req.type = DAG_RUN_TYPE_MANUAL;
  req.run_id = run_id;
  req.conf_json = conf;
  char why[96];
  if (logical && dag_time_parse_iso(logical, &req.logical_date, why, sizeof(why)) != 0)
    return cli_usage_error(usage, "--logical-date: '%s' is not an ISO-8601 date or time: %s",
                           logical, why);

  int rc = cli_open(c);
  if (rc) return rc;
  struct dag *dag = NULL;
  if ((rc = cli_load_dag(c, dag_id, &dag)) != 0) return rc;

  int64_t pk = 0;
  char *err = NULL, *created = NULL;
  int crc = dag_store_begin(c->store);
  if (crc == 0) crc = dag_run_create(c->store, dag, &req, &pk, &created, &err);
  crc = cli_audit_finish_run(c, crc, "trigger", dag_id, crc == 0 ? created : req.run_id, NULL);
  dag_free(dag);
  if (crc) {
    fprintf(stderr, "dagctl: %s\n", err ? err : "cannot create the run");
    free(err);
    /* A bad --conf or --run-id is the caller's mistake. */
    return crc == DAG_EINVAL ? CLI_USAGE : CLI_FAILED;
  }
  /* The run as created, before the scheduler hears of it and moves on. */
  json_t *queued = NULL;
  struct dag_store_run run;
  if (c->json && !wait && dag_store_get_run_by_pk(c->store, pk, &run) == 0) {
    queued = dag_api_run(&run);
    dag_store_run_free(&run);
  }
  dag_scheduler_notify(c->cfg.home);
  if (queued) cli_print_json(queued);
  if (!c->json) printf("%s\n", created);
  fflush(stdout);
  struct dag_store_dag row;
  if (dag_store_get_dag(c->store, dag_id, &row) == 0) {
    if (row.is_paused)
      fprintf(stderr, "dagctl: note: %s is paused; the run starts when it is unpaused "
                      "(dagctl dags unpause %s)\n", dag_id, dag_id);
    dag_store_dag_free(&row);
  }
  free(created);
  enum dag_run_state final = DAG_RUN_QUEUED;
  if (wait) {
    if ((rc = cli_follow_run(c, pk, &final)) != 0) return rc;
    fprintf(stderr, "run %s\n", dag_run_state_name(final));
  }
  if (c->json && wait) {
    if (dag_store_get_run_by_pk(c->store, pk, &run) != 0) return CLI_CONFIG;
    cli_print_json(dag_api_run(&run));
    dag_store_run_free(&run);
  }
  return !wait || final == DAG_RUN_SUCCESS ? CLI_OK : CLI_FAILED;
}
