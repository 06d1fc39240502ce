/* web_lists.h - Airflow REST routes beyond the first ones: lists across
 * DAGs (`~`), a DAG's details and tasks, DAG statistics, import errors,
 * the configuration and plugins (api_lists.c, api_dags.c). Not public. */
#ifndef DAG_WEB_LISTS_H
#define DAG_WEB_LISTS_H

#include "web_int.h"

/* GET /api/v1/dags/{dag_id}/dagRuns, `~` for every DAG: Airflow's filters
 * (state, execution_date_gte/lte, start_date_gte/lte, end_date_gte/lte),
 * order_by, limit (100) and offset. */
void api_list_runs(struct dag_web *w, struct dag_http_conn *c,
                   const struct dag_http_request *req, const char *dag_id);
/* POST /api/v1/dags/~/dagRuns/list: Airflow's ListDagRunsForm. */
void api_list_runs_batch(struct dag_web *w, struct dag_http_conn *c,
                         const struct dag_http_request *req);
/* GET .../dags/{dag_id}/dagRuns/{run_id}/taskInstances, `~` for every DAG
 * and every run: each run's in the DAG's declared order; state, order_by,
 * limit (100), offset. */
void api_list_tis(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const char *dag_id, const char *run_id);

/* GET /api/v1/plugins (limit, offset): the installed task plugins, as a
 * child `dagctl plugins --json` lists them (api_plugins.c). */
void api_plugins(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req);

/* The routes of api_dags.c: details, tasks, dagStats, importErrors,
 * importErrors/{id}, config, plugins. */
void api_dags(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m);


#endif
