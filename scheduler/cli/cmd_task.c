/* cmd_task.c - `dagctl __task TYPE`: the child process that runs one try of
 * a plugin task. The scheduler spawns it like any task; it loads the plugin
 * providing TYPE and calls its execute() with the host table below.
 *
 * Exit status: 0 success, 1 failure, DAG_PLUGIN_EXIT_NOT_YET (a sensor in
 * reschedule mode) or DAG_PLUGIN_EXIT_SKIP (plugin_host/plugin_rules.h).
 * The task's parameters arrive as JSON in DAGCTL_TASK_PARAMS, its context in the DAGCTL_* variables every task
 * gets (DAGCTL_PARAMS and DAGCTL_CONF among them); the {{ }} templates in
 * the parameters are rendered here, before the plugin runs, so a template
 * error fails the try with the param's name. Not a verb for people: it is
 * not listed in the usage. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "conn.h"
#include "dagctl/plugin.h"
#include "error.h"
#include "log.h"
#include "plugin_params.h"
#include "plugin_rules.h"
#include "plugins.h"
#include "strbuf.h"
#include "store_vars.h"
#include "task_dagruns.h"
#include "task_email.h"
#include "template.h"
#include "timeutil.h"



struct task_host {
  struct dagctl_host host;
  struct cli *cli;
  json_t *params;
  struct dag_plugin_type decl; /* what the type declares about its params */
  int64_t run_pk;
  char *task_id;
  char **strings; /* returned to the plugin, freed at exit */
  size_t n_strings, cap_strings;
  bool ready_sent;
  int ready_fd; /* DAGCTL_READY_FD: where "the service is up" is written */
};

static volatile sig_atomic_t cancel_requested;

static void on_term(int sig) {
  DAG_UNUSED(sig);
  cancel_requested = 1;
}

static struct task_host *th_of(const struct dagctl_host *h) {
  return (struct task_host *)h->host_data;
}

static const char *keep(struct task_host *th, char *s) {
  if (!s) return NULL;
  th->strings = xgrow(th->strings, &th->cap_strings, th->n_strings + 1, sizeof(char *));
  th->strings[th->n_strings++] = s;
  return s;
}

static void host_log(const struct dagctl_host *h, enum dagctl_log_level level, const char *fmt,
                     ...) {
  static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  DAG_UNUSED(h);
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  dag_log_redact(msg);
  char now[48];
  dag_time_iso(dag_time_now(), now, sizeof(now));
  fprintf(stderr, "%s %-5s %s\n", now, tags[(unsigned)level < 4 ? level : 1], msg);
  fflush(stderr);
  free(msg);
}

static const char *host_param(const struct dagctl_host *h, const char *name) {
  struct task_host *th = th_of(h);
  json_t *v = json_object_get(th->params, name);
  if (!v || json_is_null(v)) {
    /* A declared default stands in for a param the task does not set. */
    const struct dag_plugin_param *p = dag_plugin_type_param(&th->decl, name);
    return p ? p->default_value : NULL;
  }
  if (json_is_string(v)) return json_string_value(v);
  return keep(th, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

/* The embedded Kafka cluster's address is only known while the scheduler
 * (or `dagctl test`) that hosts it runs: it leaves it in a file. */
static char *embedded_bootstraps(struct task_host *th) {
  const char *env = getenv("DAGCTL_KAFKA_BOOTSTRAPS");
  if (env && *env) return xstrdup(env);
  char *path = xasprintf("%s/kafka.bootstraps", th->cli->cfg.home);
  FILE *f = fopen(path, "r");
  free(path);
  if (!f) return NULL;
  char buf[1024] = {0};
  char *line = fgets(buf, sizeof(buf), f);
  fclose(f);
  if (!line) return NULL;
  buf[strcspn(buf, "\r\n")] = '\0';
  return buf[0] ? xstrdup(buf) : NULL;
}

/* A key the plugin's own section does not declare is always unset: most
 * likely a misspelling in the plugin, which would otherwise go unnoticed
 * (load_bronze once read lake.timeout as "timeout_ms"). */
static void warn_undeclared(const struct dagctl_host *h, const struct dag_config *cfg,
                            const char *section, const char *key) {
  for (size_t i = 0; i < cfg->n_decls; i++) {
    const struct dag_config_section_decl *d = &cfg->decls[i];
    if (strcmp(d->name, section) != 0) continue;
    for (size_t k = 0; k < d->n_keys; k++)
      if (strcmp(d->keys[k].key, key) == 0) return;
    host_log(h, DAGCTL_LOG_WARN, "connection(\"%s\", \"%s\"): the section declares no key "
             "'%s', so it is never set", section, key, key);
    return;
  }
}

static const char *host_connection(const struct dagctl_host *h, const char *section,
                                   const char *key) {
  struct task_host *th = th_of(h);
  char *v = dag_config_value(&th->cli->cfg, section, key);
  if (v == NULL) warn_undeclared(h, &th->cli->cfg, section, key);
  if (v && strcmp(section, "kafka") == 0 && strcmp(key, "bootstrap_servers") == 0 &&
      strcmp(v, "embedded") == 0) {
    free(v);
    v = embedded_bootstraps(th);
  }
  return keep(th, v);
}

static const char *host_context(const struct dagctl_host *h, const char *name) {
  struct task_host *th = th_of(h);
  static const struct {
    const char *name, *env;
  } vars[] = {
      {"dag_id", "DAGCTL_DAG_ID"},
      {"task_id", "DAGCTL_TASK_ID"},
      {"run_id", "DAGCTL_RUN_ID"},
      {"logical_date", "DAGCTL_LOGICAL_DATE"},
      {"ts", "DAGCTL_LOGICAL_DATE"},
      {"data_interval_start", "DAGCTL_DATA_INTERVAL_START"},
      {"data_interval_end", "DAGCTL_DATA_INTERVAL_END"},
      {"try_number", "DAGCTL_TRY_NUMBER"},
      {"sensor_started", "DAGCTL_SENSOR_STARTED"},
  };
  if (strcmp(name, "home") == 0) return th->cli->cfg.home;
  if (strcmp(name, "ds") == 0 || strcmp(name, "ds_nodash") == 0) {
    const char *ld = getenv("DAGCTL_LOGICAL_DATE");
    if (!ld || strlen(ld) < 10) return NULL;
    if (name[2] == '\0') return keep(th, xstrndup(ld, 10));
    return keep(th, xasprintf("%.4s%.2s%.2s", ld, ld + 5, ld + 8));
  }
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    if (strcmp(name, vars[i].name) == 0) return getenv(vars[i].env);
  return NULL;
}

static int host_xcom_push(const struct dagctl_host *h, const char *key, const char *value_json) {
  struct task_host *th = th_of(h);
  if (!key || !*key || !value_json || strlen(value_json) > 65536) return -1;
  json_t *v = json_loads(value_json, JSON_DECODE_ANY, NULL);
  if (!v) return -1;
  json_decref(v);
  if (!th->cli->store || th->run_pk <= 0) return -1;
  return dag_store_xcom_push(th->cli->store, th->run_pk, th->task_id, -1, key, value_json,
                             dag_time_now()) == 0
             ? 0
             : -1;
}

static const char *host_xcom_pull(const struct dagctl_host *h, const char *task_id,
                                  const char *key) {
  struct task_host *th = th_of(h);
  if (!th->cli->store) return NULL;
  struct dag_store_xcom *x = NULL;
  size_t n = 0;
  const char *found = NULL;
  if (dag_store_xcom_list(th->cli->store, th->run_pk, &x, &n) == 0)
    for (size_t i = 0; i < n && !found; i++)
      if (strcmp(x[i].task_id, task_id) == 0 && strcmp(x[i].key, key) == 0)
        found = keep(th, xstrdup(x[i].value));
  dag_store_xcoms_free(x, n);
  return found;
}

static int host_cancelled(const struct dagctl_host *h) {
  DAG_UNUSED(h);
  return cancel_requested != 0;
}

static void host_service_ready(const struct dagctl_host *h) {
  struct task_host *th = th_of(h);
  if (th->ready_sent || th->ready_fd < 0) return;
  if (!dag_plugin_may_serve(&th->decl)) {
    /* Nothing would stop it: a service is stopped by stop_service or the
     * run's end, a plain task by returning. Fail now rather than hold the
     * slot until execution_timeout; _exit(), since the plugin's threads
     * may still run. */
    host_log(h, DAGCTL_LOG_ERROR, "service_ready() from type %s, which is not declared a "
             "service (DAGCTL_TYPE_SERVICE): the try fails", th->decl.name);
    fflush(NULL);
    _exit(1);
  }
  th->ready_sent = true;
  /* The scheduler reads this pipe: the service is up, the try succeeded. */
  ssize_t w = write(th->ready_fd, "ready\n", 6);
  DAG_UNUSED(w);
  close(th->ready_fd);
  th->ready_fd = -1;
}

static int host_trigger_dag(const struct dagctl_host *h, const char *dag_id, const char *run_id,
                            const char *logical_date, const char *conf_json,
                            const char **run_id_out, int *created) {
  struct task_host *th = th_of(h);
  struct cli_task_trigger t = {dag_id, run_id, logical_date, conf_json};
  char *id = NULL, *err = NULL;
  bool made = false;
  if (run_id_out) *run_id_out = NULL;
  if (created) *created = 0;
  if (dag_id == NULL || *dag_id == '\0') {
    host_log(h, DAGCTL_LOG_ERROR, "trigger_dag(): no DAG id");
    return -1;
  }
  if (cli_task_trigger_dag(th->cli, th->run_pk, th->task_id, &t, &id, &made, &err) != 0) {
    host_log(h, DAGCTL_LOG_ERROR, "%s", err ? err : "cannot trigger the DAG");
    free(err);
    return -1;
  }
  if (run_id_out) *run_id_out = keep(th, id);
  else free(id);
  if (created) *created = made;
  return 0;
}

static const char *host_dag_state(const struct dagctl_host *h, const char *dag_id,
                                  const char *run_id, const char *logical_date,
                                  const char *task_id) {
  struct task_host *th = th_of(h);
  char *state = NULL, *err = NULL;
  if (dag_id == NULL) return NULL;
  if (cli_task_dag_state(th->cli, dag_id, run_id, logical_date, task_id, &state, &err) != 0) {
    host_log(h, DAGCTL_LOG_WARN, "dag_state(): %s", err ? err : "cannot read the state");
    free(err);
    return NULL;
  }
  return keep(th, state);
}

static int host_queue_email(const struct dagctl_host *h, const char *to_json,
                            const char *cc_json, const char *subject, const char *body) {
  struct task_host *th = th_of(h);
  const char *try_number = getenv("DAGCTL_TRY_NUMBER");
  struct cli_task_email m = {getenv("DAGCTL_DAG_ID"), getenv("DAGCTL_RUN_ID"), th->task_id,
                             try_number ? (int)strtol(try_number, NULL, 10) : 0,
                             to_json, cc_json, subject, body};
  int64_t id = 0;
  char *err = NULL;
  if (m.dag_id == NULL || m.run_id == NULL) {
    host_log(h, DAGCTL_LOG_ERROR, "queue_email(): this try belongs to no run");
    return -1;
  }
  if (cli_task_queue_email(th->cli, &m, &id, &err) != 0) {
    host_log(h, DAGCTL_LOG_ERROR, "%s", err ? err : "cannot queue the mail");
    free(err);
    return -1;
  }
  host_log(h, DAGCTL_LOG_INFO, "mail queued in the outbox: alert %lld (dagctl alerts)",
           (long long)id);
  return 0;
}

extern char **environ;

static const char *host_get_conn(const struct dagctl_host *h, const char *conn_id) {
  struct task_host *th = th_of(h);
  struct dag_conn c;
  char *err = NULL;
  memset(&c, 0, sizeof(c));
  if (conn_id == NULL || th->cli->store == NULL ||
      dag_store_connection_resolve(th->cli->store, environ, conn_id, &c, &err) != 0) {
    host_log(h, DAGCTL_LOG_ERROR, "connection %s: %s", conn_id ? conn_id : "(none)",
             err ? err : "not found");
    free(err);
    dag_conn_clear(&c);
    return NULL;
  }
  /* Masked before anything can print it. */
  if (c.password) dag_log_mask(c.password);
  json_t *o = json_object();
  const struct {
    const char *key, *value;
  } fields[] = {{"conn_type", c.conn_type}, {"host", c.host},         {"schema", c.schema},
                {"login", c.login},         {"password", c.password}};
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if (fields[i].value) json_object_set_new(o, fields[i].key, json_string(fields[i].value));
  if (c.port) json_object_set_new(o, "port", json_integer(c.port));
  json_t *extra = c.extra ? json_loads(c.extra, 0, NULL) : NULL;
  if (extra) json_object_set_new(o, "extra", extra);
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  dag_conn_clear(&c);
  return keep(th, text);
}

/* DAGCTL_TRY_ID is "<home id>:<run pk>:<try>:<task id>" (executor.h). */
static void parse_try_id(struct task_host *th) {
  const char *id = getenv("DAGCTL_TRY_ID");
  if (!id) return;
  const char *pk = strchr(id, ':');
  if (!pk) return;
  char *end;
  th->run_pk = strtoll(pk + 1, &end, 10);
  const char *task = *end == ':' ? strchr(end + 1, ':') : NULL;
  th->task_id = xstrdup(task ? task + 1 : "");
}

static dag_time_t env_time(const char *name) {
  const char *v = getenv(name);
  dag_time_t t = 0;
  if (v && dag_time_parse_iso(v, &t, NULL, 0) != 0) t = 0;
  return t;
}

static json_t *env_json(const char *name) {
  const char *v = getenv(name);
  json_t *j = v && *v ? json_loads(v, 0, NULL) : NULL;
  return j ? j : json_object();
}

/* Render the params' templates with the context of a shell task of the
 * same try, rebuilt from the variables the scheduler set, and check them
 * against the type's declarations. Returns 0, or -1 after saying why in
 * the try's log. */
static int prepare_params(struct task_host *th) {
  const char *key;
  json_t *value;
  json_object_foreach(th->params, key, value) {
    /* The loader refuses these when it knows the type; say so if it did not. */
    if (th->decl.declared && !dag_plugin_type_param(&th->decl, key))
      fprintf(stderr, "[dagctl] param %s: task type %s does not take it (ignored)\n", key,
              th->decl.name);
  }
  char *text = json_dumps(th->params, JSON_COMPACT);
  bool xcom = text && strstr(text, "xcom");
  bool prev = text && strstr(text, "prev_data_interval_start_success");
  free(text);
  struct dag_template_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  struct dag_store_lookup lookup = {th->cli->store, environ};
  dag_store_template_lookups(&lookup, &ctx);
  ctx.dag_id = getenv("DAGCTL_DAG_ID");
  ctx.task_id = getenv("DAGCTL_TASK_ID");
  ctx.run_id = getenv("DAGCTL_RUN_ID");
  ctx.logical_date = env_time("DAGCTL_LOGICAL_DATE");
  ctx.data_interval_start = env_time("DAGCTL_DATA_INTERVAL_START");
  ctx.data_interval_end = env_time("DAGCTL_DATA_INTERVAL_END");
  const char *try_number = getenv("DAGCTL_TRY_NUMBER");
  ctx.try_number = try_number ? (int)strtol(try_number, NULL, 10) : 0;
  /* DAGCTL_PARAMS holds the params with the conf already applied. */
  json_t *params = env_json("DAGCTL_PARAMS"), *conf = env_json("DAGCTL_CONF");
  json_t *xcoms = NULL;
  char *err = NULL;
  int rc = 0;
  /* A param that reads an XCom must not be rendered with the values missing. */
  if (xcom && (!th->cli->store || dag_store_xcom_tree(th->cli->store, th->run_pk, &xcoms) != 0)) {
    rc = DAG_ESTORE;
    err = xasprintf("cannot read the run's XComs: %s",
                    th->cli->store ? dag_store_errmsg(th->cli->store) : "no state store");
  }
  /* As for shell tasks (sched_task.c): the latest successful run with an
   * earlier logical date, read only when a param names it. */
  if (rc == 0 && prev && ctx.dag_id) {
    struct dag_store_run_filter f = {.dag_id = ctx.dag_id, .has_state = true,
                                     .state = DAG_RUN_SUCCESS};
    struct dag_store_run *runs = NULL;
    size_t n = 0;
    if (!th->cli->store || dag_store_find_runs(th->cli->store, &f, &runs, &n) != 0) {
      rc = DAG_ESTORE;
      err = xasprintf("cannot read the DAG's earlier runs: %s",
                      th->cli->store ? dag_store_errmsg(th->cli->store) : "no state store");
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
      if (runs[i].logical_date < ctx.logical_date) { /* newest first */
        ctx.has_prev_success = true;
        ctx.prev_data_interval_start_success = runs[i].data_interval_start;
        break;
      }
    }
    dag_store_runs_free(runs, n);
  }
  ctx.params = params;
  ctx.conf = conf;
  ctx.xcom = xcoms;
  if (rc == 0) rc = dag_plugin_prepare_params(th->params, &th->decl, &ctx, &err);
  if (rc != 0) {
    fprintf(stderr, "[dagctl] %s\n", err);
    free(err);
  }
  json_decref(params);
  json_decref(conf);
  json_decref(xcoms);
  return rc == 0 ? 0 : -1;
}

/* The plugin reads its own config sections through connection(): resolve
 * them as declared (the scheduler checked every section before it ran this
 * try; a file edited since is judged again here). A plugin built before
 * ABI minor 3 declares none and reads whatever section it knows: every
 * installed plugin's declarations then stand in. Returns 0, or -1 after
 * printing the problems to the try's log. */
static int resolve_sections(struct cli *c, const char *folder,
                            const struct dag_config_section_decl *sections, size_t n) {
  struct dag_plugin_catalog cat;
  memset(&cat, 0, sizeof(cat));
  if (n == 0) {
    dag_plugin_catalog_scan(&cat, folder);
    sections = cat.sections;
    n = cat.n_sections;
  }
  struct dag_diags diags = DAG_DIAGS_INIT;
  int rc = dag_config_check_plugins(&c->cfg, sections, n, false, &diags);
  if (rc) {
    fprintf(stderr, "[dagctl] the plugin's config sections have errors:\n");
    dag_diags_print(&diags, stderr);
  }
  dag_diags_free(&diags);
  dag_plugin_catalog_free(&cat);
  return rc ? -1 : 0;
}

int cmd_task(struct cli *c, int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dagctl __task TYPE (run by the scheduler, not by hand)\n");
    return CLI_USAGE;
  }
  const char *type = argv[1];
  c->plugin_sections_later = true; /* resolve_sections(), once the plugin is known */
  int rc = cli_open(c);
  if (rc) return rc;

  struct task_host th;
  memset(&th, 0, sizeof(th));
  th.cli = c;
  th.ready_fd = -1;
  parse_try_id(&th);
  const char *rfd = getenv("DAGCTL_READY_FD");
  if (rfd && *rfd) {
    char *end;
    long fd = strtol(rfd, &end, 10);
    /* Keep it from the plugin's own children: only this process reports. */
    if (*end == '\0' && fd > 2 && fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0) th.ready_fd = (int)fd;
  }
  const char *params = getenv("DAGCTL_TASK_PARAMS");
  th.params = json_loads(params && *params ? params : "{}", 0, NULL);
  if (!json_is_object(th.params)) {
    fprintf(stderr, "[dagctl] DAGCTL_TASK_PARAMS is not a JSON object\n");
    json_decref(th.params);
    free(th.task_id);
    return 1;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  char *folder = dag_plugins_folder(c->cfg.plugins_folder);
  const struct dagctl_task_type *tt = NULL;
  char *err = NULL;
  int exit_code = 1;
  struct dag_config_section_decl *sections = NULL;
  size_t n_sections = 0;
  if (dag_plugin_load_type_sections(folder, type, &tt, &sections, &n_sections, &err) != 0) {
    fprintf(stderr, "[dagctl] %s\n", err);
    free(err);
  } else {
    dag_plugin_type_describe(tt, &th.decl);
  }
  if (tt && resolve_sections(c, folder, sections, n_sections) != 0) tt = NULL;
  for (size_t i = 0; i < n_sections; i++)
    dag_config_section_decl_free(&sections[i]);
  free(sections);
  if (tt && prepare_params(&th) == 0) {
    th.host.size = sizeof(th.host);
    th.host.abi_version = DAGCTL_PLUGIN_ABI_VERSION;
    th.host.host_data = &th;
    th.host.log = host_log;
    th.host.param = host_param;
    th.host.connection = host_connection;
    th.host.context = host_context;
    th.host.xcom_push = host_xcom_push;
    th.host.xcom_pull = host_xcom_pull;
    th.host.cancelled = host_cancelled;
    th.host.service_ready = host_service_ready;
    th.host.abi_minor = DAGCTL_PLUGIN_ABI_MINOR;
    th.host.trigger_dag = host_trigger_dag;
    th.host.dag_state = host_dag_state;
    th.host.queue_email = host_queue_email;
    th.host.get_conn = host_get_conn;
    enum dagctl_result res = tt->execute(&th.host);
    switch (res) {
    case DAGCTL_OK:
      exit_code = 0;
      break;
    case DAGCTL_NOT_YET:
      exit_code = DAG_PLUGIN_EXIT_NOT_YET;
      break;
    case DAGCTL_SKIP:
      exit_code = DAG_PLUGIN_EXIT_SKIP;
      break;
    default:
      exit_code = 1;
      break;
    }
  }
  free(folder);
  for (size_t i = 0; i < th.n_strings; i++) free(th.strings[i]);
  free(th.strings);
  json_decref(th.params);
  dag_plugin_type_free(&th.decl);
  free(th.task_id);
  return exit_code;
}
