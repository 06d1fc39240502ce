/* dag_find.h - find and load the file that defines a DAG, for everything
 * that acts on a DAG outside the scheduler's own copy: `dagctl trigger`,
 * `dagctl clear` and the web API. */
#ifndef DAG_DAG_FIND_H
#define DAG_DAG_FIND_H

#include "config.h"
#include "dag.h"
#include "diag.h"
#include "store.h"

/* Load the DAG `dag_id`: from the file the store last saw it in (its
 * fileloc) when that still defines it, else by reading every .yaml or .yml
 * file in cfg->dags_folder. `store` may be NULL. Returns 0 and *out (caller
 * frees with dag_free()); DAG_ENOTFOUND, with the diagnostics of every DAG
 * file that failed to load (one of them may define it) appended to
 * `broken`; or -errno when the folder cannot be read. Reads files: costs a
 * YAML parse per file tried. */
int dag_find_load(dag_store *store, const struct dag_config *cfg, const char *dag_id,
                  struct dag **out, struct dag_diags *broken);

#endif
