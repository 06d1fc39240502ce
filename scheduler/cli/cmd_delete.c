/* cmd_delete.c - `dagctl delete DAG RUN_ID`: delete a run with its task
 * instances, tries, XComs and logs (run_delete.h). An active run is
 * deleted by the scheduler once it has stopped its tasks; the verb waits
 * for that unless --no-wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "run_delete.h"
#include "runs.h"

static const char usage[] = "dagctl delete DAG RUN_ID [--no-wait] [--json]";

int cmd_delete(struct cli *c, int argc, char **argv) {
  enum { OPT_NO_WAIT = 1 };
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"no-wait", no_argument, NULL, OPT_NO_WAIT},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  bool no_wait = false;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Deletes a run with its task instances, tries, XComs and logs. A run that is\n"
             "queued or running (or has a task still being stopped) is deleted by the\n"
             "scheduler once it has stopped its tasks (SIGTERM, SIGKILL after\n"
             "core.task_kill_grace); the verb waits for that unless --no-wait.\n",
             usage);
      return CLI_OK;
    case OPT_NO_WAIT:
      no_wait = true;
      break;
    case OPT_JSON:
      c->json = true;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (argc - optind != 2) return cli_usage_error(usage, "expected a DAG id and a run id");
  const char *dag_id = argv[optind], *run_id = argv[optind + 1];
  int rc = cli_open(c);
  if (rc) return rc;
  struct dag_store_run run;
  rc = dag_store_get_run(c->store, dag_id, run_id, &run);
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: DAG '%s' has no run '%s'\n", dag_id, run_id);
    return CLI_NOTFOUND;
  }
  if (rc) return CLI_CONFIG;
  bool deferred = false;
  int drc = dag_store_begin(c->store);
  if (drc == 0) drc = dag_run_delete(c->store, &run, &deferred);
  drc = cli_audit_finish_run(c, drc, "run.delete", dag_id, run_id, NULL);
  int64_t pk = run.pk;
  dag_store_run_free(&run);
  if (drc == DAG_ESTATE) {
    fprintf(stderr, "dagctl: run %s is being deleted already\n", run_id);
  } else if (drc) {
    fprintf(stderr, "dagctl: cannot delete the run: %s\n", dag_strerror(drc));
    return CLI_CONFIG;
  }
  if (!deferred && drc == 0) {
    int lrc = dag_run_remove_logs(c->cfg.home, dag_id, run_id);
    if (lrc) fprintf(stderr, "dagctl: note: cannot remove its logs: %s\n", dag_strerror(lrc));
  } else {
    dag_scheduler_notify(c->cfg.home);
    if (!no_wait && dag_store_kind(c->store) == DAG_STORE_SQLITE &&
        !dag_run_local_scheduler_alive(c->cfg.home)) {
      fprintf(stderr, "dagctl: note: no scheduler runs on this home; the run is deleted, "
                      "its tasks stopped first, when one starts\n");
      no_wait = true;
    }
    if (!no_wait) {
      /* The scheduler deletes it once its tasks are stopped. A client
       * watching the database, as `trigger --wait` does. */
      fprintf(stderr, "stopping the run's tasks...\n");
      struct dag_store_run r2;
      while ((rc = dag_store_get_run_by_pk(c->store, pk, &r2)) == 0) {
        dag_store_run_free(&r2);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
      if (rc != DAG_ENOTFOUND) return CLI_CONFIG;
      deferred = false;
    }
  }
  if (c->json)
    cli_print_json(json_pack("{s:s, s:s, s:b}", "dag_id", dag_id, "dag_run_id", run_id,
                             "deleted", !deferred));
  else
    printf("%s run %s of %s\n", deferred ? "asked the scheduler to delete" : "deleted", run_id,
           dag_id);
  return drc == DAG_ESTATE ? CLI_FAILED : CLI_OK;
}
