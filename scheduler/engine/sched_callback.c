/* sched_callback.c - callbacks: Airflow's on_execute_callback,
 * on_success_callback, on_failure_callback, on_retry_callback and
 * on_skipped_callback of a task, and on_success_callback and
 * on_failure_callback of a DAG (its run's end), as commands.
 *
 * A state change queues its callback inside the transaction that records
 * it (sched_callback_task(), sched_callback_run()): the command is rendered
 * and its environment built then, while the task instance and its run are
 * at hand. It starts once that transaction has committed (the end of
 * sched_dispatch(): nothing runs for a change that was rolled back, and a
 * change is recorded by one scheduler only, so with several schedulers a
 * callback still runs once). Each runs in a process of its own, in a
 * session of its own, its output appended to the try's log (a run's
 * callbacks to logs/DAG/RUN/callbacks.log). Its outcome is only logged: a
 * callback that fails, hangs or cannot start never changes a state, and
 * the loop never waits for it. Past core.callback_timeout its process
 * group gets SIGTERM, then SIGKILL after core.task_kill_grace. A stopping
 * scheduler lets the running ones end (each is bounded by its timeout). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "duration.h"
#include "fsutil.h"
#include "log.h"
#include "sched_int.h"
#include "store_vars.h"
#include "strbuf.h"
#include "template.h"
#include "timeutil.h"

struct strv {
  char **v;
  size_t n, cap;
};

/* One callback, queued then running; owned by the scheduler's list until
 * it starts, then by its handles (freed when the last one has closed). */
struct sched_cb {
  struct sched_cb *next;
  struct dag_scheduler *s;
  enum dag_callback_event event;
  char *dag_id, *run_id, *task_id; /* task_id NULL: the run's */
  int try_number;
  char *label;    /* for log lines: "on_failure dag=D run=R task=T try=N" */
  char *shown;    /* the command as the log shows it */
  char *log_path; /* absolute */
  char *file;
  struct strv argv, env;
  uv_process_t proc;
  uv_timer_t timer;
  int open; /* handles not yet closed */
  bool timed_out, killed;
  uint64_t started_ms; /* uv_now() at spawn */
};

static void strv_push(struct strv *sv, char *s) {
  sv->v = xgrow(sv->v, &sv->cap, sv->n + 2, sizeof(*sv->v));
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
}

static void strv_free(struct strv *sv) {
  for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
  free(sv->v);
  memset(sv, 0, sizeof(*sv));
}

static void env_set(struct strv *env, const char *name, const char *value) {
  size_t len = strlen(name);
  for (size_t i = 0; i < env->n; i++) {
    if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=') {
      free(env->v[i]);
      env->v[i] = xasprintf("%s=%s", name, value);
      return;
    }
  }
  strv_push(env, xasprintf("%s=%s", name, value));
}

static void env_set_cb(void *env, const char *name, const char *value) {
  env_set(env, name, value);
}

static void cb_free(struct sched_cb *cb) {
  free(cb->dag_id);
  free(cb->run_id);
  free(cb->task_id);
  free(cb->label);
  free(cb->shown);
  free(cb->log_path);
  free(cb->file);
  strv_free(&cb->argv);
  strv_free(&cb->env);
  free(cb);
}

/* A line of ours in the callback's log file, as sched_log_append() writes
 * a try's (secrets masked). */
static void log_line(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(const char *path, const char *fmt, ...) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT && dag_fs_mkdir_parents(path) == 0)
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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

char *dag_run_callbacks_log_rel(const char *dag_id, const char *run_id) {
  /* Beside the run's task folders; ids hold no '/' and no leading '.'. */
  return xasprintf("%s/%s/callbacks.log", dag_id, run_id);
}

/* --- queueing ---------------------------------------------------------------------------- */

/* The command and environment of `on` for run r (ti NULL: the run's own).
 * Returns the callback, or NULL with the reason it cannot run in *why
 * (caller frees): a template that does not render. */
static struct sched_cb *prepare(struct sched_run *r, const struct sched_ti *ti,
                                const struct dag_callback *on, enum dag_callback_event ev,
                                const char *state, const char *why_text, char **why) {
  struct dag_scheduler *s = r->sd->s;
  const struct dag *dag = r->ref->dag;
  const struct dag_task *t = ti ? &dag->tasks[ti->idx] : NULL;
  struct dag_template_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.dag_id = dag->dag_id;
  ctx.task_id = t ? t->id : NULL;
  ctx.run_id = r->run_id;
  ctx.logical_date = r->logical_date;
  ctx.data_interval_start = r->interval_start;
  ctx.data_interval_end = r->interval_end;
  ctx.try_number = ti ? ti->try_number : 0;
  ctx.params = dag->params;
  ctx.conf = r->conf;
  /* A mapped instance's values; one that cannot be had leaves its names
   * undefined, and a template naming them says so. */
  ctx.map_index = ti ? ti->map_index : -1;
  json_t *item = NULL;
  char *item_err = NULL;
  if (ti && ti->map_index >= 0 && sched_map_item(ti, &item, &item_err) != 0) item = NULL;
  free(item_err);
  ctx.mapped = item;
  struct dag_store_lookup lookup = {s->store, s->base_env};
  dag_store_template_lookups(&lookup, &ctx);

  struct sched_cb *cb = xcalloc(1, sizeof(*cb));
  cb->s = s;
  cb->event = ev;
  cb->dag_id = xstrdup(dag->dag_id);
  cb->run_id = xstrdup(r->run_id);
  cb->task_id = t ? xstrdup(t->id) : NULL;
  cb->try_number = ti ? ti->try_number : 0;
  const char *name = dag_callback_name(ev);
  char mi[32] = "";
  if (ti && ti->map_index >= 0) snprintf(mi, sizeof(mi), " map_index=%d", ti->map_index);
  cb->label = t ? xasprintf("%s dag=%s run=%s task=%s%s try=%d", name, dag->dag_id, r->run_id,
                            t->id, mi, ti->try_number)
                : xasprintf("%s dag=%s run=%s", name, dag->dag_id, r->run_id);
  char *rel = ti ? sched_log_rel_path(ti, ti->try_number)
                 : dag_run_callbacks_log_rel(dag->dag_id, r->run_id);
  cb->log_path = xasprintf("%s/logs/%s", s->cfg->home, rel);
  free(rel);

  char *msg = NULL;
  if (on->command) {
    /* Every value quoted as one word, as in a shell task's command. */
    char *cmd = NULL;
    if (dag_template_render_shell(on->command, &ctx, &cmd, &msg) != 0) goto fail;
    strv_push(&cb->argv, xstrdup("/bin/sh"));
    strv_push(&cb->argv, xstrdup("-c"));
    strv_push(&cb->argv, cmd);
  } else {
    for (size_t i = 0; i < on->argc; i++) {
      char *a = NULL;
      if (dag_template_render(on->argv[i], &ctx, &a, &msg) != 0) goto fail;
      strv_push(&cb->argv, a);
    }
  }
  cb->file = xstrdup(cb->argv.v[0]);
  if (on->command) {
    cb->shown = xstrdup(cb->argv.v[2]);
  } else {
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < cb->argv.n; i++) {
      if (i) sb_appendn(&sb, " ", 1);
      dag_shell_quote(&sb, cb->argv.v[i], strlen(cb->argv.v[i]));
    }
    cb->shown = xstrdup(sb_str(&sb));
    sb_free(&sb);
  }

  /* The scheduler's environment without dagctl's own settings (secrets
   * among them), as a shell task gets it, then the context: Airflow's
   * names under DAGCTL_. */
  for (char **e = s->base_env; e && *e; e++)
    if (strncmp(*e, "DAGCTL__", 8) != 0) strv_push(&cb->env, xstrdup(*e));
  char iso[48], num[24];
  env_set(&cb->env, "DAGCTL_HOME", s->cfg->home);
  env_set(&cb->env, "DAGCTL_CALLBACK", name);
  env_set(&cb->env, "DAGCTL_DAG_ID", dag->dag_id);
  env_set(&cb->env, "DAGCTL_RUN_ID", r->run_id);
  if (t) {
    env_set(&cb->env, "DAGCTL_TASK_ID", t->id);
    snprintf(num, sizeof(num), "%d", ti->try_number);
    env_set(&cb->env, "DAGCTL_TRY_NUMBER", num);
    snprintf(num, sizeof(num), "%d", ti->max_tries + 1);
    env_set(&cb->env, "DAGCTL_MAX_TRIES", num);
    snprintf(num, sizeof(num), "%d", ti->map_index);
    env_set(&cb->env, "DAGCTL_MAP_INDEX", num);
    if (why_text) env_set(&cb->env, "DAGCTL_EXCEPTION", why_text);
  } else {
    env_set(&cb->env, "DAGCTL_REASON", why_text ? why_text : "");
  }
  env_set(&cb->env, "DAGCTL_STATE", state);
  dag_time_iso(r->logical_date, iso, sizeof(iso));
  env_set(&cb->env, "DAGCTL_LOGICAL_DATE", iso);
  dag_time_iso(r->interval_start, iso, sizeof(iso));
  env_set(&cb->env, "DAGCTL_DATA_INTERVAL_START", iso);
  dag_time_iso(r->interval_end, iso, sizeof(iso));
  env_set(&cb->env, "DAGCTL_DATA_INTERVAL_END", iso);
  env_set(&cb->env, "DAGCTL_LOG_FILE", cb->log_path);
  dag_template_env(&ctx, env_set_cb, &cb->env);
  json_decref(item);
  return cb;
fail:
  *why = xasprintf("%s: %s", on->command ? "command" : "argv", msg ? msg : "template error");
  free(msg);
  json_decref(item);
  cb_free(cb);
  return NULL;
}

static void enqueue(struct dag_scheduler *s, struct sched_cb *cb) {
  if (s->cb_pending_tail)
    s->cb_pending_tail->next = cb;
  else
    s->cb_pending = cb;
  s->cb_pending_tail = cb;
}

static void queue(struct sched_run *r, const struct sched_ti *ti, const struct dag_callback *on,
                  enum dag_callback_event ev, const char *state, const char *why_text) {
  struct dag_scheduler *s = r->sd->s;
  char *why = NULL;
  struct sched_cb *cb = prepare(r, ti, on, ev, state, why_text, &why);
  if (cb) {
    enqueue(s, cb);
    return;
  }
  const char *name = dag_callback_name(ev);
  if (ti) {
    const char *task = r->ref->dag->tasks[ti->idx].id;
    LOG_WARN("callback not run dag=%s run=%s task=%s try=%d callback=%s error=\"%s\"",
             r->sd->dag_id, r->run_id, task, ti->try_number, name, why);
    char *rel = sched_log_rel_path(ti, ti->try_number);
    sched_log_append(s, rel, "[dagctl] %s callback not run: %s\n", name, why);
    free(rel);
  } else {
    LOG_WARN("callback not run dag=%s run=%s callback=%s error=\"%s\"", r->sd->dag_id,
             r->run_id, name, why);
    char *rel = dag_run_callbacks_log_rel(r->sd->dag_id, r->run_id);
    sched_log_append(s, rel, "[dagctl] %s callback not run: %s\n", name, why);
    free(rel);
  }
  free(why);
}

void sched_callback_task(struct sched_ti *ti, enum dag_callback_event ev, const char *why) {
  const struct dag_task *t = &ti->run->ref->dag->tasks[ti->idx];
  const struct dag_callback *on = t->args.on[ev];
  if (!on) return;
  queue(ti->run, ti, on, ev, dag_task_state_name(ti->state), why);
}

void sched_callback_run(struct sched_run *r, enum dag_callback_event ev, const char *reason) {
  const struct dag_callback *on = r->ref->dag->on[ev];
  if (!on) return;
  queue(r, NULL, on, ev, ev == DAG_CB_SUCCESS ? "success" : "failed", reason);
}

void sched_callback_drop(struct dag_scheduler *s) {
  while (s->cb_pending) {
    struct sched_cb *cb = s->cb_pending;
    s->cb_pending = cb->next;
    cb_free(cb);
  }
  s->cb_pending_tail = NULL;
}

/* --- running ----------------------------------------------------------------------------- */

static void cb_closed(uv_handle_t *h) {
  struct sched_cb *cb = h->data;
  if (--cb->open > 0) return;
  struct dag_scheduler *s = cb->s;
  cb_free(cb);
  s->cb_running--;
  s->open_handles--;
  sched_maybe_closed(s);
}

static void cb_exit(uv_process_t *p, int64_t status, int sig) {
  struct sched_cb *cb = p->data;
  char took[32];
  dag_duration_format((int64_t)(uv_now(cb->s->loop) - cb->started_ms) * 1000, took, sizeof(took));
  if (cb->timed_out) {
    char limit[32];
    dag_duration_format(cb->s->cfg->callback_timeout_us, limit, sizeof(limit));
    LOG_WARN("callback timed out, killed %s timeout=%s", cb->label, limit);
    log_line(cb->log_path, "[dagctl] %s callback timed out after %s (core.callback_timeout), "
                           "killed\n", dag_callback_name(cb->event), limit);
  } else if (sig) {
    LOG_WARN("callback failed %s signal=%d", cb->label, sig);
    log_line(cb->log_path, "[dagctl] %s callback killed by signal %d (%s) after %s\n",
             dag_callback_name(cb->event), sig, strsignal(sig), took);
  } else if (status) {
    LOG_WARN("callback failed %s exit=%lld", cb->label, (long long)status);
    log_line(cb->log_path, "[dagctl] %s callback exited with status %lld after %s\n",
             dag_callback_name(cb->event), (long long)status, took);
  } else {
    LOG_DEBUG("callback done %s", cb->label);
    log_line(cb->log_path, "[dagctl] %s callback exited with status 0 after %s\n",
             dag_callback_name(cb->event), took);
  }
  uv_close((uv_handle_t *)&cb->timer, cb_closed);
  uv_close((uv_handle_t *)p, cb_closed);
}

static void on_timer(uv_timer_t *t) {
  struct sched_cb *cb = t->data;
  /* Its own session and group (UV_PROCESS_DETACHED): what it started
   * goes with it. */
  if (!cb->timed_out) {
    cb->timed_out = true;
    kill(-cb->proc.pid, SIGTERM);
    uint64_t grace = (uint64_t)(cb->s->cfg->task_kill_grace_us / 1000);
    uv_timer_start(t, on_timer, grace ? grace : 1, 0);
  } else if (!cb->killed) {
    cb->killed = true;
    kill(-cb->proc.pid, SIGKILL);
  }
}

/* Start one callback's process; 0, or a UV_* code (it did not start). */
static int spawn(struct sched_cb *cb, uint64_t timeout_ms) {
  struct dag_scheduler *s = cb->s;
  int rc = dag_fs_mkdir_parents(cb->log_path);
  if (rc) return rc;
  int fd = open(cb->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  char *head = xasprintf("[dagctl] %s callback started: %s\n", dag_callback_name(cb->event),
                         cb->shown);
  dag_log_redact(head);
  ssize_t w = write(fd, head, strlen(head));
  DAG_UNUSED(w);
  free(head);
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_INHERIT_FD, .data.fd = fd},
      {.flags = UV_INHERIT_FD, .data.fd = fd},
  };
  uv_process_options_t opts = {.file = cb->file, .args = cb->argv.v, .env = cb->env.v,
                               .cwd = s->cfg->home, .exit_cb = cb_exit,
                               .flags = UV_PROCESS_DETACHED, .stdio_count = 3, .stdio = stdio};
  cb->proc.data = cb;
  rc = uv_spawn(s->loop, &cb->proc, &opts);
  close(fd);
  if (rc) {
    /* A failed spawn still needs its handle closed. */
    cb->open = 1;
    s->cb_running++;
    s->open_handles++;
    uv_close((uv_handle_t *)&cb->proc, cb_closed);
    return rc;
  }
  cb->started_ms = uv_now(s->loop);
  cb->open = 2;
  s->cb_running++;
  s->open_handles++;
  uv_timer_init(s->loop, &cb->timer);
  cb->timer.data = cb;
  if (timeout_ms) uv_timer_start(&cb->timer, on_timer, timeout_ms, 0);
  return 0;
}

void sched_callback_flush(struct dag_scheduler *s) {
  if (s->store_failed) {
    /* What the store could not keep may not have happened. */
    sched_callback_drop(s);
    return;
  }
  uint64_t timeout_ms = (uint64_t)(s->cfg->callback_timeout_us / 1000);
  while (s->cb_pending) {
    struct sched_cb *cb = s->cb_pending;
    s->cb_pending = cb->next;
    if (!s->cb_pending) s->cb_pending_tail = NULL;
    cb->next = NULL;
    int rc;
    if (s->ops.callback) {
      struct sched_callback_spec spec = {
          .event = cb->event, .dag_id = cb->dag_id, .run_id = cb->run_id,
          .task_id = cb->task_id, .try_number = cb->try_number, .file = cb->file,
          .argv = cb->argv.v, .env = cb->env.v, .cwd = s->cfg->home,
          .log_path = cb->log_path, .timeout_ms = timeout_ms};
      rc = s->ops.callback(s->ops.ctx, &spec);
      if (rc == 0) {
        cb_free(cb);
        continue;
      }
    } else {
      rc = spawn(cb, timeout_ms);
      if (rc == 0) continue;
    }
    LOG_WARN("callback could not start %s error=\"%s\"", cb->label, uv_strerror(rc));
    log_line(cb->log_path, "[dagctl] %s callback could not start: %s: %s\n",
             dag_callback_name(cb->event), cb->file, uv_strerror(rc));
    /* A process handle that uv_spawn() refused is closed, and its
     * close callback frees the callback. */
    if (s->ops.callback || cb->open == 0) cb_free(cb);
  }
}
