/* config_plugin.c - the sections of dagctl.yaml that plugins declare
 * (dagctl/plugin.h, minor 3): checked and resolved once the declarations
 * are known, with the value types, secrets rules and messages of
 * dagctl's own sections (config.c, config_value.c).
 *
 * dag_config_load() cannot judge a section it does not know: every command
 * loads the settings before it knows the plugins, and the scheduler learns
 * their declarations from a child (it never loads a plugin itself). So the
 * loader keeps such sections as written, with their positions, and
 * dag_config_check_plugins() judges them here against the declarations. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "common.h"
#include "config_int.h"
#include "didyoumean.h"
#include "error.h"
#include "log.h"
#include "strbuf.h"

/* --- declarations ------------------------------------------------------------- */

static const char *const type_keys[] = {
    [DAGCTL_SETTING_STRING] = "string",     [DAGCTL_SETTING_INTEGER] = "integer",
    [DAGCTL_SETTING_BOOLEAN] = "boolean",   [DAGCTL_SETTING_DURATION] = "duration",
    [DAGCTL_SETTING_ENUM] = "enum",         [DAGCTL_SETTING_PATH] = "path",
    [DAGCTL_SETTING_URL] = "url",           [DAGCTL_SETTING_BROKERS] = "brokers",
    [DAGCTL_SETTING_STORAGE] = "storage",   [DAGCTL_SETTING_TOKEN] = "token",
    [DAGCTL_SETTING_PASSWORD] = "password",
};

const char *dag_config_setting_type_key(enum dagctl_setting_type t) {
  return (size_t)t < DAG_ARRAY_SIZE(type_keys) ? type_keys[t] : "?";
}

int dag_config_setting_type_parse(const char *key) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(type_keys); i++)
    if (strcmp(type_keys[i], key) == 0) return (int)i;
  return -1;
}

static const struct type *type_of(enum dagctl_setting_type t) {
  switch (t) {
  case DAGCTL_SETTING_STRING: return &dag_cfg_t_string;
  case DAGCTL_SETTING_INTEGER: return &dag_cfg_t_int;
  case DAGCTL_SETTING_BOOLEAN: return &dag_cfg_t_bool;
  case DAGCTL_SETTING_DURATION: return &dag_cfg_t_duration;
  case DAGCTL_SETTING_ENUM: return &dag_cfg_t_enum;
  case DAGCTL_SETTING_PATH: return &dag_cfg_t_path;
  case DAGCTL_SETTING_URL: return &dag_cfg_t_url;
  case DAGCTL_SETTING_BROKERS: return &dag_cfg_t_brokers;
  case DAGCTL_SETTING_STORAGE: return &dag_cfg_t_storage;
  case DAGCTL_SETTING_TOKEN: return &dag_cfg_t_token;
  case DAGCTL_SETTING_PASSWORD: return &dag_cfg_t_password;
  }
  return &dag_cfg_t_string;
}

static char *dup_or_null(const char *s) {
  return s ? xstrdup(s) : NULL;
}

void dag_config_section_decl_free(struct dag_config_section_decl *d) {
  for (size_t i = 0; i < d->n_keys; i++) {
    free(d->keys[i].key);
    free(d->keys[i].default_value);
    free(d->keys[i].choices);
    free(d->keys[i].description);
  }
  free(d->keys);
  free(d->name);
  free(d->owner);
  free(d->description);
  memset(d, 0, sizeof(*d));
}

void dag_config_section_decl_copy(const struct dag_config_section_decl *d,
                                  struct dag_config_section_decl *out) {
  out->name = xstrdup(d->name);
  out->owner = dup_or_null(d->owner);
  out->description = xstrdup(d->description ? d->description : "");
  out->keys = xcalloc(d->n_keys ? d->n_keys : 1, sizeof(*out->keys));
  out->n_keys = d->n_keys;
  for (size_t i = 0; i < d->n_keys; i++) {
    out->keys[i] = d->keys[i];
    out->keys[i].key = xstrdup(d->keys[i].key);
    out->keys[i].default_value = dup_or_null(d->keys[i].default_value);
    out->keys[i].choices = dup_or_null(d->keys[i].choices);
    out->keys[i].description = xstrdup(d->keys[i].description ? d->keys[i].description : "");
  }
}

static bool same_text(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

int dag_config_section_decl_compare(const struct dag_config_section_decl *a,
                                    const struct dag_config_section_decl *b, char **why) {
  *why = NULL;
  for (size_t i = 0; i < a->n_keys || i < b->n_keys; i++) {
    const struct dag_config_key_decl *x = i < a->n_keys ? &a->keys[i] : NULL;
    const struct dag_config_key_decl *y = i < b->n_keys ? &b->keys[i] : NULL;
    if (!x || !y || strcmp(x->key, y->key) != 0) {
      *why = xasprintf("key %zu is '%s' in one and '%s' in the other", i + 1,
                       x ? x->key : "(none)", y ? y->key : "(none)");
    } else if (x->type != y->type) {
      *why = xasprintf("key '%s' is of type %s in one and %s in the other", x->key,
                       dag_config_setting_type_key(x->type),
                       dag_config_setting_type_key(y->type));
    } else if (x->flags != y->flags) {
      *why = xasprintf("key '%s' is secret in only one", x->key);
    } else if (!same_text(x->default_value, y->default_value)) {
      *why = xasprintf("key '%s' has the default '%s' in one and '%s' in the other", x->key,
                       x->default_value ? x->default_value : "(none)",
                       y->default_value ? y->default_value : "(none)");
    } else if (!same_text(x->choices, y->choices) || x->min != y->min || x->max != y->max) {
      *why = xasprintf("key '%s' allows other values in each", x->key);
    }
    if (*why) return -1;
  }
  return 0;
}

/* --- one section ----------------------------------------------------------------- */

/* A declared key, as the rows of config.c describe a setting: `base` the
 * key itself, `file` (secrets only) the KEY_file spelling holding the path
 * of a file with the secret. */
struct slot {
  const struct dag_config_key_decl *decl;
  struct setting base, file;
  char *file_key;                   /* owned; NULL unless a secret */
  char *value;                      /* owned: the resolved normal form */
  const struct dag_config_raw *set[2]; /* by the file [0], the environment [1] */
  bool set_file_key[2];             /* ...through KEY_file */
};

struct section_check {
  struct dag_config *cfg;
  const struct dag_config_section_decl *decl;
  struct slot *slots;
  struct dag_diags *diags;
};

static void slots_init(struct section_check *c) {
  const struct dag_config_section_decl *d = c->decl;
  c->slots = xcalloc(d->n_keys ? d->n_keys : 1, sizeof(*c->slots));
  for (size_t i = 0; i < d->n_keys; i++) {
    const struct dag_config_key_decl *k = &d->keys[i];
    struct slot *s = &c->slots[i];
    bool secret = (k->flags & DAGCTL_SETTING_SECRET) != 0;
    s->decl = k;
    s->base = (struct setting){d->name,   k->key, type_of(k->type), 0, k->default_value,
                               k->min,    k->max, secret ? SECRET | NOT_IN_FILE : 0u,
                               k->choices};
    if (k->type == DAGCTL_SETTING_INTEGER) {
      /* No bounds declared (both 0): any int; the value is held in an int. */
      if (k->min == 0 && k->max == 0) {
        s->base.min = INT_MIN;
        s->base.max = INT_MAX;
      }
      if (s->base.min < INT_MIN) s->base.min = INT_MIN;
      if (s->base.max > INT_MAX) s->base.max = INT_MAX;
    }
    if (!secret) continue;
    /* Like smtp.password: the environment, or a file only its owner reads. */
    s->file_key = xasprintf("%s_file", k->key);
    s->file = (struct setting){
        d->name, s->file_key,
        k->type == DAGCTL_SETTING_TOKEN ? &dag_cfg_t_token_file : &dag_cfg_t_password_file,
        0,       NULL,
        0,       0,
        SECRET,  NULL};
  }
}

static void slots_free(struct section_check *c) {
  for (size_t i = 0; i < c->decl->n_keys; i++) {
    free(c->slots[i].file_key);
    free(c->slots[i].value);
  }
  free(c->slots);
}

static const char *suggest_key(const struct section_check *c, const char *word) {
  size_t n = c->decl->n_keys;
  const char **keys = xcalloc(2 * n + 1, sizeof(*keys));
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    keys[m++] = c->slots[i].base.key;
    if (c->slots[i].file_key) keys[m++] = c->slots[i].file_key;
  }
  const char *hint = dag_did_you_mean(word, keys, m);
  free(keys);
  return hint;
}

static void describe_at(struct strbuf *sb, const struct dag_config_raw *r) {
  if (r->env)
    sb_append(sb, r->where);
  else
    sb_appendf(sb, "line %d", r->vline);
}

/* Parse `text` for `st` and return its normal form (caller frees), or NULL
 * with the problem in *why (caller frees). */
static char *normal_form(const struct setting *st, const char *text, char **why) {
  union {
    char *s;
    int i;
    bool b;
    int64_t us;
  } field;
  memset(&field, 0, sizeof(field));
  *why = NULL;
  if (st->type->parse(st, text, &field, why) != 0) {
    if (st->type->field == DAG_CFG_FIELD_STRING) free(field.s);
    if (*why == NULL) {
      char *expect = dag_cfg_expectation(st);
      if (st->flags & SECRET)
        *why = xasprintf("expected %s", expect);
      else
        *why = xasprintf("expected %s, got '%s'", expect, text);
      free(expect);
    }
    return NULL;
  }
  char *v = dag_cfg_value_text(st->type, &field);
  if (st->type->field == DAG_CFG_FIELD_STRING) free(field.s);
  return v;
}

/* One line of the section from the file or the environment. */
static void check_raw(struct section_check *c, const struct dag_config_raw *r) {
  const char *section = c->decl->name;
  if (r->key == NULL) {
    if (r->kind)
      dag_diag_add(c->diags, r->where, r->vline, r->vcol,
                   "%s: expected a mapping of settings, got %s", section, r->kind);
    return;
  }
  struct slot *s = NULL;
  bool by_file = false;
  for (size_t i = 0; i < c->decl->n_keys && !s; i++) {
    if (strcmp(c->slots[i].base.key, r->key) == 0) s = &c->slots[i];
    if (c->slots[i].file_key && strcmp(c->slots[i].file_key, r->key) == 0) {
      s = &c->slots[i];
      by_file = true;
    }
  }
  if (s == NULL) {
    const char *hint = suggest_key(c, r->key);
    if (hint && r->env) {
      char *alt = dag_cfg_env_name(section, hint);
      dag_diag_add(c->diags, r->where, 0, 0, "unknown key '%s.%s' (did you mean %s?)",
                   section, r->key, alt);
      free(alt);
    } else if (hint) {
      dag_diag_add(c->diags, r->where, r->line, r->col,
                   "unknown key '%s.%s' (did you mean '%s.%s'?)", section, r->key, section,
                   hint);
    } else {
      dag_diag_add(c->diags, r->where, r->line, r->col, "unknown key '%s.%s'", section,
                   r->key);
    }
    return;
  }
  const struct setting *st = by_file ? &s->file : &s->base;
  if (r->kind) {
    char *expect = dag_cfg_expectation(st);
    dag_diag_add(c->diags, r->where, r->vline, r->vcol, "%s.%s: expected %s, got %s", section,
                 st->key, expect, r->kind);
    free(expect);
    return;
  }
  if (!r->env && (st->flags & NOT_IN_FILE)) {
    char *env = dag_cfg_env_name(section, st->key);
    dag_diag_add(c->diags, r->where, r->vline, r->vcol,
                 "%s.%s must not be written in clear in the config file; set %s in the "
                 "environment or %s.%s_file to a file only you can read",
                 section, st->key, env, section, st->key);
    free(env);
    return;
  }
  int layer = r->env ? 1 : 0;
  const struct dag_config_raw *first = s->set[layer];
  if (first) {
    struct strbuf sb = STRBUF_INIT;
    describe_at(&sb, first);
    const char *first_key = s->set_file_key[layer] ? s->file_key : s->base.key;
    if (s->set_file_key[layer] != by_file)
      dag_diag_add(c->diags, r->where, r->vline, r->vcol,
                   "%s.%s: conflicts with %s.%s (at %s); set only one", section, st->key,
                   section, first_key, sb_str(&sb));
    else if (!r->env)
      dag_diag_add(c->diags, r->where, r->vline, r->vcol,
                   "duplicate key '%s.%s' (first at %s)", section, st->key, sb_str(&sb));
    else
      dag_diag_add(c->diags, r->where, 0, 0, "%s.%s: also set by %s", section, st->key,
                   sb_str(&sb));
    sb_free(&sb);
    return;
  }
  s->set[layer] = r;
  s->set_file_key[layer] = by_file;

  char *why = NULL;
  char *v = normal_form(st, r->value, &why);
  if (v == NULL) {
    dag_diag_add(c->diags, r->where, r->vline, r->vcol, "%s.%s: %s", section, st->key, why);
    free(why);
    return;
  }
  /* The environment comes after the file: a later layer replaces. */
  free(s->value);
  s->value = v;
}

/* DAGCTL_HOME_PLACEHOLDER in a default, replaced by the home. */
static char *expand_home(const char *text, const char *home) {
  struct strbuf sb = STRBUF_INIT;
  size_t plen = strlen(DAGCTL_HOME_PLACEHOLDER);
  for (const char *p = text; *p;) {
    const char *at = strstr(p, DAGCTL_HOME_PLACEHOLDER);
    if (at == NULL) {
      sb_append(&sb, p);
      break;
    }
    sb_appendn(&sb, p, (size_t)(at - p));
    sb_append(&sb, home ? home : ".");
    p = at + plen;
  }
  return sb_detach(&sb);
}

static void apply_defaults(struct section_check *c) {
  for (size_t i = 0; i < c->decl->n_keys; i++) {
    struct slot *s = &c->slots[i];
    if (s->set[0] || s->set[1] || s->decl->default_value == NULL) continue;
    char *text = expand_home(s->decl->default_value, c->cfg->home);
    char *why = NULL;
    s->value = normal_form(&s->base, text, &why);
    if (s->value == NULL) {
      /* The plugin's mistake, not the user's: say whose. */
      dag_diag_add(c->diags, c->decl->owner ? c->decl->owner : "plugin", 0, 0,
                   "the declared default of %s.%s: %s", c->decl->name, s->base.key, why);
      free(why);
    }
    free(text);
  }
}

static void keep_values(struct section_check *c) {
  struct dag_config *cfg = c->cfg;
  size_t n = c->decl->n_keys;
  cfg->plugin_values =
      xrealloc(cfg->plugin_values, (cfg->n_plugin_values + n + 1) * sizeof(*cfg->plugin_values));
  for (size_t i = 0; i < n; i++) {
    struct slot *s = &c->slots[i];
    struct dag_config_plugin_value *v = &cfg->plugin_values[cfg->n_plugin_values++];
    v->section = xstrdup(c->decl->name);
    v->key = xstrdup(s->base.key);
    v->value = s->value;
    v->alias = s->file_key;
    v->secret = (s->base.flags & SECRET) != 0;
    if (v->secret && v->value) dag_log_mask(v->value);
    s->value = NULL;
    s->file_key = NULL;
  }
}


/* --- every section ------------------------------------------------------------------ */

static const struct dag_config_section_decl *find_decl(const struct dag_config *cfg,
                                                       const char *name) {
  for (size_t i = 0; i < cfg->n_decls; i++)
    if (strcmp(cfg->decls[i].name, name) == 0) return &cfg->decls[i];
  return NULL;
}

/* A kept section that nobody declares: a typo, or a plugin not installed. */
static void unknown_section(const struct dag_config *cfg, const struct dag_config_raw *r,
                            struct dag_diags *diags) {
  const char **names = xcalloc(cfg->n_decls + 16, sizeof(*names));
  size_t n = dag_cfg_core_sections(names, 16);
  for (size_t i = 0; i < cfg->n_decls; i++)
    names[n++] = cfg->decls[i].name;
  const char *hint = dag_did_you_mean(r->section, names, n);
  if (r->env) {
    char *alt = hint ? dag_cfg_env_name(hint, r->key) : NULL;
    if (alt)
      dag_diag_add(diags, r->where, 0, 0, "unknown section '%s' (did you mean %s?)",
                   r->section, alt);
    else
      dag_diag_add(diags, r->where, 0, 0, "unknown section '%s'", r->section);
    free(alt);
  } else if (hint) {
    dag_diag_add(diags, r->where, r->line, r->col, "unknown section '%s' (did you mean '%s'?)",
                 r->section, hint);
  } else {
    dag_diag_add(diags, r->where, r->line, r->col, "unknown section '%s'", r->section);
  }
  free(names);
}

static void clear_resolved(struct dag_config *cfg) {
  for (size_t i = 0; i < cfg->n_plugin_values; i++) {
    free(cfg->plugin_values[i].section);
    free(cfg->plugin_values[i].key);
    free(cfg->plugin_values[i].value);
    free(cfg->plugin_values[i].alias);
  }
  free(cfg->plugin_values);
  cfg->plugin_values = NULL;
  cfg->n_plugin_values = 0;
  for (size_t i = 0; i < cfg->n_decls; i++)
    dag_config_section_decl_free(&cfg->decls[i]);
  free(cfg->decls);
  cfg->decls = NULL;
  cfg->n_decls = 0;
}

int dag_config_check_plugins(struct dag_config *cfg,
                             const struct dag_config_section_decl *decls, size_t n,
                             bool whole, struct dag_diags *diags) {
  size_t errors_before = diags->n;
  clear_resolved(cfg);
  cfg->decls = xcalloc(n ? n : 1, sizeof(*cfg->decls));
  for (size_t i = 0; i < n; i++) {
    const struct dag_config_section_decl *d = &decls[i];
    if (dag_cfg_is_core_section(d->name)) {
      dag_diag_add(diags, d->owner ? d->owner : "plugin", 0, 0,
                   "declares the config section '%s', which is dagctl's own: ignored",
                   d->name);
      continue;
    }
    if (find_decl(cfg, d->name)) continue; /* merged by the caller: the first counts */
    dag_config_section_decl_copy(d, &cfg->decls[cfg->n_decls++]);
  }
  struct section_check *checks = xcalloc(cfg->n_decls + 1, sizeof(*checks));
  for (size_t i = 0; i < cfg->n_decls; i++) {
    checks[i] = (struct section_check){.cfg = cfg, .decl = &cfg->decls[i], .diags = diags};
    slots_init(&checks[i]);
  }
  /* In the order written, so that problems come out in file order. */
  for (size_t i = 0; i < cfg->n_raw; i++) {
    const struct dag_config_raw *r = &cfg->raw[i];
    const struct dag_config_section_decl *d = find_decl(cfg, r->section);
    if (d)
      check_raw(&checks[d - cfg->decls], r);
    else if (whole && (r->env || r->key == NULL))
      unknown_section(cfg, r, diags); /* once per section of the file, per variable */
  }
  for (size_t i = 0; i < cfg->n_decls; i++) {
    apply_defaults(&checks[i]);
    keep_values(&checks[i]);
    slots_free(&checks[i]);
  }
  free(checks);
  return diags->n > errors_before ? DAG_ECONFIG : 0;
}

/* --- listing and freeing ----------------------------------------------------------------- */

size_t dag_cfg_plugin_items(const struct dag_config *cfg, struct dag_config_item *items) {
  for (size_t i = 0; i < cfg->n_plugin_values; i++) {
    const struct dag_config_plugin_value *v = &cfg->plugin_values[i];
    struct dag_config_item *it = &items[i];
    it->section = v->section;
    it->key = v->key;
    it->alias = v->alias;
    it->secret = v->secret;
    /* A secret is never copied, only said to be set. */
    it->value = v->value ? xstrdup(v->secret ? "***" : v->value) : NULL;
  }
  return cfg->n_plugin_values;
}

void dag_cfg_plugins_free(struct dag_config *cfg) {
  clear_resolved(cfg);
  for (size_t i = 0; i < cfg->n_raw; i++) {
    free(cfg->raw[i].section);
    free(cfg->raw[i].key);
    free(cfg->raw[i].value);
    free(cfg->raw[i].where);
  }
  free(cfg->raw);
  cfg->raw = NULL;
  cfg->n_raw = 0;
}
