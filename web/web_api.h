/* web_api.h - helpers shared by the API's files (api.c, api_runs.c). Not
 * public. A helper that returns false or NULL has already answered the
 * request with an error; the caller just returns. */
#ifndef DAG_WEB_API_H
#define DAG_WEB_API_H

#include <jansson.h>
#include <stdbool.h>

#include "dag.h"
#include "store.h"
#include "strbuf.h"
#include "web_int.h"

/* The log of try `try_number` of `task_id` in run `run_pk` when it ran on a
 * worker (api_remote_log.c): answered from that worker's log server, later
 * (or at once with why not). false when the try was not a worker's: the
 * caller answers. offset, tail, limit as the log route's (-1: none). */
bool api_remote_log(struct dag_web *w, struct dag_http_conn *c, int64_t run_pk,
                    const char *task_id, int try_number, int64_t offset, int64_t tail,
                    int64_t limit);
/* Query parameter `name` as an integer in [min, max], `def` when absent. */
bool api_query_int(struct dag_http_conn *c, const struct dag_http_request *req,
                   const char *name, long def, long min, long max, long *out);
/* Query parameter `name` as true/false (1/0) into *out; *out unchanged when
 * absent. */
bool api_query_bool(struct dag_http_conn *c, const struct dag_http_request *req,
                    const char *name, int *out);
/* The request body as a JSON object (new reference). */
/* GET .../dagVersions and /api/v1/dagSources/{dag_id} (api_versions.c). */
void api_versions(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const struct dag_route_match *m);
/* GET /api/v1/datasets[/{uri}] and /api/v1/datasets/events (api_datasets.c). */
void api_datasets(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                  const struct dag_route_match *m);
/* The request body as a JSON object (new reference). */
json_t *api_body_object(struct dag_http_conn *c, const struct dag_http_request *req);
bool api_get_dag(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                 struct dag_store_dag *out);
bool api_get_run(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                 const char *run_id, struct dag_store_run *out);
/* The store a change is written through: the server's own, or beside a
 * read-only one a new read-write handle on the same database (see
 * dag_web_options.write_db). Give it back with api_writer_done(). NULL
 * after answering 500 with the reason (only logging it when c is NULL). */
dag_store *api_writer(struct dag_web *w, struct dag_http_conn *c);
void api_writer_done(struct dag_web *w, dag_store *st);
/* The DAG's definition from its file (caller frees with dag_free()). */
struct dag *api_load_dag(struct dag_web *w, struct dag_http_conn *c, const char *dag_id);

/* A DAG's tasks in declared order, from the stored graph JSON, with an
 * O(log n) lookup by task id. */
struct api_task_pos {
  const char *id; /* borrowed from graph */
  size_t index;   /* in graph */
};
struct api_task_order {
  json_t *graph; /* array of {task_id, type, trigger_rule, upstream} */
  struct api_task_pos *pos; /* sorted by id */
  size_t n;
};
void api_order_init(struct api_task_order *o, const char *graph_json);
/* Position of the task in the graph, or -1. */
long api_order_find(const struct api_task_order *o, const char *task_id);
/* The task's type ("shell", "exec", a plugin), or NULL. Borrowed. */
const char *api_order_type(const struct api_task_order *o, const char *task_id);
void api_order_free(struct api_task_order *o);

/* api_runs.c: task instances, tries, logs, clear, grid. */
void api_runs(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m);

/* api_callback_log.c: GET .../dagRuns/{run_id}/callbackLog, the run's
 * callbacks' output as {dag_id, dag_run_id, content, size, truncated}. */
void api_callback_log(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                      const char *run_id);

/* api_xcom.c: GET .../taskInstances/{task_id}/xcomEntries[/{key}]
 * (?map_index=N: a mapped task's instance). */
void api_xcom(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m);

/* api_mapped.c: GET .../taskInstances/{task_id}/listMapped and
 * .../taskInstances/{task_id}/{map_index}. */
void api_mapped(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                const struct dag_route_match *m);
/* Whether tis[i] is the own row (map_index -1) of a task that has
 * instances: a summary, not one of Airflow's task instances. O(n). */
bool api_mapped_hidden(const struct dag_store_ti *tis, size_t n, size_t i);
/* The fields a task instance list may be ordered by (api_lists.c). */
extern const char *const api_ti_fields[];

/* api_vars.c: /api/v1/variables[/{key}] and /api/v1/connections[/{id}]. */
void api_vars(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m);

/* api_pools.c: /api/v1/pools[/{pool_name}]. */
void api_pools(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
               const struct dag_route_match *m);

/* api_alerts.c: GET /api/v1/alerts, the outbox as `dagctl alerts --json`
 * lists it, without recipients, subject or body. */
void api_alerts(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req);

/* api_grid.c: GET /api/v1/dags/{dag_id}/grid. */
void api_grid(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const char *dag_id);

/* Append `s` as a JSON string, with markup characters \u-escaped as
 * web_json_dumps() does. */
void api_json_string(struct strbuf *sb, const char *s);
/* api_grid_groups.c: a grid task's `,"group_id":...` from its graph node,
 * and `,"groups":[...]`, each group's row with its summary state per run
 * from `states` (n_tasks x n_runs, by task then run; -1: no instance). */
void api_grid_task_group(struct strbuf *sb, json_t *node);
void api_grid_groups(struct strbuf *sb, json_t *graph, const int *states, size_t n_runs);

/* api_grid_mapped.c: the mapped instances among the grid's cells. */
struct api_grid_mapped;
/* From cells[0..n) (borrowed; map_index >= 0 ones are read) of runs[0..n_runs)
 * (newest first), tasks in `order`. NULL-safe to free. */
struct api_grid_mapped *api_grid_mapped_new(const struct dag_store_cell *cells, size_t n,
                                            const struct dag_store_run *runs, size_t n_runs,
                                            const struct api_task_order *order);
/* Task `t`'s `,"mapped":{...}` (nothing when it has no instances): per
 * run (oldest first) the count of its instances in each state, and per
 * map_index each run's state. */
void api_grid_mapped_task(struct strbuf *sb, const struct api_grid_mapped *m, size_t t);
void api_grid_mapped_free(struct api_grid_mapped *m);

#endif
