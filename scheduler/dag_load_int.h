/* dag_load_int.h - shared between dag_load.c (YAML -> node tree, typed
 * access) and dag_validate.c (the DAG schema and its graph checks).
 * Not a public interface. */
#ifndef DAG_DAG_LOAD_INT_H
#define DAG_DAG_LOAD_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dag.h"
#include "dag_load.h"
#include "diag.h"

/* A YAML node. Aliases make the tree a DAG (an aliased node has several
 * parents), so nodes are owned by the loader's arena, never by a parent.
 * Mappings hold key/value pairs with duplicates already reported and dropped,
 * and merge keys ("<<: *base") already applied. */
enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

struct ynode {
  enum ynode_kind kind;
  int line; /* 1-based */
  int col;
  bool quoted; /* scalar: quoted, block or !!str: always a string */
  char *value; /* scalar text, NUL-terminated */
  size_t len;  /* scalar length (the text may hold NUL bytes) */
  struct ynode **items; /* SEQ: n items; MAP: n pairs as key0, val0, key1, ... */
  size_t n;
  size_t cap;
  size_t weight; /* nodes in this subtree, counting aliased ones each time */
};

#define YN_KEY(map, i) ((map)->items[2 * (i)])
#define YN_VAL(map, i) ((map)->items[2 * (i) + 1])

/* The plain-scalar types of YAML 1.2's core schema. */
enum yscalar { YS_NULL, YS_BOOL, YS_INT, YS_FLOAT, YS_STR };

struct loadctx {
  const char *file;
  struct dag_diags *diags;
  size_t diags_start; /* diags->n when loading began */
  const struct dag_load_options *opts;
  int errors;
  bool cycle; /* a dependency cycle was among the errors */
};

/* Add "PATH: message" at `at` (NULL: the whole file). An empty path leaves
 * the prefix out. */
void dag__err(struct loadctx *ctx, const struct ynode *at, const char *path,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* True once more errors were found than are shown: callers may stop. */
bool dag__err_saturated(const struct loadctx *ctx);

/* "prefix.key", or "key" when prefix is empty; caller frees. */
char *dag__path_key(const char *prefix, const char *key);
/* "prefix[i]"; caller frees. */
char *dag__path_index(const char *prefix, size_t i);

enum yscalar dag__scalar_type(const struct ynode *n);
bool dag__is_null(const struct ynode *n);

/* Typed getters: on a type or range error they report it at `n` under `path`
 * and return false, leaving *out unchanged. */
bool dag__get_int(struct loadctx *ctx, const struct ynode *n, const char *path,
                  long long min, long long max, int *out);
bool dag__get_bool(struct loadctx *ctx, const struct ynode *n, const char *path,
                   bool *out);
/* Any non-null scalar, as written. *out: caller frees. */
bool dag__get_string(struct loadctx *ctx, const struct ynode *n, const char *path,
                     char **out);
bool dag__get_duration(struct loadctx *ctx, const struct ynode *n, const char *path,
                       int64_t *out);
/* Any node as JSON (see the README's params rules); NULL after an error. */
json_t *dag__to_json(struct loadctx *ctx, const struct ynode *n, const char *path);
/* "'abc'", "a list", "null", ... for "expected X, got Y"; caller frees. */
char *dag__describe(const struct ynode *n);

/* Report `key` as unknown, suggesting the closest of `known` and, failing
 * that, a hint for keys from Airflow's Python API. */
void dag__unknown_key(struct loadctx *ctx, const struct ynode *key, const char *path,
                      const char *const *known, size_t n_known);

/* String -> size_t hash map with borrowed keys, for task ids and anchors. */
struct strmap {
  const char **keys;
  size_t *vals;
  size_t cap; /* a power of two, or 0 */
  size_t n;
};

/* Insert key -> val unless present. Returns true if inserted; false if the
 * key was there already, with its value in *old. */
bool dag__strmap_add(struct strmap *m, const char *key, size_t val, size_t *old);
/* Insert or replace. */
void dag__strmap_set(struct strmap *m, const char *key, size_t val);
bool dag__strmap_get(const struct strmap *m, const char *key, size_t *val);
void dag__strmap_free(struct strmap *m);

/* A plugin task's type and params against ctx->opts->plugins, if given
 * (dag_validate_plugin.c). `task_keys` are the keys every task may have,
 * for did-you-mean. */
void dag__check_plugin_task(struct loadctx *ctx, const struct ynode *item, const char *tpath,
                            const struct ynode *type_node, const char *const *task_keys,
                            size_t n_task_keys, const struct dag_task *t);

/* The schema: fill a new DAG from the root node. Errors go to ctx; returns
 * the DAG only when ctx->errors is still 0 afterwards, NULL otherwise. */
struct dag *dag__build(struct loadctx *ctx, const struct ynode *root);

#endif
