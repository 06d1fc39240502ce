/* main.c - dagctl: one binary, one verb per command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct verb {
  const char *name;
  int (*run)(struct cli *c, int argc, char **argv);
  const char *summary;
} verbs[] = {
    {"scheduler", cmd_scheduler, "run the scheduler (and the status page) in the foreground"},
    {"worker", cmd_worker, "run the tasks schedulers queue for workers (core.executor: workers)"},
    {"webserver", cmd_webserver, "serve the status page and JSON API without a scheduler"},
    {"trigger", cmd_trigger, "start a run of a DAG now"},
    {"dags", cmd_dags, "list DAGs, pause or unpause one"},
    {"runs", cmd_runs, "list the runs of a DAG"},
    {"tasks", cmd_tasks, "list the task instances of a run"},
    {"logs", cmd_logs, "print the log of a task try"},
    {"clear", cmd_clear, "run tasks of a run again"},
    {"validate", cmd_validate, "check DAG files and print every error"},
    {"test", cmd_test, "run a DAG or one task in the foreground, without a scheduler"},
    {"alerts", cmd_alerts, "list email alerts (queued, sent, failed) or retry one"},
    {"plugins", cmd_plugins, "list installed task plugins and their task types"},
    {"config", cmd_config, "check the configuration, or show every setting and its source"},
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: dagctl [--home DIR] [--dags DIR] [--config FILE] VERB [ARGS]\n\n"
          "verbs:\n");
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(out, "  %-10s %s\n", "version", "print the version");
  fprintf(out,
          "\n`dagctl VERB --help` describes a verb. State lives in DAGCTL_HOME "
          "(default ./.dagctl);\nDAG files in DAGCTL_DAGS (default ./dags).\n");
}

int main(int argc, char **argv) {
  struct cli c;
  memset(&c, 0, sizeof(c));

  /* Global options may come before the verb too. */
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0) {
      usage(stdout);
      return CLI_OK;
    }
    if (strcmp(opt, "--version") == 0) {
      printf("dagctl %s\n", DAGCTL_VERSION);
      return CLI_OK;
    }
    const char *val = strchr(opt, '=');
    const char *arg = NULL;
    size_t len = val ? (size_t)(val - opt) : strlen(opt);
    if (val)
      arg = val + 1;
    else if (i + 1 < argc)
      arg = argv[++i];
    if (!arg) return cli_usage_error("dagctl [--home DIR] VERB", "%s needs a value", opt);
    if (len == 6 && strncmp(opt, "--home", len) == 0)
      c.flags.home = arg;
    else if (len == 6 && strncmp(opt, "--dags", len) == 0)
      c.flags.dags_folder = arg;
    else if (len == 8 && strncmp(opt, "--config", len) == 0)
      c.flags.config_file = arg;
    else
      return cli_usage_error("dagctl [--home DIR] [--dags DIR] [--config FILE] VERB",
                             "unknown option %.*s", (int)len, opt);
  }
  if (i >= argc) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *verb = argv[i];
  if (strcmp(verb, "version") == 0) {
    printf("dagctl %s\n", DAGCTL_VERSION);
    return CLI_OK;
  }
  /* The child process of a plugin task; not for people, so not listed. */
  if (strcmp(verb, "__task") == 0) {
    int rc = cmd_task(&c, argc - i, argv + i);
    cli_close(&c);
    return rc;
  }
  if (strcmp(verb, "help") == 0) {
    usage(stdout);
    return CLI_OK;
  }
  for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++) {
    if (strcmp(verb, verbs[k].name) == 0) {
      int rc = verbs[k].run(&c, argc - i, argv + i);
      cli_close(&c);
      return rc;
    }
  }
  fprintf(stderr, "dagctl: unknown verb '%s'\n\n", verb);
  usage(stderr);
  return CLI_USAGE;
}
