/* remote_log.h - a task's log read from the log server of the worker that
 * ran it (core.executor: workers; web/log_server.c serves it), for the
 * status page and `dagctl logs` on another machine.
 *
 * The read blocks (libcurl, with short timeouts): the CLI calls it
 * directly, the web server on its thread pool. Nothing here touches the
 * store, so a caller looks the worker's address up first
 * (dag_store_worker_log_url()). */
#ifndef DAG_REMOTE_LOG_H
#define DAG_REMOTE_LOG_H

#include <stdint.h>

#include "strbuf.h"

/* Logs larger than this are cut to their last DAG_REMOTE_LOG_MAX bytes. */
#define DAG_REMOTE_LOG_MAX (16 * 1024 * 1024)

/* Read the log at `rel_path` (relative to the worker's logs folder) from
 * `log_url` ("http://HOST:PORT"), from byte `offset`, signed with
 * `secret` (log_token.h). 0 with the log appended to `out`; otherwise a
 * negative code and *err (caller frees) saying why, the secret never in
 * it: DAG_ENOTFOUND (the worker has no such log), -EACCES (refused: the
 * secrets differ), -EIO (unreachable, or another answer). */
int dag_remote_log_read(const char *log_url, const char *secret, const char *rel_path,
                        int64_t offset, struct strbuf *out, char **err);

/* Follow a running try's log: what lies past byte `offset`, written to
 * write(ud, ...) as it arrives; with wait_ms > 0 the worker holds the
 * request until the log grows or wait_ms passes (log_server.h), so that
 * the answer may be empty. *got: the bytes written, also when a read cut
 * halfway returns an error (the caller goes on from offset + *got).
 * Codes and *err as dag_remote_log_read(). */
int dag_remote_log_next(const char *log_url, const char *secret, const char *rel_path,
                        int64_t offset, unsigned wait_ms,
                        void (*write)(void *ud, const char *buf, size_t len), void *ud,
                        int64_t *got, char **err);

#endif
