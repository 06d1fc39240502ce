/* dag_validate_callback.c - callback keys (Airflow's on_*_callback) of a
 * task, of default_args and of the DAG: a shell command (a string) or an
 * argv (a list of strings), each with templates checked as a task's
 * command and argv are. The engine runs them (sched_callback.c). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "template.h"

static bool check(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                  const char *text) {
  char *err = NULL;
  bool ok = dag_template_check(text, &err) == 0;
  if (!ok) dag_yaml_err(&ctx->y, n, path, "%s", err ? err : "invalid template");
  free(err);
  return ok;
}

static struct dag_callback *get_argv(struct loadctx *ctx, const struct dag_ynode *v,
                                     const char *path) {
  if (v->n == 0) {
    dag_yaml_err(&ctx->y, v, path, "must not be empty (a command, or an argv list)");
    return NULL;
  }
  struct dag_callback *cb = xcalloc(1, sizeof(*cb));
  cb->argv = xcalloc(v->n + 1, sizeof(*cb->argv));
  bool ok = true;
  for (size_t i = 0; i < v->n; i++) {
    char *p = dag_yaml_path_index(path, i);
    char *a = NULL;
    if (!dag_yaml_get_string(&ctx->y, v->items[i], p, &a)) {
      ok = false;
    } else if (i == 0 && *a == '\0') {
      dag_yaml_err(&ctx->y, v->items[i], p, "the program name must not be empty");
      ok = false;
    } else {
      ok = check(ctx, v->items[i], p, a) && ok;
    }
    if (a) cb->argv[cb->argc++] = a;
    free(p);
  }
  if (!ok) {
    dag_callback_free(cb);
    return NULL;
  }
  return cb;
}

void dag__get_callback(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                       struct dag_callback **out) {
  struct dag_callback *cb = NULL;
  if (v->kind == DAG_YN_SEQ) {
    cb = get_argv(ctx, v, path);
  } else if (v->kind == DAG_YN_SCALAR) {
    char *cmd = NULL;
    if (!dag_yaml_get_string(&ctx->y, v, path, &cmd)) return;
    if (*cmd == '\0') {
      dag_yaml_err(&ctx->y, v, path, "must not be empty (a command, or an argv list)");
      free(cmd);
      return;
    }
    if (!check(ctx, v, path, cmd)) {
      free(cmd);
      return;
    }
    cb = xcalloc(1, sizeof(*cb));
    cb->command = cmd;
  } else {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, path,
                 "expected a command (a string) or an argv (a list of strings), got %s", got);
    free(got);
    return;
  }
  if (!cb) return;
  /* A task's callback replaces the one default_args gave it. */
  dag_callback_free(*out);
  *out = cb;
}

bool dag__callback_key(const char *key, enum dag_callback_event *ev, bool *airflow_name) {
  for (int i = 0; i < DAG_CB__COUNT; i++) {
    const char *name = dag_callback_name((enum dag_callback_event)i);
    size_t n = strlen(name);
    if (strncmp(key, name, n) != 0) continue;
    if (key[n] == '\0' || strcmp(key + n, "_callback") == 0) {
      *ev = (enum dag_callback_event)i;
      *airflow_name = key[n] != '\0';
      return true;
    }
  }
  return false;
}
