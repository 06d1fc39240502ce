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

struct dag_log_server {
  const struct dag_config *cfg;
  struct dag_http_server *http;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

static void answer(struct dag_http_conn *c, int status, const char *msg) {
  dag_http_respond(c, status, "text/plain; charset=utf-8", NULL, msg, strlen(msg));
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
  free(path);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    if (fd >= 0) close(fd);
    answer(c, 404, "no such log on this worker\n");
    return;
  }
  long long offset = 0;
  char *off = dag_http_query_param(req->query, "offset");
  if (off) {
    char *end;
    errno = 0;
    offset = strtoll(off, &end, 10);
    if (errno || end == off || *end || offset < 0) offset = -1;
    free(off);
  }
  if (offset < 0) {
    close(fd);
    answer(c, 400, "offset: expected a byte count\n");
    return;
  }
  if (offset > sb.st_size) offset = sb.st_size;
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
  void (*cb)(void *) = s->closed_cb;
  void *cb_ctx = s->closed_ctx;
  free(s);
  if (cb) cb(cb_ctx);
}

void dag_log_server_close(struct dag_log_server *s, void (*closed_cb)(void *ctx), void *ctx) {
  s->closed_cb = closed_cb;
  s->closed_ctx = ctx;
  dag_http_server_close(s->http, on_closed, s);
}
