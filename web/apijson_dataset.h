/* apijson_dataset.h - datasets and dataset events as Airflow 2.10's REST
 * API shapes them (Dataset, DatasetEvent), for the API and the CLI's
 * --json alike. Each returns a new reference. */
#ifndef DAG_APIJSON_DATASET_H
#define DAG_APIJSON_DATASET_H

#include <jansson.h>

#include "store_datasets.h"

/* Airflow's Dataset: id, uri, extra, created_at, updated_at,
 * consuming_dags [{dag_id, created_at, updated_at}], producing_tasks
 * [{task_id, dag_id, created_at, updated_at}]. */
json_t *dag_api_dataset(const struct dag_store_dataset *d);
/* Airflow's DatasetEvent: id, dataset_id, dataset_uri, extra,
 * source_dag_id, source_task_id, source_run_id, source_map_index,
 * created_dagruns (BasicDAGRun), timestamp. */
json_t *dag_api_dataset_event(const struct dag_store_dataset_event *e);

#endif
