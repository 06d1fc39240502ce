/* common.c - helpers shared by the dagctl verbs. */
#include <jansson.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "cli.h"
#include "dag_find.h"
#include "error.h"
#include "log.h"
#include "plugins.h"
#include "timeutil.h"

extern char **environ;

bool cli_common_option(struct cli *c, int opt, const char *arg) {
  switch (opt) {
  case OPT_HOME:
    c->flags.home = arg;
    return true;
  case OPT_DAGS:
    c->flags.dags_folder = arg;
    return true;
  case OPT_CONFIG:
    c->flags.config_file = arg;
    return true;
  case OPT_NO_COLOR:
    c->no_color = true;
    return true;
  default:
    return false;
  }
}

int cli_usage_error(const char *usage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dagctl: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nusage: %s\n", usage);
  return CLI_USAGE;
}

void cli_print_json(json_t *j) {
  json_dumpf(j, stdout, JSON_INDENT(2));
  fputc('\n', stdout);
  json_decref(j);
}

bool cli_parse_int(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 0 || v > 1000000000) return false;
  *out = (int)v;
  return true;
}

void cli_fmt_time(dag_time_t t, char *buf, size_t size) {
  if (!t) {
    snprintf(buf, size, "-");
    return;
  }
  time_t secs = (time_t)(t / DAG_USEC_PER_SEC);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

int cli_load_config(struct cli *c) {
  if (c->config_loaded) return CLI_OK;
  struct dag_diags diags = DAG_DIAGS_INIT;
  int rc = dag_config_load(&c->cfg, &c->flags, environ, &diags);
  c->config_loaded = true;
  if (rc) {
    dag_diags_print(&diags, stderr);
    dag_diags_free(&diags);
    return CLI_CONFIG;
  }
  dag_diags_free(&diags);
  dag_log_set_level(c->cfg.log_level);
  /* Without a section of its own, no plugin setting differs from its
   * default, and a command that needs none (most) spares the child. */
  if (c->cfg.n_raw && !c->plugin_sections_later) return cli_check_plugin_config(c, stderr, false);
  return CLI_OK;
}

int cli_check_plugin_config(struct cli *c, FILE *out, bool strict) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  exe[n > 0 ? n : 0] = '\0';
  struct dag_plugin_catalog cat;
  memset(&cat, 0, sizeof(cat));
  char *err = NULL;
  const struct dag_plugin_catalog *r = dag_plugin_catalog_update_cfg(&cat, exe, &c->cfg, &err);
  if (r == NULL) {
    if (strict)
      fprintf(out, "dagctl: cannot check the plugins' config sections: %s\n", err);
    else
      LOG_WARN("plugins' config sections go unchecked: cannot list the plugins error=\"%s\"",
               err);
    free(err);
    dag_plugin_catalog_free(&cat);
    return strict ? CLI_CONFIG : CLI_OK;
  }
  struct dag_diags diags = DAG_DIAGS_INIT;
  /* Two plugins that disagree on a section are the installation's problem,
   * not the settings': the first declaration counts, so only the verbs
   * that check (config check, show) fail; the others say so and go on. */
  if (r->sections_error && strict)
    dag_diag_add(&diags, "plugins", 0, 0, "%s", r->sections_error);
  else if (r->sections_error)
    LOG_WARN("plugins disagree on a config section error=\"%s\"", r->sections_error);
  dag_config_check_plugins(&c->cfg, r->sections, r->n_sections, true, &diags);
  int rc = diags.n ? CLI_CONFIG : CLI_OK;
  dag_diags_print(&diags, out);
  dag_diags_free(&diags);
  dag_plugin_catalog_free(&cat);
  return rc;
}

int cli_open(struct cli *c) {
  int rc = cli_load_config(c);
  if (rc) return rc;
  if (mkdir(c->cfg.home, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "dagctl: cannot create DAGCTL_HOME %s: %s\n", c->cfg.home, strerror(errno));
    return CLI_CONFIG;
  }
  char *err = NULL;
  struct dag_store_options opts = {.fsync_each_commit = c->cfg.durable_fsync,
                                   .password = c->cfg.state_password,
                                   .secret_key = c->cfg.secret_key};
  int src = dag_store_open(c->cfg.state, &opts, &c->store, &err);
  if (src) {
    fprintf(stderr, "dagctl: %s\n", err ? err : dag_strerror(src));
    free(err);
    return CLI_CONFIG;
  }
  return CLI_OK;
}

int cli_open_readonly(struct cli *c) {
  int rc = cli_load_config(c);
  if (rc) return rc;
  const char *path = c->cfg.state;
  struct stat st;
  if (!dag_store_is_url(path) && stat(path, &st) != 0) {
    fprintf(stderr,
            "dagctl: no database at %s (%s): this command only reads one; "
            "start `dagctl scheduler` once to create it\n",
            path, strerror(errno));
    return CLI_CONFIG;
  }
  char *err = NULL;
  struct dag_store_options opts = {.readonly = true, .password = c->cfg.state_password,
                                   .secret_key = c->cfg.secret_key};
  int src = dag_store_open(path, &opts, &c->store, &err);
  if (src) {
    fprintf(stderr, "dagctl: %s\n", err ? err : dag_strerror(src));
    free(err);
    return CLI_CONFIG;
  }
  return CLI_OK;
}

void cli_close(struct cli *c) {
  dag_store_close(c->store);
  c->store = NULL;
  if (c->config_loaded) dag_config_free(&c->cfg);
  c->config_loaded = false;
}

int cli_load_dag(struct cli *c, const char *dag_id, struct dag **out) {
  return cli_load_dag_from(c, dag_id, false, out);
}

int cli_load_dag_from(struct cli *c, const char *dag_id, bool file, struct dag **out) {
  struct dag_diags broken = DAG_DIAGS_INIT;
  int rc = file ? dag_find_load_file(c->store, &c->cfg, dag_id, out, &broken)
                : dag_find_load(c->store, &c->cfg, dag_id, out, &broken);
  if (rc == 0) {
    dag_diags_free(&broken);
    return CLI_OK;
  }
  if (rc != DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: cannot read the DAG folder %s: %s\n", c->cfg.dags_folder,
            strerror(-rc));
    dag_diags_free(&broken);
    return CLI_CONFIG;
  }
  fprintf(stderr, "dagctl: no DAG '%s' in %s\n", dag_id, c->cfg.dags_folder);
  if (broken.n) {
    fprintf(stderr, "these DAG files have errors (one of them may define it):\n");
    dag_diags_print(&broken, stderr);
  }
  dag_diags_free(&broken);
  return CLI_NOTFOUND;
}

/* Position of each task in the DAG's declared order, from the stored graph. */
static int task_rank(json_t *graph, const char *task_id) {
  size_t i;
  json_t *node;
  json_array_foreach(graph, i, node) {
    const char *id = json_string_value(json_object_get(node, "task_id"));
    if (id && strcmp(id, task_id) == 0) return (int)i;
  }
  return 1 << 30;
}

const char *cli_task_type(json_t *graph, const char *task_id) {
  size_t i;
  json_t *node;
  json_array_foreach(graph, i, node) {
    const char *id = json_string_value(json_object_get(node, "task_id"));
    if (id && strcmp(id, task_id) == 0) return json_string_value(json_object_get(node, "type"));
  }
  return NULL;
}

/* qsort has no context argument: the graph being sorted by. Set only for
 * the duration of one qsort call in cli_sort_tis(). */
static json_t *sort_graph;

static int by_rank(const void *a, const void *b) {
  const struct dag_store_ti *x = a, *y = b;
  int rx = task_rank(sort_graph, x->task_id), ry = task_rank(sort_graph, y->task_id);
  if (rx != ry) return rx < ry ? -1 : 1;
  int c = strcmp(x->task_id, y->task_id);
  /* A mapped task's own row, then its instances by map_index. */
  return c ? c : x->map_index - y->map_index;
}

json_t *cli_sort_tis(struct cli *c, const char *dag_id, struct dag_store_ti *tis, size_t n) {
  struct dag_store_dag row;
  json_t *graph = NULL;
  if (dag_store_get_dag(c->store, dag_id, &row) == 0) {
    graph = json_loads(row.graph, 0, NULL);
    dag_store_dag_free(&row);
  }
  if (!graph) graph = json_array();
  sort_graph = graph;
  qsort(tis, n, sizeof(*tis), by_rank);
  sort_graph = NULL;
  return graph;
}

static int ti_index(struct dag_store_ti *tis, size_t n, const char *id, int map_index) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(tis[i].task_id, id) == 0 && tis[i].map_index == map_index) return (int)i;
  return -1;
}

int cli_follow_run(struct cli *c, int64_t run_pk, enum dag_run_state *final) {
  /* A client watching from outside the scheduler: it reads the database a
   * few times a second. The scheduler itself never polls like this. */
  struct dag_store_ti *prev = NULL;
  size_t n_prev = 0;
  for (;;) {
    struct dag_store_run run;
    int rc = dag_store_get_run_by_pk(c->store, run_pk, &run);
    if (rc) {
      dag_store_tis_free(prev, n_prev);
      fprintf(stderr, "dagctl: the run disappeared: %s\n", dag_strerror(rc));
      return CLI_NOTFOUND;
    }
    struct dag_store_ti *tis = NULL;
    size_t n = 0;
    dag_store_list_tis(c->store, run_pk, &tis, &n);
    json_decref(cli_sort_tis(c, run.dag_id, tis, n));
    for (size_t i = 0; i < n; i++) {
      int k = ti_index(prev, n_prev, tis[i].task_id, tis[i].map_index);
      if (k >= 0 && prev[k].state == tis[i].state && prev[k].try_number == tis[i].try_number)
        continue;
      if (k < 0 && tis[i].state == DAG_TI_NONE) continue;
      char when[32];
      cli_fmt_time(dag_time_now(), when, sizeof(when));
      char name[300];
      if (tis[i].map_index >= 0)
        snprintf(name, sizeof(name), "%s[%d]", tis[i].task_id, tis[i].map_index);
      else
        snprintf(name, sizeof(name), "%s", tis[i].task_id);
      fprintf(stderr, "%s  %-28s %-16s try %d%s%s\n", when, name,
              dag_task_state_name(tis[i].state), tis[i].try_number, tis[i].error ? "  " : "",
              tis[i].error ? tis[i].error : "");
    }
    dag_store_tis_free(prev, n_prev);
    prev = tis;
    n_prev = n;
    enum dag_run_state st = run.state;
    dag_store_run_free(&run);
    if (st == DAG_RUN_SUCCESS || st == DAG_RUN_FAILED) {
      dag_store_tis_free(prev, n_prev);
      *final = st;
      return CLI_OK;
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}
