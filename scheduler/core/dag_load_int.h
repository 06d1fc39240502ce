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
};

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
/* A list of dataset URIs at `v` into *out (owned, *n_out of them), each
 * checked (dataset.h) and reported where it is (dag_validate_dataset.c). */
void dag__get_datasets(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                       char ***out, size_t *n_out);

/* The schema: fill a new DAG from the root node. Errors go to ctx; returns
 * the DAG only when ctx->y.errors is still 0 afterwards, NULL otherwise. */
struct dag *dag__build(struct loadctx *ctx, const struct dag_ynode *root);

#endif
