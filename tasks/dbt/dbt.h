/* dbt.h - a dbt project run without Python: the subset our models use.
 *
 * A project is a folder as dbt knows it: dbt_project.yml (name, model-paths,
 * target-path, vars, models: folder configs with + keys), .sql models, and
 * .yml property files (sources:, models: with columns and their tests).
 * Models are Jinja with exactly these forms, so the same files run on real
 * dbt:
 *   {{ ref('model') }}                 the model's relation, schema.alias
 *   {{ source('src', 'table') }}       a table declared in a sources: file
 *   {{ config(materialized='table'|'view'|'incremental', schema='gold',
 *             alias='x', tags=['a'], enabled=true, unique_key='id' or ['a', 'b'],
 *             indexes=[{'columns': ['a'], 'unique': true}]) }}
 *   {{ this }}                         the model's own relation
 *   {% if [not] is_incremental() %} ... [{% else %} ...] {% endif %}
 *   {{ var('name') }}, {{ var('name', default) }}
 *   {# comment #}, and {{- -}} whitespace control
 * Anything else inside {{ }} or {% %} is an error naming file:line.
 * An incremental model is built in full the first time (is_incremental()
 * false); afterwards its rows with is_incremental() true replace the
 * table's rows with the same unique_key and are added (dbt's
 * delete+insert), in one transaction. `indexes` (dbt-postgres's config,
 * on both backends) are created on the model's table after each build.
 * As in dbt, Jinja inside SQL -- comments is still rendered.
 *
 * Schemas: a model's schema is its `schema` config verbatim (the project
 * ships a generate_schema_name macro so real dbt does the same), else the
 * default schema. Config precedence as in dbt: dbt_project.yml folders, then
 * the model's yml `config:`, then config() in the file; tags accumulate.
 *
 * Loading checks the whole project: unknown refs, sources that are not
 * declared, cycles (naming each file on the cycle), unknown tests, bad
 * materializations. Every problem found is reported, one per line. */
#ifndef DAGCTL_DBT_H
#define DAGCTL_DBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wh.h"

struct dbt_project;

/* Levels as in dagctl/plugin.h: 0 debug, 1 info, 2 warn, 3 error. */
typedef void (*dbt_log_fn)(void *ud, int level, const char *msg);

struct dbt_options {
  const char *project_dir;    /* required */
  const char *target_dir;     /* NULL: PROJECT_DIR/<target-path> (default "target") */
  const char *vars_json;      /* NULL, or a JSON object overriding the project's vars */
  const char *default_schema; /* NULL: "main" */
  dbt_log_fn log;             /* may be NULL */
  void *log_ud;
  int (*cancelled)(void *ud); /* may be NULL; checked between models and tests */
  void *cancel_ud;
  /* dbt's threads: models whose upstream models are built run side by side,
   * each thread on its own connection opened with wh_opts (borrowed; NULL:
   * one thread). 0 or 1: one at a time. */
  int threads;
  const struct wh_options *wh_opts;
  bool full_refresh; /* dbt run --full-refresh: incremental models built in full */
};

/* Load and check the project. On failure *err holds every problem, one per
 * line, each starting "FILE:LINE: " (FILE relative to the project). */
int dbt_project_load(const struct dbt_options *opts, struct dbt_project **out, char **err);
void dbt_project_free(struct dbt_project *p);

/* Write each selected model's compiled SQL to
 * TARGET/compiled/PROJECT/models/..., and each selected test's query beside
 * its yml file's path. `select` as for dbt_run(). */
int dbt_compile(struct dbt_project *p, const char *select, char **err);

struct dbt_run_result {
  int ok;
  int failed;
  int skipped; /* downstream of a failure */
};

/* Build the selected models in dependency order. `select`: NULL or "" for
 * all; else space-separated selectors, their union: a model name, a folder
 * under the model paths (silver, gold, or staging/orders), tag:NAME,
 * path:models/gold, with an optional + before (and its ancestors) or after
 * (and its descendants). A selector that matches nothing is an error.
 * A table is built as SCHEMA.NAME__dbt_tmp and swapped in atomically; a
 * failed model leaves the old relation in place and skips its dependents,
 * and the others still run. With opts.threads > 1, models whose upstream
 * models are built run side by side. Returns DAG_EINVAL (with *err) if any model
 * failed. */
int dbt_run(struct dbt_project *p, struct wh *w, const char *select,
            struct dbt_run_result *res, char **err);

struct dbt_test_result {
  int passed;
  int failed; /* severity error */
  int warned; /* severity warn */
};

/* Run the schema tests of the selected models (and, with no selection or a
 * source: selector, of sources): not_null, unique, accepted_values,
 * relationships, accepted_range (dbt_utils.accepted_range). Each failure is
 * logged with its count and up to 5 sample rows. Returns DAG_EINVAL if any
 * test of severity error failed. */
int dbt_test(struct dbt_project *p, struct wh *w, const char *select,
             struct dbt_test_result *res, char **err);

/* --- introspection, for tests and the plugin ------------------------------ */

size_t dbt_model_count(const struct dbt_project *p);
/* Index of the model named `name`, or -1. */
long dbt_model_find(const struct dbt_project *p, const char *name);
const char *dbt_model_name(const struct dbt_project *p, size_t i);
const char *dbt_model_relation(const struct dbt_project *p, size_t i); /* schema.alias */
const char *dbt_model_materialized(const struct dbt_project *p, size_t i);
const char *dbt_model_compiled_sql(const struct dbt_project *p, size_t i);
/* Tags, comma-separated in order ("" when none). Borrowed. */
const char *dbt_model_tags(const struct dbt_project *p, size_t i);
/* Models in build order, by name, space-separated (caller frees); the
 * selected ones only when `select` is not NULL. NULL with *err when the
 * selection is invalid. */
char *dbt_plan(const struct dbt_project *p, const char *select, char **err);
size_t dbt_test_count(const struct dbt_project *p);
/* A test's name, and its failing-rows query. Borrowed. */
const char *dbt_test_name(const struct dbt_project *p, size_t i);
const char *dbt_test_sql(const struct dbt_project *p, size_t i);

#endif
