/* dag_find.h - a DAG by its id, for everything that acts on a DAG outside
 * the scheduler's own copy: `dagctl trigger`, `dagctl clear`, `dagctl test`
 * and the web API. */
#ifndef DAG_DAG_FIND_H
#define DAG_DAG_FIND_H

#include "config.h"
#include "dag.h"
#include "diag.h"
#include "store.h"

/* The DAG `dag_id` as the scheduler last loaded it (caller frees): its latest good stored
 * version (see dag_serial.h), so that every process sees the one DAG the
 * scheduler runs, a broken file leaving it on that version. Only when no
 * version is stored yet (no scheduler has read the file) does it read the
 * files, as dag_find_load_file(). Returns and costs the same as that. */
int dag_find_load(dag_store *store, const struct dag_config *cfg, const char *dag_id,
                  struct dag **out, struct dag_diags *broken);

/* The DAG as stored with version `version_id` (caller frees): the graph a
 * run created with that version keeps, for acting on that run (clear).
 * DAG_ENOTFOUND, a store error, or DAG_EINVAL if it does not deserialize. */
int dag_find_load_version(dag_store *store, int64_t version_id, struct dag **out);

/* Load the DAG `dag_id` from the files, as they are now: from the file the
 * store last saw it in (its fileloc) when that still defines it, else by reading every .yaml or .yml
 * file in cfg->dags_folder. `store` may be NULL. Returns 0 and *out (caller
 * frees with dag_free()); DAG_ENOTFOUND, with the diagnostics of every DAG
 * file that failed to load (one of them may define it) appended to
 * `broken`; or -errno when the folder cannot be read. Reads files: costs a
 * YAML parse per file tried. For `dagctl test`, which tries the file being
 * edited (as Airflow's `dags test` does). */
int dag_find_load_file(dag_store *store, const struct dag_config *cfg, const char *dag_id,
                       struct dag **out, struct dag_diags *broken);

#endif
