/* web_int.h - shared by the web server's files. Not public. */
#ifndef DAG_WEB_INT_H
#define DAG_WEB_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "http.h"
#include "log_limit.h"
#include "route.h"
#include "web.h"

/* A few recent answers of the expensive GET endpoints (the DAG list, the
 * grid), reused while the database is unchanged: page refreshes from many
 * viewers of a quiet system cost one tiny query each. */
#define WEB_CACHE_SLOTS 8
struct web_cached {
  char *key; /* the request's URL */
  char *body;
  size_t len;
  uint64_t version; /* dag_store_data_version() it was computed at */
};

/* Wrong credentials by client address, to answer repeated guesses later and
 * later. A fixed table: a client beyond it takes the slot of the one that
 * guessed least recently. */
#define WEB_AUTH_SLOTS 64
struct web_auth_failures {
  char peer[64]; /* "" for a free slot */
  unsigned count;   /* wrong credentials in a row, forgotten after a quiet spell */
  uint64_t last_ms; /* uv_now() of the last one */
};

/* Wrong passwords by user name, to slow guesses at one account from many
 * addresses. Only wrong answers wait, so the right password from another
 * address is never held up. */
struct web_user_failures {
  char user[72]; /* "" for a free slot */
  unsigned count;
  uint64_t last_ms;
};

/* Browser sessions (web_session.c), in this process's memory: a restart
 * logs everyone out. The cookie holds `id`; `csrf` goes with every change
 * the page makes. */
#define WEB_SESSION_SLOTS 256
struct web_session {
  char id[48];   /* base64url of 32 random bytes; "" for a free slot */
  char csrf[48]; /* likewise */
  char user[72];
  uint64_t last_ms; /* uv_now() of the last request; idle past web.session_timeout: gone */
};

struct web_dash; /* dashboard.c */

struct dag_web {
  uv_loop_t *loop;
  const struct dag_config *cfg;
  dag_store *store;
  char *write_db; /* owned; NULL: changes go through store */
  struct dag_scheduler *sched;
  struct dag_http_server *http;
  int port;
  /* Loop lag: how late a periodic timer fires, the time the loop spent on
   * other work (task exits, SQLite, other requests) before it got to it. */
  uv_timer_t lag_timer;
  uint64_t lag_due_ns;
  double lag_seconds;
  double lag_max_seconds; /* since the last /metrics scrape */
  struct web_cached cache[WEB_CACHE_SLOTS];
  unsigned cache_next; /* the slot to replace next */
  struct web_auth_failures auth_failures[WEB_AUTH_SLOTS];
  struct dag_log_limit auth_log; /* wrong tokens: a client can send them at will */
  struct web_user_failures user_failures[WEB_AUTH_SLOTS];
  struct web_session *sessions; /* owned; WEB_SESSION_SLOTS, allocated at the first login */
  /* Served over TLS, here or at a proxy in front (web.behind_proxy):
   * cookies are Secure. */
  bool tls;
  struct dag_tls *tls_ctx; /* owned; NULL: plain HTTP */
  uv_signal_t hup;         /* SIGHUP reloads the certificate (TLS only) */
  const struct web_who *who; /* the request whose handler runs now; borrowed, else NULL */
  struct web_dash *dash; /* owned */
  /* /metrics' figures from the database, at metrics_version (owned). */
  char *metrics_db;
  uint64_t metrics_version;
  bool closing;
  int handles; /* the HTTP server, the lag timer, a dashboard read running */
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

/* web.c: answers */
/* Answer with `body` as JSON (takes the reference). '<', '>' and '&' are
 * written as \u escapes, so no JSON answer can be read as markup. */
void web_json(struct dag_http_conn *c, int status, json_t *body);
/* web_json() with extra header lines (or NULL). */
void web_json_with(struct dag_http_conn *c, int status, const char *extra, json_t *body);
/* Answer with JSON text already escaped as web_json_dumps() does. */
void web_json_text(struct dag_http_conn *c, int status, const char *json, size_t len);
/* Send the cached answer for `key` if it was computed at `version`. */
bool web_cache_answer(struct dag_web *w, struct dag_http_conn *c, const char *key,
                      uint64_t version);
/* Keep an answer (JSON text, copied) computed at `version`. */
void web_cache_store(struct dag_web *w, const char *key, uint64_t version, const char *body,
                     size_t len);
/* Airflow's error shape: {"status", "title", "detail", "type"}. */
void web_error(struct dag_http_conn *c, int status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD,
 * so that it can go into JSON; caller frees. */
char *web_utf8_clean(const char *s);
/* Answer a failed store call: 503 with Retry-After when another process
 * holds the database's write lock (DAG_ELOCKED: a wait, not a failure),
 * else 500; `what` says what failed ("cannot clear"). */
void web_store_error(struct dag_http_conn *c, int rc, const char *what);
/* JSON text of `j` with markup characters escaped; caller frees. */
char *web_json_dumps(const json_t *j);
/* An error whose text is ours alone (no request bytes), answered after
 * `delay_ms`; `extra` header lines or NULL. */
void web_error_after(struct dag_http_conn *c, uint64_t delay_ms, int status, const char *title,
                     const char *extra, const char *detail);
/* web_error() with extra header lines (or NULL) and a detail as is. */
void web_error_with(struct dag_http_conn *c, int status, const char *title, const char *extra,
                    const char *detail);
/* The delay before answering the n-th wrong token in a row (n >= 1):
 * 100 ms, doubling, at most 5 s. */
uint64_t web_auth_delay_ms(unsigned n);
/* True when the tokens are equal; the time taken depends only on the
 * length of `given`, not on where they differ. */
bool web_token_equal(const char *given, const char *expected);
/* Resolve a try's stored log path (relative to HOME/logs) to an absolute
 * path inside HOME/logs. DAG_EINVAL for a path that dag_id_rel_path_is_safe()
 * refuses;
 * -errno when it does not resolve; DAG_EINVAL when it resolves outside
 * the logs folder (a symbolic link). Caller frees *out. */
int web_log_path(const char *home, const char *rel, char **out);

/* web_audit.c. End the change begun (dag_store_begin) on `st` with its
 * outcome `rc`: on success add its audit entry and commit (returns the
 * commit's result); on failure roll back and record the failure on its
 * own (returns rc). Who: w->who. */
int web_audit_finish(struct dag_web *w, struct dag_http_conn *c, dag_store *st, int rc,
                     const char *event, const char *dag_id, const char *run_id,
                     const char *task_id);
/* The same for a change of another object (a variable, a connection). */
int web_audit_finish_object(struct dag_web *w, struct dag_http_conn *c, dag_store *st, int rc,
                            const char *event, const char *object);
/* The same for a change of a DAG's object (a backfill: "backfill:ID"). */
int web_audit_finish_dag_object(struct dag_web *w, struct dag_http_conn *c, dag_store *st,
                                int rc, const char *event, const char *dag_id,
                                const char *object);
/* GET /api/v1/eventLogs?limit=&offset=&owner=: Airflow's EventLogCollection. */
void web_event_logs(struct dag_web *w, struct dag_http_conn *c,
                    const struct dag_http_request *req);
/* Record an event that changes no other table (a login, a failed one). */
void web_audit_event(struct dag_web *w, struct dag_http_conn *c, const char *user,
                     const char *event, const char *object, bool ok, const char *extra);
/* api_mark.c: marking task instances and runs (Airflow's PATCH paths). */
void web_mark(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m);
/* api_backfill.c: /api/v1/backfills... (Airflow 3's backfill API). */
void web_backfills(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                   const struct dag_route_match *m);
/* The client's address for the audit log, the log and the slow-down of
 * wrong guesses: the connection's peer, or behind a trusted proxy
 * (web.behind_proxy) the address it forwarded for (forwarded.h). Borrowed,
 * valid while the connection is. */
const char *web_client_address(struct dag_web *w, struct dag_http_conn *c);

/* api.c: the JSON API; answers every API route. */
void web_api(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
             const struct dag_route_match *m);

/* web.c: one of w->handles is done; the server frees itself after the
 * last. */
void web_handle_closed(struct dag_web *w);

/* dashboard.c: GET /api/v1/ui/dashboard?start=YYYY-MM-DD&end=YYYY-MM-DD,
 * answered from the thread pool. */
void web_dashboard(struct dag_web *w, struct dag_http_conn *c,
                   const struct dag_http_request *req);
void web_dash_init(struct dag_web *w);
/* Drop the reads still waiting (the server is closing). */
void web_dash_stop(struct dag_web *w);
void web_dash_free(struct dag_web *w);

/* dashboard_sql.c: the queries, run on the thread pool. */
struct wh;
struct dash_range {
  char start[11], end[11]; /* YYYY-MM-DD, or "" for an open end */
};
/* Text that changes whenever the warehouse's bronze, silver or gold
 * changes (caller frees); `generation` names the connection, for versions
 * that mean something to one connection only. */
int dash_sql_version(struct wh *wh, unsigned generation, char **out, char **err);
/* Every figure of the dashboard over the range (caller decrefs *out). */
int dash_sql_read(struct wh *wh, const struct dash_range *r, json_t **out, char **err);

/* metrics.c: GET /metrics. */
void web_metrics(struct dag_web *w, struct dag_http_conn *c);
/* Append a label value escaped as the text format wants (\\, \", \n). */
void web_metrics_label_escape(struct strbuf *sb, const char *v);

#endif
