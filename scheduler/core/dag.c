/* dag.c - the DAG model's lookups and destructors (see dag.h). */
#include "dag.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dataset.h"

long dag_find_task(const struct dag *dag, const char *id) {
  /* While a file is checked, a task whose id was refused has none. */
  for (size_t i = 0; i < dag->n_tasks; i++)
    if (dag->tasks[i].id && strcmp(dag->tasks[i].id, id) == 0) return (long)i;
  return -1;
}

const char *dag_callback_name(enum dag_callback_event ev) {
  static const char *const names[DAG_CB__COUNT] = {"on_execute", "on_success", "on_failure",
                                                   "on_retry", "on_skipped"};
  return (unsigned)ev < DAG_CB__COUNT ? names[ev] : "?";
}

struct dag_callback *dag_callback_dup(const struct dag_callback *cb) {
  if (!cb) return NULL;
  struct dag_callback *c = xcalloc(1, sizeof(*c));
  c->command = cb->command ? xstrdup(cb->command) : NULL;
  if (cb->argv) {
    c->argv = xcalloc(cb->argc + 1, sizeof(*c->argv));
    for (size_t i = 0; i < cb->argc; i++) c->argv[i] = xstrdup(cb->argv[i]);
    c->argc = cb->argc;
  }
  return c;
}

void dag_callback_free(struct dag_callback *cb) {
  if (!cb) return;
  free(cb->command);
  for (size_t i = 0; i < cb->argc; i++) free(cb->argv[i]);
  free(cb->argv);
  free(cb);
}

void dag_task_args_free(struct dag_task_args *a) {
  for (size_t i = 0; i < a->n_email; i++) free(a->email[i]);
  free(a->email);
  a->email = NULL;
  a->n_email = 0;
  for (int i = 0; i < DAG_CB__COUNT; i++) {
    dag_callback_free(a->on[i]);
    a->on[i] = NULL;
  }
  free(a->pool);
  a->pool = NULL;
}

void dag_task_args_copy(struct dag_task_args *dst, const struct dag_task_args *src) {
  *dst = *src;
  dst->email = NULL;
  dst->pool = src->pool ? xstrdup(src->pool) : NULL;
  if (src->n_email > 0) {
    dst->email = xcalloc(src->n_email, sizeof(*dst->email));
    for (size_t i = 0; i < src->n_email; i++) dst->email[i] = xstrdup(src->email[i]);
  }
  for (int i = 0; i < DAG_CB__COUNT; i++) dst->on[i] = dag_callback_dup(src->on[i]);
}

static void task_free(struct dag_task *t) {
  free(t->id);
  free(t->type_name);
  free(t->command);
  if (t->argv) {
    for (size_t i = 0; i < t->argc; i++) free(t->argv[i]);
    free(t->argv);
  }
  for (size_t i = 0; i < t->n_env; i++) {
    free(t->env[i].name);
    free(t->env[i].value);
  }
  free(t->env);
  free(t->cwd);
  free(t->queue);
  for (size_t k = 0; k < t->n_expand; k++) {
    free(t->expand[k].name);
    json_decref(t->expand[k].list);
    free(t->expand[k].tmpl);
  }
  free(t->expand);
  dag_dataset_list_free(t->outlets, t->n_outlets);
  json_decref(t->config);
  free(t->upstream);
  free(t->downstream);
  dag_task_args_free(&t->args);
}

void dag_free(struct dag *dag) {
  if (dag == NULL) return;
  free(dag->dag_id);
  free(dag->file);
  free(dag->description);
  free(dag->schedule.expr);
  dag_dataset_list_free(dag->schedule.datasets, dag->schedule.n_datasets);
  free(dag->timezone);
  for (size_t i = 0; i < dag->n_tags; i++) free(dag->tags[i]);
  free(dag->tags);
  json_decref(dag->params);
  json_decref(dag->params_schema);
  dag_task_args_free(&dag->default_args);
  for (int i = 0; i < DAG_CB__COUNT; i++) dag_callback_free(dag->on[i]);
  for (size_t i = 0; i < dag->n_tasks; i++) task_free(&dag->tasks[i]);
  free(dag->tasks);
  free(dag->topo);
  for (size_t i = 0; i < dag->n_groups; i++) {
    free(dag->groups[i].id);
    free(dag->groups[i].label);
    free(dag->groups[i].tooltip);
  }
  free(dag->groups);
  for (size_t i = 0; i < dag->n_notify_email; i++) free(dag->notify_email[i]);
  free(dag->notify_email);
  for (size_t i = 0; i < dag->n_notify_hooks; i++) {
    free(dag->notify_hooks[i].format);
    free(dag->notify_hooks[i].url_connection);
  }
  free(dag->notify_hooks);
  free(dag);
}
