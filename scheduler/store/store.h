/* store.h - run state: the one narrow interface to the metadata database.
 *
 * Everything the scheduler, the CLI and the web server know about DAGs, runs
 * and task instances goes through these calls; nothing else in dagctl speaks
 * SQL to the metadata database.
 *
 * Backends. The database is named by a "state" string, core.state in
 * dagctl.yaml: a path opens SQLite (the default, DAGCTL_HOME/dagctl.db, one
 * file shared by that home's scheduler, CLI and web server); a
 * postgresql:// URL opens PostgreSQL through libpq. The calls below behave
 * the same on both. Inside, the design is a small statement layer rather
 * than one implementation of every call per backend (store_int.h): each
 * query is written once, in the SQL both dialects accept, against
 * prepare/bind/step/column operations that each backend provides in a table
 * (store_sqlite.c, store_pg.c); a query whose dialects differ names one text
 * per backend. Statements are prepared once per connection on both. The
 * migrations (migrations/NNNN_name.sql) are the same for both backends: the
 * PostgreSQL text is translated from the SQLite one, or given beside it as
 * NNNN_name.pg.sql. store.c opens, migrates, refuses a schema newer than
 * the binary, and runs transactions; store_*.c hold the queries.
 *
 * Every call that changes state is one short transaction of its own, unless
 * the caller wraps several in dag_store_begin()/dag_store_commit(), which the
 * scheduler does so that a task's end and its consequences (downstream tasks
 * skipped, the run finished) commit together: a crash at any instant leaves a
 * consistent state. A dag_store is one connection, used from one thread; it
 * keeps no state outside itself, so a process may open several.
 *
 * Rows returned to the caller are owned by the caller: free them with the
 * matching *_free() call. */
#ifndef DAG_STORE_H
#define DAG_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "schedule.h"
#include "state.h"

struct dag;
typedef struct dag_store dag_store;

enum dag_store_kind {
  DAG_STORE_SQLITE,     /* a file: one scheduler per home */
  DAG_STORE_POSTGRESQL, /* a server, through libpq */
};

struct dag_store_options {
  bool fsync_each_commit; /* SQLite synchronous=FULL: survive power loss, not only crashes */
  /* SQLITE_OPEN_READONLY: never create, migrate or write the database
   * (`dagctl webserver`); a database that is missing or whose schema is not
   * this binary's is refused (DAG_ESTORE, DAG_ESCHEMA). */
  bool readonly;
  /* Read-write, but like readonly never create or migrate: for a short-lived
   * writer beside a read-only handle (the web server's changes). */
  bool no_migrate;
  /* PostgreSQL: the password (borrowed), kept out of the URL and out of
   * every message; NULL: libpq's PGPASSWORD or ~/.pgpass. */
  const char *password;
  /* core.secret_key's text (borrowed), for the secrets of store_vars.h;
   * NULL: none, and a secret can be neither stored nor read. A text too
   * short for a key (secret.h) fails the open with DAG_ECONFIG. */
  const char *secret_key;
};

/* Open the database that `state` names (a SQLite path or a postgresql://
 * URL without a password): by default create it if needed and migrate it; see the options for the read-only ways.
 * Refuses a database whose schema is newer than this binary (DAG_ESCHEMA).
 * On failure *err says why (caller frees). */
int dag_store_open(const char *state, const struct dag_store_options *opts,
                   dag_store **out, char **err);
void dag_store_close(dag_store *st);

/* Which backend `st` runs on. */
enum dag_store_kind dag_store_kind(dag_store *st);
/* The database, for messages: the path or the URL (never a password).
 * Borrowed. */
const char *dag_store_where(dag_store *st);
/* Whether a state string is a PostgreSQL URL (postgresql:// or
 * postgres://) rather than a SQLite path. */
bool dag_store_is_url(const char *state);

/* Group several changes into one transaction. Calls nest: only the outermost
 * commit commits. A rollback at any depth dooms the whole transaction: the
 * statements up to the outermost call stay uncommitted, and that outermost
 * commit rolls back and returns the failure (DAG_ESTORE if none was seen).
 * A failed statement inside a transaction dooms it the same way, even if
 * its caller goes on; on SQLite a constraint violation (DAG_EEXIST) is the
 * exception, on PostgreSQL it is not (the server aborts the transaction):
 * a query that expects a taken key checks first or says ON CONFLICT.
 *
 * Errors of every store call: DAG_ELOCKED when another connection holds
 * the lock it needs longer than the busy timeout, or (PostgreSQL) a
 * serialization failure or deadlock ended it (a wait, not a failure: try
 * again later), -ENOSPC when the disk or the database is full, DAG_ESTORE
 * otherwise. On SQLite the outermost begin takes the write lock (BEGIN
 * IMMEDIATE), so in WAL mode nothing inside a begun transaction waits for
 * a lock. On PostgreSQL a transaction is READ COMMITTED and locks the rows
 * it writes as it writes them; several connections (schedulers, workers)
 * may write at once, and a query that must own a row from its first read
 * says SELECT ... FOR UPDATE [SKIP LOCKED] through store_stmt2(). */
int dag_store_begin(dag_store *st);
int dag_store_commit(dag_store *st);
void dag_store_rollback(dag_store *st);

/* How long a call waits for another connection's lock before it returns
 * DAG_ELOCKED (SQLite's busy timeout, PostgreSQL's lock_timeout); 10 s
 * from dag_store_open(). The scheduler, which must never
 * block its loop, waits a few milliseconds and retries from a timer. */
void dag_store_set_busy_timeout(dag_store *st, int ms);

/* This database's random id (32 hex digits, drawn when it was created), in
 * *out (caller frees). Tells one DAGCTL_HOME's task processes from
 * another's. */
int dag_store_home_id(dag_store *st, char **out);

/* The backend's last error message, for logs. Borrowed. */
const char *dag_store_errmsg(dag_store *st);
/* True when writes cannot succeed: opened read-only, or SQLite fell back to
 * reading a file this process may not write. */
bool dag_store_readonly(dag_store *st);

/* --- DAGs ------------------------------------------------------------- */

struct dag_store_dag {
  char *dag_id;
  char *fileloc;
  char *description;
  char *schedule; /* NULL: manual only */
  char *timezone;
  char *tags;  /* JSON array */
  char *graph; /* JSON array of {task_id, type, upstream} */
  int max_active_runs;
  int max_active_tasks;
  bool is_paused;
  bool is_active;
  dag_time_t last_parsed_time;
  dag_time_t next_dagrun; /* 0: none */
  dag_time_t next_dagrun_create_after;
  int64_t dag_version_id; /* latest good version (dag_store_put_version); 0: none */
  int dag_version_number;
};

/* Record a freshly loaded DAG (insert or update, is_active = 1). A new DAG
 * starts paused if `paused_if_new`. Stores is_paused in *is_paused. */
int dag_store_sync_dag(dag_store *st, const struct dag *dag, bool paused_if_new,
                       dag_time_t now, bool *is_paused);
/* Mark a DAG whose file vanished (or no longer loads) inactive. */
int dag_store_set_dag_active(dag_store *st, const char *dag_id, bool active);
/* Pause or unpause; also tells the scheduler. DAG_ENOTFOUND if unknown. */
int dag_store_set_paused(dag_store *st, const char *dag_id, bool paused);
int dag_store_set_next_dagrun(dag_store *st, const char *dag_id, dag_time_t next,
                              dag_time_t create_after);
int dag_store_get_dag(dag_store *st, const char *dag_id, struct dag_store_dag *out);
int dag_store_list_dags(dag_store *st, struct dag_store_dag **out, size_t *n);
void dag_store_dag_free(struct dag_store_dag *d);
void dag_store_dags_free(struct dag_store_dag *d, size_t n);

/* --- DAG versions (Airflow's dag_version + serialized_dag + dag_code) ------ */

struct dag_store_version {
  int64_t id;
  char *dag_id;
  int version_number; /* 1, 2, ... per DAG */
  char *dag_hash;     /* SHA-256 of data, hex */
  char *data;         /* the serialized DAG (dag_serial.h); NULL when not asked for */
  char *fileloc;
  char *source_code;  /* NULL: never read with its file, or not asked for */
  dag_time_t created_at;
};

/* The version of `dag`'s content: the existing one of the same digest, or a
 * new one numbered after the DAG's last. `source` (NULL: unknown) is the
 * file's text; it replaces the stored text of an existing version, since a
 * comment or spacing changes the text and not the DAG. With `current`, the
 * version becomes the DAG's latest good one (the dag row must exist). Stores
 * the version's id and number in *id and *number (either may be NULL). One
 * transaction (or part of the caller's). Costs a serialization and a hash. */
int dag_store_put_version(dag_store *st, const struct dag *dag, const char *source,
                          bool current, dag_time_t now, int64_t *id, int *number);
/* Version `id`, or with id 0 the DAG `dag_id`'s latest good one, with its
 * data and source when `with_data`. DAG_ENOTFOUND if none. Caller frees
 * with dag_store_version_free(). */
int dag_store_get_version(dag_store *st, int64_t id, const char *dag_id, bool with_data,
                          struct dag_store_version *out);
/* Version `number` of `dag_id`; the same otherwise. */
int dag_store_get_version_number(dag_store *st, const char *dag_id, int number,
                                 bool with_data, struct dag_store_version *out);
/* Every version of a DAG, newest first, without data or source. */
int dag_store_list_versions(dag_store *st, const char *dag_id, struct dag_store_version **out,
                            size_t *n);
void dag_store_version_free(struct dag_store_version *v);
void dag_store_versions_free(struct dag_store_version *v, size_t n);

/* --- import errors ------------------------------------------------------ */

struct dag_store_import_error {
  char *filename;
  dag_time_t timestamp;
  char *stacktrace; /* every diagnostic, one per line */
};

int dag_store_set_import_error(dag_store *st, const char *file, const char *text,
                               dag_time_t now);
int dag_store_clear_import_error(dag_store *st, const char *file);
int dag_store_list_import_errors(dag_store *st, struct dag_store_import_error **out,
                                 size_t *n);
void dag_store_import_errors_free(struct dag_store_import_error *e, size_t n);

/* --- runs ---------------------------------------------------------------- */

struct dag_store_run {
  int64_t pk;
  char *dag_id;
  char *run_id;
  char *run_type; /* scheduled | manual | test | backfill */
  enum dag_run_state state;
  dag_time_t logical_date;
  dag_time_t data_interval_start;
  dag_time_t data_interval_end;
  char *conf; /* JSON object */
  dag_time_t queued_at;
  dag_time_t start_date; /* 0: not started */
  dag_time_t end_date;   /* 0: not ended */
  /* The DAG version the run was created with and keeps (0: none, a run
   * older than versions); dag_store_create_run() records dag_version_id,
   * reads also fill its number. */
  int64_t dag_version_id;
  int dag_version_number;
  /* 0, or when the run was loaded from another home's bundle (`dagctl
   * import`): kept as it was there, never scheduled, resumed or cleared. */
  dag_time_t imported_at;
  /* 0, or the backfill (store_backfill.h) that created or re-ran it. */
  int64_t backfill_id;
  /* 0, or when deleting it was asked while it was active (store_mark.h):
   * the scheduler stops its tasks, then deletes it. */
  dag_time_t delete_requested_at;
};

/* Create a queued run and one task instance (state none) per task, in one
 * transaction, and tell the scheduler (except for run_type "test"). The
 * caller fills every field of `run` but pk/state/start/end. max_tries[i] is
 * task i's retries. If the run id is taken: DAG_EEXIST, or with
 * `suffix_if_taken` the run gets the first free id of run_id_2, run_id_3...
 * chosen in the same transaction, so concurrent creators never collide.
 * Stores the id used in *run_id_out if non-NULL (caller frees). DAG_EINVAL
 * if an id breaks the rule of ids.h. */
int dag_store_create_run(dag_store *st, const struct dag_store_run *run,
                         const char *const *task_ids, const int *max_tries,
                         size_t n_tasks, bool suffix_if_taken, int64_t *pk,
                         char **run_id_out);
int dag_store_set_run_state(dag_store *st, int64_t pk, enum dag_run_state state,
                            dag_time_t start_date, dag_time_t end_date);
int dag_store_get_run(dag_store *st, const char *dag_id, const char *run_id,
                      struct dag_store_run *out);
int dag_store_get_run_by_pk(dag_store *st, int64_t pk, struct dag_store_run *out);
/* The newest `limit` runs of a DAG, newest logical date first. */
int dag_store_list_runs(dag_store *st, const char *dag_id, int limit,
                        struct dag_store_run **out, size_t *n);
/* What `dagctl runs` asks for; a zero field does not filter. */
struct dag_store_run_filter {
  const char *dag_id;        /* NULL: every DAG (borrowed) */
  bool has_state;            /* filter on `state` */
  enum dag_run_state state;
  dag_time_t since;          /* runs started, or if not started queued, at or after */
  int limit;                 /* <= 0: no limit */
};
/* Runs matching `f`, newest logical date first. Caller frees with
 * dag_store_runs_free(). */
int dag_store_find_runs(dag_store *st, const struct dag_store_run_filter *f,
                        struct dag_store_run **out, size_t *n);
/* Queued and running runs the scheduler owns (not "test" runs, not
 * imported ones), oldest first. */
int dag_store_list_active_runs(dag_store *st, struct dag_store_run **out, size_t *n);
/* The same for one DAG. */
int dag_store_list_active_runs_of(dag_store *st, const char *dag_id,
                                  struct dag_store_run **out, size_t *n);
/* Interval of the DAG's latest scheduled run; DAG_ENOTFOUND if none. */
int dag_store_last_scheduled_interval(dag_store *st, const char *dag_id,
                                      struct dag_interval *out);
void dag_store_run_free(struct dag_store_run *r);
void dag_store_runs_free(struct dag_store_run *r, size_t n);

/* --- triggered runs (store_trigger.c) --------------------------------------- */

/* Record that run `run_pk` was triggered by task `by_task_id` of run
 * `by_run_pk` (the trigger_dag task type), in the caller's transaction. */
int dag_store_run_trigger_add(dag_store *st, int64_t run_pk, int64_t by_run_pk,
                              const char *by_task_id);
/* The latest run of `dag_id` that task `by_task_id` of run `by_run_pk`
 * triggered: 0 and *out (free with dag_store_run_free()), DAG_ENOTFOUND. */
int dag_store_run_triggered_by(dag_store *st, int64_t by_run_pk, const char *by_task_id,
                               const char *dag_id, struct dag_store_run *out);
/* The latest run of `dag_id` at `logical_date` (external_task): 0 and *out
 * (free with dag_store_run_free()), DAG_ENOTFOUND. */
int dag_store_run_at(dag_store *st, const char *dag_id, dag_time_t logical_date,
                     struct dag_store_run *out);
/* A run linked to another by a trigger_dag task: the one that triggered it
 * (triggered_by) or one it triggered. Strings owned by the array. */
struct dag_store_run_link {
  bool triggered_by; /* true: this run triggered the run asked about */
  char *dag_id;
  char *run_id;
  char *task_id; /* the trigger_dag task (of the triggering run) */
  enum dag_run_state state;
};
/* The run's links: the one that triggered it first (if any), then the runs
 * it triggered, oldest first. Free with dag_store_run_links_free(). */
int dag_store_run_links(dag_store *st, int64_t run_pk, struct dag_store_run_link **out,
                        size_t *n);
void dag_store_run_links_free(struct dag_store_run_link *l, size_t n);

/* --- task instances -------------------------------------------------------- */

/* What one try cost (migrations/0008_try_usage.sql); all zero and `known`
 * false when not recorded. */
struct dag_store_usage {
  bool known;
  int64_t max_rss_kb; /* the largest resident set of one of its processes */
  int64_t user_us, sys_us; /* CPU time of all its processes */
  int64_t wall_us;
};

struct dag_store_ti {
  char *task_id;
  enum dag_task_state state;
  int try_number; /* tries started */
  int max_tries;  /* retries allowed */
  dag_time_t start_date;
  dag_time_t end_date;
  dag_time_t next_retry_at;
  int pid;             /* 0: none */
  int64_t pid_start;   /* process start time, to tell a reused pid */
  int exit_code;       /* meaningful when has_exit_code */
  bool has_exit_code;
  char *error;         /* NULL or why it failed */
  struct dag_store_usage usage; /* of its latest try */
  int map_index;       /* Airflow's: -1, a task that is not mapped */
  /* What it waits or runs with (store_pools.h): its pool (NULL: not
   * recorded, never scheduled), the slots and its effective weight. */
  char *pool;
  int pool_slots;
  int priority_weight;
  bool has_priority_weight;
};

int dag_store_list_tis(dag_store *st, int64_t run_pk, struct dag_store_ti **out,
                       size_t *n);
void dag_store_tis_free(struct dag_store_ti *t, size_t n);

/* Set a state that involves no process: scheduled, skipped, upstream_failed,
 * none. Clears pid. */
/* The task instance functions below name one instance: (run, task,
 * map_index), map_index -1 for a task that is not mapped. */
int dag_store_ti_set_state(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                           enum dag_task_state state, dag_time_t now);
/* A try has started: state running, try_number, pid; a task_try row. */
int dag_store_ti_start_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                           int try_number, dag_time_t start, int pid,
                           int64_t pid_start, const char *log_path);
/* A try has ended in success, failed or up_for_retry. `error` may be NULL;
 * next_retry_at is 0 unless up_for_retry. */
int dag_store_ti_end_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                         int try_number, enum dag_task_state state, dag_time_t end,
                         int exit_code, bool has_exit_code, const char *error,
                         dag_time_t next_retry_at);
/* A sensor said "not yet": record the poke's end, give its try number back
 * (Airflow does the same, so pokes never use up tries) and note when to poke
 * again. */
int dag_store_ti_reschedule(dag_store *st, int64_t run_pk, const char *task_id,
                            int try_number, dag_time_t end, dag_time_t next_poke_at);
/* The process of a try recorded by dag_store_ti_start_try() (with pid 0)
 * was spawned: its pid and start time, to recognise it after a restart. */
int dag_store_ti_set_pid(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                         int try_number, int pid, int64_t pid_start);
/* A service task's try succeeded while its process runs on: keep its pid so
 * a restarted scheduler can stop it. */
int dag_store_ti_set_service_pid(dag_store *st, int64_t run_pk, const char *task_id, int pid,
                                 int64_t pid_start);

/* Allow one more try without counting it against retries (a try that the
 * scheduler itself interrupted). */
int dag_store_ti_grant_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index);

/* Record what try `try_number` cost (its row must exist). */
int dag_store_try_set_usage(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                            int try_number, const struct dag_store_usage *u);

/* Take back try `try_number`, recorded but never started (its supervisor
 * never got it): the task instance goes back to scheduled with the try
 * before it (its dates, exit code and error), and the try's record goes.
 * The next start is the same try again. */
int dag_store_ti_undo_try(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                          int try_number);

/* Dynamic task mapping (sched_map.c): task `task_id` expanded to `n`
 * instances, map_index 0..n-1, each scheduled with max_tries retries; its
 * own row (map_index -1) runs while they do. */
int dag_store_ti_expand(dag_store *st, int64_t run_pk, const char *task_id, int n,
                        int max_tries, dag_time_t now);
/* The end of a mapped task's own row (map_index -1): `state` (the outcome
 * of its instances, or failed or skipped without any), `error` (NULL or
 * why), at `now`. */
int dag_store_ti_end_unmapped(dag_store *st, int64_t run_pk, const char *task_id,
                              enum dag_task_state state, const char *error, dag_time_t now);

/* Airflow's clear: the named tasks go back to state none with
 * (a mapped task's instances are removed: it expands again when it runs)
 * max_tries = try_number + retries[i]; the run goes back to queued; the
 * scheduler is told. Running tasks are left alone (returned in *skipped).
 * DAG_ESTATE for an imported run, which no scheduler here may run. */
int dag_store_clear(dag_store *st, int64_t run_pk, const char *const *task_ids,
                    const int *retries, size_t n, size_t *cleared, size_t *skipped);

struct dag_store_try {
  char *task_id;
  int try_number;
  enum dag_task_state state;
  dag_time_t start_date;
  dag_time_t end_date;
  int pid;
  int exit_code;
  bool has_exit_code;
  char *error;
  char *log_path; /* relative to DAGCTL_HOME/logs */
  struct dag_store_usage usage;
  int map_index; /* of its task instance: -1, not mapped */
};

/* Every try of one task (task_id non-NULL) or of every task, by task, map
 * index, then try. */
int dag_store_list_tries(dag_store *st, int64_t run_pk, const char *task_id,
                         struct dag_store_try **out, size_t *n);
void dag_store_tries_free(struct dag_store_try *t, size_t n);

/* --- imported runs (store_import.c) ------------------------------------------ */

struct dag_bundle;
/* Record the run of bundle `b` (bundle.h) as it was in its home, marked
 * imported at `now`: its state, task instances, tries (log_paths[i], relative
 * to DAGCTL_HOME/logs, for try i) and XComs, with the DAG version
 * `version_id` (0: none). Never tells the scheduler: no scheduler resumes,
 * schedules or clears an imported run. One transaction (or part of the
 * caller's). DAG_EEXIST if the DAG already has a run of that id, DAG_EINVAL
 * for an id or path that breaks ids.h. Stores the run's pk in *pk. */
int dag_store_import_run(dag_store *st, const struct dag_bundle *b, const char *const *log_paths,
                         int64_t version_id, dag_time_t now, int64_t *pk);

/* --- changes from other processes ------------------------------------------ */

enum dag_store_event_kind {
  DAG_STORE_EVENT_RUN, /* a run was created or cleared: (re)load run_pk */
  DAG_STORE_EVENT_DAG, /* a DAG was paused or unpaused */
};

struct dag_store_event {
  int64_t id;
  enum dag_store_event_kind kind;
  char *dag_id;
  int64_t run_pk;
};

/* Take (read and delete) every pending event, oldest first. */
int dag_store_take_events(dag_store *st, struct dag_store_event **out, size_t *n);
void dag_store_events_free(struct dag_store_event *e, size_t n);

/* --- alerts: the email outbox (store_alerts.c) ----------------------------- */

enum dag_alert_kind {
  DAG_ALERT_TASK_FAILED, /* a task failed for good */
  DAG_ALERT_TASK_RETRY,  /* a try failed; the task will run again */
  DAG_ALERT_RUN_FAILED,  /* a DAG run ended failed: one summary */
  DAG_ALERT_EMAIL,       /* the mail of an email task */
  DAG_ALERT_DEADLINE_MISSED, /* a run not finished by its DAG's deadline */
};

enum dag_alert_state {
  DAG_ALERT_QUEUED, /* waiting for (another) attempt */
  DAG_ALERT_SENT,   /* accepted by the server for at least one recipient */
  DAG_ALERT_FAILED, /* given up: every recipient rejected, or the message refused */
};

/* Alerts by state: counts[DAG_ALERT_QUEUED] etc. (three entries). */
int dag_store_count_alerts(dag_store *st, int64_t counts[3]);

const char *dag_alert_kind_name(enum dag_alert_kind k);
const char *dag_alert_state_name(enum dag_alert_state s);
int dag_alert_state_parse(const char *name, enum dag_alert_state *out);

struct dag_store_alert {
  int64_t id;
  dag_time_t created_at;
  enum dag_alert_kind kind;
  char *dag_id;
  char *run_id;
  char *task_id;   /* NULL for run_failed and deadline_missed */
  int try_number;  /* 0 for run_failed and deadline_missed */
  char *recipients; /* JSON array of addresses; "[]": smtp.to when sent */
  char *subject;   /* UTF-8, not yet encoded for a header */
  char *body;      /* UTF-8, LF line ends, secrets already masked */
  enum dag_alert_state state;
  int attempts;
  dag_time_t next_attempt_at;
  char *last_error; /* NULL, or the server's reply / why it was not reached */
  dag_time_t sent_at; /* 0: not sent */
  char *cc;           /* NULL, or a JSON array of Cc addresses (email) */
  char *target;       /* NULL: mail; "webhook": the notify.* webhook;
                         "webhook:FORMAT:CONN": a DAG's own (webhook_msg.h) */
};

/* Queue an alert (state queued, no attempts, due at a->next_attempt_at).
 * One INSERT: on failure nothing is written and an enclosing transaction is
 * left alone (never rolled back), so a listener can call it from inside the
 * scheduler's transaction. Stores the new id in *id if id is non-NULL. */
int dag_store_add_alert(dag_store *st, const struct dag_store_alert *a, int64_t *id);
/* Earliest next_attempt_at of a queued mail (target NULL); DAG_ENOTFOUND
 * if none. */
int dag_store_next_alert_due(dag_store *st, dag_time_t *due);
/* The queued mail that is due first, if it is due at `now`; DAG_ENOTFOUND
 * if none is due. */
int dag_store_due_alert(dag_store *st, dag_time_t now, struct dag_store_alert *out);
/* A webhook target did not answer: its queued rows wait until `until`
 * (their next_attempt_at moved on, never back), so that the other
 * targets' rows go first and this one is not asked again meanwhile. */
int dag_store_webhook_hold(dag_store *st, const char *target, dag_time_t until);
/* The same two for webhook notifications (target not NULL). */
int dag_store_next_webhook_due(dag_store *st, dag_time_t *due);
int dag_store_due_webhook(dag_store *st, dag_time_t now, struct dag_store_alert *out);
int dag_store_get_alert(dag_store *st, int64_t id, struct dag_store_alert *out);
/* Newest first; `limit` <= 0 for all. */
int dag_store_list_alerts(dag_store *st, int limit, struct dag_store_alert **out,
                          size_t *n);
void dag_store_alert_free(struct dag_store_alert *a);
void dag_store_alerts_free(struct dag_store_alert *a, size_t n);

struct dag_store_alert_rcpt {
  char *address;
  bool rejected; /* false: the server accepted the message for it */
  char *reply;   /* the server's reply */
  dag_time_t updated_at;
};

/* The recipients with a final outcome; the others are still pending. */
int dag_store_alert_recipients(dag_store *st, int64_t alert_id,
                               struct dag_store_alert_rcpt **out, size_t *n);
void dag_store_alert_rcpts_free(struct dag_store_alert_rcpt *r, size_t n);

/* The outcome of one send attempt, recorded in one transaction. */
struct dag_store_alert_attempt {
  enum dag_alert_state state; /* queued again (with next_attempt_at), sent or failed */
  dag_time_t now;
  dag_time_t next_attempt_at; /* queued only */
  const char *error;          /* NULL, or the reason / reply to keep */
  const char *recipients;     /* NULL, or the resolved list (JSON) to keep */
  const struct dag_store_alert_rcpt *rcpts; /* new final outcomes (borrowed) */
  size_t n_rcpts;
};
int dag_store_alert_attempted(dag_store *st, int64_t id,
                              const struct dag_store_alert_attempt *a);

/* `dagctl alerts retry`: queue the alert again, due at `now`, for every
 * recipient not yet served (rejections are forgotten). DAG_ENOTFOUND if no
 * such alert; DAG_ESTATE if every recipient already has it. */
int dag_store_retry_alert(dag_store *st, int64_t id, dag_time_t now);

/* --- web: the status page and /metrics (store_web.c) ----------------------- */

/* The database answers a trivial query: for /api/v1/health. */
int dag_store_ping(dag_store *st);

/* Number of runs of a DAG (any state). */
int dag_store_count_runs(dag_store *st, const char *dag_id, int64_t *n);

/* One task instance of a grid: what the page colours a cell with. */
struct dag_store_cell {
  int64_t run_pk;
  char *task_id;
  enum dag_task_state state;
  int try_number;
  dag_time_t start_date;
  dag_time_t end_date;
  int map_index; /* -1: a task's own instance */
};

/* The task instances of every run in run_pks[0..n_runs), in one query, in no
 * particular order. Caller frees with dag_store_cells_free(). */
int dag_store_list_cells(dag_store *st, const int64_t *run_pks, size_t n_runs,
                         struct dag_store_cell **out, size_t *n);
void dag_store_cells_free(struct dag_store_cell *c, size_t n);

/* The newest `per_dag` runs of every DAG, by dag_id, newest first. Caller
 * frees with dag_store_runs_free(). */
int dag_store_list_recent_runs(dag_store *st, int per_dag, struct dag_store_run **out,
                               size_t *n);

/* dag_store_list_dags() without the graph (NULL): the DAG list. */
int dag_store_list_dags_brief(dag_store *st, struct dag_store_dag **out, size_t *n);

/* A value that changes whenever the database does, through this connection
 * or any other: answers computed from the store may be reused while it
 * stays the same. */
int dag_store_data_version(dag_store *st, uint64_t *version);

/* Rows by state over the whole database: task instances into
 * ti_counts[state], runs into run_counts[state]. O(rows). */
int dag_store_count_states(dag_store *st, int64_t ti_counts[DAG_TI__COUNT],
                           int64_t run_counts[DAG_RUN__COUNT]);

/* Durations of every finished try as a cumulative histogram: counts[i]
 * tries took at most bounds_us[i] (ascending), counts[n_bounds] is every
 * try; *sum_us is their total. `counts` holds n_bounds + 1. O(tries). */
int dag_store_try_durations(dag_store *st, const int64_t *bounds_us, size_t n_bounds,
                            int64_t *counts, int64_t *sum_us);
/* The same for the peak memory (max RSS, KiB) of every try that recorded
 * its cost, with the CPU time of them all in *user_us and *sys_us. */
int dag_store_try_usage(dag_store *st, const int64_t *bounds_kb, size_t n_bounds,
                        int64_t *counts, int64_t *sum_kb, int64_t *user_us, int64_t *sys_us);

/* --- metrics (store_metrics.c) ------------------------------------------------- */

/* Every try, ordered by dag_id then task_id; strings borrowed for the call;
 * duration_us is -1 while the try runs. */
typedef void (*dag_store_try_fn)(void *ud, const char *dag_id, const char *task_id,
                                 const char *state, int try_number, int64_t duration_us);
int dag_store_each_try(dag_store *st, dag_store_try_fn fn, void *ud);

/* A run's times (0: not yet); strings borrowed for the call. */
struct dag_store_run_times {
  const char *dag_id, *run_type, *state;
  dag_time_t queued_at, interval_end, start_date, end_date;
};
typedef void (*dag_store_run_fn)(void *ud, const struct dag_store_run_times *r);
/* Every run, ordered by dag_id. */
int dag_store_each_run(dag_store *st, dag_store_run_fn fn, void *ud);

/* Rows by DAG and state (task instances; runs), ordered by dag_id, state. */
typedef void (*dag_store_count_fn)(void *ud, const char *dag_id, const char *state, int64_t n);
int dag_store_ti_states_by_dag(dag_store *st, dag_store_count_fn fn, void *ud);
int dag_store_run_states_by_dag(dag_store *st, dag_store_count_fn fn, void *ud);

/* --- XCom (store_xcom.c) ------------------------------------------------------ */

struct dag_store_xcom {
  char *task_id;
  char *key;
  char *value; /* JSON */
  dag_time_t timestamp; /* when it was pushed (0 where not read) */
  int map_index;        /* of its task instance: -1, not mapped */
};

/* Set (or replace) one value; the caller has checked it is JSON. */
int dag_store_xcom_push(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                        const char *key, const char *value_json, dag_time_t now);
/* Every value of a run, by task then key. */
int dag_store_xcom_list(dag_store *st, int64_t run_pk, struct dag_store_xcom **out, size_t *n);
void dag_store_xcoms_free(struct dag_store_xcom *x, size_t n);
/* Every value of a run as {TASK: {KEY: value}}, the shape templates read
 * ({{ ti.xcom.TASK.KEY }}); a value that is not JSON is left out. A mapped
 * task's KEY holds the list of its instances' values, by map_index. 0 and
 * *out (a new reference), or the store's error with *out NULL. */
int dag_store_xcom_tree(dag_store *st, int64_t run_pk, json_t **out);
/* The values of one task instance (`key` NULL: every key, by key), with
 * their timestamps. 0 (none found: *n = 0) or the store's error. */
int dag_store_xcom_list_task(dag_store *st, int64_t run_pk, const char *task_id,
                             const char *key, struct dag_store_xcom **out, size_t *n);
/* Drop every value of one task instance: a new try's values replace, not
 * add to, an earlier try's (Airflow clears a task's XComs as it runs). */
int dag_store_xcom_clear_task(dag_store *st, int64_t run_pk, const char *task_id, int map_index);

/* --- workers: tries queued for `dagctl worker` (store_workers.c) ----------- */

/* A try the scheduler queued for the workers (core.executor: workers),
 * with its claim and, once done, how it ended. Strings owned by the caller:
 * free with dag_store_claims_free(). */
struct dag_store_claim {
  int64_t id;
  int64_t run_pk;
  char *task_id;
  int try_number;
  char *queue;
  char *task_type; /* shell, exec or a plugin type: what a worker must have */
  char *log_path;  /* relative to DAGCTL_HOME/logs */
  char *worker_id; /* NULL: not claimed */
  char *token;     /* the claimer's token; NULL: unclaimed or taken back */
  /* How it ended (done): as dag_proc_exit_cb reports a process. */
  int64_t exit_status;
  int term_signal;
  bool timed_out;
  char *lost; /* non-NULL: ended without an outcome, and why */
  /* Owned: the fields of its run a worker starts it with (pk, dag_id,
   * run_id, logical date, data interval, conf, dag_version_id), when
   * dag_store_claim_tries() read them with the claim (on PostgreSQL, in the
   * same round trip); NULL: not read (dag_store_get_run_by_pk()), or the
   * run is gone. */
  struct dag_store_run *run;
};
void dag_store_claims_free(struct dag_store_claim *c, size_t n);

/* The scheduler queues try `try_number` of a task: the task instance goes
 * to state queued with that try number, and a claim row waits for a worker
 * serving `queue` that can run `task_type`. One transaction (or part of the
 * caller's). */
int dag_store_queue_try(dag_store *st, int64_t run_pk, const char *task_id, int try_number,
                        const char *queue, const char *task_type, const char *log_path,
                        dag_time_t now);

/* A worker claims up to `limit` queued tries, oldest first, of the given
 * queues and task types (arrays of n_queues and n_types names). Each
 * claimed try gets a fresh random token; its task instance goes to running
 * with a task_try row, started `now`. One transaction (one statement on
 * PostgreSQL, which also reads each claim's run): two workers never claim
 * the same try. Caller frees *out with dag_store_claims_free(). */
int dag_store_claim_tries(dag_store *st, const char *worker_id, const char *const *queues,
                          size_t n_queues, const char *const *types, size_t n_types,
                          size_t limit, dag_time_t now, struct dag_store_claim **out,
                          size_t *n);

/* The worker holding claim `id` with `token` is alive. DAG_ECLAIM when the
 * claim is no longer its own (taken back: the worker should stop the try). */
int dag_store_claim_heartbeat(dag_store *st, int64_t id, const char *token, dag_time_t now);

/* The worker reports how its try ended; `c` gives id, token and the
 * outcome fields (lost: it never started, and why). DAG_ECLAIM, with nothing changed, when the
 * claim is no longer its own: the try was given to another worker. */
int dag_store_claim_end(dag_store *st, const struct dag_store_claim *c, dag_time_t now);
/* The same for n claims (borrowed) in one statement, part of the caller's
 * transaction: each is ended only under its own token, and refused[i]
 * (an array of n) says the claim was taken back and nothing of it changed;
 * the others are ended. 0, or the store's failure. */
int dag_store_claims_end(dag_store *st, const struct dag_store_claim *const *c, size_t n,
                         dag_time_t now, bool *refused);

/* Claims whose try has ended and whose end the scheduler has not yet
 * recorded, oldest first. */
int dag_store_claims_done(dag_store *st, struct dag_store_claim **out, size_t *n);

/* The scheduler recorded claim `id`'s end (part of the caller's transaction). */
int dag_store_claim_recorded(dag_store *st, int64_t id);

/* The scheduler takes back the claim of try `try_number` of a task, queued
 * or running (marked by hand, its run timed out or deleted), in the
 * caller's transaction, and records its end itself: the claim is left
 * recorded, lost for `why`, without its token, so the worker's next
 * heartbeat stops the try and its late end is refused. DAG_ENOTFOUND when
 * there is no such claim queued or running (its end may wait to be taken). */
int dag_store_claim_take_back(dag_store *st, int64_t run_pk, const char *task_id, int try_number,
                              const char *why, dag_time_t now);
/* The claim of try `try_number` of a task, in *out (caller frees its
 * strings with dag_store_claim_clear()). DAG_ENOTFOUND when that try was
 * never queued for the workers. */
int dag_store_claim_of_try(dag_store *st, int64_t run_pk, const char *task_id, int try_number,
                           struct dag_store_claim *out);
void dag_store_claim_clear(struct dag_store_claim *c);

struct dag_store_worker {
  char *id;
  char *host;
  char *queues;     /* JSON array */
  char *task_types; /* JSON array */
  int concurrency;
  int running;
  char *state; /* active | stopped | gone */
  dag_time_t started_at;
  dag_time_t last_heartbeat;
  char *log_url; /* its log server, "http://HOST:PORT"; NULL: none */
};

/* A worker starts (or comes back after being declared gone): insert or
 * update its row, state active. */
int dag_store_worker_register(dag_store *st, const struct dag_store_worker *w, dag_time_t now);
/* A worker is alive with `running` tries. DAG_ENOTFOUND if it has no row;
 * DAG_ECLAIM if it was declared gone (its tries were taken back). */
int dag_store_worker_heartbeat(dag_store *st, const char *id, int running, dag_time_t now);
/* A worker stopped cleanly (state stopped). */
int dag_store_worker_stopped(dag_store *st, const char *id, dag_time_t now);

/* Declare gone every active worker whose last heartbeat is older than
 * now - timeout_us, and end each try it held as lost (token taken back),
 * for the scheduler to fail or retry. One transaction, so of several
 * schedulers only one reaps a given worker. Counts in *workers, *tries. */
int dag_store_reap_workers(dag_store *st, dag_time_t now, int64_t timeout_us, size_t *workers,
                           size_t *tries);

/* Queued tries, queued before `queued_before`, that no active worker can
 * claim: none serves their queue with their task type. Oldest first; free
 * with dag_store_claims_free(). */
int dag_store_claims_stranded(dag_store *st, dag_time_t queued_before,
                              struct dag_store_claim **out, size_t *n);
/* Say why a queued try waits, in its task instance's error (shown by the
 * API and the page while it is queued; cleared when a worker claims it). */
int dag_store_ti_set_waiting(dag_store *st, int64_t run_pk, const char *task_id,
                             int try_number, const char *why);
/* store_logs.c. A worker copied claim `claim_id`'s finished log under
 * `base` ("s3://bucket/prefix" or a folder; worker.remote_logging), at
 * the claim's log_path. DAG_ENOTFOUND: no such claim (the run was
 * deleted). */
int dag_store_claim_set_log_archive(dag_store *st, int64_t claim_id, const char *base);
/* Where try `try_number` of a task's log was copied, in *base (caller
 * frees; NULL: not copied); DAG_ENOTFOUND when the try had no claim. */
int dag_store_claim_log_archive(dag_store *st, int64_t run_pk, const char *task_id,
                                int try_number, char **base);
/* The log server of worker `id` in *url (caller frees; NULL when it serves
 * none); DAG_ENOTFOUND when no such worker. */
int dag_store_worker_log_url(dag_store *st, const char *id, char **url);
/* Every worker, active first, then by id. Free with dag_store_workers_free(). */
int dag_store_list_workers(dag_store *st, struct dag_store_worker **out, size_t *n);
void dag_store_workers_free(struct dag_store_worker *w, size_t n);

/* --- several schedulers (store_schedulers.c) ------------------------------- */

/* A scheduler starts: insert its row, state active. */
int dag_store_scheduler_register(dag_store *st, const char *id, const char *host,
                                 dag_time_t now);
/* A scheduler is alive, having read events up to `events_seen`.
 * DAG_ECLAIM when it was declared gone (its runs were freed). */
int dag_store_scheduler_heartbeat(dag_store *st, const char *id, int64_t events_seen,
                                  dag_time_t now);
/* A scheduler stops cleanly: state stopped, its active runs freed for the
 * others. One transaction. */
int dag_store_scheduler_stopped(dag_store *st, const char *id, dag_time_t now);
/* Declare gone every active scheduler silent since now - timeout_us and free
 * its active runs; then drop the events every active scheduler has read.
 * One transaction: of several reapers, one frees a given scheduler's runs.
 * Count of schedulers declared gone in *gone. */
int dag_store_reap_schedulers(dag_store *st, dag_time_t now, int64_t timeout_us,
                              size_t *gone);
/* Lock DAG `dag_id`'s row until the end of the caller's transaction, so
 * that of several schedulers one at a time creates its scheduled runs
 * (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; SQLite's one writer needs
 * none). DAG_ECLAIM, without waiting, when another transaction holds it. */
int dag_store_lock_dag(dag_store *st, const char *dag_id);
/* Scheduler `id` takes run `pk`, unless another holds it: 0 when the run is
 * now its own (or was), DAG_ECLAIM when another scheduler's (or an imported
 * run, which none may take), DAG_ENOTFOUND when no such run. Part of the
 * caller's transaction. */
int dag_store_claim_run(dag_store *st, int64_t pk, const char *id);
/* Queued and running runs no scheduler holds (not "test" runs, not imported
 * ones), oldest first. */
int dag_store_list_unowned_runs(dag_store *st, struct dag_store_run **out, size_t *n);
/* Events after id `after`, oldest first, left in place for the other
 * schedulers (dag_store_take_events() deletes them); the id of the last
 * event in *last (`after` when none). */
int dag_store_events_after(dag_store *st, int64_t after, struct dag_store_event **out,
                           size_t *n, int64_t *last);
/* The newest event's id, 0 when none. */
int dag_store_last_event_id(dag_store *st, int64_t *id);

struct dag_store_scheduler {
  char *id;
  char *host;
  char *state; /* active | stopped | gone */
  dag_time_t started_at;
  dag_time_t last_heartbeat;
};
/* Every scheduler, active first, then by id. */
int dag_store_list_schedulers(dag_store *st, struct dag_store_scheduler **out, size_t *n);
void dag_store_schedulers_free(struct dag_store_scheduler *s, size_t n);

/* --- wake-ups between processes (PostgreSQL LISTEN/NOTIFY) ---------------------------
 *
 * On PostgreSQL a transaction that queues a try, ends one, or creates a run
 * or an event also sends a NOTIFY on the channel of the processes that act
 * on it; the server delivers it when the transaction commits (and drops it
 * on a rollback). A listener is a connection of its own that LISTENs on
 * the channels and is read without blocking: dag_store_listener_read()
 * when its socket is readable. Connecting blocks: run
 * dag_store_listener_connect() off the event loop (a thread pool); it
 * touches nothing but the listener. On SQLite none of it applies: the
 * wake-up files of the home do this job (sched_queue.c). */
enum {
  DAG_STORE_WAKE_WORKERS = 1u,    /* "dagctl_workers": a try was queued */
  DAG_STORE_WAKE_SCHEDULERS = 2u, /* "dagctl_schedulers": a try ended, a run or event */
};
struct dag_store_listener;
/* A listener for `channels` (DAG_STORE_WAKE_*) on `st`'s database, not yet
 * connected (caller frees with dag_store_listener_free()). DAG_EINVAL on
 * SQLite. */
int dag_store_listener_new(dag_store *st, unsigned channels, struct dag_store_listener **out);
/* Connect (again) and LISTEN; blocks. 0, or DAG_ESTORE with the reason,
 * password masked, in dag_store_listener_error(). */
int dag_store_listener_connect(struct dag_store_listener *l);
/* The connection's socket, -1 when not connected. */
int dag_store_listener_fd(const struct dag_store_listener *l);
/* Read what the socket holds without blocking; *channels gets the
 * channels notified by other sessions than `self` (the caller's own
 * store, whose notifications it needs not hear; may be NULL). 0, or
 * DAG_ESTORE when the connection is lost: the caller stops watching the
 * socket, then calls dag_store_listener_disconnect(). */
int dag_store_listener_read(struct dag_store_listener *l, dag_store *self, unsigned *channels);
/* Why the last connect or read failed; borrowed. */
const char *dag_store_listener_error(const struct dag_store_listener *l);
void dag_store_listener_disconnect(struct dag_store_listener *l);
void dag_store_listener_free(struct dag_store_listener *l);

#endif
