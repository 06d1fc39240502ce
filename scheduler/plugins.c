/* plugins.c - plugin discovery and ABI checks. */
#include "plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "strbuf.h"
#include "template.h"

char *dag_plugins_folder(const char *configured) {
  if (configured && *configured) return xstrdup(configured);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return xstrdup("plugins");
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  return xasprintf("%s/plugins", exe);
}

/* The fields of the first ABI version: every entry has at least these. */
#define TYPE_MIN_SIZE (offsetof(struct dagctl_task_type, execute) + sizeof(void (*)(void)))
/* Bounds that no sane plugin reaches, so a garbage descriptor is refused
 * rather than walked. */
#define TYPE_MAX_SIZE 4096u
#define MAX_TYPES 10000u

/* The k-th of the plugin's task types. plugin.h lets the struct grow at the
 * end, so the array's stride is the size the plugin was built with (every
 * entry has the same: types[0].size), not this host's sizeof. Fields past
 * the host's own are never read; fields past the plugin's size are read
 * only behind a check of `size`. */
static const struct dagctl_task_type *type_at(const struct dagctl_plugin *p, size_t k) {
  return (const struct dagctl_task_type *)(const void *)((const char *)p->types +
                                                         k * p->types[0].size);
}

/* Open one shared object and check its ABI. On success *handle stays open. */
static const struct dagctl_plugin *open_plugin(const char *path, void **handle, char **err) {
  *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!*handle) {
    *err = xasprintf("cannot load: %s", dlerror());
    return NULL;
  }
  const struct dagctl_plugin *(*init)(uint32_t);
  *(void **)&init = dlsym(*handle, DAGCTL_PLUGIN_ENTRY);
  if (!init) {
    *err = xasprintf("not a dagctl plugin: no %s symbol", DAGCTL_PLUGIN_ENTRY);
    dlclose(*handle);
    *handle = NULL;
    return NULL;
  }
  const struct dagctl_plugin *p = init(DAGCTL_PLUGIN_ABI_VERSION);
  if (!p) {
    *err = xasprintf("the plugin refused this dagctl's ABI version %d",
                     DAGCTL_PLUGIN_ABI_VERSION);
  } else if (p->size < offsetof(struct dagctl_plugin, n_types) + sizeof(p->n_types)) {
    *err = xasprintf("plugin descriptor too small (%u bytes)", p->size);
    p = NULL;
  } else if (p->abi_version != DAGCTL_PLUGIN_ABI_VERSION) {
    *err = xasprintf("built for plugin ABI version %u, but this dagctl speaks version %d; "
                     "rebuild the plugin against this dagctl's dagctl/plugin.h",
                     p->abi_version, DAGCTL_PLUGIN_ABI_VERSION);
    p = NULL;
  } else if (p->n_types > MAX_TYPES || (p->n_types && p->types == NULL)) {
    *err = xasprintf("plugin declares %zu task types at %p", p->n_types, (void *)p->types);
    p = NULL;
  } else if (p->n_types && (p->types[0].size < TYPE_MIN_SIZE || p->types[0].size > TYPE_MAX_SIZE ||
                            p->types[0].size % _Alignof(struct dagctl_task_type) != 0)) {
    *err = xasprintf("task type entries of %u bytes: expected at least %zu, a multiple of %zu",
                     p->types[0].size, TYPE_MIN_SIZE, _Alignof(struct dagctl_task_type));
    p = NULL;
  }
  if (!p) {
    dlclose(*handle);
    *handle = NULL;
  }
  return p;
}

static bool type_usable(const struct dagctl_plugin *p, const struct dagctl_task_type *t) {
  return t->size == p->types[0].size && t->name && t->execute;
}

static int list_so(const char *folder, char ***paths, size_t *n) {
  *paths = NULL;
  *n = 0;
  struct dirent **names = NULL;
  int count = scandir(folder, &names, NULL, alphasort);
  if (count < 0) return 0;
  size_t cap = 0;
  for (int i = 0; i < count; i++) {
    const char *name = names[i]->d_name;
    size_t len = strlen(name);
    if (name[0] != '.' && len > 3 && strcmp(name + len - 3, ".so") == 0) {
      *paths = xgrow(*paths, &cap, *n + 1, sizeof(**paths));
      (*paths)[(*n)++] = xasprintf("%s/%s", folder, name);
    }
    free(names[i]);
  }
  free(names);
  return 0;
}

int dag_plugins_scan(const char *folder, struct dag_plugin_info **out, size_t *n) {
  char **paths;
  size_t n_paths;
  list_so(folder, &paths, &n_paths);
  *out = xcalloc(n_paths ? n_paths : 1, sizeof(**out));
  *n = n_paths;
  for (size_t i = 0; i < n_paths; i++) {
    struct dag_plugin_info *info = &(*out)[i];
    info->path = paths[i];
    void *handle = NULL;
    const struct dagctl_plugin *p = open_plugin(paths[i], &handle, &info->error);
    if (!p) continue;
    info->name = xstrdup(p->name ? p->name : "?");
    info->version = xstrdup(p->version ? p->version : "?");
    info->types = xcalloc(p->n_types ? p->n_types : 1, sizeof(char *));
    info->descriptions = xcalloc(p->n_types ? p->n_types : 1, sizeof(char *));
    for (size_t k = 0; k < p->n_types; k++) {
      const struct dagctl_task_type *t = type_at(p, k);
      if (!type_usable(p, t)) continue;
      info->types[info->n_types] = xstrdup(t->name);
      info->descriptions[info->n_types] = xstrdup(t->description ? t->description : "");
      info->n_types++;
    }
    /* Descriptions are copied: the object can go. */
    dlclose(handle);
  }
  free(paths);
  return 0;
}

void dag_plugins_free(struct dag_plugin_info *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(p[i].path);
    free(p[i].name);
    free(p[i].version);
    for (size_t k = 0; k < p[i].n_types; k++) {
      free(p[i].types[k]);
      free(p[i].descriptions[k]);
    }
    free(p[i].types);
    free(p[i].descriptions);
    free(p[i].error);
  }
  free(p);
}

int dag_plugin_load_type(const char *folder, const char *type,
                         const struct dagctl_task_type **out, char **err) {
  *out = NULL;
  *err = NULL;
  char **paths;
  size_t n;
  list_so(folder, &paths, &n);
  struct strbuf known = STRBUF_INIT, problems = STRBUF_INIT;
  for (size_t i = 0; i < n && !*out; i++) {
    void *handle = NULL;
    char *why = NULL;
    const struct dagctl_plugin *p = open_plugin(paths[i], &handle, &why);
    if (!p) {
      sb_appendf(&problems, "; %s: %s", paths[i], why);
      free(why);
      continue;
    }
    for (size_t k = 0; k < p->n_types && !*out; k++) {
      const struct dagctl_task_type *t = type_at(p, k);
      if (!type_usable(p, t)) continue;
      if (strcmp(t->name, type) == 0)
        *out = t; /* the handle stays open for the life of the process */
      else
        sb_appendf(&known, "%s%s", known.len ? ", " : "", t->name);
    }
    if (!*out) dlclose(handle);
  }
  for (size_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
  int rc = 0;
  if (!*out) {
    *err = xasprintf("no plugin in %s provides task type '%s' (installed: %s)%s", folder, type,
                     known.len ? sb_str(&known) : "none", sb_str(&problems));
    rc = DAG_ENOTFOUND;
  }
  sb_free(&known);
  sb_free(&problems);
  return rc;
}

/* Replace *v by its rendering when it is a string; recurse into lists and
 * mappings. */
static int render_value(json_t *v, const struct dag_template_ctx *ctx, char **msg) {
  if (json_is_string(v)) {
    char *out = NULL;
    int rc = dag_template_render(json_string_value(v), ctx, &out, msg);
    if (rc == 0 && json_string_set(v, out) != 0) {
      *msg = xstrdup("the rendered value is not valid UTF-8");
      rc = DAG_ETEMPLATE;
    }
    free(out);
    return rc;
  }
  size_t i;
  json_t *item;
  const char *key;
  if (json_is_array(v)) {
    json_array_foreach(v, i, item) {
      int rc = render_value(item, ctx, msg);
      if (rc) return rc;
    }
  } else if (json_is_object(v)) {
    json_object_foreach(v, key, item) {
      int rc = render_value(item, ctx, msg);
      if (rc) return rc;
    }
  }
  return 0;
}

int dag_plugin_render_params(json_t *params, const struct dag_template_ctx *ctx, char **err) {
  const char *name;
  json_t *v;
  *err = NULL;
  json_object_foreach(params, name, v) {
    char *msg = NULL;
    if (render_value(v, ctx, &msg) != 0) {
      *err = xasprintf("param %s: %s", name, msg ? msg : "template error");
      free(msg);
      return DAG_ETEMPLATE;
    }
  }
  return 0;
}
