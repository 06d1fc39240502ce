/* plugin_rules.c - plugin task rules from the types' declarations (see
 * plugin_rules.h). */
#include "plugin_rules.h"

#include "common.h"
#include "duration.h"

bool dag_plugin_may_reschedule(const struct dag_plugin_type *type) {
  return type == NULL || !type->rules_declared || (type->flags & DAGCTL_TYPE_SENSOR);
}

bool dag_plugin_may_serve(const struct dag_plugin_type *type) {
  return type == NULL || !type->rules_declared || (type->flags & DAGCTL_TYPE_SERVICE);
}

/* A duration as YAML gives it: "30s", or a number of seconds. */
static bool duration_of(const json_t *v, int64_t *us) {
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *us = json_integer_value(v) * DAG_USEC_PER_SEC;
    return true;
  }
  if (json_is_real(v) && json_real_value(v) >= 0) {
    *us = (int64_t)(json_real_value(v) * 1e6);
    return true;
  }
  return json_is_string(v) && dag_duration_parse(json_string_value(v), us) == 0;
}

int64_t dag_plugin_poke_interval(const struct dag_plugin_type *type, const json_t *config) {
  const char *name = type && type->poke_interval_param ? type->poke_interval_param
                                                       : "poke_interval";
  int64_t us;
  if (config && duration_of(json_object_get(config, name), &us)) return us;
  const struct dag_plugin_param *p =
      type && type->poke_interval_param ? dag_plugin_type_param(type, name) : NULL;
  if (p && p->default_value && dag_duration_parse(p->default_value, &us) == 0) return us;
  return (int64_t)DAG_PLUGIN_POKE_DEFAULT_S * DAG_USEC_PER_SEC;
}

const char *dag_plugin_stop_key(const struct dag_plugin_type *type) {
  return type && (type->flags & DAG_TYPE_STOPS_SERVICE) ? type->stop_param : NULL;
}
