/* store.c - the SQLite metadata database: connection, migrations,
 * transactions and the statement cache. Queries live in store_dags.c and
 * store_runs.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "migrations.h"
#include "store_int.h"

static dag_time_t wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (dag_time_t)tv.tv_sec * DAG_USEC_PER_SEC + tv.tv_usec;
}

int store_fail(dag_store *st, const char *what) {
  int code = sqlite3_errcode(st->db);
  free(st->errmsg);
  st->errmsg = xstrdup(sqlite3_errmsg(st->db));
  /* Busy is a wait, decided by the caller; a full disk gets its own code
   * so that every layer can say "disk full" rather than "store error". */
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    LOG_DEBUG("state store busy op=%s msg=\"%s\"", what, st->errmsg);
    return st->last_rc = DAG_ELOCKED;
  }
  LOG_ERROR("state store failed op=%s sqlite=%d msg=\"%s\"", what, code, st->errmsg);
  st->last_rc = code == SQLITE_CONSTRAINT ? DAG_EEXIST : code == SQLITE_FULL ? -ENOSPC : DAG_ESTORE;
  /* A caller may log a failure and go on (the alert outbox does); the
   * transaction must still not commit without it. A taken key is not a
   * failure of the transaction: callers retry with another id. */
  if (st->depth > 0 && code != SQLITE_CONSTRAINT) st->doomed = true;
  return st->last_rc;
}

const char *dag_store_errmsg(dag_store *st) {
  return st->errmsg ? st->errmsg : sqlite3_errmsg(st->db);
}

void dag_store_set_busy_timeout(dag_store *st, int ms) {
  sqlite3_busy_timeout(st->db, ms);
}

bool dag_store_readonly(dag_store *st) {
  return sqlite3_db_readonly(st->db, "main") == 1;
}

sqlite3_stmt *store_stmt(dag_store *st, const char *sql) {
  for (size_t i = 0; i < st->n_stmts; i++) {
    if (st->stmts[i].sql == sql) {
      sqlite3_stmt *s = st->stmts[i].stmt;
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      return s;
    }
  }
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
      SQLITE_OK) {
    store_fail(st, "prepare");
    return NULL;
  }
  st->stmts = xgrow(st->stmts, &st->cap_stmts, st->n_stmts + 1, sizeof(*st->stmts));
  st->stmts[st->n_stmts].sql = sql;
  st->stmts[st->n_stmts].stmt = s;
  st->n_stmts++;
  return s;
}

int store_step_done(dag_store *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? 0 : store_fail(st, what);
}

char *store_col_text(sqlite3_stmt *s, int col) {
  const unsigned char *t = sqlite3_column_text(s, col);
  return t ? xstrdup((const char *)t) : NULL;
}

int64_t store_col_int(sqlite3_stmt *s, int col) {
  return sqlite3_column_int64(s, col);
}

void store_bind_text(sqlite3_stmt *s, int idx, const char *v) {
  if (v)
    sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(s, idx);
}

void store_bind_time(sqlite3_stmt *s, int idx, dag_time_t t) {
  if (t)
    sqlite3_bind_int64(s, idx, t);
  else
    sqlite3_bind_null(s, idx);
}

int store_add_event(dag_store *st, const char *kind, const char *dag_id,
                    int64_t run_pk) {
  static const char sql[] =
      "INSERT INTO scheduler_event (kind, dag_id, run_pk) VALUES (?, ?, ?)";
  sqlite3_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, kind);
  store_bind_text(s, 2, dag_id);
  if (run_pk)
    sqlite3_bind_int64(s, 3, run_pk);
  return store_step_done(st, s, "add event");
}

/* Run a cached transaction-control statement: BEGIN and COMMIT happen twice
 * per task, and parsing them each time through sqlite3_exec() was ~5% of
 * the scheduler's CPU on a chain of short tasks (bench/README.md). */
static int control(dag_store *st, const char *sql) {
  sqlite3_stmt *s = store_stmt(st, sql);
  if (!s) return SQLITE_ERROR;
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

/* SQLite rolls a transaction back by itself after some errors (a full
 * disk among them); a ROLLBACK then fails and would replace the message. */
static void rollback_now(dag_store *st) {
  if (!sqlite3_get_autocommit(st->db)) control(st, sql_rollback);
}

int dag_store_begin(dag_store *st) {
  if (st->depth++ > 0) return 0;
  st->doomed = false;
  st->last_rc = 0;
  /* IMMEDIATE takes the write lock now, so a busy database is noticed
   * (after busy_timeout) here rather than halfway through. */
  if (control(st, sql_begin) != SQLITE_OK) {
    st->depth = 0;
    return store_fail(st, "begin");
  }
  return 0;
}

int dag_store_commit(dag_store *st) {
  if (st->depth == 0) return 0;
  if (--st->depth > 0) return 0;
  if (st->doomed) {
    st->doomed = false;
    rollback_now(st);
    LOG_ERROR("state store transaction rolled back: a part of it failed msg=\"%s\"",
              dag_store_errmsg(st));
    return st->last_rc ? st->last_rc : DAG_ESTORE;
  }
  if (control(st, sql_commit) != SQLITE_OK) {
    int rc = store_fail(st, "commit");
    rollback_now(st);
    return rc;
  }
  return 0;
}

void dag_store_rollback(dag_store *st) {
  if (st->depth == 0) return;
  if (--st->depth > 0) {
    st->doomed = true;
    return;
  }
  st->doomed = false;
  rollback_now(st);
}

static int exec_sql(dag_store *st, const char *sql, char **err) {
  char *msg = NULL;
  if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    *err = xstrdup(msg ? msg : sqlite3_errmsg(st->db));
    sqlite3_free(msg);
    return DAG_ESTORE;
  }
  return 0;
}

/* Highest migration applied, 0 for a new database. */
static int current_version(dag_store *st, int *version, char **err) {
  int rc = exec_sql(st,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at INTEGER NOT NULL)",
                    err);
  if (rc) return rc;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                         -1, &s, NULL) != SQLITE_OK) {
    *err = xstrdup(sqlite3_errmsg(st->db));
    return DAG_ESTORE;
  }
  *version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
  sqlite3_finalize(s);
  return 0;
}

/* Apply every embedded migration newer than the database, each in its own
 * transaction together with its schema_migrations row; with check_only,
 * only check that the schema is this binary's. */
static int migrate(dag_store *st, const char *path, bool check_only, char **err) {
  int version = 0;
  int rc;
  if (check_only) {
    /* A read-only store must not create anything; an old schema is an error. */
    sqlite3_stmt *s = NULL;
    int prc = sqlite3_prepare_v2(
        st->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &s, NULL);
    if (prc == SQLITE_READONLY || prc == SQLITE_CANTOPEN) {
      /* WAL mode: a reader needs the -shm file beside the database, and
       * creates it when it can. */
      *err = xasprintf("%s: cannot read the database: %s (a reader needs the folder writable, "
                       "or the -wal and -shm files there already)",
                       path, sqlite3_errmsg(st->db));
      return DAG_ESTORE;
    }
    if (prc != SQLITE_OK) {
      *err = xasprintf("%s: no dagctl schema (run `dagctl scheduler` once): %s", path,
                       sqlite3_errmsg(st->db));
      return DAG_ESCHEMA;
    }
    version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
  } else if ((rc = current_version(st, &version, err)) != 0) {
    return rc;
  }

  int latest = dag_migrations_count ? dag_migrations[dag_migrations_count - 1].version : 0;
  if (version > latest) {
    *err = xasprintf("%s: database schema version %d is newer than this dagctl "
                     "(knows up to %d); upgrade dagctl or use another DAGCTL_HOME",
                     path, version, latest);
    return DAG_ESCHEMA;
  }
  if (check_only) {
    if (version < latest) {
      *err = xasprintf("%s: database schema version %d is older than this dagctl (%d); "
                       "start `dagctl scheduler` once to migrate it", path, version, latest);
      return DAG_ESCHEMA;
    }
    return 0;
  }

  for (unsigned i = 0; i < dag_migrations_count; i++) {
    const struct dag_migration *m = &dag_migrations[i];
    if (m->version <= version) continue;
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE", err)) != 0) return rc;
    /* Another process may have migrated while we waited for the lock. */
    int now_version = 0;
    if ((rc = current_version(st, &now_version, err)) != 0 || now_version >= m->version) {
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      if (rc) return rc;
      continue;
    }
    if ((rc = exec_sql(st, m->sql, err)) != 0) {
      char *inner = *err;
      *err = xasprintf("migration %s failed: %s", m->name, inner);
      free(inner);
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
    char *ins = xasprintf("INSERT INTO schema_migrations VALUES (%d, '%s', %lld)",
                          m->version, m->name, (long long)wall_now());
    rc = exec_sql(st, ins, err);
    free(ins);
    if (rc == 0) rc = exec_sql(st, "COMMIT", err);
    if (rc) {
      sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
    LOG_INFO("applied migration name=%s db=%s", m->name, path);
  }
  return 0;
}

int dag_store_open(const char *path, const struct dag_store_options *opts,
                   dag_store **out, char **err) {
  *out = NULL;
  *err = NULL;
  dag_store *st = xcalloc(1, sizeof(*st));
  bool readonly = opts && opts->readonly;
  bool no_migrate = readonly || (opts && opts->no_migrate);
  int flags = readonly     ? SQLITE_OPEN_READONLY
              : no_migrate ? SQLITE_OPEN_READWRITE
                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    *err = xasprintf("%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
    dag_store_close(st);
    return DAG_ESTORE;
  }
  /* Other processes (the CLI, the web server) write briefly; wait for them
   * rather than failing. */
  sqlite3_busy_timeout(st->db, 10000);
  sqlite3_extended_result_codes(st->db, 0);

  int rc = 0;
  if (!readonly) {
    /* WAL lets readers (CLI, web) run beside the scheduler's writes.
     * synchronous=NORMAL in WAL mode never corrupts and loses nothing when a
     * process dies; FULL also survives power loss, at ~7x the commit cost. */
    rc = exec_sql(st, "PRAGMA journal_mode=WAL", err);
    if (!rc)
      rc = exec_sql(st, opts && opts->fsync_each_commit ? "PRAGMA synchronous=FULL"
                                                        : "PRAGMA synchronous=NORMAL",
                    err);
  }
  if (!rc) rc = exec_sql(st, "PRAGMA foreign_keys=ON", err);
  if (!rc) rc = migrate(st, path, no_migrate, err);
  if (rc) {
    if (!*err) *err = xstrdup(dag_strerror(rc));
    dag_store_close(st);
    return rc;
  }
  *out = st;
  return 0;
}

int dag_store_home_id(dag_store *st, char **out) {
  *out = NULL;
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(st->db, "SELECT id FROM home", -1, &s, NULL) != SQLITE_OK)
    return store_fail(st, "home id");
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *out = store_col_text(s, 0);
  sqlite3_finalize(s);
  return *out ? 0 : store_fail(st, "home id");
}

void dag_store_close(dag_store *st) {
  if (!st) return;
  for (size_t i = 0; i < st->n_stmts; i++) sqlite3_finalize(st->stmts[i].stmt);
  free(st->stmts);
  free(st->errmsg);
  sqlite3_close(st->db);
  free(st);
}
