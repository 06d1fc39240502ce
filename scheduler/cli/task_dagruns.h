/* task_dagruns.h - runs of other DAGs for a plugin task's host table
 * (dagctl/plugin.h, minor 4), used by `dagctl __task`. */
#ifndef DAG_CLI_TASK_DAGRUNS_H
#define DAG_CLI_TASK_DAGRUNS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

/* What to trigger; every string borrowed, NULL for the default. */
struct cli_task_trigger {
  const char *dag_id;
  const char *run_id;       /* NULL: manual__<logical date> */
  const char *logical_date; /* NULL: now; else ISO-8601 */
  const char *conf_json;    /* NULL or a JSON object */
};

/* Queue a run of t->dag_id linked to task `by_task_id` of run `by_run_pk`,
 * unless that task already triggered one: then that run. 0 with
 * *run_id_out (caller frees) and *created, or a negative code with *err
 * (caller frees) saying why. */
int cli_task_trigger_dag(struct cli *c, int64_t by_run_pk, const char *by_task_id,
                         const struct cli_task_trigger *t, char **run_id_out, bool *created,
                         char **err);

/* The state of run `run_id` of `dag_id` (or with run_id NULL of its latest
 * run at `logical_date`), or of its task `task_id`: 0 with *state (caller
 * frees; NULL when there is no such run or task), or a negative code with
 * *err (caller frees). */
int cli_task_dag_state(struct cli *c, const char *dag_id, const char *run_id,
                       const char *logical_date, const char *task_id, char **state,
                       char **err);

#endif
