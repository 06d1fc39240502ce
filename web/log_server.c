/* log_server.c - a worker's log server (log_server.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "http.h"
#include "ids.h"
#include "log.h"
#include "log_server.h"
#include "log_token.h"
#include "web_int.h"

struct log_wait;

struct dag_log_server {
  const struct dag_config *cfg;
  struct dag_http_server *http;
  struct log_wait *waits; /* requests held until their log grows */
  int open_handles;       /* of waits being closed */
  bool http_closed;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

/* A request for what a log holds past its end (?wait=MS): held, with an
 * inotify watch on the file and a timer, until the file grows or the wait
 * is over, then answered like any other (an empty body when nothing came).
 * A follower thus reads a running try's lines as they are written, one
 * request per batch, and the loop never waits. */
struct log_wait {
  uv_fs_event_t grow;
  uv_timer_t timer;
  struct dag_log_server *s;
  struct dag_http_conn *conn; /* held */
  int fd;                     /* owned until handed to the answer */
  int64_t offset;
  bool answered;
  int open_handles;
  struct log_wait *next, *prev;
};

static void maybe_freed(struct dag_log_server *s) {
  if (!s->http_closed || s->open_handles > 0) return;
  void (*cb)(void *) = s->closed_cb;
  void *cb_ctx = s->closed_ctx;
  free(s);
  if (cb) cb(cb_ctx);
}

static void wait_handle_closed(uv_handle_t *h) {
  struct log_wait *lw = h->data;
  struct dag_log_server *s = lw->s;
  s->open_handles--;
  if (--lw->open_handles == 0) free(lw);
  maybe_freed(s);
}

/* Answer the held request with what the file holds past its offset (cut:
 * nothing is sent, the connection is gone) and let the wait go. */
static void wait_end(struct log_wait *lw, bool cut) {
  if (lw->answered) return;
  lw->answered = true;
  struct dag_log_server *s = lw->s;
  if (lw->prev)
    lw->prev->next = lw->next;
  else
    s->waits = lw->next;
  if (lw->next) lw->next->prev = lw->prev;
  struct stat sb;
  bool open = dag_http_conn_release(lw->conn);
  if (open && !cut && fstat(lw->fd, &sb) == 0) {
    int64_t size = sb.st_size > lw->offset ? (int64_t)sb.st_size : lw->offset;
    dag_http_respond_file(lw->conn, 200, "text/plain; charset=utf-8",
                          "Cache-Control: no-store\r\n", lw->fd, lw->offset, size - lw->offset);
  } else {
    close(lw->fd);
  }
  lw->fd = -1;
  uv_close((uv_handle_t *)&lw->grow, wait_handle_closed);
  uv_close((uv_handle_t *)&lw->timer, wait_handle_closed);
}

static void on_grow(uv_fs_event_t *h, const char *name, int events, int status) {
  (void)name;
  (void)events;
  (void)status; /* an error of the watch ends the wait too: the follower asks again */
  wait_end(h->data, false);
}

static void on_wait_over(uv_timer_t *h) { wait_end(h->data, false); }

/* Hold `c` until the log at `path` (open as fd, which this takes) grows
 * past `offset`, or `wait_ms` passes. */
static void wait_for_more(struct dag_log_server *s, struct dag_http_conn *c, const char *path,
                          int fd, int64_t offset, uint64_t wait_ms) {
  struct log_wait *lw = xcalloc(1, sizeof(*lw));
  lw->s = s;
  lw->conn = c;
  lw->fd = fd;
  lw->offset = offset;
  uv_loop_t *loop = dag_http_conn_loop(c);
  uv_fs_event_init(loop, &lw->grow);
  uv_timer_init(loop, &lw->timer);
  lw->grow.data = lw->timer.data = lw;
  s->open_handles += 2;
  lw->open_handles = 2;
  lw->next = s->waits;
  if (s->waits) s->waits->prev = lw;
  s->waits = lw;
  dag_http_conn_hold(c);
  LOG_DEBUG("log server: a request waits for the log to grow client=%s path=%s offset=%lld",
            dag_http_conn_client(c), path, (long long)offset);
  uv_timer_start(&lw->timer, on_wait_over, wait_ms, 0);
  /* Watch, then look again: a write in between is not missed. */
  struct stat sb;
  if (uv_fs_event_start(&lw->grow, on_grow, path, 0) != 0 ||
      (fstat(fd, &sb) == 0 && sb.st_size > offset))
    wait_end(lw, false);
}

static void answer(struct dag_http_conn *c, int status, const char *msg) {
  dag_http_respond(c, status, "text/plain; charset=utf-8", NULL, msg, strlen(msg));
}

/* The query's parameter `name` as a count: 0 when absent, -1 when not a
 * non-negative number. */
static long long query_count(const struct dag_http_request *req, const char *name) {
  char *v = dag_http_query_param(req->query, name);
  if (!v) return 0;
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || end == v || *end || n < 0) n = -1;
  free(v);
  return n;
}

static void handle(void *ctx, struct dag_http_conn *c, const struct dag_http_request *req) {
  struct dag_log_server *s = ctx;
  if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
    dag_http_respond(c, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
                     "GET /log/PATH\n", 14);
    return;
  }
  if (strncmp(req->path, "/log/", 5) != 0) {
    answer(c, 404, "not found: this server has only /log/PATH\n");
    return;
  }
  char *rel = dag_http_decode(req->path + 5, strlen(req->path + 5), false);
  if (!rel || !dag_id_rel_path_is_safe(rel)) {
    LOG_WARN("log server: refused a path outside the logs folder client=%s",
             dag_http_conn_client(c));
    answer(c, 400, "refused: the path leaves the logs folder\n");
    free(rel);
    return;
  }
  const char *auth = dag_http_header(req, "Authorization");
  const char *token = auth && strncmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
  if (!dag_log_token_check(s->cfg->worker_log_server_secret, rel, token,
                           (int64_t)time(NULL))) {
    /* The token is not logged: a valid one for another path is still a
     * credential for a while. */
    LOG_WARN("log server: refused a request without a valid token client=%s path=%s",
             dag_http_conn_client(c), rel);
    answer(c, 403, "refused: no valid token for this log (worker.log_server_secret)\n");
    free(rel);
    return;
  }
  char *path = NULL;
  int rc = web_log_path(s->cfg->home, rel, &path);
  free(rel);
  if (rc == DAG_EINVAL) {
    answer(c, 400, "refused: the path leaves the logs folder\n");
    return;
  }
  int fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    if (fd >= 0) close(fd);
    free(path);
    answer(c, 404, "no such log on this worker\n");
    return;
  }
  long long offset = query_count(req, "offset");
  if (offset < 0) {
    close(fd);
    free(path);
    answer(c, 400, "offset: expected a byte count\n");
    return;
  }
  if (offset > sb.st_size) offset = sb.st_size;
  long long wait_ms = query_count(req, "wait");
  if (wait_ms < 0) {
    close(fd);
    free(path);
    answer(c, 400, "wait: expected milliseconds\n");
    return;
  }
  if (wait_ms > 0 && offset == sb.st_size && req->method == HTTP_GET) {
    wait_for_more(s, c, path, fd, offset,
                  (uint64_t)(wait_ms < DAG_LOG_WAIT_MAX_MS ? wait_ms : DAG_LOG_WAIT_MAX_MS));
    free(path);
    return;
  }
  free(path);
  dag_http_respond_file(c, 200, "text/plain; charset=utf-8", "Cache-Control: no-store\r\n", fd,
                        offset, sb.st_size - offset);
}

int dag_log_server_start(uv_loop_t *loop, const struct dag_config *cfg,
                         struct dag_log_server **out) {
  *out = NULL;
  struct dag_log_server *s = xcalloc(1, sizeof(*s));
  s->cfg = cfg;
  struct dag_http_options o = {.bind = "0.0.0.0",
                               .port = cfg->worker_log_server_port,
                               .handler = handle,
                               .ctx = s};
  int rc = dag_http_server_start(loop, &o, &s->http);
  if (rc) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int dag_log_server_port(const struct dag_log_server *s) {
  return dag_http_server_port(s->http);
}

static void on_closed(void *ctx) {
  struct dag_log_server *s = ctx;
  s->http_closed = true;
  maybe_freed(s);
}

void dag_log_server_close(struct dag_log_server *s, void (*closed_cb)(void *ctx), void *ctx) {
  s->closed_cb = closed_cb;
  s->closed_ctx = ctx;
  /* Held requests first: the server's close cuts their connections. */
  while (s->waits) wait_end(s->waits, true);
  dag_http_server_close(s->http, on_closed, s);
}
