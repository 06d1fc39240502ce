/* mark.h - marking task instances success, failed or skipped by hand, as
 * Airflow's DAG.set_task_instance_state: the chosen tasks of a run, with
 * their upstream and downstream tasks and the same tasks in earlier (past)
 * or later (future) runs of the DAG, are set to the state; then, in every
 * run touched, the failed and upstream_failed tasks downstream of the
 * chosen ones are cleared so that they run again. Shared by `dagctl mark`
 * and the API (PATCH .../taskInstances/{task_id},
 * POST .../updateTaskInstancesState). */
#ifndef DAG_MARK_H
#define DAG_MARK_H

#include <stdbool.h>
#include <stddef.h>

#include "dag.h"
#include "store.h"

struct dag_mark_request {
  const char *run_id;
  const char *const *task_ids; /* the chosen tasks (borrowed) */
  size_t n_tasks;
  enum dag_task_state state; /* success, failed or skipped */
  bool upstream, downstream, future, past;
  bool dry_run; /* only say what would change */
};

/* One task instance that changed (or would). Strings owned by the array. */
struct dag_mark_item {
  char *run_id;
  char *task_id;
  dag_time_t logical_date;
  enum dag_task_state old_state;
};
void dag_mark_items_free(struct dag_mark_item *it, size_t n);

/* Mark, in one transaction (part of the caller's if open), and tell the
 * scheduler; `dag` is the DAG's definition (its graph gives upstream and
 * downstream). *out: what changed, by logical date then task; *cleared:
 * downstream task instances cleared. On failure *err says why for the
 * user (caller frees): DAG_ENOTFOUND (run or task), DAG_EINVAL (state),
 * DAG_ESTATE (an imported run), or the store's error. */
int dag_mark_tasks(dag_store *st, const struct dag *dag, const struct dag_mark_request *req,
                   struct dag_mark_item **out, size_t *n, size_t *cleared, char **err);

#endif
