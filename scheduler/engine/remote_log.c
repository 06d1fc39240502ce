/* remote_log.c - a log read from a worker's log server (remote_log.h). */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "log_token.h"
#include "remote_log.h"

struct sink {
  struct strbuf *out;
  size_t base; /* out's length before this read */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  struct sink *k = arg;
  size_t len = size * n;
  sb_appendn(k->out, data, len);
  /* Keep the end of an outsize log: a log is read for how it ended. */
  size_t got = k->out->len - k->base;
  if (got > 2 * (size_t)DAG_REMOTE_LOG_MAX) {
    size_t drop = got - DAG_REMOTE_LOG_MAX;
    memmove(k->out->buf + k->base, k->out->buf + k->base + drop, got - drop);
    k->out->len -= drop;
    k->out->buf[k->out->len] = '\0';
  }
  return len;
}

int dag_remote_log_read(const char *log_url, const char *secret, const char *rel_path,
                        int64_t offset, struct strbuf *out, char **err) {
  *err = NULL;
  if (!secret || !*secret) {
    *err = xstrdup("worker.log_server_secret is not set here");
    return -EACCES;
  }
  CURL *h = curl_easy_init();
  if (!h) {
    *err = xstrdup("cannot start an HTTP client");
    return -ENOMEM;
  }
  /* The path's segments are ids (validated when the store recorded them):
   * nothing to escape. The token travels in a header, never in a URL that
   * a proxy or a log could keep. */
  char *url = xasprintf("%s/log/%s?offset=%lld", log_url, rel_path, (long long)offset);
  char token[DAG_LOG_TOKEN_SIZE];
  dag_log_token_make(secret, rel_path, (int64_t)time(NULL), token);
  char *auth = xasprintf("Authorization: Bearer %s", token);
  struct curl_slist *headers = curl_slist_append(NULL, auth);
  struct sink k = {.out = out, .base = out->len};
  char curl_err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
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
  if (rc && out->buf) {
    /* An error page is no log. */
    out->len = k.base;
    out->buf[out->len] = '\0';
  }
  free(url);
  return rc;
}
