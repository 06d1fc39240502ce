/* remote_log.c - a log read from a worker's log server (remote_log.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "curl_lazy.h"
#include "error.h"
#include "log_token.h"
#include "remote_log.h"

/* Where a request's body goes: to `write`, only once the answer is known
 * to be the log (an error page is no log). */
struct sink {
  CURL *h;
  void (*write)(void *ud, const char *buf, size_t len);
  void *ud;
  int64_t got;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  struct sink *k = arg;
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200 || status == 206) {
    k->write(k->ud, data, len);
    k->got += (int64_t)len;
  }
  return len;
}

/* One GET of the log from `offset` (and, wait_ms > 0, held by the server
 * until the log grows: log_server.h), its body to `write`. */
static int fetch(const char *log_url, const char *secret, const char *rel_path, int64_t offset,
                 unsigned wait_ms, struct sink *k, char **err) {
  *err = NULL;
  if (!secret || !*secret) {
    *err = xstrdup("worker.log_server_secret is not set here");
    return -EACCES;
  }
  CURL *h = curl_easy_init();
  if (!h) {
    const char *why = dag_curl_load_error();
    *err = xstrdup(why ? why : "cannot start an HTTP client");
    return why ? -ENOSYS : -ENOMEM;
  }
  k->h = h;
  /* The path's segments are ids (validated when the store recorded them):
   * nothing to escape. The token travels in a header, never in a URL that
   * a proxy or a log could keep. */
  char *url = wait_ms ? xasprintf("%s/log/%s?offset=%lld&wait=%u", log_url, rel_path,
                                  (long long)offset, wait_ms)
                      : xasprintf("%s/log/%s?offset=%lld", log_url, rel_path, (long long)offset);
  char token[DAG_LOG_TOKEN_SIZE];
  dag_log_token_make(secret, rel_path, (int64_t)time(NULL), token);
  char *auth = xasprintf("Authorization: Bearer %s", token);
  struct curl_slist *headers = curl_slist_append(NULL, auth);
  char curl_err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L + (long)wait_ms);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  CURLcode cc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  memset(auth, 0, strlen(auth));
  free(auth);
  curl_easy_cleanup(h);
  int rc = 0;
  if (cc != CURLE_OK) {
    *err = xasprintf("cannot reach the worker's log server %s: %s", log_url,
                     *curl_err ? curl_err : curl_easy_strerror(cc));
    rc = -EIO;
  } else if (status == 200 || status == 206) {
    rc = 0;
  } else if (status == 404) {
    *err = xasprintf("the worker's log server %s has no log %s", log_url, rel_path);
    rc = DAG_ENOTFOUND;
  } else if (status == 401 || status == 403) {
    *err = xasprintf("the worker's log server %s refused the request: is "
                     "worker.log_server_secret the same on both machines?", log_url);
    rc = -EACCES;
  } else {
    *err = xasprintf("the worker's log server %s answered %ld", log_url, status);
    rc = -EIO;
  }
  free(url);
  return rc;
}

struct keep {
  struct strbuf *out;
  size_t base; /* out's length before this read */
};

static void keep_end(void *ud, const char *data, size_t len) {
  struct keep *k = ud;
  sb_appendn(k->out, data, len);
  /* Keep the end of an outsize log: a log is read for how it ended. */
  size_t got = k->out->len - k->base;
  if (got > 2 * (size_t)DAG_REMOTE_LOG_MAX) {
    size_t drop = got - DAG_REMOTE_LOG_MAX;
    memmove(k->out->buf + k->base, k->out->buf + k->base + drop, got - drop);
    k->out->len -= drop;
    k->out->buf[k->out->len] = '\0';
  }
}

int dag_remote_log_read(const char *log_url, const char *secret, const char *rel_path,
                        int64_t offset, struct strbuf *out, char **err) {
  struct keep kp = {.out = out, .base = out->len};
  struct sink k = {.write = keep_end, .ud = &kp};
  int rc = fetch(log_url, secret, rel_path, offset, 0, &k, err);
  if (rc && out->buf) {
    /* A read cut halfway is no log either. */
    out->len = kp.base;
    out->buf[out->len] = '\0';
  }
  return rc;
}

int dag_remote_log_next(const char *log_url, const char *secret, const char *rel_path,
                        int64_t offset, unsigned wait_ms,
                        void (*write)(void *ud, const char *buf, size_t len), void *ud,
                        int64_t *got, char **err) {
  struct sink k = {.write = write, .ud = ud};
  int rc = fetch(log_url, secret, rel_path, offset, wait_ms, &k, err);
  *got = k.got;
  return rc;
}
