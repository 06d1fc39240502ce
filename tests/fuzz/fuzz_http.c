/* fuzz_http.c - libFuzzer target for the HTTP request parser and router.
 *
 * The first input byte sets how the rest is cut into reads (1 to 256 bytes
 * at a time), as a network would. Beyond "no crash, no leak", the parser's
 * contract must hold: it stops at each complete request with every field
 * set, never accepts more than the limits allow, fails only with 400, 413
 * or 431, the next request starts with nothing of the last one (an
 * upgrade included), and the router never captures a refused segment. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct dag_http_parser *p) {
  const struct dag_http_request *r = &p->req;
  if (!r->url || !r->path || !r->query || !r->body) abort();
  if (strlen(r->url) > DAG_HTTP_MAX_HEADER_BYTES) abort();
  if (r->n_headers > DAG_HTTP_MAX_HEADERS) abort();
  if (r->body_len > DAG_HTTP_MAX_BODY_BYTES) abort();
  if (strncmp(r->url, r->path, strlen(r->path)) != 0) abort();
  for (size_t i = 0; i < r->n_headers; i++)
    if (!r->headers[i].name || !r->headers[i].value) abort();
  struct dag_route_match m;
  int status = dag_route_match(r->method, r->path, &m);
  if (status != 200 && status != 400 && status != 404 && status != 405) abort();
  if (status != 200 && (m.route != DAG_ROUTE_NONE || m.n_params)) abort();
  for (size_t i = 0; i < m.n_params; i++) {
    const char *s = m.params[i];
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/')) abort();
  }
  dag_route_match_free(&m);
  char *v = dag_http_query_param(r->query, "limit");
  free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t step = (size_t)data[0] + 1;
  const char *in = (const char *)data + 1;
  size_t len = size - 1, off = 0;
  struct dag_http_parser p;
  dag_http_parser_init(&p);
  /* A small body limit reaches the 413 paths with small inputs. */
  p.max_body = 64;
  int requests = 0;
  while (off < len && requests < 64) {
    size_t n = len - off < step ? len - off : step;
    size_t used = dag_http_parser_feed(&p, in + off, n);
    if (used > n) abort();
    off += used;
    if (p.error) {
      if (p.error != 400 && p.error != 413 && p.error != 431) abort();
      if (p.complete) abort();
      break;
    }
    if (p.complete) {
      check_request(&p);
      if (p.req.body_len > 64) abort();
      requests++;
      dag_http_parser_next(&p);
      /* Each request starts afresh: nothing of an upgrade carries over. */
      if (p.hp.upgrade || p.complete || p.req.url) abort();
    } else if (used < n) {
      abort(); /* stopped without a reason */
    }
  }
  dag_http_parser_free(&p);
  return 0;
}
