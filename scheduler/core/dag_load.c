/* dag_load.c - YAML DAG files -> struct dag.
 *
 * The text becomes a node tree through the YAML layer (yaml_doc.h), which
 * holds the limits that keep hostile files harmless and handles duplicate
 * and merge keys; the schema is applied to the tree by dag_validate.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load.h"
#include "dag_load_int.h"
#include "didyoumean.h"
#include "error.h"

static const struct dag_yaml_options yaml_options = {.what = "DAG file"};

/* Keys from Airflow's Python API that people carry over, and what to write
 * instead, for when did-you-mean has nothing close. */
static const struct {
  const char *key;
  const char *hint;
} key_hints[] = {
    {"schedule_interval", "use 'schedule'"},
    {"task_id", "use 'id'"},
    {"bash_command", "use 'command'"},
    {"depends_on", "use 'upstream'"},
    {"dependencies", "use 'upstream'"},
    {"downstream", "list this task in the other task's 'upstream' instead"},
    /* Met only where they are unknown: at the top of the file. */
    {"on_execute_callback", "a task's callback: set it in a task or in default_args"},
    {"on_retry_callback", "a task's callback: set it in a task or in default_args"},
    {"on_skipped_callback", "a task's callback: set it in a task or in default_args"},
    {"on_execute", "a task's callback: set it in a task or in default_args"},
    {"on_retry", "a task's callback: set it in a task or in default_args"},
    {"on_skipped", "a task's callback: set it in a task or in default_args"},
};

void dag__unknown_key(struct loadctx *ctx, const struct dag_ynode *key, const char *path,
                      const char *const *known, size_t n_known) {
  char *p = dag_yaml_path_key(path, key->value);
  const char *hint = NULL;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(key_hints); i++)
    if (strcmp(key->value, key_hints[i].key) == 0) hint = key_hints[i].hint;
  const char *best = hint || dag_yaml_saturated(&ctx->y)
                         ? NULL
                         : dag_did_you_mean(key->value, known, n_known);
  if (best)
    dag_yaml_err(&ctx->y, key, p, "unknown key '%s' (did you mean '%s'?)", key->value, best);
  else if (hint)
    dag_yaml_err(&ctx->y, key, p, "unknown key '%s' (%s)", key->value, hint);
  else
    dag_yaml_err(&ctx->y, key, p, "unknown key '%s'", key->value);
  free(p);
}

/* --- entry points ---------------------------------------------------------- */

/* The schema over a parsed document; the result as dag_load_buffer's. */
static int build(struct loadctx *ctx, int rc, const struct dag_ydoc *doc, const char *name,
                 struct dag **out) {
  if (rc) return rc;
  struct dag *dag = dag__build(ctx, doc->root);
  if (ctx->y.errors) {
    dag_free(dag);
    return ctx->cycle && ctx->y.errors == 1 ? DAG_ECYCLE : DAG_EINVAL;
  }
  dag->file = xstrdup(name);
  *out = dag;
  return 0;
}

int dag_load_buffer(const char *name, const char *buf, size_t len,
                    const struct dag_load_options *opts, struct dag **out,
                    struct dag_diags *diags) {
  static const struct dag_load_options no_opts;
  struct loadctx ctx = {.opts = opts ? opts : &no_opts};
  struct dag_ydoc doc;
  *out = NULL;
  dag_yaml_ctx_init(&ctx.y, name, diags);
  int rc = dag_yaml_parse(&ctx.y, buf, len, &yaml_options, &doc);
  rc = build(&ctx, rc, &doc, name, out);
  dag_yaml_ctx_finish(&ctx.y);
  dag_ydoc_free(&doc);
  return rc;
}

int dag_load_file(const char *path, const struct dag_load_options *opts,
                  struct dag **out, struct dag_diags *diags) {
  static const struct dag_load_options no_opts;
  struct loadctx ctx = {.opts = opts ? opts : &no_opts};
  struct dag_ydoc doc;
  *out = NULL;
  dag_yaml_ctx_init(&ctx.y, path, diags);
  int rc = dag_yaml_parse_file(&ctx.y, path, &yaml_options, &doc);
  rc = build(&ctx, rc, &doc, path, out);
  dag_yaml_ctx_finish(&ctx.y);
  dag_ydoc_free(&doc);
  return rc;
}

int dag_load_file_text(const char *path, const struct dag_load_options *opts,
                       struct dag **out, struct dag_diags *diags, char **text) {
  char *buf = NULL;
  size_t len = 0;
  *text = NULL;
  /* A file that cannot be read: the loader says why, with its usual words. */
  if (dag_yaml_read_file(path, &buf, &len) != 0) return dag_load_file(path, opts, out, diags);
  int rc = dag_load_buffer(path, buf, len, opts, out, diags);
  buf = xrealloc(buf, len + 1);
  buf[len] = '\0';
  *text = buf;
  return rc;
}
