/* cli.h - what the dagctl verbs share: options, config, store, output. */
#ifndef DAG_CLI_H
#define DAG_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "dag.h"
#include "store.h"

/* Exit codes, documented in README.md ("CLI reference"). */
enum {
  CLI_OK = 0,
  CLI_FAILED = 1,    /* the run or task failed, validation found errors */
  CLI_USAGE = 2,     /* bad command line */
  CLI_NOTFOUND = 3,  /* no such DAG, run, task or try */
  CLI_CONFIG = 4,    /* configuration or state store problem */
  CLI_BUSY = 5,      /* another scheduler runs on this home */
};

struct cli {
  struct dag_config_flags flags;
  struct dag_config cfg;
  dag_store *store;
  bool json;
  bool config_loaded;
  /* cli_load_config() leaves the plugins' config sections unchecked: set
   * by the verbs that judge them otherwise (`plugins`, which the check
   * itself runs, and `__task`, which knows its plugin). */
  bool plugin_sections_later;
};

/* Options every verb accepts, and --help. Verbs put CLI_COMMON_OPTIONS in
 * their getopt tables and pass unknown codes to cli_common_option(). */
enum { OPT_HOME = 1000, OPT_DAGS, OPT_CONFIG, OPT_JSON, OPT_HELP };
#define CLI_COMMON_OPTIONS                                             \
  {"home", required_argument, NULL, OPT_HOME},                         \
      {"dags", required_argument, NULL, OPT_DAGS},                     \
      {"config", required_argument, NULL, OPT_CONFIG},                 \
      {"help", no_argument, NULL, 'h'}

/* Handles --home/--dags/--config; returns false for anything else. */
bool cli_common_option(struct cli *c, int opt, const char *arg);

/* Load the configuration (printing every problem) and open the store. */
int cli_open(struct cli *c);
/* Load the configuration and open the existing store read-only, never
 * creating or migrating it; prints why not. */
int cli_open_readonly(struct cli *c);
int cli_load_config(struct cli *c);
/* Check the configuration's plugin sections (dagctl.yaml sections such as
 * `lake:`) against what the installed plugins declare, learnt from a
 * `dagctl plugins --json` child so that no plugin is loaded here, and
 * resolve their values. Problems go to `out`. When the plugins cannot be
 * listed: CLI_CONFIG if `strict`, else a warning and CLI_OK. */
int cli_check_plugin_config(struct cli *c, FILE *out, bool strict);
void cli_close(struct cli *c);

/* The DAG `dag_id` as the scheduler last stored it (dag_find_load()), or
 * with `file` as its file reads now (dag_find_load_file()); *out is the
 * caller's (dag_free()). Prints the reason and returns a CLI_* code when it
 * cannot. */
int cli_load_dag(struct cli *c, const char *dag_id, struct dag **out);
int cli_load_dag_from(struct cli *c, const char *dag_id, bool file, struct dag **out);

/* Print a usage error with the verb's usage line; returns CLI_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a positive integer argument; false if it is not one. */
bool cli_parse_int(const char *s, int *out);

/* Durations and instants for people: "1.25s", "2026-11-22 00:41:00". */
void cli_fmt_time(dag_time_t t, char *buf, size_t size);

/* --bind and --port, for the verbs that serve the status page
 * (cmd_webserver.c). */
enum { OPT_BIND = 1100, OPT_PORT };
#define CLI_WEB_OPTIONS                              \
  {"bind", required_argument, NULL, OPT_BIND},       \
      {"port", required_argument, NULL, OPT_PORT}
struct cli_web {
  const char *bind; /* NULL: web.bind */
  int port;         /* -1: web.port; 0: any free port */
  /* Serve alone: open the store read-only (cli_open_readonly()); changes
   * made through the API open their own short-lived writer. */
  bool readonly;
};
#define CLI_WEB_INIT {NULL, -1, false}
/* Returns 0 when it handled `opt`, -1 for any other option, or CLI_USAGE
 * (printed) for a bad value. */
int cli_web_option(struct cli_web *w, int opt, const char *arg, const char *usage);
/* The whole command line of a verb that serves the status page: the web
 * and common options, no arguments, then cli_open() (cli_open_readonly()
 * with w->readonly). -h prints `usage`
 * and `help`. Returns -1 to go on with the store open, else the exit code
 * to return (CLI_OK after -h). */
int cli_web_args(struct cli *c, struct cli_web *w, int argc, char **argv, const char *usage,
                 const char *help);
struct uv_loop_s;
struct dag_scheduler;
struct dag_web;
/* Serve the status page on `loop` and log its address; `sched` may be
 * NULL. Returns 0, or a negative code after logging why. */
int cli_web_start(struct cli *c, const struct cli_web *w, struct uv_loop_s *loop,
                  struct dag_scheduler *sched, struct dag_web **out);

int cmd_scheduler(struct cli *c, int argc, char **argv);
int cmd_webserver(struct cli *c, int argc, char **argv);
int cmd_worker(struct cli *c, int argc, char **argv);
int cmd_trigger(struct cli *c, int argc, char **argv);
int cmd_dags(struct cli *c, int argc, char **argv);
int cmd_runs(struct cli *c, int argc, char **argv);
int cmd_tasks(struct cli *c, int argc, char **argv);
int cmd_logs(struct cli *c, int argc, char **argv);
int cmd_clear(struct cli *c, int argc, char **argv);
int cmd_validate(struct cli *c, int argc, char **argv);
int cmd_test(struct cli *c, int argc, char **argv);
int cmd_alerts(struct cli *c, int argc, char **argv);
int cmd_plugins(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_task(struct cli *c, int argc, char **argv);

/* Sort task instances into the DAG's declared order (from the graph the
 * scheduler stored). Returns that graph (caller json_decref()s it). */
json_t *cli_sort_tis(struct cli *c, const char *dag_id, struct dag_store_ti *tis, size_t n);
/* A task's type ("shell", "exec", a plugin) from the stored graph. Borrowed. */
const char *cli_task_type(json_t *graph, const char *task_id);

/* Shared by trigger --wait and test: follow a run until it ends, printing
 * each task state change. Returns the run's final state. */
int cli_follow_run(struct cli *c, int64_t run_pk, enum dag_run_state *final);

#endif
