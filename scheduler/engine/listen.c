/* listen.c - a LISTEN connection on the loop (listen.h). */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "listen.h"
#include "log.h"

/* Between two attempts to connect again. */
#define RETRY_MS 1000

struct dag_listen {
  uv_loop_t *loop;
  dag_store *st; /* borrowed */
  struct dag_store_listener *l;
  dag_listen_cb cb;
  void *ctx;
  uv_poll_t *poll;  /* owned, freed in its close callback; NULL: not watching */
  uv_timer_t retry;
  uv_work_t work;
  int work_rc;
  bool working;     /* a connection attempt runs on the thread pool */
  bool up;
  bool was_up;      /* has listened before: a new connection is a reconnection */
  bool warned;      /* the current outage is logged */
  bool closing;
  int open;         /* handles not yet closed */
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

static void connect_async(struct dag_listen *d);

static void maybe_freed(struct dag_listen *d) {
  if (!d->closing || d->open > 0 || d->working) return;
  void (*cb)(void *) = d->closed_cb;
  void *ctx = d->closed_ctx;
  dag_store_listener_free(d->l);
  free(d);
  if (cb) cb(ctx);
}

static void on_retry_closed(uv_handle_t *h) {
  struct dag_listen *d = h->data;
  d->open--;
  maybe_freed(d);
}

static void on_poll_closed(uv_handle_t *h) {
  struct dag_listen *d = h->data;
  free(h);
  d->open--;
  maybe_freed(d);
}

/* Stop watching the socket, then let libpq close it: an fd must not be
 * closed while a poll handle watches it. */
static void unwatch(struct dag_listen *d) {
  if (d->poll) {
    d->poll->data = d;
    uv_close((uv_handle_t *)d->poll, on_poll_closed);
    d->poll = NULL;
  }
  dag_store_listener_disconnect(d->l);
}

static void on_retry(uv_timer_t *t) {
  connect_async(t->data);
}

static void lost(struct dag_listen *d, const char *why) {
  unwatch(d);
  bool was = d->up;
  d->up = false;
  if (!d->warned) {
    d->warned = true;
    LOG_WARN("not listening for wake-ups from the state store, connecting again every %d ms; "
             "changes are noticed by looking at it meanwhile db=%s error=\"%s\"",
             RETRY_MS, dag_store_where(d->st), why);
  }
  uv_timer_start(&d->retry, on_retry, RETRY_MS, 0);
  if (was) d->cb(d->ctx, DAG_LISTEN_DOWN, 0);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  DAG_UNUSED(events);
  struct dag_listen *d = h->data;
  unsigned channels = 0;
  if (status < 0) {
    lost(d, uv_strerror(status));
    return;
  }
  if (dag_store_listener_read(d->l, d->st, &channels) != 0) {
    lost(d, dag_store_listener_error(d->l));
    return;
  }
  if (channels) d->cb(d->ctx, DAG_LISTEN_NOTIFIED, channels);
}

static void work_connect(uv_work_t *w) {
  struct dag_listen *d = w->data;
  d->work_rc = dag_store_listener_connect(d->l);
}

static void after_connect(uv_work_t *w, int status) {
  struct dag_listen *d = w->data;
  d->working = false;
  if (d->closing) {
    dag_store_listener_disconnect(d->l);
    maybe_freed(d);
    return;
  }
  if (status < 0 || d->work_rc != 0) {
    lost(d, status < 0 ? uv_strerror(status) : dag_store_listener_error(d->l));
    return;
  }
  d->poll = xcalloc(1, sizeof(*d->poll));
  int rc = uv_poll_init(d->loop, d->poll, dag_store_listener_fd(d->l));
  if (rc) {
    free(d->poll);
    d->poll = NULL;
    lost(d, uv_strerror(rc));
    return;
  }
  d->open++;
  d->poll->data = d;
  if ((rc = uv_poll_start(d->poll, UV_READABLE, on_readable)) != 0) {
    lost(d, uv_strerror(rc));
    return;
  }
  d->up = true;
  if (d->warned || !d->was_up)
    LOG_INFO("listening for wake-ups from the state store db=%s", dag_store_where(d->st));
  d->warned = false;
  d->was_up = true;
  d->cb(d->ctx, DAG_LISTEN_UP, 0);
}

static void connect_async(struct dag_listen *d) {
  if (d->closing || d->working) return;
  d->work.data = d;
  int rc = uv_queue_work(d->loop, &d->work, work_connect, after_connect);
  if (rc) {
    /* Not queued: after_connect() will not run; try again later. */
    if (!d->warned) {
      d->warned = true;
      LOG_WARN("cannot connect for wake-ups, trying again error=\"%s\"", uv_strerror(rc));
    }
    uv_timer_start(&d->retry, on_retry, RETRY_MS, 0);
    return;
  }
  d->working = true;
}

int dag_listen_start(uv_loop_t *loop, dag_store *st, unsigned channels, dag_listen_cb cb,
                     void *ctx, struct dag_listen **out) {
  *out = NULL;
  struct dag_store_listener *l = NULL;
  int rc = dag_store_listener_new(st, channels, &l);
  if (rc) return rc;
  struct dag_listen *d = xcalloc(1, sizeof(*d));
  d->loop = loop;
  d->st = st;
  d->l = l;
  d->cb = cb;
  d->ctx = ctx;
  uv_timer_init(loop, &d->retry);
  d->retry.data = d;
  d->open = 1;
  connect_async(d);
  *out = d;
  return 0;
}

bool dag_listen_up(const struct dag_listen *l) {
  return l && l->up;
}

void dag_listen_close(struct dag_listen *d, void (*closed_cb)(void *ctx), void *ctx) {
  if (!d || d->closing) return;
  d->closing = true;
  d->closed_cb = closed_cb;
  d->closed_ctx = ctx;
  d->up = false;
  /* A connection attempt on the pool cannot be stopped; after_connect()
   * disconnects it. */
  if (!d->working) unwatch(d);
  else if (d->poll) {
    d->poll->data = d;
    uv_close((uv_handle_t *)d->poll, on_poll_closed);
    d->poll = NULL;
  }
  uv_close((uv_handle_t *)&d->retry, on_retry_closed);
}
