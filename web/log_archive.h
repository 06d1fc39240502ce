/* log_archive.h - finished task logs copied to object storage, as Airflow's
 * remote logging does (worker.remote_logging, worker.remote_base_log_folder):
 * a worker copies each try's log once the try's end is recorded, and the
 * status page and `dagctl logs` read the copy from there, also once that
 * worker is stopped or dead.
 *
 * The storage is the data lake's code (tasks/lake: a folder, or S3 over
 * libcurl with SigV4), with the `lake` section's endpoint, region,
 * path_style, credentials and timeout; the base folder is
 * worker.remote_base_log_folder, by default the lake's url + "/logs". A
 * try's log is the object at its log path (relative to the logs folder)
 * under that base, which the store records with the try's claim.
 *
 * The local log is never removed: a copy that fails is tried again with a
 * growing delay (1 s to 1 min) while the worker runs, and the worker's log
 * server serves the log meanwhile. */
#ifndef DAG_LOG_ARCHIVE_H
#define DAG_LOG_ARCHIVE_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "store.h"

/* --- the worker's side: copying -------------------------------------------------- */

struct dag_log_archive;

/* Start copying finished logs of this home's logs folder for a worker on
 * `loop`, recording each copy in `store` (both borrowed, outliving the
 * archive). *out is NULL (and 0 returned) when worker.remote_logging is
 * off. */
int dag_log_archive_start(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                          struct dag_log_archive **out);
/* Where copies go ("s3://bucket/prefix" or a folder). Borrowed. */
const char *dag_log_archive_base(const struct dag_log_archive *a);
/* Copy the log at `log_path` (relative to the logs folder) of claim
 * `claim_id`, whose end is recorded: on the thread pool, then recorded. */
void dag_log_archive_add(struct dag_log_archive *a, int64_t claim_id, const char *log_path);
/* Copies not done yet (in flight or waiting to be tried again). */
int dag_log_archive_pending(const struct dag_log_archive *a);
/* Stop: copies in flight finish (and are recorded); those waiting to be
 * tried again are given up, their logs left in the logs folder, each
 * logged. Then the archive frees itself and closed_cb(ctx) runs (may be
 * NULL). */
void dag_log_archive_close(struct dag_log_archive *a, void (*closed_cb)(void *ctx), void *ctx);

/* --- the readers' side ------------------------------------------------------------- */

struct dag_log_source;

/* What reading a copy under `base` (as the store recorded it) needs, taken
 * from `cfg` on the caller's thread. Caller frees with
 * dag_log_source_free(). */
struct dag_log_source *dag_log_source_new(const struct dag_config *cfg, const char *base);
/* Read the copy of the log at `rel_path`, whole, into *data (NUL-terminated,
 * caller frees) and *len. Blocks (a network read on S3): any thread, one
 * source per thread at a time. 0, or a negative code with *err (caller
 * frees): -ENOENT when there is no such copy. */
int dag_log_source_read(const struct dag_log_source *s, const char *rel_path, char **data,
                        size_t *len, char **err);
/* The base as recorded. Borrowed. */
const char *dag_log_source_base(const struct dag_log_source *s);
void dag_log_source_free(struct dag_log_source *s);

#endif
