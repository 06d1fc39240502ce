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
  bool no_color; /* --no-color */
  bool config_loaded;
  /* cli_load_config() leaves the plugins' config sections unchecked: set
   * by the verbs that judge them otherwise (`plugins`, which the check
   * itself runs, and `__task`, which knows its plugin). */
  bool plugin_sections_later;
};

/* Options every verb accepts, and --help. Verbs put CLI_COMMON_OPTIONS in
 * their getopt tables and pass unknown codes to cli_common_option(). */
enum { OPT_HOME = 1000, OPT_DAGS, OPT_CONFIG, OPT_JSON, OPT_HELP, OPT_NO_COLOR };
#define CLI_COMMON_OPTIONS                                             \
  {"home", required_argument, NULL, OPT_HOME},                         \
      {"dags", required_argument, NULL, OPT_DAGS},                     \
      {"config", required_argument, NULL, OPT_CONFIG},                 \
      {"no-color", no_argument, NULL, OPT_NO_COLOR},                   \
      {"help", no_argument, NULL, 'h'}
/* The same options as the completion scripts offer them (verbs.c). */
#define CLI_COMMON_FLAGS "--home= --dags= --config= --no-color --help"

/* Handles --home/--dags/--config/--no-color; returns false for anything
 * else. */
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
 * listed, or two of them declare one section differently: CLI_CONFIG if
 * `strict`, else a warning and CLI_OK. */
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

/* One JSON document on standard output, indented; takes `j`. */
void cli_print_json(json_t *j);

/* --- text tables (table.c) --------------------------------------------------
 * Each column as wide as its widest value (header included), two spaces
 * between columns, the last column unpadded. Cells are copied; a newline in
 * one becomes a space. */
struct cli_table;
/* Caller frees with cli_table_free(). */
struct cli_table *cli_table_new(const char *const *headers, size_t n_cols);
/* Add a row of n_cols cells (NULL prints as empty). */
void cli_table_add(struct cli_table *t, const char *const *cells);
/* Colour cell `col` of the last row added: an SGR parameter ("31"), static. */
void cli_table_color(struct cli_table *t, size_t col, const char *sgr);
size_t cli_table_rows(const struct cli_table *t);
/* `color`: cli_color(); without it the output has no escape sequence. */
void cli_table_print(const struct cli_table *t, FILE *out, bool color);
void cli_table_free(struct cli_table *t);
/* Colour on standard output: a terminal, no --no-color, NO_COLOR unset or
 * empty (https://no-color.org), TERM not "dumb". */
bool cli_color(const struct cli *c);
/* The SGR colour of a run, task or recipient state; NULL for none. Static. */
const char *cli_state_color(const char *state);

/* --- the verb table (verbs.c) ------------------------------------------------
 * One row per verb: `dagctl help`, `help --json`, the completion scripts and
 * the test that every data verb takes --json all read it. */
struct cli_verb {
  const char *name;
  int (*run)(struct cli *c, int argc, char **argv);
  const char *summary;
  const char *subs;  /* space-separated subcommands, or NULL */
  /* What each positional argument (after the subcommand) is, for
   * completion: "dag", "run" (of the dag before it), "task", "file",
   * "none"; space-separated, or NULL. */
  const char *args;
  /* The verb's own flags, space-separated; a trailing '=' takes a value.
   * Every verb also takes CLI_COMMON_FLAGS. */
  const char *flags;
  bool json; /* prints data, and --json prints it as JSON */
};
extern const struct cli_verb cli_verbs[];
extern const size_t cli_n_verbs;

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
int cmd_backfill(struct cli *c, int argc, char **argv);
int cmd_mark(struct cli *c, int argc, char **argv);
int cmd_delete(struct cli *c, int argc, char **argv);
int cmd_validate(struct cli *c, int argc, char **argv);
int cmd_test(struct cli *c, int argc, char **argv);
int cmd_alerts(struct cli *c, int argc, char **argv);
int cmd_plugins(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_users(struct cli *c, int argc, char **argv);
int cmd_variables(struct cli *c, int argc, char **argv);
int cmd_pools(struct cli *c, int argc, char **argv);
int cmd_connections(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_datasets(struct cli *c, int argc, char **argv);
/* End a change begun with dag_store_begin(c->store) whose outcome is rc:
 * on success add its audit entry (who: "cli:" and the account running
 * dagctl) and commit; on failure roll back and record the failure alone.
 * Returns the outcome. (cmd_audit.c) */
int cli_audit_finish(struct cli *c, int rc, const char *event, const char *object);
/* The same for a change of a DAG (run_id NULL) or of a run. */
int cli_audit_finish_run(struct cli *c, int rc, const char *event, const char *dag_id,
                         const char *run_id, const char *object);
int cmd_tokens(struct cli *c, int argc, char **argv);
int cmd_task(struct cli *c, int argc, char **argv);
int cmd_help(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_version(struct cli *c, int argc, char **argv);
int cmd_completion(struct cli *c, int argc, char **argv);
/* The completion scripts' helper (hidden): `dagctl __complete dag|run|task|state`. */
int cmd_complete(struct cli *c, int argc, char **argv);

/* Sort task instances into the DAG's declared order (from the graph the
 * scheduler stored). Returns that graph (caller json_decref()s it). */
json_t *cli_sort_tis(struct cli *c, const char *dag_id, struct dag_store_ti *tis, size_t n);
/* A task's type ("shell", "exec", a plugin) from the stored graph. Borrowed. */
const char *cli_task_type(json_t *graph, const char *task_id);

/* Shared by trigger --wait and test: follow a run until it ends, printing
 * each task state change. Returns the run's final state. */
int cli_follow_run(struct cli *c, int64_t run_pk, enum dag_run_state *final);

/* `dagctl logs --follow` (logs_follow.c): print the log at `path` as it
 * grows until try `try_number` of `task_id`'s instance `map_index` (-1:
 * not mapped) ends, then the rest of it; the state it ended in goes to
 * *final. Returns 0, or a negative code (the watch failed, the try
 * vanished: DAG_ENOTFOUND) after printing why. */
int cli_follow_try(struct cli *c, int64_t run_pk, const char *task_id, int map_index,
                   int try_number, const char *path, enum dag_task_state *final);
/* The same for a try that worker `worker_id` runs on another machine
 * (logs_follow_remote.c): its log, `rel_path` under that worker's logs
 * folder, is read from the worker's log server. */
int cli_follow_remote_try(struct cli *c, int64_t run_pk, const char *task_id, int try_number,
                          const char *worker_id, const char *rel_path,
                          enum dag_task_state *final);

#endif
