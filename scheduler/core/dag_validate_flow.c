/* dag_validate_flow.c - the task keys that steer a run by a task's result:
 * xcom_push, branch, short_circuit, ignore_downstream_trigger_rules and
 * expand (dynamic task mapping),
 * with Airflow's names (BashOperator's do_xcom_push of the last line,
 * BaseBranchOperator, ShortCircuitOperator). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "didyoumean.h"
#include "template.h"

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

static bool ident_ok(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
         strlen(s);
}

/* expand: {NAME: [literal, ...] | "{{ template yielding a JSON list }}", ...},
 * Airflow's expand(NAME=...) keyword arguments; several keys map over
 * their cross product, as Airflow's. */
void dag__get_expand(struct loadctx *ctx, const struct dag_ynode *v, const char *tpath,
                     struct dag_task *t) {
  char *path = dag_yaml_path_key(tpath, "expand");
  if (v->kind != DAG_YN_MAP || v->n == 0) {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, path,
                 "expected a mapping of names to lists (expand: {item: [a, b]}), got %s", got);
    free(got);
    free(path);
    return;
  }
  if (t->type == DAG_TASK_PLUGIN)
    dag_yaml_err(&ctx->y, v, path, "only shell and exec tasks can be mapped (type %s)",
                 t->type_name ? t->type_name : "?");
  t->expand = xcalloc(v->n / 2, sizeof(*t->expand));
  for (size_t i = 0; i < v->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(v, i), *val = DAG_YN_VAL(v, i);
    char *p = dag_yaml_path_key(path, k->value);
    const char *text = dag_yaml_scalar(val);
    if (!ident_ok(k->value)) {
      dag_yaml_err(&ctx->y, k, p, "'%s' is not a template name (letters, digits and '_')",
                   k->value);
    } else if (dag_template_name_reserved(k->value)) {
      dag_yaml_err(&ctx->y, k, p, "'%s' is a template name of its own; choose another",
                   k->value);
    } else if (val->kind == DAG_YN_SEQ) {
      json_t *list = dag_yaml_to_json(&ctx->y, val, p);
      if (list) {
        struct dag_expand *e = &t->expand[t->n_expand++];
        e->name = xstrdup(k->value);
        e->list = list;
      }
    } else if (text && dag_yaml_scalar_type(val) == DAG_YS_STR && strstr(text, "{{")) {
      struct dag_template_refs refs = {0};
      char *err = NULL;
      if (dag_template_check_refs(text, &refs, &err) != 0) {
        dag_yaml_err(&ctx->y, val, p, "%s", err ? err : "invalid template");
      } else {
        struct dag_expand *e = &t->expand[t->n_expand++];
        e->name = xstrdup(k->value);
        e->tmpl = xstrdup(text);
      }
      free(err);
      dag_template_refs_free(&refs);
    } else {
      char *got = dag_yaml_describe(val);
      dag_yaml_err(&ctx->y, val, p,
                   "expected a list, or a template that renders a JSON list "
                   "(\"{{ ti.xcom_pull('TASK') }}\"), got %s", got);
      free(got);
      /* The name stays known: its uses are not errors of their own. */
      struct dag_expand *e = &t->expand[t->n_expand++];
      e->name = xstrdup(k->value);
      e->list = json_array();
    }
    free(p);
  }
  free(path);
}

/* An expand template reads XComs of tasks that must have run first: tasks
 * of the DAG listed in its upstream (Airflow makes an XComArg an upstream). */
static void check_expand(struct loadctx *ctx, const struct dag *dag, size_t i,
                         const struct dag_ynode *item, const char *tpath) {
  const struct dag_task *t = &dag->tasks[i];
  const struct dag_ynode *ex = dag_yaml_get(item, "expand");
  if (!ex || t->n_expand == 0) return;
  char *path = dag_yaml_path_key(tpath, "expand");
  if (t->branch || t->short_circuit)
    dag_yaml_err(&ctx->y, ex, path, "a mapped task cannot be a %s",
                 t->branch ? "branch" : "short circuit");
  for (size_t k = 0; ex->kind == DAG_YN_MAP && k < ex->n / 2; k++) {
    const struct dag_ynode *val = DAG_YN_VAL(ex, k);
    if (val->kind != DAG_YN_SCALAR) continue;
    struct dag_template_refs refs = {0};
    char *err = NULL;
    char *p = dag_yaml_path_key(path, DAG_YN_KEY(ex, k)->value);
    if (dag_template_check_refs(val->value, &refs, &err) == 0) {
      for (size_t r = 0; r < refs.n; r++) {
        long up = dag_find_task(dag, refs.ids[r]);
        bool direct = false;
        for (size_t u = 0; up >= 0 && u < t->n_upstream; u++) direct |= t->upstream[u] == (size_t)up;
        if (up < 0)
          dag_yaml_err(&ctx->y, val, p, "expands over an XCom of unknown task '%s'", refs.ids[r]);
        else if (!direct)
          dag_yaml_err(&ctx->y, val, p,
                       "expands over an XCom of task '%s', which is not upstream of '%s' "
                       "(list it in 'upstream')", refs.ids[r], t->id ? t->id : "?");
      }
    }
    free(err);
    free(p);
    dag_template_refs_free(&refs);
  }
  free(path);
}

/* The XComs a template reads must be of tasks of this DAG: a misspelt id
 * would otherwise fail every run, at run time. */
static void check_refs(struct loadctx *ctx, const struct dag *dag, const struct dag_task *t,
                       const struct dag_ynode *n, const char *path) {
  const char *text = n ? dag_yaml_scalar(n) : NULL;
  if (text == NULL) return;
  const char **mapped = xcalloc(t->n_expand + 1, sizeof(*mapped));
  for (size_t i = 0; i < t->n_expand; i++) mapped[i] = t->expand[i].name;
  struct dag_template_refs refs = {.names = mapped, .n_names = t->n_expand};
  char *err = NULL;
  if (dag_template_check_refs(text, &refs, &err) == 0) {
    for (size_t k = 0; k < refs.n; k++) {
      if (dag_find_task(dag, refs.ids[k]) >= 0) continue;
      const char **names = xcalloc(dag->n_tasks + 1, sizeof(*names));
      size_t n_names = 0;
      for (size_t j = 0; j < dag->n_tasks; j++)
        if (dag->tasks[j].id) names[n_names++] = dag->tasks[j].id;
      const char *best = dag_did_you_mean(refs.ids[k], names, n_names);
      if (best)
        dag_yaml_err(&ctx->y, n, path, "reads an XCom of unknown task '%s' (did you mean '%s'?)",
                     refs.ids[k], best);
      else
        dag_yaml_err(&ctx->y, n, path, "reads an XCom of unknown task '%s'", refs.ids[k]);
      free(names);
    }
  }
  free(err); /* reported by the task's own check */
  dag_template_refs_free(&refs);
  free(mapped);
}

static void check_task_refs(struct loadctx *ctx, const struct dag *dag, const struct dag_task *t,
                            const struct dag_ynode *item, const char *tpath) {
  static const char *const keys[] = {"command", "argv", "env", "cwd"};
  for (size_t k = 0; k < DAG_ARRAY_SIZE(keys); k++) {
    const struct dag_ynode *v = dag_yaml_get(item, keys[k]);
    if (v == NULL) continue;
    char *p = dag_yaml_path_key(tpath, keys[k]);
    if (v->kind == DAG_YN_SCALAR) {
      check_refs(ctx, dag, t, v, p);
    } else if (v->kind == DAG_YN_SEQ) {
      for (size_t i = 0; i < v->n; i++) {
        char *pi = dag_yaml_path_index(p, i);
        check_refs(ctx, dag, t, v->items[i], pi);
        free(pi);
      }
    } else if (v->kind == DAG_YN_MAP) {
      for (size_t i = 0; i < v->n / 2; i++) {
        char *pk = dag_yaml_path_key(p, DAG_YN_KEY(v, i)->value);
        check_refs(ctx, dag, t, DAG_YN_VAL(v, i), pk);
        free(pk);
      }
    }
    free(p);
  }
}

void dag__check_flow(struct loadctx *ctx, const struct dag *dag, const struct dag_ynode *tasks) {
  for (size_t i = 0; i < dag->n_tasks && i < tasks->n && !dag_yaml_saturated(&ctx->y); i++) {
    const struct dag_task *t = &dag->tasks[i];
    if (t->type != DAG_TASK_PLUGIN && tasks->items[i]->kind == DAG_YN_MAP) {
      char *tpath = dag__task_path(ctx, i);
      check_task_refs(ctx, dag, t, tasks->items[i], tpath);
      check_expand(ctx, dag, i, tasks->items[i], tpath);
      free(tpath);
    }
    const char *key = t->branch ? "branch" : t->short_circuit ? "short_circuit" : NULL;
    if (key == NULL || t->n_downstream > 0) continue;
    char *tpath = dag__task_path(ctx, i);
    char *p = dag_yaml_path_key(tpath, key);
    dag_yaml_err(&ctx->y, dag_yaml_get(tasks->items[i], key), p,
                 "task '%s' has no downstream tasks to %s (list it in their 'upstream')",
                 t->id ? t->id : "?", t->branch ? "choose from" : "skip");
    free(p);
    free(tpath);
  }
}
