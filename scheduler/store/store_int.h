/* store_int.h - what the store's files share: the statement layer that the
 * queries (store_dags.c, store_runs.c, ...) are written against, the backend
 * table behind it (store_sqlite.c, store_pg.c), and the row readers. Not
 * public.
 *
 * A query is written once, in the SQL both backends speak, with SQLite's
 * parameters (? or ?N, numbered from 1); the PostgreSQL backend rewrites
 * them to $N when it prepares the statement. Where the dialects differ (JSON
 * functions, a row lock), the query names both texts with store_stmt2().
 *
 * PostgreSQL infers each parameter's type from where it stands; one it
 * cannot place (only tested with IS NULL, or alone in a SELECT list) is an
 * error there: write CAST(?N AS TEXT) or CAST(?N AS BIGINT), which SQLite
 * reads the same. A failed statement ends a PostgreSQL transaction: see
 * store_guard(). Run new queries through the store suites, which test both
 * backends (tests/unit/store_backends.h). */
#ifndef DAG_STORE_INT_H
#define DAG_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A prepared statement of either backend; each backend's struct begins with
 * this one. Cached by its SQL text's address for the connection's life;
 * store_stmt() hands it back reset, bindings cleared. */
struct store_stmt {
  dag_store *st;   /* borrowed: the connection it was prepared on */
  const char *sql; /* identity: the address of a static string */
};

/* store_step()'s answers besides a failure. */
enum { STORE_DONE = 0, STORE_ROW = 1, STORE_ERROR = -1 };

/* What a failure was, as the backend tells it, for store_fail(). */
enum store_fault {
  STORE_FAULT_OTHER,
  STORE_FAULT_BUSY,       /* a lock held elsewhere, a serialization failure: try again */
  STORE_FAULT_CONSTRAINT, /* a taken key or a broken CHECK */
  STORE_FAULT_FULL,       /* disk or database full */
  STORE_FAULT_CANTOPEN,   /* the file cannot be read (SQLite: -shm, -wal, permissions) */
};

/* The operations a backend provides. Statements, binds and columns follow
 * SQLite's model: bind by 1-based index, step row by row, read columns of
 * the current row by 0-based index. A step that fails returns STORE_ERROR
 * and leaves the reason for fault() and errmsg(). */
struct store_backend {
  const char *name; /* "sqlite", "postgresql" */
  enum dag_store_kind kind;
  struct store_stmt *(*prepare)(dag_store *st, const char *sql);
  void (*finalize)(struct store_stmt *s);
  void (*reset)(struct store_stmt *s); /* also clears the bindings */
  void (*bind_int64)(struct store_stmt *s, int idx, int64_t v);
  void (*bind_text)(struct store_stmt *s, int idx, const char *v); /* copied; NULL: NULL */
  void (*bind_null)(struct store_stmt *s, int idx);
  int (*step)(struct store_stmt *s); /* STORE_ROW, STORE_DONE or STORE_ERROR */
  /* Send a statement whose rows and changed count nobody reads, its
   * outcome read with the next step (store_step_later()): STORE_DONE, or
   * STORE_ERROR if it could not be sent. NULL: the backend runs each
   * statement at once (SQLite, in process). */
  int (*step_later)(struct store_stmt *s);
  const char *(*col_text)(struct store_stmt *s, int col); /* borrowed until the next step */
  int64_t (*col_int)(struct store_stmt *s, int col);      /* NULL: 0; a boolean: 0 or 1 */
  bool (*col_null)(struct store_stmt *s, int col);
  int64_t (*changes)(dag_store *st); /* rows changed by the last statement */
  /* Run a script of statements without parameters (migrations, BEGIN). 0,
   * or STORE_ERROR with the reason left for fault() and errmsg(). */
  int (*exec)(dag_store *st, const char *sql);
  bool (*in_transaction)(dag_store *st); /* the server's view, after a failure */
  enum store_fault (*fault)(dag_store *st);
  const char *(*errmsg)(dag_store *st); /* the last failure; borrowed */
  void (*set_busy_timeout)(dag_store *st, int ms);
  bool (*readonly)(dag_store *st);
  int (*data_version)(dag_store *st, uint64_t *version);
  void (*close)(dag_store *st); /* the connection only; store.c frees the rest */
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

struct dag_store {
  const struct store_backend *be;
  void *conn;  /* the backend's connection (sqlite3 *, PGconn *) */
  int depth;   /* dag_store_begin() nesting */
  bool doomed; /* rolled back inside: the outermost commit must not commit */
  int last_rc;  /* the transaction's last failure, which a doomed commit returns */
  char *errmsg; /* the last failure's message, kept past a later ROLLBACK */
  char *where;  /* the database for messages: a path, or a URL without password */
  struct store_stmt **stmts;
  size_t n_stmts, cap_stmts;
  void *be_data; /* the backend's own state, freed by its close() */
  bool guarded;  /* inside store_guard() */
  /* The key secrets are sealed with (secret.h), DAG_SECRET_KEY_BYTES,
   * wiped and freed at close; NULL: none (dag_store_set_secret_key). */
  unsigned char *secret_key;
  unsigned notify; /* DAG_STORE_WAKE_* to NOTIFY before the outermost commit */
};

/* Open a backend's connection into st->conn (and may set st->where). On failure *err says why
 * (caller frees), without any password. */
int store_sqlite_connect(dag_store *st, const char *path,
                         const struct dag_store_options *opts, char **err);
int store_pg_connect(dag_store *st, const char *url, const struct dag_store_options *opts,
                     char **err);
/* The password the connection was opened with (borrowed; NULL: libpq's
 * own sources) and the server process of the connection, for a listener. */
const char *store_pg_password(dag_store *st);
int store_pg_backend_pid(dag_store *st);
/* Send NOTIFY on the channels of `channels` (DAG_STORE_WAKE_*) now,
 * then with `commit` the COMMIT of the open transaction, in one round
 * trip; inside a transaction the server delivers them at its commit. */
int store_pg_notify(dag_store *st, unsigned channels, bool commit);
/* Whether a PostgreSQL URL carries a password (refused: see store_pg.c). */
bool store_pg_url_has_password(const char *url);
/* The PostgreSQL text of a SQLite migration that has no NNNN_name.pg.sql:
 * INTEGER becomes BIGINT (an INTEGER PRIMARY KEY an identity column) and
 * WITHOUT ROWID goes, outside literals and comments (caller frees). */
char *store_pg_translate_ddl(const char *sql);

/* A prepared, reset statement for the static string `sql`, cached for the
 * life of the connection; NULL (and the error logged) if it fails.
 * store_stmt2() takes the text for each dialect (either may be the same
 * string): SQLite's, PostgreSQL's. */
struct store_stmt *store_stmt(dag_store *st, const char *sql);
struct store_stmt *store_stmt2(dag_store *st, const char *sqlite_sql, const char *pg_sql);

/* Map the backend's last failure to a dagctl error, logging `what` and the
 * message, and doom an open transaction. */
int store_fail(dag_store *st, const char *what);

/* Around one statement inside a transaction whose failure must leave the
 * transaction as SQLite leaves it after a constraint violation: alive, as
 * if the statement had not run. SQLite needs nothing; on PostgreSQL, which
 * aborts the whole transaction on any failure, it is a savepoint. Outside
 * a transaction both are no-ops. `ok`: the statement succeeded. */
void store_guard(dag_store *st);
void store_unguard(dag_store *st, bool ok);

/* Wake the processes that listen on `channels` (DAG_STORE_WAKE_*) once
 * the caller's transaction commits (at once outside one); PostgreSQL
 * only, nothing on SQLite. A failure is logged, never returned: the
 * listeners' periodic look finds the change all the same. */
void store_notify(dag_store *st, unsigned channels);

/* Run a statement that returns no rows to completion. */
int store_step_done(dag_store *st, struct store_stmt *s, const char *what);

/* The same for a statement whose changed count the caller does not read,
 * inside a transaction: on PostgreSQL it is sent at once and its outcome
 * read with the next statement that needs an answer, at the latest the
 * COMMIT, in one round trip (store_pg.c); its failure then fails that
 * statement, and the transaction. Not for a statement whose failure the
 * caller handles apart (a taken key, store_guard()). Outside a
 * transaction, and on SQLite, it is store_step_done(). */
int store_step_later(dag_store *st, struct store_stmt *s, const char *what);

static inline int store_step(struct store_stmt *s) { return s->st->be->step(s); }
static inline void store_reset(struct store_stmt *s) { s->st->be->reset(s); }
static inline void store_bind_int64(struct store_stmt *s, int idx, int64_t v) {
  s->st->be->bind_int64(s, idx, v);
}
static inline void store_bind_null(struct store_stmt *s, int idx) {
  s->st->be->bind_null(s, idx);
}
/* NULL text binds SQL NULL. */
static inline void store_bind_text(struct store_stmt *s, int idx, const char *v) {
  s->st->be->bind_text(s, idx, v);
}
/* 0 binds SQL NULL (a time or an id that is not there). */
static inline void store_bind_time(struct store_stmt *s, int idx, dag_time_t t) {
  if (t)
    s->st->be->bind_int64(s, idx, t);
  else
    s->st->be->bind_null(s, idx);
}
/* Borrowed until the next step or reset; NULL for SQL NULL. */
static inline const char *store_col_cstr(struct store_stmt *s, int col) {
  return s->st->be->col_text(s, col);
}
static inline int64_t store_col_int(struct store_stmt *s, int col) {
  return s->st->be->col_int(s, col);
}
static inline bool store_col_null(struct store_stmt *s, int col) {
  return s->st->be->col_null(s, col);
}
static inline int64_t store_changes(dag_store *st) { return st->be->changes(st); }

/* A copy of a text column (caller frees); NULL for SQL NULL. */
char *store_col_text(struct store_stmt *s, int col);

/* Row readers shared by the files that select runs and DAGs. A query
 * selects STORE_RUN_COLUMNS (STORE_DAG_COLUMNS) first, in that order; the
 * strings are owned by the caller. store_read_runs() and store_read_dags()
 * step `s` to the end into a fresh array (*out, *n), reset it, and on a
 * failed step log `what` and return the error, the rows read so far kept. */
#define STORE_RUN_COLUMNS                                                         \
  "id, dag_id, run_id, run_type, state, logical_date, data_interval_start,"      \
  " data_interval_end, conf, queued_at, start_date, end_date, created_dag_version_id," \
  " (SELECT version_number FROM dag_version v WHERE v.id = created_dag_version_id)," \
  " imported_at, backfill_id, delete_requested_at"
void store_read_run(struct store_stmt *s, struct dag_store_run *r);
int store_read_runs(dag_store *st, struct store_stmt *s, struct dag_store_run **out,
                    size_t *n, const char *what);

/* STORE_DAG_COLUMNS_("NULL") selects everything but the graph, which for a
 * large DAG is most of the row; the graph then reads as NULL. */
#define STORE_DAG_COLUMNS_(graph)                                                  \
  "dag_id, fileloc, description, schedule_interval, timezone, tags, " graph ","   \
  " max_active_runs, max_active_tasks, is_paused, is_active, last_parsed_time,"   \
  " next_dagrun, next_dagrun_create_after, dag_version_id,"                      \
  " (SELECT version_number FROM dag_version v WHERE v.id = dag.dag_version_id)"
#define STORE_DAG_COLUMNS STORE_DAG_COLUMNS_("graph")
void store_read_dag(struct store_stmt *s, struct dag_store_dag *d);
int store_read_dags(dag_store *st, struct store_stmt *s, struct dag_store_dag **out,
                    size_t *n, const char *what);

/* Queue a scheduler_event row (part of the caller's transaction). */
int store_add_event(dag_store *st, const char *kind, const char *dag_id,
                    int64_t run_pk);
/* One scheduler_event row of a query that selects id, kind, dag_id,
 * run_pk first, in that order; e->dag_id is owned by the caller. */
void store_read_event(struct store_stmt *s, struct dag_store_event *e);

/* A LIMIT that does not limit: SQLite takes -1 for that, PostgreSQL
 * refuses a negative one. */
#define STORE_NO_LIMIT INT64_MAX

#endif
