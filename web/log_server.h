/* log_server.h - the log server of `dagctl worker`: its tries' logs, from
 * its own DAGCTL_HOME/logs, for the schedulers' web servers and the CLI on
 * other machines (Airflow's worker log server, on worker.log_server_port).
 *
 * GET /log/PATH[?offset=N[&wait=MS]]: the log at PATH, relative to the
 * logs folder, from byte N. With wait, a request for what lies past the
 * log's end is held until the file grows, or for MS milliseconds (at most
 * DAG_LOG_WAIT_MAX_MS), then answered with what came, maybe nothing: how
 * `dagctl logs --follow` follows a running try on another machine. Each request carries "Authorization: Bearer TOKEN", a token
 * for that very path signed with worker.log_server_secret (log_token.h);
 * a request without a valid one is refused (403), and a PATH that could
 * leave the logs folder ("..", an absolute path, a symbolic link out) is
 * refused (400) before anything else. */
#ifndef DAG_LOG_SERVER_H
#define DAG_LOG_SERVER_H

#include <uv.h>

#include "config.h"

#define DAG_LOG_WAIT_MAX_MS 10000

struct dag_log_server;

/* Listen on all addresses, port cfg->worker_log_server_port (0: any free
 * port). `cfg` is borrowed and must outlive the server; its secret must be
 * set. 0, or a negative libuv code with nothing left open. */
int dag_log_server_start(uv_loop_t *loop, const struct dag_config *cfg,
                         struct dag_log_server **out);
/* The port bound. */
int dag_log_server_port(const struct dag_log_server *s);
/* Stop; the server frees itself, then closed_cb(ctx) runs (may be NULL). */
void dag_log_server_close(struct dag_log_server *s, void (*closed_cb)(void *ctx), void *ctx);

#endif
