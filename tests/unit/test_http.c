/* test_http.c - the web server's request parser and its limits, routing
 * (tests/data/web/routes.txt), escaping, the log path guard, and the
 * server itself over real sockets: keep-alive, pipelining, Connection:
 * close, 413, slow clients cut off, the connection cap and file answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "http.h"
#include "route.h"
#include "strbuf.h"
#include "web_int.h"

/* --- the parser ------------------------------------------------------------ */

/* Feed `text` in pieces of `step` bytes; returns bytes consumed. */
static size_t feed(struct dag_http_parser *p, const char *text, size_t step) {
  size_t len = strlen(text), done = 0;
  while (done < len && !p->complete && !p->error) {
    size_t n = len - done < step ? len - done : step;
    size_t used = dag_http_parser_feed(p, text + done, n);
    done += used;
    if (used < n) break;
  }
  return done;
}

static void test_parse_get(void **state) {
  (void)state;
  static const char req[] = "GET /api/v1/dags?limit=5&x=%3C HTTP/1.1\r\nHost: h\r\n"
                            "X-Thing: one\r\nx-empty:\r\n\r\n";
  size_t steps[] = {sizeof(req), 1, 7};
  for (size_t k = 0; k < DAG_ARRAY_SIZE(steps); k++) {
    struct dag_http_parser p;
    dag_http_parser_init(&p);
    assert_int_equal(feed(&p, req, steps[k]), strlen(req));
    assert_true(p.complete);
    assert_int_equal(p.error, 0);
    assert_int_equal(p.req.method, HTTP_GET);
    assert_string_equal(p.req.url, "/api/v1/dags?limit=5&x=%3C");
    assert_string_equal(p.req.path, "/api/v1/dags");
    assert_string_equal(p.req.query, "limit=5&x=%3C");
    assert_int_equal(p.req.n_headers, 3);
    assert_string_equal(dag_http_header(&p.req, "x-thing"), "one");
    assert_string_equal(dag_http_header(&p.req, "HOST"), "h");
    assert_string_equal(dag_http_header(&p.req, "X-Empty"), "");
    assert_null(dag_http_header(&p.req, "Cookie"));
    assert_true(p.req.keep_alive);
    assert_int_equal(p.req.body_len, 0);
    assert_string_equal(p.req.body, "");
    dag_http_parser_free(&p);
  }
}

static void test_parse_keep_alive(void **state) {
  (void)state;
  static const struct {
    const char *req;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (size_t i = 0; i < DAG_ARRAY_SIZE(cases); i++) {
    struct dag_http_parser p;
    dag_http_parser_init(&p);
    feed(&p, cases[i].req, 4096);
    assert_true(p.complete);
    assert_int_equal(p.req.keep_alive, cases[i].keep_alive);
    dag_http_parser_free(&p);
  }
}

static void test_parse_bodies(void **state) {
  (void)state;
  struct dag_http_parser p;
  dag_http_parser_init(&p);
  feed(&p, "POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"a\": true}", 3);
  assert_true(p.complete);
  assert_int_equal(p.req.method, HTTP_POST);
  assert_int_equal(p.req.body_len, 11);
  assert_string_equal(p.req.body, "{\"a\": true}");
  dag_http_parser_free(&p);

  dag_http_parser_init(&p);
  feed(&p, "PATCH /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
       5);
  assert_true(p.complete);
  assert_int_equal(p.req.method, HTTP_PATCH);
  assert_string_equal(p.req.body, "abcdefg");
  assert_int_equal(p.req.body_len, 7);
  dag_http_parser_free(&p);
}

/* Two requests in one buffer are taken one at a time. */
static void test_parse_expect_continue(void **state) {
  (void)state;
  struct dag_http_parser p;
  dag_http_parser_init(&p);
  static const char head[] = "POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n";
  assert_int_equal(dag_http_parser_feed(&p, head, strlen(head)), strlen(head));
  assert_true(p.expect_continue);
  assert_false(p.complete);
  dag_http_parser_feed(&p, "ok", 2);
  assert_true(p.complete);
  assert_string_equal(p.req.body, "ok");
  dag_http_parser_next(&p);
  assert_false(p.expect_continue);
  /* No body to wait for: no go-ahead needed. */
  feed(&p, "GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 4096);
  assert_true(p.complete);
  assert_false(p.expect_continue);
  dag_http_parser_free(&p);
}

static void test_parse_pipelined(void **state) {
  (void)state;
  static const char two[] = "GET /one HTTP/1.1\r\n\r\nPOST /two HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
  struct dag_http_parser p;
  dag_http_parser_init(&p);
  size_t first = dag_http_parser_feed(&p, two, strlen(two));
  assert_int_equal(first, strlen("GET /one HTTP/1.1\r\n\r\n"));
  assert_true(p.complete);
  assert_string_equal(p.req.path, "/one");
  /* Nothing more is taken until the request is done with. */
  assert_int_equal(dag_http_parser_feed(&p, two + first, strlen(two) - first), 0);
  dag_http_parser_next(&p);
  assert_false(p.complete);
  size_t second = dag_http_parser_feed(&p, two + first, strlen(two) - first);
  assert_int_equal(first + second, strlen(two));
  assert_true(p.complete);
  assert_string_equal(p.req.path, "/two");
  assert_string_equal(p.req.body, "hi");
  dag_http_parser_free(&p);
}

static void test_parse_limits(void **state) {
  (void)state;
  struct dag_http_parser p;
  struct strbuf sb = STRBUF_INIT;

  /* One header of 16 KiB: the header block is over the limit. */
  sb_append(&sb, "GET / HTTP/1.1\r\nX-Big: ");
  for (int i = 0; i < DAG_HTTP_MAX_HEADER_BYTES; i++) sb_appendc(&sb, 'a');
  sb_append(&sb, "\r\n\r\n");
  dag_http_parser_init(&p);
  feed(&p, sb_str(&sb), 1000);
  assert_int_equal(p.error, 431);
  assert_false(p.complete);
  dag_http_parser_free(&p);

  /* Just under the limit is fine. */
  sb_reset(&sb);
  sb_append(&sb, "GET / HTTP/1.1\r\nX-Big: ");
  for (int i = 0; i < DAG_HTTP_MAX_HEADER_BYTES - 100; i++) sb_appendc(&sb, 'a');
  sb_append(&sb, "\r\n\r\n");
  dag_http_parser_init(&p);
  feed(&p, sb_str(&sb), 1000);
  assert_int_equal(p.error, 0);
  assert_true(p.complete);
  dag_http_parser_free(&p);

  /* A long URL counts too. */
  sb_reset(&sb);
  sb_append(&sb, "GET /");
  for (int i = 0; i < DAG_HTTP_MAX_HEADER_BYTES + 1; i++) sb_appendc(&sb, 'u');
  sb_append(&sb, " HTTP/1.1\r\n\r\n");
  dag_http_parser_init(&p);
  feed(&p, sb_str(&sb), 4096);
  assert_int_equal(p.error, 431);
  dag_http_parser_free(&p);

  /* Too many headers. */
  sb_reset(&sb);
  sb_append(&sb, "GET / HTTP/1.1\r\n");
  for (int i = 0; i <= DAG_HTTP_MAX_HEADERS; i++) sb_appendf(&sb, "X-%d: v\r\n", i);
  sb_append(&sb, "\r\n");
  dag_http_parser_init(&p);
  feed(&p, sb_str(&sb), 4096);
  assert_int_equal(p.error, 431);
  dag_http_parser_free(&p);

  /* A declared body over 1 MiB is refused before any of it is read. */
  dag_http_parser_init(&p);
  feed(&p, "POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 4096);
  assert_int_equal(p.error, 413);
  dag_http_parser_free(&p);

  /* A chunked body is counted as it comes. */
  dag_http_parser_init(&p);
  p.max_body = 8;
  feed(&p, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n",
       4096);
  assert_int_equal(p.error, 413);
  assert_false(p.complete);
  dag_http_parser_free(&p);
  sb_free(&sb);
}

static void test_parse_errors(void **state) {
  (void)state;
  static const char *const bad[] = {
      "HELLO\r\n\r\n",
      "GET / HTTP/9.9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
      /* Request smuggling: both lengths. */
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
  };
  for (size_t i = 0; i < DAG_ARRAY_SIZE(bad); i++) {
    struct dag_http_parser p;
    dag_http_parser_init(&p);
    feed(&p, bad[i], 4096);
    if (p.error != 400) fail_msg("case %zu: error %d, complete %d", i, p.error, p.complete);
    dag_http_parser_free(&p);
  }
}

static void test_parse_upgrade(void **state) {
  (void)state;
  struct dag_http_parser p;
  dag_http_parser_init(&p);
  feed(&p, "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 4096);
  assert_true(p.complete);
  assert_true(p.req.upgrade);
  dag_http_parser_free(&p);
}

/* The fuzzer's input: an upgrade request that has a body. http-parser sets
 * its upgrade flag when the headers end, before the body; the request is
 * whole only after the body, and the next one starts with no upgrade state. */
static void test_parse_upgrade_reset(void **state) {
  (void)state;
  static const char in[] = "POST /\nContent-Length:3\nConnection:Upgrade\nUpgrade:9\n\rp\0im";
  size_t len = sizeof(in) - 1, off = 0;
  int requests = 0;
  struct dag_http_parser p;
  dag_http_parser_init(&p);
  p.max_body = 64;
  while (off < len && !p.error) {
    size_t n = len - off < 2 ? len - off : 2;
    size_t used = dag_http_parser_feed(&p, in + off, n);
    off += used;
    if (!p.complete) {
      assert_int_equal(used, n);
      continue;
    }
    assert_non_null(p.req.url);
    assert_non_null(p.req.path);
    assert_non_null(p.req.body);
    requests++;
    dag_http_parser_next(&p);
  }
  assert_int_equal(requests, 1);
  dag_http_parser_free(&p);

  /* After an upgrade request, the next one is plain HTTP again. */
  dag_http_parser_init(&p);
  feed(&p, "POST /u HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\nabc",
       4096);
  assert_true(p.complete);
  assert_true(p.req.upgrade);
  assert_string_equal(p.req.body, "abc");
  dag_http_parser_next(&p);
  assert_int_equal(p.hp.upgrade, 0);
  feed(&p, "GET /next HTTP/1.1\r\nContent-Length: 2\r\n\r\nok", 4096);
  assert_true(p.complete);
  assert_int_equal(p.error, 0);
  assert_false(p.req.upgrade);
  assert_string_equal(p.req.path, "/next");
  assert_string_equal(p.req.body, "ok");
  dag_http_parser_free(&p);
}

/* --- text helpers ------------------------------------------------------------- */

static void test_decode(void **state) {
  (void)state;
  char *s;
  assert_string_equal(s = dag_http_decode("%41b%2Fc%7e", 11, false), "Ab/c~");
  free(s);
  assert_string_equal(s = dag_http_decode("a+b%20c", 7, true), "a b c");
  free(s);
  assert_string_equal(s = dag_http_decode("a+b", 3, false), "a+b");
  free(s);
  assert_string_equal(s = dag_http_decode("abcdef", 3, false), "abc");
  free(s);
  assert_null(dag_http_decode("%zz", 3, false));
  assert_null(dag_http_decode("%4", 2, false));
  assert_null(dag_http_decode("%", 1, false));
  assert_null(dag_http_decode("a%00b", 5, false));
}

static void test_query_param(void **state) {
  (void)state;
  static const char q[] = "limit=25&x=%3Cy%3E&flag&empty=&sp=a+b&limit=99";
  char *v;
  assert_string_equal(v = dag_http_query_param(q, "limit"), "25");
  free(v);
  assert_string_equal(v = dag_http_query_param(q, "x"), "<y>");
  free(v);
  assert_string_equal(v = dag_http_query_param(q, "flag"), "");
  free(v);
  assert_string_equal(v = dag_http_query_param(q, "empty"), "");
  free(v);
  assert_string_equal(v = dag_http_query_param(q, "sp"), "a b");
  free(v);
  assert_null(dag_http_query_param(q, "lim"));
  assert_null(dag_http_query_param("", "limit"));
  assert_null(dag_http_query_param("x=%zz", "x"));
}

static void test_html_escape(void **state) {
  (void)state;
  struct strbuf sb = STRBUF_INIT;
  dag_html_escape(&sb, "<img src=x onerror=\"alert('1')\"> & </script>");
  assert_string_equal(sb_str(&sb),
                      "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; &lt;/script&gt;");
  sb_free(&sb);
}

static void test_json_dumps_escapes_markup(void **state) {
  (void)state;
  json_t *j = json_pack("{s:s, s:i}", "conf", "<script>alert(1)</script> & more", "n", 1);
  char *s = web_json_dumps(j);
  assert_string_equal(s, "{\"conf\":\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e \\u0026 more\","
                         "\"n\":1}");
  /* Still the same JSON for a parser. */
  json_t *back = json_loads(s, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(back, "conf")),
                      "<script>alert(1)</script> & more");
  json_decref(back);
  json_decref(j);
  free(s);
}

static void test_utf8_clean(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"plain", "plain"},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
      {"\xFF", "\xEF\xBF\xBD"},
      {"ok\xC3", "ok\xEF\xBF\xBD"},                        /* cut short */
      {"\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},             /* lone continuations */
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},             /* overlong '/' */
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* a surrogate */
      {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* > U+10FFFF */
  };
  for (size_t i = 0; i < DAG_ARRAY_SIZE(cases); i++) {
    char *got = web_utf8_clean(cases[i].in);
    assert_string_equal(got, cases[i].out);
    json_t *j = json_string(got);
    assert_non_null(j); /* jansson takes it */
    json_decref(j);
    free(got);
  }
}

static void test_token_equal(void **state) {
  (void)state;
  assert_true(web_token_equal("s3cret-token", "s3cret-token"));
  assert_false(web_token_equal("s3cret-tokeN", "s3cret-token"));
  assert_false(web_token_equal("s3cret", "s3cret-token"));
  assert_false(web_token_equal("s3cret-token-and-more", "s3cret-token"));
  assert_false(web_token_equal("", "s3cret-token"));
  assert_false(web_token_equal("x", ""));
  /* A repetition of the token is not the token. */
  assert_false(web_token_equal("abab", "ab"));
}

/* --- routing (data-driven) ------------------------------------------------------- */

static const char *const route_names[] = {
    "NONE", "PAGE_DAGS", "PAGE_DAG", "PAGE_TRY", "STATIC", "METRICS", "DAGS", "DAG", "RUNS",
    "RUN", "TIS", "TI", "LOG", "CLEAR", "IMPORT_ERRORS", "HEALTH", "VERSION", "GRID", "TRIES",
    "RECENT_RUNS", "VERSIONS", "SOURCE", "PAGE_DASHBOARD", "DASHBOARD",
};

static enum http_method method_of(const char *name) {
  for (int m = 0; m < 40; m++)
    if (strcmp(http_method_str((enum http_method)m), name) == 0) return (enum http_method)m;
  fail_msg("unknown method %s", name);
  return HTTP_GET;
}

static void test_routes(void **state) {
  (void)state;
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  assert_non_null(src);
  char *path = xasprintf("%s/tests/data/web/routes.txt", src);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  free(path);
  char line[1024];
  int lineno = 0, cases = 0;
  while (fgets(line, sizeof(line), f)) {
    lineno++;
    line[strcspn(line, "\n")] = '\0';
    if (!line[0] || line[0] == '#') continue;
    char *field[8];
    size_t nf = 0;
    for (char *p = line; nf < 8;) {
      field[nf++] = p;
      char *bar = strchr(p, '|');
      if (!bar) break;
      *bar = '\0';
      p = bar + 1;
    }
    assert_true(nf >= 3);
    int want = (int)strtol(field[2], NULL, 10);
    struct dag_route_match m;
    int got = dag_route_match(method_of(field[0]), field[1], &m);
    if (got != want) fail_msg("routes.txt:%d: %s %s: status %d, want %d", lineno, field[0], field[1], got, want);
    if (want == 200) {
      if (strcmp(route_names[m.route], field[3]) != 0)
        fail_msg("routes.txt:%d: route %s, want %s", lineno, route_names[m.route], field[3]);
      if (m.n_params != nf - 4) fail_msg("routes.txt:%d: %zu params, want %zu", lineno, m.n_params, nf - 4);
      for (size_t i = 0; i < m.n_params; i++)
        if (strcmp(m.params[i], field[4 + i]) != 0)
          fail_msg("routes.txt:%d: param %zu is '%s', want '%s'", lineno, i, m.params[i], field[4 + i]);
    } else if (want == 405) {
      char allow[64];
      dag_route_allow(&m, allow, sizeof(allow));
      if (strcmp(allow, field[3]) != 0)
        fail_msg("routes.txt:%d: Allow '%s', want '%s'", lineno, allow, field[3]);
    }
    dag_route_match_free(&m);
    cases++;
  }
  fclose(f);
  assert_true(cases > 40);
}

/* --- the log path guard ------------------------------------------------------------- */

static void test_log_path(void **state) {
  (void)state;
  char tmpl[] = "/tmp/dagctl-http-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char real_home[PATH_MAX];
  assert_non_null(realpath(tmpl, real_home));
  char *cmd = xasprintf("mkdir -p '%s/logs/d/r/t' && echo hi > '%s/logs/d/r/t/1.log' && "
                        "echo secret > '%s/outside' && ln -s '%s/outside' '%s/logs/d/r/t/2.log' && "
                        "ln -s /etc '%s/logs/etc'",
                        tmpl, tmpl, tmpl, tmpl, tmpl, tmpl);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  char *out = NULL;
  assert_int_equal(web_log_path(tmpl, "d/r/t/1.log", &out), 0);
  char *want = xasprintf("%s/logs/d/r/t/1.log", real_home);
  assert_string_equal(out, want);
  free(want);
  free(out);
  static const char *const refused[] = {"../outside", "d/../../outside", "/etc/passwd", "..",
                                        "d/r/t/..", "", "d/r/t/2.log", "etc/passwd"};
  for (size_t i = 0; i < DAG_ARRAY_SIZE(refused); i++) {
    int rc = web_log_path(tmpl, refused[i], &out);
    if (rc != DAG_EINVAL) fail_msg("'%s': %d, want DAG_EINVAL", refused[i], rc);
    assert_null(out);
  }
  assert_int_equal(web_log_path(tmpl, "d/r/t/9.log", &out), -ENOENT);
  assert_null(out);
  cmd = xasprintf("rm -rf '%s'", tmpl);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

/* --- the server over real sockets --------------------------------------------------- */

struct server_test {
  uv_loop_t loop;
  struct dag_http_server *srv;
  uv_async_t done;
  uv_thread_t thread;
  int port;
  void (*client)(struct server_test *t);
  char *file_path; /* for the file answer */
  size_t file_size;
  int requests;
  /* what the client saw */
  char *got;
  size_t got_len;
  bool closed; /* the server closed the connection */
  char *got2, *got3;
};

static void handler(void *ctx, struct dag_http_conn *c, const struct dag_http_request *req) {
  struct server_test *t = ctx;
  t->requests++;
  if (strcmp(req->path, "/file") == 0) {
    int fd = open(t->file_path, O_RDONLY);
    assert_true(fd >= 0);
    dag_http_respond_file(c, 200, "application/octet-stream", NULL, fd, 0,
                          (int64_t)t->file_size);
    return;
  }
  char *body = xasprintf("path=%s body=%s", req->path, req->body);
  dag_http_respond(c, 200, "text/plain", "X-Test: 1\r\n", body, strlen(body));
  free(body);
}

/* A connection to 127.0.0.1:port from the loopback address `from` (every
 * 127/8 address is the loopback: distinct clients on one machine). */
static int connect_from(const char *from, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in src = {.sin_family = AF_INET};
  inet_pton(AF_INET, from, &src.sin_addr);
  if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static void send_all(int fd, const char *s, size_t len) {
  while (len) {
    ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
    if (n <= 0) return;
    s += n;
    len -= (size_t)n;
  }
}

/* Read until the server closes (or 5 s pass). */
static char *read_all(int fd, size_t *len, bool *closed) {
  struct strbuf sb = STRBUF_INIT;
  char buf[65536];
  ssize_t n;
  *closed = false;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) sb_appendn(&sb, buf, (size_t)n);
  if (n == 0) *closed = true;
  if (len) *len = sb.len;
  return sb_detach(&sb);
}

static void client_thread(void *arg) {
  struct server_test *t = arg;
  t->client(t);
  uv_async_send(&t->done);
}

static void on_done(uv_async_t *a) {
  struct server_test *t = a->data;
  uv_close((uv_handle_t *)&t->done, NULL);
  dag_http_server_close(t->srv, NULL, NULL);
}

static void run_server(struct server_test *t, const struct dag_http_options *extra) {
  uv_loop_init(&t->loop);
  struct dag_http_options o = {.port = 0, .handler = handler, .ctx = t};
  if (extra) {
    o.max_connections = extra->max_connections;
    o.max_per_client = extra->max_per_client;
    o.idle_timeout_ms = extra->idle_timeout_ms;
  }
  assert_int_equal(dag_http_server_start(&t->loop, &o, &t->srv), 0);
  t->port = dag_http_server_port(t->srv);
  assert_true(t->port > 0);
  uv_async_init(&t->loop, &t->done, on_done);
  t->done.data = t;
  uv_thread_create(&t->thread, client_thread, t);
  uv_run(&t->loop, UV_RUN_DEFAULT);
  uv_thread_join(&t->thread);
  assert_int_equal(uv_loop_close(&t->loop), 0);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

static void keep_alive_client(struct server_test *t) {
  int fd = connect_to(t->port);
  /* Pipelined: both are answered, in order, on one connection, which
   * closes after the second because it asks to. */
  static const char reqs[] = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
                             "POST /second HTTP/1.1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody";
  send_all(fd, reqs, strlen(reqs));
  t->got = read_all(fd, &t->got_len, &t->closed);
  close(fd);
}

static void test_server_keep_alive(void **state) {
  (void)state;
  struct server_test t = {.client = keep_alive_client};
  run_server(&t, NULL);
  assert_true(t.closed);
  assert_int_equal(t.requests, 2);
  assert_int_equal(count(t.got, "HTTP/1.1 200 OK\r\n"), 2);
  const char *first = strstr(t.got, "path=/first body=");
  const char *second = strstr(t.got, "path=/second body=body");
  assert_non_null(first);
  assert_non_null(second);
  assert_true(first < second);
  assert_int_equal(count(t.got, "Connection: close\r\n"), 1);
  assert_true(strstr(t.got, "Connection: close\r\n") > first);
  assert_int_equal(count(t.got, "X-Content-Type-Options: nosniff\r\n"), 2);
  free(t.got);
}

static void too_large_client(struct server_test *t) {
  int fd = connect_to(t->port);
  static const char req[] = "POST /x HTTP/1.1\r\nContent-Length: 5000000\r\n\r\nsome of it";
  send_all(fd, req, strlen(req));
  t->got = read_all(fd, &t->got_len, &t->closed);
  close(fd);
  fd = connect_to(t->port);
  send_all(fd, "BREW / HTCPCP/1.0\r\n\r\n", 21);
  t->got2 = read_all(fd, NULL, &t->closed);
  close(fd);
}

static void test_server_errors(void **state) {
  (void)state;
  struct server_test t = {.client = too_large_client};
  run_server(&t, NULL);
  assert_int_equal(t.requests, 0);
  assert_non_null(strstr(t.got, "HTTP/1.1 413 Payload Too Large\r\n"));
  assert_non_null(strstr(t.got, "Connection: close\r\n"));
  assert_non_null(strstr(t.got, "\"status\":413"));
  assert_non_null(strstr(t.got2, "HTTP/1.1 400 Bad Request\r\n"));
  assert_true(t.closed);
  free(t.got);
  free(t.got2);
}

static void slow_client(struct server_test *t) {
  /* A byte every 100 ms never completes a request: cut off at the
   * deadline (300 ms), whatever trickles in. */
  int fd = connect_to(t->port);
  static const char part[] = "GET /slow HTTP/1.1\r\nX-Slow: ";
  struct timeval start, end;
  gettimeofday(&start, NULL);
  bool cut = false;
  for (int i = 0; i < 30 && !cut; i++) {
    if (send(fd, part + (i % (sizeof(part) - 1)), 1, MSG_NOSIGNAL) <= 0) cut = true;
    usleep(100 * 1000);
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) cut = true;
  }
  gettimeofday(&end, NULL);
  t->closed = cut;
  t->got_len = (size_t)((end.tv_sec - start.tv_sec) * 1000 + (end.tv_usec - start.tv_usec) / 1000);
  close(fd);
}

static void test_server_slow_client_cut_off(void **state) {
  (void)state;
  struct server_test t = {.client = slow_client};
  struct dag_http_options o = {.idle_timeout_ms = 300};
  run_server(&t, &o);
  assert_true(t.closed);
  assert_int_equal(t.requests, 0);
  /* Cut off near the deadline, long before the 3 s the trickle lasts. */
  assert_true(t.got_len >= 250 && t.got_len < 1500);
}

static void continue_client(struct server_test *t) {
  int fd = connect_to(t->port);
  static const char head[] = "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                             "Connection: close\r\n\r\n";
  send_all(fd, head, strlen(head));
  char buf[64] = {0};
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0); /* the go-ahead, before any body */
  t->got2 = xstrndup(buf, n > 0 ? (size_t)n : 0);
  send_all(fd, "hello", 5);
  t->got = read_all(fd, &t->got_len, &t->closed);
  close(fd);
}

static void test_server_expect_continue(void **state) {
  (void)state;
  struct server_test t = {.client = continue_client};
  run_server(&t, NULL);
  assert_string_equal(t.got2, "HTTP/1.1 100 Continue\r\n\r\n");
  assert_non_null(strstr(t.got, "path=/up body=hello"));
  free(t.got);
  free(t.got2);
}

static void cap_client(struct server_test *t) {
  int a = connect_to(t->port), b = connect_to(t->port);
  send_all(a, "GET /a HTTP/1.1\r\n\r\n", 19); /* a and b are now surely accepted */
  char buf[512];
  recv(a, buf, sizeof(buf), 0);
  int c = connect_to(t->port);
  t->got = read_all(c, NULL, &t->closed);
  close(c);
  /* The first two still work. */
  send_all(b, "GET /b HTTP/1.1\r\nConnection: close\r\n\r\n", 38);
  t->got2 = read_all(b, NULL, &t->closed);
  close(a);
  close(b);
}

static void test_server_connection_cap(void **state) {
  (void)state;
  struct server_test t = {.client = cap_client};
  struct dag_http_options o = {.max_connections = 2};
  run_server(&t, &o);
  assert_non_null(strstr(t.got, "HTTP/1.1 503 Service Unavailable\r\n"));
  assert_non_null(strstr(t.got2, "path=/b"));
  assert_int_equal(t.requests, 2);
  free(t.got);
  free(t.got2);
}

static void per_client_client(struct server_test *t) {
  /* Two slow connections from 127.0.0.1, its whole share. */
  int a = connect_from("127.0.0.1", t->port), b = connect_from("127.0.0.1", t->port);
  send_all(a, "GET /a HTTP/1.1\r\n", 17);
  send_all(b, "GET /b HTTP/1.1\r\n", 17);
  /* Another address is served; once it is, a and b were taken before. */
  int other = connect_from("127.0.0.2", t->port);
  send_all(other, "GET /other HTTP/1.1\r\nConnection: close\r\n\r\n", 42);
  t->got2 = read_all(other, NULL, &t->closed);
  close(other);
  /* A third from 127.0.0.1 is refused at once, before it sends anything. */
  int c = connect_from("127.0.0.1", t->port);
  t->got = read_all(c, NULL, &t->closed);
  close(c);
  /* The two it holds still work. */
  send_all(a, "Connection: close\r\n\r\n", 21);
  t->got3 = read_all(a, NULL, &t->closed);
  close(a);
  close(b);
}

static void test_server_per_client_cap(void **state) {
  (void)state;
  struct server_test t = {.client = per_client_client};
  struct dag_http_options o = {.max_per_client = 2};
  run_server(&t, &o);
  assert_non_null(strstr(t.got2, "path=/other"));
  assert_non_null(strstr(t.got, "HTTP/1.1 503 Service Unavailable\r\n"));
  assert_non_null(strstr(t.got, "too many connections from your address"));
  assert_non_null(strstr(t.got3, "path=/a"));
  free(t.got);
  free(t.got2);
  free(t.got3);
}

static void file_client(struct server_test *t) {
  int fd = connect_to(t->port);
  static const char reqs[] = "GET /file HTTP/1.1\r\n\r\nHEAD /file HTTP/1.1\r\nConnection: close\r\n\r\n";
  send_all(fd, reqs, strlen(reqs));
  t->got = read_all(fd, &t->got_len, &t->closed);
  close(fd);
}

static void test_server_file_answer(void **state) {
  (void)state;
  char path[] = "/tmp/dagctl-http-file-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  /* Several chunks' worth, each byte known. */
  size_t size = 200 * 1000 + 7;
  char *data = xmalloc(size);
  for (size_t i = 0; i < size; i++) data[i] = (char)('a' + i % 26);
  assert_int_equal(write(fd, data, size), (ssize_t)size);
  close(fd);
  struct server_test t = {.client = file_client, .file_path = path, .file_size = size};
  run_server(&t, NULL);
  unlink(path);
  assert_int_equal(t.requests, 2);
  char *body = strstr(t.got, "\r\n\r\n");
  assert_non_null(body);
  body += 4;
  assert_memory_equal(body, data, size);
  /* Then the HEAD answer: headers alone, with the length. */
  char *head = body + size;
  assert_true(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0);
  assert_non_null(strstr(head, "Content-Length: 200007\r\n"));
  assert_int_equal(t.got_len, (size_t)(head - t.got) + strlen(head));
  assert_true(strlen(head) < 300);
  free(data);
  free(t.got);
}

static void test_server_address_taken(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct dag_http_server *a = NULL, *b = NULL;
  struct dag_http_options o = {.port = 0, .handler = handler};
  assert_int_equal(dag_http_server_start(&loop, &o, &a), 0);
  o.port = dag_http_server_port(a);
  assert_int_equal(dag_http_server_start(&loop, &o, &b), UV_EADDRINUSE);
  assert_null(b);
  o.bind = "not-an-address";
  assert_int_equal(dag_http_server_start(&loop, &o, &b), UV_EINVAL);
  dag_http_server_close(a, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_get),
      cmocka_unit_test(test_parse_keep_alive),
      cmocka_unit_test(test_parse_bodies),
      cmocka_unit_test(test_parse_expect_continue),
      cmocka_unit_test(test_parse_pipelined),
      cmocka_unit_test(test_parse_limits),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_parse_upgrade),
      cmocka_unit_test(test_parse_upgrade_reset),
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_query_param),
      cmocka_unit_test(test_html_escape),
      cmocka_unit_test(test_json_dumps_escapes_markup),
      cmocka_unit_test(test_utf8_clean),
      cmocka_unit_test(test_token_equal),
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_log_path),
      cmocka_unit_test(test_server_keep_alive),
      cmocka_unit_test(test_server_errors),
      cmocka_unit_test(test_server_slow_client_cut_off),
      cmocka_unit_test(test_server_expect_continue),
      cmocka_unit_test(test_server_connection_cap),
      cmocka_unit_test(test_server_per_client_cap),
      cmocka_unit_test(test_server_file_answer),
      cmocka_unit_test(test_server_address_taken),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
