/* ids.h - the one rule for DAG, task and run ids.
 *
 * Ids become folder and file names under DAGCTL_HOME/logs
 * (DAG/RUN/TASK/TRY.log), URL segments and log fields. The DAG loader,
 * `dagctl trigger`, the API, `dagctl logs` and the web server all check
 * them here, so an id one of them accepts is accepted by all, and none can
 * name a path outside its folder: no '/', never "." or "..". */
#ifndef DAG_IDS_H
#define DAG_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define DAG_ID_MAX_LEN 250

enum dag_id_kind {
  DAG_ID_DAG,  /* letters, digits, _ . - (Airflow's KEY_REGEX) */
  DAG_ID_TASK, /* the same; also plugin type names */
  DAG_ID_RUN,  /* also ':' and '+', for the ISO dates of generated ids */
};

/* Why `id` is not a valid id of this kind, as a phrase that completes
 * "invalid id 'x' (...)", or NULL if it is valid. Every id is 1 to
 * DAG_ID_MAX_LEN bytes of its alphabet and does not start with '.'.
 * Static string. */
const char *dag_id_problem(enum dag_id_kind kind, const char *id);

static inline bool dag_id_is_valid(enum dag_id_kind kind, const char *id) {
  return dag_id_problem(kind, id) == NULL;
}

/* Whether `rel`, a path the store records relative to DAGCTL_HOME/logs,
 * stays inside that folder: not empty, not absolute, and no segment empty,
 * "." or "..". Dots inside a segment ("v1..2") are only dots. This is a
 * check of the text; a caller that opens the file still guards against
 * symbolic links. */
bool dag_id_rel_path_is_safe(const char *rel);

#endif
