/* http.c - the HTTP server on a libuv loop: connections, their timers, and
 * writing answers. Parsing is http_parse.c.
 *
 * Under TLS each connection has an SSL object between the socket and the
 * parser (tls.h): what is read goes through SSL_read() into `in`, what is
 * written through SSL_write() and out of the SSL's write BIO to libuv.
 * Everything else (limits, timers, answers in order) is the same for both. */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "common.h"
#include "http.h"
#include "log.h"
#include "log_limit.h"
#include "tls.h"

#define FILE_CHUNK (64 * 1024)
/* After the last answer on a connection we shut our side down and read
 * until the client closes, so that unread request bytes (a refused upload)
 * do not turn our close into a reset that destroys the answer. */
#define LINGER_MS 2000

struct dag_http_server {
  uv_loop_t *loop;
  uv_tcp_t tcp;
  dag_http_handler handler;
  void *ctx;
  int max_connections;
  int max_per_client;
  int idle_timeout_ms;
  size_t max_body;
  int port;
  struct dag_http_conn *conns;
  int n_conns;
  int handles; /* the listener, each connection and each refused socket */
  bool closing;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
  /* A client can open connections faster than a line can be written. */
  struct dag_log_limit refused_log;
  struct dag_tls *tls; /* borrowed; NULL: plain HTTP */
  struct dag_log_limit tls_log; /* failed handshakes: any client can cause them */
};

struct file_stream {
  int fd;
  int64_t offset;
  int64_t remaining;
  uv_fs_t req;
  char *buf;
};

struct dag_http_conn {
  uv_tcp_t tcp;
  uv_timer_t timer; /* request deadline, write progress, or linger */
  uv_shutdown_t shutdown;
  struct dag_http_server *srv;
  struct dag_http_conn *next, *prev;
  struct dag_http_parser parser;
  struct strbuf in; /* bytes read and not parsed yet */
  size_t in_off;
  int refs; /* the two handles and a file read in flight */
  bool reading;
  bool busy;     /* a request is being answered */
  bool answered; /* its answer has started */
  bool head;     /* HEAD: headers only */
  bool keep_alive;
  bool http10;
  bool continue_sent; /* "100 Continue" for the current request */
  bool lingering;
  bool closing;
  bool has_file;
  struct file_stream file;
  char *delayed; /* a whole answer waiting for the timer (dag_http_respond_after) */
  size_t delayed_len;
  char peer[64]; /* the client's address, e.g. "127.0.0.1"; "unknown" */
  char client[64]; /* the current request's client as the handler decided; "": peer */
  SSL *ssl;        /* under TLS; owned */
  bool tls_dead;   /* a fatal TLS error: send its alert, never close_notify */
  char rbuf[16 * 1024];
};

/* WRITE_TLS: bytes OpenSSL sent on its own (handshake, alerts, tickets);
 * their completion moves no answer forward. */
enum write_kind { WRITE_DONE, WRITE_FILE, WRITE_TLS };

struct write_req {
  uv_write_t req;
  struct dag_http_conn *c;
  char *owned;
  enum write_kind kind;
};

static void process(struct dag_http_conn *c);
static void file_next(struct dag_http_conn *c);

/* --- life cycle --------------------------------------------------------------- */

static void server_maybe_closed(struct dag_http_server *srv) {
  if (!srv->closing || srv->handles > 0) return;
  void (*cb)(void *) = srv->closed_cb;
  void *ctx = srv->closed_ctx;
  free(srv);
  if (cb) cb(ctx);
}

static void conn_unref(struct dag_http_conn *c) {
  if (--c->refs > 0) return;
  struct dag_http_server *srv = c->srv;
  if (c->has_file) {
    close(c->file.fd);
    free(c->file.buf);
  }
  dag_http_parser_free(&c->parser);
  if (c->ssl) SSL_free(c->ssl);
  sb_free(&c->in);
  free(c->delayed);
  free(c);
  srv->handles--;
  server_maybe_closed(srv);
}

static void on_conn_handle_closed(uv_handle_t *h) {
  conn_unref(h->data);
}

static void conn_close(struct dag_http_conn *c) {
  if (c->closing) return;
  c->closing = true;
  struct dag_http_server *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->n_conns--;
  uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_timeout(uv_timer_t *t) {
  struct dag_http_conn *c = t->data;
  if (!c->lingering)
    LOG_DEBUG("web client cut off: no complete request or no progress within %d ms",
              c->srv->idle_timeout_ms);
  conn_close(c);
}

static void arm_timer(struct dag_http_conn *c, int ms) {
  uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0);
}

/* --- reading ------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct dag_http_conn *c = h->data;
  DAG_UNUSED(suggested);
  *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static int tls_in(struct dag_http_conn *c, const char *data, size_t len);
static void linger_close(struct dag_http_conn *c);
static void stop_reading_tls(struct dag_http_conn *c);
static void tls_flush(struct dag_http_conn *c, enum write_kind kind);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct dag_http_conn *c = s->data;
  if (nread == 0) return;
  if (nread > 0 && c->ssl && !c->lingering) {
    int rc = tls_in(c, buf->base, (size_t)nread);
    if (rc < 0) {
      /* The alert (if any) is on its way; no answer follows it. */
      stop_reading_tls(c);
      return;
    }
    if (rc == 0) {
      if (!c->busy) process(c);
      return;
    }
    nread = UV_EOF; /* the client's close_notify: its end of file */
  }
  if (nread < 0) {
    if (nread == UV_EOF && c->busy && !c->lingering) {
      /* The client is done sending; it still gets its answer. */
      uv_read_stop(s);
      c->reading = false;
      c->keep_alive = false;
      return;
    }
    conn_close(c);
    return;
  }
  if (c->lingering) return;
  sb_appendn(&c->in, buf->base, (size_t)nread);
  if (!c->busy) process(c);
}

static void start_reading(struct dag_http_conn *c) {
  if (c->reading || c->closing) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    conn_close(c);
    return;
  }
  c->reading = true;
}

static void stop_reading(struct dag_http_conn *c) {
  if (!c->reading) return;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = false;
}

/* --- writing --------------------------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *req, int status) {
  struct dag_http_conn *c = req->data;
  if (status < 0 && !c->closing) conn_close(c);
}

static void linger_close(struct dag_http_conn *c) {
  if (c->lingering || c->closing) return;
  c->lingering = true;
  sb_reset(&c->in);
  c->in_off = 0;
  arm_timer(c, LINGER_MS);
  if (c->ssl && !c->tls_dead && SSL_is_init_finished(c->ssl)) {
    /* close_notify: the client can tell our end from a cut connection. */
    SSL_shutdown(c->ssl);
    ERR_clear_error();
  }
  if (c->ssl) tls_flush(c, WRITE_TLS);
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    conn_close(c);
    return;
  }
  start_reading(c);
}

/* The last byte of an answer is written. */
static void finish_answer(struct dag_http_conn *c) {
  c->busy = false;
  if (!c->keep_alive || c->srv->closing) {
    linger_close(c);
    return;
  }
  dag_http_parser_next(&c->parser);
  c->continue_sent = false;
  arm_timer(c, c->srv->idle_timeout_ms);
  process(c);
}

static void on_write(uv_write_t *req, int status) {
  struct write_req *w = container_of(req, struct write_req, req);
  struct dag_http_conn *c = w->c;
  enum write_kind kind = w->kind;
  free(w->owned);
  free(w);
  if (c->closing) return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (kind == WRITE_DONE)
    finish_answer(c);
  else if (kind == WRITE_FILE)
    file_next(c);
}

static void write_raw(struct dag_http_conn *c, char *data, size_t len, bool owned,
                      enum write_kind kind) {
  struct write_req *w = xmalloc(sizeof(*w));
  w->c = c;
  w->owned = owned ? data : NULL;
  w->kind = kind;
  /* Each write must finish within the timeout: a client that stops reading
   * is cut off rather than holding memory forever. OpenSSL's own messages
   * leave the timer as it is, so a client cannot keep a connection open by
   * making us answer handshake or key-update records. */
  if (kind != WRITE_TLS) arm_timer(c, c->srv->idle_timeout_ms);
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
    free(w->owned);
    free(w);
    conn_close(c);
  }
}

/* Whatever OpenSSL has queued for the client, written as `kind`. A write
 * of kind WRITE_DONE or WRITE_FILE always goes out, even empty, so that the
 * answer moves on. */
static void tls_flush(struct dag_http_conn *c, enum write_kind kind) {
  BIO *wbio = SSL_get_wbio(c->ssl);
  size_t n = BIO_ctrl_pending(wbio);
  if (n == 0 && kind == WRITE_TLS) return;
  char *out = xmalloc(n ? n : 1);
  int got = n ? BIO_read(wbio, out, (int)n) : 0;
  write_raw(c, out, got > 0 ? (size_t)got : 0, true, kind);
}

static void send_bytes(struct dag_http_conn *c, char *data, size_t len, bool owned,
                       enum write_kind kind) {
  if (!c->ssl) {
    write_raw(c, data, len, owned, kind);
    return;
  }
  /* A memory BIO takes all: SSL_write() encrypts the whole buffer at once
   * (records of at most 16 KiB), and the plain text can be let go. */
  int rc = len ? SSL_write(c->ssl, data, (int)len) : 1;
  if (owned) free(data);
  if (rc <= 0) {
    ERR_clear_error();
    c->tls_dead = true;
    conn_close(c);
    return;
  }
  tls_flush(c, kind);
}

/* Bytes from the socket: through the SSL into `in` (which may then hold a
 * request), and anything OpenSSL answers (handshake messages, session
 * tickets, alerts) sent. Returns 0, 1 for the client's close_notify, or -1
 * for a fatal error (a client that does not speak TLS, or only TLS 1.1),
 * logged at most once per 10 s. */
static int tls_in(struct dag_http_conn *c, const char *data, size_t len) {
  BIO_write(SSL_get_rbio(c->ssl), data, (int)len);
  char plain[16 * 1024];
  int ret = 0;
  for (;;) {
    int n = SSL_read(c->ssl, plain, sizeof(plain));
    if (n > 0) {
      sb_appendn(&c->in, plain, (size_t)n);
      continue;
    }
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ) break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      ret = 1;
      break;
    }
    unsigned long code = ERR_peek_error();
    char why[160];
    ERR_error_string_n(code, why, sizeof(why));
    ERR_clear_error();
    c->tls_dead = true;
    uint64_t suppressed;
    if (dag_log_limit_allow(&c->srv->tls_log, uv_now(c->srv->loop), &suppressed))
      LOG_INFO("web: TLS handshake or record failed client=%s error=\"%s\" "
               "not_logged_before=%llu",
               c->peer, code ? why : "protocol error", (unsigned long long)suppressed);
    ret = -1;
    break;
  }
  tls_flush(c, WRITE_TLS);
  return ret;
}

/* After a fatal TLS error: let the alert go out, then close as after a last
 * answer (the linger timer bounds it). */
static void stop_reading_tls(struct dag_http_conn *c) {
  if (c->busy) {
    /* An answer is being computed; it will find the connection closed. */
    conn_close(c);
    return;
  }
  linger_close(c);
}

static void build_head(struct strbuf *sb, struct dag_http_conn *c, int status,
                       const char *content_type, const char *extra, int64_t len) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  sb_appendf(sb, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %lld\r\n", status,
             dag_http_reason(status), date, (long long)len);
  if (content_type) sb_appendf(sb, "Content-Type: %s\r\n", content_type);
  if (!c->keep_alive)
    sb_append(sb, "Connection: close\r\n");
  else if (c->http10)
    sb_append(sb, "Connection: keep-alive\r\n");
  sb_append(sb, "X-Content-Type-Options: nosniff\r\n");
  if (extra) sb_append(sb, extra);
  sb_append(sb, "\r\n");
}

static bool start_answer(struct dag_http_conn *c) {
  if (c->answered || !c->busy || c->closing) {
    LOG_ERROR("web handler answered a request twice or too late");
    return false;
  }
  c->answered = true;
  return true;
}

void dag_http_respond(struct dag_http_conn *c, int status, const char *content_type,
                      const char *extra_headers, const char *body, size_t len) {
  if (!start_answer(c)) return;
  struct strbuf sb = STRBUF_INIT;
  build_head(&sb, c, status, content_type, extra_headers, (int64_t)len);
  if (!c->head && len) sb_appendn(&sb, body, len);
  size_t n = sb.len;
  send_bytes(c, sb_detach(&sb), n, true, WRITE_DONE);
}

static void on_delayed(uv_timer_t *t) {
  struct dag_http_conn *c = t->data;
  char *data = c->delayed;
  c->delayed = NULL;
  send_bytes(c, data, c->delayed_len, true, WRITE_DONE);
}

void dag_http_respond_after(struct dag_http_conn *c, uint64_t delay_ms, int status,
                            const char *content_type, const char *extra_headers,
                            const char *body, size_t len) {
  if (!start_answer(c)) return;
  struct strbuf sb = STRBUF_INIT;
  build_head(&sb, c, status, content_type, extra_headers, (int64_t)len);
  if (!c->head && len) sb_appendn(&sb, body, len);
  c->delayed_len = sb.len;
  c->delayed = sb_detach(&sb);
  /* The connection's own timer: closing the connection cancels the answer
   * and frees it, so nothing outlives the connection. The loop's clock is
   * read once per iteration and in whole milliseconds: refresh it and add
   * the truncated millisecond, or the answer could leave before delay_ms
   * has passed since the request arrived. */
  uv_update_time(c->timer.loop);
  uv_timer_start(&c->timer, on_delayed, delay_ms + 1, 0);
}

const char *dag_http_conn_peer(const struct dag_http_conn *c) {
  return c->peer;
}

void dag_http_conn_set_client(struct dag_http_conn *c, const char *addr) {
  snprintf(c->client, sizeof(c->client), "%s", addr);
}

const char *dag_http_conn_client(const struct dag_http_conn *c) {
  return c->client[0] ? c->client : c->peer;
}

bool dag_http_conn_tls(const struct dag_http_conn *c) {
  return c->ssl != NULL;
}

void dag_http_respond_file(struct dag_http_conn *c, int status, const char *content_type,
                           const char *extra_headers, int fd, int64_t offset, int64_t len) {
  if (!start_answer(c)) {
    close(fd);
    return;
  }
  struct strbuf sb = STRBUF_INIT;
  build_head(&sb, c, status, content_type, extra_headers, len);
  size_t n = sb.len;
  if (c->head || len <= 0) {
    close(fd);
    send_bytes(c, sb_detach(&sb), n, true, WRITE_DONE);
    return;
  }
  c->has_file = true;
  c->file.fd = fd;
  c->file.offset = offset;
  c->file.remaining = len;
  c->file.buf = xmalloc(FILE_CHUNK);
  send_bytes(c, sb_detach(&sb), n, true, WRITE_FILE);
}

static void file_end(struct dag_http_conn *c) {
  close(c->file.fd);
  free(c->file.buf);
  c->has_file = false;
}

static void on_file_read(uv_fs_t *req) {
  struct dag_http_conn *c = container_of(req, struct dag_http_conn, file.req);
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  if (c->closing) {
    conn_unref(c);
    return;
  }
  c->refs--;
  if (n <= 0) {
    /* The file shrank under us: the promised length cannot be sent. */
    LOG_WARN("web file answer cut short error=\"%s\"", n < 0 ? uv_strerror((int)n) : "EOF");
    conn_close(c);
    return;
  }
  c->file.offset += n;
  c->file.remaining -= n;
  send_bytes(c, c->file.buf, (size_t)n, false, WRITE_FILE);
}

/* Read the next chunk on the thread pool; the loop never waits for disk. */
static void file_next(struct dag_http_conn *c) {
  if (c->file.remaining <= 0) {
    file_end(c);
    finish_answer(c);
    return;
  }
  size_t want = c->file.remaining < FILE_CHUNK ? (size_t)c->file.remaining : FILE_CHUNK;
  uv_buf_t b = uv_buf_init(c->file.buf, (unsigned)want);
  if (uv_fs_read(c->srv->loop, &c->file.req, c->file.fd, &b, 1, c->file.offset,
                 on_file_read) != 0) {
    conn_close(c);
    return;
  }
  c->refs++;
}

void dag_http_conn_hold(struct dag_http_conn *c) {
  c->refs++;
}

bool dag_http_conn_release(struct dag_http_conn *c) {
  bool open = !c->closing;
  conn_unref(c);
  return open;
}

uv_loop_t *dag_http_conn_loop(const struct dag_http_conn *c) {
  return c->srv->loop;
}

/* --- requests ------------------------------------------------------------------------------ */

static void respond_error(struct dag_http_conn *c, int status, const char *detail) {
  stop_reading(c);
  uv_timer_stop(&c->timer);
  c->busy = true;
  c->answered = false;
  c->head = false;
  c->keep_alive = false;
  char body[512];
  int n = snprintf(body, sizeof(body),
                   "{\"status\":%d,\"title\":\"%s\",\"detail\":\"%s\",\"type\":\"%s\"}", status,
                   dag_http_reason(status), detail, dag_http_problem_type(status));
  dag_http_respond(c, status, "application/json", NULL, body, (size_t)n);
}

static const char *error_detail(int status) {
  switch (status) {
  case 413: return "the request body is larger than 1 MiB";
  case 431: return "the request line and headers are larger than 16 KiB or too many";
  default: return "the request is not valid HTTP/1.1";
  }
}

static void dispatch(struct dag_http_conn *c) {
  stop_reading(c);
  uv_timer_stop(&c->timer);
  const struct dag_http_request *r = &c->parser.req;
  c->busy = true;
  c->answered = false;
  c->head = r->method == HTTP_HEAD;
  c->keep_alive = r->keep_alive && !r->upgrade;
  c->http10 = c->parser.hp.http_major == 1 && c->parser.hp.http_minor == 0;
  c->client[0] = '\0';
  c->srv->handler(c->srv->ctx, c, r);
}

/* Parse what has been read; answer a complete request, or read more. */
static void process(struct dag_http_conn *c) {
  if (c->busy || c->closing) return;
  const char *data = sb_str(&c->in) + c->in_off;
  size_t len = c->in.len - c->in_off;
  size_t n = dag_http_parser_feed(&c->parser, data, len);
  c->in_off += n;
  if (c->parser.error) {
    respond_error(c, c->parser.error, error_detail(c->parser.error));
    return;
  }
  if (c->parser.complete) {
    dispatch(c);
    return;
  }
  if (c->parser.expect_continue && !c->continue_sent) {
    /* Best effort: a client that gets no go-ahead sends the body after a
     * pause of its own. */
    static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (c->ssl) {
      /* Queued like any write, ahead of the answer. */
      send_bytes(c, (char *)go, sizeof(go) - 1, false, WRITE_TLS);
      c->continue_sent = true;
    } else {
      uv_buf_t b = uv_buf_init((char *)go, sizeof(go) - 1);
      c->continue_sent = uv_try_write((uv_stream_t *)&c->tcp, &b, 1) == (int)sizeof(go) - 1;
    }
    if (c->closing) return;
  }
  if (c->in_off < c->in.len) {
    /* http-parser consumes everything unless it stops; be safe anyway. */
    respond_error(c, 400, error_detail(400));
    return;
  }
  sb_reset(&c->in);
  c->in_off = 0;
  start_reading(c);
}

/* --- the listener ----------------------------------------------------------------------------- */

static void on_refused_closed(uv_handle_t *h) {
  struct dag_http_conn *c = h->data;
  struct dag_http_server *srv = c->srv;
  free(c);
  srv->handles--;
  server_maybe_closed(srv);
}

/* Answer 503 on an accepted connection that gets no slot, and close it. */
static void refuse(struct dag_http_conn *c, const char *detail) {
  char body[200], msg[440];
  int bn = snprintf(body, sizeof(body),
                    "{\"status\":503,\"title\":\"Service Unavailable\",\"detail\":\"%s\","
                    "\"type\":\"about:blank\"}",
                    detail);
  int n = snprintf(msg, sizeof(msg),
                   "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                   "Connection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s",
                   bn, body);
  /* Best effort and never blocking: a fresh socket's buffer is empty.
   * Under TLS there is no handshake to answer in: the client sees the
   * connection closed. */
  uv_buf_t b = uv_buf_init(msg, (unsigned)n);
  if (!c->srv->tls) uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  /* Closing a socket with unread bytes sends a reset, which can destroy
   * the answer before the client reads it: drop the request the client
   * has sent already (a few reads, never waiting). */
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++) {
    }
  }
  uv_close((uv_handle_t *)&c->tcp, on_refused_closed);
}

static void log_refused(struct dag_http_server *srv, const char *peer, const char *why,
                        int open) {
  uint64_t suppressed;
  if (!dag_log_limit_allow(&srv->refused_log, uv_now(srv->loop), &suppressed)) return;
  LOG_WARN("web connection refused client=%s reason=%s open=%d not_logged_before=%llu", peer,
           why, open, (unsigned long long)suppressed);
}

static void peer_name(struct dag_http_conn *c) {
  struct sockaddr_storage a;
  int len = sizeof(a);
  snprintf(c->peer, sizeof(c->peer), "unknown");
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&a, &len) != 0) return;
  if (a.ss_family == AF_INET)
    uv_ip4_name((struct sockaddr_in *)&a, c->peer, sizeof(c->peer));
  else if (a.ss_family == AF_INET6)
    uv_ip6_name((struct sockaddr_in6 *)&a, c->peer, sizeof(c->peer));
}

/* Connections open from `peer`: O(open connections), at most
 * max_connections, once per accepted connection. */
static int open_from(const struct dag_http_server *srv, const char *peer) {
  int n = 0;
  for (const struct dag_http_conn *c = srv->conns; c; c = c->next)
    if (strcmp(c->peer, peer) == 0) n++;
  return n;
}

static void on_connection(uv_stream_t *listener, int status) {
  struct dag_http_server *srv = listener->data;
  if (status < 0 || srv->closing) return;
  struct dag_http_conn *c = xcalloc(1, sizeof(*c));
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  c->tcp.data = c;
  srv->handles++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_refused_closed);
    return;
  }
  peer_name(c);
  /* One client (one address) gets a share of the slots, so that a client
   * holding many slow connections cannot lock out the others, health
   * probes included. */
  if (srv->n_conns >= srv->max_connections) {
    log_refused(srv, c->peer, "server_full", srv->n_conns);
    refuse(c, "too many connections");
    return;
  }
  int mine = open_from(srv, c->peer);
  if (mine >= srv->max_per_client) {
    log_refused(srv, c->peer, "client_limit", mine);
    refuse(c, "too many connections from your address");
    return;
  }
  if (srv->tls && !(c->ssl = dag_tls_accept(srv->tls))) {
    ERR_clear_error();
    log_refused(srv, c->peer, "tls_out_of_memory", srv->n_conns);
    refuse(c, "out of memory");
    return;
  }
  c->refs = 2;
  uv_timer_init(srv->loop, &c->timer);
  c->timer.data = c;
  dag_http_parser_init(&c->parser);
  c->parser.max_body = srv->max_body;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  srv->n_conns++;
  uv_tcp_nodelay(&c->tcp, 1);
  arm_timer(c, srv->idle_timeout_ms);
  start_reading(c);
}

static void on_listener_closed(uv_handle_t *h) {
  struct dag_http_server *srv = h->data;
  srv->handles--;
  server_maybe_closed(srv);
}

int dag_http_server_start(uv_loop_t *loop, const struct dag_http_options *opts,
                          struct dag_http_server **out) {
  *out = NULL;
  const char *bind = opts->bind ? opts->bind : "127.0.0.1";
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof(addr));
  if (uv_ip4_addr(bind, opts->port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(bind, opts->port, (struct sockaddr_in6 *)&addr) != 0)
    return UV_EINVAL;
  struct dag_http_server *srv = xcalloc(1, sizeof(*srv));
  srv->loop = loop;
  srv->handler = opts->handler;
  srv->ctx = opts->ctx;
  srv->max_connections = opts->max_connections > 0 ? opts->max_connections
                                                   : DAG_HTTP_MAX_CONNECTIONS;
  srv->max_per_client = opts->max_per_client > 0 ? opts->max_per_client
                                                 : DAG_HTTP_MAX_PER_CLIENT;
  srv->idle_timeout_ms = opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms
                                                   : DAG_HTTP_IDLE_TIMEOUT_MS;
  srv->max_body = opts->max_body > 0 ? opts->max_body : DAG_HTTP_MAX_BODY_BYTES;
  srv->tls = opts->tls;
  uv_tcp_init(loop, &srv->tcp);
  srv->tcp.data = srv;
  srv->handles = 1;
  int rc = uv_tcp_bind(&srv->tcp, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 511, on_connection);
  if (rc == 0) {
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    rc = uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&bound, &len);
    if (rc == 0)
      srv->port = ntohs(bound.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&bound)->sin6_port
                            : ((struct sockaddr_in *)&bound)->sin_port);
  }
  if (rc != 0) {
    /* The handle is freed by its close callback, on the caller's loop. */
    srv->closing = true;
    uv_close((uv_handle_t *)&srv->tcp, on_listener_closed);
    return rc;
  }
  *out = srv;
  return 0;
}

int dag_http_server_port(const struct dag_http_server *srv) {
  return srv->port;
}

int dag_http_server_connections(const struct dag_http_server *srv) {
  return srv->n_conns;
}

void dag_http_server_close(struct dag_http_server *srv, void (*closed_cb)(void *ctx),
                           void *ctx) {
  if (srv->closing) return;
  srv->closing = true;
  srv->closed_cb = closed_cb;
  srv->closed_ctx = ctx;
  uint64_t left = dag_log_limit_flush(&srv->refused_log);
  if (left)
    LOG_WARN("web connections refused and not logged one by one count=%llu",
             (unsigned long long)left);
  left = dag_log_limit_flush(&srv->tls_log);
  if (left)
    LOG_INFO("web: failed TLS handshakes not logged one by one count=%llu",
             (unsigned long long)left);
  uv_close((uv_handle_t *)&srv->tcp, on_listener_closed);
  while (srv->conns) conn_close(srv->conns);
}
