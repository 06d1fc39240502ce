/* store_pg.c - the PostgreSQL backend of the statement layer (store_int.h),
 * through libpq.
 *
 * A statement is prepared on the server once per connection (PQprepare, on
 * its first execution) under a name of its own, its SQLite-style parameters
 * (? and ?N) rewritten to $N; a step executes it with the bound values as
 * text (PQexecPrepared) and then walks the rows of the result. The server
 * infers each parameter's type from the query; the queries cast where it
 * cannot. A connection that breaks is reset on the next failure outside a
 * transaction, its statements prepared again as they are used, so a
 * restarted server costs the calls in flight, not the process.
 *
 * Round trips: a statement whose answer its caller does not read (a BEGIN,
 * an UPDATE whose changed count nobody checks: store_step_later()) is sent
 * at once in libpq's pipeline mode, and its outcome read with the next
 * statement that needs an answer, at the latest the COMMIT: the end of a
 * task, the queueing of its downstream and their NOTIFY and COMMIT travel
 * as one round trip instead of eight. The server runs them in the order
 * sent, in the same transaction; the first failure among them fails that
 * next statement, and the transaction with it (a pipeline skips what
 * follows a failure up to its sync, as a failed transaction would).
 *
 * Passwords: the URL carries none (dag_store_open() refuses one); it comes
 * from the options (core.state_password, core.state_password_file) or from
 * libpq's own PGPASSWORD and ~/.pgpass, and every message this file keeps
 * has it masked, since libpq's can quote the connection string. */
#include "pq_lazy.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "strbuf.h"
#include "store_int.h"

struct pg_stmt {
  struct store_stmt base;
  char name[24];  /* the server's name for it, "dagctl_N" */
  char *text;     /* the query with $N parameters */
  int n_params;
  char **values;  /* n_params bound values (owned; NULL: SQL NULL) */
  bool prepared;  /* on the server, on this connection */
  PGresult *res;  /* the executed result; NULL: not executed since reset */
  int row;        /* current row of res */
};

/* A result the pipeline owes: a statement's preparation or its execution. */
struct pg_pending {
  struct pg_stmt *s; /* borrowed: cached for the connection's life */
  bool prepare;
};

struct pg_conn {
  char *password;    /* owned; NULL: libpq's own sources */
  char sqlstate[6];  /* of the last failure; "" if none (a broken connection) */
  char *errmsg;      /* the last failure, password masked; owned */
  int64_t changes;   /* rows changed by the last statement */
  unsigned n_named;  /* statements named so far */
  int lock_timeout_ms; /* the session's, set again on a new connection */
  bool readonly;
  bool piped;           /* in pipeline mode, owed the results of `pending` */
  struct pg_pending *pending; /* owned array, in the order sent */
  size_t n_pending, cap_pending;
};

#define CONN(st) ((PGconn *)(st)->conn)
#define DATA(st) ((struct pg_conn *)(st)->be_data)
#define PS(s) ((struct pg_stmt *)(s))

/* `msg` with every occurrence of `secret` replaced by ***, and trailing
 * newlines dropped (caller frees). */
static char *mask(const char *msg, const char *secret) {
  struct strbuf b = STRBUF_INIT;
  size_t n = secret ? strlen(secret) : 0;
  const char *p = msg;
  while (*p) {
    if (n && strncmp(p, secret, n) == 0) {
      sb_append(&b, "***");
      p += n;
    } else {
      sb_appendc(&b, *p++);
    }
  }
  char *out = xstrdup(sb_str(&b));
  sb_free(&b);
  size_t len = strlen(out);
  while (len && (out[len - 1] == '\n' || out[len - 1] == ' ')) out[--len] = '\0';
  return out;
}

/* Keep a failure: its SQLSTATE and its message, masked. `res` may be NULL
 * (the connection's own message then). */
static void keep_failure(dag_store *st, const PGresult *res) {
  struct pg_conn *d = DATA(st);
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", state ? state : "");
  /* The primary message is one line ("canceling statement due to lock
   * timeout"); the full one adds severity, context and detail. */
  const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!msg || !*msg) msg = res ? PQresultErrorMessage(res) : NULL;
  if (!msg || !*msg) msg = PQerrorMessage(CONN(st));
  free(d->errmsg);
  d->errmsg = mask(msg && *msg ? msg : "unknown PostgreSQL failure", d->password);
}

/* A session of ours that sits in a transaction with its client silent this
 * long is ended by the server, which lets go of its row locks. Our
 * transactions send their statements back to back from one call on the
 * loop; a client silent inside one is frozen or cut off (a worker's link
 * down between a heartbeat's statements), and the server would otherwise
 * hold its locks until TCP gives up on the connection, hours later: the
 * scheduler could not declare that worker gone (its row is locked) and its
 * tries would never run elsewhere. The client's next call fails and
 * reconnects (maybe_reconnect()). */
#define IDLE_IN_TRANSACTION "SET idle_in_transaction_session_timeout = 5000"

/* A broken connection (a restarted server, a cut link) is reset when no
 * transaction is open: the transaction it had is gone either way, and its
 * caller has the failure. Statements are prepared again as they are used,
 * and the session's settings (store_pg_connect()) made again: without them
 * a busy row would be waited for without end. Run directly, not through
 * pg_exec(), so that the failure being reported keeps its message. */
static void maybe_reconnect(dag_store *st) {
  if (PQstatus(CONN(st)) != CONNECTION_BAD || st->depth > 0) return;
  LOG_WARN("state store connection lost, reconnecting db=%s", st->where);
  DATA(st)->piped = false;
  DATA(st)->n_pending = 0;
  PQreset(CONN(st));
  if (PQpipelineStatus(CONN(st)) != PQ_PIPELINE_OFF) PQexitPipelineMode(CONN(st));
  for (size_t i = 0; i < st->n_stmts; i++) PS(st->stmts[i])->prepared = false;
  if (PQstatus(CONN(st)) != CONNECTION_OK) return;
  char sql[192];
  snprintf(sql, sizeof(sql), "SET TIME ZONE 'UTC'; SET lock_timeout = %d; %s%s",
           DATA(st)->lock_timeout_ms, IDLE_IN_TRANSACTION,
           DATA(st)->readonly ? "; SET default_transaction_read_only = on" : "");
  PGresult *r = PQexec(CONN(st), sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    LOG_WARN("state store: cannot set the session up again db=%s", st->where);
  PQclear(r);
}

/* The end of a failed call: keep its failure, free `res` (may be NULL),
 * reconnect if the connection broke. Returns STORE_ERROR to pass on. */
static int fail_result(dag_store *st, PGresult *res) {
  keep_failure(st, res);
  PQclear(res);
  maybe_reconnect(st);
  return STORE_ERROR;
}

/* `sql` with ? and ?N rewritten to $N, outside quotes; the highest
 * parameter number in *n_params (caller frees). */
static char *number_params(const char *sql, int *n_params) {
  struct strbuf b = STRBUF_INIT;
  int next = 1, max = 0;
  char quote = 0;
  for (const char *p = sql; *p; p++) {
    if (quote) {
      if (*p == quote) quote = 0;
      sb_appendc(&b, *p);
      continue;
    }
    if (*p == '\'' || *p == '"') {
      quote = *p;
      sb_appendc(&b, *p);
      continue;
    }
    if (*p != '?') {
      sb_appendc(&b, *p);
      continue;
    }
    int n = 0;
    while (p[1] >= '0' && p[1] <= '9') n = n * 10 + (*++p - '0');
    if (n == 0) n = next;
    next = n + 1;
    if (n > max) max = n;
    sb_appendf(&b, "$%d", n);
  }
  *n_params = max;
  return sb_detach(&b);
}

static struct store_stmt *pg_prepare(dag_store *st, const char *sql) {
  struct pg_stmt *s = xcalloc(1, sizeof(*s));
  s->base.st = st;
  s->base.sql = sql;
  s->text = number_params(sql, &s->n_params);
  s->values = xcalloc((size_t)s->n_params + 1, sizeof(*s->values));
  snprintf(s->name, sizeof(s->name), "dagctl_%u", DATA(st)->n_named++);
  return &s->base;
}

static void pg_reset(struct store_stmt *base) {
  struct pg_stmt *s = PS(base);
  PQclear(s->res);
  s->res = NULL;
  s->row = -1;
  for (int i = 0; i < s->n_params; i++) {
    free(s->values[i]);
    s->values[i] = NULL;
  }
}

static void pg_finalize(struct store_stmt *base) {
  struct pg_stmt *s = PS(base);
  pg_reset(base);
  /* The server forgets its prepared statements with the connection. */
  free(s->values);
  free(s->text);
  free(s);
}

static void set_value(struct pg_stmt *s, int idx, char *v) {
  if (idx < 1 || idx > s->n_params) {
    free(v);
    return;
  }
  free(s->values[idx - 1]);
  s->values[idx - 1] = v;
}

static void pg_bind_int64(struct store_stmt *s, int idx, int64_t v) {
  set_value(PS(s), idx, xasprintf("%lld", (long long)v));
}

static void pg_bind_text(struct store_stmt *s, int idx, const char *v) {
  set_value(PS(s), idx, v ? xstrdup(v) : NULL);
}

static void pg_bind_null(struct store_stmt *s, int idx) { set_value(PS(s), idx, NULL); }

/* --- the pipeline ------------------------------------------------------------ */

static void owe(dag_store *st, struct pg_stmt *s, bool prepare) {
  struct pg_conn *d = DATA(st);
  d->pending = xgrow(d->pending, &d->cap_pending, d->n_pending + 1, sizeof(*d->pending));
  d->pending[d->n_pending++] = (struct pg_pending){.s = s, .prepare = prepare};
}

/* Send `s` (prepared first if it is not yet) into the pipeline, entering
 * it if need be. 0, or STORE_ERROR with the failure kept. */
static int pipe_send(struct pg_stmt *s) {
  dag_store *st = s->base.st;
  struct pg_conn *d = DATA(st);
  if (!d->piped) {
    /* A connection lost since the last statement is reset here, before a
     * transaction's BEGIN: see maybe_reconnect(). */
    if (PQstatus(CONN(st)) == CONNECTION_BAD) maybe_reconnect(st);
    if (PQenterPipelineMode(CONN(st)) != 1) return fail_result(st, NULL);
    d->piped = true;
  }
  if (!s->prepared) {
    if (PQsendPrepare(CONN(st), s->name, s->text, s->n_params, NULL) != 1) goto broken;
    s->prepared = true; /* taken back if its result is a failure */
    owe(st, s, true);
  }
  if (PQsendQueryPrepared(CONN(st), s->name, s->n_params, (const char *const *)s->values, NULL,
                          NULL, 0) != 1)
    goto broken;
  owe(st, s, false);
  return 0;
broken:
  keep_failure(st, NULL);
  return STORE_ERROR;
}

/* Close the pipeline: send its sync, read every result it owes in order
 * and leave pipeline mode. The first failure is kept and makes the answer
 * STORE_ERROR; the result of the last statement sent, when it succeeded
 * and `last` is given, goes to *last (the caller clears it). */
static int pipe_sync(dag_store *st, PGresult **last) {
  struct pg_conn *d = DATA(st);
  PGconn *c = CONN(st);
  bool failed = false, synced = false;
  if (last) *last = NULL;
  if (PQpipelineSync(c) != 1) {
    keep_failure(st, NULL);
    failed = true;
  }
  /* Each statement's results end with a NULL; the sync's is one result.
   * A broken connection answers NULL for ever: bounded by what is owed. */
  size_t i = 0, nulls = 0;
  while (!failed || PQstatus(c) != CONNECTION_BAD) {
    PGresult *r = PQgetResult(c);
    if (!r) {
      if (++nulls > d->n_pending + 1) break;
      if (i < d->n_pending) i++;
      continue;
    }
    ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      synced = true;
      break;
    }
    bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    struct pg_pending *p = i < d->n_pending ? &d->pending[i] : NULL;
    if (!ok && p && p->prepare) p->s->prepared = false;
    if (!ok && status != PGRES_PIPELINE_ABORTED && !failed) {
      keep_failure(st, r);
      failed = true;
    }
    if (ok && p && !p->prepare && i + 1 == d->n_pending && last && !*last) {
      *last = r;
      const char *changed = PQcmdTuples(r);
      d->changes = *changed ? strtoll(changed, NULL, 10) : 0;
    } else {
      PQclear(r);
    }
    if (!ok && PQstatus(c) == CONNECTION_BAD) break;
  }
  /* Statements still marked prepared past a failed sync may never have
   * reached the server. */
  for (size_t k = i; !synced && k < d->n_pending; k++)
    if (d->pending[k].prepare) d->pending[k].s->prepared = false;
  d->n_pending = 0;
  d->piped = false;
  if (PQpipelineStatus(c) != PQ_PIPELINE_OFF && PQexitPipelineMode(c) != 1 && !failed) {
    keep_failure(st, NULL);
    failed = true;
  }
  if (!failed && !synced) {
    keep_failure(st, NULL);
    failed = true;
  }
  if (failed) {
    if (last) {
      PQclear(*last);
      *last = NULL;
    }
    maybe_reconnect(st);
    return STORE_ERROR;
  }
  return 0;
}

/* After a failed send: read and drop whatever the pipeline owes, keeping
 * the send's failure. Returns STORE_ERROR to pass on. */
static int pipe_abandon(dag_store *st) {
  struct pg_conn *d = DATA(st);
  char state[sizeof(d->sqlstate)];
  memcpy(state, d->sqlstate, sizeof(state));
  char *msg = d->errmsg ? xstrdup(d->errmsg) : NULL;
  if (d->piped) pipe_sync(st, NULL);
  memcpy(d->sqlstate, state, sizeof(state));
  if (msg) {
    free(d->errmsg);
    d->errmsg = msg;
  }
  maybe_reconnect(st);
  return STORE_ERROR;
}

static int pg_step_later(struct store_stmt *base) {
  return pipe_send(PS(base)) == 0 ? STORE_DONE : pipe_abandon(base->st);
}

static int pg_step(struct store_stmt *base) {
  struct pg_stmt *s = PS(base);
  dag_store *st = base->st;
  if (s->res) {
    s->row++;
    return s->row < PQntuples(s->res) ? STORE_ROW : STORE_DONE;
  }
  if (DATA(st)->piped) {
    /* Statements sent ahead: this one closes their pipeline. */
    PGresult *r = NULL;
    if (pipe_send(s) != 0) return pipe_abandon(st);
    if (pipe_sync(st, &r) != 0) return STORE_ERROR;
    s->res = r;
    s->row = 0;
    return PQntuples(r) > 0 ? STORE_ROW : STORE_DONE;
  }
  if (!s->prepared) {
    PGresult *r = PQprepare(CONN(st), s->name, s->text, s->n_params, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return fail_result(st, r);
    PQclear(r);
    s->prepared = true;
  }
  PGresult *r = PQexecPrepared(CONN(st), s->name, s->n_params,
                               (const char *const *)s->values, NULL, NULL, 0);
  ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return fail_result(st, r);
  const char *changed = PQcmdTuples(r);
  DATA(st)->changes = *changed ? strtoll(changed, NULL, 10) : 0;
  s->res = r;
  s->row = 0;
  return PQntuples(r) > 0 ? STORE_ROW : STORE_DONE;
}

static const char *pg_col_text(struct store_stmt *base, int col) {
  struct pg_stmt *s = PS(base);
  if (!s->res || s->row < 0 || s->row >= PQntuples(s->res) || col >= PQnfields(s->res) ||
      PQgetisnull(s->res, s->row, col))
    return NULL;
  return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_col_int(struct store_stmt *s, int col) {
  const char *v = pg_col_text(s, col);
  if (!v) return 0;
  /* Booleans arrive as t and f, where SQLite has 1 and 0. */
  if (v[0] == 't' && v[1] == '\0') return 1;
  if (v[0] == 'f' && v[1] == '\0') return 0;
  return strtoll(v, NULL, 10);
}

static bool pg_col_null(struct store_stmt *s, int col) { return pg_col_text(s, col) == NULL; }

static int64_t pg_changes(dag_store *st) { return DATA(st)->changes; }

static int pg_exec(dag_store *st, const char *sql) {
  if (DATA(st)->piped && pipe_sync(st, NULL) != 0) return STORE_ERROR;
  PGresult *r = PQexec(CONN(st), sql);
  ExecStatusType status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return fail_result(st, r);
  PQclear(r);
  return 0;
}

static bool pg_in_transaction(dag_store *st) {
  return PQtransactionStatus(CONN(st)) != PQTRANS_IDLE &&
         PQtransactionStatus(CONN(st)) != PQTRANS_UNKNOWN;
}

static enum store_fault pg_fault(dag_store *st) {
  const char *s = DATA(st)->sqlstate;
  /* lock_not_available (lock_timeout), serialization_failure and
   * deadlock_detected all mean: another session was in the way, try again. */
  if (strcmp(s, "55P03") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
    return STORE_FAULT_BUSY;
  if (strncmp(s, "23", 2) == 0) return STORE_FAULT_CONSTRAINT;
  if (strcmp(s, "53100") == 0) return STORE_FAULT_FULL; /* disk_full */
  return STORE_FAULT_OTHER;
}

static const char *pg_errmsg(dag_store *st) {
  struct pg_conn *d = DATA(st);
  if (d->errmsg) return d->errmsg;
  free(d->errmsg);
  d->errmsg = mask(PQerrorMessage(CONN(st)), d->password);
  return d->errmsg;
}

static void pg_set_busy_timeout(dag_store *st, int ms) {
  char sql[64];
  DATA(st)->lock_timeout_ms = ms > 0 ? ms : 1;
  snprintf(sql, sizeof(sql), "SET lock_timeout = %d", DATA(st)->lock_timeout_ms);
  if (pg_exec(st, sql) != 0)
    LOG_WARN("state store: cannot set lock_timeout msg=\"%s\"", pg_errmsg(st));
}

static bool pg_readonly(dag_store *st) { return DATA(st)->readonly; }

static int pg_data_version(dag_store *st, uint64_t *version) {
  /* The WAL's insert position moves with every change any session makes,
   * and only forward: where SQLite has PRAGMA data_version. It moves for
   * other databases of the server too, which costs a cache miss, never a
   * stale answer. */
  static const char sql[] = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  int rc = pg_step(s);
  if (rc == STORE_ROW) *version = (uint64_t)pg_col_int(s, 0);
  pg_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "data version");
}

static void pg_close(dag_store *st) {
  PQfinish(CONN(st));
  st->conn = NULL;
  struct pg_conn *d = DATA(st);
  if (d) {
    if (d->password) {
      memset(d->password, 0, strlen(d->password));
      free(d->password);
    }
    free(d->errmsg);
    free(d->pending);
    free(d);
  }
  st->be_data = NULL;
}

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .kind = DAG_STORE_POSTGRESQL,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .step_later = pg_step_later,
    .col_text = pg_col_text,
    .col_int = pg_col_int,
    .col_null = pg_col_null,
    .changes = pg_changes,
    .exec = pg_exec,
    .in_transaction = pg_in_transaction,
    .fault = pg_fault,
    .errmsg = pg_errmsg,
    .set_busy_timeout = pg_set_busy_timeout,
    .readonly = pg_readonly,
    .data_version = pg_data_version,
    .close = pg_close,
};

const char *store_pg_password(dag_store *st) { return DATA(st)->password; }

int store_pg_backend_pid(dag_store *st) { return PQbackendPID(CONN(st)); }

int store_pg_notify(dag_store *st, unsigned channels, bool commit) {
  /* Fixed names: no user text reaches the statements. Sent down the
   * pipeline, with whatever the transaction sent ahead of them. */
  static const char workers[] = "NOTIFY dagctl_workers";
  static const char schedulers[] = "NOTIFY dagctl_schedulers";
  static const char commit_sql[] = "COMMIT";
  const char *sql[] = {channels & DAG_STORE_WAKE_WORKERS ? workers : NULL,
                       channels & DAG_STORE_WAKE_SCHEDULERS ? schedulers : NULL};
  for (size_t i = 0; i < DAG_ARRAY_SIZE(sql); i++) {
    struct store_stmt *s = sql[i] ? store_stmt(st, sql[i]) : NULL;
    if (sql[i] && (!s || pg_step_later(s) != STORE_DONE)) return STORE_ERROR;
  }
  if (commit) {
    struct store_stmt *s = store_stmt(st, commit_sql);
    if (!s) return STORE_ERROR;
    int rc = pg_step(s);
    pg_reset(s);
    return rc == STORE_DONE ? 0 : STORE_ERROR;
  }
  return DATA(st)->piped ? pipe_sync(st, NULL) : 0;
}

/* The server's notices (IF NOT EXISTS ... skipping) go to the debug log,
 * not to stderr as libpq's default does. */
static void notice(void *arg, const char *message) {
  (void)arg;
  LOG_DEBUG("postgresql notice msg=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

bool store_pg_url_has_password(const char *url) {
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(url, &err);
  PQfreemem(err);
  if (!opts) return false;
  bool has = false;
  for (PQconninfoOption *o = opts; o->keyword; o++)
    if (strcmp(o->keyword, "password") == 0 && o->val && *o->val) has = true;
  PQconninfoFree(opts);
  return has;
}

int store_pg_connect(dag_store *st, const char *url, const struct dag_store_options *opts,
                     char **err) {
  struct pg_conn *d = xcalloc(1, sizeof(*d));
  st->be_data = d;
  st->where = xstrdup(url);
  if (store_pg_url_has_password(url)) {
    free(st->where);
    st->where = xstrdup("postgresql URL");
    *err = xstrdup("the state URL holds a password: give it in DAGCTL__CORE__STATE_PASSWORD, "
                   "core.state_password_file, PGPASSWORD or ~/.pgpass instead");
    return DAG_EINVAL;
  }
  if (opts && opts->password && *opts->password) d->password = xstrdup(opts->password);
  d->readonly = opts && opts->readonly;
  d->lock_timeout_ms = 10000;
  /* expand_dbname: dbname holds the whole URL; the password travels apart
   * (NULL values are ignored, and libpq then reads PGPASSWORD, .pgpass). */
  const char *keys[] = {"dbname", "password", "application_name", "connect_timeout", NULL};
  const char *vals[] = {url, d->password, "dagctl", "10", NULL};
  PGconn *conn = PQconnectdbParams(keys, vals, 1);
  st->conn = conn;
  if (!conn) {
    const char *why = dag_pq_load_error();
    *err = xasprintf("%s: %s", url, why ? why : "out of memory connecting");
    return DAG_ESTORE;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    char *why = mask(PQerrorMessage(conn), d->password);
    *err = xasprintf("%s: cannot connect: %s", url, why);
    free(why);
    return DAG_ESTORE;
  }
  PQsetNoticeProcessor(conn, notice, NULL);
  /* UTC keeps any server-side time function out of local time; the lock
   * timeout is SQLite's busy timeout (dag_store_set_busy_timeout). */
  if (pg_exec(st, "SET TIME ZONE 'UTC'") != 0 || pg_exec(st, "SET lock_timeout = 10000") != 0 ||
      pg_exec(st, IDLE_IN_TRANSACTION) != 0 ||
      (d->readonly && pg_exec(st, "SET default_transaction_read_only = on") != 0)) {
    *err = xasprintf("%s: %s", url, pg_errmsg(st));
    return DAG_ESTORE;
  }
  return 0;
}

/* Words of the SQLite migrations that PostgreSQL spells otherwise. Times
 * are microseconds since 1970, beyond 32 bits: every INTEGER is BIGINT. */
char *store_pg_translate_ddl(const char *sql) {
  static const struct {
    const char *from, *to;
  } words[] = {
      {"INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
      {"INTEGER", "BIGINT"},
      {"WITHOUT ROWID", ""},
  };
  struct strbuf b = STRBUF_INIT;
  const char *p = sql;
  while (*p) {
    if (*p == '\'') { /* a literal, copied whole */
      const char *end = strchr(p + 1, '\'');
      size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
      sb_appendn(&b, p, n);
      p += n;
      continue;
    }
    if (p[0] == '-' && p[1] == '-') { /* a comment, to the end of its line */
      size_t n = strcspn(p, "\n");
      sb_appendn(&b, p, n);
      p += n;
      continue;
    }
    bool word_start = p == sql || !(p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'Z') ||
                                     (p[-1] >= 'a' && p[-1] <= 'z') ||
                                     (p[-1] >= '0' && p[-1] <= '9'));
    size_t i = 0;
    for (; word_start && i < DAG_ARRAY_SIZE(words); i++) {
      size_t n = strlen(words[i].from);
      if (strncmp(p, words[i].from, n) != 0) continue;
      char after = p[n]; /* within the text: p[0..n) matched */
      if (!(after == '_' || (after >= 'A' && after <= 'Z') || (after >= 'a' && after <= 'z') ||
            (after >= '0' && after <= '9'))) {
        sb_append(&b, words[i].to);
        p += n;
        break;
      }
    }
    if (word_start && i < DAG_ARRAY_SIZE(words)) continue;
    sb_appendc(&b, *p++);
  }
  return sb_detach(&b);
}
