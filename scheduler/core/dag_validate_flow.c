/* dag_validate_flow.c - the task keys that steer a run by a task's result:
 * xcom_push, branch, short_circuit and ignore_downstream_trigger_rules,
 * with Airflow's names (BashOperator's do_xcom_push of the last line,
 * BaseBranchOperator, ShortCircuitOperator). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"

static bool get_flag(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                     const char *key, bool *out) {
  const struct dag_ynode *v = dag_yaml_get(item, key);
  if (v == NULL || dag_yaml_is_null(v)) return false;
  char *p = dag_yaml_path_key(tpath, key);
  bool ok = dag_yaml_get_bool(&ctx->y, v, p, out);
  free(p);
  return ok;
}

void dag__get_flow_keys(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                        struct dag_task *t) {
  const struct dag_ynode *v = dag_yaml_get(item, "xcom_push");
  if (v && !dag_yaml_is_null(v)) {
    char *p = dag_yaml_path_key(tpath, "xcom_push");
    const char *s = dag_yaml_scalar(v);
    bool off = dag_yaml_scalar_type(v) == DAG_YS_BOOL && s && (s[0] == 'f' || s[0] == 'F');
    if (s && strcmp(s, "last_line") == 0 && t->type != DAG_TASK_PLUGIN) {
      t->xcom_last_line = true;
    } else if (s && strcmp(s, "last_line") == 0) {
      dag_yaml_err(&ctx->y, v, p, "'last_line' is for shell and exec tasks (a plugin task "
                   "pushes its own values)");
    } else if (!off) {
      char *got = dag_yaml_describe(v);
      dag_yaml_err(&ctx->y, v, p, "expected 'last_line' or false, got %s", got);
      free(got);
    }
    free(p);
  }
  get_flag(ctx, item, tpath, "branch", &t->branch);
  get_flag(ctx, item, tpath, "short_circuit", &t->short_circuit);
  /* Airflow's default: a false condition skips everything downstream,
   * whatever their trigger rules. */
  t->ignore_downstream_trigger_rules = true;
  const struct dag_ynode *ig = dag_yaml_get(item, "ignore_downstream_trigger_rules");
  if (get_flag(ctx, item, tpath, "ignore_downstream_trigger_rules",
               &t->ignore_downstream_trigger_rules) &&
      !t->short_circuit) {
    char *p = dag_yaml_path_key(tpath, "ignore_downstream_trigger_rules");
    dag_yaml_err(&ctx->y, ig, p, "only for a task with short_circuit: true");
    free(p);
  }
  if (t->branch && t->short_circuit) {
    char *p = dag_yaml_path_key(tpath, "short_circuit");
    dag_yaml_err(&ctx->y, dag_yaml_get(item, "short_circuit"), p,
                 "a task is a branch or a short circuit, not both");
    free(p);
  }
}

void dag__check_flow(struct loadctx *ctx, const struct dag *dag, const struct dag_ynode *tasks) {
  for (size_t i = 0; i < dag->n_tasks && i < tasks->n && !dag_yaml_saturated(&ctx->y); i++) {
    const struct dag_task *t = &dag->tasks[i];
    const char *key = t->branch ? "branch" : t->short_circuit ? "short_circuit" : NULL;
    if (key == NULL || t->n_downstream > 0) continue;
    char *tpath = dag_yaml_path_index("tasks", i);
    char *p = dag_yaml_path_key(tpath, key);
    dag_yaml_err(&ctx->y, dag_yaml_get(tasks->items[i], key), p,
                 "task '%s' has no downstream tasks to %s (list it in their 'upstream')",
                 t->id ? t->id : "?", t->branch ? "choose from" : "skip");
    free(p);
    free(tpath);
  }
}
