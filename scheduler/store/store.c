/* store.c - the metadata database, whichever its backend: opening it,
 * migrations, transactions, the statement cache and the mapping of
 * failures to dagctl errors. The backends (store_sqlite.c, store_pg.c) only
 * connect and run statements; queries live in store_dags.c, store_runs.c
 * and the other store_*.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "migrations.h"
#include "secret.h"
#include "store_vars.h"
#include "store_int.h"

static dag_time_t wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (dag_time_t)tv.tv_sec * DAG_USEC_PER_SEC + tv.tv_usec;
}

int store_fail(dag_store *st, const char *what) {
  enum store_fault fault = st->be->fault(st);
  free(st->errmsg);
  st->errmsg = xstrdup(st->be->errmsg(st));
  /* Busy is a wait, decided by the caller; a full disk gets its own code
   * so that every layer can say "disk full" rather than "store error". */
  if (fault == STORE_FAULT_BUSY) {
    LOG_DEBUG("state store busy op=%s msg=\"%s\"", what, st->errmsg);
    st->last_rc = DAG_ELOCKED;
    /* PostgreSQL aborts the whole transaction on any failed statement. */
    if (st->depth > 0 && st->be->kind == DAG_STORE_POSTGRESQL) st->doomed = true;
    return st->last_rc;
  }
  LOG_ERROR("state store failed op=%s backend=%s msg=\"%s\"", what, st->be->name,
            st->errmsg);
  st->last_rc = fault == STORE_FAULT_CONSTRAINT ? DAG_EEXIST
                : fault == STORE_FAULT_FULL     ? -ENOSPC
                                                : DAG_ESTORE;
  /* A caller may log a failure and go on (the alert outbox does); the
   * transaction must still not commit without it. A taken key is not a
   * failure of a SQLite transaction: callers retry with another id. In
   * PostgreSQL it is (the server aborts the transaction), so queries there
   * check before they insert or use ON CONFLICT. */
  if (st->depth > 0 && (fault != STORE_FAULT_CONSTRAINT ||
                        (st->be->kind == DAG_STORE_POSTGRESQL && !st->guarded)))
    st->doomed = true;
  return st->last_rc;
}

static const char sql_savepoint[] = "SAVEPOINT dagctl_guard";
static const char sql_release[] = "RELEASE SAVEPOINT dagctl_guard";
static const char sql_back[] = "ROLLBACK TO SAVEPOINT dagctl_guard";

static int control(dag_store *st, const char *sql);

void store_guard(dag_store *st) {
  if (st->depth == 0 || st->be->kind != DAG_STORE_POSTGRESQL) return;
  if (control(st, sql_savepoint) == 0)
    st->guarded = true;
  else
    store_fail(st, "savepoint");
}

void store_unguard(dag_store *st, bool ok) {
  if (!st->guarded) return;
  st->guarded = false;
  if (control(st, ok ? sql_release : sql_back) != 0) store_fail(st, "release savepoint");
}

const char *dag_store_errmsg(dag_store *st) {
  return st->errmsg ? st->errmsg : st->be->errmsg(st);
}

void dag_store_set_busy_timeout(dag_store *st, int ms) { st->be->set_busy_timeout(st, ms); }

bool dag_store_readonly(dag_store *st) { return st->be->readonly(st); }

enum dag_store_kind dag_store_kind(dag_store *st) { return st->be->kind; }

const char *dag_store_where(dag_store *st) { return st->where; }

bool dag_store_is_url(const char *state) {
  return strncmp(state, "postgresql://", 13) == 0 || strncmp(state, "postgres://", 11) == 0;
}

struct store_stmt *store_stmt2(dag_store *st, const char *sqlite_sql, const char *pg_sql) {
  const char *sql = st->be->kind == DAG_STORE_POSTGRESQL ? pg_sql : sqlite_sql;
  for (size_t i = 0; i < st->n_stmts; i++) {
    if (st->stmts[i]->sql == sql) {
      struct store_stmt *s = st->stmts[i];
      st->be->reset(s);
      return s;
    }
  }
  struct store_stmt *s = st->be->prepare(st, sql);
  if (!s) {
    store_fail(st, "prepare");
    return NULL;
  }
  st->stmts = xgrow(st->stmts, &st->cap_stmts, st->n_stmts + 1, sizeof(*st->stmts));
  st->stmts[st->n_stmts++] = s;
  return s;
}

struct store_stmt *store_stmt(dag_store *st, const char *sql) {
  return store_stmt2(st, sql, sql);
}

int store_step_done(dag_store *st, struct store_stmt *s, const char *what) {
  int rc = store_step(s);
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, what);
}

int store_step_later(dag_store *st, struct store_stmt *s, const char *what) {
  if (st->depth == 0 || !st->be->step_later) return store_step_done(st, s, what);
  int rc = st->be->step_later(s);
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, what);
}

char *store_col_text(struct store_stmt *s, int col) {
  const char *t = store_col_cstr(s, col);
  return t ? xstrdup(t) : NULL;
}

void store_notify(dag_store *st, unsigned channels) {
  if (st->be->kind != DAG_STORE_POSTGRESQL) return;
  if (st->depth > 0) {
    st->notify |= channels;
    return;
  }
  if (store_pg_notify(st, channels, false) != 0)
    LOG_WARN("cannot notify the listeners; they find the change at their next look "
             "msg=\"%s\"", st->be->errmsg(st));
}

int store_add_event(dag_store *st, const char *kind, const char *dag_id,
                    int64_t run_pk) {
  static const char sql[] =
      "INSERT INTO scheduler_event (kind, dag_id, run_pk) VALUES (?, ?, ?)";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, kind);
  store_bind_text(s, 2, dag_id);
  store_bind_time(s, 3, run_pk); /* 0 -> NULL */
  int rc = store_step_done(st, s, "add event");
  if (rc == 0) store_notify(st, DAG_STORE_WAKE_SCHEDULERS);
  return rc;
}

void store_read_event(struct store_stmt *s, struct dag_store_event *e) {
  e->id = store_col_int(s, 0);
  const char *kind = store_col_cstr(s, 1);
  e->kind = kind && strcmp(kind, "dag") == 0 ? DAG_STORE_EVENT_DAG : DAG_STORE_EVENT_RUN;
  e->dag_id = store_col_text(s, 2);
  e->run_pk = store_col_int(s, 3);
}

/* Run a cached transaction-control statement: BEGIN and COMMIT happen twice
 * per task, and parsing them each time through sqlite3_exec() was ~5% of
 * the scheduler's CPU on a chain of short tasks (bench/README.md). */
static int control(dag_store *st, const char *sql) {
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return STORE_ERROR;
  int rc = store_step(s);
  store_reset(s);
  return rc == STORE_DONE ? 0 : STORE_ERROR;
}

/* IMMEDIATE takes SQLite's write lock at once, so a busy database is
 * noticed (after busy_timeout) at the begin rather than halfway through.
 * PostgreSQL locks rows as they are written; a query that must hold a row
 * from its first read says FOR UPDATE. */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_begin_pg[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

/* SQLite rolls a transaction back by itself after some errors (a full
 * disk among them); a ROLLBACK then fails and would replace the message. */
static void rollback_now(dag_store *st) {
  if (st->be->in_transaction(st)) control(st, sql_rollback);
}

int dag_store_begin(dag_store *st) {
  if (st->depth > 0) {
    st->depth++;
    return 0;
  }
  st->doomed = false;
  st->last_rc = 0;
  st->notify = 0;
  /* The transaction counts only once its BEGIN has run (or, on PostgreSQL,
   * been sent): a BEGIN that fails opened nothing, and the backend resets a
   * broken connection only on a failure outside a transaction. After a
   * server restart the BEGIN is the first statement to meet the cut
   * connection; counted early, its failure skipped the reset and every
   * later BEGIN failed the same way. PostgreSQL's BEGIN goes ahead of the
   * first statement, in its round trip; a connection already known broken
   * is reset before it is sent (store_pg.c). */
  const char *begin = st->be->kind == DAG_STORE_POSTGRESQL ? sql_begin_pg : sql_begin;
  if (st->be->step_later) {
    /* Sent ahead of the transaction's first statement, in its round trip:
     * a BEGIN that fails fails that statement. */
    struct store_stmt *s = store_stmt(st, begin);
    int rc = s ? st->be->step_later(s) : STORE_ERROR;
    if (s) store_reset(s);
    if (rc != STORE_DONE) return store_fail(st, "begin");
  } else if (control(st, begin) != 0) {
    return store_fail(st, "begin");
  }
  st->depth = 1;
  return 0;
}

int dag_store_commit(dag_store *st) {
  if (st->depth == 0) return 0;
  if (--st->depth > 0) return 0;
  if (st->doomed) {
    st->doomed = false;
    st->notify = 0;
    rollback_now(st);
    LOG_ERROR("state store transaction rolled back: a part of it failed msg=\"%s\"",
              dag_store_errmsg(st));
    return st->last_rc ? st->last_rc : DAG_ESTORE;
  }
  /* Delivered by the server at this commit, dropped by a rollback; sent
   * with the COMMIT in one round trip. A failed NOTIFY stops the COMMIT
   * behind it: the transaction fails as a whole. */
  unsigned channels = st->notify;
  st->notify = 0;
  if (channels ? store_pg_notify(st, channels, true) != 0 : control(st, sql_commit) != 0) {
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
  st->notify = 0;
  rollback_now(st);
}

/* Run a script; on failure *err is the backend's message (caller frees). */
static int exec_sql(dag_store *st, const char *sql, char **err) {
  if (st->be->exec(st, sql) == 0) return 0;
  *err = xstrdup(st->be->errmsg(st));
  return DAG_ESTORE;
}

static const char sql_version[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";

/* Highest migration applied, 0 for a new database. */
static int current_version(dag_store *st, int *version, char **err) {
  int rc = exec_sql(st,
                    st->be->kind == DAG_STORE_POSTGRESQL
                        ? "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
                          " applied_at BIGINT NOT NULL)"
                        : "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                          " applied_at INTEGER NOT NULL)",
                    err);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, sql_version);
  if (!s) {
    *err = xstrdup(dag_store_errmsg(st));
    return DAG_ESTORE;
  }
  int step = store_step(s);
  *version = step == STORE_ROW ? (int)store_col_int(s, 0) : 0;
  store_reset(s);
  if (step != STORE_ROW) {
    *err = xstrdup(st->be->errmsg(st));
    return DAG_ESTORE;
  }
  return 0;
}

/* The text of migration `m` for this backend (caller frees). */
static char *migration_sql(dag_store *st, const struct dag_migration *m) {
  if (st->be->kind != DAG_STORE_POSTGRESQL) return xstrdup(m->sql);
  return m->pg_sql ? xstrdup(m->pg_sql) : store_pg_translate_ddl(m->sql);
}

/* Apply one migration and its schema_migrations row in one transaction,
 * unless another process applied it while we waited for the lock. */
static int apply(dag_store *st, const struct dag_migration *m, char **err) {
  static const char ins[] =
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";
  const char *begin = st->be->kind == DAG_STORE_POSTGRESQL ? "BEGIN" : "BEGIN IMMEDIATE";
  int rc = exec_sql(st, begin, err);
  if (rc) return rc;
  int now_version = 0;
  if ((rc = current_version(st, &now_version, err)) != 0 || now_version >= m->version) {
    st->be->exec(st, "ROLLBACK");
    return rc;
  }
  char *sql = migration_sql(st, m);
  rc = exec_sql(st, sql, err);
  free(sql);
  if (rc) {
    char *inner = *err;
    *err = xasprintf("migration %s failed: %s", m->name, inner);
    free(inner);
    st->be->exec(st, "ROLLBACK");
    return rc;
  }
  struct store_stmt *s = store_stmt(st, ins);
  if (s) {
    store_bind_int64(s, 1, m->version);
    store_bind_text(s, 2, m->name);
    store_bind_int64(s, 3, wall_now());
    if (store_step(s) != STORE_DONE) rc = DAG_ESTORE;
    store_reset(s);
  }
  if (!s || rc) *err = xstrdup(dag_store_errmsg(st));
  if (s && rc == 0) rc = exec_sql(st, "COMMIT", err);
  if (!s) rc = DAG_ESTORE;
  if (rc) {
    st->be->exec(st, "ROLLBACK");
    return rc;
  }
  LOG_INFO("applied migration name=%s db=%s", m->name, st->where);
  return 0;
}

/* Apply every embedded migration newer than the database; with
 * check_only, only check that the schema is this binary's. */
static int migrate(dag_store *st, bool check_only, char **err) {
  int version = 0;
  int rc;
  const char *where = st->where;
  if (check_only) {
    /* A read-only store must not create anything; an old schema is an error. */
    struct store_stmt *s = st->be->prepare(st, sql_version);
    int step = s ? store_step(s) : STORE_ERROR;
    if (step == STORE_ROW) version = (int)store_col_int(s, 0);
    if (s) st->be->finalize(s);
    if (step != STORE_ROW) {
      if (st->be->fault(st) == STORE_FAULT_CANTOPEN) {
        /* WAL mode: a reader needs the -shm file beside the database, and
         * creates it when it can. */
        *err = xasprintf("%s: cannot read the database: %s (a reader needs the folder "
                         "writable, or the -wal and -shm files there already)",
                         where, st->be->errmsg(st));
        return DAG_ESTORE;
      }
      *err = xasprintf("%s: no dagctl schema (run `dagctl scheduler` once): %s", where,
                       st->be->errmsg(st));
      return DAG_ESCHEMA;
    }
  } else if ((rc = current_version(st, &version, err)) != 0) {
    return rc;
  }

  int latest = dag_migrations_count ? dag_migrations[dag_migrations_count - 1].version : 0;
  if (version > latest) {
    *err = xasprintf("%s: database schema version %d is newer than this dagctl "
                     "(knows up to %d); upgrade dagctl or use another %s",
                     where, version, latest,
                     st->be->kind == DAG_STORE_POSTGRESQL ? "database" : "DAGCTL_HOME");
    return DAG_ESCHEMA;
  }
  if (check_only) {
    if (version < latest) {
      *err = xasprintf("%s: database schema version %d is older than this dagctl (%d); "
                       "start `dagctl scheduler` once to migrate it", where, version, latest);
      return DAG_ESCHEMA;
    }
    return 0;
  }
  for (unsigned i = 0; i < dag_migrations_count; i++) {
    if (dag_migrations[i].version <= version) continue;
    if ((rc = apply(st, &dag_migrations[i], err)) != 0) return rc;
  }
  return 0;
}

int dag_store_open(const char *state, const struct dag_store_options *opts, dag_store **out,
                   char **err) {
  *out = NULL;
  *err = NULL;
  dag_store *st = xcalloc(1, sizeof(*st));
  bool pg = dag_store_is_url(state);
  st->be = pg ? &store_pg_backend : &store_sqlite_backend;
  bool no_migrate = opts && (opts->readonly || opts->no_migrate);
  int rc = pg ? store_pg_connect(st, state, opts, err)
              : store_sqlite_connect(st, state, opts, err);
  if (!st->where) st->where = xstrdup(state);
  if (!rc && opts && opts->secret_key &&
      (rc = dag_store_set_secret_key(st, opts->secret_key)) != 0)
    *err = xasprintf("core.secret_key is too short: at least %d characters", DAG_SECRET_KEY_MIN);
  if (!rc && pg) {
    /* Schedulers starting together on one database migrate one at a time:
     * a transaction-level lock would not cover CREATE TABLE IF NOT EXISTS
     * of schema_migrations, which two sessions can race on. */
    rc = no_migrate ? 0 : exec_sql(st, "SELECT pg_advisory_lock(7201368117)", err);
    if (!rc) rc = migrate(st, no_migrate, err);
    if (!no_migrate) st->be->exec(st, "SELECT pg_advisory_unlock(7201368117)");
  } else if (!rc) {
    rc = migrate(st, no_migrate, err);
  }
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
  struct store_stmt *s = store_stmt(st, "SELECT id FROM home");
  if (!s) return DAG_ESTORE;
  int rc = store_step(s);
  if (rc == STORE_ROW) *out = store_col_text(s, 0);
  store_reset(s);
  return *out ? 0 : store_fail(st, "home id");
}

int dag_store_data_version(dag_store *st, uint64_t *version) {
  return st->be->data_version(st, version);
}

void dag_store_close(dag_store *st) {
  if (!st) return;
  for (size_t i = 0; i < st->n_stmts; i++) st->be->finalize(st->stmts[i]);
  free(st->stmts);
  free(st->errmsg);
  if (st->secret_key) explicit_bzero(st->secret_key, DAG_SECRET_KEY_BYTES);
  free(st->secret_key);
  free(st->where);
  st->be->close(st); /* a connection that failed to open included */
  free(st);
}
