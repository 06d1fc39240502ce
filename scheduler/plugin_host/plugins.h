/* plugins.h - finding and loading task plugins (tasks/include/dagctl/plugin.h),
 * and what they declare about their parameters.
 *
 * Only child processes and the CLI load plugins: the scheduler never
 * dlopen()s one, so a plugin's constructor, crash or leak cannot reach it.
 * The scheduler learns the declarations through a child that prints them
 * (`dagctl plugins --json`), kept in a catalog (below). */
#ifndef DAG_PLUGINS_H
#define DAG_PLUGINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dagctl/plugin.h"
#include "plugin_decl.h"

/* The folder holding plugins: `configured` if set, else "plugins" beside
 * the running dagctl binary. Caller frees. */
char *dag_plugins_folder(const char *configured);

/* Load every *.so in `folder` to describe it (the CLI's `dagctl plugins`).
 * *out: caller frees with dag_plugins_free(). */
int dag_plugins_scan(const char *folder, struct dag_plugin_info **out, size_t *n);

/* Copy what `t` declares (read behind its size: a plugin built before ABI
 * minor 1 declares nothing). Free with dag_plugin_type_free(). */
void dag_plugin_type_describe(const struct dagctl_task_type *t, struct dag_plugin_type *out);
/* Load the plugin that provides task type `type`. The shared object stays
 * loaded for the life of the process. Returns 0, or DAG_ENOTFOUND /
 * DAG_EINVAL with *err naming the installed types or the ABI problem
 * (caller frees). */
int dag_plugin_load_type(const char *folder, const char *type,
                         const struct dagctl_task_type **out, char **err);
/* The same, and copies of the config sections that plugin declares
 * (*sections: caller frees each with dag_config_section_decl_free(), then
 * the array; none before ABI minor 3). */
int dag_plugin_load_type_sections(const char *folder, const char *type,
                                  const struct dagctl_task_type **out,
                                  struct dag_config_section_decl **sections,
                                  size_t *n_sections, char **err);

/* --- the catalog: every type the loader may meet ------------------------- */

/* The installed plugins' types, plus the types the scheduler itself runs
 * (stop_service), for the DAG loader's checks. */
/* Fill the catalog by loading the plugins of `folder` here (the CLI).
 * Returns 0 (a folder that does not exist is an empty catalog). */
int dag_plugin_catalog_scan(struct dag_plugin_catalog *c, const char *folder);

/* Keep the catalog in step with `folder` without loading a plugin in this
 * process: when the folder changed since the last read (or was never
 * read), run `argv` (a dagctl that prints `plugins --json`; argv[0] is the
 * program) and read its output. Blocks for that child (tens of
 * milliseconds, at most 10 s), so only when the folder changed. Returns
 * the catalog, or NULL when it cannot be read (plugin tasks then go
 * unchecked), with *err saying why (caller frees). */
const struct dag_plugin_catalog *dag_plugin_catalog_update(struct dag_plugin_catalog *c,
                                                           const char *folder,
                                                           char *const argv[], char **err);
/* The same for the plugins folder of `cfg`, through `exe --home ... plugins
 * --json` (the scheduler's way). */
struct dag_config;
const struct dag_plugin_catalog *dag_plugin_catalog_update_cfg(struct dag_plugin_catalog *c,
                                                               const char *exe,
                                                               const struct dag_config *cfg,
                                                               char **err);
#endif
