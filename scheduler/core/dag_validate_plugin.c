/* dag_validate_plugin.c - a plugin task's type and params against what the
 * installed plugins declare (dagctl/plugin.h, plugins.h), when the loader
 * was given the catalog: unknown types and keys with a did-you-mean,
 * required params, types, and template syntax, each at its FILE:LINE:COL.
 * Plugins that declare nothing are not checked: their params go to them as
 * written, as before ABI minor 1. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "didyoumean.h"
#include "plugin_decl.h"
#include "plugin_params.h"
#include "strmap.h"
#include "template.h"

/* Every template in the strings of `n`, checked like a shell task's. */
static void check_templates(struct loadctx *ctx, const struct dag_ynode *n, const char *path) {
  if (n->kind == DAG_YN_SCALAR) {
    char *err = NULL;
    if (dag_yaml_scalar_type(n) == DAG_YS_STR && dag_template_check(n->value, &err) != 0)
      dag_yaml_err(&ctx->y, n, path, "%s", err ? err : "invalid template");
    free(err);
    return;
  }
  for (size_t i = 0; i < (n->kind == DAG_YN_MAP ? n->n / 2 : n->n); i++) {
    const struct dag_ynode *item = n->kind == DAG_YN_MAP ? DAG_YN_VAL(n, i) : n->items[i];
    char *p = n->kind == DAG_YN_MAP ? dag_yaml_path_key(path, DAG_YN_KEY(n, i)->value)
                                : dag_yaml_path_index(path, i);
    check_templates(ctx, item, p);
    free(p);
  }
}

static void check_value(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                        const struct dag_plugin_param *p);

/* The keys of mapping `m` against the fields `p` declares (minor 4). */
static void check_fields(struct loadctx *ctx, const struct dag_ynode *m, const char *path,
                         const struct dag_plugin_param *p) {
  const char **known = xcalloc(p->n_fields ? p->n_fields : 1, sizeof(*known));
  for (size_t i = 0; i < p->n_fields; i++) known[i] = p->fields[i].name;
  for (size_t i = 0; i < m->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(m, i), *v = DAG_YN_VAL(m, i);
    const struct dag_plugin_param *f = dag_plugin_param_field(p, k->value);
    if (f == NULL) {
      dag__unknown_key(ctx, k, path, known, p->n_fields);
      continue;
    }
    if (dag_yaml_is_null(v)) continue;
    char *fpath = dag_yaml_path_key(path, k->value);
    check_value(ctx, v, fpath, f);
    free(fpath);
  }
  free(known);
  for (size_t i = 0; i < p->n_fields; i++) {
    const struct dag_plugin_param *f = &p->fields[i];
    const struct dag_ynode *v = dag_yaml_get(m, f->name);
    if (!(f->flags & DAGCTL_PARAM_REQUIRED) || (v && !dag_yaml_is_null(v))) continue;
    char *fpath = dag_yaml_path_key(path, f->name);
    dag_yaml_err(&ctx->y, m, fpath, "required key is missing (%s needs it)", path);
    free(fpath);
  }
}

/* A scalar, or each scalar item of a list, against `choices` (minor 7); a
 * template is checked once rendered. */
static void check_choices(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                          const char *choices) {
  if (v->kind == DAG_YN_SEQ) {
    for (size_t i = 0; i < v->n; i++) {
      char *ipath = dag_yaml_path_index(path, i);
      check_choices(ctx, v->items[i], ipath, choices);
      free(ipath);
    }
    return;
  }
  char *err = NULL;
  if (v->kind == DAG_YN_SCALAR && !strstr(v->value, "{{") &&
      dag_param_check_choice(choices, v->value, &err) != 0)
    dag_yaml_err(&ctx->y, v, path, "%s", err);
  free(err);
}

static void check_value(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                        const struct dag_plugin_param *p) {
  if (!(p->flags & DAGCTL_PARAM_VERBATIM) && !p->has_fields) check_templates(ctx, v, path);
  if (p->type == DAGCTL_PARAM_ANY) return;
  /* A template stands for any type: the host checks it once rendered. */
  if (v->kind == DAG_YN_SCALAR && !(p->flags & DAGCTL_PARAM_VERBATIM) && strstr(v->value, "{{")) {
    if (p->has_fields) check_templates(ctx, v, path);
    return;
  }
  bool ok;
  if (p->type == DAGCTL_PARAM_LIST)
    ok = v->kind == DAG_YN_SEQ;
  else if (p->type == DAGCTL_PARAM_MAPPING)
    ok = v->kind == DAG_YN_MAP;
  else if (v->kind != DAG_YN_SCALAR)
    ok = false;
  else
    ok = dag_param_check_text(p->type, v->value, NULL) == 0;
  if (ok && p->choices) check_choices(ctx, v, path, p->choices);
  if (ok && p->has_fields) {
    /* The fields' own checks cover their templates. */
    if (v->kind == DAG_YN_MAP) check_fields(ctx, v, path, p);
    for (size_t i = 0; v->kind == DAG_YN_SEQ && i < v->n; i++) {
      char *ipath = dag_yaml_path_index(path, i);
      if (v->items[i]->kind == DAG_YN_MAP) {
        check_fields(ctx, v->items[i], ipath, p);
      } else {
        char *got = dag_yaml_describe(v->items[i]);
        dag_yaml_err(&ctx->y, v->items[i], ipath, "expected a mapping, got %s", got);
        free(got);
      }
      free(ipath);
    }
  }
  if (ok) return;
  char *got = dag_yaml_describe(v);
  dag_yaml_err(&ctx->y, v, path, "expected %s, got %s", dag_param_type_name(p->type), got);
  free(got);
}

void dag__check_plugin_task(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                            const struct dag_ynode *type_node, const char *const *task_keys,
                            size_t n_task_keys, const struct dag_task *t) {
  const struct dag_plugin_catalog *cat = ctx->opts->plugins;
  if (cat == NULL || t->type_name == NULL || t->config == NULL) return;
  const struct dag_plugin_type *type = dag_plugin_catalog_find(cat, t->type_name);
  if (type == NULL) {
    size_t n = 0;
    const char **names = dag_plugin_catalog_names(cat, &n);
    const char *best = dag_did_you_mean(t->type_name, names, n);
    char *p = dag_yaml_path_key(tpath, "type");
    if (best)
      dag_yaml_err(&ctx->y, type_node, p, "unknown task type '%s' (did you mean '%s'?)", t->type_name,
               best);
    else
      dag_yaml_err(&ctx->y, type_node, p,
               "unknown task type '%s': no installed plugin provides it (see dagctl plugins)",
               t->type_name);
    free(p);
    free(names);
    return;
  }
  if (!type->declared) return;

  /* Did-you-mean looks at the type's params and the task keys alike: a
   * misspelt `retries` is as likely as a misspelt `poke_interval`. */
  size_t n_known = type->n_params + n_task_keys;
  const char **known = xcalloc(n_known ? n_known : 1, sizeof(*known));
  for (size_t i = 0; i < type->n_params; i++) known[i] = type->params[i].name;
  for (size_t i = 0; i < n_task_keys; i++) known[type->n_params + i] = task_keys[i];
  for (size_t i = 0; i < item->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(item, i), *v = DAG_YN_VAL(item, i);
    if (json_object_get(t->config, k->value) == NULL) continue; /* the host's key */
    const struct dag_plugin_param *p = dag_plugin_type_param(type, k->value);
    if (p == NULL) {
      dag__unknown_key(ctx, k, tpath, known, n_known);
      continue;
    }
    if (dag_yaml_is_null(v)) continue;
    char *path = dag_yaml_path_key(tpath, k->value);
    check_value(ctx, v, path, p);
    free(path);
  }
  free(known);
  for (size_t i = 0; i < type->n_params; i++) {
    const struct dag_plugin_param *p = &type->params[i];
    const json_t *v = json_object_get(t->config, p->name);
    if (!(p->flags & DAGCTL_PARAM_REQUIRED) || (v && !json_is_null(v))) continue;
    char *path = dag_yaml_path_key(tpath, p->name);
    dag_yaml_err(&ctx->y, item, path, "required key is missing (task type %s needs it)", type->name);
    free(path);
  }
}

/* Why task `svc` cannot be stopped as a service, or NULL when it can (or
 * the catalog cannot tell: a type of a plugin built before ABI minor 2). */
static char *not_a_service(const struct dag_plugin_catalog *cat, const struct dag_task *svc) {
  if (svc->type != DAG_TASK_PLUGIN)
    return xasprintf("task '%s' is not a service (a %s task)", svc->id,
                     svc->type == DAG_TASK_EXEC ? "exec" : "shell");
  const struct dag_plugin_type *type = svc->type_name ? dag_plugin_catalog_find(cat, svc->type_name)
                                                      : NULL;
  if (type == NULL || !type->rules_declared || (type->flags & DAGCTL_TYPE_SERVICE)) return NULL;
  return xasprintf("task '%s' is not a service (type %s is not declared one)", svc->id,
                   type->name);
}

void dag__check_stop_services(struct loadctx *ctx, const struct dag *dag,
                              const struct dag_ynode *tasks, const struct dag_strmap *ids) {
  const struct dag_plugin_catalog *cat = ctx->opts->plugins;
  if (cat == NULL) return;
  for (size_t i = 0; i < dag->n_tasks && i < tasks->n && !dag_yaml_saturated(&ctx->y); i++) {
    const struct dag_task *t = &dag->tasks[i];
    if (t->type != DAG_TASK_PLUGIN || t->type_name == NULL) continue;
    const struct dag_plugin_type *type = dag_plugin_catalog_find(cat, t->type_name);
    if (type == NULL || !(type->flags & DAG_TYPE_STOPS_SERVICE) || !type->stop_param) continue;
    const struct dag_ynode *v = tasks->items[i]->kind == DAG_YN_MAP
                                    ? dag_yaml_get(tasks->items[i], type->stop_param)
                                    : NULL;
    if (v == NULL || v->kind != DAG_YN_SCALAR || dag_yaml_is_null(v)) continue; /* required */
    char *tpath = dag__task_path(ctx, i);
    char *path = dag_yaml_path_key(tpath, type->stop_param);
    size_t j;
    char *why = NULL;
    if (!dag_strmap_get(ids, v->value, &j))
      why = xasprintf("unknown task '%s'", v->value);
    else if (j == i)
      why = xasprintf("task '%s' cannot stop itself", v->value);
    else
      why = not_a_service(cat, &dag->tasks[j]);
    if (why) dag_yaml_err(&ctx->y, v, path, "%s", why);
    free(why);
    free(path);
    free(tpath);
  }
}
