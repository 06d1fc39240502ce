/* wh.c - choosing a backend from the URL, and what all backends share. */
#include "wh.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "wh_int.h"

static bool has_prefix(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

int wh_open(const struct wh_options *opts, struct wh **out, char **err) {
  *out = NULL;
  const char *url = opts->url;
  if (url == NULL || *url == '\0') {
    *err = xstrdup("warehouse: no url (set warehouse.url)");
    return DAG_EINVAL;
  }
  if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://"))
    return wh__pg_open(opts, out, err);
  const char *path = url;
  if (has_prefix(url, "sqlite://"))
    path = url + 9; /* sqlite:///abs/path -> /abs/path */
  else if (has_prefix(url, "sqlite:"))
    path = url + 7;
  else if (has_prefix(url, "file://"))
    path = url + 7;
  else if (has_prefix(url, "file:"))
    path = url + 5;
  else if (strstr(url, "://")) {
    *err = xasprintf("warehouse: unsupported url '%s' (expected a SQLite path or "
                     "postgresql://...)",
                     url);
    return DAG_EINVAL;
  }
  if (*path == '\0') {
    *err = xasprintf("warehouse: url '%s' names no file", url);
    return DAG_EINVAL;
  }
  return wh__sqlite_open(opts, path, out, err);
}

void wh_close(struct wh *w) {
  if (w) w->ops->close(w);
}

enum wh_backend wh_backend(const struct wh *w) {
  return w->backend;
}

const char *wh_describe(const struct wh *w) {
  return w->describe;
}

int wh_ensure_schema(struct wh *w, const char *schema, char **err) {
  if (!wh_is_identifier(schema)) {
    *err = xasprintf("warehouse: '%s' is not a valid schema name", schema);
    return DAG_EINVAL;
  }
  return w->ops->ensure_schema(w, schema, err);
}

int wh_exec(struct wh *w, const char *sql, char **err) {
  return w->ops->exec(w, sql, err);
}

int wh_query(struct wh *w, const char *sql, const char *const *params, int nparams,
             wh_row_fn fn, void *ud, char **err) {
  return w->ops->query(w, sql, params, nparams, fn, ud, err);
}

struct first_value {
  bool seen;
  char *value;
};

static int take_first(void *ud, int ncols, const char *const *names,
                      const char *const *values) {
  struct first_value *fv = ud;
  (void)names;
  fv->seen = true;
  fv->value = ncols > 0 && values[0] ? xstrdup(values[0]) : NULL;
  return 1;
}

int wh_query_value(struct wh *w, const char *sql, const char *const *params, int nparams,
                   char **value, char **err) {
  struct first_value fv = {false, NULL};
  *value = NULL;
  int rc = wh_query(w, sql, params, nparams, take_first, &fv, err);
  if (rc < 0) return rc;
  if (!fv.seen) {
    *err = xasprintf("warehouse: query returned no row: %s", sql);
    return DAG_ENOTFOUND;
  }
  *value = fv.value;
  return 0;
}

int wh_begin(struct wh *w, char **err) {
  return w->ops->begin(w, err);
}

int wh_commit(struct wh *w, char **err) {
  return w->ops->commit(w, err);
}

void wh_rollback(struct wh *w) {
  w->ops->rollback(w);
}

int wh_append_begin(struct wh *w, const char *table, const char *const *columns,
                    int ncols, struct wh_appender **out, char **err) {
  *out = NULL;
  if (!wh_is_relation_name(table)) {
    *err = xasprintf("warehouse: '%s' is not a valid table name", table);
    return DAG_EINVAL;
  }
  for (int i = 0; i < ncols; i++) {
    if (!wh_is_identifier(columns[i])) {
      *err = xasprintf("warehouse: '%s' is not a valid column name", columns[i]);
      return DAG_EINVAL;
    }
  }
  int rc = w->ops->append_begin(w, table, columns, ncols, out, err);
  if (rc < 0) return rc;
  (*out)->w = w;
  (*out)->ncols = ncols;
  (*out)->row = xcalloc((size_t)ncols, sizeof(struct wh_value));
  return 0;
}

void wh_append_text(struct wh_appender *a, int col, const char *s, size_t len) {
  a->row[col] = (struct wh_value){WH_V_TEXT, s, len, 0};
}

void wh_append_int(struct wh_appender *a, int col, int64_t v) {
  a->row[col] = (struct wh_value){WH_V_INT, NULL, 0, v};
}

void wh_append_null(struct wh_appender *a, int col) {
  a->row[col] = (struct wh_value){WH_V_NULL, NULL, 0, 0};
}

int wh_append_row(struct wh_appender *a, char **err) {
  int rc = a->w->ops->append_row(a, err);
  memset(a->row, 0, (size_t)a->ncols * sizeof(*a->row));
  return rc;
}

int wh_append_end(struct wh_appender *a, char **err) {
  if (a == NULL) return 0;
  struct wh_value *row = a->row;
  int rc = a->w->ops->append_end(a, err);
  free(row);
  return rc;
}

int wh_relation_kind(struct wh *w, const char *schema, const char *name,
                     enum wh_relkind *kind, char **err) {
  return w->ops->relation_kind(w, schema, name, kind, err);
}

int wh_drop_relation(struct wh *w, const char *schema, const char *name, char **err) {
  if (!wh_is_identifier(schema) || !wh_is_identifier(name)) {
    *err = xasprintf("warehouse: '%s.%s' is not a valid relation name", schema, name);
    return DAG_EINVAL;
  }
  return w->ops->drop_relation(w, schema, name, err);
}

int wh_swap_table(struct wh *w, const char *schema, const char *name,
                  const char *tmp_name, char **err) {
  if (!wh_is_identifier(schema) || !wh_is_identifier(name) || !wh_is_identifier(tmp_name)) {
    *err = xasprintf("warehouse: invalid relation name in swap of %s.%s", schema, name);
    return DAG_EINVAL;
  }
  return w->ops->swap_table(w, schema, name, tmp_name, err);
}

bool wh_is_identifier(const char *s) {
  if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (s++; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
  return true;
}

bool wh_is_relation_name(const char *s) {
  if (s == NULL) return false;
  const char *dot = strchr(s, '.');
  if (dot == NULL) return wh_is_identifier(s);
  char *schema = xstrndup(s, (size_t)(dot - s));
  bool ok = wh_is_identifier(schema) && wh_is_identifier(dot + 1);
  free(schema);
  return ok;
}
