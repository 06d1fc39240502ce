/* dag_validate_deadline.c - a DAG's `deadline`, Airflow 3's DeadlineAlert:
 *
 *   deadline:
 *     after: logical_date    # or queued_at (DeadlineReference.DAGRUN_*)
 *     within: 45m            # Airflow's interval
 *
 * A run not finished `within` after its reference time gets one alert
 * (engine/sched_deadline.c). Airflow's other references (FIXED_DATETIME,
 * AVERAGE_RUNTIME) are refused by name rather than taken for a typo. */
#include <stdlib.h>
#include <string.h>

#include "dag_load_int.h"

static const char *const ref_names[] = {NULL, "logical_date", "queued_at"};

const char *dag_deadline_ref_name(enum dag_deadline_ref r) {
  return (unsigned)r < sizeof(ref_names) / sizeof(ref_names[0]) ? ref_names[r] : NULL;
}

static void get_after(struct loadctx *ctx, const struct dag_ynode *v, struct dag *dag) {
  char *text = NULL;
  if (!dag_yaml_get_string(&ctx->y, v, "deadline.after", &text)) return;
  if (strcmp(text, "logical_date") == 0) {
    dag->deadline_after = DAG_DEADLINE_LOGICAL_DATE;
  } else if (strcmp(text, "queued_at") == 0) {
    dag->deadline_after = DAG_DEADLINE_QUEUED_AT;
  } else {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, "deadline.after",
                 "expected logical_date or queued_at (Airflow's DAGRUN_LOGICAL_DATE and "
                 "DAGRUN_QUEUED_AT), got %s",
                 got);
    free(got);
  }
  free(text);
}

void dag__get_deadline(struct loadctx *ctx, const struct dag_ynode *v, struct dag *dag) {
  static const char *const keys[] = {"after", "within"};
  if (v->kind != DAG_YN_MAP) {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, "deadline", "expected a mapping with after and within, got %s",
                 got);
    free(got);
    return;
  }
  const struct dag_ynode *after = NULL, *within = NULL;
  for (size_t i = 0; i < v->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(v, i);
    if (strcmp(k->value, "after") == 0)
      after = DAG_YN_VAL(v, i);
    else if (strcmp(k->value, "within") == 0)
      within = DAG_YN_VAL(v, i);
    else
      dag__unknown_key(ctx, k, "deadline", keys, 2);
  }
  if (!after || dag_yaml_is_null(after))
    dag_yaml_err(&ctx->y, after ? after : v, "deadline.after",
                 "required key is missing (logical_date or queued_at)");
  else
    get_after(ctx, after, dag);
  int64_t us = 0;
  if (!within || dag_yaml_is_null(within))
    dag_yaml_err(&ctx->y, within ? within : v, "deadline.within",
                 "required key is missing (a duration such as 45m)");
  else if (dag_yaml_get_duration(&ctx->y, within, "deadline.within", &us) && us <= 0)
    dag_yaml_err(&ctx->y, within, "deadline.within", "must be longer than 0s");
  else
    dag->deadline_within_us = us;
  /* Half a deadline is none: the DAG does not load anyway. */
  if (dag->deadline_within_us <= 0) dag->deadline_after = DAG_DEADLINE_NONE;
}
