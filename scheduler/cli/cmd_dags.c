/* cmd_dags.c - `dagctl dags list|pause|unpause` and `dagctl validate`. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "apijson.h"
#include "cli.h"
#include "dag_load.h"
#include "error.h"
#include "plugins.h"
#include "runs.h"

static const char dags_usage[] =
    "dagctl dags list|pause DAG|unpause DAG|versions DAG|source DAG [--version N] [--json]";

static bool has_import_error(const struct dag_store_import_error *e, size_t n,
                             const char *file) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(e[i].filename, file) == 0) return true;
  return false;
}

static int dags_list(struct cli *c) {
  struct dag_store_dag *dags = NULL;
  struct dag_store_import_error *errs = NULL;
  size_t n = 0, n_errs = 0;
  if (dag_store_list_dags(c->store, &dags, &n) != 0 ||
      dag_store_list_import_errors(c->store, &errs, &n_errs) != 0) {
    fprintf(stderr, "dagctl: cannot read the state store\n");
    return CLI_CONFIG;
  }
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, dag_api_dag(&dags[i], has_import_error(errs, n_errs,
                                                                         dags[i].fileloc)));
    cli_print_json(arr);
  } else {
    static const char *const head[] = {"DAG",      "PAUSED",   "ACTIVE", "VERSION",
                                       "SCHEDULE", "NEXT RUN", "FILE"};
    struct cli_table *t = cli_table_new(head, 7);
    for (size_t i = 0; i < n; i++) {
      char next[32], version[16] = "-";
      cli_fmt_time(dags[i].next_dagrun, next, sizeof(next));
      if (dags[i].dag_version_number > 0)
        snprintf(version, sizeof(version), "v%d", dags[i].dag_version_number);
      const char *row[] = {dags[i].dag_id,
                           dags[i].is_paused ? "yes" : "no",
                           dags[i].is_active ? "yes" : "no",
                           version,
                           dags[i].schedule ? dags[i].schedule : "(manual)",
                           next,
                           dags[i].fileloc};
      cli_table_add(t, row);
      if (dags[i].is_paused) cli_table_color(t, 1, "33");
    }
    if (n) cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
    if (n == 0)
      printf("(no DAGs recorded yet: they are recorded when a scheduler loads them)\n");
    if (n_errs) {
      printf("\nimport errors:\n");
      for (size_t i = 0; i < n_errs; i++) printf("%s\n", errs[i].stacktrace);
    }
  }
  int rc = n_errs && !c->json ? CLI_FAILED : CLI_OK;
  dag_store_dags_free(dags, n);
  dag_store_import_errors_free(errs, n_errs);
  return rc;
}

/* Every stored version of a DAG, newest first. */
static int dags_versions(struct cli *c, const char *dag_id) {
  struct dag_store_version *v = NULL;
  size_t n = 0;
  if (dag_store_list_versions(c->store, dag_id, &v, &n) != 0) {
    fprintf(stderr, "dagctl: cannot read the state store\n");
    return CLI_CONFIG;
  }
  if (n == 0) {
    fprintf(stderr, "dagctl: no stored version of DAG '%s' (has a scheduler loaded it?)\n",
            dag_id);
    return CLI_NOTFOUND;
  }
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:o}", "version_number",
                                           v[i].version_number, "dag_hash", v[i].dag_hash,
                                           "fileloc", v[i].fileloc, "created_at",
                                           dag_api_time(v[i].created_at)));
    cli_print_json(arr);
  } else {
    static const char *const head[] = {"VERSION", "CREATED", "HASH", "FILE"};
    struct cli_table *t = cli_table_new(head, 4);
    for (size_t i = 0; i < n; i++) {
      char created[32], number[16], hash[17];
      cli_fmt_time(v[i].created_at, created, sizeof(created));
      snprintf(number, sizeof(number), "v%d", v[i].version_number);
      snprintf(hash, sizeof(hash), "%s", v[i].dag_hash);
      const char *row[] = {number, created, hash, v[i].fileloc};
      cli_table_add(t, row);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_versions_free(v, n);
  return CLI_OK;
}

/* The file's text as stored with a version (the latest good one by
 * default), and the file's current import error, if any, on stderr. */
static int dags_source(struct cli *c, const char *dag_id, int number) {
  struct dag_store_version v;
  int rc = number ? dag_store_get_version_number(c->store, dag_id, number, true, &v)
                  : dag_store_get_version(c->store, 0, dag_id, true, &v);
  if (rc == DAG_ENOTFOUND) {
    if (number)
      fprintf(stderr, "dagctl: DAG '%s' has no version %d (see: dagctl dags versions %s)\n",
              dag_id, number, dag_id);
    else
      fprintf(stderr, "dagctl: no stored version of DAG '%s' (has a scheduler loaded it?)\n",
              dag_id);
    return CLI_NOTFOUND;
  }
  if (rc) return CLI_CONFIG;
  if (c->json)
    cli_print_json(json_pack("{s:s, s:i, s:s, s:s, s:o, s:o}", "dag_id", dag_id,
                             "version_number", v.version_number, "dag_hash", v.dag_hash,
                             "fileloc", v.fileloc, "created_at", dag_api_time(v.created_at),
                             "source_code",
                             v.source_code ? json_string(v.source_code) : json_null()));
  else if (v.source_code)
    fputs(v.source_code, stdout);
  else
    fprintf(stderr, "dagctl: version %d of '%s' was stored without its file's text\n",
            v.version_number, dag_id);
  struct dag_store_import_error *errs = NULL;
  size_t n = 0;
  if (dag_store_list_import_errors(c->store, &errs, &n) == 0)
    for (size_t i = 0; i < n; i++)
      if (strcmp(errs[i].filename, v.fileloc) == 0)
        fprintf(stderr, "dagctl: %s does not load now; this is its last good version (v%d):\n%s\n",
                v.fileloc, v.version_number, errs[i].stacktrace);
  dag_store_import_errors_free(errs, n);
  dag_store_version_free(&v);
  return CLI_OK;
}

int cmd_dags(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"version", required_argument, NULL, 'V'},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  long version = 0;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("usage: %s\n\n"
             "list: every DAG the scheduler has loaded, and the files that failed to\n"
             "load with their errors (exit 1 when there are any).\n"
             "pause: no new runs or tasks start; running tasks finish. unpause: resume.\n"
             "versions: the DAG's stored versions (one per distinct content the\n"
             "scheduler loaded), newest first.\n"
             "source: the file's text as stored with version N (by default the latest\n"
             "good one, which the scheduler runs even while the file is broken).\n"
             "--json: list and versions print arrays; pause and unpause print\n"
             "{dag_id, is_paused}; source prints {dag_id, version_number, dag_hash,\n"
             "fileloc, created_at, source_code}.\n",
             dags_usage);
      return CLI_OK;
    }
    if (opt == OPT_JSON)
      c->json = true;
    else if (opt == 'V') {
      char *end;
      errno = 0;
      version = strtol(optarg, &end, 10);
      if (errno || end == optarg || *end || version < 1 || version > 1000000000)
        return cli_usage_error(dags_usage, "--version: '%s' is not a version number", optarg);
    }
    else if (!cli_common_option(c, opt, optarg))
      return cli_usage_error(dags_usage, "bad option");
  }
  if (optind >= argc) return cli_usage_error(dags_usage, "expected list, pause or unpause");
  const char *sub = argv[optind];
  int rc;
  if (strcmp(sub, "list") == 0) {
    if (optind + 1 != argc) return cli_usage_error(dags_usage, "list takes no argument");
    if ((rc = cli_open(c)) != 0) return rc;
    return dags_list(c);
  }
  if (strcmp(sub, "pause") == 0 || strcmp(sub, "unpause") == 0) {
    if (optind + 2 != argc) return cli_usage_error(dags_usage, "%s needs one DAG id", sub);
    if ((rc = cli_open(c)) != 0) return rc;
    const char *dag_id = argv[optind + 1];
    bool pause = strcmp(sub, "pause") == 0;
    int src = dag_store_begin(c->store);
    if (src == 0) src = dag_store_set_paused(c->store, dag_id, pause);
    src = cli_audit_finish_run(c, src, sub, dag_id, NULL, NULL);
    if (src == DAG_ENOTFOUND) {
      fprintf(stderr, "dagctl: no DAG '%s' recorded (has a scheduler loaded it?)\n", dag_id);
      return CLI_NOTFOUND;
    }
    if (src) return CLI_CONFIG;
    dag_scheduler_notify(c->cfg.home);
    if (c->json)
      cli_print_json(json_pack("{s:s, s:b}", "dag_id", dag_id, "is_paused", pause));
    else
      printf("%s %s\n", dag_id, pause ? "paused" : "unpaused");
    return CLI_OK;
  }
  if (strcmp(sub, "versions") == 0 || strcmp(sub, "source") == 0) {
    if (optind + 2 != argc) return cli_usage_error(dags_usage, "%s needs one DAG id", sub);
    if ((rc = cli_open(c)) != 0) return rc;
    return sub[0] == 'v' ? dags_versions(c, argv[optind + 1])
                         : dags_source(c, argv[optind + 1], (int)version);
  }
  return cli_usage_error(dags_usage, "unknown dags command '%s'", sub);
}

/* --- validate ------------------------------------------------------------------- */

static const char validate_usage[] = "dagctl validate [PATH...] [--json]";

/* One file's outcome: {file, ok, dag_id, tasks, errors: [{file, line,
 * column, message}]}. */
static json_t *diags_json(const char *path, const struct dag_diags *diags) {
  json_t *arr = json_array();
  for (size_t i = 0; diags && i < diags->n; i++) {
    const struct dag_diag *d = &diags->items[i];
    json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:s}", "file",
                                         d->file ? d->file : path, "line", d->line, "column",
                                         d->col, "message", d->msg));
  }
  return arr;
}

static json_t *file_json(const char *path, const struct dag *dag, const struct dag_diags *diags,
                         const struct dag_diags *warnings) {
  return json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "file", path, "ok", dag != NULL, "dag_id",
                   dag ? json_string(dag->dag_id) : json_null(), "tasks",
                   dag ? json_integer((json_int_t)dag->n_tasks) : json_null(), "errors",
                   diags_json(path, diags), "warnings", diags_json(path, warnings));
}

static int validate_file(const struct dag_load_options *base, const char *path, int *n_files,
                         json_t *out) {
  struct dag_diags diags = DAG_DIAGS_INIT, warnings = DAG_DIAGS_INIT;
  struct dag_load_options opts = *base;
  opts.warnings = &warnings;
  struct dag *dag = NULL;
  int rc = dag_load_file(path, &opts, &dag, &diags);
  (*n_files)++;
  if (rc == 0) {
    if (out)
      json_array_append_new(out, file_json(path, dag, NULL, &warnings));
    else
      printf("%s: ok (%s, %zu tasks)\n", path, dag->dag_id, dag->n_tasks);
  } else if (out) {
    if (diags.n == 0) dag_diag_add(&diags, path, 0, 0, "%s", dag_strerror(rc));
    json_array_append_new(out, file_json(path, NULL, &diags, &warnings));
  } else {
    dag_diags_print(&diags, stdout);
  }
  for (size_t i = 0; !out && i < warnings.n; i++) {
    const struct dag_diag *w = &warnings.items[i];
    printf("%s:%d:%d: warning: %s\n", w->file, w->line, w->col, w->msg);
  }
  dag_free(dag);
  int n = rc == 0 ? 0 : diags.n ? (int)diags.n : 1;
  dag_diags_free(&diags);
  dag_diags_free(&warnings);
  return n;
}

static int validate_path(const struct dag_load_options *opts, const char *path, int *n_files,
                         json_t *out) {
  struct stat st;
  if (stat(path, &st) != 0) {
    if (out) {
      struct dag_diags d = DAG_DIAGS_INIT;
      dag_diag_add(&d, path, 0, 0, "no such file or directory");
      json_array_append_new(out, file_json(path, NULL, &d, NULL));
      dag_diags_free(&d);
    } else {
      printf("%s: no such file or directory\n", path);
    }
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) return validate_file(opts, path, n_files, out);
  struct dirent **names = NULL;
  int n = scandir(path, &names, NULL, alphasort);
  int errors = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    size_t len = strlen(name);
    if (name[0] != '.' && ((len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
                           (len > 4 && strcmp(name + len - 4, ".yml") == 0))) {
      char *file = xasprintf("%s/%s", path, name);
      errors += validate_file(opts, file, n_files, out);
      free(file);
    }
    free(names[i]);
  }
  free(names);
  return errors;
}

int cmd_validate(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON}, CLI_COMMON_OPTIONS, {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("usage: %s\n\n"
             "Checks DAG files (default: the DAG folder) and prints every error as\n"
             "FILE:LINE:COL: message. Plugin tasks are checked against the params\n"
             "their installed plugin declares. Exits 1 if any file has errors.\n"
             "Warnings (FILE:LINE:COL: warning: message), such as a trigger_dag\n"
             "task naming a DAG the DAG folder does not have, do not fail it.\n"
             "--json prints {ok, files, errors, results: [{file, ok, dag_id, tasks,\n"
             "errors: [{file, line, column, message}], warnings: [...]}]}.\n",
             validate_usage);
      return CLI_OK;
    }
    if (opt == OPT_JSON)
      c->json = true;
    else if (!cli_common_option(c, opt, optarg))
      return cli_usage_error(validate_usage, "bad option");
  }
  int rc = cli_load_config(c);
  if (rc) return rc;
  /* Plugin tasks are checked against what the installed plugins declare. */
  struct dag_plugin_catalog plugins;
  memset(&plugins, 0, sizeof(plugins));
  char *folder = dag_plugins_folder(c->cfg.plugins_folder);
  dag_plugin_catalog_scan(&plugins, folder);
  free(folder);
  /* A task naming another DAG is checked against the DAG folder, the
   * DAGs a scheduler of this configuration would know. */
  char **ids = NULL;
  size_t n_ids = 0;
  struct dag_load_options lopts = {
      .default_timezone = c->cfg.default_timezone,
      .default_max_active_runs = c->cfg.max_active_runs_per_dag,
      .default_max_active_tasks = c->cfg.max_active_tasks_per_dag,
      .plugins = &plugins,
      .dag_ids_known = dag_load_folder_ids(c->cfg.dags_folder, &ids, &n_ids) == 0,
  };
  lopts.dag_ids = (const char *const *)ids;
  lopts.n_dag_ids = n_ids;
  int errors = 0, n_files = 0;
  json_t *results = c->json ? json_array() : NULL;
  if (optind == argc)
    errors = validate_path(&lopts, c->cfg.dags_folder, &n_files, results);
  for (int i = optind; i < argc; i++)
    errors += validate_path(&lopts, argv[i], &n_files, results);
  dag_load_ids_free(ids, n_ids);
  dag_plugin_catalog_free(&plugins);
  if (results)
    cli_print_json(json_pack("{s:b, s:i, s:i, s:o}", "ok", errors == 0, "files", n_files,
                             "errors", errors, "results", results));
  else if (errors)
    fprintf(stderr, "%d error%s in %d file%s\n", errors, errors == 1 ? "" : "s", n_files,
            n_files == 1 ? "" : "s");
  return errors ? CLI_FAILED : CLI_OK;
}
