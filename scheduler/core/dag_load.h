/* dag_load.h - YAML DAG files -> struct dag, with file:line:col diagnostics.
 *
 * The reference for the format is README.md ("YAML reference"). Loading never
 * stops at the first error: every problem found is added to `diags`, and a
 * DAG is returned only if there were none. */
#ifndef DAG_DAG_LOAD_H
#define DAG_DAG_LOAD_H

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
};

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
