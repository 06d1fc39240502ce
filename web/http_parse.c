/* http_parse.c - HTTP requests from bytes, with limits, on top of
 * http-parser; and the small text helpers the server and the API share. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "http.h"

/* Each header line also costs ": " and CRLF that http-parser does not pass
 * to callbacks; count them so the limit is about what was sent. */
#define HEADER_LINE_OVERHEAD 4

static struct dag_http_parser *parser_of(http_parser *hp) {
  return hp->data;
}

static int fail(struct dag_http_parser *p, int status) {
  if (!p->error) p->error = status;
  return -1; /* makes http-parser stop with HPE_CB_* */
}

static int count_header_bytes(struct dag_http_parser *p, size_t len) {
  p->header_bytes += len;
  return p->header_bytes > DAG_HTTP_MAX_HEADER_BYTES ? fail(p, 431) : 0;
}

static int on_url(http_parser *hp, const char *at, size_t len) {
  struct dag_http_parser *p = parser_of(hp);
  if (count_header_bytes(p, len)) return -1;
  sb_appendn(&p->url, at, len);
  return 0;
}

/* A header ends when the next one's name starts, or when headers end. */
static int finish_header(struct dag_http_parser *p) {
  if (!p->in_value) return 0;
  p->in_value = false;
  if (p->req.n_headers == DAG_HTTP_MAX_HEADERS) return fail(p, 431);
  struct dag_http_header *h = &p->req.headers[p->req.n_headers++];
  h->name = sb_detach(&p->field);
  h->value = sb_detach(&p->value);
  return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len) {
  struct dag_http_parser *p = parser_of(hp);
  if (finish_header(p)) return -1;
  if (p->field.len == 0 && count_header_bytes(p, HEADER_LINE_OVERHEAD)) return -1;
  if (count_header_bytes(p, len)) return -1;
  sb_appendn(&p->field, at, len);
  return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len) {
  struct dag_http_parser *p = parser_of(hp);
  if (count_header_bytes(p, len)) return -1;
  p->in_value = true;
  sb_appendn(&p->value, at, len);
  return 0;
}

static int on_headers_complete(http_parser *hp) {
  struct dag_http_parser *p = parser_of(hp);
  if (!p->in_value && p->field.len) p->in_value = true; /* a header with an empty value */
  if (finish_header(p)) return -1;
  /* Refuse a declared oversized body before reading any of it. */
  if (hp->content_length != ULLONG_MAX && hp->content_length > p->max_body)
    return fail(p, 413);
  struct dag_http_request *r = &p->req;
  r->method = (enum http_method)hp->method;
  r->url = sb_detach(&p->url);
  size_t path_len = strcspn(r->url, "?#");
  r->path = xstrndup(r->url, path_len);
  if (r->url[path_len] == '?') {
    const char *q = r->url + path_len + 1;
    r->query = xstrndup(q, strcspn(q, "#"));
  } else {
    r->query = xstrdup("");
  }
  r->keep_alive = http_should_keep_alive(hp) != 0;
  r->upgrade = hp->upgrade != 0;
  /* The client waits for a go-ahead before it sends the body. */
  const char *expect = dag_http_header(r, "Expect");
  bool body = (hp->flags & F_CHUNKED) ||
              (hp->content_length > 0 && hp->content_length != ULLONG_MAX);
  p->expect_continue = expect && strcasecmp(expect, "100-continue") == 0 && body;
  return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len) {
  struct dag_http_parser *p = parser_of(hp);
  /* Chunked bodies announce no length: count as they come. */
  if (p->body.len + len > p->max_body) return fail(p, 413);
  sb_appendn(&p->body, at, len);
  return 0;
}

static int on_message_complete(http_parser *hp) {
  struct dag_http_parser *p = parser_of(hp);
  p->req.body_len = p->body.len;
  p->req.body = sb_detach(&p->body);
  p->req.keep_alive = p->req.keep_alive && http_should_keep_alive(hp) != 0;
  p->complete = true;
  /* Stop after this request: the rest of the buffer is the next one, read
   * when this one has been answered. */
  http_parser_pause(hp, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void request_free(struct dag_http_request *r) {
  free(r->url);
  free(r->path);
  free(r->query);
  free(r->body);
  for (size_t i = 0; i < r->n_headers; i++) {
    free(r->headers[i].name);
    free(r->headers[i].value);
  }
  memset(r, 0, sizeof(*r));
}

void dag_http_parser_init(struct dag_http_parser *p) {
  memset(p, 0, sizeof(*p));
  http_parser_init(&p->hp, HTTP_REQUEST);
  p->hp.data = p;
  p->max_body = DAG_HTTP_MAX_BODY_BYTES;
}

size_t dag_http_parser_feed(struct dag_http_parser *p, const char *data, size_t len) {
  if (p->error || p->complete || len == 0) return 0;
  size_t n = http_parser_execute(&p->hp, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
  if (e == HPE_PAUSED) return n;
  if (e != HPE_OK) {
    if (!p->error) p->error = 400;
    return n;
  }
  /* An upgrade request (CONNECT, Upgrade:) ends with on_message_complete
   * like any other, after its body if it has one: http-parser sets its
   * upgrade flag as soon as the headers end, so the flag alone does not
   * mean the request is whole. */
  return n;
}

void dag_http_parser_next(struct dag_http_parser *p) {
  request_free(&p->req);
  sb_reset(&p->url);
  sb_reset(&p->field);
  sb_reset(&p->value);
  sb_reset(&p->body);
  p->in_value = false;
  p->header_bytes = 0;
  p->complete = false;
  p->expect_continue = false;
  /* A fresh http-parser, not just an unpaused one: after an upgrade request
   * it keeps its upgrade flag and treats what follows as another protocol.
   * Between requests it holds nothing else worth keeping. */
  http_parser_init(&p->hp, HTTP_REQUEST);
  p->hp.data = p;
}

void dag_http_parser_free(struct dag_http_parser *p) {
  request_free(&p->req);
  sb_free(&p->url);
  sb_free(&p->field);
  sb_free(&p->value);
  sb_free(&p->body);
}

const char *dag_http_header(const struct dag_http_request *req, const char *name) {
  for (size_t i = 0; i < req->n_headers; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *dag_http_decode(const char *s, size_t len, bool plus) {
  char *out = xmalloc(len + 1);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
      int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus) {
      out[o++] = ' ';
    } else if (c == '\0') {
      free(out);
      return NULL;
    } else {
      out[o++] = c;
    }
  }
  out[o] = '\0';
  return out;
}

char *dag_http_query_param(const char *query, const char *name) {
  const char *p = query;
  while (*p) {
    size_t len = strcspn(p, "&");
    size_t klen = strcspn(p, "=&");
    char *key = dag_http_decode(p, klen, true);
    bool match = key && strcmp(key, name) == 0;
    free(key);
    if (match) {
      if (klen == len) return xstrdup("");
      return dag_http_decode(p + klen + 1, len - klen - 1, true);
    }
    p += len;
    if (*p == '&') p++;
  }
  return NULL;
}

void dag_html_escape(struct strbuf *sb, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&':
      sb_append(sb, "&amp;");
      break;
    case '<':
      sb_append(sb, "&lt;");
      break;
    case '>':
      sb_append(sb, "&gt;");
      break;
    case '"':
      sb_append(sb, "&quot;");
      break;
    case '\'':
      sb_append(sb, "&#39;");
      break;
    default:
      sb_appendc(sb, *s);
    }
  }
}

static bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* q=0.5 in thousandths; -1 when malformed (RFC 9110: 0, 1, 0.xxx, 1.000). */
static int parse_q(const char *s, size_t len) {
  if (len == 0 || len > 5 || (s[0] != '0' && s[0] != '1')) return -1;
  int q = (s[0] - '0') * 1000;
  if (len == 1) return q;
  if (s[1] != '.') return -1;
  int scale = 100;
  for (size_t i = 2; i < len; i++, scale /= 10) {
    if (s[i] < '0' || s[i] > '9') return -1;
    q += (s[i] - '0') * scale;
  }
  return q > 1000 ? -1 : q;
}

int dag_http_accept_quality(const char *accept, const char *type) {
  if (!accept) return 1000;
  size_t tlen = strlen(type);
  size_t tmain = strcspn(type, "/");
  int best_spec = -1, best_q = 0;
  bool any = false;
  for (const char *p = accept; *p;) {
    size_t len = strcspn(p, ",");
    const char *end = p + len;
    while (p < end && is_ows(*p)) p++;
    size_t rlen = strcspn(p, ";,");
    if (p + rlen > end) rlen = (size_t)(end - p);
    while (rlen && is_ows(p[rlen - 1])) rlen--;
    if (rlen) any = true;
    int spec = -1;
    if (rlen == 3 && strncmp(p, "*/*", 3) == 0)
      spec = 0;
    else if (rlen == tmain + 2 && strncasecmp(p, type, tmain) == 0 && p[tmain] == '/' &&
             p[tmain + 1] == '*')
      spec = 1;
    else if (rlen == tlen && strncasecmp(p, type, tlen) == 0)
      spec = 2;
    int q = 1000;
    for (const char *a = p + rlen; a < end;) {
      if (*a == ';') a++;
      while (a < end && is_ows(*a)) a++;
      size_t plen = strcspn(a, ";,");
      if (a + plen > end) plen = (size_t)(end - a);
      size_t vlen = plen;
      while (vlen && is_ows(a[vlen - 1])) vlen--;
      if (vlen >= 2 && (a[0] == 'q' || a[0] == 'Q') && a[1] == '=') {
        q = parse_q(a + 2, vlen - 2);
        if (q < 0) q = 0;
      }
      a += plen;
      if (plen == 0 && a < end) a++;
    }
    if (spec > best_spec) {
      best_spec = spec;
      best_q = q;
    }
    p = *end ? end + 1 : end;
  }
  if (!any) return 1000; /* an empty header: anything */
  return best_spec < 0 ? 0 : best_q;
}

int dag_http_accept_choose(const char *accept, const char *first, const char *second) {
  int a = dag_http_accept_quality(accept, first), b = dag_http_accept_quality(accept, second);
  if (a == 0 && b == 0) return -1;
  return b > a ? 1 : 0;
}

#define AIRFLOW_ERRORS \
  "https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/"

const char *dag_http_problem_type(int status) {
  switch (status) {
  case 400: return AIRFLOW_ERRORS "BadRequest";
  case 401: return AIRFLOW_ERRORS "Unauthenticated";
  case 403: return AIRFLOW_ERRORS "PermissionDenied";
  case 404: return AIRFLOW_ERRORS "NotFound";
  case 405: return AIRFLOW_ERRORS "MethodNotAllowed";
  case 406: return AIRFLOW_ERRORS "NotAcceptable";
  case 409: return AIRFLOW_ERRORS "AlreadyExists";
  case 500: return AIRFLOW_ERRORS "Unknown";
  default: return "about:blank";
  }
}

const char *dag_http_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 416: return "Range Not Satisfiable";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Unknown";
  }
}
