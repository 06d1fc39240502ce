/* store_mark.h - setting states by hand, as Airflow's "mark success" and
 * "mark failed": a task instance (set_task_instance_state), or a whole run
 * (set_dag_run_state_to_success / _failed). The scheduler is told, and
 * stops the processes of task instances marked while they ran. */
#ifndef DAG_STORE_MARK_H
#define DAG_STORE_MARK_H

#include "store.h"

/* Task `task_id` of run `run_pk` to `state` (success, failed or skipped),
 * ended `now`; *changed says whether it was in another state. A running
 * one keeps its pid for the scheduler, which stops it. Tells the
 * scheduler. Part of the caller's transaction if one is open. DAG_ESTATE
 * for an imported run. */
int dag_store_ti_mark(dag_store *st, int64_t run_pk, const char *task_id,
                      enum dag_task_state state, dag_time_t now, bool *changed);

/* Run `run_pk` to `state`, as Airflow: success marks every unfinished task
 * instance success; failed marks running and queued ones failed and the
 * other unfinished ones skipped. The run ends `now`. *changed: the task
 * instances changed. Tells the scheduler. DAG_ESTATE for an imported run. */
int dag_store_run_mark(dag_store *st, int64_t run_pk, enum dag_run_state state, dag_time_t now,
                       size_t *changed);

/* Delete run `run_pk` with its task instances, tries, XComs and links
 * (cascades), and tell the scheduler. Logs are the caller's to remove.
 * Part of the caller's transaction if open. DAG_ENOTFOUND if none. */
int dag_store_run_delete(dag_store *st, int64_t run_pk);
/* Ask the scheduler to delete active run `run_pk` once it has stopped its
 * tasks (delete_requested_at = now), and tell it. */
int dag_store_run_request_delete(dag_store *st, int64_t run_pk, dag_time_t now);

/* A try of a task instance marked while it ran has ended: its task_try row
 * gets `state`, `end` and `error`; the task instance keeps its state and
 * forgets the pid. */
int dag_store_try_end_marked(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                             int try_number, enum dag_task_state state, dag_time_t end,
                             int exit_code, bool has_exit_code, const char *error);

#endif
