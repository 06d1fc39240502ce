/* plugin_decl.c - what plugins declare, as data: copies of their task
 * types and parameters, their JSON form and the catalog (see
 * plugin_decl.h). Nothing here loads a plugin. */
#include "plugin_decl.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "common.h"
#include "error.h"
#include "plugin_params.h"
#include "strbuf.h"

void dag_plugin_param_clear(struct dag_plugin_param *p) {
  for (size_t i = 0; i < p->n_fields; i++)
    dag_plugin_param_clear(&p->fields[i]);
  free(p->fields);
  free(p->name);
  free(p->default_value);
  free(p->description);
  free(p->choices);
  memset(p, 0, sizeof(*p));
}

const struct dag_plugin_param *dag_plugin_param_field(const struct dag_plugin_param *p,
                                                     const char *name) {
  for (size_t i = 0; i < p->n_fields; i++)
    if (strcmp(p->fields[i].name, name) == 0) return &p->fields[i];
  return NULL;
}

void dag_plugin_type_free(struct dag_plugin_type *t) {
  for (size_t i = 0; i < t->n_params; i++)
    dag_plugin_param_clear(&t->params[i]);
  free(t->params);
  free(t->name);
  free(t->description);
  free(t->poke_interval_param);
  free(t->stop_param);
  memset(t, 0, sizeof(*t));
}

const struct dag_plugin_param *dag_plugin_type_param(const struct dag_plugin_type *t,
                                                    const char *name) {
  for (size_t i = 0; i < t->n_params; i++)
    if (strcmp(t->params[i].name, name) == 0) return &t->params[i];
  return NULL;
}

void dag_plugins_free(struct dag_plugin_info *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].path);
    free(p[i].name);
    free(p[i].version);
    for (size_t k = 0; k < p[i].n_types; k++)
      dag_plugin_type_free(&p[i].types[k]);
    free(p[i].types);
    for (size_t k = 0; k < p[i].n_sections; k++)
      dag_config_section_decl_free(&p[i].sections[k]);
    free(p[i].sections);
    free(p[i].error);
  }
  free(p);
}

/* --- declarations as JSON ---------------------------------------------------- */

/* Minor 2's declarations; absent for a plugin built before. */
static void rules_to_json(json_t *o, const struct dag_plugin_type *t) {
  if (!t->rules_declared) return;
  json_object_set_new(o, "sensor", json_boolean(t->flags & DAGCTL_TYPE_SENSOR));
  json_object_set_new(o, "service", json_boolean(t->flags & DAGCTL_TYPE_SERVICE));
  if (t->poke_interval_param)
    json_object_set_new(o, "poke_interval_param", json_string(t->poke_interval_param));
}

static json_t *params_to_json(const struct dag_plugin_param *params, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    const struct dag_plugin_param *p = &params[i];
    json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:o, s:s}", "name", p->name, "type",
                          dag_param_type_key(p->type), "required",
                          (p->flags & DAGCTL_PARAM_REQUIRED) != 0, "verbatim",
                          (p->flags & DAGCTL_PARAM_VERBATIM) != 0, "default",
                          p->default_value ? json_string(p->default_value) : json_null(),
                          "description", p->description);
    /* Minor 4; absent for a param without fields. */
    if (p->has_fields) json_object_set_new(o, "fields", params_to_json(p->fields, p->n_fields));
    /* Minor 7; absent for a param taking any value. */
    if (p->choices) json_object_set_new(o, "choices", json_string(p->choices));
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *type_to_json(const struct dag_plugin_type *t) {
  json_t *o = json_pack("{s:s, s:s}", "type", t->name, "description", t->description);
  rules_to_json(o, t);
  if (!t->declared) return o;
  json_object_set_new(o, "params", params_to_json(t->params, t->n_params));
  return o;
}

/* Minor 3's config sections; absent for a plugin that declares none. */
static json_t *section_to_json(const struct dag_config_section_decl *d) {
  json_t *keys = json_array();
  for (size_t i = 0; i < d->n_keys; i++) {
    const struct dag_config_key_decl *k = &d->keys[i];
    json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:s}", "key", k->key, "type",
                          dag_config_setting_type_key(k->type), "secret",
                          (k->flags & DAGCTL_SETTING_SECRET) != 0, "default",
                          k->default_value ? json_string(k->default_value) : json_null(),
                          "description", k->description);
    if (k->choices) json_object_set_new(o, "choices", json_string(k->choices));
    if (k->type == DAGCTL_SETTING_INTEGER) {
      json_object_set_new(o, "min", json_integer(k->min));
      json_object_set_new(o, "max", json_integer(k->max));
    }
    json_array_append_new(keys, o);
  }
  return json_pack("{s:s, s:s, s:o}", "section", d->name, "description", d->description,
                   "settings", keys);
}

json_t *dag_plugins_to_json(const struct dag_plugin_info *p, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *types = json_array();
    for (size_t k = 0; k < p[i].n_types; k++)
      json_array_append_new(types, type_to_json(&p[i].types[k]));
    json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "path", p[i].path, "name",
                          p[i].name ? json_string(p[i].name) : json_null(), "version",
                          p[i].version ? json_string(p[i].version) : json_null(), "types",
                          types);
    if (p[i].error) json_object_set_new(o, "error", json_string(p[i].error));
    if (p[i].n_sections) {
      json_t *sections = json_array();
      for (size_t k = 0; k < p[i].n_sections; k++)
        json_array_append_new(sections, section_to_json(&p[i].sections[k]));
      json_object_set_new(o, "config_sections", sections);
    }
    json_array_append_new(arr, o);
  }
  return arr;
}

static char *opt_string(const json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? xstrdup(v) : NULL;
}

/* Fields nest no deeper than this: the JSON comes from a child process. */
#define MAX_FIELD_DEPTH 8

static int params_from_json(const json_t *params, struct dag_plugin_param **out, size_t *n,
                            int depth) {
  *out = xcalloc(json_array_size(params) + 1, sizeof(**out));
  *n = 0;
  size_t i;
  const json_t *j;
  json_array_foreach(params, i, j) {
    const char *pname = json_string_value(json_object_get(j, "name"));
    const char *ptype = json_string_value(json_object_get(j, "type"));
    if (pname == NULL || ptype == NULL) return DAG_EINVAL;
    struct dag_plugin_param *p = &(*out)[(*n)++];
    p->name = xstrdup(pname);
    p->type = dag_param_type_parse(ptype);
    if (json_is_true(json_object_get(j, "required"))) p->flags |= DAGCTL_PARAM_REQUIRED;
    if (json_is_true(json_object_get(j, "verbatim"))) p->flags |= DAGCTL_PARAM_VERBATIM;
    p->default_value = opt_string(j, "default");
    p->description = opt_string(j, "description");
    if (p->description == NULL) p->description = xstrdup("");
    p->choices = opt_string(j, "choices");
    const json_t *fields = json_object_get(j, "fields");
    if (fields == NULL) continue;
    if (!json_is_array(fields) || depth >= MAX_FIELD_DEPTH) return DAG_EINVAL;
    p->has_fields = true;
    int rc = params_from_json(fields, &p->fields, &p->n_fields, depth + 1);
    if (rc) return rc;
  }
  return 0;
}

static int type_from_json(const json_t *o, struct dag_plugin_type *t) {
  const char *name = json_string_value(json_object_get(o, "type"));
  if (name == NULL) return DAG_EINVAL;
  t->name = xstrdup(name);
  t->description = opt_string(o, "description");
  if (t->description == NULL) t->description = xstrdup("");
  const json_t *sensor = json_object_get(o, "sensor"), *service = json_object_get(o, "service");
  t->rules_declared = sensor || service;
  if (json_is_true(sensor)) t->flags |= DAGCTL_TYPE_SENSOR;
  if (json_is_true(service)) t->flags |= DAGCTL_TYPE_SERVICE;
  t->poke_interval_param = opt_string(o, "poke_interval_param");
  const json_t *params = json_object_get(o, "params");
  if (params == NULL) return 0;
  if (!json_is_array(params)) return DAG_EINVAL;
  t->declared = true;
  return params_from_json(params, &t->params, &t->n_params, 0);
}

static int section_from_json(const json_t *o, const char *owner,
                             struct dag_config_section_decl *d) {
  const char *name = json_string_value(json_object_get(o, "section"));
  const json_t *keys = json_object_get(o, "settings");
  if (name == NULL || !json_is_array(keys)) return DAG_EINVAL;
  d->name = xstrdup(name);
  d->owner = xstrdup(owner ? owner : "?");
  d->description = opt_string(o, "description");
  if (d->description == NULL) d->description = xstrdup("");
  d->keys = xcalloc(json_array_size(keys) + 1, sizeof(*d->keys));
  size_t i;
  const json_t *j;
  json_array_foreach(keys, i, j) {
    const char *key = json_string_value(json_object_get(j, "key"));
    const char *type = json_string_value(json_object_get(j, "type"));
    int t = type ? dag_config_setting_type_parse(type) : -1;
    if (key == NULL || t < 0) return DAG_EINVAL;
    struct dag_config_key_decl *k = &d->keys[d->n_keys++];
    k->key = xstrdup(key);
    k->type = (enum dagctl_setting_type)t;
    if (json_is_true(json_object_get(j, "secret"))) k->flags |= DAGCTL_SETTING_SECRET;
    k->default_value = opt_string(j, "default");
    k->choices = opt_string(j, "choices");
    k->min = json_integer_value(json_object_get(j, "min"));
    k->max = json_integer_value(json_object_get(j, "max"));
    k->description = opt_string(j, "description");
    if (k->description == NULL) k->description = xstrdup("");
  }
  return 0;
}

int dag_plugins_from_json(const json_t *j, struct dag_plugin_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!json_is_array(j)) return DAG_EINVAL;
  struct dag_plugin_info *p = xcalloc(json_array_size(j) + 1, sizeof(*p));
  size_t count = 0, i;
  const json_t *o;
  int rc = 0;
  json_array_foreach(j, i, o) {
    struct dag_plugin_info *info = &p[count++];
    const json_t *types = json_object_get(o, "types");
    info->path = opt_string(o, "path");
    info->name = opt_string(o, "name");
    info->version = opt_string(o, "version");
    info->error = opt_string(o, "error");
    if (info->path == NULL || !json_is_array(types)) {
      rc = DAG_EINVAL;
      break;
    }
    info->types = xcalloc(json_array_size(types) + 1, sizeof(*info->types));
    size_t k;
    const json_t *t;
    json_array_foreach(types, k, t) {
      if ((rc = type_from_json(t, &info->types[info->n_types++])) != 0) break;
    }
    if (rc) break;
    const json_t *sections = json_object_get(o, "config_sections");
    if (sections && !json_is_array(sections)) rc = DAG_EINVAL;
    if (rc) break;
    info->sections = xcalloc(json_array_size(sections) + 1, sizeof(*info->sections));
    json_array_foreach(sections, k, t) {
      rc = section_from_json(t, info->name, &info->sections[info->n_sections++]);
      if (rc) break;
    }
    if (rc) break;
  }
  if (rc) {
    dag_plugins_free(p, count);
    return rc;
  }
  *out = p;
  *n = count;
  return 0;
}

/* --- the catalog -------------------------------------------------------------- */

/* Task types the scheduler runs itself, declared like a plugin's. */
/* The scheduler reads `service` as written: no template is rendered in it. */
static struct dag_plugin_param stop_service_params[] = {
    {(char *)"service", DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED | DAGCTL_PARAM_VERBATIM, NULL,
     (char *)"the id of the service task (of this DAG) to stop"},
};
static const struct dag_plugin_type builtin_types[] = {
    {(char *)"stop_service", (char *)"stop a service task of the run (built in)", true,
     stop_service_params, DAG_ARRAY_SIZE(stop_service_params), true, DAG_TYPE_STOPS_SERVICE,
     NULL, (char *)"service"},
};

const struct dag_plugin_type *dag_plugin_catalog_find(const struct dag_plugin_catalog *c,
                                                      const char *name) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(builtin_types); i++)
    if (strcmp(builtin_types[i].name, name) == 0) return &builtin_types[i];
  for (size_t i = 0; c && i < c->n; i++)
    for (size_t k = 0; k < c->plugins[i].n_types; k++)
      if (strcmp(c->plugins[i].types[k].name, name) == 0) return &c->plugins[i].types[k];
  return NULL;
}

const char **dag_plugin_catalog_names(const struct dag_plugin_catalog *c, size_t *n) {
  size_t total = DAG_ARRAY_SIZE(builtin_types);
  for (size_t i = 0; i < c->n; i++) total += c->plugins[i].n_types;
  const char **names = xcalloc(total, sizeof(*names));
  *n = 0;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(builtin_types); i++) names[(*n)++] = builtin_types[i].name;
  for (size_t i = 0; i < c->n; i++)
    for (size_t k = 0; k < c->plugins[i].n_types; k++) names[(*n)++] = c->plugins[i].types[k].name;
  return names;
}

static void sections_clear(struct dag_plugin_catalog *c) {
  for (size_t i = 0; i < c->n_sections; i++)
    dag_config_section_decl_free(&c->sections[i]);
  free(c->sections);
  c->sections = NULL;
  c->n_sections = 0;
  free(c->sections_error);
  c->sections_error = NULL;
}

/* Add `owner` to the owners of `d` ("load_bronze, sql_check"). */
static void add_owner(struct dag_config_section_decl *d, const char *owner) {
  char *both = xasprintf("%s, %s", d->owner, owner);
  free(d->owner);
  d->owner = both;
}

void dag_plugin_catalog_merge_sections(struct dag_plugin_catalog *c) {
  sections_clear(c);
  size_t total = 0;
  for (size_t i = 0; i < c->n; i++) total += c->plugins[i].n_sections;
  c->sections = xcalloc(total ? total : 1, sizeof(*c->sections));
  struct strbuf errors = STRBUF_INIT;
  for (size_t i = 0; i < c->n; i++) {
    const struct dag_plugin_info *p = &c->plugins[i];
    for (size_t k = 0; k < p->n_sections; k++) {
      const struct dag_config_section_decl *d = &p->sections[k];
      struct dag_config_section_decl *have = NULL;
      for (size_t m = 0; m < c->n_sections && !have; m++)
        if (strcmp(c->sections[m].name, d->name) == 0) have = &c->sections[m];
      if (have == NULL) {
        dag_config_section_decl_copy(d, &c->sections[c->n_sections++]);
        continue;
      }
      char *why = NULL;
      if (dag_config_section_decl_compare(have, d, &why) == 0) {
        add_owner(have, d->owner);
        continue;
      }
      /* The first declaration stays; the user must hear of the other. */
      sb_appendf(&errors, "%sconfig section '%s' is declared differently by the plugins %s "
                 "and %s (%s): %s; the first declaration is used",
                 errors.len ? "; " : "", d->name, have->owner, d->owner, p->path, why);
      free(why);
    }
  }
  c->sections_error = errors.len ? sb_detach(&errors) : NULL;
  sb_free(&errors);
}

void dag_plugin_catalog_clear(struct dag_plugin_catalog *c) {
  dag_plugins_free(c->plugins, c->n);
  c->plugins = NULL;
  c->n = 0;
  c->loaded = false;
  sections_clear(c);
}

void dag_plugin_catalog_free(struct dag_plugin_catalog *c) {
  dag_plugin_catalog_clear(c);
  free(c->folder);
  c->folder = NULL;
}
