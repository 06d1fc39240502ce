/* plugin_params.c - checking and rendering plugin params (see
 * plugin_params.h). */
#include "plugin_params.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "didyoumean.h"
#include "duration.h"
#include "error.h"
#include "template.h"

const char *dag_param_type_name(enum dagctl_param_type type) {
  switch (type) {
  case DAGCTL_PARAM_STRING: return "a string";
  case DAGCTL_PARAM_INTEGER: return "an integer";
  case DAGCTL_PARAM_NUMBER: return "a number";
  case DAGCTL_PARAM_BOOLEAN: return "true or false";
  case DAGCTL_PARAM_DURATION: return "a duration such as 30s, 5m or 1h30m";
  case DAGCTL_PARAM_LIST: return "a list";
  case DAGCTL_PARAM_MAPPING: return "a mapping";
  case DAGCTL_PARAM_ANY: break;
  }
  return "any value";
}

static const char *const type_keys[] = {"string",   "integer", "number",  "boolean",
                                        "duration", "list",    "mapping", "any"};

const char *dag_param_type_key(enum dagctl_param_type type) {
  return (unsigned)type < DAG_ARRAY_SIZE(type_keys) ? type_keys[type] : "any";
}

enum dagctl_param_type dag_param_type_parse(const char *key) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(type_keys); i++)
    if (strcmp(key, type_keys[i]) == 0) return (enum dagctl_param_type)i;
  return DAGCTL_PARAM_ANY;
}

static bool is_integer(const char *s) {
  char *end;
  errno = 0;
  (void)strtoll(s, &end, 10);
  return *s && errno == 0 && *end == '\0' && strspn(s, "+-0123456789") == strlen(s);
}

static bool is_number(const char *s) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  /* Decimal only: strtod also takes "0x1p3", "inf" and "nan". */
  return *s && errno == 0 && *end == '\0' && isfinite(v) &&
         strspn(s, "+-.0123456789eE") == strlen(s);
}

static bool is_boolean(const char *s) {
  static const char *const words[] = {"true", "false", "yes", "no", "1", "0"};
  for (size_t i = 0; i < DAG_ARRAY_SIZE(words); i++)
    if (strcasecmp(s, words[i]) == 0) return true;
  return false;
}

static bool is_duration(const char *s) {
  int64_t us;
  if (is_number(s)) return strtod(s, NULL) >= 0;
  return dag_duration_parse(s, &us) == 0 && us >= 0;
}

int dag_param_check_text(enum dagctl_param_type type, const char *text, char **err) {
  bool ok = true;
  switch (type) {
  case DAGCTL_PARAM_STRING:
  case DAGCTL_PARAM_ANY: break;
  case DAGCTL_PARAM_INTEGER: ok = is_integer(text); break;
  case DAGCTL_PARAM_NUMBER: ok = is_number(text); break;
  case DAGCTL_PARAM_BOOLEAN: ok = is_boolean(text); break;
  case DAGCTL_PARAM_DURATION: ok = is_duration(text); break;
  case DAGCTL_PARAM_LIST:
  case DAGCTL_PARAM_MAPPING: ok = false; break;
  }
  if (ok) return 0;
  if (err) *err = xasprintf("expected %s, got '%s'", dag_param_type_name(type), text);
  return DAG_EINVAL;
}

int dag_param_check_choice(const char *choices, const char *text, char **err) {
  if (choices == NULL) return 0;
  char *copy = xstrdup(choices);
  const char *names[64];
  size_t n = 0;
  for (char *c = copy; c && n < DAG_ARRAY_SIZE(names);) {
    char *comma = strchr(c, ',');
    if (comma) *comma = '\0';
    names[n++] = c;
    c = comma ? comma + 1 : NULL;
  }
  int rc = DAG_EINVAL;
  for (size_t i = 0; i < n && rc; i++)
    if (strcasecmp(text, names[i]) == 0) rc = 0;
  if (rc && err) {
    const char *best = dag_did_you_mean(text, names, n);
    if (best) {
      *err = xasprintf("unknown value '%s' (did you mean '%s'?)", text, best);
    } else {
      char *all = xstrdup("");
      for (size_t i = 0; i < n; i++) {
        char *next = xasprintf("%s%s%s", all, i ? ", " : "", names[i]);
        free(all);
        all = next;
      }
      *err = xasprintf("unknown value '%s' (one of: %s)", text, all);
      free(all);
    }
  }
  free(copy);
  return rc;
}

/* Replace v's strings by their renderings, recursing into lists and
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

static int check_value(json_t *params, const char *name, json_t *v,
                       const struct dag_plugin_param *p, char **msg);

/* The mapping `m` against the fields `p` declares (minor 4). */
static int check_fields(json_t *m, const struct dag_plugin_param *p, char **msg) {
  if (!json_is_object(m)) {
    *msg = xstrdup("expected a mapping");
    return DAG_EINVAL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(m, key, v) {
    const struct dag_plugin_param *f = dag_plugin_param_field(p, key);
    char *sub = NULL;
    int rc = 0;
    if (f == NULL) {
      *msg = xasprintf("unknown key '%s'", key);
      return DAG_EINVAL;
    }
    if (!json_is_null(v)) rc = check_value(m, key, v, f, &sub);
    if (rc) {
      *msg = xasprintf("%s: %s", key, sub ? sub : "invalid value");
      free(sub);
      return rc;
    }
  }
  for (size_t i = 0; i < p->n_fields; i++) {
    const json_t *given = json_object_get(m, p->fields[i].name);
    if ((p->fields[i].flags & DAGCTL_PARAM_REQUIRED) && (given == NULL || json_is_null(given))) {
      *msg = xasprintf("%s: required", p->fields[i].name);
      return DAG_EINVAL;
    }
  }
  return 0;
}

/* A list or mapping value against the fields of `p`, if it declares some. */
static int check_nested(json_t *v, const struct dag_plugin_param *p, char **msg) {
  if (p->choices && json_is_array(v)) {
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      char *sub = NULL;
      const char *text = json_string_value(item);
      int rc = text ? dag_param_check_choice(p->choices, text, &sub) : DAG_EINVAL;
      if (rc) {
        *msg = xasprintf("[%zu]: %s", i, sub ? sub : "expected a string");
        free(sub);
        return rc;
      }
    }
  }
  if (!p->has_fields) return 0;
  if (json_is_object(v)) return check_fields(v, p, msg);
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    char *sub = NULL;
    int rc = check_fields(item, p, &sub);
    if (rc) {
      *msg = xasprintf("[%zu]: %s", i, sub);
      free(sub);
      return rc;
    }
  }
  return 0;
}

/* One declared param's value against its type; a list or mapping param
 * written as a template arrives as JSON text and is parsed back. */
static int check_value(json_t *params, const char *name, json_t *v,
                       const struct dag_plugin_param *p, char **msg) {
  if (p->type == DAGCTL_PARAM_ANY) return 0;
  bool want_list = p->type == DAGCTL_PARAM_LIST, want_map = p->type == DAGCTL_PARAM_MAPPING;
  if (want_list || want_map) {
    if (json_is_string(v)) {
      json_t *parsed = json_loads(json_string_value(v), 0, NULL);
      if ((want_list && json_is_array(parsed)) || (want_map && json_is_object(parsed))) {
        json_object_set_new(params, name, parsed);
        return check_nested(parsed, p, msg);
      }
      json_decref(parsed);
    }
    if ((want_list && json_is_array(v)) || (want_map && json_is_object(v)))
      return check_nested(v, p, msg);
  } else if (!json_is_array(v) && !json_is_object(v)) {
    char *text = NULL;
    if (dag_template_value_text(v, &text) != 0) text = xstrdup("?");
    int rc = dag_param_check_text(p->type, text, msg);
    if (rc == 0) rc = dag_param_check_choice(p->choices, text, msg);
    free(text);
    return rc;
  }
  *msg = xasprintf("expected %s, got %s", dag_param_type_name(p->type),
                   json_is_array(v)    ? "a list"
                   : json_is_object(v) ? "a mapping"
                                       : "a scalar");
  return DAG_EINVAL;
}

int dag_plugin_prepare_params(json_t *params, const struct dag_plugin_type *decl,
                              const struct dag_template_ctx *ctx, char **err) {
  const char *name;
  json_t *v;
  void *tmp;
  *err = NULL;
  bool declared = decl && decl->declared;
  json_object_foreach_safe(params, tmp, name, v) {
    const struct dag_plugin_param *p = declared ? dag_plugin_type_param(decl, name) : NULL;
    char *msg = NULL;
    int rc = 0;
    if (p == NULL || !(p->flags & DAGCTL_PARAM_VERBATIM)) rc = render_value(v, ctx, &msg);
    if (rc == 0 && p && !json_is_null(v)) rc = check_value(params, name, v, p, &msg);
    if (rc != 0) {
      *err = xasprintf("param %s: %s", name, msg ? msg : "invalid value");
      free(msg);
      return rc;
    }
  }
  for (size_t i = 0; declared && i < decl->n_params; i++) {
    const struct dag_plugin_param *p = &decl->params[i];
    json_t *given = json_object_get(params, p->name);
    if ((p->flags & DAGCTL_PARAM_REQUIRED) && (given == NULL || json_is_null(given))) {
      *err = xasprintf("param %s: required by task type %s", p->name, decl->name);
      return DAG_EINVAL;
    }
  }
  return 0;
}
