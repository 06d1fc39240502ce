/* wh_pg.c - the PostgreSQL warehouse (libpq).
 *
 * Schemas are real schemas. Queries go through PQexecParams with text
 * parameters and results, so $1..$n mean the same as on SQLite; bulk
 * inserts are COPY FROM STDIN in text format. Calls block: the plugins that
 * use a warehouse run in a task process of their own, never on the
 * scheduler's loop. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "strbuf.h"
#include "wh_int.h"

#ifndef DAGCTL_HAVE_LIBPQ
int wh__pg_open(const struct wh_options *opts, struct wh **out, char **err) {
  (void)opts;
  *out = NULL;
  *err = xstrdup("warehouse: this dagctl was built without libpq; install libpq-dev and "
                 "rebuild to use a postgresql:// warehouse");
  return DAG_EINVAL;
}
#else
#include "pq_lazy.h"

/* COPY data is sent in chunks of about this size. */
#define COPY_CHUNK (1 << 20)

struct wh_pg {
  struct wh base;
  PGconn *conn;
};

struct pg_appender {
  struct wh_appender base;
  struct strbuf buf;
};

static int pg_fail(struct wh_pg *g, char **err, const char *what, const PGresult *res) {
  const char *msg = res ? PQresultErrorMessage(res) : "";
  if (msg == NULL || *msg == '\0') msg = PQerrorMessage(g->conn);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--;
  *err = xasprintf("warehouse %s: %s: %.*s", g->base.describe, what, (int)n, msg);
  return DAG_ESTORE;
}

static int pg_exec(struct wh *w, const char *sql, char **err) {
  struct wh_pg *g = (struct wh_pg *)w;
  PGresult *res = PQexec(g->conn, sql);
  ExecStatusType st = PQresultStatus(res);
  int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(g, err, "exec", res);
  PQclear(res);
  return rc;
}

static int pg_query(struct wh *w, const char *sql, const char *const *params, int nparams,
                    wh_row_fn fn, void *ud, char **err) {
  struct wh_pg *g = (struct wh_pg *)w;
  PGresult *res = PQexecParams(g->conn, sql, nparams, NULL, params, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    int rc = pg_fail(g, err, "query", res);
    PQclear(res);
    return rc;
  }
  int ncols = PQnfields(res), nrows = PQntuples(res);
  const char **names = xcalloc((size_t)ncols + 1, sizeof(*names));
  const char **values = xcalloc((size_t)ncols + 1, sizeof(*values));
  for (int c = 0; c < ncols; c++)
    names[c] = PQfname(res, c);
  for (int r = 0; fn && r < nrows; r++) {
    for (int c = 0; c < ncols; c++)
      values[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
    if (fn(ud, ncols, names, values)) break;
  }
  free(names);
  free(values);
  PQclear(res);
  return 0;
}

static int pg_begin(struct wh *w, char **err) {
  return pg_exec(w, "BEGIN", err);
}

static int pg_commit(struct wh *w, char **err) {
  return pg_exec(w, "COMMIT", err);
}

static void pg_rollback(struct wh *w) {
  struct wh_pg *g = (struct wh_pg *)w;
  if (PQtransactionStatus(g->conn) != PQTRANS_IDLE) PQclear(PQexec(g->conn, "ROLLBACK"));
}

static int pg_ensure_schema(struct wh *w, const char *schema, char **err) {
  char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", schema);
  int rc = pg_exec(w, sql, err);
  free(sql);
  return rc;
}

static int pg_append_begin(struct wh *w, const char *table, const char *const *columns,
                           int ncols, struct wh_appender **out, char **err) {
  struct wh_pg *g = (struct wh_pg *)w;
  struct strbuf sql = STRBUF_INIT;
  sb_appendf(&sql, "COPY %s (", table);
  for (int i = 0; i < ncols; i++)
    sb_appendf(&sql, "%s%s", i ? ", " : "", columns[i]);
  sb_append(&sql, ") FROM STDIN");
  PGresult *res = PQexec(g->conn, sb_str(&sql));
  sb_free(&sql);
  int rc = PQresultStatus(res) == PGRES_COPY_IN ? 0 : pg_fail(g, err, table, res);
  PQclear(res);
  if (rc < 0) return rc;
  struct pg_appender *a = xcalloc(1, sizeof(*a));
  *out = &a->base;
  return 0;
}

/* COPY's text format: backslash escapes for the delimiter, line ends and
 * the backslash itself; \N is NULL. */
static void copy_text(struct strbuf *sb, const char *s, size_t len) {
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i], esc = c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : 0;
    if (!esc) continue;
    sb_appendn(sb, s + start, i - start);
    sb_appendc(sb, '\\');
    sb_appendc(sb, esc);
    start = i + 1;
  }
  sb_appendn(sb, s + start, len - start);
}

static int flush_copy(struct pg_appender *a, char **err) {
  struct wh_pg *g = (struct wh_pg *)a->base.w;
  if (a->buf.len == 0) return 0;
  if (PQputCopyData(g->conn, a->buf.buf, (int)a->buf.len) != 1)
    return pg_fail(g, err, "copy", NULL);
  sb_reset(&a->buf);
  return 0;
}

static int pg_append_row(struct wh_appender *base, char **err) {
  struct pg_appender *a = (struct pg_appender *)base;
  for (int i = 0; i < base->ncols; i++) {
    const struct wh_value *v = &base->row[i];
    if (i) sb_appendc(&a->buf, '\t');
    if (v->kind == WH_V_TEXT)
      copy_text(&a->buf, v->s, v->len);
    else if (v->kind == WH_V_INT)
      sb_appendf(&a->buf, "%lld", (long long)v->i);
    else
      sb_append(&a->buf, "\\N");
  }
  sb_appendc(&a->buf, '\n');
  return a->buf.len >= COPY_CHUNK ? flush_copy(a, err) : 0;
}

static int pg_append_end(struct wh_appender *base, char **err) {
  struct pg_appender *a = (struct pg_appender *)base;
  struct wh_pg *g = (struct wh_pg *)base->w;
  int rc = flush_copy(a, err);
  /* End the COPY whatever happened, or the connection stays in COPY mode;
   * after a failure, end it with an error so the server discards the rows. */
  if (PQputCopyEnd(g->conn, rc == 0 ? NULL : "aborted by the client") != 1 && rc == 0)
    rc = pg_fail(g, err, "copy end", NULL);
  PGresult *res;
  while ((res = PQgetResult(g->conn)) != NULL) {
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) rc = pg_fail(g, err, "copy", res);
    PQclear(res);
  }
  sb_free(&a->buf);
  free(a);
  return rc;
}

static int pg_relation_kind(struct wh *w, const char *schema, const char *name,
                            enum wh_relkind *kind, char **err) {
  *kind = WH_REL_NONE;
  const char *params[] = {schema, name};
  char *k = NULL;
  int rc = wh_query_value(w,
                          "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid "
                          "= c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND "
                          "c.relkind IN ('r', 'p', 'v', 'm')",
                          params, 2, &k, err);
  if (rc == DAG_ENOTFOUND) {
    free(*err);
    *err = NULL;
    return 0;
  }
  if (rc < 0) return rc;
  *kind = k && (k[0] == 'v' || k[0] == 'm') ? WH_REL_VIEW : WH_REL_TABLE;
  free(k);
  return 0;
}

static int pg_drop_relation(struct wh *w, const char *schema, const char *name, char **err) {
  enum wh_relkind kind;
  int rc = pg_relation_kind(w, schema, name, &kind, err);
  if (rc < 0 || kind == WH_REL_NONE) return rc;
  /* CASCADE, as dbt does: views built on the old relation go with it and
   * are rebuilt by their own models. */
  char *sql = xasprintf("DROP %s %s.%s CASCADE", kind == WH_REL_VIEW ? "VIEW" : "TABLE",
                        schema, name);
  rc = pg_exec(w, sql, err);
  free(sql);
  return rc;
}

static int pg_swap_table(struct wh *w, const char *schema, const char *name,
                         const char *tmp_name, char **err) {
  int rc = pg_begin(w, err);
  if (rc < 0) return rc;
  rc = pg_drop_relation(w, schema, name, err);
  if (rc == 0) {
    char *sql = xasprintf("ALTER TABLE %s.%s RENAME TO %s", schema, tmp_name, name);
    rc = pg_exec(w, sql, err);
    free(sql);
  }
  if (rc == 0) rc = pg_commit(w, err);
  if (rc < 0) pg_rollback(w);
  return rc;
}

static void pg_close(struct wh *w) {
  struct wh_pg *g = (struct wh_pg *)w;
  PQfinish(g->conn);
  free(w->describe);
  free(g);
}

static const struct wh_ops pg_ops = {
    .close = pg_close,
    .ensure_schema = pg_ensure_schema,
    .exec = pg_exec,
    .query = pg_query,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .append_begin = pg_append_begin,
    .append_row = pg_append_row,
    .append_end = pg_append_end,
    .relation_kind = pg_relation_kind,
    .drop_relation = pg_drop_relation,
    .swap_table = pg_swap_table,
};

/* postgresql://user:secret@host/db -> postgresql://user@host/db */
static char *without_password(const char *url) {
  const char *scheme = strstr(url, "://");
  if (scheme == NULL) return xstrdup(url);
  const char *auth = scheme + 3;
  const char *at = strchr(auth, '@');
  const char *slash = strchr(auth, '/');
  if (at == NULL || (slash && slash < at)) return xstrdup(url);
  const char *colon = memchr(auth, ':', (size_t)(at - auth));
  if (colon == NULL) return xstrdup(url);
  return xasprintf("%.*s%s", (int)(colon - url), url, at);
}

/* NOTICEs ("schema already exists, skipping") are not worth a log line. */
static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

int wh__pg_open(const struct wh_options *opts, struct wh **out, char **err) {
  struct wh_pg *g = xcalloc(1, sizeof(*g));
  g->base.ops = &pg_ops;
  g->base.backend = WH_POSTGRES;
  g->base.describe = without_password(opts->url);
  const char *keys[5] = {"dbname"}, *vals[5] = {opts->url};
  int nk = 1;
  if (opts->password) {
    keys[nk] = "password";
    vals[nk++] = opts->password;
  }
  keys[nk] = "application_name";
  vals[nk++] = "dagctl";
  if (opts->read_only) {
    /* Every transaction of the session is read-only: the server refuses a
     * write, whatever SQL runs. */
    keys[nk] = "options";
    vals[nk++] = "-c default_transaction_read_only=on";
  }
  g->conn = PQconnectdbParams(keys, vals, 1);
  int rc = 0;
  if (g->conn == NULL || PQstatus(g->conn) != CONNECTION_OK) {
    const char *msg = g->conn                 ? PQerrorMessage(g->conn)
                      : dag_pq_load_error() ? dag_pq_load_error()
                                            : "out of memory";
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
      n--;
    *err = xasprintf("warehouse %s: cannot connect: %.*s", g->base.describe, (int)n, msg);
    rc = DAG_ESTORE;
  }
  if (rc == 0) {
    PQsetNoticeProcessor(g->conn, ignore_notice, NULL);
    static const char *const schemas[] = WH_DEFAULT_SCHEMAS;
    for (size_t i = 0; rc == 0 && !opts->read_only && i < sizeof(schemas) / sizeof(schemas[0]);
         i++)
      rc = pg_ensure_schema(&g->base, schemas[i], err);
  }
  if (rc < 0) {
    pg_close(&g->base);
    *out = NULL;
    return rc;
  }
  *out = &g->base;
  return 0;
}
#endif
