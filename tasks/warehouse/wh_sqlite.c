/* wh_sqlite.c - the SQLite warehouse: one file per schema, ATTACHed.
 *
 * warehouse.db is the main database; schema S lives in warehouse_S.db
 * beside it, attached as S, so SQL says gold.top_tracks as on PostgreSQL.
 * One file per schema also lets a reader of gold (a dashboard, the quality
 * DAG) run while the loader writes bronze: WAL keeps readers off writers'
 * toes within a file, and different files never contend at all. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "error.h"
#include "strbuf.h"
#include "wh_int.h"

/* Pages of WAL between automatic checkpoints (see wh__sqlite_open). */
#define WAL_CHECKPOINT_PAGES 65536
/* How much of each schema file is read through mmap: SQLite's own cap
 * (SQLITE_MAX_MMAP_SIZE, just under 2 GiB) unless it was built with more;
 * address space, not memory: the pages are the OS's cache. */
#define MMAP_BYTES (1LL << 40)

struct wh_sqlite {
  struct wh base;
  sqlite3 *db;
  char *base_path; /* the url's path minus ".db": schema files are BASE_S.db */
  bool in_txn;
  bool read_only; /* files opened read-only: attach them, set nothing */
};

struct sqlite_appender {
  struct wh_appender base;
  sqlite3_stmt *stmt;
};

static const struct wh_ops sqlite_ops;

static int fail(struct wh_sqlite *s, char **err, const char *what) {
  *err = xasprintf("warehouse %s: %s: %s", s->base.describe, what, sqlite3_errmsg(s->db));
  return DAG_ESTORE;
}

static int exec_sql(struct wh *w, const char *sql, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    *err = xasprintf("warehouse %s: %s", w->describe, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return DAG_ESTORE;
  }
  return 0;
}

static bool attached(struct wh_sqlite *s, const char *schema) {
  /* sqlite3_db_filename() is NULL for a name that is not attached. */
  return sqlite3_db_filename(s->db, schema) != NULL;
}

static int ensure_schema(struct wh *w, const char *schema, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  if (attached(s, schema)) return 0;
  char *path = xasprintf("%s_%s.db", s->base_path, schema);
  sqlite3_stmt *st = NULL;
  char *sql = xasprintf("ATTACH DATABASE ?1 AS %s", schema);
  int rc = 0;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    rc = fail(s, err, "attach");
  } else {
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = fail(s, err, path);
  }
  sqlite3_finalize(st);
  free(sql);
  /* A reader changes no file's settings: journal_mode would need a write. */
  if (rc == 0 && !s->read_only) {
    /* WAL + NORMAL: a commit is durable against a crash of the process or
     * the OS once it returns, at the cost of one fsync per checkpoint rather
     * than per commit. A large cache keeps dbt's window sorts in memory.
     * Memory-mapped reads: a model that scans all of silver, or probes
     * its unique index a million times, otherwise copies every page out of
     * the OS's cache with read() (a third of the incremental silver
     * build's CPU at 10M events, bench/README.md). Writes still go through
     * the WAL. */
    sql = xasprintf("PRAGMA %s.journal_mode=WAL; PRAGMA %s.synchronous=NORMAL;"
                    "PRAGMA %s.cache_size=-65536; PRAGMA %s.journal_size_limit=%d;"
                    "PRAGMA %s.mmap_size=%lld;",
                    schema, schema, schema, schema, WAL_CHECKPOINT_PAGES * 4096, schema,
                    MMAP_BYTES);
    rc = exec_sql(w, sql, err);
    free(sql);
  }
  free(path);
  return rc;
}

static int bind_params(struct wh_sqlite *s, sqlite3_stmt *st, const char *const *params,
                       int nparams, char **err) {
  for (int i = 0; i < nparams; i++) {
    char name[16];
    snprintf(name, sizeof(name), "$%d", i + 1);
    int idx = sqlite3_bind_parameter_index(st, name);
    if (idx == 0) continue; /* not used by this statement */
    int rc = params[i] ? sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC)
                       : sqlite3_bind_null(st, idx);
    if (rc != SQLITE_OK) return fail(s, err, "bind");
  }
  return 0;
}

static int query(struct wh *w, const char *sql, const char *const *params, int nparams,
                 wh_row_fn fn, void *ud, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return fail(s, err, "query");
  int rc = bind_params(s, st, params, nparams, err);
  int ncols = sqlite3_column_count(st);
  const char **names = xcalloc((size_t)ncols + 1, sizeof(*names));
  const char **values = xcalloc((size_t)ncols + 1, sizeof(*values));
  for (int i = 0; i < ncols; i++)
    names[i] = sqlite3_column_name(st, i);
  while (rc == 0) {
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) {
      rc = fail(s, err, "query");
      break;
    }
    for (int i = 0; i < ncols; i++)
      values[i] = (const char *)sqlite3_column_text(st, i);
    if (fn && fn(ud, ncols, names, values)) break;
  }
  free(names);
  free(values);
  sqlite3_finalize(st);
  return rc;
}

static int begin(struct wh *w, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  int rc = exec_sql(w, "BEGIN", err);
  if (rc == 0) s->in_txn = true;
  return rc;
}

static int commit(struct wh *w, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  int rc = exec_sql(w, "COMMIT", err);
  if (rc == 0) s->in_txn = false;
  return rc;
}

static void rollback(struct wh *w) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  /* After some errors SQLite has already rolled back on its own. */
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->in_txn = false;
}

static int append_begin(struct wh *w, const char *table, const char *const *columns,
                        int ncols, struct wh_appender **out, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  struct strbuf sql = STRBUF_INIT;
  sb_appendf(&sql, "INSERT INTO %s (", table);
  for (int i = 0; i < ncols; i++)
    sb_appendf(&sql, "%s%s", i ? ", " : "", columns[i]);
  sb_append(&sql, ") VALUES (");
  for (int i = 0; i < ncols; i++)
    sb_appendf(&sql, "%s?%d", i ? ", " : "", i + 1);
  sb_append(&sql, ")");
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(s->db, sb_str(&sql), -1, &st, NULL) != SQLITE_OK)
    rc = fail(s, err, table);
  sb_free(&sql);
  if (rc < 0) return rc;
  struct sqlite_appender *a = xcalloc(1, sizeof(*a));
  a->stmt = st;
  *out = &a->base;
  return 0;
}

static int append_row(struct wh_appender *base, char **err) {
  struct sqlite_appender *a = (struct sqlite_appender *)base;
  struct wh_sqlite *s = (struct wh_sqlite *)base->w;
  for (int i = 0; i < base->ncols; i++) {
    const struct wh_value *v = &base->row[i];
    if (v->kind == WH_V_TEXT)
      sqlite3_bind_text(a->stmt, i + 1, v->s, (int)v->len, SQLITE_STATIC);
    else if (v->kind == WH_V_INT)
      sqlite3_bind_int64(a->stmt, i + 1, v->i);
    else
      sqlite3_bind_null(a->stmt, i + 1);
  }
  int step = sqlite3_step(a->stmt);
  sqlite3_reset(a->stmt);
  if (step != SQLITE_DONE) return fail(s, err, "insert");
  return 0;
}

static int append_end(struct wh_appender *base, char **err) {
  (void)err;
  struct sqlite_appender *a = (struct sqlite_appender *)base;
  sqlite3_finalize(a->stmt);
  free(a);
  return 0;
}

static int relation_kind(struct wh *w, const char *schema, const char *name,
                         enum wh_relkind *kind, char **err) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  *kind = WH_REL_NONE;
  if (!wh_is_identifier(schema)) {
    *err = xasprintf("warehouse: '%s' is not a valid schema name", schema);
    return DAG_EINVAL;
  }
  if (!attached(s, schema)) return 0;
  char *sql = xasprintf("SELECT type FROM %s.sqlite_master WHERE name = $1 AND type IN "
                        "('table', 'view')",
                        schema);
  char *type = NULL;
  const char *params[] = {name};
  int rc = wh_query_value(w, sql, params, 1, &type, err);
  free(sql);
  if (rc == DAG_ENOTFOUND) {
    free(*err);
    *err = NULL;
    return 0;
  }
  if (rc < 0) return rc;
  *kind = type && strcmp(type, "view") == 0 ? WH_REL_VIEW : WH_REL_TABLE;
  free(type);
  return 0;
}

static int drop_relation(struct wh *w, const char *schema, const char *name, char **err) {
  enum wh_relkind kind;
  int rc = relation_kind(w, schema, name, &kind, err);
  if (rc < 0 || kind == WH_REL_NONE) return rc;
  char *sql = xasprintf("DROP %s %s.%s", kind == WH_REL_VIEW ? "VIEW" : "TABLE", schema, name);
  rc = exec_sql(w, sql, err);
  free(sql);
  return rc;
}

static int swap_table(struct wh *w, const char *schema, const char *name,
                      const char *tmp_name, char **err) {
  /* IMMEDIATE: the swap reads the schema before it writes. A deferred
   * transaction would upgrade its read to a write, and if another
   * connection (dbt's threads) wrote the file in between, SQLite fails at
   * once with "database is locked" instead of waiting its busy timeout. */
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  int rc = exec_sql(w, "BEGIN IMMEDIATE", err);
  if (rc < 0) return rc;
  s->in_txn = true;
  rc = drop_relation(w, schema, name, err);
  if (rc == 0) {
    char *sql = xasprintf("ALTER TABLE %s.%s RENAME TO %s", schema, tmp_name, name);
    rc = exec_sql(w, sql, err);
    free(sql);
  }
  if (rc == 0) rc = commit(w, err);
  if (rc < 0) rollback(w);
  return rc;
}

static void sqlite_close(struct wh *w) {
  struct wh_sqlite *s = (struct wh_sqlite *)w;
  sqlite3_close(s->db);
  free(s->base_path);
  free(w->describe);
  free(s);
}

static const struct wh_ops sqlite_ops = {
    .close = sqlite_close,
    .ensure_schema = ensure_schema,
    .exec = exec_sql,
    .query = query,
    .begin = begin,
    .commit = commit,
    .rollback = rollback,
    .append_begin = append_begin,
    .append_row = append_row,
    .append_end = append_end,
    .relation_kind = relation_kind,
    .drop_relation = drop_relation,
    .swap_table = swap_table,
};

int wh__sqlite_open(const struct wh_options *opts, const char *path, struct wh **out,
                    char **err) {
  struct wh_sqlite *s = xcalloc(1, sizeof(*s));
  s->base.ops = &sqlite_ops;
  s->base.backend = WH_SQLITE;
  s->base.describe = xstrdup(path);
  size_t len = strlen(path);
  s->base_path = len > 3 && strcmp(path + len - 3, ".db") == 0 ? xstrndup(path, len - 3)
                                                               : xstrdup(path);
  int rc = 0;
  /* NOMUTEX: a struct wh is used from one thread, and SQLite's own locking
   * of every call showed as a few percent of a bulk load. */
  s->read_only = opts->read_only;
  /* Attached files take the main file's flags: read-only ones are never
   * created, so a missing schema file fails the open instead. */
  int flags = opts->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    *err = xasprintf("warehouse %s: cannot open: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
    rc = DAG_ESTORE;
  }
  if (rc == 0) {
    sqlite3_busy_timeout(s->db, opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 30000);
    /* Legacy renames leave views alone: a view naming gold.x keeps naming
     * it after wh_swap_table() replaces x, instead of making the rename fail
     * because the view points at a table dropped a statement earlier.
     * (The sorter's settings stay SQLite's: a 256 MiB main cache and a
     * helper thread made dbt's sorts take more CPU, not less.) */
    rc = exec_sql(&s->base,
                  opts->read_only ? "PRAGMA query_only=ON;"
                                  : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                    "PRAGMA legacy_alter_table=ON;",
                  err);
    /* With NORMAL, the fsyncs happen at checkpoints; SQLite's default of one
     * every 1000 pages (4 MiB) made a bulk load wait on the disk longer than
     * it computed (1M events: 7.3 s against 4.5 s with 64 MiB, 3.3 s with
     * 1 GiB). One per 256 MiB of WAL; the WAL is cut back to that size. */
    sqlite3_wal_autocheckpoint(s->db, WAL_CHECKPOINT_PAGES);
  }
  static const char *const schemas[] = WH_DEFAULT_SCHEMAS;
  for (size_t i = 0; rc == 0 && i < sizeof(schemas) / sizeof(schemas[0]); i++)
    rc = ensure_schema(&s->base, schemas[i], err);
  if (rc < 0) {
    sqlite_close(&s->base);
    return rc;
  }
  *out = &s->base;
  return 0;
}
