/* fake_host.c - see fake_host.h. */
#include "fake_host.h"

#include <dlfcn.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "template.h"
#include "timeutil.h"

#define XCOM_MAX (64 * 1024)

static struct fake_host *self(const struct dagctl_host *h) {
  return (struct fake_host *)h;
}

static const char *find(const struct fake_kv *kv, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kv[i].name, name) == 0) return kv[i].value;
  return NULL;
}

static void set(struct fake_kv **kv, size_t *n, const char *name, const char *value) {
  for (size_t i = 0; i < *n; i++) {
    if (strcmp((*kv)[i].name, name) != 0) continue;
    free((*kv)[i].value);
    if (value) {
      (*kv)[i].value = xstrdup(value);
    } else {
      free((*kv)[i].name);
      (*kv)[i] = (*kv)[--*n];
    }
    return;
  }
  if (value == NULL) return;
  *kv = xrealloc(*kv, (*n + 1) * sizeof(**kv));
  (*kv)[*n].name = xstrdup(name);
  (*kv)[*n].value = xstrdup(value);
  (*n)++;
}

static void clear(struct fake_kv **kv, size_t *n) {
  for (size_t i = 0; i < *n; i++) {
    free((*kv)[i].name);
    free((*kv)[i].value);
  }
  free(*kv);
  *kv = NULL;
  *n = 0;
}

static void host_log(const struct dagctl_host *h, enum dagctl_log_level level, const char *fmt,
                     ...) {
  static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  struct fake_host *f = self(h);
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  const char *name = (unsigned)level < 4 ? names[level] : "?";
  sb_appendf(&f->log, "%s %s\n", name, msg);
  if (f->echo) fprintf(stderr, "%s %s\n", name, msg);
  if (f->on_log) f->on_log(f, name, msg);
  free(msg);
}

static const char *host_param(const struct dagctl_host *h, const char *name) {
  return find(self(h)->rendered, self(h)->n_rendered, name);
}

static const char *host_connection(const struct dagctl_host *h, const char *section,
                                   const char *key) {
  char *name = xasprintf("%s.%s", section, key);
  const char *v = find(self(h)->conns, self(h)->n_conns, name);
  free(name);
  return v;
}

static const char *host_context(const struct dagctl_host *h, const char *name) {
  return find(self(h)->ctx, self(h)->n_ctx, name);
}

/* The real host's rules: valid JSON, at most 64 KiB. */
static int host_xcom_push(const struct dagctl_host *h, const char *key, const char *value) {
  if (strlen(value) > XCOM_MAX) return -1;
  json_error_t e;
  json_t *j = json_loads(value, JSON_DECODE_ANY, &e);
  if (j == NULL) return -1;
  json_decref(j);
  struct fake_host *f = self(h);
  set(&f->xcom, &f->n_xcom, key, value);
  return 0;
}

static const char *host_xcom_pull(const struct dagctl_host *h, const char *task_id,
                                  const char *key) {
  (void)h;
  (void)task_id;
  (void)key;
  return NULL;
}

static int host_cancelled(const struct dagctl_host *h) {
  struct fake_host *f = self(h);
  f->cancelled_calls++;
  if (f->cancel_flag && *f->cancel_flag) return 1;
  return f->cancel_after > 0 && f->cancelled_calls >= f->cancel_after;
}

static void host_service_ready(const struct dagctl_host *h) {
  host_log(h, DAGCTL_LOG_INFO, "(service ready)");
}

void fake_host_init(struct fake_host *f) {
  memset(f, 0, sizeof(*f));
  f->host.size = sizeof(struct dagctl_host);
  f->host.abi_version = DAGCTL_PLUGIN_ABI_VERSION;
  f->host.log = host_log;
  f->host.param = host_param;
  f->host.connection = host_connection;
  f->host.context = host_context;
  f->host.xcom_push = host_xcom_push;
  f->host.xcom_pull = host_xcom_pull;
  f->host.cancelled = host_cancelled;
  f->host.service_ready = host_service_ready;
}

void fake_host_free(struct fake_host *f) {
  clear(&f->params, &f->n_params);
  clear(&f->rendered, &f->n_rendered);
  clear(&f->conns, &f->n_conns);
  clear(&f->ctx, &f->n_ctx);
  clear(&f->xcom, &f->n_xcom);
  sb_free(&f->log);
  if (f->dl) dlclose(f->dl);
  f->dl = NULL;
}

void fake_host_param(struct fake_host *f, const char *name, const char *value) {
  set(&f->params, &f->n_params, name, value);
}

void fake_host_conn(struct fake_host *f, const char *section, const char *key,
                    const char *value) {
  char *name = xasprintf("%s.%s", section, key);
  set(&f->conns, &f->n_conns, name, value);
  free(name);
}

void fake_host_ctx(struct fake_host *f, const char *name, const char *value) {
  set(&f->ctx, &f->n_ctx, name, value);
}

const char *fake_host_xcom(const struct fake_host *f, const char *key) {
  return find(f->xcom, f->n_xcom, key);
}

const struct dagctl_task_type *fake_host_load(struct fake_host *f, const char *path,
                                              const char *name) {
  if (f->dl == NULL) {
    f->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (f->dl == NULL) {
      fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
      return NULL;
    }
  }
  const struct dagctl_plugin *(*init)(uint32_t);
  /* POSIX's blessed way to turn a void * into a function pointer. */
  *(void **)&init = dlsym(f->dl, DAGCTL_PLUGIN_ENTRY);
  if (init == NULL) {
    fprintf(stderr, "%s: no %s\n", path, DAGCTL_PLUGIN_ENTRY);
    return NULL;
  }
  const struct dagctl_plugin *p = init(DAGCTL_PLUGIN_ABI_VERSION);
  if (p == NULL || p->abi_version != DAGCTL_PLUGIN_ABI_VERSION) {
    fprintf(stderr, "%s: refuses ABI version %d\n", path, DAGCTL_PLUGIN_ABI_VERSION);
    return NULL;
  }
  /* Entries may be larger than this host's struct: step by their size. */
  for (size_t i = 0; i < p->n_types; i++) {
    const struct dagctl_task_type *t =
        (const void *)((const char *)p->types + i * p->types[0].size);
    if (strcmp(t->name, name) == 0) return t;
  }
  fprintf(stderr, "%s: no task type %s\n", path, name);
  return NULL;
}

enum dagctl_result fake_host_run(struct fake_host *f, const struct dagctl_task_type *t) {
  sb_reset(&f->log);
  clear(&f->xcom, &f->n_xcom);
  f->cancelled_calls = 0;
  clear(&f->rendered, &f->n_rendered);
  struct dag_template_ctx ctx = {
      .dag_id = find(f->ctx, f->n_ctx, "dag_id"),
      .task_id = find(f->ctx, f->n_ctx, "task_id"),
      .run_id = find(f->ctx, f->n_ctx, "run_id"),
  };
  const char *v = find(f->ctx, f->n_ctx, "try_number");
  ctx.try_number = v ? (int)strtol(v, NULL, 10) : 1;
  char *midnight = NULL;
  if ((v = find(f->ctx, f->n_ctx, "logical_date")) == NULL &&
      (v = find(f->ctx, f->n_ctx, "ds")) != NULL)
    v = midnight = xasprintf("%sT00:00:00Z", v);
  if (v) dag_time_parse_iso(v, &ctx.logical_date, NULL, 0);
  free(midnight);
  ctx.data_interval_start = ctx.data_interval_end = ctx.logical_date;
  for (size_t i = 0; i < f->n_params; i++) {
    char *out = NULL, *err = NULL;
    if (dag_template_render(f->params[i].value, &ctx, &out, &err) != 0) {
      host_log(&f->host, DAGCTL_LOG_ERROR, "param %s: %s", f->params[i].name, err);
      free(err);
      return DAGCTL_FAILED;
    }
    set(&f->rendered, &f->n_rendered, f->params[i].name, out);
    free(out);
  }
  return t->execute(&f->host);
}
