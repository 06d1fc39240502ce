/* store_int.h - helpers shared by the SQLite store's files. Not public. */
#ifndef DAG_STORE_INT_H
#define DAG_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

struct store_stmt {
  const char *sql; /* identity: the address of a static string */
  sqlite3_stmt *stmt;
};

struct dag_store {
  sqlite3 *db;
  int depth;   /* dag_store_begin() nesting */
  bool doomed; /* rolled back inside: the outermost commit must not commit */
  int last_rc;  /* the transaction's last failure, which a doomed commit returns */
  char *errmsg; /* the last failure's message, kept past a later ROLLBACK */
  struct store_stmt *stmts;
  size_t n_stmts, cap_stmts;
};

/* A prepared, reset statement for the static string `sql`, cached for the
 * life of the connection; NULL (and the error logged) if it fails. */
sqlite3_stmt *store_stmt(dag_store *st, const char *sql);

/* Map a failed SQLite call to a dagctl error, logging the message. */
int store_fail(dag_store *st, const char *what);

/* Run a statement that returns no rows to completion. */
int store_step_done(dag_store *st, sqlite3_stmt *s, const char *what);

/* Column helpers: a NULL column gives NULL / 0. */
char *store_col_text(sqlite3_stmt *s, int col);
int64_t store_col_int(sqlite3_stmt *s, int col);

/* Bind helpers: NULL text and 0 times bind SQL NULL where noted. */
void store_bind_text(sqlite3_stmt *s, int idx, const char *v);
void store_bind_time(sqlite3_stmt *s, int idx, dag_time_t t); /* 0 -> NULL */

/* Row readers shared by the files that select runs and DAGs. A query
 * selects STORE_RUN_COLUMNS (STORE_DAG_COLUMNS) first, in that order; the
 * strings are owned by the caller. store_read_runs() and store_read_dags()
 * step `s` to the end into a fresh array (*out, *n), reset it, and on a
 * failed step log `what` and return the error, the rows read so far kept. */
#define STORE_RUN_COLUMNS                                                         \
  "id, dag_id, run_id, run_type, state, logical_date, data_interval_start,"      \
  " data_interval_end, conf, queued_at, start_date, end_date, created_dag_version_id," \
  " (SELECT version_number FROM dag_version v WHERE v.id = created_dag_version_id)"
void store_read_run(sqlite3_stmt *s, struct dag_store_run *r);
int store_read_runs(dag_store *st, sqlite3_stmt *s, struct dag_store_run **out,
                    size_t *n, const char *what);

/* STORE_DAG_COLUMNS_("NULL") selects everything but the graph, which for a
 * large DAG is most of the row; the graph then reads as NULL. */
#define STORE_DAG_COLUMNS_(graph)                                                  \
  "dag_id, fileloc, description, schedule_interval, timezone, tags, " graph ","   \
  " max_active_runs, max_active_tasks, is_paused, is_active, last_parsed_time,"   \
  " next_dagrun, next_dagrun_create_after, dag_version_id,"                      \
  " (SELECT version_number FROM dag_version v WHERE v.id = dag.dag_version_id)"
#define STORE_DAG_COLUMNS STORE_DAG_COLUMNS_("graph")
void store_read_dag(sqlite3_stmt *s, struct dag_store_dag *d);
int store_read_dags(dag_store *st, sqlite3_stmt *s, struct dag_store_dag **out,
                    size_t *n, const char *what);

/* Queue a scheduler_event row (part of the caller's transaction). */
int store_add_event(dag_store *st, const char *kind, const char *dag_id,
                    int64_t run_pk);

#endif
