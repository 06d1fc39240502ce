/* cmd_mark.c - `dagctl mark`: set task instances or a run success, failed
 * (or a task skipped) by hand, as Airflow's "Mark success" / "Mark
 * failed" (mark.h, store_mark.h). A running task so marked is stopped by
 * the scheduler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apijson.h"
#include "cli.h"
#include "dag_find.h"
#include "error.h"
#include "mark.h"
#include "runs.h"
#include "store_mark.h"
#include "timeutil.h"

static const char usage[] =
    "dagctl mark DAG RUN_ID [TASK...] --state success|failed|skipped\n"
    "                   [--upstream] [--downstream] [--future] [--past] [--dry-run] [--json]";

static int mark_run(struct cli *c, const char *dag_id, const struct dag_store_run *run,
                    enum dag_run_state state) {
  size_t changed = 0;
  int rc = dag_store_begin(c->store);
  if (rc == 0) rc = dag_store_run_mark(c->store, run->pk, state, dag_time_now(), &changed);
  char event[32];
  snprintf(event, sizeof(event), "mark.%s", dag_run_state_name(state));
  rc = cli_audit_finish_run(c, rc, event, dag_id, run->run_id, NULL);
  if (rc == DAG_ESTATE) {
    fprintf(stderr, "dagctl: run %s was imported from another home: nothing here changes it\n",
            run->run_id);
    return CLI_FAILED;
  }
  if (rc) {
    fprintf(stderr, "dagctl: cannot mark the run: %s\n", dag_strerror(rc));
    return CLI_CONFIG;
  }
  dag_scheduler_notify(c->cfg.home);
  if (c->json)
    cli_print_json(json_pack("{s:s, s:s, s:s, s:I}", "dag_id", dag_id, "dag_run_id",
                             run->run_id, "state", dag_run_state_name(state),
                             "task_instances_changed", (json_int_t)changed));
  else
    printf("marked run %s of %s %s (%zu task instance%s changed)\n", run->run_id, dag_id,
           dag_run_state_name(state), changed, changed == 1 ? "" : "s");
  return CLI_OK;
}

int cmd_mark(struct cli *c, int argc, char **argv) {
  enum { OPT_STATE = 1, OPT_UP, OPT_DOWN, OPT_FUTURE, OPT_PAST, OPT_DRY };
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"state", required_argument, NULL, OPT_STATE},
      {"upstream", no_argument, NULL, OPT_UP},
      {"downstream", no_argument, NULL, OPT_DOWN},
      {"future", no_argument, NULL, OPT_FUTURE},
      {"past", no_argument, NULL, OPT_PAST},
      {"dry-run", no_argument, NULL, OPT_DRY},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  struct dag_mark_request req;
  memset(&req, 0, sizeof(req));
  const char *state = NULL;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Without TASK, marks the run: success sets its unfinished task instances\n"
             "success; failed sets its running ones failed and the other unfinished\n"
             "ones skipped (Airflow's rules). With TASKs, marks those task instances\n"
             "success, failed or skipped, with --upstream and --downstream their\n"
             "upstream and downstream tasks, with --past and --future the same tasks in\n"
             "the DAG's earlier and later runs; then failed and upstream_failed tasks\n"
             "downstream of them are cleared to run again, as Airflow does. A running\n"
             "task so marked is stopped (SIGTERM, SIGKILL after core.task_kill_grace).\n"
             "--dry-run only lists what would change.\n",
             usage);
      return CLI_OK;
    case OPT_STATE:
      state = optarg;
      break;
    case OPT_UP:
      req.upstream = true;
      break;
    case OPT_DOWN:
      req.downstream = true;
      break;
    case OPT_FUTURE:
      req.future = true;
      break;
    case OPT_PAST:
      req.past = true;
      break;
    case OPT_DRY:
      req.dry_run = true;
      break;
    case OPT_JSON:
      c->json = true;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (argc - optind < 2) return cli_usage_error(usage, "expected a DAG id and a run id");
  if (!state) return cli_usage_error(usage, "--state is required");
  const char *dag_id = argv[optind], *run_id = argv[optind + 1];
  bool whole_run = argc - optind == 2;
  if (whole_run) {
    enum dag_run_state rs;
    if (dag_run_state_parse(state, &rs) != 0 || (rs != DAG_RUN_SUCCESS && rs != DAG_RUN_FAILED))
      return cli_usage_error(usage, "--state: a run is marked success or failed, not '%s'", state);
    if (req.upstream || req.downstream || req.future || req.past || req.dry_run)
      return cli_usage_error(usage, "--upstream, --downstream, --future, --past and --dry-run "
                                    "go with TASKs");
    int rc = cli_open(c);
    if (rc) return rc;
    struct dag_store_run run;
    rc = dag_store_get_run(c->store, dag_id, run_id, &run);
    if (rc == DAG_ENOTFOUND) {
      fprintf(stderr, "dagctl: DAG '%s' has no run '%s'\n", dag_id, run_id);
      return CLI_NOTFOUND;
    }
    if (rc) return CLI_CONFIG;
    rc = mark_run(c, dag_id, &run, rs);
    dag_store_run_free(&run);
    return rc;
  }
  if (dag_task_state_parse(state, &req.state) != 0 ||
      (req.state != DAG_TI_SUCCESS && req.state != DAG_TI_FAILED && req.state != DAG_TI_SKIPPED))
    return cli_usage_error(usage, "--state: a task is marked success, failed or skipped, not '%s'",
                           state);
  req.run_id = run_id;
  req.task_ids = (const char *const *)&argv[optind + 2];
  req.n_tasks = (size_t)(argc - optind - 2);
  int rc = cli_open(c);
  if (rc) return rc;
  struct dag *dag = NULL;
  struct dag_store_run run;
  rc = dag_store_get_run(c->store, dag_id, run_id, &run);
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: DAG '%s' has no run '%s'\n", dag_id, run_id);
    return CLI_NOTFOUND;
  }
  if (rc) return CLI_CONFIG;
  /* The run's own graph (its version); the DAG's current one for runs
   * older than versions. */
  if ((!run.dag_version_id || dag_find_load_version(c->store, run.dag_version_id, &dag) != 0) &&
      (rc = cli_load_dag(c, dag_id, &dag)) != 0) {
    dag_store_run_free(&run);
    return rc;
  }
  struct dag_mark_item *items = NULL;
  size_t n = 0, cleared = 0;
  char *err = NULL;
  int mrc = req.dry_run ? 0 : dag_store_begin(c->store);
  if (mrc == 0) mrc = dag_mark_tasks(c->store, dag, &req, &items, &n, &cleared, &err);
  if (!req.dry_run) {
    char event[32];
    snprintf(event, sizeof(event), "mark.%s", dag_task_state_name(req.state));
    mrc = cli_audit_finish_run(c, mrc, event, dag_id, run_id,
                               req.n_tasks == 1 ? req.task_ids[0] : NULL);
  }
  dag_free(dag);
  dag_store_run_free(&run);
  if (mrc) {
    fprintf(stderr, "dagctl: %s\n", err ? err : dag_strerror(mrc));
    free(err);
    return mrc == DAG_ENOTFOUND ? CLI_NOTFOUND : mrc == DAG_ESTATE ? CLI_FAILED : CLI_CONFIG;
  }
  if (!req.dry_run) dag_scheduler_notify(c->cfg.home);
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:s}", "dag_id", dag_id,
                                           "dag_run_id", items[i].run_id, "task_id",
                                           items[i].task_id, "execution_date",
                                           dag_api_time(items[i].logical_date), "previous_state",
                                           dag_task_state_name(items[i].old_state)));
    cli_print_json(json_pack("{s:o, s:s, s:b, s:I}", "task_instances", arr, "state",
                             dag_task_state_name(req.state), "dry_run", req.dry_run,
                             "cleared_downstream", (json_int_t)cleared));
  } else {
    for (size_t i = 0; i < n; i++)
      printf("%s  %-28s %s -> %s\n", items[i].run_id, items[i].task_id,
             dag_task_state_name(items[i].old_state), dag_task_state_name(req.state));
    printf("%s %zu task instance%s %s%s", req.dry_run ? "would mark" : "marked", n,
           n == 1 ? "" : "s", dag_task_state_name(req.state),
           cleared ? "" : "\n");
    if (cleared)
      printf("; %s %zu failed downstream task instance%s\n",
             req.dry_run ? "would clear" : "cleared", cleared, cleared == 1 ? "" : "s");
  }
  dag_mark_items_free(items, n);
  return CLI_OK;
}
