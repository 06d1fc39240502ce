/* dbt_int.h - shared by the dbt engine's files. Not a public interface. */
#ifndef DAGCTL_DBT_INT_H
#define DAGCTL_DBT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dbt.h"
#include "strbuf.h"

/* --- Jinja (dbt_jinja.c) --------------------------------------------------- */

/* A call found in {{ }}: name(args..., kw=value...). Arguments are JSON
 * (strings, numbers, booleans, null, lists). */
struct jinja_call {
  const char *name;
  json_t *args;   /* array */
  json_t *kwargs; /* object */
  int line;
  bool bare; /* a name without parentheses, such as `this` */
};

/* Append what the call renders to; return 0 or -1 with *err (the message
 * without the file:line, which the renderer adds). */
typedef int (*jinja_call_fn)(void *ud, const struct jinja_call *call, struct strbuf *out,
                             char **err);

/* An {% if %}'s test: set *out to JINJA_TRUE or JINJA_FALSE, or to
 * JINJA_BOTH to emit both branches (to find every ref() whatever the test
 * will say); return 0 or -1 with *err, as jinja_call_fn. */
enum { JINJA_FALSE, JINJA_TRUE, JINJA_BOTH };
typedef int (*jinja_test_fn)(void *ud, const struct jinja_call *call, int *out, char **err);

/* Render `text` from `file`; `test` NULL refuses every {% %} statement.
 * Returns 0 and *out (caller frees), or -1 with *err = "FILE:LINE: message"
 * (caller frees). */
int dbt__jinja_render(const char *file, const char *text, jinja_call_fn fn,
                      jinja_test_fn test, void *ud, char **out, char **err);

/* --- the project (dbt_project.c) --------------------------------------------- */

struct dbt_model {
  char *name;
  char *path;      /* relative to the project, e.g. models/gold/top_tracks.sql */
  char *dir;       /* folder under its model path: "gold", "" at the top */
  char *raw;       /* the file */
  char *compiled;  /* after pass two; an incremental model's full build */
  char *compiled_incremental; /* incremental: with is_incremental() true, else NULL */
  char *materialized;
  char *unique_key; /* incremental: "col" or "a, b", or NULL */
  json_t *indexes;  /* [{columns: [...], unique: bool}] or NULL, checked */
  char *schema;
  char *alias;
  char *relation;  /* schema.alias */
  char *tags;      /* comma-separated */
  bool enabled;
  size_t *deps;    /* models it refs, indexes */
  size_t n_deps, cap_deps;
};

struct dbt_source {
  char *source;     /* sources: name */
  char *table;      /* tables: name */
  char *relation;   /* schema.identifier */
};

struct dbt_test {
  char *name;
  char *kind;     /* not_null unique accepted_values relationships accepted_range */
  char *file;     /* yml file, relative */
  int line;
  long model;     /* index, or -1 for a source's test */
  char *relation; /* what it tests */
  char *column;
  char *sql;      /* failing rows */
  bool warn;      /* severity warn */
};

struct dbt_project {
  struct dbt_options opts;
  char *dir;
  char *name;
  char *target_dir;
  json_t *vars; /* object */
  char *default_schema;
  struct dbt_model *models;
  size_t n_models, cap_models;
  struct dbt_source *sources;
  size_t n_sources, cap_sources;
  struct dbt_test *tests;
  size_t n_tests, cap_tests;
  size_t *order; /* models in a topological order */
};

/* Selected models as a bool per model (caller frees), or NULL with *err.
 * `with_sources` says a source: selector was given (or no selection). */
bool *dbt__select(const struct dbt_project *p, const char *select, bool *with_sources,
                  char **err);

void dbt__log(const struct dbt_project *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
