/* plugin_sql.c - the `sql` task type: statements against the warehouse
 * or a named connection (SQLite or PostgreSQL), as Airflow's
 * SQLExecuteQueryOperator.
 *
 * Params:
 *   sql         required: one statement, or a list of statements run in
 *               order in one transaction. Declared verbatim: the host
 *               renders no template in it, so no value of a run's conf
 *               can ever become SQL.
 *   parameters  a list bound to $1, $2, ... of the statement (templated;
 *               bound as text, never spliced; null binds NULL); only with
 *               one statement
 *   conn_id     a connection (`dagctl connections`) of type sqlite (its
 *               host, or else its schema, is the database file) or
 *               postgres; unset: the warehouse section's database
 *
 * XComs, of the last statement: row_count (the rows it returned: write
 * RETURNING to count an INSERT's) and first_row (a mapping of column to
 * value, text or null; null when it returned none). */
#include <dagctl/plugin.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "strbuf.h"
#include "wh.h"
#include "wh_host.h"

#define HOST_HAS(h, f) \
  ((h)->size >= offsetof(struct dagctl_host, f) + sizeof((h)->f) && (h)->f != NULL)

/* The warehouse options of connection `conn` (JSON from get_conn()). *url
 * and *password are the caller's to free. */
static int conn_options(const struct dagctl_host *h, const char *conn_id, const char *conn,
                        char **url, char **password) {
  json_t *c = json_loads(conn, 0, NULL);
  const char *type = json_string_value(json_object_get(c, "conn_type"));
  const char *host = json_string_value(json_object_get(c, "host"));
  const char *schema = json_string_value(json_object_get(c, "schema"));
  const char *login = json_string_value(json_object_get(c, "login"));
  const char *pw = json_string_value(json_object_get(c, "password"));
  json_int_t port = json_integer_value(json_object_get(c, "port"));
  int rc = 0;
  *url = *password = NULL;
  if (type && strcmp(type, "sqlite") == 0) {
    if (host && *host)
      *url = xstrdup(host);
    else if (schema && *schema)
      *url = xasprintf("%s%s", schema[0] == '/' ? "" : "/", schema);
  } else if (type && (strcmp(type, "postgres") == 0 || strcmp(type, "postgresql") == 0)) {
    /* libpq reads these as connection parameters, each one escaped: a
     * socket folder, a user or a database name cannot change the URL. */
    json_t *q = json_pack("{s:s}", "dbname", schema && *schema ? schema : "postgres");
    if (host && *host) json_object_set_new(q, "host", json_string(host));
    if (login && *login) json_object_set_new(q, "user", json_string(login));
    if (port) json_object_set_new(q, "port", json_integer(port));
    struct strbuf sb = STRBUF_INIT;
    sb_append(&sb, "postgresql://?");
    const char *key;
    json_t *v;
    int first = 1;
    json_object_foreach(q, key, v) {
      char *text = json_is_string(v) ? xstrdup(json_string_value(v))
                                     : xasprintf("%lld", (long long)json_integer_value(v));
      if (!first) sb_appendc(&sb, '&');
      first = 0;
      sb_appendf(&sb, "%s=", key);
      for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p))
          sb_appendc(&sb, (char)*p);
        else
          sb_appendf(&sb, "%%%02X", *p);
      }
      free(text);
    }
    json_decref(q);
    *url = sb_detach(&sb);
    if (pw) *password = xstrdup(pw);
  } else {
    h->log(h, DAGCTL_LOG_ERROR, "connection %s: conn_type %s: expected sqlite or postgres",
           conn_id, type ? type : "(none)");
    rc = -1;
  }
  if (rc == 0 && *url == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "connection %s: no database file (host or schema)", conn_id);
    rc = -1;
  }
  json_decref(c);
  return rc;
}

static struct wh *open_db(const struct dagctl_host *h, const char *conn_id) {
  if (conn_id == NULL) return wh_open_for_task(h);
  if (!HOST_HAS(h, get_conn)) {
    h->log(h, DAGCTL_LOG_ERROR, "conn_id: this host has no connections (it predates ABI minor 6)");
    return NULL;
  }
  const char *conn = h->get_conn(h, conn_id);
  char *url = NULL, *password = NULL;
  struct wh *w = NULL;
  if (conn && conn_options(h, conn_id, conn, &url, &password) == 0) {
    struct wh_options o = {.url = url, .password = password};
    char *err = NULL;
    if (wh_open(&o, &w, &err) < 0) {
      h->log(h, DAGCTL_LOG_ERROR, "connection %s: %s", conn_id, err);
      free(err);
    }
  }
  free(url);
  free(password);
  return w;
}

struct rows {
  size_t n;
  json_t *first;
};

static int on_row(void *ud, int ncols, const char *const *names, const char *const *values) {
  struct rows *r = ud;
  if (r->n++ == 0) {
    r->first = json_object();
    for (int i = 0; i < ncols; i++)
      json_object_set_new(r->first, names[i], values[i] ? json_string(values[i]) : json_null());
  }
  return 0;
}

static void push(const struct dagctl_host *h, const char *key, json_t *v) {
  char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (text == NULL || h->xcom_push(h, key, text) != 0)
    h->log(h, DAGCTL_LOG_WARN, "xcom %s: the host refused the value", key);
  free(text);
}

static enum dagctl_result sql_execute(const struct dagctl_host *h) {
  const char *sql = h->param(h, "sql"), *params_text = h->param(h, "parameters");
  const char *conn_id = h->param(h, "conn_id");
  if (conn_id && !*conn_id) conn_id = NULL;
  if (sql == NULL || !*sql) {
    h->log(h, DAGCTL_LOG_ERROR, "sql: required");
    return DAGCTL_FAILED;
  }
  /* A list arrives as JSON text; a statement as written. */
  json_t *stmts = sql[0] == '[' ? json_loads(sql, 0, NULL) : NULL;
  if (!json_is_array(stmts)) {
    json_decref(stmts);
    stmts = json_pack("[s]", sql);
  }
  json_t *params = params_text ? json_loads(params_text, 0, NULL) : json_array();
  enum dagctl_result res = DAGCTL_FAILED;
  struct wh *w = NULL;
  const char **bind = NULL;
  char **owned = NULL;
  size_t np = json_array_size(params), i;
  json_t *v;
  if (!json_is_array(params)) {
    h->log(h, DAGCTL_LOG_ERROR, "parameters: expected a list");
    goto out;
  }
  if (np && json_array_size(stmts) != 1) {
    h->log(h, DAGCTL_LOG_ERROR, "parameters: only with one statement (sql is a list of %zu)",
           json_array_size(stmts));
    goto out;
  }
  json_array_foreach(stmts, i, v) {
    if (!json_is_string(v)) {
      h->log(h, DAGCTL_LOG_ERROR, "sql[%zu]: expected a statement", i);
      goto out;
    }
  }
  bind = xcalloc(np + 1, sizeof(*bind));
  owned = xcalloc(np + 1, sizeof(*owned));
  json_array_foreach(params, i, v) {
    if (json_is_null(v)) continue;
    owned[i] = json_is_string(v) ? xstrdup(json_string_value(v))
                                 : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    bind[i] = owned[i];
  }
  if ((w = open_db(h, conn_id)) == NULL) goto out;
  char *err = NULL;
  struct rows rows = {0};
  if (wh_begin(w, &err) < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "%s", err);
    free(err);
    goto out;
  }
  json_array_foreach(stmts, i, v) {
    json_decref(rows.first);
    rows = (struct rows){0};
    if (wh_query(w, json_string_value(v), bind, (int)np, on_row, &rows, &err) < 0) {
      h->log(h, DAGCTL_LOG_ERROR, "statement %zu of %zu failed on %s: %s", i + 1,
             json_array_size(stmts), wh_describe(w), err);
      free(err);
      wh_rollback(w);
      json_decref(rows.first);
      goto out;
    }
  }
  if (wh_commit(w, &err) < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "%s", err);
    free(err);
    json_decref(rows.first);
    goto out;
  }
  h->log(h, DAGCTL_LOG_INFO, "%zu statement(s) on %s; the last returned %zu row(s)",
         json_array_size(stmts), wh_describe(w), rows.n);
  json_t *count = json_integer((json_int_t)rows.n);
  push(h, "row_count", count);
  json_decref(count);
  push(h, "first_row", rows.first ? rows.first : json_null());
  json_decref(rows.first);
  res = DAGCTL_OK;
out:
  for (i = 0; owned && i < np; i++) free(owned[i]);
  free(owned);
  free(bind);
  json_decref(stmts);
  json_decref(params);
  wh_close(w);
  return res;
}

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_ANY, DAGCTL_PARAM_REQUIRED | DAGCTL_PARAM_VERBATIM, "sql", NULL,
                 "a statement, or a list run in one transaction; as written: no templates"),
    DAGCTL_PARAM(DAGCTL_PARAM_LIST, 0, "parameters", NULL,
                 "values bound to $1, $2, ... of the one statement, as text"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "conn_id", NULL,
                 "a sqlite or postgres connection; unset: the warehouse"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "sql",
     "SQL statements with bound parameters; row count and first row to XCom", sql_execute, params,
     sizeof(params) / sizeof(params[0]), 0, NULL},
};

static const struct dagctl_config_section *const sections[] = {&wh_config_section};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "sql", "1.0.0", types,
    sizeof(types) / sizeof(types[0]), sections, 1};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
