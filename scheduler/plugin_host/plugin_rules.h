/* plugin_rules.h - how the engine runs plugin tasks, from what each type
 * declares (dagctl/plugin.h, minor 2) rather than from type names: the
 * exit codes of a plugin task's child, a sensor's poke interval, which
 * types may reschedule, which type stops a service. The engine asks these
 * with the type the catalog holds (dag_plugin_catalog_find()). */
#ifndef DAG_PLUGIN_RULES_H
#define DAG_PLUGIN_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "plugin_decl.h"

/* Exit codes of `dagctl __task` (the child running one plugin task)
 * beyond 0 (DAGCTL_OK) and 1 (DAGCTL_FAILED). */
#define DAG_PLUGIN_EXIT_NOT_YET 100 /* DAGCTL_NOT_YET: a sensor pokes again later */
#define DAG_PLUGIN_EXIT_SKIP 101    /* DAGCTL_SKIP */

/* The poke interval of a sensor that declares none (dagctl/plugin.h). */
#define DAG_PLUGIN_POKE_DEFAULT_S 60

/* Whether a task of `type` may answer "not yet": a declared sensor, or a
 * type of a plugin built before the declarations (minor 2), or one the
 * catalog does not know (NULL), which are trusted as before. */
bool dag_plugin_may_reschedule(const struct dag_plugin_type *type);

/* Whether a task of `type` may call service_ready(): a declared service,
 * or, as above, a type declaring nothing or unknown. */
bool dag_plugin_may_serve(const struct dag_plugin_type *type);

/* A sensor task's time between pokes in microseconds: its declared
 * poke_interval_param as set in `config` (the task's plugin keys, may be
 * NULL), else that parameter's declared default; for a type declaring no
 * such parameter, the `poke_interval` key; else DAG_PLUGIN_POKE_DEFAULT_S.
 * A value that is not a duration (a {{ }} template, which the plugin sees
 * rendered) counts as unset. */
int64_t dag_plugin_poke_interval(const struct dag_plugin_type *type, const json_t *config);

/* The key naming the service task that tasks of `type` stop, or NULL when
 * the type stops none (`type` may be NULL). */
const char *dag_plugin_stop_key(const struct dag_plugin_type *type);

#endif
