/* store_sqlite.c - the SQLite backend of the statement layer (store_int.h):
 * one database file, opened in WAL mode, statements prepared once per
 * connection. Each operation is a thin call into SQLite: the scheduler
 * commits every state change, and this backend must cost it nothing more
 * than SQLite itself does. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

struct lite_stmt {
  struct store_stmt base;
  sqlite3_stmt *stmt;
};

#define DB(st) ((sqlite3 *)(st)->conn)
#define STMT(s) (((struct lite_stmt *)(s))->stmt)

static struct store_stmt *lite_prepare(dag_store *st, const char *sql) {
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v3(DB(st), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
      SQLITE_OK)
    return NULL;
  struct lite_stmt *s = xcalloc(1, sizeof(*s));
  s->base.st = st;
  s->base.sql = sql;
  s->stmt = stmt;
  return &s->base;
}

static void lite_finalize(struct store_stmt *s) {
  sqlite3_finalize(STMT(s));
  free(s);
}

static void lite_reset(struct store_stmt *s) {
  sqlite3_reset(STMT(s));
  sqlite3_clear_bindings(STMT(s));
}

static void lite_bind_int64(struct store_stmt *s, int idx, int64_t v) {
  sqlite3_bind_int64(STMT(s), idx, v);
}

static void lite_bind_text(struct store_stmt *s, int idx, const char *v) {
  if (v)
    sqlite3_bind_text(STMT(s), idx, v, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(STMT(s), idx);
}

static void lite_bind_null(struct store_stmt *s, int idx) {
  sqlite3_bind_null(STMT(s), idx);
}

static int lite_step(struct store_stmt *s) {
  int rc = sqlite3_step(STMT(s));
  return rc == SQLITE_ROW ? STORE_ROW : rc == SQLITE_DONE ? STORE_DONE : STORE_ERROR;
}

static const char *lite_col_text(struct store_stmt *s, int col) {
  return (const char *)sqlite3_column_text(STMT(s), col);
}

static int64_t lite_col_int(struct store_stmt *s, int col) {
  return sqlite3_column_int64(STMT(s), col);
}

static bool lite_col_null(struct store_stmt *s, int col) {
  return sqlite3_column_type(STMT(s), col) == SQLITE_NULL;
}

static int64_t lite_changes(dag_store *st) { return sqlite3_changes64(DB(st)); }

static int lite_exec(dag_store *st, const char *sql) {
  /* The message stays readable through sqlite3_errmsg() until the next
   * call on the connection. */
  return sqlite3_exec(DB(st), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : STORE_ERROR;
}

static bool lite_in_transaction(dag_store *st) { return !sqlite3_get_autocommit(DB(st)); }

static enum store_fault lite_fault(dag_store *st) {
  switch (sqlite3_errcode(DB(st))) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return STORE_FAULT_BUSY;
  case SQLITE_CONSTRAINT:
    return STORE_FAULT_CONSTRAINT;
  case SQLITE_FULL:
    return STORE_FAULT_FULL;
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
    return STORE_FAULT_CANTOPEN;
  default:
    return STORE_FAULT_OTHER;
  }
}

static const char *lite_errmsg(dag_store *st) { return sqlite3_errmsg(DB(st)); }

static void lite_set_busy_timeout(dag_store *st, int ms) { sqlite3_busy_timeout(DB(st), ms); }

static bool lite_readonly(dag_store *st) { return sqlite3_db_readonly(DB(st), "main") == 1; }

static int lite_data_version(dag_store *st, uint64_t *version) {
  /* data_version moves when another connection commits; total_changes
   * when this one writes (the scheduler sharing the web's connection). */
  struct store_stmt *s = store_stmt(st, "PRAGMA data_version");
  if (!s) return DAG_ESTORE;
  int rc = lite_step(s);
  uint64_t others = rc == STORE_ROW ? (uint64_t)lite_col_int(s, 0) : 0;
  lite_reset(s);
  if (rc != STORE_ROW) return store_fail(st, "data version");
  *version = (others << 40) ^ (uint64_t)sqlite3_total_changes64(DB(st));
  return 0;
}

static void lite_close(dag_store *st) {
  sqlite3_close(DB(st));
  st->conn = NULL;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .kind = DAG_STORE_SQLITE,
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .reset = lite_reset,
    .bind_int64 = lite_bind_int64,
    .bind_text = lite_bind_text,
    .bind_null = lite_bind_null,
    .step = lite_step,
    .col_text = lite_col_text,
    .col_int = lite_col_int,
    .col_null = lite_col_null,
    .changes = lite_changes,
    .exec = lite_exec,
    .in_transaction = lite_in_transaction,
    .fault = lite_fault,
    .errmsg = lite_errmsg,
    .set_busy_timeout = lite_set_busy_timeout,
    .readonly = lite_readonly,
    .data_version = lite_data_version,
    .close = lite_close,
};

int store_sqlite_connect(dag_store *st, const char *path, const struct dag_store_options *opts,
                         char **err) {
  bool readonly = opts && opts->readonly;
  bool no_migrate = readonly || (opts && opts->no_migrate);
  int flags = readonly     ? SQLITE_OPEN_READONLY
              : no_migrate ? SQLITE_OPEN_READWRITE
                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  st->conn = db;
  if (rc != SQLITE_OK) {
    *err = xasprintf("%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
    return DAG_ESTORE;
  }
  /* Other processes (the CLI, the web server) write briefly; wait for them
   * rather than failing. */
  sqlite3_busy_timeout(db, 10000);
  sqlite3_extended_result_codes(db, 0);
  const char *pragmas[3] = {NULL, NULL, "PRAGMA foreign_keys=ON"};
  if (!readonly) {
    /* WAL lets readers (CLI, web) run beside the scheduler's writes.
     * synchronous=NORMAL in WAL mode never corrupts and loses nothing when a
     * process dies; FULL also survives power loss, at ~7x the commit cost. */
    pragmas[0] = "PRAGMA journal_mode=WAL";
    pragmas[1] = opts && opts->fsync_each_commit ? "PRAGMA synchronous=FULL"
                                                 : "PRAGMA synchronous=NORMAL";
  }
  for (size_t i = 0; i < 3; i++) {
    if (pragmas[i] && lite_exec(st, pragmas[i]) != 0) {
      *err = xstrdup(sqlite3_errmsg(db));
      return DAG_ESTORE;
    }
  }
  return 0;
}
