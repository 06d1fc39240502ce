/* template.h - the {{ ... }} values in commands, argv, env and cwd.
 *
 * A small, strict subset of Airflow's Jinja context. Names:
 *   ds, ds_nodash, ts, ts_nodash, logical_date, data_interval_start,
 *   data_interval_end, run_id, dag_id, task_id, try_number,
 *   params.NAME, conf.NAME (conf.NAME.SUB for nested objects),
 *   ti.xcom.TASK.KEY (a value another task of the run pushed)
 * `params.x` resolves to the run's conf value when the run's conf has key x
 * (Airflow's dag_run_conf_overrides_params), else to the DAG's params.
 * Unknown names and unterminated tags are errors, never silently empty. */
#ifndef DAG_TEMPLATE_H
#define DAG_TEMPLATE_H

#include <jansson.h>

#include "common.h"

struct dag_template_ctx {
  const char *dag_id;
  const char *task_id;
  const char *run_id;
  dag_time_t logical_date;
  dag_time_t data_interval_start;
  dag_time_t data_interval_end;
  int try_number;
  const json_t *params; /* borrowed; may be NULL */
  const json_t *conf;   /* borrowed; may be NULL */
  const json_t *xcom;   /* borrowed; {TASK: {KEY: value}}; may be NULL */
};

/* Render `tmpl`. Returns 0 and *out (caller frees), or DAG_ETEMPLATE with a
 * message in *err (caller frees) naming the offending tag. */
int dag_template_render(const char *tmpl, const struct dag_template_ctx *ctx,
                        char **out, char **err);

/* Check syntax and names without rendering (params/conf keys are not checked:
 * conf is only known at trigger time). For the loader. */
int dag_template_check(const char *tmpl, char **err);

#endif
