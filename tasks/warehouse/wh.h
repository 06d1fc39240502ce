/* wh.h - the warehouse: bronze, silver and gold behind one small interface.
 *
 * Two backends implement it:
 *  - SQLite (the embedded default): `url` is a path such as
 *    DAGCTL_HOME/warehouse.db (or "sqlite:PATH", "file:PATH"). Each schema
 *    is a database file of its own beside it, ATTACHed under the schema's
 *    name: warehouse_bronze.db AS bronze, warehouse_silver.db AS silver,
 *    warehouse_gold.db AS gold. So `gold.top_tracks` means the same on both
 *    backends. Every file is in WAL mode with synchronous=NORMAL: a crash
 *    loses no committed transaction, a power cut may lose the last ones.
 *    A transaction is atomic per schema file; all of ours touch one schema.
 *  - PostgreSQL (libpq): `url` is "postgresql://..." or "postgres://...";
 *    the schemas are real schemas, created on demand.
 *
 * SQL passed in must be valid on both: parameters are written $1, $2, ...
 * (both accept that spelling) and always bound as text.
 *
 * Errors: functions return 0 or a negative code and, on failure, set *err
 * to a sentence for a log (caller frees) that includes the database's own
 * message. A struct wh is used from one thread. */
#ifndef DAGCTL_WH_H
#define DAGCTL_WH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wh;
struct dagctl_config_section;

/* The `warehouse:` section of dagctl.yaml (url, password), for the
 * config_sections of every plugin that opens the warehouse. */
extern const struct dagctl_config_section wh_config_section;

enum wh_backend { WH_SQLITE, WH_POSTGRES };

struct wh_options {
  const char *url;      /* required */
  const char *password; /* PostgreSQL; NULL: from the URL or libpq's PGPASSWORD/.pgpass */
  int busy_timeout_ms;  /* SQLite: wait this long for another writer; 0: 30 s */
  /* Open for reading only, creating nothing: SQLite opens the files
   * read-only (a schema whose file is missing fails the open) and refuses
   * every write (query_only); PostgreSQL's session is read-only
   * (default_transaction_read_only) and no schema is created. For readers
   * beside the pipeline, such as the status page's dashboard. */
  bool read_only;
};

/* The schemas opened (attached or created) by wh_open(). */
#define WH_DEFAULT_SCHEMAS {"bronze", "silver", "gold"}

/* Open the warehouse and make sure bronze, silver and gold exist (read-only:
 * attach them; see wh_options.read_only). */
int wh_open(const struct wh_options *opts, struct wh **out, char **err);
void wh_close(struct wh *w);

enum wh_backend wh_backend(const struct wh *w);

/* The URL without its password, for logs. Borrowed. */
const char *wh_describe(const struct wh *w);

/* Make `schema` usable (SQLite: attach warehouse_SCHEMA.db; PostgreSQL:
 * CREATE SCHEMA IF NOT EXISTS). Idempotent. `schema` must be an identifier. */
int wh_ensure_schema(struct wh *w, const char *schema, char **err);

/* Run one or more statements without parameters; rows are discarded. */
int wh_exec(struct wh *w, const char *sql, char **err);

/* Called once per row: names and values of the row's columns, borrowed for
 * the call; a SQL NULL is a NULL pointer. Return non-zero to stop early. */
typedef int (*wh_row_fn)(void *ud, int ncols, const char *const *names,
                         const char *const *values);

/* Run one statement with text parameters $1..$n (a NULL entry binds NULL)
 * and hand each row to `fn` (may be NULL). Stopping early is not an error. */
int wh_query(struct wh *w, const char *sql, const char *const *params, int nparams,
             wh_row_fn fn, void *ud, char **err);

/* The first column of the first row: *value is a copy (caller frees) or NULL
 * for a SQL NULL. DAG_ENOTFOUND (with *err) if there is no row. */
int wh_query_value(struct wh *w, const char *sql, const char *const *params, int nparams,
                   char **value, char **err);

/* One transaction; calls do not nest. */
int wh_begin(struct wh *w, char **err);
int wh_commit(struct wh *w, char **err);
/* Roll back the open transaction, if any; never fails. */
void wh_rollback(struct wh *w);

/* --- bulk insert ----------------------------------------------------------- */

/* An appender adds rows to one table as fast as the backend allows (SQLite: a
 * prepared INSERT; PostgreSQL: COPY FROM STDIN). Use it inside a transaction.
 * Values set for a row are borrowed until wh_append_row() returns. */
struct wh_appender;

int wh_append_begin(struct wh *w, const char *table, const char *const *columns,
                    int ncols, struct wh_appender **out, char **err);
void wh_append_text(struct wh_appender *a, int col, const char *s, size_t len);
void wh_append_int(struct wh_appender *a, int col, int64_t v);
void wh_append_null(struct wh_appender *a, int col);
/* Add the row made of the values set since the last call (unset ones NULL). */
int wh_append_row(struct wh_appender *a, char **err);
/* Flush and free the appender. On failure the transaction must be rolled
 * back. NULL is a no-op. */
int wh_append_end(struct wh_appender *a, char **err);

/* --- relations ------------------------------------------------------------- */

enum wh_relkind { WH_REL_NONE, WH_REL_TABLE, WH_REL_VIEW };

int wh_relation_kind(struct wh *w, const char *schema, const char *name,
                     enum wh_relkind *kind, char **err);

/* Drop the table or view schema.name if there is one (PostgreSQL: CASCADE,
 * as dbt does, so views built on it go too). Inside the caller's
 * transaction, if any. */
int wh_drop_relation(struct wh *w, const char *schema, const char *name, char **err);

/* Replace schema.name (a table, a view or nothing) by the table
 * schema.tmp_name, atomically: a reader sees the old relation or the new
 * table, never neither nor half of one. On failure the old relation is left
 * in place and tmp_name is left for the caller to drop. */
int wh_swap_table(struct wh *w, const char *schema, const char *name,
                  const char *tmp_name, char **err);

/* True if `s` is a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*), which can
 * be pasted into SQL without quoting on either backend. */
bool wh_is_identifier(const char *s);

/* True if `s` is an identifier or schema.identifier. */
bool wh_is_relation_name(const char *s);

#endif
