/* webhook_send.c - the webhook sender (see webhook_send.h). */
#include "webhook_send.h"

#include <stdlib.h>
#include <string.h>

#include "alerts_msg.h"
#include "alloc.h"
#include "curl_lazy.h"
#include "duration.h"
#include "error.h"
#include "log.h"
#include "smtp_send.h"
#include "store_vars.h"
#include "strbuf.h"
#include "timeutil.h"
#include "webhook_msg.h"

/* How much of a receiver's answer is kept as the reason of a failure. */
#define REPLY_MAX 300

struct job;

struct dag_webhook_sender {
  uv_loop_t *loop;
  const struct dag_config *cfg;
  dag_store *store;
  char *const *envp;
  bool active;
  uv_timer_t timer;
  struct job *job;
  bool curl_ready; /* curl_global_init() called */
  bool closing;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

/* One request. The worker reads url, payload, ca_file and timeout_ms and
 * writes status, error and reply; the rest belongs to the loop. */
struct job {
  uv_work_t req;
  struct dag_webhook_sender *s;
  int64_t alert_id;
  char *target; /* the row's: its receiver's other rows wait with it */
  int attempts; /* before this one */
  char *url;    /* a secret: wiped when freed */
  char *payload;
  char *ca_file;
  long timeout_ms;
  long status;
  char error[CURL_ERROR_SIZE];
  struct strbuf reply;
};

void dag_webhook_classify(long status, const char *curl_error, const char *reply,
                          struct dag_webhook_outcome *out) {
  memset(out, 0, sizeof(*out));
  if (status >= 200 && status < 300) {
    out->state = DAG_ALERT_SENT;
    return;
  }
  if (status == 0) {
    out->state = DAG_ALERT_QUEUED;
    out->error = xstrdup(curl_error && *curl_error ? curl_error : "no answer");
    return;
  }
  /* 408 and 429 ask to come back later; 5xx is the receiver's trouble. Any
   * other answer would be the same next time. */
  bool again = status == 408 || status == 429 || status >= 500;
  out->state = again ? DAG_ALERT_QUEUED : DAG_ALERT_FAILED;
  out->error = xasprintf("HTTP %ld%s%.*s", status, reply && *reply ? ": " : "", REPLY_MAX,
                         reply ? reply : "");
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
  struct strbuf *b = ctx;
  size_t len = size * n;
  if (b->len < REPLY_MAX) {
    size_t take = REPLY_MAX - b->len < len ? REPLY_MAX - b->len : len;
    char *chunk = xstrndup(data, take);
    sb_append(b, chunk);
    free(chunk);
  }
  return len;
}

static void work(uv_work_t *req) {
  struct job *j = container_of(req, struct job, req);
  CURL *h = curl_easy_init();
  if (!h) {
    const char *why = dag_curl_load_error();
    snprintf(j->error, sizeof(j->error), "%s", why ? why : "cannot start an HTTP client");
    return;
  }
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: dagctl");
  curl_easy_setopt(h, CURLOPT_URL, j->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->payload);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->payload));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &j->reply);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->error);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, j->timeout_ms);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* A redirect could carry the payload to another host. */
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (j->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, j->ca_file);
  CURLcode cc = curl_easy_perform(h);
  if (cc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &j->status);
  } else {
    j->status = 0;
    if (!j->error[0]) snprintf(j->error, sizeof(j->error), "%s", curl_easy_strerror(cc));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
}

static void job_free(struct job *j) {
  if (!j) return;
  if (j->url) {
    volatile char *p = j->url;
    while (*p) *p++ = '\0';
    free(j->url);
  }
  free(j->payload);
  free(j->target);
  free(j->ca_file);
  sb_free(&j->reply);
  free(j);
}

static void schedule_next(struct dag_webhook_sender *s);

static void maybe_closed(struct dag_webhook_sender *s) {
  if (!s->closing || s->job || !uv_is_closing((uv_handle_t *)&s->timer) || s->timer.data)
    return;
  void (*cb)(void *) = s->closed_cb;
  void *ctx = s->closed_ctx;
  free(s);
  if (cb) cb(ctx);
}

/* The URL out of a text that may quote it (a receiver's answer, an error). */
static char *mask_url(const char *text, const char *url) {
  struct dag_alert_masker m = {0};
  dag_alert_masker_add(&m, url);
  char *out = dag_alert_mask(&m, text);
  dag_alert_masker_free(&m);
  return out;
}

static void record(struct dag_webhook_sender *s, int64_t id,
                   const struct dag_store_alert_attempt *a) {
  int rc = dag_store_alert_attempted(s->store, id, a);
  if (rc)
    LOG_ERROR("cannot record a webhook attempt id=%lld error=\"%s\"", (long long)id,
              dag_strerror(rc));
}

/* While a receiver is down every row for it would fail alike: they wait
 * with the one that failed. Other targets' rows are not held back. */
static void hold(struct dag_webhook_sender *s, const char *target, dag_time_t until) {
  int rc = dag_store_webhook_hold(s->store, target, until);
  if (rc)
    LOG_ERROR("cannot hold a webhook's notifications target=%s error=\"%s\"", target,
              dag_strerror(rc));
}

static void after_work(uv_work_t *req, int status) {
  struct job *j = container_of(req, struct job, req);
  struct dag_webhook_sender *s = j->s;
  s->job = NULL;
  if (status == UV_ECANCELED) {
    job_free(j);
    maybe_closed(s);
    return;
  }
  struct dag_webhook_outcome o;
  dag_webhook_classify(j->status, j->error, sb_str(&j->reply), &o);
  char *why = o.error ? mask_url(o.error, j->url) : NULL;
  dag_time_t now = dag_time_now();
  int attempts = j->attempts + 1;
  int64_t wait = dag_smtp_backoff(s->cfg->notify_retry_base_us, attempts);
  struct dag_store_alert_attempt a = {
      .state = o.state, .now = now, .next_attempt_at = now + wait, .error = why};
  record(s, j->alert_id, &a);
  char in[32];
  dag_duration_format(wait, in, sizeof(in));
  switch (o.state) {
  case DAG_ALERT_SENT:
    LOG_INFO("webhook notification sent id=%lld attempt=%d status=%ld", (long long)j->alert_id,
             attempts, j->status);
    break;
  case DAG_ALERT_FAILED:
    LOG_ERROR("webhook notification refused, giving up id=%lld attempt=%d error=\"%s\"",
              (long long)j->alert_id, attempts, why ? why : "");
    break;
  case DAG_ALERT_QUEUED:
    LOG_WARN("webhook notification not sent yet, will retry id=%lld attempt=%d in=%s "
             "error=\"%s\"",
             (long long)j->alert_id, attempts, in, why ? why : "");
    hold(s, j->target, now + wait);
    break;
  }
  free(why);
  free(o.error);
  job_free(j);
  if (s->closing)
    maybe_closed(s);
  else
    schedule_next(s);
}

/* The URL, from the settings (`fixed`) or the connection `conn`; NULL
 * after recording why (a missing connection is retried: it may be added
 * meanwhile). */
static char *resolve_url(struct dag_webhook_sender *s, const struct dag_store_alert *a,
                         const char *fixed, const char *conn) {
  if (fixed) return xstrdup(fixed);
  struct dag_conn c;
  char *err = NULL;
  char *url = NULL;
  int rc = conn ? dag_store_connection_resolve(s->store, s->envp, conn, &c, &err) : DAG_EINVAL;
  if (!conn) err = xstrdup("the notify section that queued it is no longer set");
  if (rc == 0) {
    if (c.password && (strncmp(c.password, "http://", 7) == 0 ||
                       strncmp(c.password, "https://", 8) == 0)) {
      url = xstrdup(c.password);
      dag_log_mask(url);
    } else {
      err = xasprintf("connection '%s' must hold the webhook's URL as its password", conn);
    }
    dag_conn_clear(&c);
  }
  if (url) return url;
  dag_time_t now = dag_time_now();
  int64_t wait = dag_smtp_backoff(s->cfg->notify_retry_base_us, a->attempts + 1);
  struct dag_store_alert_attempt r = {
      .state = DAG_ALERT_QUEUED, .now = now, .next_attempt_at = now + wait, .error = err};
  LOG_ERROR("webhook notification has no URL id=%lld error=\"%s\"", (long long)a->id,
            err ? err : "");
  record(s, a->id, &r);
  hold(s, a->target, now + wait);
  free(err);
  return NULL;
}

static bool start(struct dag_webhook_sender *s, struct dag_store_alert *a) {
  /* "webhook": the notify section's; "webhook:FORMAT:CONN": a DAG's own. */
  const char *format = s->cfg->notify_format, *fixed = s->cfg->notify_url;
  const char *conn = s->cfg->notify_url_connection;
  char *own_format = NULL, *own_conn = NULL;
  if (strcmp(a->target, "webhook") != 0) {
    if (dag_webhook_target_parse(a->target, &own_format, &own_conn) != 0) {
      struct dag_store_alert_attempt r = {
          .state = DAG_ALERT_FAILED, .now = dag_time_now(), .error = "unknown target"};
      LOG_ERROR("webhook notification has an unknown target id=%lld", (long long)a->id);
      record(s, a->id, &r);
      return false;
    }
    format = own_format;
    fixed = NULL;
    conn = own_conn;
  }
  /* Before any worker thread uses libcurl: its global set-up is not
   * thread-safe everywhere. Here, at the first request, so that a
   * scheduler with no webhook row never loads libcurl (curl_lazy.c). */
  if (!s->curl_ready) {
    s->curl_ready = true;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      LOG_WARN("webhook alerts cannot be sent error=\"%s\"",
               dag_curl_load_error() ? dag_curl_load_error() : "libcurl's set-up failed");
  }
  char *url = resolve_url(s, a, fixed, conn);
  if (!url) {
    free(own_format);
    free(own_conn);
    return false;
  }
  struct job *j = xcalloc(1, sizeof(*j));
  j->s = s;
  j->alert_id = a->id;
  j->target = xstrdup(a->target);
  j->attempts = a->attempts;
  j->url = url;
  j->payload = dag_webhook_payload(format ? format : "json", a);
  free(own_format);
  free(own_conn);
  j->ca_file = s->cfg->notify_ca_file ? xstrdup(s->cfg->notify_ca_file) : NULL;
  j->timeout_ms = (long)(s->cfg->notify_timeout_us / 1000);
  if (j->timeout_ms <= 0) j->timeout_ms = 1;
  j->reply = (struct strbuf)STRBUF_INIT;
  LOG_DEBUG("sending webhook notification id=%lld attempt=%d", (long long)a->id,
            a->attempts + 1);
  int rc = uv_queue_work(s->loop, &j->req, work, after_work);
  if (rc) {
    LOG_ERROR("cannot start a webhook request error=\"%s\"", uv_strerror(rc));
    job_free(j);
    return false;
  }
  s->job = j;
  return true;
}

static void on_timer(uv_timer_t *t);

static void arm(struct dag_webhook_sender *s, int64_t delay_us) {
  uint64_t ms = delay_us <= 0 ? 0 : (uint64_t)((delay_us + 999) / 1000);
  uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void schedule_next(struct dag_webhook_sender *s) {
  if (s->closing || !s->active || s->job) return;
  dag_time_t due = 0;
  int rc = dag_store_next_webhook_due(s->store, &due);
  if (rc == DAG_ENOTFOUND) {
    uv_timer_stop(&s->timer);
    return;
  }
  if (rc) {
    arm(s, dag_smtp_backoff(s->cfg->notify_retry_base_us, 1));
    return;
  }
  arm(s, due - dag_time_now());
}

/* Wall-clock due times drive a monotonic timer; checked again here. */
static void on_timer(uv_timer_t *t) {
  struct dag_webhook_sender *s = container_of(t, struct dag_webhook_sender, timer);
  if (s->closing || s->job) return;
  dag_time_t now = dag_time_now();
  struct dag_store_alert a;
  int rc = dag_store_due_webhook(s->store, now, &a);
  if (rc == 0) {
    bool started = start(s, &a);
    dag_store_alert_free(&a);
    if (started) return;
  } else if (rc != DAG_ENOTFOUND) {
    arm(s, dag_smtp_backoff(s->cfg->notify_retry_base_us, 1));
    return;
  }
  schedule_next(s);
}

int dag_webhook_sender_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                           char *const *envp, struct dag_webhook_sender **out) {
  struct dag_webhook_sender *s = xcalloc(1, sizeof(*s));
  s->loop = loop;
  s->cfg = cfg;
  s->store = store;
  s->envp = envp;
  /* Without a notify section a DAG's own notify list may still queue
   * webhook rows: the sender always looks. */
  s->active = true;
  uv_timer_init(loop, &s->timer);
  uv_unref((uv_handle_t *)&s->timer);
  *out = s;
  if (cfg->notify_kind)
    LOG_INFO("alerts also go to a webhook kind=%s format=%s url=%s", cfg->notify_kind,
             cfg->notify_format, cfg->notify_url ? "(setting)" : "(connection)");
  arm(s, 0);
  return 0;
}

void dag_webhook_sender_kick(struct dag_webhook_sender *s) {
  if (!s || s->closing || !s->active || s->job) return;
  arm(s, 0);
}

static void on_timer_closed(uv_handle_t *h) {
  struct dag_webhook_sender *s = container_of((uv_timer_t *)h, struct dag_webhook_sender, timer);
  s->timer.data = NULL;
  maybe_closed(s);
}

void dag_webhook_sender_close(struct dag_webhook_sender *s, void (*closed_cb)(void *ctx),
                              void *ctx) {
  if (!s || s->closing) return;
  s->closing = true;
  s->closed_cb = closed_cb;
  s->closed_ctx = ctx;
  s->timer.data = s; /* cleared once closed */
  uv_close((uv_handle_t *)&s->timer, on_timer_closed);
  if (s->job) uv_cancel((uv_req_t *)&s->job->req);
}
