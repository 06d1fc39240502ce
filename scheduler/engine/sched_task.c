/* sched_task.c - from a task instance to a process: templates rendered,
 * environment built, log and status files named, the try's supervisor
 * spawned. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "fsutil.h"
#include "log.h"
#include "sched_int.h"
#include "store_vars.h"
#include "strbuf.h"
#include "template.h"
#include "timeutil.h"

char *sched_log_rel_path(const struct sched_ti *ti, int try_number) {
  const struct sched_run *r = ti->run;
  /* dag_id, run_id and task_id are validated to hold no '/' and not to
   * start with '.', so this path cannot leave the logs folder. A mapped
   * instance's tries have a folder of their own, as Airflow's
   * map_index=N. */
  if (ti->map_index >= 0)
    return xasprintf("%s/%s/%s/map_index=%d/%d.log", r->sd->dag_id, r->run_id,
                     r->ref->dag->tasks[ti->idx].id, ti->map_index, try_number);
  return xasprintf("%s/%s/%s/%d.log", r->sd->dag_id, r->run_id,
                   r->ref->dag->tasks[ti->idx].id, try_number);
}

char *sched_status_path(const struct sched_ti *ti, int try_number) {
  const struct sched_run *r = ti->run;
  char *rel = sched_log_rel_path(ti, try_number); /* ".../N.log" */
  char *path = xasprintf("%s/logs/%.*s.status", r->sd->s->cfg->home, (int)(strlen(rel) - 4), rel);
  free(rel);
  return path;
}

char *sched_try_id(const struct sched_ti *ti, int try_number) {
  const struct sched_run *r = ti->run;
  if (ti->map_index >= 0)
    return xasprintf("%s:%lld:%d:%s:%d", r->sd->s->home_id, (long long)r->pk, try_number,
                     r->ref->dag->tasks[ti->idx].id, ti->map_index);
  return xasprintf("%s:%lld:%d:%s", r->sd->s->home_id, (long long)r->pk, try_number,
                   r->ref->dag->tasks[ti->idx].id);
}

void sched_log_append(struct dag_scheduler *s, const char *rel, const char *fmt, ...) {
  char *path = xasprintf("%s/logs/%s", s->cfg->home, rel);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  /* A try that failed before its process was spawned (a template error)
   * has no log folder yet, and its reason belongs in its log. */
  if (fd < 0 && errno == ENOENT && dag_fs_mkdir_parents(path) == 0)
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  free(path);
  if (fd < 0) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  dag_log_redact(msg);
  ssize_t w = write(fd, msg, strlen(msg));
  DAG_UNUSED(w);
  free(msg);
  close(fd);
}

static void ctx_init(struct dag_template_ctx *ctx, const struct sched_ti *ti) {
  const struct sched_run *r = ti->run;
  const struct dag *dag = r->ref->dag;
  memset(ctx, 0, sizeof(*ctx));
  ctx->dag_id = dag->dag_id;
  ctx->task_id = dag->tasks[ti->idx].id;
  ctx->run_id = r->run_id;
  ctx->logical_date = r->logical_date;
  ctx->data_interval_start = r->interval_start;
  ctx->data_interval_end = r->interval_end;
  ctx->try_number = ti->try_number;
  ctx->params = dag->params;
  ctx->conf = r->conf;
}

struct strv {
  char **v;
  size_t n, cap;
};

static void strv_push(struct strv *sv, char *s) {
  sv->v = xgrow(sv->v, &sv->cap, sv->n + 2, sizeof(*sv->v));
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
}

static void strv_free(struct strv *sv) {
  for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
  free(sv->v);
}

/* Drop NAME=... from the environment so a later value wins. */
static void strv_unset(struct strv *sv, const char *name) {
  size_t len = strlen(name);
  for (size_t i = 0; i < sv->n; i++) {
    if (strncmp(sv->v[i], name, len) == 0 && sv->v[i][len] == '=') {
      free(sv->v[i]);
      memmove(&sv->v[i], &sv->v[i + 1], (sv->n - i) * sizeof(*sv->v));
      sv->n--;
      return;
    }
  }
}

static void env_set(struct strv *env, const char *name, const char *value) {
  strv_unset(env, name);
  strv_push(env, xasprintf("%s=%s", name, value));
}

static void env_set_cb(void *env, const char *name, const char *value) {
  env_set(env, name, value);
}

/* --- service readiness ------------------------------------------------------ */

/* A plugin task tells the scheduler "my service is up" by writing to a pipe
 * whose write end it inherits (its number in DAGCTL_READY_FD). */
struct sched_ready {
  uv_pipe_t pipe;
  struct sched_ti *ti; /* NULL once the task's process has ended */
  char buf[64];
};

static void ready_closed(uv_handle_t *h) {
  free(container_of((uv_pipe_t *)h, struct sched_ready, pipe));
}

void sched_task_close_ready(struct sched_ti *ti) {
  struct sched_ready *rd = ti->ready;
  if (!rd) return;
  ti->ready = NULL;
  rd->ti = NULL;
  uv_close((uv_handle_t *)&rd->pipe, ready_closed);
}

static void ready_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct sched_ready *rd = container_of((uv_pipe_t *)h, struct sched_ready, pipe);
  DAG_UNUSED(suggested);
  buf->base = rd->buf;
  buf->len = sizeof(rd->buf);
}

static void ready_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
  struct sched_ready *rd = container_of((uv_pipe_t *)stream, struct sched_ready, pipe);
  DAG_UNUSED(buf);
  struct sched_ti *ti = rd->ti;
  if (n > 0 && ti) {
    sched_service_ready(ti);
    return;
  }
  if (n < 0 && ti) sched_task_close_ready(ti);
}

/* Returns the write end for the child (to close after spawning), or -errno. */
static int open_ready_pipe(struct sched_ti *ti, struct strv *env) {
  struct dag_scheduler *s = ti->run->sd->s;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
  struct sched_ready *rd = xcalloc(1, sizeof(*rd));
  rd->ti = ti;
  uv_pipe_init(s->loop, &rd->pipe, 0);
  if (uv_pipe_open(&rd->pipe, fds[0]) != 0) {
    close(fds[0]);
    close(fds[1]);
    uv_close((uv_handle_t *)&rd->pipe, ready_closed);
    return -EIO;
  }
  uv_read_start((uv_stream_t *)&rd->pipe, ready_alloc, ready_read);
  ti->ready = rd;
  /* The executor hands it to the task as fd 3. */
  env_set(env, "DAGCTL_READY_FD", "3");
  return fds[1];
}

static int render(const char *tmpl, const struct dag_template_ctx *ctx, const char *what,
                  char **out, char **err) {
  char *msg = NULL;
  /* A shell command gets every value quoted: see template.h. */
  bool shell = strcmp(what, "command") == 0;
  if ((shell ? dag_template_render_shell : dag_template_render)(tmpl, ctx, out, &msg) == 0)
    return 0;
  *err = xasprintf("%s: %s", what, msg ? msg : "template error");
  free(msg);
  return DAG_ETEMPLATE;
}

static bool mentions(const char *s, const char *word) {
  return s && strstr(s, word);
}

/* Loading XComs or earlier runs costs a query: only for tasks whose
 * templates name them. */
static bool uses(const struct dag_task *t, const char *word) {
  if (mentions(t->command, word) || mentions(t->cwd, word)) return true;
  for (size_t i = 0; i < t->argc; i++)
    if (mentions(t->argv[i], word)) return true;
  for (size_t i = 0; i < t->n_env; i++)
    if (mentions(t->env[i].value, word)) return true;
  return false;
}

/* Airflow's prev_data_interval_start_success: the latest successful run
 * with an earlier logical date. */
static int prev_success(struct sched_run *r, struct dag_template_ctx *ctx) {
  struct dag_store_run_filter f = {.dag_id = r->ref->dag->dag_id, .has_state = true,
                                   .state = DAG_RUN_SUCCESS};
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  int rc = dag_store_find_runs(r->sd->s->store, &f, &runs, &n);
  if (rc != 0) return rc;
  for (size_t i = 0; i < n; i++) {
    if (runs[i].logical_date < r->logical_date) { /* newest first */
      ctx->has_prev_success = true;
      ctx->prev_data_interval_start_success = runs[i].data_interval_start;
      break;
    }
  }
  dag_store_runs_free(runs, n);
  return 0;
}

int sched_task_spawn(struct sched_ti *ti, char **err) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  struct dag_template_ctx ctx;
  ctx_init(&ctx, ti);
  /* {{ var.* }} and {{ conn.* }}: the scheduler's environment, then the store. */
  struct dag_store_lookup lookup = {s->store, s->base_env};
  dag_store_template_lookups(&lookup, &ctx);
  *err = NULL;

  struct strv argv = {0}, env = {0};
  char *cwd = NULL, *log_path = NULL, *file = NULL, *status_path = NULL, *header = NULL;
  int rc = 0;
  json_t *xcom = NULL, *item = NULL;
  /* A template that reads an XCom must not run with the values missing. */
  if (uses(t, "xcom") && (rc = dag_store_xcom_tree(s->store, r->pk, &xcom)) != 0) {
    *err = xasprintf("cannot read the run's XComs: %s", dag_store_errmsg(s->store));
    goto out;
  }
  /* A mapped instance's values, resolved now as Airflow resolves them when
   * the instance runs (sched_map.c). */
  if (ti->map_index >= 0 && (rc = sched_map_item(ti, &item, err)) != 0) goto out;
  ctx.mapped = item;
  ctx.map_index = ti->map_index;
  if (uses(t, "prev_data_interval_start_success") && (rc = prev_success(r, &ctx)) != 0) {
    *err = xasprintf("cannot read the DAG's earlier runs: %s", dag_store_errmsg(s->store));
    goto out;
  }
  ctx.xcom = xcom;

  if (t->type == DAG_TASK_SHELL) {
    char *cmd = NULL;
    if ((rc = render(t->command, &ctx, "command", &cmd, err)) != 0) goto out;
    strv_push(&argv, xstrdup("/bin/sh"));
    strv_push(&argv, xstrdup("-c"));
    strv_push(&argv, cmd);
    file = xstrdup("/bin/sh");
  } else if (t->type == DAG_TASK_EXEC) {
    for (size_t i = 0; i < t->argc; i++) {
      char *a = NULL;
      char what[32];
      snprintf(what, sizeof(what), "argv[%zu]", i);
      if ((rc = render(t->argv[i], &ctx, what, &a, err)) != 0) goto out;
      strv_push(&argv, a);
    }
    file = xstrdup(argv.v[0]);
  } else {
    /* A plugin runs in `dagctl __task TYPE`, a child like any task, so a
     * crash or hang in it never reaches the scheduler. */
    file = xstrdup(s->self_exe);
    strv_push(&argv, xstrdup("dagctl"));
    strv_push(&argv, xstrdup("--home"));
    strv_push(&argv, xstrdup(s->cfg->home));
    /* The child runs in the task's folder: relative defaults would move. */
    strv_push(&argv, xstrdup("--dags"));
    strv_push(&argv, xstrdup(s->cfg->dags_folder));
    if (s->cfg->config_file) {
      strv_push(&argv, xstrdup("--config"));
      strv_push(&argv, xstrdup(s->cfg->config_file));
    }
    strv_push(&argv, xstrdup("__task"));
    strv_push(&argv, xstrdup(t->type_name));
  }

  for (char **e = s->base_env; e && *e; e++) {
    /* dagctl's own settings (secrets among them: DAGCTL__SMTP__PASSWORD,
     * DAGCTL__WEB__TOKEN...) are for dagctl: a shell or exec task that
     * prints its environment must not leak them. Plugin tasks run dagctl
     * itself and load the configuration from them. */
    if (t->type != DAG_TASK_PLUGIN && strncmp(*e, "DAGCTL__", 8) == 0) continue;
    strv_push(&env, xstrdup(*e));
  }
  char iso[48], num[16];
  env_set(&env, "DAGCTL_HOME", s->cfg->home);
  env_set(&env, "DAGCTL_DAG_ID", r->sd->dag_id);
  env_set(&env, "DAGCTL_TASK_ID", t->id);
  env_set(&env, "DAGCTL_RUN_ID", r->run_id);
  dag_time_iso(r->logical_date, iso, sizeof(iso));
  env_set(&env, "DAGCTL_LOGICAL_DATE", iso);
  snprintf(num, sizeof(num), "%d", ti->try_number);
  env_set(&env, "DAGCTL_TRY_NUMBER", num);
  snprintf(num, sizeof(num), "%d", ti->map_index);
  env_set(&env, "DAGCTL_MAP_INDEX", num);
  char *try_id = sched_try_id(ti, ti->try_number);
  env_set(&env, DAG_TRY_ID_ENV, try_id);
  free(try_id);
  dag_time_iso(r->interval_start, iso, sizeof(iso));
  env_set(&env, "DAGCTL_DATA_INTERVAL_START", iso);
  dag_time_iso(r->interval_end, iso, sizeof(iso));
  env_set(&env, "DAGCTL_DATA_INTERVAL_END", iso);
  dag_template_env(&ctx, env_set_cb, &env);
  if (t->type != DAG_TASK_PLUGIN) {
    /* Where the task writes its XCom values (sched_xcom.c). */
    char *xcom_path = sched_xcom_path(ti, ti->try_number);
    sched_xcom_forget(ti, ti->try_number);
    env_set(&env, "DAGCTL_XCOM", xcom_path);
    free(xcom_path);
  }
  if (t->type == DAG_TASK_PLUGIN) {
    char *params = json_dumps(t->config ? t->config : json_object(), JSON_COMPACT);
    env_set(&env, "DAGCTL_TASK_PARAMS", params);
    free(params);
    if (ti->sensor_started) {
      dag_time_iso(ti->sensor_started, iso, sizeof(iso));
      env_set(&env, "DAGCTL_SENSOR_STARTED", iso);
    }
    if (s->kafka_bootstraps) env_set(&env, "DAGCTL_KAFKA_BOOTSTRAPS", s->kafka_bootstraps);
  }
  for (size_t i = 0; i < t->n_env; i++) {
    char *v = NULL;
    char *what = xasprintf("env.%s", t->env[i].name);
    rc = render(t->env[i].value, &ctx, what, &v, err);
    free(what);
    if (rc) goto out;
    env_set(&env, t->env[i].name, v);
    free(v);
  }

  if (t->cwd && (rc = render(t->cwd, &ctx, "cwd", &cwd, err)) != 0) goto out;

  char *rel = sched_log_rel_path(ti, ti->try_number);
  log_path = xasprintf("%s/logs/%s", s->cfg->home, rel);
  free(rel);
  if ((rc = dag_fs_mkdir_parents(log_path)) != 0) {
    *err = xasprintf("cannot create the log folder for %s: %s", log_path, strerror(-rc));
    goto out;
  }

  /* A missing working folder would fail the spawn with ENOENT, which reads
   * as if the program were missing: name the folder instead. One stat. */
  struct stat st;
  const char *dir = cwd ? cwd : s->cfg->home;
  if (stat(dir, &st) != 0) {
    int e = errno;
    *err = e == ENOENT || e == ENOTDIR
               ? xasprintf("working folder %s does not exist (cwd)", dir)
               : xasprintf("working folder %s: %s (cwd)", dir, strerror(e));
    rc = -e;
    goto out;
  }
  if (!S_ISDIR(st.st_mode)) {
    *err = xasprintf("working folder %s is not a folder (cwd)", dir);
    rc = -ENOTDIR;
    goto out;
  }

  char started[48];
  dag_time_iso(dag_time_now(), started, sizeof(started));
  struct dag_proc_spec spec;
  memset(&spec, 0, sizeof(spec));
  spec.file = file;
  spec.argv = argv.v;
  spec.cwd = cwd ? cwd : s->cfg->home;
  spec.log_path = log_path;
  spec.timeout_ms = (uint64_t)(t->args.execution_timeout_us / 1000);
  spec.kill_grace_ms = (uint64_t)(s->cfg->task_kill_grace_us / 1000);
  char mi[32] = "";
  if (ti->map_index >= 0) snprintf(mi, sizeof(mi), " map_index=%d", ti->map_index);
  header = xasprintf("[dagctl] %s.%s%s run=%s try %d of %d started at %s\n", r->sd->dag_id, t->id,
                     mi, r->run_id, ti->try_number, ti->max_tries + 1, started);
  dag_log_redact(header);
  spec.log_header = header;
  int ready_fd = -1;
  if (t->type == DAG_TASK_PLUGIN && (ready_fd = open_ready_pipe(ti, &env)) < 0) {
    *err = xasprintf("cannot create a pipe: %s", strerror(-ready_fd));
    rc = ready_fd;
    goto out;
  }
  spec.env = env.v;
  if (ready_fd >= 0) spec.pass_fd = ready_fd;
  spec.supervisor = s->supervisor;
  spec.pool = &s->pool;
  status_path = sched_status_path(ti, ti->try_number);
  spec.status_path = status_path;
  rc = s->ops.spawn(s->loop, &spec, sched_on_task_exit, ti, &ti->proc);
  /* Only the child keeps the write end: the next task must not inherit it. */
  if (ready_fd >= 0) close(ready_fd);
  if (rc) {
    ti->proc = NULL;
    sched_task_close_ready(ti);
    *err = xasprintf("cannot start %s: %s", file, uv_strerror(rc));
    /* The header the executor would have written: the reason follows. */
    sched_log_append(s, log_path + strlen(s->cfg->home) + strlen("/logs/"), "%s", header);
  }
out:
  json_decref(xcom);
  json_decref(item);
  strv_free(&argv);
  strv_free(&env);
  free(cwd);
  free(log_path);
  free(status_path);
  free(header);
  free(file);
  return rc;
}
