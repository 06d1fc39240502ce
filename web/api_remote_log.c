/* api_remote_log.c - the log of a try that ran on a worker of another
 * machine (core.executor: workers), read from its copy in the lake once
 * the worker made one (log_archive.h), else from that worker's log server
 * (log_server.c), for the log route (api_runs.c). The read blocks, so it
 * runs on libuv's thread pool with copies of what it needs; the
 * connection is held meanwhile and answered when it is back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "log_archive.h"
#include "remote_log.h"
#include "secret.h"
#include "store_vars.h"
#include "strbuf.h"
#include "web_api.h"
#include "web_int.h"

extern char **environ;

struct remote_read {
  uv_work_t work;
  struct dag_http_conn *conn; /* held */
  char *url, *secret, *rel;   /* owned copies; url NULL: no log server */
  struct dag_log_source *src; /* the log's copy in the lake; NULL: none */
  int64_t offset, tail, limit;
  struct strbuf body;
  struct dag_masker masker; /* what the log must not show (secret.h) */
  char *err;
  int rc;
};

/* The copy first (it outlives the worker), then the worker's log server. */
static void read_work(uv_work_t *wk) {
  struct remote_read *r = wk->data;
  char *copy_err = NULL;
  if (r->src) {
    char *data = NULL;
    size_t len = 0;
    r->rc = dag_log_source_read(r->src, r->rel, &data, &len, &copy_err);
    if (r->rc == 0) {
      if (r->offset > (int64_t)len) r->offset = (int64_t)len;
      sb_appendn(&r->body, data + r->offset, len - (size_t)r->offset);
      free(data);
      return;
    }
  }
  if (r->url) {
    r->rc = dag_remote_log_read(r->url, r->secret, r->rel, r->offset, &r->body, &r->err);
    if (r->rc && copy_err) {
      char *both = xasprintf("its copy: %s; its worker: %s", copy_err, r->err);
      free(r->err);
      r->err = both;
    }
    free(copy_err);
  } else {
    r->err = copy_err;
  }
}

static void read_done(uv_work_t *wk, int status) {
  struct remote_read *r = wk->data;
  if (dag_http_conn_release(r->conn)) {
    if (status < 0) {
      web_error(r->conn, 503, "Log not read", "the read was cancelled");
    } else if (r->rc == DAG_ENOTFOUND) {
      web_error(r->conn, 404, "Log not found", "%s", r->err);
    } else if (r->rc) {
      LOG_WARN("web: cannot read a log from its worker error=\"%s\"", r->err);
      web_error(r->conn, 502, "Log not read", "%s", r->err);
    } else {
      if (r->body.len) dag_masker_apply(&r->masker, r->body.buf, r->body.len);
      int64_t size = r->offset + (int64_t)r->body.len, start = r->offset, stop = size;
      if (r->tail > 0) start = r->tail >= size ? 0 : size - r->tail;
      if (r->limit > 0 && stop - start > r->limit) stop = start + r->limit;
      char *h = xasprintf("Cache-Control: no-store\r\nX-Log-Start: %lld\r\nX-Log-Size: %lld\r\n",
                          (long long)start, (long long)size);
      dag_http_respond(r->conn, 200, "text/plain; charset=utf-8", h,
                       sb_str(&r->body) + (start - r->offset), (size_t)(stop - start));
      free(h);
    }
  }
  if (r->secret) {
    memset(r->secret, 0, strlen(r->secret));
    free(r->secret);
  }
  free(r->url);
  dag_log_source_free(r->src);
  free(r->rel);
  free(r->err);
  sb_free(&r->body);
  dag_masker_free(&r->masker);
  free(r);
}

bool api_remote_log(struct dag_web *w, struct dag_http_conn *c, int64_t run_pk,
                    const char *task_id, int try_number, int64_t offset, int64_t tail,
                    int64_t limit) {
  struct dag_store_claim claim;
  if (dag_store_claim_of_try(w->store, run_pk, task_id, try_number, &claim) != 0) return false;
  if (!claim.worker_id) {
    web_error(c, 404, "Log not found", "try %d of task '%s' waits for a worker (queue %s)",
              try_number, task_id, claim.queue);
    dag_store_claim_clear(&claim);
    return true;
  }
  char *url = NULL, *base = NULL;
  dag_store_claim_log_archive(w->store, run_pk, task_id, try_number, &base);
  int rc = dag_store_worker_log_url(w->store, claim.worker_id, &url);
  if (!base && (rc || !url)) {
    web_error(c, 404, "Log not found",
              "try %d of task '%s' ran on worker %s, which serves no logs: its log is in that "
              "worker's DAGCTL_HOME/logs/%s", try_number, task_id, claim.worker_id,
              claim.log_path);
    dag_store_claim_clear(&claim);
    free(url);
    return true;
  }
  struct remote_read *r = xcalloc(1, sizeof(*r));
  r->conn = c;
  r->url = url;
  r->src = base ? dag_log_source_new(w->cfg, base) : NULL;
  free(base);
  r->secret = w->cfg->worker_log_server_secret ? xstrdup(w->cfg->worker_log_server_secret)
                                               : NULL;
  r->rel = xstrdup(claim.log_path);
  r->offset = tail > 0 ? 0 : offset;
  r->tail = tail;
  r->limit = limit;
  dag_store_claim_clear(&claim);
  r->masker = (struct dag_masker)DAG_MASKER_INIT;
  dag_store_secret_values(w->store, environ, dag_masker_add_cb, &r->masker);
  r->work.data = r;
  dag_http_conn_hold(c);
  if ((rc = uv_queue_work(w->loop, &r->work, read_work, read_done)) != 0) {
    r->rc = -EIO;
    r->err = xasprintf("cannot start the read: %s", uv_strerror(rc));
    read_done(&r->work, 0);
  }
  return true;
}
