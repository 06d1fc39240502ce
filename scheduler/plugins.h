/* plugins.h - finding and loading task plugins (tasks/include/dagctl/plugin.h).
 *
 * Only child processes and the CLI load plugins: the scheduler never
 * dlopen()s one, so a plugin's constructor, crash or leak cannot reach it. */
#ifndef DAG_PLUGINS_H
#define DAG_PLUGINS_H

#include <jansson.h>
#include <stddef.h>

#include "dagctl/plugin.h"

/* The folder holding plugins: `configured` if set, else "plugins" beside
 * the running dagctl binary. Caller frees. */
char *dag_plugins_folder(const char *configured);

struct dag_plugin_info {
  char *path;
  char *name;    /* NULL if the plugin could not be loaded */
  char *version;
  char **types;  /* task type names */
  char **descriptions;
  size_t n_types;
  char *error;   /* why it could not be loaded (ABI mismatch, no entry point) */
};

/* Load every *.so in `folder` to describe it (the CLI's `dagctl plugins`). */
int dag_plugins_scan(const char *folder, struct dag_plugin_info **out, size_t *n);
void dag_plugins_free(struct dag_plugin_info *p, size_t n);

/* Load the plugin that provides task type `type`. The shared object stays
 * loaded for the life of the process. Returns 0, or DAG_ENOTFOUND /
 * DAG_EINVAL with *err naming the installed types or the ABI problem
 * (caller frees). */
int dag_plugin_load_type(const char *folder, const char *type,
                         const struct dagctl_task_type **out, char **err);

/* Render the {{ }} templates in every string of a plugin task's params
 * (`params` is the task's mapping; strings nested in lists and mappings
 * too, keys never), in place, with the same context as a shell task's
 * templates but without shell quoting. Returns 0, or DAG_ETEMPLATE with
 * *err "param NAME: message" (caller frees). */
struct dag_template_ctx;
int dag_plugin_render_params(json_t *params, const struct dag_template_ctx *ctx, char **err);

#endif
