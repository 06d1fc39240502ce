/* http.h - a small HTTP/1.1 server on a libuv loop.
 *
 * Requests are parsed by http-parser with our own limits; each complete
 * request goes to one handler, which answers it exactly once, at once or
 * later, with dag_http_respond() or dag_http_respond_file(). Requests on a
 * keep-alive connection are answered in order: the connection reads no
 * more until the current answer is written, so a client that pipelines or
 * floods is held back by TCP, not by our memory.
 *
 * Abusive clients are cut off without hurting the loop: a request must
 * arrive whole within the idle timeout (a byte now and then does not keep a
 * connection open), every write must make progress within it, and
 * connections beyond max_connections, or beyond max_per_client from one
 * client address, are refused with 503. Refusals are logged at most once
 * per 10 s, with the count of those not logged. */
#ifndef DAG_HTTP_H
#define DAG_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "strbuf.h"

#define DAG_HTTP_MAX_HEADER_BYTES (16 * 1024) /* request line + headers: 431 */
#define DAG_HTTP_MAX_HEADERS 64               /* more: 431 */
#define DAG_HTTP_MAX_BODY_BYTES (1024 * 1024) /* 413 */
#define DAG_HTTP_MAX_CONNECTIONS 256
#define DAG_HTTP_MAX_PER_CLIENT 32 /* web.max_connections_per_client */
#define DAG_HTTP_IDLE_TIMEOUT_MS 10000

/* --- requests --------------------------------------------------------------- */

struct dag_http_header {
  char *name; /* as sent; compare case-insensitively */
  char *value;
};

struct dag_http_request {
  enum http_method method;
  char *url;   /* the request target as sent, e.g. "/api/v1/dags?limit=5" */
  char *path;  /* url up to '?' or '#', not decoded */
  char *query; /* after '?', not decoded; "" when none */
  struct dag_http_header headers[DAG_HTTP_MAX_HEADERS];
  size_t n_headers;
  char *body; /* NUL-terminated; body_len excludes the NUL; "" when none */
  size_t body_len;
  bool keep_alive; /* HTTP/1.1 without "Connection: close", or 1.0 with keep-alive */
  bool upgrade;    /* an Upgrade or CONNECT request: the connection closes after it */
};

/* The value of header `name` (case-insensitive), or NULL. Borrowed. */
const char *dag_http_header(const struct dag_http_request *req, const char *name);

/* An incremental request parser with dagctl's limits. Feed bytes as they
 * arrive; after a complete request it stops (the rest stays unconsumed)
 * until dag_http_parser_next() is called, so requests are taken one at a
 * time. */
struct dag_http_parser {
  http_parser hp;
  struct dag_http_request req; /* the request being read */
  struct strbuf url, field, value, body;
  bool in_value;
  size_t header_bytes;
  size_t max_body; /* DAG_HTTP_MAX_BODY_BYTES unless a test lowers it */
  int error;       /* 0, or the HTTP status to answer before closing: 400, 413, 431 */
  bool complete;   /* req holds a whole request */
  bool expect_continue; /* headers read, "Expect: 100-continue", a body to come */
};

void dag_http_parser_init(struct dag_http_parser *p);
/* Parse up to `len` bytes; returns how many were consumed. Stops early at
 * the end of a request (p->complete) or at an error (p->error). */
size_t dag_http_parser_feed(struct dag_http_parser *p, const char *data, size_t len);
/* Forget the complete request and get ready for the next one on the same
 * connection. */
void dag_http_parser_next(struct dag_http_parser *p);
void dag_http_parser_free(struct dag_http_parser *p);

/* --- helpers ----------------------------------------------------------------- */

/* Decode %XX escapes (and '+' as space when `plus` is set) of s[0..len) into
 * a new string (caller frees). NULL for a malformed escape or a decoded NUL
 * byte, which no id may hold. */
char *dag_http_decode(const char *s, size_t len, bool plus);

/* The decoded value of query parameter `name`, or NULL when absent or
 * malformed. Caller frees. */
char *dag_http_query_param(const char *query, const char *name);

/* Append `s` to `sb` with & < > " ' replaced by entities, for any text put
 * into HTML. */
void dag_html_escape(struct strbuf *sb, const char *s);

/* How much the Accept header value `accept` wants media type `type`
 * ("text/plain"): its q in thousandths (0 to 1000) from the most specific
 * range that matches it (type/subtype over type/ * over * / *), 0 when none
 * does. NULL or an empty header accepts everything (1000). Parameters other
 * than q are ignored; a malformed q counts as 0. */
int dag_http_accept_quality(const char *accept, const char *type);
/* Which of two media types to answer with: 0 for `first`, 1 for `second`,
 * -1 when the client accepts neither (406). Ties go to `first`. */
int dag_http_accept_choose(const char *accept, const char *first, const char *second);

/* The `type` of an error answer (RFC 7807 problem details) for `status`:
 * the section of Airflow's REST API reference that names the problem, as
 * Airflow answers it, or "about:blank" (the title is then the reason
 * phrase). Static. */
const char *dag_http_problem_type(int status);

/* The standard reason phrase ("Not Found"), "Unknown" for others. Static. */
const char *dag_http_reason(int status);

/* --- server -------------------------------------------------------------------- */

struct dag_http_server;
struct dag_http_conn;

/* Called once per complete, well-formed request. `req` is borrowed until the
 * answer is given. The handler must answer exactly once. */
typedef void (*dag_http_handler)(void *ctx, struct dag_http_conn *conn,
                                 const struct dag_http_request *req);

struct dag_tls; /* tls.h */

struct dag_http_options {
  const char *bind; /* an IPv4 or IPv6 address; "127.0.0.1" when NULL */
  int port;         /* 0: any free port (see dag_http_server_port) */
  int max_connections; /* 0: DAG_HTTP_MAX_CONNECTIONS */
  int max_per_client;  /* from one client address; 0: DAG_HTTP_MAX_PER_CLIENT */
  int idle_timeout_ms; /* 0: DAG_HTTP_IDLE_TIMEOUT_MS */
  size_t max_body;     /* 0: DAG_HTTP_MAX_BODY_BYTES */
  struct dag_tls *tls; /* borrowed, outlives the server; NULL: plain HTTP. The
                        * handshake counts against the idle timeout. */
  dag_http_handler handler;
  void *ctx;
};

/* Listen on opts->bind:port. Returns 0 or a negative libuv code (the
 * address is taken, not an address); on failure nothing is left open. */
int dag_http_server_start(uv_loop_t *loop, const struct dag_http_options *opts,
                          struct dag_http_server **out);
/* The port actually bound. */
int dag_http_server_port(const struct dag_http_server *srv);
/* Connections open now. */
int dag_http_server_connections(const struct dag_http_server *srv);
/* Stop listening and close every connection (answers in flight are cut).
 * closed_cb(ctx) runs once every handle is closed; the server frees itself
 * then. */
void dag_http_server_close(struct dag_http_server *srv, void (*closed_cb)(void *ctx),
                           void *ctx);

/* Answer with a whole body (copied). `extra_headers` is NULL or lines
 * "Name: value\r\n" to add. HEAD requests get the headers only. */
void dag_http_respond(struct dag_http_conn *c, int status, const char *content_type,
                      const char *extra_headers, const char *body, size_t len);
/* Answer with `len` bytes of the open file `fd` from `offset`, read in
 * chunks on the thread pool and written as the client takes them. Takes
 * ownership of fd. */
void dag_http_respond_file(struct dag_http_conn *c, int status, const char *content_type,
                           const char *extra_headers, int fd, int64_t offset, int64_t len);
/* Like dag_http_respond(), but the answer leaves after `delay_ms` (from a
 * timer; the loop is not held). Closing the connection first drops it. */
void dag_http_respond_after(struct dag_http_conn *c, uint64_t delay_ms, int status,
                            const char *content_type, const char *extra_headers,
                            const char *body, size_t len);
/* The client's address as text ("127.0.0.1", "::1"), or "unknown".
 * Borrowed; lives as long as the connection. */
const char *dag_http_conn_peer(const struct dag_http_conn *c);
/* The address the current request is from, when the handler knows better
 * than the socket (a trusted proxy's X-Forwarded-For): copied, forgotten
 * at the next request. */
void dag_http_conn_set_client(struct dag_http_conn *c, const char *addr);
/* The current request's client: the address set above, else the peer.
 * Borrowed. */
const char *dag_http_conn_client(const struct dag_http_conn *c);
/* Is the connection TLS? */
bool dag_http_conn_tls(const struct dag_http_conn *c);
/* Keep `c` allocated while its answer is computed elsewhere (on the thread
 * pool). Each hold is ended by one dag_http_conn_release(), which returns
 * true when the connection is still open and may be answered; false when
 * it closed meanwhile, and then `c` may be gone. */
void dag_http_conn_hold(struct dag_http_conn *c);
bool dag_http_conn_release(struct dag_http_conn *c);
/* The loop the connection runs on, for handlers that need it. */
uv_loop_t *dag_http_conn_loop(const struct dag_http_conn *c);

#endif
