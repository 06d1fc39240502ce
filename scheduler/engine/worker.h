/* worker.h - `dagctl worker`: claims tries the schedulers queued
 * (core.executor: workers) and runs them on this machine, with the same
 * supervisor and executor as a scheduler's own tasks (executor.h).
 *
 * A worker reads each DAG from its stored version (the one the try's run
 * was created with), never from a DAG folder, so it needs only the state
 * store. It claims only tries of its queues whose task type it can run
 * (shell, exec and its installed plugins' types). Every state change it
 * records carries the claim's token: once a scheduler has taken a try back
 * (this worker fell silent for core.worker_timeout), the worker's later
 * writes for it are refused and logged, and a try it still runs is
 * stopped at its next heartbeat. */
#ifndef DAG_WORKER_H
#define DAG_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "store.h"

struct dag_worker;

struct dag_worker_options {
  const char *const *queues; /* borrowed; names of queues to serve */
  size_t n_queues;
  const char *const *types; /* borrowed; task types this worker can run */
  size_t n_types;
  int concurrency; /* tries at once, >= 1 */
  /* Milliseconds between looks at the store when no wake-up arrives. */
  unsigned poll_ms;
  /* Where this worker serves its tries' logs, "http://HOST:PORT", recorded
   * with its row (copied); NULL: it serves none. */
  const char *log_url;
  /* Called with each try's claim id and log path (relative to the logs
   * folder) once its end is recorded (or refused) and its log complete;
   * NULL: nobody is told (log_archive.h copies the logs). */
  void (*log_done)(void *ctx, int64_t claim_id, const char *log_path);
  void *log_done_ctx;
};

/* `cfg` and `store` are borrowed and must outlive the worker; the option
 * arrays are copied. */
int dag_worker_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                   const struct dag_worker_options *opts, struct dag_worker **out);

/* Register in the workers table and start claiming. 0, or the store's
 * error (nothing started). */
int dag_worker_start(struct dag_worker *w);

/* Stop claiming. With `terminate`, running tries get SIGTERM (their ends
 * are recorded as failures, retried where the task allows); otherwise
 * they run to their end first. closed_cb(ctx) runs once every try has
 * ended and been recorded and every handle is closed. */
void dag_worker_shutdown(struct dag_worker *w, bool terminate, void (*closed_cb)(void *ctx),
                         void *ctx);

void dag_worker_free(struct dag_worker *w);

/* This worker's id, "host:pid:random". Borrowed. */
const char *dag_worker_id(const struct dag_worker *w);

#endif
