/* param_schema.c - typed DAG params (see param_schema.h). */
#include "param_schema.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "common.h"
#include "didyoumean.h"
#include "error.h"
#include "strbuf.h"

static const char *const spec_keys[] = {"default",   "type",      "enum",    "minimum",
                                        "maximum",   "minLength", "maxLength", "pattern",
                                        "description", "title",   "required"};
static const char *const type_names[] = {"string", "integer", "number", "boolean",
                                         "array",  "object",  "null"};

static bool is_spec(const struct dag_ynode *v) {
  return v->kind == DAG_YN_MAP && (dag_yaml_get(v, "type") || dag_yaml_get(v, "enum") ||
                                   dag_yaml_get(v, "default"));
}

static bool type_known(const char *t) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(type_names); i++)
    if (strcmp(t, type_names[i]) == 0) return true;
  return false;
}

/* Check one Param's schema (`spec`, built from `node`); problems to y. */
static void check_spec(struct dag_yaml_ctx *y, const struct dag_ynode *node, const char *path,
                       json_t *spec) {
  for (size_t i = 0; i < node->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(node, i);
    const char *key = dag_yaml_scalar(k);
    bool known = false;
    for (size_t j = 0; key && j < DAG_ARRAY_SIZE(spec_keys); j++) known |= !strcmp(key, spec_keys[j]);
    if (!known) {
      const char *hint = key ? dag_did_you_mean(key, spec_keys, DAG_ARRAY_SIZE(spec_keys)) : NULL;
      if (hint)
        dag_yaml_err(y, k, path, "unknown key '%s' of a param (did you mean '%s'?)", key, hint);
      else
        dag_yaml_err(y, k, path, "unknown key '%s' of a param (one of default, type, enum, "
                     "minimum, maximum, minLength, maxLength, pattern, description, title, "
                     "required)", key ? key : "?");
    }
  }
  json_t *t = json_object_get(spec, "type");
  if (t) {
    bool ok = json_is_string(t) && type_known(json_string_value(t));
    if (json_is_array(t)) {
      ok = json_array_size(t) > 0;
      size_t i;
      json_t *e;
      json_array_foreach(t, i, e) ok = ok && json_is_string(e) && type_known(json_string_value(e));
    }
    if (!ok)
      dag_yaml_err(y, dag_yaml_get(node, "type"), path,
                   "type must be string, integer, number, boolean, array, object or null "
                   "(or a list of them)");
  }
  json_t *e = json_object_get(spec, "enum");
  if (e && (!json_is_array(e) || json_array_size(e) == 0))
    dag_yaml_err(y, dag_yaml_get(node, "enum"), path, "enum must be a non-empty list");
  static const char *const nums[] = {"minimum", "maximum"};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_object_get(spec, nums[i]);
    if (v && !json_is_number(v))
      dag_yaml_err(y, dag_yaml_get(node, nums[i]), path, "%s must be a number", nums[i]);
  }
  static const char *const lens[] = {"minLength", "maxLength"};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_object_get(spec, lens[i]);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
      dag_yaml_err(y, dag_yaml_get(node, lens[i]), path, "%s must be a whole number >= 0",
                   lens[i]);
  }
  json_t *p = json_object_get(spec, "pattern");
  if (p && !json_is_string(p)) {
    dag_yaml_err(y, dag_yaml_get(node, "pattern"), path, "pattern must be a string");
  } else if (p) {
    regex_t re;
    int rc = regcomp(&re, json_string_value(p), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char why[128];
      regerror(rc, &re, why, sizeof(why));
      dag_yaml_err(y, dag_yaml_get(node, "pattern"), path,
                   "pattern is not a POSIX extended regular expression: %s", why);
    } else {
      regfree(&re);
    }
  }
  static const char *const texts[] = {"description", "title"};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_object_get(spec, texts[i]);
    if (v && !json_is_string(v))
      dag_yaml_err(y, dag_yaml_get(node, texts[i]), path, "%s must be a string", texts[i]);
  }
  json_t *r = json_object_get(spec, "required");
  if (r && !json_is_boolean(r))
    dag_yaml_err(y, dag_yaml_get(node, "required"), path, "required must be true or false");
}

void dag_params_load(struct dag_yaml_ctx *y, const struct dag_ynode *node, json_t **defaults,
                     json_t **schema) {
  *defaults = json_object();
  *schema = NULL;
  for (size_t i = 0; i < node->n / 2; i++) {
    const char *name = dag_yaml_scalar(DAG_YN_KEY(node, i));
    const struct dag_ynode *v = DAG_YN_VAL(node, i);
    if (!name) continue;
    char *path = dag_yaml_path_key("params", name);
    if (!is_spec(v)) {
      json_t *j = dag_yaml_to_json(y, v, path);
      if (j) json_object_set_new(*defaults, name, j);
      free(path);
      continue;
    }
    json_t *spec = dag_yaml_to_json(y, v, path);
    if (!json_is_object(spec)) {
      json_decref(spec);
      free(path);
      continue;
    }
    int before = y->errors;
    check_spec(y, v, path, spec);
    json_t *def = json_object_get(spec, "default");
    if (def) {
      json_object_set(*defaults, name, def);
      /* A default that breaks its own schema would fail every run. */
      char *why = y->errors == before ? dag_param_problem(spec, def) : NULL;
      if (why) dag_yaml_err(y, dag_yaml_get(v, "default"), path, "the default %s", why);
      free(why);
    }
    if (!*schema) *schema = json_object();
    json_object_set_new(*schema, name, spec);
    free(path);
  }
}

/* --- checking values ---------------------------------------------------------- */

static const char *json_type_word(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_ARRAY: return "an array";
  case JSON_OBJECT: return "an object";
  default: return "null";
  }
}

static bool type_matches(const char *t, const json_t *v) {
  if (!strcmp(t, "string")) return json_is_string(v);
  if (!strcmp(t, "integer"))
    return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
  if (!strcmp(t, "number")) return json_is_number(v);
  if (!strcmp(t, "boolean")) return json_is_boolean(v);
  if (!strcmp(t, "array")) return json_is_array(v);
  if (!strcmp(t, "object")) return json_is_object(v);
  return json_is_null(v);
}

/* The value as the message quotes it (caller frees). */
static char *quote(const json_t *v) {
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (s && strlen(s) > 80) {
    char *cut = xasprintf("%.77s...", s);
    free(s);
    return cut;
  }
  return s ? s : xstrdup("?");
}

/* Characters of UTF-8 text (code points), as JSON Schema counts length. */
static size_t utf8_len(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) n++;
  return n;
}

char *dag_param_problem(const json_t *spec, const json_t *value) {
  json_t *t = json_object_get(spec, "type");
  if (t) {
    bool ok = false;
    struct strbuf want = STRBUF_INIT;
    if (json_is_string(t)) {
      ok = type_matches(json_string_value(t), value);
      sb_append(&want, json_string_value(t));
    } else {
      size_t i;
      json_t *e;
      json_array_foreach(t, i, e) {
        ok = ok || type_matches(json_string_value(e), value);
        sb_appendf(&want, "%s%s", i ? " or " : "", json_string_value(e));
      }
    }
    if (!ok) {
      char *q = quote(value);
      char *why = xasprintf("expected %s, got %s %s", sb_str(&want), json_type_word(value), q);
      free(q);
      sb_free(&want);
      return why;
    }
    sb_free(&want);
  }
  json_t *e = json_object_get(spec, "enum");
  if (json_is_array(e)) {
    bool hit = false;
    size_t i;
    json_t *x;
    json_array_foreach(e, i, x) hit = hit || json_equal(x, value);
    if (!hit) {
      char *q = quote(value), *all = quote(e);
      char *why = xasprintf("%s is not one of %s", q, all);
      free(q);
      free(all);
      return why;
    }
  }
  if (json_is_number(value)) {
    double d = json_number_value(value);
    json_t *lo = json_object_get(spec, "minimum"), *hi = json_object_get(spec, "maximum");
    char *q = NULL, *why = NULL;
    if (json_is_number(lo) && d < json_number_value(lo)) {
      q = quote(value);
      char *b = quote(lo);
      why = xasprintf("%s is less than the minimum %s", q, b);
      free(b);
    } else if (json_is_number(hi) && d > json_number_value(hi)) {
      q = quote(value);
      char *b = quote(hi);
      why = xasprintf("%s is more than the maximum %s", q, b);
      free(b);
    }
    free(q);
    if (why) return why;
  }
  if (json_is_string(value)) {
    const char *s = json_string_value(value);
    size_t n = utf8_len(s);
    json_t *lo = json_object_get(spec, "minLength"), *hi = json_object_get(spec, "maxLength");
    if (json_is_integer(lo) && (json_int_t)n < json_integer_value(lo))
      return xasprintf("'%s' is shorter than %lld characters", s, (long long)json_integer_value(lo));
    if (json_is_integer(hi) && (json_int_t)n > json_integer_value(hi)) {
      char *q = quote(value);
      char *why = xasprintf("%s is longer than %lld characters", q, (long long)json_integer_value(hi));
      free(q);
      return why;
    }
    json_t *p = json_object_get(spec, "pattern");
    if (json_is_string(p)) {
      regex_t re;
      if (regcomp(&re, json_string_value(p), REG_EXTENDED | REG_NOSUB) == 0) {
        bool match = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (!match) {
          char *q = quote(value);
          char *why = xasprintf("%s does not match the pattern %s", q, json_string_value(p));
          free(q);
          return why;
        }
      }
    }
  }
  return NULL;
}

int dag_params_validate(const json_t *schema, const json_t *defaults, const json_t *conf,
                        char **err) {
  *err = NULL;
  const char *name;
  json_t *spec;
  json_object_foreach((json_t *)schema, name, spec) {
    const json_t *v = json_is_object(conf) ? json_object_get(conf, name) : NULL;
    if (!v && json_is_object(defaults)) v = json_object_get(defaults, name);
    if (!v) {
      json_t *req = json_object_get(spec, "required");
      if (json_is_false(req)) continue;
      const char *desc = json_string_value(json_object_get(spec, "description"));
      *err = desc ? xasprintf("conf.%s: required (%s)", name, desc)
                  : xasprintf("conf.%s: required: the param has no default", name);
      return DAG_EINVAL;
    }
    char *why = dag_param_problem(spec, v);
    if (why) {
      *err = xasprintf("conf.%s: %s", name, why);
      free(why);
      return DAG_EINVAL;
    }
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *dag_params_airflow(const json_t *defaults, const json_t *schema) {
  /* By name: the stored DAG keeps its keys sorted, so the file's order is
   * not known here; a form lists them alike every time. */
  size_t n = 0, cap = 0;
  const char **names = NULL;
  const char *name;
  json_t *v;
  json_object_foreach((json_t *)defaults, name, v) {
    names = xgrow(names, &cap, n + 1, sizeof(*names));
    names[n++] = name;
  }
  json_object_foreach((json_t *)schema, name, v) if (!json_object_get(defaults, name)) {
    names = xgrow(names, &cap, n + 1, sizeof(*names));
    names[n++] = name;
  }
  if (n) qsort(names, n, sizeof(*names), cmp_str);
  json_t *out = json_object();
  for (size_t i = 0; i < n; i++) {
    json_t *spec = json_object_get(schema, names[i]);
    json_t *def = json_object_get(defaults, names[i]);
    json_t *rest = spec ? json_deep_copy(spec) : json_object();
    json_object_del(rest, "default");
    json_object_del(rest, "description");
    json_t *desc = spec ? json_object_get(spec, "description") : NULL;
    json_object_set_new(out, names[i],
                        json_pack("{s:s, s:O, s:O, s:o}", "__class", "airflow.models.param.Param",
                                  "value", def ? def : json_null(), "description",
                                  desc ? desc : json_null(), "schema", rest));
  }
  free(names);
  return out;
}
