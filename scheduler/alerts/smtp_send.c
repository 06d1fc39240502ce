/* smtp_send.c - the outbox sender (see smtp_send.h). */
#include "smtp_send.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts_msg.h"
#include "alloc.h"
#include "duration.h"
#include "error.h"
#include "log.h"
#include "strbuf.h"
#include "timeutil.h"

struct job;

struct dag_smtp_sender {
  uv_loop_t *loop;
  const struct dag_config *cfg;
  dag_store *store;
  bool active; /* smtp.host is set */
  struct dag_smtp_server srv;
  char *from;

  uv_timer_t timer;  /* the next attempt */
  uv_fs_event_t wake; /* DAGCTL_HOME/wakeup, written by `dagctl alerts retry` */
  bool wake_tried;
  bool wake_on;
  int open_handles;
  struct job *job;   /* the attempt in flight */
  dag_time_t held_until; /* after server trouble: no attempt before this */

  bool closing;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

/* One attempt: everything the worker thread needs, copied, so that it
 * shares nothing with the loop while it runs. The worker reads srv, from,
 * rcpts and message, and writes result; every other field, `s` included,
 * belongs to the loop. */
struct job {
  uv_work_t req;
  struct dag_smtp_sender *s; /* loop side only */
  struct dag_smtp_server srv; /* its strings are the owned copies below */
  char *host, *user, *password, *ca_file;
  char *from;
  int64_t alert_id;
  int attempts;          /* before this one */
  bool served_before;
  char *recipients_json; /* resolved from smtp.to: to record; else NULL */
  char **rcpts;          /* pending recipients */
  size_t n_rcpts;
  char *message;
  struct dag_smtp_result result;
};

static void schedule_next(struct dag_smtp_sender *s);

int64_t dag_smtp_backoff(int64_t base_us, int attempts) {
  int64_t d = base_us < DAG_USEC_PER_SEC ? DAG_USEC_PER_SEC : base_us;
  for (int i = 1; i < attempts && d < DAG_SMTP_BACKOFF_MAX_US; i++)
    d *= 2;
  return d > DAG_SMTP_BACKOFF_MAX_US ? DAG_SMTP_BACKOFF_MAX_US : d;
}

/* --- classifying an attempt ------------------------------------------------------- */

static bool is2(int code) {
  return code >= 200 && code < 300;
}

static bool is5(int code) {
  return code >= 500 && code < 600;
}

/* 530/535 and their kin answer a configuration problem (AUTH), not the
 * message: fixing the settings must let the alert through. */
static bool auth_problem(int code) {
  return code == 530 || code == 534 || code == 535 || code == 538;
}

void dag_smtp_classify(const char *const *rcpts, size_t n, const struct dag_smtp_result *r,
                       bool served_before, struct dag_smtp_outcome *out) {
  memset(out, 0, sizeof(*out));
  out->rcpts = xcalloc(n ? n : 1, sizeof(*out->rcpts));
  bool mail_refused = is5(r->mail_code) && !auth_problem(r->mail_code);
  size_t delivered = 0, rejected = 0, pending = 0;
  struct strbuf rej = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    int code = i < r->n_rcpts ? r->rcpts[i].code : 0;
    const char *reply = i < r->n_rcpts ? r->rcpts[i].reply : NULL;
    struct dag_store_alert_rcpt *o = &out->rcpts[out->n_rcpts];
    if (mail_refused) {
      o->rejected = true;
      reply = r->mail_reply;
    } else if (is5(code)) {
      o->rejected = true;
    } else if (is2(code) && is2(r->data_code)) {
      o->rejected = false;
      reply = r->data_reply;
    } else if (is2(code) && is5(r->data_code)) {
      o->rejected = true;
      reply = r->data_reply;
    } else {
      pending++;
      continue;
    }
    o->address = xstrdup(rcpts[i]);
    o->reply = reply ? xstrdup(reply) : NULL;
    out->n_rcpts++;
    if (o->rejected) {
      rejected++;
      sb_appendf(&rej, "%s%s: %s", rej.len ? "; " : "", rcpts[i], reply ? reply : "rejected");
    } else {
      delivered++;
    }
  }

  if (pending) {
    out->state = DAG_ALERT_QUEUED;
    /* Nothing got as far as a recipient: the server (or the way to it) is
     * the problem, not this alert. */
    out->server_trouble = !is2(r->mail_code);
    struct strbuf why = STRBUF_INIT;
    if (r->error)
      sb_append(&why, r->error);
    else if (r->mail_code && !is2(r->mail_code))
      sb_appendf(&why, "MAIL FROM: %s", r->mail_reply);
    else if (r->data_code && !is2(r->data_code))
      sb_appendf(&why, "the message was deferred: %s", r->data_reply);
    else
      sb_appendf(&why, "%zu recipient%s deferred", pending, pending == 1 ? "" : "s");
    if (rejected) sb_appendf(&why, "; rejected: %s", sb_str(&rej));
    out->error = sb_detach(&why);
  } else if (delivered || served_before) {
    out->state = DAG_ALERT_SENT;
    out->error = rejected ? xasprintf("rejected: %s", sb_str(&rej)) : NULL;
  } else {
    out->state = DAG_ALERT_FAILED;
    out->error = rejected ? xasprintf("rejected: %s", sb_str(&rej))
                          : xstrdup(r->error ? r->error : "no recipients");
  }
  sb_free(&rej);
}

void dag_smtp_outcome_free(struct dag_smtp_outcome *o) {
  for (size_t i = 0; i < o->n_rcpts; i++) {
    free(o->rcpts[i].address);
    free(o->rcpts[i].reply);
  }
  free(o->rcpts);
  free(o->error);
  memset(o, 0, sizeof(*o));
}

/* --- jobs ------------------------------------------------------------------------ */

static char *dup_or_null(const char *v) {
  return v ? xstrdup(v) : NULL;
}

/* Copy the sender's settings into the job: the loop may change its own
 * (they borrow dag_config) while the worker runs. */
static void job_copy_settings(struct job *j, const struct dag_smtp_sender *s) {
  j->host = dup_or_null(s->srv.host);
  j->user = dup_or_null(s->srv.user);
  j->password = dup_or_null(s->srv.password);
  j->ca_file = dup_or_null(s->srv.ca_file);
  j->from = dup_or_null(s->from);
  j->srv = s->srv;
  j->srv.host = j->host;
  j->srv.user = j->user;
  j->srv.password = j->password;
  j->srv.ca_file = j->ca_file;
}

static void job_free(struct job *j) {
  if (!j) return;
  free(j->host);
  free(j->user);
  if (j->password) {
    /* Not left behind in freed memory. */
    volatile char *p = j->password;
    while (*p) *p++ = '\0';
    free(j->password);
  }
  free(j->ca_file);
  free(j->from);
  for (size_t i = 0; i < j->n_rcpts; i++) free(j->rcpts[i]);
  free(j->rcpts);
  free(j->recipients_json);
  free(j->message);
  dag_smtp_result_free(&j->result);
  free(j);
}

static void work(uv_work_t *req) {
  struct job *j = container_of(req, struct job, req);
  dag_smtp_submit(&j->srv, j->from, (const char *const *)j->rcpts, j->n_rcpts, j->message,
                  &j->result);
}

static void maybe_closed(struct dag_smtp_sender *s) {
  if (!s->closing || s->open_handles > 0 || s->job) return;
  void (*cb)(void *) = s->closed_cb;
  void *ctx = s->closed_ctx;
  free(s->from);
  free(s);
  if (cb) cb(ctx);
}

static int record(struct dag_smtp_sender *s, int64_t id, const struct dag_store_alert_attempt *a,
                  const char *what) {
  int rc = dag_store_alert_attempted(s->store, id, a);
  if (rc)
    LOG_ERROR("cannot record an alert attempt id=%lld op=%s error=\"%s\"", (long long)id, what,
              dag_strerror(rc));
  return rc;
}

static void after_work(uv_work_t *req, int status) {
  struct job *j = container_of(req, struct job, req);
  struct dag_smtp_sender *s = j->s;
  s->job = NULL;
  if (status == UV_ECANCELED) {
    /* Closing before the attempt started: the alert simply stays queued. */
    job_free(j);
    maybe_closed(s);
    return;
  }
  struct dag_smtp_outcome o;
  dag_smtp_classify((const char *const *)j->rcpts, j->n_rcpts, &j->result, j->served_before,
                    &o);
  dag_time_t now = dag_time_now();
  int attempts = j->attempts + 1;
  int64_t wait = dag_smtp_backoff(s->cfg->smtp_retry_base_us, attempts);
  struct dag_store_alert_attempt a = {
      .state = o.state,
      .now = now,
      .next_attempt_at = now + wait,
      .error = o.error,
      .recipients = j->recipients_json,
      .rcpts = o.rcpts,
      .n_rcpts = o.n_rcpts,
  };
  record(s, j->alert_id, &a, "attempt");
  char in[32];
  dag_duration_format(wait, in, sizeof(in));
  switch (o.state) {
  case DAG_ALERT_SENT:
    LOG_INFO("alert sent id=%lld attempt=%d%s%s", (long long)j->alert_id, attempts,
             o.error ? " partly=\"" : "", o.error ? o.error : "");
    break;
  case DAG_ALERT_FAILED:
    LOG_ERROR("alert could not be sent, giving up id=%lld attempt=%d error=\"%s\"",
              (long long)j->alert_id, attempts, o.error ? o.error : "");
    break;
  case DAG_ALERT_QUEUED:
    LOG_WARN("alert not sent yet, will retry id=%lld attempt=%d in=%s error=\"%s\"",
             (long long)j->alert_id, attempts, in, o.error ? o.error : "");
    if (o.server_trouble) s->held_until = now + wait;
    break;
  }
  dag_smtp_outcome_free(&o);
  job_free(j);
  if (s->closing)
    maybe_closed(s);
  else
    schedule_next(s);
}

/* The addresses of a JSON array (NULL: none), appended to v[*n]. */
static char **addr_list(char **v, size_t *n, size_t *cap, const char *json) {
  json_t *arr = json_loads(json ? json : "[]", 0, NULL);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    /* Checked when queued; checked again, as the row may be older. */
    if (!json_is_string(e) || !dag_alert_address_ok(json_string_value(e))) continue;
    v = xgrow(v, cap, *n + 1, sizeof(*v));
    v[(*n)++] = xstrdup(json_string_value(e));
  }
  json_decref(arr);
  return v;
}

/* Recipients of an alert: its own list, or smtp.to when it has none. */
static char **resolve_rcpts(struct dag_smtp_sender *s, const char *json, size_t *n,
                            bool *defaulted) {
  char **v = NULL;
  size_t cap = 0;
  *n = 0;
  *defaulted = false;
  v = addr_list(v, n, &cap, json);
  if (*n == 0 && s->cfg->smtp_to) {
    *defaulted = true;
    for (const char *p = s->cfg->smtp_to; *p;) {
      size_t len = strcspn(p, ",");
      if (len) {
        v = xgrow(v, &cap, *n + 1, sizeof(*v));
        v[(*n)++] = xstrndup(p, len);
      }
      p += len + (p[len] ? 1 : 0);
    }
  }
  return v;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

enum start_result { STARTED, SETTLED, START_FAILED };

/* Start an attempt at alert `a`, or settle it at once when there is
 * nothing to send. */
static enum start_result start(struct dag_smtp_sender *s, struct dag_store_alert *a) {
  size_t n_all = 0, n_to, cap;
  bool defaulted = false;
  char **all = resolve_rcpts(s, a->recipients, &n_all, &defaulted);
  /* An email task's Cc recipients come after its To ones: one envelope. */
  n_to = cap = n_all;
  all = addr_list(all, &n_all, &cap, a->cc);
  dag_time_t now = dag_time_now();
  if (n_all == 0) {
    struct dag_store_alert_attempt r = {
        .state = DAG_ALERT_FAILED,
        .now = now,
        .error = "no recipients: set `email` on the task (or in default_args) or smtp.to",
    };
    LOG_ERROR("alert has no recipients id=%lld dag=%s", (long long)a->id, a->dag_id);
    free_strv(all, 0);
    return record(s, a->id, &r, "no recipients") ? START_FAILED : SETTLED;
  }

  struct dag_store_alert_rcpt *done = NULL;
  size_t n_done = 0;
  if (dag_store_alert_recipients(s->store, a->id, &done, &n_done) != 0) {
    free_strv(all, n_all);
    return START_FAILED;
  }
  struct job *j = xcalloc(1, sizeof(*j));
  j->s = s;
  job_copy_settings(j, s);
  j->alert_id = a->id;
  j->attempts = a->attempts;
  j->rcpts = xcalloc(n_all, sizeof(*j->rcpts));
  for (size_t i = 0; i < n_all; i++) {
    bool served = false;
    for (size_t k = 0; k < n_done; k++) {
      if (strcmp(done[k].address, all[i]) != 0) continue;
      served = true;
      if (!done[k].rejected) j->served_before = true;
    }
    if (!served) j->rcpts[j->n_rcpts++] = xstrdup(all[i]);
  }
  dag_store_alert_rcpts_free(done, n_done);

  if (j->n_rcpts == 0) {
    /* Every recipient already has an outcome (a crash after recording
     * them): settle the alert. */
    struct dag_store_alert_attempt r = {
        .state = j->served_before ? DAG_ALERT_SENT : DAG_ALERT_FAILED,
        .now = now,
        .error = a->last_error,
    };
    int rc = record(s, a->id, &r, "settle");
    job_free(j);
    free_strv(all, n_all);
    return rc ? START_FAILED : SETTLED;
  }
  if (defaulted) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n_to; i++) json_array_append_new(arr, json_string(all[i]));
    j->recipients_json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
  }
  char *mid = dag_alert_message_id(a->id, a->created_at, s->from);
  struct dag_alert_envelope e = {
      .from = s->from,
      .to = (const char *const *)all,
      .n_to = n_to,
      .cc = (const char *const *)all + n_to,
      .n_cc = n_all - n_to,
      .date = a->created_at,
      .message_id = mid,
      .subject = a->subject,
      .body = a->body,
  };
  j->message = dag_alert_format_message(&e);
  free(mid);
  free_strv(all, n_all);

  LOG_DEBUG("sending alert id=%lld attempt=%d recipients=%zu", (long long)a->id,
            a->attempts + 1, j->n_rcpts);
  int rc = uv_queue_work(s->loop, &j->req, work, after_work);
  if (rc) {
    LOG_ERROR("cannot start an SMTP attempt error=\"%s\"", uv_strerror(rc));
    job_free(j);
    return START_FAILED;
  }
  s->job = j;
  return STARTED;
}

/* --- the timer ------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void arm(struct dag_smtp_sender *s, int64_t delay_us) {
  uint64_t ms = delay_us <= 0 ? 0 : (uint64_t)((delay_us + 999) / 1000);
  uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void schedule_next(struct dag_smtp_sender *s) {
  if (s->closing || !s->active || s->job) return;
  dag_time_t due = 0;
  int rc = dag_store_next_alert_due(s->store, &due);
  if (rc == DAG_ENOTFOUND) {
    uv_timer_stop(&s->timer); /* nothing queued: a kick wakes us */
    return;
  }
  if (rc) {
    /* The store is busy or broken: look again later rather than never. */
    arm(s, dag_smtp_backoff(s->cfg->smtp_retry_base_us, 1));
    return;
  }
  if (due < s->held_until) due = s->held_until;
  arm(s, due - dag_time_now());
}

static void on_wake(uv_fs_event_t *h, const char *filename, int events, int status);

/* The scheduler creates the wake-up file when it starts, after the sender
 * exists; so the first tick, not dag_smtp_sender_new(), starts watching. */
static void watch_wakeup(struct dag_smtp_sender *s) {
  s->wake_tried = true;
  char *wake = xasprintf("%s/wakeup", s->cfg->home);
  if (uv_fs_event_init(s->loop, &s->wake) == 0) {
    uv_unref((uv_handle_t *)&s->wake);
    s->wake.data = s;
    s->wake_on = true;
    s->open_handles++;
    if (uv_fs_event_start(&s->wake, on_wake, wake, 0) != 0)
      LOG_WARN("cannot watch the wake-up file; `dagctl alerts retry` takes effect at the "
               "next alert or restart file=%s", wake);
  }
  free(wake);
}

/* Wall-clock due times (they survive restarts) drive a monotonic timer, so
 * a clock step only shifts an attempt; the due time is checked again here. */
static void on_timer(uv_timer_t *t) {
  struct dag_smtp_sender *s = container_of(t, struct dag_smtp_sender, timer);
  if (s->closing) return;
  if (!s->wake_tried) watch_wakeup(s);
  if (s->job) return;
  dag_time_t now = dag_time_now();
  if (now < s->held_until) {
    arm(s, s->held_until - now);
    return;
  }
  /* Alerts without recipients settle at once: keep going until one job
   * starts or nothing is due. */
  for (;;) {
    struct dag_store_alert a;
    int rc = dag_store_due_alert(s->store, now, &a);
    if (rc == DAG_ENOTFOUND) break;
    enum start_result r = rc ? START_FAILED : start(s, &a);
    if (rc == 0) dag_store_alert_free(&a);
    if (r == STARTED) return;
    if (r == START_FAILED) {
      arm(s, dag_smtp_backoff(s->cfg->smtp_retry_base_us, 1));
      return;
    }
  }
  schedule_next(s);
}

static void on_wake(uv_fs_event_t *h, const char *filename, int events, int status) {
  DAG_UNUSED(filename);
  DAG_UNUSED(events);
  if (status < 0) return;
  dag_smtp_sender_kick(h->data);
}

/* --- life cycle ------------------------------------------------------------------ */

int dag_smtp_sender_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                        struct dag_smtp_sender **out) {
  struct dag_smtp_sender *s = xcalloc(1, sizeof(*s));
  s->loop = loop;
  s->cfg = cfg;
  s->store = store;
  s->active = cfg->smtp_host != NULL;
  uv_timer_init(loop, &s->timer);
  /* The scheduler decides when the service ends, not the outbox. */
  uv_unref((uv_handle_t *)&s->timer);
  s->open_handles++;
  *out = s;

  dag_time_t due;
  bool queued = dag_store_next_alert_due(store, &due) == 0;
  if (!s->active) {
    LOG_INFO("smtp.host is not set: alerts are kept in the outbox%s (see dagctl alerts)",
             queued ? ", some are waiting" : "");
    return 0;
  }
  s->srv = (struct dag_smtp_server){
      .host = cfg->smtp_host,
      .port = cfg->smtp_port,
      .tls = cfg->smtp_tls,
      .user = cfg->smtp_user,
      .password = cfg->smtp_password,
      .ca_file = cfg->smtp_ca_file,
      .timeout_us = cfg->smtp_timeout_us,
  };
  if (cfg->smtp_from) {
    s->from = xstrdup(cfg->smtp_from);
  } else {
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
      snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    s->from = xasprintf("dagctl@%s", host);
  }
  if (cfg->smtp_user && !cfg->smtp_password)
    LOG_WARN("smtp.user is set but no password (DAGCTL__SMTP__PASSWORD or "
             "smtp.password_file): mail goes out without AUTH");
  if (cfg->smtp_password && cfg->smtp_tls == DAG_SMTP_NO_TLS)
    LOG_WARN("smtp.tls is none: the SMTP password crosses the network in clear");
  dag_smtp_client_init();
  LOG_INFO("alerts go out through SMTP host=%s port=%d tls=%s from=%s", cfg->smtp_host,
           cfg->smtp_port,
           cfg->smtp_tls == DAG_SMTP_STARTTLS   ? "starttls"
           : cfg->smtp_tls == DAG_SMTP_IMPLICIT ? "implicit"
                                                : "none",
           s->from);
  /* The first tick sends what an earlier run left queued, and watches
   * the wake-up file. */
  arm(s, 0);
  return 0;
}

void dag_smtp_sender_kick(struct dag_smtp_sender *s) {
  if (!s || s->closing || !s->active || s->job) return;
  /* A zero timeout runs after the current callback, hence after its
   * transaction has committed. */
  arm(s, 0);
}

static void on_handle_closed(uv_handle_t *h) {
  struct dag_smtp_sender *s = h->data;
  s->open_handles--;
  maybe_closed(s);
}

void dag_smtp_sender_close(struct dag_smtp_sender *s, void (*closed_cb)(void *ctx),
                           void *ctx) {
  if (!s || s->closing) return;
  s->closing = true;
  s->closed_cb = closed_cb;
  s->closed_ctx = ctx;
  s->timer.data = s;
  uv_close((uv_handle_t *)&s->timer, on_handle_closed);
  if (s->wake_on) uv_close((uv_handle_t *)&s->wake, on_handle_closed);
  /* Not started yet: give it back (after_work sees UV_ECANCELED). Running:
   * it ends within the SMTP timeouts and is recorded. */
  if (s->job) uv_cancel((uv_req_t *)&s->job->req);
}
