/* lake_s3.c - the lake in an S3 bucket, over libcurl with SigV4.
 *
 * One easy handle per lake, so consecutive requests reuse the connection.
 * curl signs (CURLOPT_AWS_SIGV4) but, in 7.88, neither adds nor computes
 * x-amz-content-sha256 for an upload: we send the payload's SHA-256
 * ourselves, and curl signs the header's value as the payload hash.
 *
 * Transport errors (refused, reset, timed out) and 5xx answers are retried
 * with exponential backoff; 4xx answers are not, and their XML <Code> and
 * <Message> go into the error. Credentials never appear in an error: the
 * messages name the method, the s3:// object and the server's answer. */
#include <errno.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "curl_lazy.h"
#include "error.h"
#include "lake_int.h"
#include "strbuf.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_RETRIES 4
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
/* SHA-256 of the empty string: the payload hash of GET and LIST. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
  CURL *curl;
  char *bucket;
  char *prefix;   /* "" or "raw/" (always ending in '/'): prepended to keys */
  char *base;     /* "http://host:port/bucket" or "https://bucket.host" */
  char *display;  /* "s3://bucket/prefix" for messages */
  char *sigv4;    /* "aws:amz:REGION:s3" */
  char *access_key_id;
  char *secret_access_key;
  long timeout_ms;
  int max_retries;
  long max_keys; /* per ListObjectsV2 page; 0: the server's (1000) */
  bool path_style;
  unsigned seed; /* for backoff jitter */
};

struct request {
  const char *method; /* "GET" or "PUT" */
  char *url;
  const char *payload_sha256;
  const char *body; /* PUT */
  size_t body_len, body_off;
  struct strbuf resp;
  long status;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  struct request *r = ud;
  sb_appendn(&r->resp, ptr, size * nmemb);
  return size * nmemb;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
  struct request *r = ud;
  size_t n = r->body_len - r->body_off;
  if (n > size * nitems) n = size * nitems;
  memcpy(buf, r->body + r->body_off, n);
  r->body_off += n;
  return n;
}

static void sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  static const char hex[] = "0123456789abcdef";
  if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) abort();
  for (unsigned i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
}

static int retryable_curl(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR: return 1;
  default: return 0;
  }
}

static int curl_to_errno(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
  case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
  case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
  default: return -EIO;
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* One attempt. Returns the curl code; r->status and r->resp hold the answer. */
static CURLcode perform(struct s3 *S, struct request *r, char *errbuf) {
  CURL *c = S->curl;
  curl_easy_reset(c);
  sb_reset(&r->resp);
  r->body_off = 0;
  r->status = 0;
  errbuf[0] = '\0';

  struct curl_slist *h = NULL;
  char *sha = xasprintf("x-amz-content-sha256: %s", r->payload_sha256);
  h = curl_slist_append(h, sha);
  free(sha);
  if (h == NULL) abort();

  curl_easy_setopt(c, CURLOPT_URL, r->url);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, S->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, S->timeout_ms < 10000 ? S->timeout_ms : 10000L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  if (S->access_key_id && S->secret_access_key) {
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, S->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, S->access_key_id);
    curl_easy_setopt(c, CURLOPT_PASSWORD, S->secret_access_key);
  }
  if (strcmp(r->method, "PUT") == 0) {
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
    if (h == NULL) abort();
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, r);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);

  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  /* The handle must not keep pointers into this frame. */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(h);
  return rc;
}

/* Run a request with retries. On failure sets *err as "lake: WHAT: why". */
static int run(struct s3 *S, struct request *r, const char *what, char **err) {
  char errbuf[CURL_ERROR_SIZE];
  int attempts = 0;
  long delay = BACKOFF_FIRST_MS;
  for (;;) {
    attempts++;
    CURLcode cc = perform(S, r, errbuf);
    int retry;
    if (cc != CURLE_OK)
      retry = retryable_curl(cc);
    else if (r->status >= 200 && r->status < 300)
      return 0;
    else
      retry = r->status >= 500 || r->status == 429;
    if (!retry || attempts > S->max_retries) {
      const char *tries = attempts > 1 ? " after " : "";
      char n[32] = "";
      if (attempts > 1) snprintf(n, sizeof(n), "%d attempts", attempts);
      if (cc != CURLE_OK) {
        lake__error(err, "lake: %s: %s%s%s", what, errbuf[0] ? errbuf : curl_easy_strerror(cc),
                    tries, n);
        return curl_to_errno(cc);
      }
      char *why = lake__s3_error_text(sb_str(&r->resp));
      lake__error(err, "lake: %s: HTTP %ld %s%s%s", what, r->status,
                  why ? why : "(no S3 error code)", tries, n);
      free(why);
      if (r->status == 404) return -ENOENT;
      if (r->status == 401 || r->status == 403) return -EACCES;
      return r->status >= 500 ? -EIO : DAG_EINVAL;
    }
    /* Full jitter keeps retrying clients from marching in step. */
    long wait = delay / 2 + (long)(rand_r(&S->seed) % (unsigned)(delay / 2 + 1));
    sleep_ms(wait);
    delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
  }
}

static char *object_url(struct s3 *S, const char *key) {
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, S->base);
  sb_appendc(&sb, '/');
  lake__uri_encode(&sb, S->prefix, strlen(S->prefix), true);
  lake__uri_encode(&sb, key, strlen(key), true);
  return sb_detach(&sb);
}

static int s3_put(struct lake *lk, const char *key, const void *data, size_t len, char **err) {
  struct s3 *S = lk->backend;
  char sha[65];
  sha256_hex(data, len, sha);
  struct request r = {.method = "PUT", .url = object_url(S, key), .payload_sha256 = sha,
                      .body = data, .body_len = len};
  char *what = xasprintf("PUT %s/%s%s", S->display, S->prefix, key);
  int rc = run(S, &r, what, err);
  free(what);
  free(r.url);
  sb_free(&r.resp);
  return rc;
}

static int s3_get(struct lake *lk, const char *key, char **data, size_t *len, char **err) {
  struct s3 *S = lk->backend;
  struct request r = {.method = "GET", .url = object_url(S, key),
                      .payload_sha256 = EMPTY_SHA256};
  char *what = xasprintf("GET %s/%s%s", S->display, S->prefix, key);
  int rc = run(S, &r, what, err);
  if (rc == 0) {
    *len = r.resp.len;
    *data = sb_detach(&r.resp);
  }
  free(what);
  free(r.url);
  sb_free(&r.resp);
  return rc;
}

/* O(pages) requests of up to max_keys keys each. */
static int s3_list(struct lake *lk, const char *prefix, char ***keys, size_t *n, size_t *cap,
                   char **err) {
  struct s3 *S = lk->backend;
  char *full = xasprintf("%s%s", S->prefix, prefix);
  char *token = NULL;
  size_t plen = strlen(S->prefix);
  int rc = 0;
  int pages = 0;
  do {
    struct lake_query q = {0};
    lake__query_add(&q, "list-type", "2");
    if (*full) lake__query_add(&q, "prefix", full);
    if (token) lake__query_add(&q, "continuation-token", token);
    if (S->max_keys > 0) {
      char mk[32];
      snprintf(mk, sizeof(mk), "%ld", S->max_keys);
      lake__query_add(&q, "max-keys", mk);
    }
    char *qs = lake__query_build(&q);
    lake__query_free(&q);
    /* Path style: "/bucket?..."; virtual host: "/?...". */
    struct request r = {.method = "GET", .payload_sha256 = EMPTY_SHA256};
    r.url = xasprintf("%s%s?%s", S->base, S->path_style ? "" : "/", qs);
    free(qs);
    char *what = xasprintf("LIST %s/%s (page %d)", S->display, full, ++pages);
    rc = run(S, &r, what, err);
    free(what);
    free(token);
    token = NULL;
    if (rc == 0) {
      size_t first = *n;
      lake__s3_parse_list(sb_str(&r.resp), keys, n, cap, &token);
      /* Keys come back with the lake's prefix; the caller speaks without it. */
      for (size_t i = first; i < *n; i++) {
        char *k = (*keys)[i];
        if (strncmp(k, S->prefix, plen) == 0) memmove(k, k + plen, strlen(k + plen) + 1);
      }
      if (token && *token == '\0') {
        free(token);
        token = NULL;
        lake__error(err, "lake: LIST %s/%s: truncated page without a continuation token",
                    S->display, full);
        rc = -EIO;
      }
    }
    free(r.url);
    sb_free(&r.resp);
  } while (rc == 0 && token);
  free(token);
  free(full);
  return rc;
}

static void s3_close(struct lake *lk) {
  struct s3 *S = lk->backend;
  curl_easy_cleanup(S->curl);
  free(S->bucket);
  free(S->prefix);
  free(S->base);
  free(S->display);
  free(S->sigv4);
  free(S->access_key_id);
  if (S->secret_access_key) {
    /* Do not leave the key in freed heap memory. */
    memset(S->secret_access_key, 0, strlen(S->secret_access_key));
    free(S->secret_access_key);
  }
  free(S);
}

static const struct lake_ops s3_ops = {s3_put, s3_get, s3_list, s3_close};

/* A bucket cannot be a subdomain of an address literal or of localhost. */
static int host_needs_path_style(const char *host, size_t len) {
  if (len && host[0] == '[') return 1;
  if (len == 9 && strncmp(host, "localhost", 9) == 0) return 1;
  return strspn(host, "0123456789.") >= len;
}

int lake__s3_open(struct lake *lk, const struct lake_options *opts, char **err) {
  const char *bucket = opts->url + 5;
  size_t blen = strcspn(bucket, "/");
  if (blen == 0) {
    lake__error(err, "lake: no bucket in '%s' (expected s3://bucket/prefix)", opts->url);
    return DAG_EINVAL;
  }
  const char *prefix = bucket[blen] == '/' ? bucket + blen + 1 : "";
  size_t plen = strlen(prefix);
  while (plen && prefix[plen - 1] == '/')
    plen--;
  char *pfx = xstrndup(prefix, plen);
  if (plen && !lake__valid_key(pfx, false)) {
    lake__error(err, "lake: invalid prefix '%s' in '%s'", pfx, opts->url);
    free(pfx);
    return DAG_EINVAL;
  }
  if ((opts->access_key_id == NULL) != (opts->secret_access_key == NULL)) {
    lake__error(err, "lake: %s needs both access_key_id and secret_access_key, or neither",
                opts->url);
    free(pfx);
    return DAG_EINVAL;
  }

  const char *region = opts->region && *opts->region ? opts->region : "us-east-1";
  char *base;
  bool path_style = opts->path_style;
  if (opts->endpoint && *opts->endpoint) {
    const char *ep = opts->endpoint;
    const char *hs = strstr(ep, "://");
    if (hs == NULL || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)) {
      lake__error(err, "lake: endpoint '%s' is not an http:// or https:// URL", ep);
      free(pfx);
      return DAG_EINVAL;
    }
    hs += 3;
    size_t elen = strlen(ep);
    while (elen > (size_t)(hs - ep) && ep[elen - 1] == '/')
      elen--;
    size_t hostlen = strcspn(hs, ":/");
    if (hs[0] == '[') hostlen = strcspn(hs, "]") + 1;
    if (host_needs_path_style(hs, hostlen)) path_style = true;
    if (path_style)
      base = xasprintf("%.*s/%.*s", (int)elen, ep, (int)blen, bucket);
    else
      base = xasprintf("%.*s%.*s.%.*s", (int)(hs - ep), ep, (int)blen, bucket,
                       (int)(elen - (size_t)(hs - ep)), hs);
  } else if (opts->path_style) {
    base = xasprintf("https://s3.%s.amazonaws.com/%.*s", region, (int)blen, bucket);
  } else {
    base = xasprintf("https://%.*s.s3.%s.amazonaws.com", (int)blen, bucket, region);
  }

  CURL *curl = curl_easy_init();
  if (curl == NULL) {
    const char *why = dag_curl_load_error();
    if (why == NULL) abort(); /* out of memory */
    lake__error(err, "lake: %s", why);
    free(base);
    return -ENOSYS;
  }
  struct s3 *S = xcalloc(1, sizeof(*S));
  S->curl = curl;
  S->bucket = xstrndup(bucket, blen);
  S->prefix = plen ? xasprintf("%s/", pfx) : xstrdup("");
  S->base = base;
  S->display = xasprintf("s3://%s", S->bucket);
  S->sigv4 = xasprintf("aws:amz:%s:s3", region);
  S->access_key_id = opts->access_key_id ? xstrdup(opts->access_key_id) : NULL;
  S->secret_access_key = opts->secret_access_key ? xstrdup(opts->secret_access_key) : NULL;
  S->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  S->max_retries = opts->max_retries > 0 ? opts->max_retries
                   : opts->max_retries < 0 ? 0 : DEFAULT_RETRIES;
  S->max_keys = opts->list_page_size > 0 ? opts->list_page_size : 0;
  S->path_style = path_style;
  S->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)S;
  lk->backend = S;
  lk->ops = &s3_ops;
  lk->describe = xasprintf("s3://%s%s%s at %s", S->bucket, plen ? "/" : "", pfx, S->base);
  free(pfx);
  return 0;
}
