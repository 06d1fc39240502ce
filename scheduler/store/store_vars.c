/* store_vars.c - variables and connections (see store_vars.h). */
#include "store_vars.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "secret.h"
#include "template.h"
#include "store_int.h"

int dag_store_set_secret_key(dag_store *st, const char *text) {
  if (st->secret_key) explicit_bzero(st->secret_key, DAG_SECRET_KEY_BYTES);
  free(st->secret_key);
  st->secret_key = NULL;
  if (!text) return 0;
  unsigned char *key = xmalloc(DAG_SECRET_KEY_BYTES);
  int rc = dag_secret_key_derive(text, key);
  if (rc) {
    free(key);
    return rc;
  }
  st->secret_key = key;
  return 0;
}

const char *dag_store_secret_problem(dag_store *st) {
  if (!st->secret_key) return "no core.secret_key to seal or open secrets with: " DAG_SECRET_KEY_HINT;
  return "a stored secret does not open with core.secret_key: it was sealed with another key";
}

/* Seal `plain` for place `ad`: DAG_ECONFIG without a key. */
static int seal(dag_store *st, const char *ad, const char *plain, char **out) {
  *out = NULL;
  if (!st->secret_key) return DAG_ECONFIG;
  *out = dag_secret_seal(st->secret_key, ad, plain);
  return 0;
}

static int unseal(dag_store *st, const char *ad, const char *sealed, char **out) {
  *out = NULL;
  if (!st->secret_key) return DAG_ECONFIG;
  return dag_secret_open(st->secret_key, ad, sealed, out) ? DAG_ECONFIG : 0;
}

static void wipe_free(char *s) {
  if (!s) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

/* Does the JSON object text `extra` hold a key that looks secret? */
static bool extra_is_secret(const char *extra) {
  if (!extra) return false;
  json_t *j = json_loads(extra, 0, NULL);
  bool hit = false;
  const char *k;
  json_t *v;
  if (json_is_object(j))
    json_object_foreach(j, k, v) hit = hit || dag_secret_name(k);
  json_decref(j);
  return hit;
}

/* The row at which a change of exactly one row was expected. */
static int change_one(dag_store *st, struct store_stmt *s, const char *what) {
  int rc = store_step_done(st, s, what);
  if (rc == 0 && store_changes(st) == 0) rc = DAG_ENOTFOUND;
  return rc;
}

/* --- variables ---------------------------------------------------------------- */

int dag_store_variable_set(dag_store *st, const char *key, const char *value,
                           const char *description) {
  static const char sql[] =
      "INSERT INTO variable (key, val, description, is_encrypted) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (key) DO UPDATE SET val = excluded.val, description = excluded.description,"
      " is_encrypted = excluded.is_encrypted";
  if (dag_conn_name_problem(key) || !value) return DAG_EINVAL;
  bool secret = dag_secret_name(key);
  char *sealed = NULL;
  if (secret) {
    char *ad = xasprintf("variable:%s", key);
    int rc = seal(st, ad, value, &sealed);
    free(ad);
    if (rc) return rc;
  }
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) {
    free(sealed);
    return DAG_ESTORE;
  }
  store_bind_text(s, 1, key);
  store_bind_text(s, 2, secret ? sealed : value);
  store_bind_text(s, 3, description);
  store_bind_int64(s, 4, secret);
  int rc = store_step_done(st, s, "set variable");
  free(sealed);
  return rc;
}

/* Fill v from a row of key, val, description, is_encrypted. */
static int read_variable(dag_store *st, struct store_stmt *s, bool with_value,
                         struct dag_store_variable *v) {
  memset(v, 0, sizeof(*v));
  v->key = store_col_text(s, 0);
  v->description = store_col_text(s, 2);
  v->encrypted = store_col_int(s, 3) != 0;
  const char *val = store_col_cstr(s, 1);
  if (!v->encrypted) {
    v->value = xstrdup(val ? val : ""); /* costs nothing: always */
    return 0;
  }
  if (!with_value) return 0;
  char *ad = xasprintf("variable:%s", v->key);
  int rc = unseal(st, ad, val ? val : "", &v->value);
  free(ad);
  return rc;
}

int dag_store_variable_get(dag_store *st, const char *key, struct dag_store_variable *out) {
  static const char sql[] =
      "SELECT key, val, description, is_encrypted FROM variable WHERE key = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, key);
  int step = store_step(s), rc = 0;
  if (step == STORE_ROW) rc = read_variable(st, s, true, out);
  store_reset(s);
  if (step == STORE_DONE) return DAG_ENOTFOUND;
  if (step != STORE_ROW) return store_fail(st, "get variable");
  if (rc) dag_store_variable_clear(out);
  return rc;
}

int dag_store_variable_list(dag_store *st, bool with_values, struct dag_store_variable **out,
                            size_t *n) {
  static const char sql[] =
      "SELECT key, val, description, is_encrypted FROM variable ORDER BY key";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int step, rc = 0;
  while (rc == 0 && (step = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    rc = read_variable(st, s, with_values, &(*out)[(*n)++]);
  }
  store_reset(s);
  if (rc == 0 && step != STORE_DONE) rc = store_fail(st, "list variables");
  if (rc) {
    dag_store_variables_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int dag_store_variable_delete(dag_store *st, const char *key) {
  struct store_stmt *s = store_stmt(st, "DELETE FROM variable WHERE key = ?");
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, key);
  return change_one(st, s, "delete variable");
}

void dag_store_variable_clear(struct dag_store_variable *v) {
  free(v->key);
  wipe_free(v->value);
  free(v->description);
  memset(v, 0, sizeof(*v));
}

void dag_store_variables_free(struct dag_store_variable *v, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_variable_clear(&v[i]);
  free(v);
}

/* --- connections -------------------------------------------------------------- */

int dag_store_connection_put(dag_store *st, const struct dag_conn *c, bool replace) {
  static const char insert[] =
      "INSERT INTO connection (conn_id, conn_type, description, host, schema, login, password,"
      " port, extra, is_encrypted, is_extra_encrypted)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (conn_id) DO NOTHING";
  static const char upsert[] =
      "INSERT INTO connection (conn_id, conn_type, description, host, schema, login, password,"
      " port, extra, is_encrypted, is_extra_encrypted)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (conn_id) DO UPDATE SET"
      " conn_type = excluded.conn_type, description = excluded.description,"
      " host = excluded.host, schema = excluded.schema, login = excluded.login,"
      " password = excluded.password, port = excluded.port, extra = excluded.extra,"
      " is_encrypted = excluded.is_encrypted, is_extra_encrypted = excluded.is_extra_encrypted";
  if (!c->conn_id || dag_conn_name_problem(c->conn_id) || !c->conn_type || !*c->conn_type ||
      dag_conn_extra_problem(c->extra) || c->port < 0 || c->port > 65535)
    return DAG_EINVAL;
  char *password = NULL, *extra = NULL;
  int rc = 0;
  if (c->password) {
    char *ad = xasprintf("connection:%s:password", c->conn_id);
    rc = seal(st, ad, c->password, &password);
    free(ad);
  }
  bool extra_sealed = extra_is_secret(c->extra);
  if (rc == 0 && extra_sealed) {
    char *ad = xasprintf("connection:%s:extra", c->conn_id);
    rc = seal(st, ad, c->extra, &extra);
    free(ad);
  }
  struct store_stmt *s = rc ? NULL : store_stmt(st, replace ? upsert : insert);
  if (rc == 0 && !s) rc = DAG_ESTORE;
  if (rc == 0) {
    store_bind_text(s, 1, c->conn_id);
    store_bind_text(s, 2, c->conn_type);
    store_bind_text(s, 3, c->description);
    store_bind_text(s, 4, c->host);
    store_bind_text(s, 5, c->schema);
    store_bind_text(s, 6, c->login);
    store_bind_text(s, 7, password);
    if (c->port)
      store_bind_int64(s, 8, c->port);
    else
      store_bind_null(s, 8);
    store_bind_text(s, 9, extra_sealed ? extra : c->extra);
    store_bind_int64(s, 10, c->password != NULL);
    store_bind_int64(s, 11, extra_sealed);
    rc = store_step_done(st, s, "put connection");
    if (rc == 0 && !replace && store_changes(st) == 0) rc = DAG_EEXIST;
  }
  free(password);
  free(extra);
  return rc;
}

#define CONN_COLUMNS                                                                   \
  "conn_id, conn_type, description, host, schema, login, password, port, extra,"      \
  " is_encrypted, is_extra_encrypted"

static int read_conn(dag_store *st, struct store_stmt *s, bool with_secrets,
                     struct dag_conn *c) {
  memset(c, 0, sizeof(*c));
  c->conn_id = store_col_text(s, 0);
  c->conn_type = store_col_text(s, 1);
  c->description = store_col_text(s, 2);
  c->host = store_col_text(s, 3);
  c->schema = store_col_text(s, 4);
  c->login = store_col_text(s, 5);
  c->port = store_col_null(s, 7) ? 0 : (int)store_col_int(s, 7);
  bool extra_sealed = store_col_int(s, 10) != 0;
  if (!extra_sealed) c->extra = store_col_text(s, 8);
  if (!with_secrets) return 0;
  int rc = 0;
  const char *pw = store_col_cstr(s, 6);
  if (pw && store_col_int(s, 9)) {
    char *ad = xasprintf("connection:%s:password", c->conn_id);
    rc = unseal(st, ad, pw, &c->password);
    free(ad);
  }
  const char *ex = store_col_cstr(s, 8);
  if (rc == 0 && ex && extra_sealed) {
    char *ad = xasprintf("connection:%s:extra", c->conn_id);
    rc = unseal(st, ad, ex, &c->extra);
    free(ad);
  }
  return rc;
}

int dag_store_connection_get(dag_store *st, const char *conn_id, struct dag_conn *out) {
  static const char sql[] = "SELECT " CONN_COLUMNS " FROM connection WHERE conn_id = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, conn_id);
  int step = store_step(s), rc = 0;
  if (step == STORE_ROW) rc = read_conn(st, s, true, out);
  store_reset(s);
  if (step == STORE_DONE) return DAG_ENOTFOUND;
  if (step != STORE_ROW) return store_fail(st, "get connection");
  if (rc) dag_conn_clear(out);
  return rc;
}

int dag_store_connection_list(dag_store *st, bool with_secrets, struct dag_conn **out,
                              size_t *n) {
  static const char sql[] = "SELECT " CONN_COLUMNS " FROM connection ORDER BY conn_id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int step, rc = 0;
  while (rc == 0 && (step = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    rc = read_conn(st, s, with_secrets, &(*out)[(*n)++]);
  }
  store_reset(s);
  if (rc == 0 && step != STORE_DONE) rc = store_fail(st, "list connections");
  if (rc) {
    dag_store_connections_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int dag_store_connection_delete(dag_store *st, const char *conn_id) {
  struct store_stmt *s = store_stmt(st, "DELETE FROM connection WHERE conn_id = ?");
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, conn_id);
  return change_one(st, s, "delete connection");
}

void dag_store_connections_free(struct dag_conn *c, size_t n) {
  for (size_t i = 0; i < n; i++) dag_conn_clear(&c[i]);
  free(c);
}

/* --- resolving by name -------------------------------------------------------- */

char *dag_store_env_name(const char *prefix, const char *name) {
  char *out = xasprintf("%s%s", prefix, name);
  for (char *p = out + strlen(prefix); *p; p++)
    *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
  return out;
}

static const char *env_get(char *const *envp, const char *name) {
  size_t len = strlen(name);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
  return NULL;
}

static int store_err(dag_store *st, int rc, const char *kind, const char *name, char **err) {
  if (rc == DAG_ENOTFOUND)
    *err = xasprintf("no %s '%s' (add it with `dagctl %ss`, or set %s)", kind, name, kind,
                     strcmp(kind, "connection") == 0 ? "DAGCTL_CONN_<NAME>" : "DAGCTL_VAR_<NAME>");
  else if (rc == DAG_ECONFIG)
    *err = xasprintf("%s '%s': %s", kind, name, dag_store_secret_problem(st));
  else
    *err = xasprintf("cannot read %s '%s': %s", kind, name, dag_strerror(rc));
  return rc;
}

int dag_store_connection_resolve(dag_store *st, char *const *envp, const char *conn_id,
                                 struct dag_conn *out, char **err) {
  *err = NULL;
  memset(out, 0, sizeof(*out));
  char *var = dag_store_env_name("DAGCTL_CONN_", conn_id);
  const char *uri = env_get(envp, var);
  int rc;
  if (uri) {
    char *why = NULL;
    rc = dag_conn_parse_uri(uri, out, &why);
    if (rc) {
      *err = xasprintf("%s: %s", var, why);
      free(why);
    } else {
      out->conn_id = xstrdup(conn_id);
    }
    free(var);
    return rc;
  }
  free(var);
  if (!st) return store_err(st, DAG_ENOTFOUND, "connection", conn_id, err);
  rc = dag_store_connection_get(st, conn_id, out);
  return rc ? store_err(st, rc, "connection", conn_id, err) : 0;
}

int dag_store_variable_resolve(dag_store *st, char *const *envp, const char *key, char **value,
                               char **err) {
  *err = NULL;
  *value = NULL;
  char *var = dag_store_env_name("DAGCTL_VAR_", key);
  const char *v = env_get(envp, var);
  free(var);
  if (v) {
    *value = xstrdup(v);
    return 0;
  }
  if (!st) return store_err(st, DAG_ENOTFOUND, "variable", key, err);
  struct dag_store_variable row;
  int rc = dag_store_variable_get(st, key, &row);
  if (rc) return store_err(st, rc, "variable", key, err);
  *value = row.value;
  row.value = NULL;
  dag_store_variable_clear(&row);
  return 0;
}

/* The values of secret-looking keys of an extra (JSON text). */
static void extra_secrets(const char *extra, void (*add)(void *, const char *), void *ud) {
  json_t *j = extra ? json_loads(extra, 0, NULL) : NULL;
  const char *k;
  json_t *v;
  if (json_is_object(j))
    json_object_foreach(j, k, v) if (dag_secret_name(k) && json_is_string(v))
        add(ud, json_string_value(v));
  json_decref(j);
}

int dag_store_secret_values(dag_store *st, char *const *envp,
                            void (*add)(void *ud, const char *secret), void *ud) {
  for (char *const *e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    if (strncmp(*e, "DAGCTL_CONN_", 12) == 0) {
      struct dag_conn c;
      char *why = NULL;
      if (dag_conn_parse_uri(eq + 1, &c, &why) == 0) {
        if (c.password) add(ud, c.password);
        extra_secrets(c.extra, add, ud);
        dag_conn_clear(&c);
      }
      free(why);
    } else if (strncmp(*e, "DAGCTL_VAR_", 11) == 0) {
      char *name = xstrndup(*e + 11, (size_t)(eq - *e - 11));
      if (dag_secret_name(name)) add(ud, eq + 1);
      free(name);
    }
  }
  if (!st || !st->secret_key) return 0; /* nothing sealed can have been opened */
  static const char conns[] =
      "SELECT conn_id, password, extra, is_extra_encrypted FROM connection"
      " WHERE password IS NOT NULL OR is_extra_encrypted = 1";
  struct store_stmt *s = store_stmt(st, conns);
  if (!s) return DAG_ESTORE;
  int step;
  while ((step = store_step(s)) == STORE_ROW) {
    const char *id = store_col_cstr(s, 0), *pw = store_col_cstr(s, 1);
    char *ad = xasprintf("connection:%s:password", id), *plain = NULL;
    if (pw && unseal(st, ad, pw, &plain) == 0) add(ud, plain);
    wipe_free(plain);
    free(ad);
    plain = NULL;
    const char *ex = store_col_cstr(s, 2);
    if (ex && store_col_int(s, 3)) {
      ad = xasprintf("connection:%s:extra", id);
      if (unseal(st, ad, ex, &plain) == 0) extra_secrets(plain, add, ud);
      wipe_free(plain);
      free(ad);
    }
  }
  store_reset(s);
  if (step != STORE_DONE) return store_fail(st, "read connection secrets");
  static const char vars[] = "SELECT key, val FROM variable WHERE is_encrypted = 1";
  if (!(s = store_stmt(st, vars))) return DAG_ESTORE;
  while ((step = store_step(s)) == STORE_ROW) {
    char *ad = xasprintf("variable:%s", store_col_cstr(s, 0)), *plain = NULL;
    if (unseal(st, ad, store_col_cstr(s, 1), &plain) == 0) add(ud, plain);
    wipe_free(plain);
    free(ad);
  }
  store_reset(s);
  return step == STORE_DONE ? 0 : store_fail(st, "read variable secrets");
}

/* --- templates ---------------------------------------------------------------- */

static void mask_one(void *ud, const char *secret) {
  (void)ud;
  dag_log_mask(secret);
}

static int lookup_var(void *ud, const char *name, char **value, char **err) {
  struct dag_store_lookup *l = ud;
  int rc = dag_store_variable_resolve(l->st, l->envp, name, value, err);
  if (rc == 0 && dag_secret_name(name)) dag_log_mask(*value);
  return rc;
}

static int lookup_conn(void *ud, const char *name, json_t **out, char **err) {
  struct dag_store_lookup *l = ud;
  struct dag_conn c;
  *out = NULL;
  int rc = dag_store_connection_resolve(l->st, l->envp, name, &c, err);
  if (rc) return rc;
  if (c.password) dag_log_mask(c.password);
  extra_secrets(c.extra, mask_one, NULL);
  *out = dag_conn_json(&c);
  dag_conn_clear(&c);
  return 0;
}

void dag_store_template_lookups(struct dag_store_lookup *l, struct dag_template_ctx *ctx) {
  ctx->lookup_var = lookup_var;
  ctx->lookup_conn = lookup_conn;
  ctx->lookup_ud = l;
}
