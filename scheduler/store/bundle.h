/* bundle.h - a run bundle: one run of one home as a single JSON document
 * (`dagctl export`), to load into another home (`dagctl import`) for
 * incident review.
 *
 * The document holds the run's rows (run, task instances, tries, XCom), each
 * try's log, the run's conf and the DAG version it ran (the serialized DAG
 * and the file's text). JSON rather than a tar: one self-describing text
 * that jansson reads with its limits, whose parts are named by keys and not
 * by file paths (a tar's member names are paths that an importer must police,
 * with links besides); logs that are not UTF-8 go in base64.
 *
 *   {"format": "dagctl-run-bundle", "format_version": 1,
 *    "dagctl_version": "...", "exported_at": US,
 *    "run": {dag_id, run_id, run_type, state, logical_date,
 *            data_interval_start, data_interval_end, conf, queued_at,
 *            start_date, end_date},
 *    "dag_version": null | {version_number, dag_hash, data, fileloc,
 *                           source_code, created_at},
 *    "task_instances": [{task_id, state, try_number, max_tries, start_date,
 *                        end_date, exit_code, error, and when its home
 *                        recorded them: pool, pool_slots, priority_weight}],
 *    "tries": [{task_id, try_number, state, start_date, end_date, exit_code,
 *               error, usage: null | {max_rss_kb, cpu_user_us, cpu_system_us,
 *               wall_us}, log: null | {encoding: "utf-8" | "base64", content}}],
 *    "xcom": [{task_id, key, value}]}
 *
 * Times are integer microseconds since the Unix epoch, UTC, or null.
 *
 * A bundle comes from outside: dag_bundle_parse() checks every field (ids by
 * the rule of ids.h, states, times, sizes, that tries and XComs name tasks of
 * the run, that the DAG version's data is a serialized DAG of the run's DAG
 * whose hash is the one given) and refuses the whole document at the first
 * problem, naming where it is. Nothing in it is ever used as a path. */
#ifndef DAG_BUNDLE_H
#define DAG_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define DAG_BUNDLE_FORMAT "dagctl-run-bundle"
#define DAG_BUNDLE_FORMAT_VERSION 1
/* The largest bundle dagctl reads or writes: logs included. */
#define DAG_BUNDLE_MAX_BYTES (256u << 20)

/* One try's log, as bytes (may hold any byte). */
struct dag_bundle_log {
  bool present; /* false: the try had no log file */
  char *data;   /* owned; NUL-terminated for convenience */
  size_t len;
};

struct dag_bundle {
  dag_time_t exported_at;
  struct dag_store_run run; /* pk, dag_version_*, imported_at unused */
  bool has_version;
  struct dag_store_version version; /* id unused; data and source_code set */
  struct dag *dag;                  /* version.data read back; NULL without a version */
  struct dag_store_ti *tis;
  size_t n_tis;
  struct dag_store_try *tries; /* log_path unused */
  struct dag_bundle_log *logs; /* one per try */
  size_t n_tries;
  struct dag_store_xcom *xcom;
  size_t n_xcom;
};

/* Read the `len` bytes at `text`. Returns 0 and fills *out (caller frees
 * with dag_bundle_free()), or DAG_EINVAL with *err (caller frees) as
 * "LINE:COL: message" for bad JSON or "FIELD: message" otherwise
 * ("tries[3].task_id: ..."); *out is then empty. */
int dag_bundle_parse(const char *text, size_t len, struct dag_bundle *out, char **err);

/* The document of `b` (a new reference); its dag and version.id are not
 * read. */
json_t *dag_bundle_to_json(const struct dag_bundle *b);

/* Frees every member that is set; `b` may be zeroed or half-filled. */
void dag_bundle_free(struct dag_bundle *b);

#endif
