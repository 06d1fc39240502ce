/* plugin_dbt.c - the dbt task type: compile, run or test a dbt project.
 *
 * Params: command (compile | run | test), select (dbt's --select), project_dir
 * (relative to the dags folder), target_dir (default
 * DAGCTL_HOME/dbt/<project folder>/target), vars (a mapping, dbt's --vars),
 * threads (4, dbt's threads: models built side by side, each on its own
 * warehouse connection), full_refresh (false: dbt's --full-refresh,
 * incremental models built in full).
 * The warehouse is the configuration's `warehouse` section. XCom: for run,
 * models_ok/models_failed/models_skipped; for test, tests_passed,
 * tests_failed, tests_warned. */
#include <dagctl/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "dbt.h"
#include "wh.h"

static void host_log(void *ud, int level, const char *msg) {
  const struct dagctl_host *h = ud;
  h->log(h, (enum dagctl_log_level)level, "%s", msg);
}

static int host_cancelled(void *ud) {
  const struct dagctl_host *h = ud;
  return h->cancelled(h);
}

static void push_int(const struct dagctl_host *h, const char *key, int v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%d", v);
  h->xcom_push(h, key, buf);
}

static enum dagctl_result dbt_execute(const struct dagctl_host *h) {
  const char *command = h->param(h, "command");
  const char *select = h->param(h, "select");
  const char *project = h->param(h, "project_dir");
  const char *target = h->param(h, "target_dir");
  const char *vars = h->param(h, "vars");
  const char *home = h->context(h, "home");
  const char *threads_s = h->param(h, "threads");
  long threads = 4;
  if (threads_s) {
    char *end;
    threads = strtol(threads_s, &end, 10);
    if (*threads_s == '\0' || *end || threads < 1 || threads > 64) {
      h->log(h, DAGCTL_LOG_ERROR, "param threads: expected an integer from 1 to 64, got '%s'",
             threads_s);
      return DAGCTL_FAILED;
    }
  }
  if (command == NULL || (strcmp(command, "compile") != 0 && strcmp(command, "run") != 0 &&
                          strcmp(command, "test") != 0)) {
    h->log(h, DAGCTL_LOG_ERROR, "param command: expected compile, run or test, got '%s'",
           command ? command : "(none)");
    return DAGCTL_FAILED;
  }
  if (project == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "param project_dir: required (the dbt project's folder)");
    return DAGCTL_FAILED;
  }
  char *project_dir = NULL, *target_dir = NULL;
  if (project[0] == '/') {
    project_dir = xstrdup(project);
  } else {
    const char *dags = h->connection(h, "core", "dags_folder");
    project_dir = xasprintf("%s/%s", dags ? dags : ".", project);
  }
  if (target == NULL) {
    const char *base = strrchr(project_dir, '/');
    target_dir = xasprintf("%s/dbt/%s/target", home ? home : ".", base ? base + 1 : project_dir);
  } else {
    target_dir = xstrdup(target);
  }

  struct dbt_options o = {.project_dir = project_dir,
                          .target_dir = target_dir,
                          .vars_json = vars,
                          .log = host_log,
                          .log_ud = (void *)h,
                          .cancelled = host_cancelled,
                          .cancel_ud = (void *)h};
  struct wh *w = NULL;
  char *err = NULL;
  enum dagctl_result out = DAGCTL_FAILED;
  const char *url = h->connection(h, "warehouse", "url");
  char *fallback = url ? NULL : xasprintf("%s/warehouse.db", home ? home : ".");
  struct wh_options wo = {.url = url ? url : fallback,
                          .password = h->connection(h, "warehouse", "password")};
  o.threads = (int)threads;
  /* The host has checked it is a boolean (true/false, yes/no, 1/0). */
  const char *fr = h->param(h, "full_refresh");
  o.full_refresh = fr && (strcasecmp(fr, "true") == 0 || strcmp(fr, "1") == 0 ||
                          strcasecmp(fr, "yes") == 0);
  o.wh_opts = &wo;
  if (strcmp(command, "compile") != 0) {
    int rc = wh_open(&wo, &w, &err);
    if (rc < 0) {
      h->log(h, DAGCTL_LOG_ERROR, "%s", err);
      goto done;
    }
    /* PostgreSQL's default schema; SQLite's is main. */
    o.default_schema = wh_backend(w) == WH_POSTGRES ? "public" : "main";
  }

  struct dbt_project *p = NULL;
  if (dbt_project_load(&o, &p, &err) < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "dbt project %s has errors:\n%s", project_dir, err);
    goto done;
  }
  h->log(h, DAGCTL_LOG_INFO, "dbt %s%s%s: project %s (%zu models, %zu tests)%s%s", command,
         select ? " --select " : "", select ? select : "", project_dir, dbt_model_count(p),
         dbt_test_count(p), w ? ", warehouse " : "", w ? wh_describe(w) : "");
  int rc;
  if (strcmp(command, "compile") == 0) {
    rc = dbt_compile(p, select, &err);
  } else if (strcmp(command, "run") == 0) {
    struct dbt_run_result r;
    rc = dbt_run(p, w, select, &r, &err);
    push_int(h, "models_ok", r.ok);
    push_int(h, "models_failed", r.failed);
    push_int(h, "models_skipped", r.skipped);
  } else {
    struct dbt_test_result r;
    rc = dbt_test(p, w, select, &r, &err);
    push_int(h, "tests_passed", r.passed);
    push_int(h, "tests_failed", r.failed);
    push_int(h, "tests_warned", r.warned);
  }
  if (rc < 0)
    h->log(h, DAGCTL_LOG_ERROR, "dbt %s failed: %s", command, err);
  else
    out = DAGCTL_OK;
  dbt_project_free(p);
done:
  free(err);
  wh_close(w);
  free(fallback);
  free(project_dir);
  free(target_dir);
  return out;
}

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "command", NULL,
                 "compile, run or test"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "project_dir", NULL,
                 "the dbt project's folder, relative to the dags folder"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "select", NULL, "dbt's --select; default: everything"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "target_dir", NULL,
                 "default: DAGCTL_HOME/dbt/<project folder>/target"),
    DAGCTL_PARAM(DAGCTL_PARAM_MAPPING, 0, "vars", NULL, "dbt's --vars"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "full_refresh", "false",
                 "dbt's --full-refresh: incremental models built in full"),
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "threads", "4",
                 "models built side by side (dbt's threads), each on its own connection"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "dbt",
     "dbt compile | run | test of a dbt project, on the warehouse", dbt_execute, params,
     sizeof(params) / sizeof(params[0])},
};

static const struct dagctl_config_section *const sections[] = {&wh_config_section};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "dbt", "1.0.0", types,
    sizeof(types) / sizeof(types[0]), sections, sizeof(sections) / sizeof(sections[0]),
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
