/* plugins.c - plugin discovery, ABI checks and the catalog of declared
 * parameters (see plugins.h). */
#include "plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "common.h"
#include "config.h"
#include "error.h"
#include "plugin_params.h"
#include "strbuf.h"

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

/* The fields of ABI minor 0 in a dagctl_param: every entry has them. */
#define PARAM_MIN_SIZE (offsetof(struct dagctl_param, description) + sizeof(const char *))
#define PARAM_MAX_SIZE 4096u
#define MAX_PARAMS 1000u
/* A dagctl_task_type long enough to hold params and n_params (minor 1). */
#define TYPE_HAS_PARAMS(t) \
  ((t)->size >= offsetof(struct dagctl_task_type, n_params) + sizeof(size_t))

/* Long enough to hold flags and poke_interval_param (minor 2). */
#define TYPE_HAS_RULES(t)                                                        \
  ((t)->size >= offsetof(struct dagctl_task_type, poke_interval_param) + \
                    sizeof(const char *))
#define KNOWN_TYPE_FLAGS (DAGCTL_TYPE_SENSOR | DAGCTL_TYPE_SERVICE)

/* Long enough to hold fields and n_fields (minor 4). */
#define PARAM_HAS_FIELDS(d) ((d)->size >= offsetof(struct dagctl_param, n_fields) + sizeof(size_t))
#define MAX_FIELD_DEPTH 8
/* Long enough to hold choices (minor 7). */
#define PARAM_HAS_CHOICES(d) \
  ((d)->size >= offsetof(struct dagctl_param, choices) + sizeof(const char *))

/* Copy n declared params into out[] (*n_out of them kept); fields are
 * followed MAX_FIELD_DEPTH deep. false for a garbage declaration. */
static bool params_describe(const struct dagctl_param *params, size_t n,
                            struct dag_plugin_param **out, size_t *n_out, int depth) {
  if (params == NULL || n > MAX_PARAMS || depth > MAX_FIELD_DEPTH) return false;
  uint32_t stride = n ? params[0].size : 0;
  if (n && (stride < PARAM_MIN_SIZE || stride > PARAM_MAX_SIZE ||
            stride % _Alignof(struct dagctl_param) != 0))
    return false;
  *out = xcalloc(n ? n : 1, sizeof(**out));
  *n_out = 0;
  for (size_t i = 0; i < n; i++) {
    /* Entries grow at the end like every ABI struct: step by their size. */
    const struct dagctl_param *d = (const void *)((const char *)params + i * stride);
    if (d->size != stride || d->name == NULL || *d->name == '\0') continue;
    struct dag_plugin_param *p = &(*out)[(*n_out)++];
    p->name = xstrdup(d->name);
    p->type = d->type <= DAGCTL_PARAM_ANY ? (enum dagctl_param_type)d->type : DAGCTL_PARAM_ANY;
    p->flags = d->flags & (DAGCTL_PARAM_REQUIRED | DAGCTL_PARAM_VERBATIM);
    p->default_value = d->default_value ? xstrdup(d->default_value) : NULL;
    p->description = xstrdup(d->description ? d->description : "");
    if (PARAM_HAS_CHOICES(d) && d->choices && *d->choices &&
        (p->type == DAGCTL_PARAM_STRING || p->type == DAGCTL_PARAM_LIST))
      p->choices = xstrdup(d->choices);
    if (PARAM_HAS_FIELDS(d) && d->fields != NULL &&
        (p->type == DAGCTL_PARAM_MAPPING || p->type == DAGCTL_PARAM_LIST))
      p->has_fields = params_describe(d->fields, d->n_fields, &p->fields, &p->n_fields,
                                      depth + 1);
  }
  return true;
}

void dag_plugin_type_describe(const struct dagctl_task_type *t, struct dag_plugin_type *out) {
  memset(out, 0, sizeof(*out));
  out->name = xstrdup(t->name);
  out->description = xstrdup(t->description ? t->description : "");
  if (TYPE_HAS_RULES(t)) {
    out->rules_declared = true;
    /* Unknown bits are a later minor's: ignored, never the host's own. */
    out->flags = t->flags & KNOWN_TYPE_FLAGS;
    if ((out->flags & DAGCTL_TYPE_SENSOR) && t->poke_interval_param && *t->poke_interval_param)
      out->poke_interval_param = xstrdup(t->poke_interval_param);
  }
  if (!TYPE_HAS_PARAMS(t) || t->params == NULL) return;
  /* A garbage declaration counts as none. */
  out->declared = params_describe(t->params, t->n_params, &out->params, &out->n_params, 0);
  if (!out->declared) {
    for (size_t i = 0; i < out->n_params; i++)
      dag_plugin_param_clear(&out->params[i]);
    free(out->params);
    out->params = NULL;
    out->n_params = 0;
  }
}

/* A dagctl_plugin long enough to hold its config sections (minor 3). */
#define PLUGIN_HAS_SECTIONS(p) \
  ((p)->size >= offsetof(struct dagctl_plugin, n_config_sections) + sizeof(size_t))
#define SECTION_MIN_SIZE \
  (offsetof(struct dagctl_config_section, n_settings) + sizeof(size_t))
#define SETTING_MIN_SIZE \
  (offsetof(struct dagctl_setting, description) + sizeof(const char *))
#define MAX_SECTIONS 100u
#define MAX_SETTINGS 1000u

/* Copy one declared section; -1 (nothing copied) for a garbage one. */
static int section_describe(const struct dagctl_config_section *sec, const char *owner,
                            struct dag_config_section_decl *out) {
  memset(out, 0, sizeof(*out));
  if (sec == NULL || sec->size < SECTION_MIN_SIZE || sec->name == NULL || *sec->name == '\0' ||
      sec->n_settings > MAX_SETTINGS || (sec->n_settings && sec->settings == NULL))
    return -1;
  uint32_t stride = sec->n_settings ? sec->settings[0].size : 0;
  if (sec->n_settings && (stride < SETTING_MIN_SIZE || stride > PARAM_MAX_SIZE ||
                          stride % _Alignof(struct dagctl_setting) != 0))
    return -1;
  out->name = xstrdup(sec->name);
  out->owner = xstrdup(owner);
  out->description = xstrdup(sec->description ? sec->description : "");
  out->keys = xcalloc(sec->n_settings ? sec->n_settings : 1, sizeof(*out->keys));
  for (size_t i = 0; i < sec->n_settings; i++) {
    /* Entries grow at the end like every ABI struct: step by their size. */
    const struct dagctl_setting *d = (const void *)((const char *)sec->settings + i * stride);
    if (d->size != stride || d->key == NULL || *d->key == '\0' ||
        d->type > DAGCTL_SETTING_PASSWORD)
      continue; /* a later minor's type is not one this host can check */
    struct dag_config_key_decl *k = &out->keys[out->n_keys++];
    k->key = xstrdup(d->key);
    k->type = (enum dagctl_setting_type)d->type;
    k->flags = d->flags & DAGCTL_SETTING_SECRET;
    k->default_value = d->default_value ? xstrdup(d->default_value) : NULL;
    k->choices = d->choices ? xstrdup(d->choices) : NULL;
    k->min = d->min;
    k->max = d->max;
    k->description = xstrdup(d->description ? d->description : "");
  }
  return 0;
}

/* The config sections `p` declares (none before minor 3). */
static void sections_describe(const struct dagctl_plugin *p, const char *owner,
                              struct dag_config_section_decl **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!PLUGIN_HAS_SECTIONS(p) || p->config_sections == NULL ||
      p->n_config_sections > MAX_SECTIONS)
    return;
  *out = xcalloc(p->n_config_sections ? p->n_config_sections : 1, sizeof(**out));
  for (size_t i = 0; i < p->n_config_sections; i++)
    if (section_describe(p->config_sections[i], owner, &(*out)[*n]) == 0) (*n)++;
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
    info->types = xcalloc(p->n_types ? p->n_types : 1, sizeof(*info->types));
    for (size_t k = 0; k < p->n_types; k++) {
      const struct dagctl_task_type *t = type_at(p, k);
      if (!type_usable(p, t)) continue;
      dag_plugin_type_describe(t, &info->types[info->n_types++]);
    }
    sections_describe(p, info->name, &info->sections, &info->n_sections);
    /* Descriptions are copied: the object can go. */
    dlclose(handle);
  }
  free(paths);
  return 0;
}

int dag_plugin_load_type(const char *folder, const char *type,
                         const struct dagctl_task_type **out, char **err) {
  return dag_plugin_load_type_sections(folder, type, out, NULL, NULL, err);
}

int dag_plugin_load_type_sections(const char *folder, const char *type,
                                  const struct dagctl_task_type **out,
                                  struct dag_config_section_decl **sections,
                                  size_t *n_sections, char **err) {
  *out = NULL;
  *err = NULL;
  if (sections) {
    *sections = NULL;
    *n_sections = 0;
  }
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
      if (strcmp(t->name, type) == 0) {
        *out = t; /* the handle stays open for the life of the process */
        if (sections) sections_describe(p, p->name ? p->name : paths[i], sections, n_sections);
      } else
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


/* --- the catalog -------------------------------------------------------------- */

int dag_plugin_catalog_scan(struct dag_plugin_catalog *c, const char *folder) {
  dag_plugin_catalog_clear(c);
  dag_plugins_scan(folder, &c->plugins, &c->n);
  dag_plugin_catalog_merge_sections(c);
  c->loaded = c->usable = true;
  return 0;
}

static int64_t folder_stamp(const char *folder) {
  struct stat st;
  if (stat(folder, &st) != 0) return -1;
  return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define DESCRIBE_TIMEOUT_MS 10000
#define DESCRIBE_MAX_OUTPUT (16 * 1024 * 1024)

extern char **environ;

/* Run argv with its standard output into *out (caller frees); its standard
 * error is discarded. Returns 0 once it exited (with status 0, or 1: a
 * plugin that cannot be loaded, listed in the output), or a negative code
 * with *err set. */
static int run_describe(char *const argv[], char **out, char **err) {
  int fds[2];
  *out = NULL;
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *err = xasprintf("cannot create a pipe: %s", strerror(errno));
    return -errno;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    *err = xasprintf("cannot run %s: %s", argv[0], strerror(rc));
    return -rc;
  }
  struct strbuf sb = STRBUF_INIT;
  int64_t deadline = mono_ms() + DESCRIBE_TIMEOUT_MS;
  bool timed_out = false, too_big = false;
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int n = poll(&pfd, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[8192];
    ssize_t got = read(fds[0], buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (sb.len + (size_t)got > DESCRIBE_MAX_OUTPUT) {
      too_big = true;
      break;
    }
    sb_appendn(&sb, buf, (size_t)got);
  }
  close(fds[0]);
  if (timed_out || too_big) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out || too_big || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
    *err = timed_out  ? xasprintf("%s plugins --json took longer than %d s", argv[0],
                                  DESCRIBE_TIMEOUT_MS / 1000)
           : too_big ? xasprintf("%s plugins --json printed more than %d bytes", argv[0],
                                 DESCRIBE_MAX_OUTPUT)
                     : xasprintf("%s plugins --json failed (status %d)", argv[0], status);
    sb_free(&sb);
    return DAG_EINVAL;
  }
  *out = sb_detach(&sb);
  return 0;
}

const struct dag_plugin_catalog *dag_plugin_catalog_update(struct dag_plugin_catalog *c,
                                                           const char *folder,
                                                           char *const argv[], char **err) {
  *err = NULL;
  int64_t stamp = folder_stamp(folder);
  if (c->loaded && c->folder && strcmp(c->folder, folder) == 0 && c->stamp == stamp)
    return c->usable ? c : NULL;
  dag_plugin_catalog_clear(c);
  free(c->folder);
  c->folder = xstrdup(folder);
  c->stamp = stamp;
  c->loaded = true; /* tried: not again until the folder changes */
  c->usable = false;
  char *text = NULL;
  if (run_describe(argv, &text, err) != 0) return NULL;
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  free(text);
  int rc = j ? dag_plugins_from_json(j, &c->plugins, &c->n) : DAG_EINVAL;
  json_decref(j);
  if (rc != 0) {
    *err = xasprintf("%s plugins --json printed something else than the plugin list", argv[0]);
    return NULL;
  }
  dag_plugin_catalog_merge_sections(c);
  c->usable = true;
  return c;
}

const struct dag_plugin_catalog *dag_plugin_catalog_update_cfg(struct dag_plugin_catalog *c,
                                                               const char *exe,
                                                               const struct dag_config *cfg,
                                                               char **err) {
  /* The same settings a plugin task's child gets, so it finds the same
   * folder. */
  char *argv[12];
  size_t n = 0;
  argv[n++] = (char *)exe;
  argv[n++] = (char *)"--home";
  argv[n++] = cfg->home;
  argv[n++] = (char *)"--dags";
  argv[n++] = cfg->dags_folder;
  if (cfg->config_file) {
    argv[n++] = (char *)"--config";
    argv[n++] = cfg->config_file;
  }
  argv[n++] = (char *)"plugins";
  argv[n++] = (char *)"--json";
  argv[n] = NULL;
  char *folder = dag_plugins_folder(cfg->plugins_folder);
  const struct dag_plugin_catalog *r = dag_plugin_catalog_update(c, folder, argv, err);
  free(folder);
  return r;
}
