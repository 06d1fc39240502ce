/* log_archive.c - finished task logs copied to the lake (log_archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "duration.h"
#include "error.h"
#include "lake.h"
#include "log.h"
#include "log_archive.h"

/* The delay before a failed copy is tried again doubles from the first to
 * the last. */
#define RETRY_FIRST_MS 1000
#define RETRY_LAST_MS 60000

/* --- the lake's options, copied from the config --------------------------------------- */

struct dag_log_source {
  char *base, *endpoint, *region, *access_key_id, *secret_access_key;
  bool path_style;
  long timeout_ms;
};

static void forget(char *secret) {
  if (!secret) return;
  memset(secret, 0, strlen(secret));
  free(secret);
}

struct dag_log_source *dag_log_source_new(const struct dag_config *cfg, const char *base) {
  struct dag_log_source *s = xcalloc(1, sizeof(*s));
  s->base = xstrdup(base);
  /* The lake section is the lake plugins' (tasks/lake): resolved once the
   * CLI checked it against their declaration; unset, their defaults. */
  s->endpoint = dag_config_value(cfg, "lake", "endpoint");
  s->region = dag_config_value(cfg, "lake", "region");
  s->access_key_id = dag_config_value(cfg, "lake", "access_key_id");
  s->secret_access_key = dag_config_value(cfg, "lake", "secret_access_key");
  char *v = dag_config_value(cfg, "lake", "path_style");
  s->path_style = v && strcmp(v, "true") == 0;
  free(v);
  int64_t us = 0;
  if ((v = dag_config_value(cfg, "lake", "timeout")) != NULL && dag_duration_parse(v, &us) == 0 &&
      us > 0)
    s->timeout_ms = (long)(us / 1000);
  free(v);
  return s;
}

const char *dag_log_source_base(const struct dag_log_source *s) { return s->base; }

void dag_log_source_free(struct dag_log_source *s) {
  if (!s) return;
  free(s->base);
  free(s->endpoint);
  free(s->region);
  free(s->access_key_id);
  forget(s->secret_access_key);
  free(s);
}

static int source_open(const struct dag_log_source *s, struct lake **lk, char **err) {
  struct lake_options o = {.url = s->base,
                           .endpoint = s->endpoint,
                           .region = s->region,
                           .path_style = s->path_style,
                           .access_key_id = s->access_key_id,
                           .secret_access_key = s->secret_access_key,
                           .timeout_ms = s->timeout_ms};
  return lake_open(&o, lk, err);
}

int dag_log_source_read(const struct dag_log_source *s, const char *rel_path, char **data,
                        size_t *len, char **err) {
  *data = NULL;
  *len = 0;
  *err = NULL;
  struct lake *lk = NULL;
  int rc = source_open(s, &lk, err);
  if (rc == 0) rc = lake_get(lk, rel_path, data, len, err);
  if (lk) lake_close(lk);
  return rc;
}

/* --- the worker's copies ------------------------------------------------------------------ */

struct copy {
  uv_work_t work;
  uv_timer_t retry;
  struct dag_log_archive *a;
  int64_t claim_id;
  char *rel;
  bool copied;   /* in the lake; what is left is to record it */
  bool in_flight;
  unsigned delay_ms; /* before the next attempt */
  int rc;            /* of the last attempt, set on the thread pool */
  char *err;
  struct copy *next, *prev;
};

struct dag_log_archive {
  uv_loop_t *loop;
  dag_store *store;
  char *logs;                 /* DAGCTL_HOME/logs */
  struct dag_log_source *dst; /* the base and how to reach it */
  struct copy *copies;
  int pending;
  bool closing;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

int dag_log_archive_start(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                          struct dag_log_archive **out) {
  *out = NULL;
  if (!cfg->worker_remote_logging) return 0;
  char *base = NULL;
  if (cfg->worker_remote_base_log_folder) {
    base = xstrdup(cfg->worker_remote_base_log_folder);
  } else {
    char *lake = dag_config_value(cfg, "lake", "url");
    base = lake ? xasprintf("%s/logs", lake) : xasprintf("%s/lake/logs", cfg->home);
    free(lake);
  }
  struct dag_log_archive *a = xcalloc(1, sizeof(*a));
  a->loop = loop;
  a->store = store;
  a->logs = xasprintf("%s/logs", cfg->home);
  a->dst = dag_log_source_new(cfg, base);
  free(base);
  *out = a;
  return 0;
}

const char *dag_log_archive_base(const struct dag_log_archive *a) { return a->dst->base; }

int dag_log_archive_pending(const struct dag_log_archive *a) { return a->pending; }

static void maybe_closed(struct dag_log_archive *a) {
  if (!a->closing || a->pending > 0) return;
  void (*cb)(void *) = a->closed_cb;
  void *ctx = a->closed_ctx;
  free(a->logs);
  dag_log_source_free(a->dst);
  free(a);
  if (cb) cb(ctx);
}

static void copy_closed(uv_handle_t *h) {
  struct copy *cp = h->data;
  struct dag_log_archive *a = cp->a;
  if (cp->prev)
    cp->prev->next = cp->next;
  else
    a->copies = cp->next;
  if (cp->next) cp->next->prev = cp->prev;
  free(cp->rel);
  free(cp->err);
  free(cp);
  a->pending--;
  maybe_closed(a);
}

static void copy_end(struct copy *cp) {
  uv_close((uv_handle_t *)&cp->retry, copy_closed);
}

/* The whole log file, read on the thread pool. */
static int read_log(const char *path, char **data, size_t *len, char **err) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    *err = xasprintf("cannot read %s: %s", path, strerror(e));
    return -e;
  }
  char *buf = xmalloc((size_t)sb.st_size + 1);
  size_t got = 0;
  ssize_t r = 0;
  while (got < (size_t)sb.st_size && (r = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
    got += (size_t)r;
  int e = errno;
  close(fd);
  if (r < 0) {
    free(buf);
    *err = xasprintf("cannot read %s: %s", path, strerror(e));
    return -e;
  }
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return 0;
}

static void copy_work(uv_work_t *wk) {
  struct copy *cp = wk->data;
  free(cp->err);
  cp->err = NULL;
  char *path = xasprintf("%s/%s", cp->a->logs, cp->rel);
  char *data = NULL;
  size_t len = 0;
  struct lake *lk = NULL;
  cp->rc = read_log(path, &data, &len, &cp->err);
  if (cp->rc == 0) cp->rc = source_open(cp->a->dst, &lk, &cp->err);
  if (cp->rc == 0) cp->rc = lake_put(lk, cp->rel, data, len, &cp->err);
  if (lk) lake_close(lk);
  free(data);
  free(path);
}

static void copy_start(struct copy *cp);

static void on_retry(uv_timer_t *h) { copy_start(h->data); }

/* Record a copy made, or schedule the next attempt. */
static void copy_done(uv_work_t *wk, int status) {
  struct copy *cp = wk->data;
  struct dag_log_archive *a = cp->a;
  cp->in_flight = false;
  if (status == 0 && cp->rc == 0) cp->copied = true;
  int rc = cp->copied ? dag_store_claim_set_log_archive(a->store, cp->claim_id, a->dst->base)
                      : cp->rc;
  if (rc == 0 || rc == DAG_ENOTFOUND) {
    /* DAG_ENOTFOUND: the run was deleted meanwhile; nobody will read it. */
    LOG_DEBUG("finished log copied log=%s to=%s", cp->rel, a->dst->base);
    copy_end(cp);
    return;
  }
  const char *why = cp->copied ? dag_strerror(rc) : cp->err ? cp->err : dag_strerror(rc);
  if (a->closing) {
    LOG_WARN("finished log not copied: the worker stops; it stays in the logs folder log=%s "
             "to=%s error=\"%s\"", cp->rel, a->dst->base, why);
    copy_end(cp);
    return;
  }
  LOG_WARN("cannot %s a finished log, will try again in %u ms log=%s to=%s error=\"%s\"",
           cp->copied ? "record the copy of" : "copy", cp->delay_ms, cp->rel, a->dst->base, why);
  uv_timer_start(&cp->retry, on_retry, cp->delay_ms, 0);
  cp->delay_ms = cp->delay_ms * 2 > RETRY_LAST_MS ? RETRY_LAST_MS : cp->delay_ms * 2;
}

static void copy_start(struct copy *cp) {
  cp->in_flight = true;
  if (cp->copied) {
    copy_done(&cp->work, 0);
    return;
  }
  int rc = uv_queue_work(cp->a->loop, &cp->work, copy_work, copy_done);
  if (rc) {
    cp->rc = rc;
    free(cp->err);
    cp->err = xasprintf("cannot start the copy: %s", uv_strerror(rc));
    copy_done(&cp->work, 0);
  }
}

void dag_log_archive_add(struct dag_log_archive *a, int64_t claim_id, const char *log_path) {
  if (a->closing) return;
  struct copy *cp = xcalloc(1, sizeof(*cp));
  cp->a = a;
  cp->claim_id = claim_id;
  cp->rel = xstrdup(log_path);
  cp->delay_ms = RETRY_FIRST_MS;
  cp->work.data = cp;
  uv_timer_init(a->loop, &cp->retry);
  cp->retry.data = cp;
  cp->next = a->copies;
  if (a->copies) a->copies->prev = cp;
  a->copies = cp;
  a->pending++;
  copy_start(cp);
}

void dag_log_archive_close(struct dag_log_archive *a, void (*closed_cb)(void *ctx), void *ctx) {
  a->closing = true;
  a->closed_cb = closed_cb;
  a->closed_ctx = ctx;
  /* Those waiting for their next attempt are given up now; those on the
   * thread pool end by themselves (copy_done sees `closing`). */
  for (struct copy *cp = a->copies; cp; cp = cp->next) {
    if (cp->in_flight || uv_is_closing((uv_handle_t *)&cp->retry)) continue;
    uv_timer_stop(&cp->retry);
    LOG_WARN("finished log not copied: the worker stops; it stays in the logs folder log=%s "
             "to=%s", cp->rel, a->dst->base);
    copy_end(cp);
  }
  maybe_closed(a);
}
