/* apijson.h - rows as JSON objects with the field names of Airflow's stable
 * REST API, shared by the CLI's --json output and the web API, so scripts
 * written for one work with the other. Each returns a new reference. */
#ifndef DAG_APIJSON_H
#define DAG_APIJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "store.h"
#include "store_audit.h"

/* An ISO-8601 string, or JSON null for 0. */
json_t *dag_api_time(dag_time_t t);
json_t *dag_api_dag(const struct dag_store_dag *d, bool has_import_errors);
json_t *dag_api_run(const struct dag_store_run *r);
/* Add a run's trigger_dag links to its JSON `run`: "triggered_by" (the
 * run whose task triggered it, or null) and "triggered" (the runs its
 * tasks triggered), each {dag_id, dag_run_id, task_id, state}. */
void dag_api_run_links(json_t *run, const struct dag_store_run_link *links, size_t n);
json_t *dag_api_task_instance(const struct dag_store_run *r, const struct dag_store_ti *ti,
                              const char *operator_name);
struct dag_store_ti_pool;
/* Set dagctl's "waiting_for" in a task instance's JSON `o`: why a
 * scheduled task waits for its pool (dag_api_pool_wait(); p may be NULL),
 * or null. */
void dag_api_ti_pool(json_t *o, const struct dag_store_ti_pool *p);
/* "pool NAME: N of M slots open, needs K" or "pool NAME does not exist"
 * for a task that waits for its pool; NULL otherwise. Caller frees. */
char *dag_api_pool_wait(const struct dag_store_ti_pool *p);
/* An import error; its import_error_id is dag_api_import_error_id(). */
json_t *dag_api_import_error(const struct dag_store_import_error *e);
/* The stable id of the import error of `filename` (> 0). */
int dag_api_import_error_id(const char *filename);
/* An audit entry as Airflow's EventLog (event_log_id, when, dag_id,
 * task_id, run_id, map_index, try_number, event, execution_date, owner,
 * extra), with dagctl's client, object and outcome: the one shape of
 * GET /api/v1/eventLogs and `dagctl audit --json`. */
json_t *dag_api_event_log(const struct dag_audit_entry *e);
struct dag_store_backfill;
/* Airflow 3's BackfillResponse (id, dag_id, from_date, to_date,
 * dag_run_conf, is_paused, reprocess_behavior, max_active_runs,
 * created_at, completed_at, updated_at) and dagctl's progress: cancelled,
 * runs_created, runs_skipped, runs {queued, running, success, failed}. */
json_t *dag_api_backfill(const struct dag_store_backfill *b);
/* Adds what a try cost to `o` (borrowed): max_rss_bytes, cpu_user_seconds,
 * cpu_system_seconds, wall_seconds; null when unknown. */
void dag_api_usage(json_t *o, const struct dag_store_usage *u);

#endif
