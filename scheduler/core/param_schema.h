/* param_schema.h - typed DAG params, as Airflow's Param: a param may carry
 * a subset of JSON Schema, and a trigger's conf is checked against it.
 *
 * In a DAG file, a param whose value is a mapping with a `type`, `enum`
 * or `default` key is a Param:
 *
 *   params:
 *     table: raw_events                 # a plain default, as before
 *     limit: {type: integer, minimum: 1, maximum: 1000, default: 100,
 *             description: rows per batch}
 *     mode: {enum: [full, delta], default: delta}
 *     email: {type: string, pattern: "^[^@]+@[^@]+$"}   # no default: required
 *
 * Its keys: default, type (string, integer, number, boolean, array,
 * object, null, or a list of them), enum (a list), minimum, maximum
 * (numbers), minLength, maxLength (characters), pattern (a POSIX extended
 * regular expression that must match somewhere in the string, as JSON
 * Schema's does), description, title, required (true, the default when
 * there is no default: the run's conf must give it; false: it may be
 * left out). An object default that holds such a key is written as
 * {default: {...}}. A param's default is checked against its own schema
 * when the file loads. */
#ifndef DAG_PARAM_SCHEMA_H
#define DAG_PARAM_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

#include "yaml_doc.h"

/* Read the `params` mapping `node` (path "params"): *defaults becomes the
 * object of each param's default (a Param without one is left out),
 * *schema the object of each Param's schema (NULL when no param has one).
 * Problems go to `y` as FILE:LINE:COL diagnostics naming the key. Both
 * outputs are new references (caller decrefs). */
void dag_params_load(struct dag_yaml_ctx *y, const struct dag_ynode *node, json_t **defaults,
                     json_t **schema);

/* Check a run's params: for each param of `schema`, the value `conf` gives
 * (NULL: none), else its default in `defaults`, against its schema. 0, or
 * DAG_EINVAL with *err naming the field ("conf.limit: 5000 is more than
 * the maximum 1000"; caller frees). */
int dag_params_validate(const json_t *schema, const json_t *defaults, const json_t *conf,
                        char **err);

/* One value against one param's schema: NULL when it fits, else why (caller
 * frees), worded after "conf.NAME: ". */
char *dag_param_problem(const json_t *spec, const json_t *value);

/* The params as Airflow's API serializes them (DAGDetail.params): each
 * name -> {"__class": "airflow.models.param.Param", "value": its default
 * or null, "description": or null, "schema": the rest of its schema ({}
 * for a plain default)}. A new reference. */
json_t *dag_params_airflow(const json_t *defaults, const json_t *schema);

#endif
