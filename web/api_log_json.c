/* api_log_json.c - a try's log as Airflow's JSON answer, {content,
 * continuation_token}, for clients that ask for application/json. The
 * file is read on the thread pool; the token says where the next read
 * starts. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "strbuf.h"
#include "web_api.h"
#include "web_log_json.h"

/* One answer carries at most this much of the log; the token continues
 * it. full_content=true takes up to the larger bound at once. */
#define LOG_JSON_CHUNK (1024 * 1024)
#define LOG_JSON_FULL (16 * 1024 * 1024)

struct log_read {
  uv_fs_t req;
  struct dag_http_conn *c; /* held until the read ends */
  int fd;                  /* owned */
  int64_t start, size;
  bool finished; /* the try has ended: the log will not grow */
  char *buf;     /* owned */
  size_t want;
};

char *api_log_token(int64_t pos, bool end_of_log) {
  char json[96];
  int n = snprintf(json, sizeof(json), "{\"log_pos\":%lld,\"end_of_log\":%s}", (long long)pos,
                   end_of_log ? "true" : "false");
  size_t cap = sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = xmalloc(cap);
  sodium_bin2base64(out, cap, (const unsigned char *)json, (size_t)n,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

bool api_log_token_parse(const char *token, int64_t *pos) {
  unsigned char bin[128];
  size_t len = 0;
  if (sodium_base642bin(bin, sizeof(bin) - 1, token, strlen(token), NULL, &len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return false;
  json_t *j = json_loadb((const char *)bin, len, 0, NULL);
  json_t *p = json_object_get(j, "log_pos");
  bool ok = json_is_integer(p) && json_integer_value(p) >= 0;
  if (ok) *pos = json_integer_value(p);
  json_decref(j);
  return ok;
}

/* The length of buf[0..n) without a UTF-8 sequence cut at its end, so the
 * next read starts with the sequence whole. */
static size_t whole_utf8(const char *buf, size_t n) {
  size_t back = 0;
  while (back < 3 && back < n && ((unsigned char)buf[n - 1 - back] & 0xC0) == 0x80) back++;
  if (back == n) return n;
  unsigned char lead = (unsigned char)buf[n - 1 - back];
  size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return need > back + 1 ? n - 1 - back : n;
}

static void on_read(uv_fs_t *req) {
  struct log_read *r = container_of(req, struct log_read, req);
  ssize_t got = req->result;
  uv_fs_req_cleanup(req);
  close(r->fd);
  if (!dag_http_conn_release(r->c)) {
    free(r->buf);
    free(r);
    return;
  }
  if (got < 0) {
    LOG_WARN("web: cannot read a log error=\"%s\"", uv_strerror((int)got));
    web_error(r->c, 500, "Internal Server Error", "cannot read the log: %s",
              uv_strerror((int)got));
    free(r->buf);
    free(r);
    return;
  }
  size_t n = (size_t)got;
  if (r->start + (int64_t)n < r->size || !r->finished) n = whole_utf8(r->buf, n);
  /* NUL bytes would end a C string early: shown as U+FFFD like any byte
   * that is not UTF-8. */
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (r->buf[i])
      sb_appendc(&sb, r->buf[i]);
    else
      sb_append(&sb, "\xEF\xBF\xBD");
  }
  char *content = web_utf8_clean(sb_str(&sb));
  sb_free(&sb);
  int64_t pos = r->start + (int64_t)n;
  char *token = api_log_token(pos, r->finished && pos >= r->size);
  web_json(r->c, 200, json_pack("{s:s, s:s}", "content", content, "continuation_token", token));
  free(token);
  free(content);
  free(r->buf);
  free(r);
}

void api_log_json(struct dag_http_conn *c, int fd, int64_t start, int64_t size, bool finished,
                  bool full) {
  if (start > size) start = size;
  int64_t cap = full ? LOG_JSON_FULL : LOG_JSON_CHUNK;
  struct log_read *r = xcalloc(1, sizeof(*r));
  r->c = c;
  r->fd = fd;
  r->start = start;
  r->size = size;
  r->finished = finished;
  r->want = (size_t)(size - start < cap ? size - start : cap);
  r->buf = xmalloc(r->want ? r->want : 1);
  uv_buf_t b = uv_buf_init(r->buf, (unsigned)r->want);
  dag_http_conn_hold(c);
  int rc = uv_fs_read(dag_http_conn_loop(c), &r->req, fd, &b, 1, start, on_read);
  if (rc) {
    dag_http_conn_release(c);
    close(fd);
    free(r->buf);
    free(r);
    web_error(c, 500, "Internal Server Error", "cannot read the log: %s", uv_strerror(rc));
  }
}
