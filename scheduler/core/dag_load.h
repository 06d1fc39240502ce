/* dag_load.h - YAML DAG files -> struct dag, with file:line:col diagnostics.
 *
 * The reference for the format is README.md ("YAML reference"). Loading never
 * stops at the first error: every problem found is added to `diags`, and a
 * DAG is returned only if there were none. */
#ifndef DAG_DAG_LOAD_H
#define DAG_DAG_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "dag.h"
#include "diag.h"

struct dag_plugin_catalog;

struct dag_load_options {
  const char *default_timezone; /* NULL: "UTC" */
  int default_max_active_runs;  /* 0: 16 */
  int default_max_active_tasks; /* 0: 16 */
  /* Borrowed; NULL: plugin tasks' types and params go unchecked. */
  const struct dag_plugin_catalog *plugins;
  /* When dag_ids_known, the ids of the DAG folder's DAGs (borrowed): a
   * trigger_dag or external_task task naming another DAG id gets a
   * warning, with the closest ids. A warning, not an error, as Airflow:
   * the folder may be partial for a while (the target's file broken
   * mid-edit, or deployed after this one). */
  bool dag_ids_known;
  const char *const *dag_ids;
  size_t n_dag_ids;
  /* Borrowed; NULL: warnings are dropped. Problems that do not stop the
   * file from loading, each "PATH: message" at its line and column. */
  struct dag_diags *warnings;
};

/* The ids of the DAG files (*.yaml, *.yml) in `folder`, read from their
 * `dag_id` key without loading them, for dag_load_options.dag_ids: 0 and
 * *ids (caller frees with dag_load_ids_free()), or -errno. Files without a
 * readable dag_id are left out. */
int dag_load_folder_ids(const char *folder, char ***ids, size_t *n);
void dag_load_ids_free(char **ids, size_t n);

/* Load one file. On success returns 0 and *out (caller frees with
 * dag_free()). On failure returns DAG_EPARSE/DAG_EINVAL/DAG_ECYCLE or -errno,
 * *out is NULL, and `diags` holds at least one entry naming the file. */
int dag_load_file(const char *path, const struct dag_load_options *opts,
                  struct dag **out, struct dag_diags *diags);

/* dag_load_file() that also returns the text it parsed, in *text (caller
 * frees; NUL-terminated; NULL when the file could not be read), so that
 * what is stored as the DAG's source is exactly what was loaded. */
int dag_load_file_text(const char *path, const struct dag_load_options *opts,
                       struct dag **out, struct dag_diags *diags, char **text);
/* The same from memory; `name` is used in diagnostics. */
int dag_load_buffer(const char *name, const char *buf, size_t len,
                    const struct dag_load_options *opts, struct dag **out,
                    struct dag_diags *diags);

#endif
