/* dag_load_int.h - shared between dag_load.c (entry points, key hints) and
 * dag_validate.c (the DAG schema and its graph checks), over the YAML layer
 * of yaml_doc.h. Not a public interface. */
#ifndef DAG_DAG_LOAD_INT_H
#define DAG_DAG_LOAD_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dag.h"
#include "dag_load.h"
#include "diag.h"
#include "strmap.h"
#include "yaml_doc.h"

struct loadctx {
  struct dag_yaml_ctx y; /* the file's diagnostics */
  const struct dag_load_options *opts;
  bool cycle; /* a dependency cycle was among the errors */
  /* Borrowed, once the tasks are gathered: the path of task i in
   * diagnostics ("tasks[2]", "groups[0].tasks[1]"). */
  char *const *task_paths;
};

/* The path of task i (caller frees). */
char *dag__task_path(const struct loadctx *ctx, size_t i);

/* An upstream reference as written, kept until every id is known. */
struct dag__upref {
  const struct dag_ynode *node;
  const char *owner; /* borrowed: the path of the task or group listing it */
  size_t index;      /* in the upstream list, or SIZE_MAX for `upstream: a` */
};

/* A task or a group as the file declares it. */
struct dag__item {
  const struct dag_ynode *node; /* its mapping */
  char *path;                   /* owned */
  size_t group;                 /* 1 + index of the group holding it; 0: none */
  struct dag__upref *refs;      /* owned: its upstream as written */
  size_t n_refs;
};

/* Every task and group of the file (dag_validate_group.c). Tasks are in
 * the order of the file; groups in dag->groups' order. */
struct dag__layout {
  struct dag__item *tasks;
  size_t n_tasks;
  struct dag__item *groups;
  size_t n_groups;
  struct dag_task_args *args; /* per group: the default_args its tasks start from */
};

/* `upstream:` at `v` (a name or a list of them) into it->refs. */
void dag__get_upstream(struct loadctx *ctx, const struct dag_ynode *v, struct dag__item *it);
/* default_args-style keys of the mapping `v` over *a (dag_validate.c). */
void dag__get_args(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                   struct dag_task_args *a);
/* Gather the top-level `tasks` (NULL if absent) and `groups` (NULL if
 * absent) into *lay and dag->groups, checking the groups' keys. */
void dag__layout_read(struct loadctx *ctx, struct dag *dag, const struct dag_ynode *tasks,
                      const struct dag_ynode *groups, struct dag__layout *lay);
void dag__layout_free(struct dag__layout *lay, size_t n_groups);
/* The id a task or group labelled `label` gets inside group `group` (1 +
 * index, 0: none), as Airflow's TaskGroup.child_id(). Caller frees. */
char *dag__child_id(const struct dag *dag, size_t group, const char *label);

/* An edge of the task graph and the reference it comes from. */
struct dag__edge {
  const struct dag__upref *ref;
  size_t via; /* 1 + index of the group it goes through; 0: none */
};

/* Resolve every upstream reference (task ids, `ids`, and group ids),
 * expanding groups to their roots and leaves as Airflow does; fill each
 * task's upstream and downstream lists, and edges[i] aligned with
 * dag->tasks[i].upstream (owned, free each and the array). */
void dag__link(struct loadctx *ctx, struct dag *dag, const struct dag__layout *lay,
               const struct dag_strmap *ids, struct dag__edge ***edges);

/* Report `key` as unknown, suggesting the closest of `known` and, failing
 * that, a hint for keys from Airflow's Python API. */
void dag__unknown_key(struct loadctx *ctx, const struct dag_ynode *key, const char *path,
                      const char *const *known, size_t n_known);

/* A plugin task's type and params against ctx->opts->plugins, if given
 * (dag_validate_plugin.c). `task_keys` are the keys every task may have,
 * for did-you-mean. */
void dag__check_plugin_task(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                            const struct dag_ynode *type_node, const char *const *task_keys,
                            size_t n_task_keys, const struct dag_task *t);

/* Once every task is read (`tasks` the YAML list, `ids` task id -> index):
 * a task of a type that stops a service (stop_service) must name a task of
 * this DAG that is one, as far as the catalog knows (dag_validate_plugin.c). */
struct dag_strmap;
void dag__check_stop_services(struct loadctx *ctx, const struct dag *dag,
                              const struct dag_ynode *tasks, const struct dag_strmap *ids);

/* Control flow (dag_validate_flow.c): a task's xcom_push, branch,
 * short_circuit and ignore_downstream_trigger_rules into `t`; once every
 * task is linked, what needs the graph (a branch needs downstream tasks). */
void dag__get_flow_keys(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                        struct dag_task *t);
void dag__check_flow(struct loadctx *ctx, const struct dag *dag, const struct dag_ynode *tasks);
/* trigger_dag and external_task tasks naming a DAG id the folder does not
 * have: warnings, when ctx->opts knows the folder's ids
 * (dag_validate_dagref.c). */
void dag__check_dag_refs(struct loadctx *ctx, const struct dag *dag,
                         const struct dag_ynode *tasks);
/* A task's `expand:` (node `v`) into t->expand (dag_validate_flow.c); the
 * XComs its templates read are checked by dag__check_flow(). */
void dag__get_expand(struct loadctx *ctx, const struct dag_ynode *v, const char *tpath,
                     struct dag_task *t);
/* A list of dataset URIs at `v` into *out (owned, *n_out of them), each
 * checked (dataset.h) and reported where it is (dag_validate_dataset.c). */
void dag__get_datasets(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                       char ***out, size_t *n_out);

/* A DAG's `deadline: {after, within}` at `v` into dag->deadline_*
 * (dag_validate_deadline.c). */
void dag__get_deadline(struct loadctx *ctx, const struct dag_ynode *v, struct dag *dag);
/* A callback at `v` (dag_validate_callback.c): a command or an argv, its
 * templates checked; on success it replaces *out (owned). */
void dag__get_callback(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                       struct dag_callback **out);
/* Whether `key` names a callback, by dagctl's short name ("on_failure") or
 * Airflow's ("on_failure_callback"): its event, and which name it was. */
bool dag__callback_key(const char *key, enum dag_callback_event *ev, bool *airflow_name);

/* A DAG's `notify:` list at `v` into dag->notify_* (dag_validate_notify.c). */
void dag__get_notify(struct loadctx *ctx, const struct dag_ynode *v, struct dag *dag);

/* The schema: fill a new DAG from the root node. Errors go to ctx; returns
 * the DAG only when ctx->y.errors is still 0 afterwards, NULL otherwise. */
struct dag *dag__build(struct loadctx *ctx, const struct dag_ynode *root);

#endif
