/* dag_validate_dagref.c - tasks that name another DAG: trigger_dag's
 * trigger_dag_id and external_task's external_dag_id, checked against the
 * ids of the DAG folder when the caller knows them (dag_load.h).
 *
 * A name that is not there is a warning, not an error, as Airflow parses
 * such a DAG too (it warns about a missing pool the same way): the folder
 * may be partial for a while, the target's file broken mid-edit or
 * deployed after this one, and one broken file must not take down the
 * DAGs that name it. A templated id is only known at run time. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "didyoumean.h"

/* The shipped types whose key names a DAG (tasks/dagrun). */
static const struct {
  const char *type, *key;
} dag_refs[] = {
    {"trigger_dag", "trigger_dag_id"},
    {"external_task", "external_dag_id"},
};

static bool is_dag_file(const char *name) {
  size_t n = strlen(name);
  return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
                            (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

void dag_load_ids_free(char **ids, size_t n) {
  for (size_t i = 0; i < n; i++) free(ids[i]);
  free(ids);
}

int dag_load_folder_ids(const char *folder, char ***ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  DIR *d = opendir(folder);
  if (d == NULL) return -errno;
  static const struct dag_yaml_options yopts = {.what = "DAG file"};
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_dag_file(e->d_name)) continue;
    char *path = xasprintf("%s/%s", folder, e->d_name);
    /* Only the id: the file's own problems are its loading's to report. */
    struct dag_diags scratch = DAG_DIAGS_INIT;
    struct dag_yaml_ctx y;
    struct dag_ydoc doc;
    dag_yaml_ctx_init(&y, path, &scratch);
    if (dag_yaml_parse_file(&y, path, &yopts, &doc) == 0) {
      const char *id = dag_yaml_scalar(dag_yaml_get(doc.root, "dag_id"));
      if (id && *id) {
        *ids = xgrow(*ids, &cap, *n + 1, sizeof(**ids));
        (*ids)[(*n)++] = xstrdup(id);
      }
    }
    dag_ydoc_free(&doc);
    dag_diags_free(&scratch);
    free(path);
  }
  closedir(d);
  return 0;
}

void dag__check_dag_refs(struct loadctx *ctx, const struct dag *dag,
                         const struct dag_ynode *tasks) {
  const struct dag_load_options *o = ctx->opts;
  if (!o->dag_ids_known || o->warnings == NULL) return;
  for (size_t i = 0; i < dag->n_tasks && i < tasks->n; i++) {
    const struct dag_task *t = &dag->tasks[i];
    if (t->type != DAG_TASK_PLUGIN || t->type_name == NULL) continue;
    for (size_t k = 0; k < DAG_ARRAY_SIZE(dag_refs); k++) {
      if (strcmp(t->type_name, dag_refs[k].type) != 0) continue;
      const struct dag_ynode *v = dag_yaml_get(tasks->items[i], dag_refs[k].key);
      const char *id = dag_yaml_scalar(v);
      if (id == NULL || *id == '\0' || strstr(id, "{{") ||
          (dag->dag_id && strcmp(id, dag->dag_id) == 0))
        continue;
      size_t j = 0;
      while (j < o->n_dag_ids && strcmp(o->dag_ids[j], id) != 0) j++;
      if (j < o->n_dag_ids) continue;
      char *tpath = dag__task_path(ctx, i);
      char *p = dag_yaml_path_key(tpath, dag_refs[k].key);
      const char *best = dag_did_you_mean(id, o->dag_ids, o->n_dag_ids);
      if (best)
        dag_diag_add(o->warnings, ctx->y.file, v->line, v->col,
                     "%s: no DAG '%s' in the DAG folder (did you mean '%s'?)", p, id, best);
      else
        dag_diag_add(o->warnings, ctx->y.file, v->line, v->col,
                     "%s: no DAG '%s' in the DAG folder", p, id);
      free(p);
      free(tpath);
    }
  }
}
