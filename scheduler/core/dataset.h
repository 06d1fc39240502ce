/* dataset.h - dataset URIs, as Airflow 2.10's Dataset takes them.
 *
 * A task's `outlets` name the datasets its success updates; a DAG whose
 * `schedule` lists datasets runs once every one of them has been updated
 * since its last dataset-triggered run (see README, "DAGs triggered by
 * data"). A dataset is only its URI: dagctl never reads the data. */
#ifndef DAG_DATASET_H
#define DAG_DATASET_H

#include <stddef.h>

/* The longest URI accepted, as Airflow's. */
#define DAG_DATASET_URI_MAX 3000

/* Check `uri` as Airflow's Dataset does, with a scheme of its own: printable
 * ASCII without spaces, `scheme://rest` with a non-empty rest, the scheme a
 * letter then letters, digits, '+', '-' or '.', and not `airflow` nor
 * `dagctl` (reserved). Returns 0, or -1 with a static reason in *why. */
int dag_dataset_uri_check(const char *uri, const char **why);

/* Free a list of n strings and the list; NULL is a no-op. */
void dag_dataset_list_free(char **v, size_t n);

#endif
