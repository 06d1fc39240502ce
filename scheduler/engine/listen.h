/* listen.h - wake-ups from the database on the event loop: a PostgreSQL
 * LISTEN connection (store.h, "wake-ups") watched with uv_poll, so that a
 * worker hears of a queued try, and a scheduler of an ended try or a new
 * run, when its transaction commits rather than at the next look.
 *
 * Nothing here blocks the loop: connecting (and LISTEN) runs on libuv's
 * thread pool, and the socket is read only when it is readable. A lost
 * connection is connected again every second; each time the listener is
 * (again) listening its owner is told to look at the store once, for what
 * it may have missed meanwhile. */
#ifndef DAG_LISTEN_H
#define DAG_LISTEN_H

#include <stdbool.h>
#include <uv.h>

#include "store.h"

struct dag_listen;

enum dag_listen_event {
  DAG_LISTEN_NOTIFIED, /* `channels` were notified */
  DAG_LISTEN_UP,       /* listening (again): look at the store once */
  DAG_LISTEN_DOWN,     /* the connection was lost; connecting again */
};

/* `channels`: what happened, DAG_STORE_WAKE_* (DAG_LISTEN_NOTIFIED only). */
typedef void (*dag_listen_cb)(void *ctx, enum dag_listen_event ev, unsigned channels);

/* Listen on `channels` of `st`'s database (PostgreSQL only: DAG_EINVAL on
 * SQLite). `st` is borrowed: its own notifications are not reported back,
 * and it must outlive the listener. cb runs on the loop, never from inside
 * this call. Caller closes with dag_listen_close(). */
int dag_listen_start(uv_loop_t *loop, dag_store *st, unsigned channels, dag_listen_cb cb,
                     void *ctx, struct dag_listen **out);

/* Whether the connection is up and listening. */
bool dag_listen_up(const struct dag_listen *l);

/* Stop; `l` is freed once its handles are closed and a connection attempt
 * in flight has returned, then closed_cb(ctx) runs (may be NULL). cb is
 * not called any more. */
void dag_listen_close(struct dag_listen *l, void (*closed_cb)(void *ctx), void *ctx);

#endif
