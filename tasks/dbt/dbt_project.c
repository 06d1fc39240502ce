/* dbt_project.c - load a dbt project: yml files, models, configs, the graph.
 *
 * Models are rendered twice, as dbt parses then compiles: the first pass
 * records each model's config() and refs (ref() renders a placeholder), so
 * that the second can render ref() as the relation its target's final
 * config gives it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"
#include "dbt_int.h"
#include "error.h"
#include "yaml_doc.h"

/* Problems found while loading, one "FILE:LINE: message" per line. */
struct problems {
  struct strbuf sb;
  int n;
};

static void problem(struct problems *pr, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct problems *pr, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  if (pr->sb.len) sb_appendc(&pr->sb, '\n');
  sb_appendf(&pr->sb, "%s:%d: %s", file, line, msg);
  free(msg);
  pr->n++;
}

void dbt__log(const struct dbt_project *p, int level, const char *fmt, ...) {
  if (p->opts.log == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  p->opts.log(p->opts.log_ud, level, msg);
  free(msg);
}

/* --- YAML ------------------------------------------------------------------ */

/* One .yml file, read through the YAML layer; its diagnostics become
 * problems when it is closed. */
struct ydoc {
  struct dag_ydoc doc;
  struct dag_yaml_ctx ctx;
  struct dag_diags diags;
  char *file; /* relative, for messages */
};

static const struct dag_yaml_options yaml_options = {.what = "dbt YAML file"};

static int ydoc_load(const char *path, const char *rel, struct ydoc *y) {
  memset(y, 0, sizeof(*y));
  y->file = xstrdup(rel);
  dag_yaml_ctx_init(&y->ctx, y->file, &y->diags);
  return dag_yaml_parse_file(&y->ctx, path, &yaml_options, &y->doc) == 0 ? 0 : -1;
}

static void ydoc_close(struct ydoc *y, struct problems *pr) {
  dag_yaml_ctx_finish(&y->ctx);
  for (size_t i = 0; i < y->diags.n; i++)
    problem(pr, y->file, y->diags.items[i].line, "%s", y->diags.items[i].msg);
  dag_diags_free(&y->diags);
  dag_ydoc_free(&y->doc);
  free(y->file);
}

/* A node as JSON: null when absent, or after an error (then a problem of
 * the file). */
static json_t *yjson(struct ydoc *y, const struct dag_ynode *n, const char *path) {
  json_t *j = n ? dag_yaml_to_json(&y->ctx, n, path) : NULL;
  return j ? j : json_null();
}

/* --- configs ----------------------------------------------------------------- */

struct config {
  char *materialized;
  char *schema;
  char *alias;
  struct strbuf tags; /* comma-separated */
  bool enabled;
  char *unique_key; /* incremental: column or "a, b" (identifiers), or NULL */
  json_t *indexes;  /* [{columns: [...], unique: bool}], checked; or NULL */
};

static void add_tag(struct config *c, const char *tag) {
  /* No duplicates: a folder tag repeated in the file is one tag. */
  const char *s = sb_str(&c->tags);
  size_t n = strlen(tag);
  for (const char *t = s; *t;) {
    size_t len = strcspn(t, ",");
    if (len == n && strncmp(t, tag, n) == 0) return;
    t += len + (t[len] == ',');
  }
  if (c->tags.len) sb_appendc(&c->tags, ',');
  sb_append(&c->tags, tag);
}

static void set_str(char **field, const char *v) {
  free(*field);
  *field = xstrdup(v);
}

/* Apply one config key; returns a message (caller frees) if it is bad. */
static char *apply_config(struct config *c, const char *key, json_t *v) {
  if (key[0] == '+') key++;
  if (strcmp(key, "materialized") == 0 || strcmp(key, "schema") == 0 ||
      strcmp(key, "alias") == 0) {
    if (!json_is_string(v)) return xasprintf("config %s: expected a string", key);
    const char *s = json_string_value(v);
    if (strcmp(key, "materialized") == 0) {
      if (strcmp(s, "table") != 0 && strcmp(s, "view") != 0 && strcmp(s, "incremental") != 0)
        return xasprintf("materialized '%s' is not supported (table, view or incremental)", s);
      set_str(&c->materialized, s);
    } else {
      if (!wh_is_identifier(s)) return xasprintf("%s '%s' is not an identifier", key, s);
      set_str(strcmp(key, "schema") == 0 ? &c->schema : &c->alias, s);
    }
  } else if (strcmp(key, "tags") == 0) {
    if (json_is_string(v)) {
      add_tag(c, json_string_value(v));
    } else if (json_is_array(v)) {
      size_t i;
      json_t *t;
      json_array_foreach(v, i, t) {
        if (!json_is_string(t)) return xstrdup("config tags: expected strings");
        add_tag(c, json_string_value(t));
      }
    } else {
      return xstrdup("config tags: expected a string or a list of strings");
    }
  } else if (strcmp(key, "enabled") == 0) {
    if (!json_is_boolean(v)) return xstrdup("config enabled: expected true or false");
    c->enabled = json_is_true(v);
  } else if (strcmp(key, "unique_key") == 0) {
    struct strbuf sb = STRBUF_INIT;
    size_t i;
    json_t *col;
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    bool ok = json_is_array(list) && json_array_size(list) > 0;
    json_array_foreach(list, i, col) {
      ok = ok && json_is_string(col) && wh_is_identifier(json_string_value(col));
      if (ok) sb_appendf(&sb, "%s%s", i ? ", " : "", json_string_value(col));
    }
    json_decref(list);
    if (!ok) {
      sb_free(&sb);
      return xstrdup("config unique_key: expected a column name or a list of column names");
    }
    free(c->unique_key);
    c->unique_key = sb_detach(&sb);
  } else if (strcmp(key, "indexes") == 0) {
    /* dbt-postgres's form: [{'columns': ['a', 'b'], 'unique': True}]. */
    size_t i, k;
    json_t *ix, *col;
    bool ok = json_is_array(v);
    json_array_foreach(v, i, ix) {
      json_t *cols = json_object_get(ix, "columns"), *uniq = json_object_get(ix, "unique");
      ok = ok && json_is_object(ix) && json_is_array(cols) && json_array_size(cols) > 0 &&
           (uniq == NULL || json_is_boolean(uniq));
      json_array_foreach(cols, k, col) ok =
          ok && json_is_string(col) && wh_is_identifier(json_string_value(col));
    }
    if (!ok)
      return xstrdup("config indexes: expected a list of {'columns': [names], "
                     "'unique': true|false}");
    json_decref(c->indexes);
    c->indexes = json_incref(v);
  }
  /* Other keys (docs, meta, persist_docs, ...) mean nothing here. */
  return NULL;
}

static bool is_config_key(const char *k, json_t *v) {
  if (k[0] == '+') return true;
  /* Without '+', a known config name whose value is not a folder mapping. */
  static const char *const known[] = {"materialized", "schema",     "alias",  "tags",
                                      "enabled",      "unique_key", "indexes"};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    if (strcmp(k, known[i]) == 0 && !json_is_object(v)) return true;
  return false;
}

static void apply_level(struct config *c, json_t *level, struct problems *pr) {
  const char *k;
  json_t *v;
  json_object_foreach(level, k, v) {
    if (!is_config_key(k, v)) continue;
    char *msg = apply_config(c, k, v);
    if (msg) problem(pr, "dbt_project.yml", 0, "models: %s", msg);
    free(msg);
  }
}

/* dbt_project.yml's models: PROJECT: folder: ... configs for folder `dir`. */
static void folder_config(json_t *models_cfg, const char *project, const char *dir,
                          struct config *c, struct problems *pr) {
  json_t *node = json_object_get(models_cfg, project);
  if (!json_is_object(node)) return;
  apply_level(c, node, pr);
  char *d = xstrdup(dir);
  for (char *part = d; *part;) {
    size_t len = strcspn(part, "/");
    char save = part[len];
    part[len] = '\0';
    node = json_object_get(node, part);
    if (!json_is_object(node)) break;
    apply_level(c, node, pr);
    if (save == '\0') break;
    part += len + 1;
  }
  free(d);
}

/* --- files -------------------------------------------------------------------- */

struct found {
  char **sql; /* relative paths */
  size_t n_sql, cap_sql;
  char **yml;
  size_t n_yml, cap_yml;
};

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *root, const char *rel, struct found *f) {
  char *path = xasprintf("%s/%s", root, rel);
  DIR *d = opendir(path);
  free(path);
  if (d == NULL) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char *r = xasprintf("%s/%s", rel, de->d_name);
    char *full = xasprintf("%s/%s", root, r);
    struct stat st;
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(root, r, f);
    } else if (has_suffix(r, ".sql")) {
      f->sql = xgrow(f->sql, &f->cap_sql, f->n_sql + 1, sizeof(*f->sql));
      f->sql[f->n_sql++] = r;
      r = NULL;
    } else if (has_suffix(r, ".yml") || has_suffix(r, ".yaml")) {
      f->yml = xgrow(f->yml, &f->cap_yml, f->n_yml + 1, sizeof(*f->yml));
      f->yml[f->n_yml++] = r;
      r = NULL;
    }
    free(full);
    free(r);
  }
  closedir(d);
}

static char *read_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return NULL;
  struct strbuf sb = STRBUF_INIT;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
    sb_appendn(&sb, buf, n);
  fclose(fp);
  char *s = sb_detach(&sb);
  return s ? s : xstrdup("");
}

/* --- pending tests, resolved once every model is known ------------------------ */

struct pending_test {
  char *file;
  int line;
  char *model;  /* model name, or NULL for a source */
  char *source; /* "src.table" for a source's test */
  char *column;
  json_t *spec; /* "not_null" or {"unique": {...}} */
};

struct loader {
  struct dbt_project *p;
  struct problems pr;
  json_t *models_cfg;            /* dbt_project.yml models: */
  json_t *yml_configs;           /* model name -> config object from yml */
  struct pending_test *tests;
  size_t n_tests, cap_tests;
  int pass;                      /* 1: parse, 2: compile */
  bool incremental;              /* pass 2: what is_incremental() says */
  size_t current;                /* the model being rendered */
  struct config cfg;             /* pass 1: the model's config so far */
  int config_line;
};

static void read_columns(struct loader *L, struct ydoc *y, const struct dag_ynode *cols,
                         const char *model, const char *source) {
  if (cols == NULL) return;
  if (cols->kind != DAG_YN_SEQ) {
    problem(&L->pr, y->file, cols->line, "columns: expected a list");
    return;
  }
  for (size_t it = 0; it < cols->n; it++) {
    const struct dag_ynode *col = cols->items[it];
    const char *cname = dag_yaml_scalar(dag_yaml_get(col, "name"));
    if (cname == NULL) {
      problem(&L->pr, y->file, col->line, "a column needs a name");
      continue;
    }
    const struct dag_ynode *tests = dag_yaml_get(col, "data_tests");
    if (tests == NULL) tests = dag_yaml_get(col, "tests");
    if (tests == NULL) continue;
    if (tests->kind != DAG_YN_SEQ) {
      problem(&L->pr, y->file, tests->line, "column %s: tests: expected a list", cname);
      continue;
    }
    for (size_t t = 0; t < tests->n; t++) {
      const struct dag_ynode *tn = tests->items[t];
      L->tests = xgrow(L->tests, &L->cap_tests, L->n_tests + 1, sizeof(*L->tests));
      struct pending_test *pt = &L->tests[L->n_tests++];
      pt->file = xstrdup(y->file);
      pt->line = tn->line;
      pt->model = model ? xstrdup(model) : NULL;
      pt->source = source ? xstrdup(source) : NULL;
      pt->column = xstrdup(cname);
      pt->spec = yjson(y, tn, cname);
    }
  }
}

static void read_properties(struct loader *L, const char *rel) {
  struct dbt_project *p = L->p;
  char *path = xasprintf("%s/%s", p->dir, rel);
  struct ydoc y;
  if (ydoc_load(path, rel, &y) < 0) {
    free(path);
    ydoc_close(&y, &L->pr);
    return;
  }
  free(path);
  const struct dag_ynode *root = y.doc.root;
  const struct dag_ynode *sources = dag_yaml_get(root, "sources");
  if (sources && sources->kind == DAG_YN_SEQ) {
    for (size_t it = 0; it < sources->n; it++) {
      const struct dag_ynode *src = sources->items[it];
      const char *sname = dag_yaml_scalar(dag_yaml_get(src, "name"));
      if (sname == NULL) {
        problem(&L->pr, rel, src->line, "a source needs a name");
        continue;
      }
      const char *schema = dag_yaml_scalar(dag_yaml_get(src, "schema"));
      if (schema == NULL) schema = sname;
      const struct dag_ynode *tables = dag_yaml_get(src, "tables");
      if (tables == NULL || tables->kind != DAG_YN_SEQ) {
        problem(&L->pr, rel, src->line, "source %s: tables: expected a list", sname);
        continue;
      }
      for (size_t t = 0; t < tables->n; t++) {
        const struct dag_ynode *tn = tables->items[t];
        const char *tname = dag_yaml_scalar(dag_yaml_get(tn, "name"));
        if (tname == NULL) {
          problem(&L->pr, rel, tn->line, "source %s: a table needs a name", sname);
          continue;
        }
        const char *ident = dag_yaml_scalar(dag_yaml_get(tn, "identifier"));
        if (ident == NULL) ident = tname;
        if (!wh_is_identifier(schema) || !wh_is_identifier(ident)) {
          problem(&L->pr, rel, tn->line, "source %s.%s: '%s.%s' is not a relation name", sname,
                  tname, schema, ident);
          continue;
        }
        p->sources = xgrow(p->sources, &p->cap_sources, p->n_sources + 1, sizeof(*p->sources));
        struct dbt_source *s = &p->sources[p->n_sources++];
        s->source = xstrdup(sname);
        s->table = xstrdup(tname);
        s->relation = xasprintf("%s.%s", schema, ident);
        char *sref = xasprintf("%s.%s", sname, tname);
        read_columns(L, &y, dag_yaml_get(tn, "columns"), NULL, sref);
        free(sref);
      }
    }
  }
  const struct dag_ynode *models = dag_yaml_get(root, "models");
  if (models && models->kind == DAG_YN_SEQ) {
    for (size_t it = 0; it < models->n; it++) {
      const struct dag_ynode *m = models->items[it];
      const char *mname = dag_yaml_scalar(dag_yaml_get(m, "name"));
      if (mname == NULL) {
        problem(&L->pr, rel, m->line, "a model needs a name");
        continue;
      }
      if (dbt_model_find(p, mname) < 0) {
        problem(&L->pr, rel, m->line, "properties for model '%s', which has no .sql file",
                mname);
        continue;
      }
      const struct dag_ynode *cfg = dag_yaml_get(m, "config");
      if (cfg) json_object_set_new(L->yml_configs, mname, yjson(&y, cfg, "config"));
      read_columns(L, &y, dag_yaml_get(m, "columns"), mname, NULL);
    }
  }
  ydoc_close(&y, &L->pr);
}

/* --- rendering ------------------------------------------------------------------ */

static const char *str_arg(const struct jinja_call *c, size_t i) {
  json_t *a = json_array_get(c->args, i);
  return json_is_string(a) ? json_string_value(a) : NULL;
}

static int render_var(struct loader *L, const struct jinja_call *c, struct strbuf *out,
                      char **err) {
  const char *name = str_arg(c, 0);
  size_t nargs = json_array_size(c->args);
  if (name == NULL || nargs > 2 || json_object_size(c->kwargs)) {
    *err = xstrdup("var() takes a name and an optional default: var('name', default)");
    return -1;
  }
  json_t *v = json_object_get(L->p->vars, name);
  if (v == NULL) v = json_array_get(c->args, 1);
  if (v == NULL) {
    *err = xasprintf("var('%s') is not defined (set it under vars: in dbt_project.yml, or "
                     "pass vars)",
                     name);
    return -1;
  }
  if (json_is_string(v))
    sb_append(out, json_string_value(v));
  else if (json_is_integer(v))
    sb_appendf(out, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    sb_appendf(out, "%.15g", json_real_value(v));
  else if (json_is_boolean(v))
    sb_append(out, json_is_true(v) ? "True" : "False");
  else if (json_is_null(v))
    sb_append(out, "None");
  else {
    *err = xasprintf("var('%s') is a list or mapping, which cannot be rendered into SQL", name);
    return -1;
  }
  return 0;
}

static int render_call(void *ud, const struct jinja_call *c, struct strbuf *out, char **err) {
  struct loader *L = ud;
  struct dbt_project *p = L->p;
  struct dbt_model *m = &p->models[L->current];
  if (c->bare) {
    if (strcmp(c->name, "this") != 0) {
      *err = xasprintf("unknown name '%s' (this engine knows {{ this }})", c->name);
      return -1;
    }
    /* The model's own relation; not known before pass two. */
    sb_append(out, L->pass == 1 ? "__this__" : m->relation);
    return 0;
  }
  if (strcmp(c->name, "ref") == 0) {
    size_t nargs = json_array_size(c->args);
    const char *name = str_arg(c, nargs == 2 ? 1 : 0);
    if (name == NULL || nargs < 1 || nargs > 2 || json_object_size(c->kwargs)) {
      *err = xstrdup("ref() takes a model name: ref('model')");
      return -1;
    }
    if (nargs == 2 && strcmp(str_arg(c, 0) ? str_arg(c, 0) : "", p->name) != 0) {
      *err = xasprintf("ref('%s', '%s'): packages other than this project are not supported",
                       str_arg(c, 0) ? str_arg(c, 0) : "?", name);
      return -1;
    }
    long target = dbt_model_find(p, name);
    if (target < 0) {
      *err = xasprintf("ref('%s') names no model of this project", name);
      return -1;
    }
    if (L->pass == 1) {
      size_t t = (size_t)target;
      bool seen = false;
      for (size_t i = 0; i < m->n_deps; i++)
        seen = seen || m->deps[i] == t;
      if (!seen) {
        m->deps = xgrow(m->deps, &m->cap_deps, m->n_deps + 1, sizeof(*m->deps));
        m->deps[m->n_deps++] = t;
      }
      sb_appendf(out, "__ref_%s__", name);
    } else {
      sb_append(out, p->models[target].relation);
    }
    return 0;
  }
  if (strcmp(c->name, "source") == 0) {
    const char *src = str_arg(c, 0), *table = str_arg(c, 1);
    if (src == NULL || table == NULL || json_array_size(c->args) != 2 ||
        json_object_size(c->kwargs)) {
      *err = xstrdup("source() takes a source and a table: source('bronze', 'plays')");
      return -1;
    }
    for (size_t i = 0; i < p->n_sources; i++) {
      if (strcmp(p->sources[i].source, src) == 0 && strcmp(p->sources[i].table, table) == 0) {
        sb_append(out, p->sources[i].relation);
        return 0;
      }
    }
    *err = xasprintf("source('%s', '%s') is not declared in any sources: file", src, table);
    return -1;
  }
  if (strcmp(c->name, "config") == 0) {
    if (json_array_size(c->args)) {
      *err = xstrdup("config() takes keyword arguments: config(materialized='table')");
      return -1;
    }
    if (L->pass == 1) {
      const char *k;
      json_t *v;
      json_object_foreach(c->kwargs, k, v) {
        char *msg = apply_config(&L->cfg, k, v);
        if (msg) {
          *err = msg;
          return -1;
        }
      }
      L->config_line = c->line;
    }
    return 0;
  }
  if (strcmp(c->name, "var") == 0) return render_var(L, c, out, err);
  *err = xasprintf("unknown function '%s()' (this engine knows ref(), source(), config() and "
                   "var())",
                   c->name);
  return -1;
}

/* {% if is_incremental() %}: false for a full build, true when adding to
 * the model's existing table; pass one takes both branches, so that a
 * ref() in either counts. */
static int render_test(void *ud, const struct jinja_call *c, int *out, char **err) {
  struct loader *L = ud;
  if (strcmp(c->name, "is_incremental") != 0 || c->bare || json_array_size(c->args) ||
      json_object_size(c->kwargs)) {
    *err = xasprintf("unsupported test '%s' in {%% if %%} (only is_incremental())", c->name);
    return -1;
  }
  *out = L->pass == 1 ? JINJA_BOTH : L->incremental ? JINJA_TRUE : JINJA_FALSE;
  return 0;
}

/* --- the graph --------------------------------------------------------------------- */

/* Depth-first search for a cycle; reports the first one found through each
 * model not yet visited. color: 0 new, 1 on the stack, 2 done. */
static bool find_cycle(struct loader *L, size_t i, int *color, size_t *stack, size_t depth) {
  struct dbt_project *p = L->p;
  color[i] = 1;
  stack[depth] = i;
  for (size_t d = 0; d < p->models[i].n_deps; d++) {
    size_t j = p->models[i].deps[d];
    if (color[j] == 1) {
      struct strbuf path = STRBUF_INIT, files = STRBUF_INIT;
      size_t start = 0;
      while (stack[start] != j)
        start++;
      for (size_t k = start; k <= depth; k++) {
        sb_appendf(&path, "%s -> ", p->models[stack[k]].name);
        sb_appendf(&files, "%s%s", k > start ? ", " : "", p->models[stack[k]].path);
      }
      sb_append(&path, p->models[j].name);
      problem(&L->pr, p->models[j].path, 1, "dependency cycle: %s (%s)", sb_str(&path),
              sb_str(&files));
      sb_free(&path);
      sb_free(&files);
      color[i] = 2;
      return true;
    }
    if (color[j] == 0 && find_cycle(L, j, color, stack, depth + 1)) {
      color[i] = 2;
      return true;
    }
  }
  color[i] = 2;
  return false;
}

/* Kahn's algorithm, taking ready models in name order for a stable plan. */
static void topo_sort(struct dbt_project *p) {
  size_t n = p->n_models;
  size_t *indeg = xcalloc(n + 1, sizeof(*indeg));
  bool *placed = xcalloc(n + 1, sizeof(*placed));
  p->order = xcalloc(n + 1, sizeof(*p->order));
  for (size_t i = 0; i < n; i++)
    indeg[i] = p->models[i].n_deps;
  for (size_t k = 0; k < n; k++) {
    size_t best = n;
    for (size_t i = 0; i < n; i++)
      if (!placed[i] && indeg[i] == 0 &&
          (best == n || strcmp(p->models[i].name, p->models[best].name) < 0))
        best = i;
    if (best == n) break; /* a cycle, reported already */
    placed[best] = true;
    p->order[k] = best;
    for (size_t i = 0; i < n; i++)
      for (size_t d = 0; d < p->models[i].n_deps; d++)
        if (p->models[i].deps[d] == best) indeg[i]--;
  }
  free(indeg);
  free(placed);
}

/* --- tests --------------------------------------------------------------------------- */

static bool is_number_text(const char *s) {
  if (*s == '\0' || s[strspn(s, "0123456789+-.eE")] != '\0') return false;
  char *end;
  strtod(s, &end);
  return *end == '\0';
}

/* A JSON scalar as SQL: a quoted string or a number. */
static char *sql_literal(json_t *v, bool quote) {
  if (json_is_string(v)) {
    if (!quote) return is_number_text(json_string_value(v)) ? xstrdup(json_string_value(v)) : NULL;
    struct strbuf sb = STRBUF_INIT;
    sb_appendc(&sb, '\'');
    for (const char *s = json_string_value(v); *s; s++) {
      if (*s == '\'') sb_appendc(&sb, '\'');
      sb_appendc(&sb, *s);
    }
    sb_appendc(&sb, '\'');
    return sb_detach(&sb);
  }
  if (json_is_integer(v)) return xasprintf("%lld", (long long)json_integer_value(v));
  if (json_is_real(v)) return xasprintf("%.15g", json_real_value(v));
  return NULL;
}

static char *num_literal(json_t *v) {
  if (json_is_integer(v) || json_is_real(v)) return sql_literal(v, true);
  if (json_is_string(v) && is_number_text(json_string_value(v)))
    return xstrdup(json_string_value(v));
  return NULL;
}

static void add_test(struct loader *L, struct pending_test *pt) {
  struct dbt_project *p = L->p;
  const char *kind;
  json_t *args;
  if (json_is_string(pt->spec)) {
    kind = json_string_value(pt->spec);
    args = NULL;
  } else if (json_is_object(pt->spec) && json_object_size(pt->spec) == 1) {
    void *it = json_object_iter(pt->spec);
    kind = json_object_iter_key(it);
    args = json_object_iter_value(it);
  } else {
    problem(&L->pr, pt->file, pt->line, "a test is a name or a mapping of one name to its "
                                        "arguments");
    return;
  }
  /* dbt 1.10 also nests them under arguments:. */
  json_t *nested = json_object_get(args, "arguments");
  json_t *a = json_is_object(nested) ? nested : args;
  const char *short_kind = strncmp(kind, "dbt_utils.", 10) == 0 ? kind + 10 : kind;

  const char *relation = NULL;
  long model = -1;
  const char *owner;
  if (pt->model) {
    model = dbt_model_find(p, pt->model);
    relation = p->models[model].relation;
    owner = pt->model;
  } else {
    for (size_t i = 0; i < p->n_sources; i++) {
      char *sref = xasprintf("%s.%s", p->sources[i].source, p->sources[i].table);
      if (strcmp(sref, pt->source) == 0) relation = p->sources[i].relation;
      free(sref);
    }
    owner = pt->source;
  }
  const char *col = pt->column;
  if (!wh_is_identifier(col)) {
    problem(&L->pr, pt->file, pt->line, "column '%s' is not an identifier", col);
    return;
  }
  char *sql = NULL, *suffix = NULL;
  if (strcmp(kind, "not_null") == 0) {
    sql = xasprintf("SELECT * FROM %s WHERE %s IS NULL", relation, col);
  } else if (strcmp(kind, "unique") == 0) {
    sql = xasprintf("SELECT %s AS unique_field, COUNT(*) AS n_records FROM %s WHERE %s IS NOT "
                    "NULL GROUP BY %s HAVING COUNT(*) > 1",
                    col, relation, col, col);
  } else if (strcmp(kind, "accepted_values") == 0) {
    json_t *values = json_object_get(a, "values");
    json_t *quote = json_object_get(a, "quote");
    if (!json_is_array(values) || json_array_size(values) == 0) {
      problem(&L->pr, pt->file, pt->line, "accepted_values needs values: a non-empty list");
      return;
    }
    struct strbuf in = STRBUF_INIT, sfx = STRBUF_INIT;
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v) {
      char *lit = sql_literal(v, !json_is_false(quote));
      if (lit == NULL) {
        problem(&L->pr, pt->file, pt->line, "accepted_values: value %zu is not a string or "
                                            "number",
                i + 1);
        sb_free(&in);
        sb_free(&sfx);
        return;
      }
      sb_appendf(&in, "%s%s", i ? ", " : "", lit);
      if (json_is_string(v)) sb_appendf(&sfx, "__%s", json_string_value(v));
      free(lit);
    }
    sql = xasprintf("SELECT %s AS value_field, COUNT(*) AS n_records FROM %s WHERE %s NOT IN "
                    "(%s) GROUP BY %s",
                    col, relation, col, sb_str(&in), col);
    suffix = sb_detach(&sfx);
    sb_free(&in);
  } else if (strcmp(kind, "relationships") == 0) {
    json_t *to = json_object_get(a, "to"), *field = json_object_get(a, "field");
    const char *to_s = json_string_value(to);
    char name[256] = "";
    const char *parent = NULL;
    if (to_s && sscanf(to_s, " ref ( '%255[^']' ) ", name) == 1) {
      long t = dbt_model_find(p, name);
      if (t >= 0) parent = p->models[t].relation;
    } else if (to_s && sscanf(to_s, " ref ( \"%255[^\"]\" ) ", name) == 1) {
      long t = dbt_model_find(p, name);
      if (t >= 0) parent = p->models[t].relation;
    }
    if (parent == NULL) {
      problem(&L->pr, pt->file, pt->line,
              "relationships: to: must be ref('model') naming a model of this project");
      return;
    }
    if (!json_is_string(field) || !wh_is_identifier(json_string_value(field))) {
      problem(&L->pr, pt->file, pt->line, "relationships: field: must be a column name");
      return;
    }
    const char *f = json_string_value(field);
    sql = xasprintf("SELECT child.%s AS from_field FROM %s AS child LEFT JOIN %s AS parent ON "
                    "child.%s = parent.%s WHERE child.%s IS NOT NULL AND parent.%s IS NULL",
                    col, relation, parent, col, f, col, f);
    suffix = xasprintf("__%s__%s", f, name);
  } else if (strcmp(short_kind, "accepted_range") == 0) {
    json_t *mn = json_object_get(a, "min_value"), *mx = json_object_get(a, "max_value");
    json_t *inc = json_object_get(a, "inclusive");
    char *lo = mn ? num_literal(mn) : NULL, *hi = mx ? num_literal(mx) : NULL;
    if ((mn && !lo) || (mx && !hi) || (!mn && !mx)) {
      problem(&L->pr, pt->file, pt->line,
              "accepted_range needs min_value and/or max_value, as numbers");
      free(lo);
      free(hi);
      return;
    }
    bool inclusive = !json_is_false(inc);
    struct strbuf cond = STRBUF_INIT;
    if (lo) sb_appendf(&cond, "%s %s %s", col, inclusive ? ">=" : ">", lo);
    if (lo && hi) sb_append(&cond, " AND ");
    if (hi) sb_appendf(&cond, "%s %s %s", col, inclusive ? "<=" : "<", hi);
    sql = xasprintf("SELECT * FROM %s WHERE NOT (%s)", relation, sb_str(&cond));
    sb_free(&cond);
    free(lo);
    free(hi);
    kind = "accepted_range";
  } else {
    problem(&L->pr, pt->file, pt->line,
            "unknown test '%s' (supported: not_null, unique, accepted_values, relationships, "
            "accepted_range)",
            kind);
    return;
  }
  json_t *config = json_object_get(args, "config");
  const char *severity = json_string_value(json_object_get(config, "severity"));
  if (severity == NULL) severity = json_string_value(json_object_get(args, "severity"));
  if (severity && strcasecmp(severity, "warn") != 0 && strcasecmp(severity, "error") != 0) {
    problem(&L->pr, pt->file, pt->line, "severity '%s': expected warn or error", severity);
    free(sql);
    free(suffix);
    return;
  }
  p->tests = xgrow(p->tests, &p->cap_tests, p->n_tests + 1, sizeof(*p->tests));
  struct dbt_test *t = &p->tests[p->n_tests++];
  char *base = xasprintf("%s_%s_%s%s", kind, owner, col, suffix ? suffix : "");
  for (char *s = base; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) *s = '_';
  /* dbt disambiguates equal names too; so do we. */
  t->name = xstrdup(base);
  for (size_t k = 2;; k++) {
    bool clash = false;
    for (size_t i = 0; i + 1 < p->n_tests && !clash; i++)
      clash = strcmp(p->tests[i].name, t->name) == 0;
    if (!clash) break;
    free(t->name);
    t->name = xasprintf("%s_%zu", base, k);
  }
  free(base);
  t->kind = xstrdup(kind);
  t->file = xstrdup(pt->file);
  t->line = pt->line;
  t->model = model;
  t->relation = xstrdup(relation);
  t->column = xstrdup(col);
  t->sql = sql;
  t->warn = severity && strcasecmp(severity, "warn") == 0;
  free(suffix);
}

/* --- loading ---------------------------------------------------------------------------- */

static void read_project_file(struct loader *L, json_t **model_paths, char **target_path) {
  struct dbt_project *p = L->p;
  char *path = xasprintf("%s/dbt_project.yml", p->dir);
  struct ydoc y;
  *model_paths = NULL;
  *target_path = NULL;
  if (ydoc_load(path, "dbt_project.yml", &y) == 0) {
    const struct dag_ynode *root = y.doc.root;
    const char *name = dag_yaml_scalar(dag_yaml_get(root, "name"));
    if (name == NULL || !wh_is_identifier(name))
      problem(&L->pr, "dbt_project.yml", root ? root->line : 1,
              "name: required, an identifier such as spotify_dbt");
    else
      p->name = xstrdup(name);
    const struct dag_ynode *mp = dag_yaml_get(root, "model-paths");
    if (mp == NULL) mp = dag_yaml_get(root, "source-paths"); /* dbt < 1.0 */
    if (mp) *model_paths = yjson(&y, mp, "model-paths");
    const char *tp = dag_yaml_scalar(dag_yaml_get(root, "target-path"));
    if (tp) *target_path = xstrdup(tp);
    json_t *vars = yjson(&y, dag_yaml_get(root, "vars"), "vars");
    if (json_is_object(vars)) {
      /* vars: {project: {...}} scopes them to this project. */
      json_t *scoped = p->name ? json_object_get(vars, p->name) : NULL;
      if (json_is_object(scoped)) json_object_update(vars, scoped);
      json_object_update(p->vars, vars);
    }
    json_decref(vars);
    json_t *models = yjson(&y, dag_yaml_get(root, "models"), "models");
    if (json_is_object(models)) json_object_update(L->models_cfg, models);
    json_decref(models);
  }
  ydoc_close(&y, &L->pr);
  free(path);
}

int dbt_project_load(const struct dbt_options *opts, struct dbt_project **out, char **err) {
  *out = NULL;
  struct dbt_project *p = xcalloc(1, sizeof(*p));
  p->opts = *opts;
  p->dir = xstrdup(opts->project_dir);
  p->vars = json_object();
  p->default_schema = xstrdup(opts->default_schema ? opts->default_schema : "main");
  struct loader L = {.p = p, .models_cfg = json_object(), .yml_configs = json_object()};

  json_t *model_paths;
  char *target_path;
  read_project_file(&L, &model_paths, &target_path);
  if (opts->vars_json) {
    json_error_t jerr;
    json_t *v = json_loads(opts->vars_json, 0, &jerr);
    if (!json_is_object(v))
      problem(&L.pr, "vars", 1, "expected a JSON object such as {\"top_n\": 10}");
    else
      json_object_update(p->vars, v);
    json_decref(v);
  }
  p->target_dir = opts->target_dir ? xstrdup(opts->target_dir)
                                   : xasprintf("%s/%s", p->dir, target_path ? target_path
                                                                            : "target");
  free(target_path);

  /* Models and property files under each model path. */
  struct found f = {0};
  if (!json_is_array(model_paths)) {
    json_decref(model_paths);
    model_paths = json_pack("[s]", "models");
  }
  size_t mi;
  json_t *mpath;
  json_array_foreach(model_paths, mi, mpath) {
    const char *mp = json_string_value(mpath);
    if (mp == NULL) continue;
    size_t sql_before = f.n_sql;
    walk(p->dir, mp, &f);
    /* readdir's order is the file system's: sort, so plans and messages do
     * not change from one machine to the next. */
    if (f.n_sql > sql_before)
      qsort(f.sql + sql_before, f.n_sql - sql_before, sizeof(*f.sql), cmp_str);
    for (size_t i = sql_before; i < f.n_sql; i++) {
      const char *rel = f.sql[i];
      const char *base = strrchr(rel, '/') + 1;
      char *name = xstrndup(base, strlen(base) - 4);
      long dup = dbt_model_find(p, name);
      if (dup >= 0) {
        problem(&L.pr, rel, 1, "model '%s' is also defined in %s", name, p->models[dup].path);
        free(name);
        continue;
      }
      p->models = xgrow(p->models, &p->cap_models, p->n_models + 1, sizeof(*p->models));
      struct dbt_model *m = &p->models[p->n_models++];
      memset(m, 0, sizeof(*m));
      m->name = name;
      m->path = xstrdup(rel);
      size_t mplen = strlen(mp);
      const char *sub = rel + mplen + (rel[mplen] == '/');
      m->dir = xstrndup(sub, (size_t)(base - sub) - (base > sub));
      char *full = xasprintf("%s/%s", p->dir, rel);
      m->raw = read_file(full);
      free(full);
      if (m->raw == NULL) {
        problem(&L.pr, rel, 0, "cannot read: %s", strerror(errno));
        m->raw = xstrdup("");
      }
    }
  }
  json_decref(model_paths);
  if (p->n_models == 0 && L.pr.n == 0)
    problem(&L.pr, "dbt_project.yml", 1, "no models (.sql files) under the model paths");
  if (f.n_yml) qsort(f.yml, f.n_yml, sizeof(*f.yml), cmp_str);
  for (size_t i = 0; i < f.n_yml; i++)
    read_properties(&L, f.yml[i]);

  /* Pass one: configs and refs. */
  L.pass = 1;
  for (size_t i = 0; i < p->n_models && p->name; i++) {
    struct dbt_model *m = &p->models[i];
    memset(&L.cfg, 0, sizeof(L.cfg));
    L.cfg.enabled = true;
    L.config_line = 1;
    folder_config(L.models_cfg, p->name, m->dir, &L.cfg, &L.pr);
    json_t *ycfg = json_object_get(L.yml_configs, m->name);
    const char *k;
    json_t *v;
    json_object_foreach(ycfg, k, v) {
      char *msg = apply_config(&L.cfg, k, v);
      if (msg) problem(&L.pr, m->path, 1, "yml config: %s", msg);
      free(msg);
    }
    L.current = i;
    char *rendered = NULL, *jerr = NULL;
    if (dbt__jinja_render(m->path, m->raw, render_call, render_test, &L, &rendered, &jerr) <
        0) {
      if (L.pr.sb.len) sb_appendc(&L.pr.sb, '\n');
      sb_append(&L.pr.sb, jerr);
      L.pr.n++;
    }
    free(rendered);
    free(jerr);
    m->materialized = xstrdup(L.cfg.materialized ? L.cfg.materialized : "view");
    m->schema = xstrdup(L.cfg.schema ? L.cfg.schema : p->default_schema);
    m->alias = xstrdup(L.cfg.alias ? L.cfg.alias : m->name);
    m->relation = xasprintf("%s.%s", m->schema, m->alias);
    m->tags = sb_detach(&L.cfg.tags);
    if (m->tags == NULL) m->tags = xstrdup("");
    m->enabled = L.cfg.enabled;
    m->unique_key = L.cfg.unique_key;
    m->indexes = L.cfg.indexes;
    if (m->unique_key && strcmp(m->materialized, "incremental") != 0)
      problem(&L.pr, m->path, L.config_line,
              "unique_key is for incremental models (materialized '%s')", m->materialized);
    free(L.cfg.materialized);
    free(L.cfg.schema);
    free(L.cfg.alias);
  }
  for (size_t i = 0; i < p->n_models; i++)
    for (size_t j = 0; j < i; j++)
      if (p->models[i].relation && p->models[j].relation &&
          strcmp(p->models[i].relation, p->models[j].relation) == 0)
        problem(&L.pr, p->models[i].path, 1, "model '%s' builds %s, as %s does",
                p->models[i].name, p->models[i].relation, p->models[j].path);

  /* The graph. */
  if (L.pr.n == 0) {
    int *color = xcalloc(p->n_models + 1, sizeof(*color));
    size_t *stack = xcalloc(p->n_models + 1, sizeof(*stack));
    for (size_t i = 0; i < p->n_models; i++)
      if (color[i] == 0) find_cycle(&L, i, color, stack, 0);
    free(color);
    free(stack);
  }
  if (L.pr.n == 0) {
    topo_sort(p);
    /* Pass two: compile with final relation names. */
    L.pass = 2;
    for (size_t k = 0; k < p->n_models; k++) {
      size_t i = p->order[k];
      L.current = i;
      struct dbt_model *m = &p->models[i];
      /* An incremental model compiles twice: its full build, and what it
       * adds to its existing table (is_incremental() true). */
      for (int inc = 0; inc <= (strcmp(m->materialized, "incremental") == 0); inc++) {
        char *jerr = NULL;
        L.incremental = inc;
        if (dbt__jinja_render(m->path, m->raw, render_call, render_test, &L,
                              inc ? &m->compiled_incremental : &m->compiled, &jerr) < 0) {
          if (L.pr.sb.len) sb_appendc(&L.pr.sb, '\n');
          sb_append(&L.pr.sb, jerr);
          L.pr.n++;
          free(jerr);
          break;
        }
      }
      L.incremental = false;
    }
    for (size_t i = 0; i < L.n_tests; i++)
      add_test(&L, &L.tests[i]);
  }

  for (size_t i = 0; i < L.n_tests; i++) {
    free(L.tests[i].file);
    free(L.tests[i].model);
    free(L.tests[i].source);
    free(L.tests[i].column);
    json_decref(L.tests[i].spec);
  }
  free(L.tests);
  for (size_t i = 0; i < f.n_sql; i++)
    free(f.sql[i]);
  for (size_t i = 0; i < f.n_yml; i++)
    free(f.yml[i]);
  free(f.sql);
  free(f.yml);
  json_decref(L.models_cfg);
  json_decref(L.yml_configs);
  if (L.pr.n) {
    *err = sb_detach(&L.pr.sb);
    dbt_project_free(p);
    return DAG_EINVAL;
  }
  sb_free(&L.pr.sb);
  *out = p;
  return 0;
}

void dbt_project_free(struct dbt_project *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->n_models; i++) {
    struct dbt_model *m = &p->models[i];
    free(m->name);
    free(m->path);
    free(m->dir);
    free(m->raw);
    free(m->compiled);
    free(m->compiled_incremental);
    free(m->unique_key);
    json_decref(m->indexes);
    free(m->materialized);
    free(m->schema);
    free(m->alias);
    free(m->relation);
    free(m->tags);
    free(m->deps);
  }
  for (size_t i = 0; i < p->n_sources; i++) {
    free(p->sources[i].source);
    free(p->sources[i].table);
    free(p->sources[i].relation);
  }
  for (size_t i = 0; i < p->n_tests; i++) {
    struct dbt_test *t = &p->tests[i];
    free(t->name);
    free(t->kind);
    free(t->file);
    free(t->relation);
    free(t->column);
    free(t->sql);
  }
  free(p->models);
  free(p->sources);
  free(p->tests);
  free(p->order);
  free(p->dir);
  free(p->name);
  free(p->target_dir);
  free(p->default_schema);
  json_decref(p->vars);
  free(p);
}

/* --- introspection ------------------------------------------------------------------------ */

size_t dbt_model_count(const struct dbt_project *p) {
  return p->n_models;
}

long dbt_model_find(const struct dbt_project *p, const char *name) {
  for (size_t i = 0; i < p->n_models; i++)
    if (strcmp(p->models[i].name, name) == 0) return (long)i;
  return -1;
}

const char *dbt_model_name(const struct dbt_project *p, size_t i) {
  return p->models[i].name;
}

const char *dbt_model_relation(const struct dbt_project *p, size_t i) {
  return p->models[i].relation;
}

const char *dbt_model_materialized(const struct dbt_project *p, size_t i) {
  return p->models[i].materialized;
}

const char *dbt_model_compiled_sql(const struct dbt_project *p, size_t i) {
  return p->models[i].compiled;
}

const char *dbt_model_tags(const struct dbt_project *p, size_t i) {
  return p->models[i].tags;
}

size_t dbt_test_count(const struct dbt_project *p) {
  return p->n_tests;
}

const char *dbt_test_name(const struct dbt_project *p, size_t i) {
  return p->tests[i].name;
}

const char *dbt_test_sql(const struct dbt_project *p, size_t i) {
  return p->tests[i].sql;
}
