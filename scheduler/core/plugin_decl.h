/* plugin_decl.h - what task plugins declare (tasks/include/dagctl/plugin.h),
 * as plain data the DAG loader checks tasks against: task types with their
 * parameters, copied out of the plugins, their JSON form (`dagctl plugins
 * --json`) and the catalog of every known type. Loading plugins is the
 * plugin host's (scheduler/plugin_host/plugins.h); nothing here dlopen()s. */
#ifndef DAG_PLUGIN_DECL_H
#define DAG_PLUGIN_DECL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dagctl/plugin.h"

/* A declared parameter (struct dagctl_param), copied. */
struct dag_plugin_param {
  char *name;
  enum dagctl_param_type type;
  unsigned flags;      /* DAGCTL_PARAM_* */
  char *default_value; /* NULL: none */
  char *description;   /* never NULL */
  /* Minor 4: the keys its mappings may hold (has_fields), owned. */
  bool has_fields;
  struct dag_plugin_param *fields;
  size_t n_fields;
  /* Minor 7: the values it may take, "a,b,c" (owned), or NULL: any. */
  char *choices;
};

/* The field `name` of a declared param with fields (borrowed), or NULL. */
const struct dag_plugin_param *dag_plugin_param_field(const struct dag_plugin_param *p,
                                                     const char *name);
/* Free what a copied param owns (not `p` itself). */
void dag_plugin_param_clear(struct dag_plugin_param *p);

/* A task type, copied out of the plugin so the object can be unloaded. */
struct dag_plugin_type {
  char *name;
  char *description;
  bool declared; /* params is all the type takes; false: anything goes */
  struct dag_plugin_param *params;
  size_t n_params;
  /* How the host runs it (dagctl/plugin.h, minor 2). rules_declared false:
   * a plugin built before, whose types may sense or serve unannounced. */
  bool rules_declared;
  unsigned flags;            /* DAGCTL_TYPE_*, DAG_TYPE_STOPS_SERVICE */
  char *poke_interval_param; /* a sensor's declared duration param, or NULL */
  char *stop_param;          /* DAG_TYPE_STOPS_SERVICE: the key naming the service */
};

/* A flag of the built-in types only, never of a plugin's: tasks of the type
 * stop the service task their `stop_param` key names. */
#define DAG_TYPE_STOPS_SERVICE 0x10000u

struct dag_plugin_info {
  char *path;
  char *name; /* NULL if the plugin could not be loaded */
  char *version;
  struct dag_plugin_type *types;
  size_t n_types;
  /* The sections of dagctl.yaml it declares (minor 3); owner is its name. */
  struct dag_config_section_decl *sections;
  size_t n_sections;
  char *error; /* why it could not be loaded (ABI mismatch, no entry point) */
};

void dag_plugins_free(struct dag_plugin_info *p, size_t n);

void dag_plugin_type_free(struct dag_plugin_type *t);

/* The declared parameter `name` of `t` (borrowed from `t`), or NULL. */
const struct dag_plugin_param *dag_plugin_type_param(const struct dag_plugin_type *t,
                                                    const char *name);

/* The same as JSON, as `dagctl plugins --json` prints it (new reference),
 * and back: 0 and *out (caller frees with dag_plugins_free()), or
 * DAG_EINVAL if `j` is not that shape. */
json_t *dag_plugins_to_json(const struct dag_plugin_info *p, size_t n);
int dag_plugins_from_json(const json_t *j, struct dag_plugin_info **out, size_t *n);

struct dag_plugin_catalog {
  struct dag_plugin_info *plugins;
  size_t n;
  /* For dag_plugin_catalog_update(): what was read, and when. */
  char *folder;
  int64_t stamp; /* the folder's modification time (ns) when read */
  bool loaded;   /* read (or tried) for this folder and stamp */
  bool usable;   /* and it worked: a failure is not retried until the
                  * folder changes */
  /* Every plugin's config sections, one per name, merged (identical
   * declarations from several plugins are one). */
  struct dag_config_section_decl *sections;
  size_t n_sections;
  /* Declarations of one section that differ, naming both plugins; NULL
   * when they all agree. */
  char *sections_error;
};

/* Merge the plugins' config sections into c->sections (after c->plugins
 * changed): the first declaration of a name counts, a different one from
 * another plugin is reported in c->sections_error. */
void dag_plugin_catalog_merge_sections(struct dag_plugin_catalog *c);

/* Empty the catalog's plugin list (the folder and stamp stay). */
void dag_plugin_catalog_clear(struct dag_plugin_catalog *c);
void dag_plugin_catalog_free(struct dag_plugin_catalog *c);

/* The type `name` (borrowed from the catalog, or static for a built-in
 * one), or NULL when no plugin provides it. `c` may be NULL: the built-in
 * types only. */
const struct dag_plugin_type *dag_plugin_catalog_find(const struct dag_plugin_catalog *c,
                                                      const char *name);
/* Every type name (borrowed), for did-you-mean. Caller frees the array. */
const char **dag_plugin_catalog_names(const struct dag_plugin_catalog *c, size_t *n);

#endif
