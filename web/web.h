/* web.h - the status page and JSON API, served on a libuv loop.
 *
 * `dagctl scheduler` serves it on the scheduler's own loop (figures such as
 * running tasks come straight from the scheduler); `dagctl webserver` serves
 * it alone from the same database, opened read-only (changes get a
 * short-lived writer of their own). Every route needs one permission
 * (route.c's table), granted by the role of the user behind the request's
 * credentials (web_auth.h); with web.auth none, requests without any may
 * read. No CORS headers are sent, so other origins cannot read the API from
 * a browser. */
#ifndef DAG_WEB_H
#define DAG_WEB_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "scheduler.h"
#include "store.h"

struct dag_web;

struct dag_web_options {
  const struct dag_config *cfg; /* borrowed: home, web.token, default address */
  dag_store *store;             /* borrowed */
  struct dag_scheduler *sched;  /* borrowed; NULL when serving alone */
  const char *bind;             /* NULL: cfg->web_bind */
  int port;                     /* -1: cfg->web_port; 0: any free port */
  /* NULL: changes (pause, trigger, clear) go through `store`. Else `store`
   * is read-only and each change opens this database (copied) read-write
   * for its own transaction, never creating or migrating it, and closes it
   * at once. */
  const char *write_db;
};

/* Listen and serve. Returns 0, or a negative libuv code (address taken,
 * not an address) with nothing left open. Everything borrowed must outlive
 * the server until its close callback. */
int dag_web_start(uv_loop_t *loop, const struct dag_web_options *opts, struct dag_web **out);

/* Is `bind` a loopback address (127.0.0.0/8, ::1)? NULL: the default,
 * which is. web.auth none may serve only these. */
bool dag_web_bind_is_loopback(const char *bind);

/* The port bound (useful with port 0). */
int dag_web_port(const struct dag_web *w);

/* Stop serving: closes the listener and every connection. closed_cb(ctx)
 * runs once everything is closed; the server frees itself then. */
void dag_web_close(struct dag_web *w, void (*closed_cb)(void *ctx), void *ctx);

#endif
