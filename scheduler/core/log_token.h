/* log_token.h - the short-lived, signed tokens that let a scheduler's web
 * server or the CLI read a task's log from the log server of the worker
 * that ran it (worker.log_server_port), as Airflow signs its requests to
 * a worker's log server with a shared secret key.
 *
 * A token is "EXPIRES.MAC": EXPIRES the Unix time (seconds) after which it
 * is refused, MAC the HMAC-SHA256, in hex, of "EXPIRES\n" and the log's
 * path relative to the logs folder, keyed with worker.log_server_secret.
 * It names one log and lives DAG_LOG_TOKEN_TTL seconds: a token seen on
 * the wire opens nothing else, and not for long. */
#ifndef DAG_LOG_TOKEN_H
#define DAG_LOG_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a token is valid, and how far in the future an expiry may lie
 * (clocks of two machines differ a little). */
#define DAG_LOG_TOKEN_TTL 30
#define DAG_LOG_TOKEN_MAX_AHEAD 120
/* Room for a token and its NUL. */
#define DAG_LOG_TOKEN_SIZE 96

/* Write the token for `rel_path` valid until now + DAG_LOG_TOKEN_TTL into
 * out[DAG_LOG_TOKEN_SIZE]. `secret` is borrowed. */
void dag_log_token_make(const char *secret, const char *rel_path, int64_t now,
                        char out[DAG_LOG_TOKEN_SIZE]);

/* Whether `token` is valid for `rel_path` at `now`: well formed, not
 * expired, not too far ahead, and its MAC (compared in constant time)
 * the one `secret` gives. */
bool dag_log_token_check(const char *secret, const char *rel_path, const char *token,
                         int64_t now);

#endif
