/* cmd_runs.c - `dagctl runs`, `tasks`, `logs` and `clear`: looking at runs
 * and running parts of them again. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "apijson.h"
#include "cli.h"
#include "duration.h"
#include "dag_find.h"
#include "error.h"
#include "ids.h"
#include "runs.h"

/* Parse the options shared by these verbs; returns -1 to go on, or an exit
 * code. */
static int parse(struct cli *c, int argc, char **argv, const char *usage, const char *help,
                 int *limit, int *try_number, bool *downstream) {
  enum { OPT_LIMIT = 1, OPT_TRY, OPT_DOWNSTREAM };
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"try", required_argument, NULL, OPT_TRY},
      {"downstream", no_argument, NULL, OPT_DOWNSTREAM},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n%s", usage, help);
      return CLI_OK;
    case OPT_JSON:
      c->json = true;
      break;
    case OPT_LIMIT:
      if (!limit || !cli_parse_int(optarg, limit) || *limit < 1)
        return cli_usage_error(usage, "--limit takes a positive number");
      break;
    case OPT_TRY:
      if (!try_number || !cli_parse_int(optarg, try_number) || *try_number < 1)
        return cli_usage_error(usage, "--try takes a positive number");
      break;
    case OPT_DOWNSTREAM:
      if (!downstream) return cli_usage_error(usage, "--downstream is for clear");
      *downstream = true;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  return -1;
}

static void print_json(json_t *j) {
  json_dumpf(j, stdout, JSON_INDENT(2));
  fputc('\n', stdout);
  json_decref(j);
}

static int find_run(struct cli *c, const char *dag_id, const char *run_id,
                    struct dag_store_run *run) {
  int rc = dag_store_get_run(c->store, dag_id, run_id, run);
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: DAG '%s' has no run '%s' (see: dagctl runs %s)\n", dag_id, run_id,
            dag_id);
    return CLI_NOTFOUND;
  }
  return rc ? CLI_CONFIG : CLI_OK;
}

int cmd_runs(struct cli *c, int argc, char **argv) {
  static const char usage[] = "dagctl runs DAG [--limit N] [--json]";
  int limit = 25;
  int rc = parse(c, argc, argv, usage, "The newest runs of a DAG, newest first (25 by default).\n",
                 &limit, NULL, NULL);
  if (rc >= 0) return rc;
  if (optind + 1 != argc) return cli_usage_error(usage, "expected one DAG id");
  if ((rc = cli_open(c)) != 0) return rc;
  const char *dag_id = argv[optind];
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  if (dag_store_list_runs(c->store, dag_id, limit, &runs, &n) != 0) return CLI_CONFIG;
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_run(&runs[i]));
    print_json(arr);
  } else {
    printf("%-48s %-10s %-10s %-20s %-20s %-10s %s\n", "RUN ID", "TYPE", "STATE",
           "LOGICAL DATE", "STARTED", "DURATION", "VERSION");
    for (size_t i = 0; i < n; i++) {
      char logical[32], start[32], dur[32] = "-";
      cli_fmt_time(runs[i].logical_date, logical, sizeof(logical));
      cli_fmt_time(runs[i].start_date, start, sizeof(start));
      if (runs[i].start_date && runs[i].end_date)
        dag_duration_format(runs[i].end_date - runs[i].start_date, dur, sizeof(dur));
      /* The DAG version the run keeps: `dagctl dags source DAG --version N`. */
      char version[16] = "-";
      if (runs[i].dag_version_number > 0)
        snprintf(version, sizeof(version), "v%d", runs[i].dag_version_number);
      printf("%-48s %-10s %-10s %-20s %-20s %-10s %s\n", runs[i].run_id, runs[i].run_type,
             dag_run_state_name(runs[i].state), logical, start, dur, version);
    }
  }
  dag_store_runs_free(runs, n);
  return CLI_OK;
}

int cmd_tasks(struct cli *c, int argc, char **argv) {
  static const char usage[] = "dagctl tasks DAG RUN_ID [--json]";
  int rc = parse(c, argc, argv, usage,
                 "The task instances of one run: state, tries, duration, error.\n", NULL,
                 NULL, NULL);
  if (rc >= 0) return rc;
  if (optind + 2 != argc) return cli_usage_error(usage, "expected a DAG id and a run id");
  if ((rc = cli_open(c)) != 0) return rc;
  struct dag_store_run run;
  if ((rc = find_run(c, argv[optind], argv[optind + 1], &run)) != 0) return rc;
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  dag_store_list_tis(c->store, run.pk, &tis, &n);
  json_t *graph = cli_sort_tis(c, run.dag_id, tis, n);
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, dag_api_task_instance(&run, &tis[i],
                                                       cli_task_type(graph, tis[i].task_id)));
    print_json(arr);
  } else {
    printf("%-28s %-16s %-7s %-10s %s\n", "TASK", "STATE", "TRIES", "DURATION", "ERROR");
    for (size_t i = 0; i < n; i++) {
      char dur[32] = "-", tries[16];
      if (tis[i].start_date && tis[i].end_date)
        dag_duration_format(tis[i].end_date - tis[i].start_date, dur, sizeof(dur));
      snprintf(tries, sizeof(tries), "%d/%d", tis[i].try_number, tis[i].max_tries + 1);
      printf("%-28s %-16s %-7s %-10s %s\n", tis[i].task_id, dag_task_state_name(tis[i].state),
             tries, dur, tis[i].error ? tis[i].error : "");
    }
    struct dag_store_xcom *x = NULL;
    size_t nx = 0;
    if (dag_store_xcom_list(c->store, run.pk, &x, &nx) == 0 && nx) {
      printf("\nXCOM\n");
      for (size_t i = 0; i < nx; i++)
        printf("%s.%s = %.200s%s\n", x[i].task_id, x[i].key, x[i].value,
               strlen(x[i].value) > 200 ? "..." : "");
    }
    dag_store_xcoms_free(x, nx);
  }
  json_decref(graph);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
  return CLI_OK;
}

int cmd_logs(struct cli *c, int argc, char **argv) {
  static const char usage[] = "dagctl logs DAG RUN_ID TASK [--try N]";
  int try_number = 0;
  int rc = parse(c, argc, argv, usage,
                 "Prints the log of a task's try (the latest by default).\n", NULL,
                 &try_number, NULL);
  if (rc >= 0) return rc;
  if (optind + 3 != argc) return cli_usage_error(usage, "expected a DAG id, a run id and a task id");
  static const struct {
    enum dag_id_kind kind;
    const char *what;
  } ids[] = {{DAG_ID_DAG, "DAG"}, {DAG_ID_RUN, "run"}, {DAG_ID_TASK, "task"}};
  for (int i = 0; i < 3; i++) {
    const char *why = dag_id_problem(ids[i].kind, argv[optind + i]);
    if (why)
      return cli_usage_error(usage, "invalid %s id '%s' (%s)", ids[i].what, argv[optind + i],
                             why);
  }
  if ((rc = cli_open(c)) != 0) return rc;
  struct dag_store_run run;
  if ((rc = find_run(c, argv[optind], argv[optind + 1], &run)) != 0) return rc;
  const char *task_id = argv[optind + 2];
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  dag_store_list_tries(c->store, run.pk, task_id, &tries, &n);
  dag_store_run_free(&run);
  const struct dag_store_try *t = NULL;
  for (size_t i = 0; i < n; i++)
    if (try_number ? tries[i].try_number == try_number : true) t = &tries[i];
  if (!t) {
    if (n == 0)
      fprintf(stderr, "dagctl: task '%s' has not run in this run\n", task_id);
    else
      fprintf(stderr, "dagctl: task '%s' has no try %d (it has %zu)\n", task_id, try_number, n);
    dag_store_tries_free(tries, n);
    return CLI_NOTFOUND;
  }
  /* Paths in the store are written by dagctl from validated ids; refuse
   * anything that could still climb out of the logs folder. */
  if (!dag_id_rel_path_is_safe(t->log_path)) {
    fprintf(stderr, "dagctl: refusing log path outside the logs folder\n");
    dag_store_tries_free(tries, n);
    return CLI_FAILED;
  }
  char *path = xasprintf("%s/logs/%s", c->cfg.home, t->log_path);
  dag_store_tries_free(tries, n);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "dagctl: %s: %s\n", path, strerror(errno));
    free(path);
    return CLI_NOTFOUND;
  }
  free(path);
  char buf[65536];
  ssize_t r;
  while ((r = read(fd, buf, sizeof(buf))) > 0) fwrite(buf, 1, (size_t)r, stdout);
  close(fd);
  return CLI_OK;
}

int cmd_clear(struct cli *c, int argc, char **argv) {
  static const char usage[] = "dagctl clear DAG RUN_ID [TASK] [--downstream]";
  bool downstream = false;
  int rc = parse(c, argc, argv, usage,
                 "Runs tasks of a run again, as Airflow's clear: the tasks go back to state\n"
                 "none, get their retries anew, and the run is queued again. Without TASK,\n"
                 "every task; with --downstream, TASK and everything after it. Running\n"
                 "tasks are left alone.\n",
                 NULL, NULL, &downstream);
  if (rc >= 0) return rc;
  if (optind + 2 != argc && optind + 3 != argc)
    return cli_usage_error(usage, "expected a DAG id, a run id and optionally a task id");
  if ((rc = cli_open(c)) != 0) return rc;
  const char *dag_id = argv[optind], *task_id = optind + 3 == argc ? argv[optind + 2] : NULL;
  struct dag_store_run run;
  if ((rc = find_run(c, dag_id, argv[optind + 1], &run)) != 0) return rc;
  struct dag *dag = NULL;
  /* The run's own graph (its version), which a later edit of the file
   * does not change; the DAG's current one for runs older than versions. */
  if ((!run.dag_version_id || dag_find_load_version(c->store, run.dag_version_id, &dag) != 0) &&
      (rc = cli_load_dag(c, dag_id, &dag)) != 0) {
    dag_store_run_free(&run);
    return rc;
  }
  size_t n = dag->n_tasks;
  bool *pick = xcalloc(n, sizeof(*pick));
  if (!task_id) {
    for (size_t i = 0; i < n; i++) pick[i] = true;
  } else {
    long t = dag_find_task(dag, task_id);
    if (t < 0) {
      fprintf(stderr, "dagctl: DAG '%s' has no task '%s'\n", dag_id, task_id);
      free(pick);
      dag_free(dag);
      dag_store_run_free(&run);
      return CLI_NOTFOUND;
    }
    pick[t] = true;
    /* Topological order: a task is picked after its upstream tasks. */
    if (downstream)
      for (size_t k = 0; k < n; k++) {
        size_t i = dag->topo[k];
        if (!pick[i]) continue;
        for (size_t d = 0; d < dag->tasks[i].n_downstream; d++)
          pick[dag->tasks[i].downstream[d]] = true;
      }
  }
  const char **ids = xcalloc(n, sizeof(*ids));
  int *retries = xcalloc(n, sizeof(*retries));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!pick[i]) continue;
    ids[k] = dag->tasks[i].id;
    retries[k++] = dag->tasks[i].args.retries;
  }
  size_t cleared = 0, skipped = 0;
  int src = dag_store_clear(c->store, run.pk, ids, retries, k, &cleared, &skipped);
  free(ids);
  free(retries);
  free(pick);
  dag_free(dag);
  if (src == 0) {
    dag_scheduler_notify(c->cfg.home);
    printf("cleared %zu task%s of %s %s", cleared, cleared == 1 ? "" : "s", dag_id, run.run_id);
    if (skipped) printf(" (%zu running, left alone)", skipped);
    printf("\n");
  } else {
    fprintf(stderr, "dagctl: cannot clear: %s\n", dag_strerror(src));
  }
  dag_store_run_free(&run);
  return src ? CLI_CONFIG : CLI_OK;
}
