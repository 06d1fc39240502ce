/* dag_validate_dataset.c - the dataset keys of a DAG file: a task's
 * `outlets`, and a `schedule` of datasets (a list, or `timetable` and
 * `datasets` for Airflow's DatasetOrTimeSchedule). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "dataset.h"

void dag__get_datasets(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                       char ***out, size_t *n_out) {
  if (v->kind != DAG_YN_SEQ) {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, path, "expected a list of dataset URIs, got %s", got);
    free(got);
    return;
  }
  char **list = xcalloc(v->n + 1, sizeof(*list));
  size_t n = 0;
  for (size_t i = 0; i < v->n; i++) {
    char *p = dag_yaml_path_index(path, i);
    char *uri = NULL;
    const char *why = NULL;
    if (!dag_yaml_get_string(&ctx->y, v->items[i], p, &uri)) {
    } else if (dag_dataset_uri_check(uri, &why) != 0) {
      dag_yaml_err(&ctx->y, v->items[i], p, "invalid dataset URI '%.200s': %s", uri, why);
      free(uri);
    } else {
      bool dup = false;
      for (size_t j = 0; j < n && !dup; j++) dup = strcmp(list[j], uri) == 0;
      if (dup) {
        dag_yaml_err(&ctx->y, v->items[i], p, "dataset '%s' is listed twice", uri);
        free(uri);
      } else {
        list[n++] = uri;
      }
    }
    free(p);
  }
  if (v->n == 0) dag_yaml_err(&ctx->y, v, path, "the list of datasets is empty");
  *out = list;
  *n_out = n;
}
