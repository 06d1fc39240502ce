/* api_vars.c - Airflow's /api/v1/variables and /api/v1/connections
 * (store_vars.h), with Airflow 2.10's schemas: a list carries keys and
 * descriptions (variables) or every field but the password and extra
 * (connections); one object adds its value or extra. No secret leaves in
 * clear: a secret variable's value and an extra's secret-looking keys read
 * "***", a password is never sent (Airflow's writeOnly). A PATCH that
 * sends "***" back for such a key keeps the stored value, so a client may
 * GET, change a field and PATCH. Each change is audited in its
 * transaction (web_audit.c); routes need the op role (route.c). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "secret.h"
#include "store_vars.h"
#include "web_api.h"

#define MASK "***"

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* Answer a failed store call about `kind` `name`. */
static void store_error(struct dag_http_conn *c, dag_store *st, int rc, const char *kind,
                        const char *name) {
  if (rc == DAG_ENOTFOUND)
    web_error(c, 404, "Not Found", "The %s with %s: `%s` was not found", kind,
              strcmp(kind, "Variable") == 0 ? "key" : "connection_id", name);
  else if (rc == DAG_EEXIST)
    web_error(c, 409, "Conflict", "%s already exists: '%s'", kind, name);
  else if (rc == DAG_ECONFIG)
    web_error(c, 400, "Bad Request", "%s '%s': %s", kind, name,
              st ? dag_store_secret_problem(st) : "no core.secret_key");
  else if (rc == DAG_EINVAL)
    web_error(c, 400, "Bad Request", "%s '%s': invalid", kind, name);
  else
    web_store_error(c, rc, "the state store failed");
}

/* A string member, or NULL; *bad set when present and not a string (null
 * allowed when `nullable`). */
static const char *body_str(json_t *body, const char *name, bool nullable, const char **bad) {
  json_t *v = json_object_get(body, name);
  if (!v || (nullable && json_is_null(v))) return NULL;
  if (!json_is_string(v)) {
    *bad = name;
    return NULL;
  }
  return json_string_value(v);
}

/* Is `field` named by ?update_mask= (absent: every field is)? The mask
 * is a comma-separated list. */
static bool in_mask(const char *mask, const char *field) {
  if (!mask) return true;
  size_t len = strlen(field);
  for (const char *p = mask; *p;) {
    size_t n = strcspn(p, ",");
    while (n && *p == ' ') p++, n--;
    if (n == len && strncmp(p, field, len) == 0) return true;
    p += n;
    if (*p == ',') p++;
  }
  return false;
}

/* ?update_mask=, every name in it one of `allowed`; false after answering 400. */
static bool get_mask(struct dag_http_conn *c, const struct dag_http_request *req,
                     const char *const *allowed, size_t n, char **out) {
  *out = dag_http_query_param(req->query, "update_mask");
  if (!*out) return true;
  for (const char *p = *out; *p;) {
    size_t len = strcspn(p, ",");
    while (len && *p == ' ') p++, len--;
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++)
      ok = strlen(allowed[i]) == len && strncmp(allowed[i], p, len) == 0;
    if (!ok) {
      web_error(c, 400, "Bad Request", "update_mask: '%.*s' is not a field that can be updated",
                (int)len, p);
      free(*out);
      *out = NULL;
      return false;
    }
    p += len;
    if (*p == ',') p++;
  }
  return true;
}

/* The page of a list: ?limit= (100) and ?offset=. */
static bool page(struct dag_http_conn *c, const struct dag_http_request *req, long *limit,
                 long *offset) {
  return api_query_int(c, req, "limit", 100, 1, 10000, limit) &&
         api_query_int(c, req, "offset", 0, 0, INT32_MAX, offset);
}

/* ?order_by= over `field` alone: "field" or "-field"; *desc says which. */
static bool order(struct dag_http_conn *c, const struct dag_http_request *req, const char *field,
                  bool *desc) {
  char *o = dag_http_query_param(req->query, "order_by");
  *desc = false;
  bool ok = true;
  if (o) {
    *desc = o[0] == '-';
    ok = strcmp(o + (*desc ? 1 : 0), field) == 0;
    if (!ok)
      web_error(c, 400, "Bad Request", "Ordering with '%s' is disallowed or the attribute does "
                "not exist on the model", o);
  }
  free(o);
  return ok;
}

/* --- variables ---------------------------------------------------------------- */

/* Airflow's Variable (`with_value`) or VariableCollectionItem. */
static json_t *variable_json(const struct dag_store_variable *v, bool with_value) {
  json_t *o = json_pack("{s:s, s:o}", "key", v->key, "description", str_or_null(v->description));
  if (with_value)
    json_object_set_new(o, "value", json_string(v->encrypted || !v->value ? MASK : v->value));
  return o;
}

static void list_variables(struct dag_web *w, struct dag_http_conn *c,
                           const struct dag_http_request *req) {
  long limit, offset;
  bool desc;
  if (!page(c, req, &limit, &offset) || !order(c, req, "key", &desc)) return;
  struct dag_store_variable *v = NULL;
  size_t n = 0;
  int rc = dag_store_variable_list(w->store, false, &v, &n);
  if (rc) {
    store_error(c, w->store, rc, "Variable", "list");
    return;
  }
  json_t *arr = json_array();
  for (long i = offset; i < (long)n && i < offset + limit; i++)
    json_array_append_new(arr, variable_json(&v[desc ? (long)n - 1 - i : i], false));
  web_json(c, 200, json_pack("{s:o, s:I}", "variables", arr, "total_entries", (json_int_t)n));
  dag_store_variables_free(v, n);
}

static void get_variable(struct dag_web *w, struct dag_http_conn *c, const char *key) {
  struct dag_store_variable v;
  int rc = dag_store_variable_get(w->store, key, &v);
  if (rc == DAG_ECONFIG) {
    /* Sealed with a key this server lacks: its value is masked anyway. */
    struct dag_store_variable *all = NULL;
    size_t n = 0;
    if (dag_store_variable_list(w->store, false, &all, &n) == 0)
      for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].key, key) == 0) {
          web_json(c, 200, variable_json(&all[i], true));
          dag_store_variables_free(all, n);
          return;
        }
    dag_store_variables_free(all, n);
  }
  if (rc) {
    store_error(c, w->store, rc, "Variable", key);
    return;
  }
  web_json(c, 200, variable_json(&v, true));
  dag_store_variable_clear(&v);
}

/* POST /variables (key from the body, created or replaced, as Airflow's
 * Variable.set) and PATCH /variables/{key} (it must exist). */
static void put_variable(struct dag_web *w, struct dag_http_conn *c,
                         const struct dag_http_request *req, const char *path_key) {
  static const char *const fields[] = {"value", "description"};
  char *mask = NULL;
  if (path_key && !get_mask(c, req, fields, DAG_ARRAY_SIZE(fields), &mask)) return;
  json_t *body = api_body_object(c, req);
  if (!body) {
    free(mask);
    return;
  }
  const char *bad = NULL;
  const char *key = body_str(body, "key", false, &bad);
  const char *value = body_str(body, "value", false, &bad);
  const char *description = body_str(body, "description", true, &bad);
  const char *why = NULL;
  if (bad)
    why = "must be a string";
  else if (!key && !path_key)
    bad = "key", why = "is required";
  else if (path_key && key && strcmp(key, path_key) != 0)
    bad = "key", why = "in the body does not match the URL's";
  else if (!value && (!path_key || in_mask(mask, "value")))
    bad = "value", why = "is required";
  else if (!path_key && dag_conn_name_problem(key))
    bad = "key", why = dag_conn_name_problem(key);
  if (why) {
    web_error(c, 400, "Bad Request", "Invalid post body: %s %s", bad, why);
    json_decref(body);
    free(mask);
    return;
  }
  if (!key) key = path_key;
  dag_store *st = api_writer(w, c);
  if (!st) {
    json_decref(body);
    free(mask);
    return;
  }
  int rc = dag_store_begin(st);
  struct dag_store_variable old = {0};
  if (rc == 0 && path_key) rc = dag_store_variable_get(st, key, &old);
  if (rc == 0) {
    const char *v = !path_key || in_mask(mask, "value") ? value : old.value;
    const char *d = !path_key || in_mask(mask, "description") ? description : old.description;
    rc = dag_store_variable_set(st, key, v, d);
  }
  dag_store_variable_clear(&old);
  rc = web_audit_finish_object(w, c, st, rc, path_key ? "variable.update" : "variable.set", key);
  if (rc) {
    store_error(c, st, rc, "Variable", key);
  } else {
    LOG_INFO("web: variable set key=%s", key);
    get_variable(w, c, key);
  }
  api_writer_done(w, st);
  json_decref(body);
  free(mask);
}

static void delete_thing(struct dag_web *w, struct dag_http_conn *c, bool variable,
                         const char *name) {
  dag_store *st = api_writer(w, c);
  if (!st) return;
  int rc = dag_store_begin(st);
  if (rc == 0)
    rc = variable ? dag_store_variable_delete(st, name) : dag_store_connection_delete(st, name);
  rc = web_audit_finish_object(w, c, st, rc, variable ? "variable.delete" : "connection.delete",
                               name);
  if (rc)
    store_error(c, st, rc, variable ? "Variable" : "Connection", name);
  else
    dag_http_respond(c, 204, "application/json", NULL, "", 0);
  api_writer_done(w, st);
}

/* --- connections -------------------------------------------------------------- */

/* The extra as the API shows it: secret-looking keys masked (caller frees). */
static char *masked_extra(const char *extra) {
  if (!extra) return NULL;
  json_t *j = json_loads(extra, 0, NULL);
  if (!json_is_object(j)) {
    json_decref(j);
    return xstrdup(extra);
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) if (dag_secret_name(k)) json_object_set_new(j, k, json_string(MASK));
  char *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  return out;
}

static json_t *conn_json(const struct dag_conn *k, bool full) {
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "connection_id", k->conn_id,
                        "conn_type", k->conn_type, "description", str_or_null(k->description),
                        "host", str_or_null(k->host), "login", str_or_null(k->login), "schema",
                        str_or_null(k->schema), "port",
                        k->port ? json_integer(k->port) : json_null());
  if (full) {
    char *extra = masked_extra(k->extra);
    json_object_set_new(o, "extra", str_or_null(extra));
    free(extra);
  }
  return o;
}

static void list_connections(struct dag_web *w, struct dag_http_conn *c,
                             const struct dag_http_request *req) {
  long limit, offset;
  bool desc;
  if (!page(c, req, &limit, &offset) || !order(c, req, "connection_id", &desc)) return;
  struct dag_conn *k = NULL;
  size_t n = 0;
  int rc = dag_store_connection_list(w->store, false, &k, &n);
  if (rc) {
    store_error(c, w->store, rc, "Connection", "list");
    return;
  }
  json_t *arr = json_array();
  for (long i = offset; i < (long)n && i < offset + limit; i++)
    json_array_append_new(arr, conn_json(&k[desc ? (long)n - 1 - i : i], false));
  web_json(c, 200, json_pack("{s:o, s:I}", "connections", arr, "total_entries", (json_int_t)n));
  dag_store_connections_free(k, n);
}

static void get_connection(struct dag_web *w, struct dag_http_conn *c, const char *id) {
  struct dag_conn k;
  int rc = dag_store_connection_get(w->store, id, &k);
  if (rc) {
    store_error(c, w->store, rc, "Connection", id);
    return;
  }
  web_json(c, 200, conn_json(&k, true));
  dag_conn_clear(&k);
}

/* `extra` (the body's) with each "***" of a secret-looking key replaced by
 * the stored extra's value (caller frees); NULL when the body's is not a
 * JSON object (refused later). */
static char *unmask_extra(const char *extra, const char *stored) {
  json_t *j = json_loads(extra, 0, NULL), *old = stored ? json_loads(stored, 0, NULL) : NULL;
  char *out = NULL;
  if (json_is_object(j)) {
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
      json_t *was = json_object_get(old, k);
      if (dag_secret_name(k) && json_is_string(v) && strcmp(json_string_value(v), MASK) == 0 &&
          was)
        json_object_set(j, k, was);
    }
    out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  }
  json_decref(j);
  json_decref(old);
  return out ? out : xstrdup(extra);
}

static void replace_field(char **field, const char *v) {
  free(*field);
  *field = v ? xstrdup(v) : NULL;
}

/* POST /connections (new) and PATCH /connections/{id} (existing; the
 * fields of ?update_mask=, else all). */
static void put_connection(struct dag_web *w, struct dag_http_conn *c,
                           const struct dag_http_request *req, const char *path_id) {
  static const char *const fields[] = {"conn_type", "description", "host", "login",
                                       "schema",    "port",        "password", "extra"};
  char *mask = NULL;
  if (path_id && !get_mask(c, req, fields, DAG_ARRAY_SIZE(fields), &mask)) return;
  json_t *body = api_body_object(c, req);
  if (!body) {
    free(mask);
    return;
  }
  const char *bad = NULL, *why = NULL;
  const char *id = body_str(body, "connection_id", false, &bad);
  const char *type = body_str(body, "conn_type", false, &bad);
  const char *desc = body_str(body, "description", true, &bad);
  const char *host = body_str(body, "host", true, &bad);
  const char *login = body_str(body, "login", true, &bad);
  const char *schema = body_str(body, "schema", true, &bad);
  const char *password = body_str(body, "password", true, &bad);
  const char *extra = body_str(body, "extra", true, &bad);
  json_t *port = json_object_get(body, "port");
  if (bad)
    why = "must be a string";
  else if (port && !json_is_null(port) &&
           (!json_is_integer(port) || json_integer_value(port) < 0 ||
            json_integer_value(port) > 65535))
    bad = "port", why = "must be an integer from 0 to 65535";
  else if (!id && !path_id)
    bad = "connection_id", why = "is required";
  else if (path_id && id && strcmp(id, path_id) != 0)
    bad = "connection_id", why = "in the body does not match the URL's";
  else if (!path_id && dag_conn_name_problem(id))
    bad = "connection_id", why = dag_conn_name_problem(id);
  else if (!type && (!path_id || in_mask(mask, "conn_type")))
    bad = "conn_type", why = "is required";
  if (why) {
    web_error(c, 400, "Bad Request", "Invalid post body: %s %s", bad, why);
    json_decref(body);
    free(mask);
    return;
  }
  if (!id) id = path_id;
  dag_store *st = api_writer(w, c);
  if (!st) {
    json_decref(body);
    free(mask);
    return;
  }
  struct dag_conn k = {0};
  int rc = dag_store_begin(st);
  if (rc == 0 && path_id) rc = dag_store_connection_get(st, id, &k);
  if (rc == 0) {
    if (!path_id) k.conn_id = xstrdup(id);
    if (!path_id || in_mask(mask, "conn_type")) replace_field(&k.conn_type, type);
    if (!path_id || in_mask(mask, "description")) replace_field(&k.description, desc);
    if (!path_id || in_mask(mask, "host")) replace_field(&k.host, host);
    if (!path_id || in_mask(mask, "login")) replace_field(&k.login, login);
    if (!path_id || in_mask(mask, "schema")) replace_field(&k.schema, schema);
    if (!path_id || in_mask(mask, "port"))
      k.port = port && json_is_integer(port) ? (int)json_integer_value(port) : 0;
    /* A PATCH without a password keeps the stored one unless the mask
     * names it: a client that never saw the password cannot send it. */
    if (!path_id || (mask ? in_mask(mask, "password") : password != NULL))
      replace_field(&k.password, password);
    if (!path_id || in_mask(mask, "extra")) {
      char *e = extra && path_id ? unmask_extra(extra, k.extra) : extra ? xstrdup(extra) : NULL;
      free(k.extra);
      k.extra = e;
    }
    if (dag_conn_extra_problem(k.extra)) rc = DAG_EINVAL;
    if (rc == 0) rc = dag_store_connection_put(st, &k, path_id != NULL);
  }
  rc = web_audit_finish_object(w, c, st, rc, path_id ? "connection.update" : "connection.add",
                               id);
  if (rc == DAG_EINVAL && dag_conn_extra_problem(k.extra))
    web_error(c, 400, "Bad Request", "Invalid post body: %s", dag_conn_extra_problem(k.extra));
  else if (rc)
    store_error(c, st, rc, "Connection", id);
  else
    get_connection(w, c, id);
  dag_conn_clear(&k);
  api_writer_done(w, st);
  json_decref(body);
  free(mask);
}

void api_vars(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m) {
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  bool del = req->method == HTTP_DELETE;
  const char *name = m->n_params ? m->params[0] : NULL;
  switch (m->route) {
  case DAG_ROUTE_VARIABLES:
    if (get)
      list_variables(w, c, req);
    else
      put_variable(w, c, req, NULL);
    break;
  case DAG_ROUTE_VARIABLE:
    if (get)
      get_variable(w, c, name);
    else if (del)
      delete_thing(w, c, true, name);
    else
      put_variable(w, c, req, name);
    break;
  case DAG_ROUTE_CONNECTIONS:
    if (get)
      list_connections(w, c, req);
    else
      put_connection(w, c, req, NULL);
    break;
  case DAG_ROUTE_CONNECTION:
    if (get)
      get_connection(w, c, name);
    else if (del)
      delete_thing(w, c, false, name);
    else
      put_connection(w, c, req, name);
    break;
  default:
    web_error(c, 404, "Not Found", "no such API endpoint");
  }
}
