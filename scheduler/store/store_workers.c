/* store_workers.c - tries queued for `dagctl worker` processes, their
 * claims and tokens, and the workers' table, in the SQLite store.
 *
 * The claim token is the guard against a worker that comes back after it
 * was declared gone: every write of a worker names its claim's token in
 * its WHERE clause, and a claim taken back has its token cleared (and a
 * reassigned try is another claim row), so such a write changes no row and
 * the caller hears DAG_ECLAIM. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

void dag_store_claim_clear(struct dag_store_claim *c) {
  if (!c) return;
  free(c->task_id);
  free(c->queue);
  free(c->task_type);
  free(c->log_path);
  free(c->worker_id);
  free(c->token);
  free(c->lost);
  dag_store_run_free(c->run);
  free(c->run);
  memset(c, 0, sizeof(*c));
}

void dag_store_claims_free(struct dag_store_claim *c, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_claim_clear(&c[i]);
  free(c);
}

#define CLAIM_COLUMNS                                                            \
  "id, run_pk, task_id, try_number, queue, task_type, log_path, worker_id, token," \
  " exit_status, term_signal, timed_out, lost"

static void read_claim(struct store_stmt *s, struct dag_store_claim *c) {
  memset(c, 0, sizeof(*c));
  c->id = store_col_int(s, 0);
  c->run_pk = store_col_int(s, 1);
  c->task_id = store_col_text(s, 2);
  c->try_number = (int)store_col_int(s, 3);
  c->queue = store_col_text(s, 4);
  c->task_type = store_col_text(s, 5);
  c->log_path = store_col_text(s, 6);
  c->worker_id = store_col_text(s, 7);
  c->token = store_col_text(s, 8);
  c->exit_status = store_col_int(s, 9);
  c->term_signal = (int)store_col_int(s, 10);
  c->timed_out = store_col_int(s, 11) != 0;
  c->lost = store_col_text(s, 12);
}

static int read_claims(dag_store *st, struct store_stmt *s, struct dag_store_claim **out, size_t *n,
                       const char *what) {
  size_t cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_claim(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, what);
}

int dag_store_queue_try(dag_store *st, int64_t run_pk, const char *task_id, int try_number,
                        const char *queue, const char *task_type, const char *log_path,
                        dag_time_t now) {
  static const char upd[] =
      "UPDATE task_instance SET state = 'queued', try_number = ?1, start_date = NULL,"
      " end_date = NULL, pid = NULL, pid_start = NULL, exit_code = NULL, error = NULL,"
      " next_retry_at = NULL WHERE run_pk = ?2 AND task_id = ?3 AND map_index = -1";
  /* A try number is queued once; a row left by an earlier scheduler that
   * queued it and died before its commit cannot exist (same transaction),
   * so a conflict here is a bug worth a failure. */
  static const char ins[] =
      "INSERT INTO task_claim (run_pk, task_id, try_number, queue, task_type, log_path,"
      " queued_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, upd);
  if (!s) goto fail;
  store_bind_int64(s, 1, try_number);
  store_bind_int64(s, 2, run_pk);
  store_bind_text(s, 3, task_id);
  if ((rc = store_step_later(st, s, "queue try")) != 0) goto fail;
  if (!(s = store_stmt(st, ins))) goto fail;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, try_number);
  store_bind_text(s, 4, queue);
  store_bind_text(s, 5, task_type);
  store_bind_text(s, 6, log_path);
  store_bind_int64(s, 7, now);
  if ((rc = store_step_later(st, s, "queue claim")) != 0) goto fail;
  store_notify(st, DAG_STORE_WAKE_WORKERS);
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc ? rc : DAG_ESTORE;
}

/* A JSON array of names, for json_each() in a query. Caller frees. */
static char *names_json(const char *const *names, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(names[i]));
  char *text = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  return text;
}

/* PostgreSQL: the claim, its task instances and tries, and their runs'
 * fields in one statement, one round trip without a transaction of its
 * own (a statement is atomic): the UPDATE of the claims, then in
 * data-modifying WITH clauses what dag_store_claim_tries() does per claim
 * on SQLite. */
static int claim_tries_pg(dag_store *st, const char *worker_id, const char *qj, const char *tj,
                          size_t limit, dag_time_t now, struct dag_store_claim **out,
                          size_t *n) {
  static const char sql[] =
      "WITH c AS (UPDATE task_claim SET state = 'running', worker_id = ?1,"
      "  token = replace(CAST(gen_random_uuid() AS TEXT), '-', ''), claimed_at = ?2,"
      "  heartbeat_at = ?2"
      "  WHERE id IN (SELECT id FROM task_claim WHERE state = 'queued'"
      "   AND queue IN (SELECT json_array_elements_text(CAST(?3 AS json)))"
      "   AND task_type IN (SELECT json_array_elements_text(CAST(?4 AS json)))"
      "   ORDER BY id LIMIT ?5 FOR UPDATE SKIP LOCKED)"
      "  RETURNING " CLAIM_COLUMNS "),"
      " ti AS (UPDATE task_instance t SET state = 'running', start_date = ?2, error = NULL"
      "  FROM c WHERE t.run_pk = c.run_pk AND t.task_id = c.task_id"
      "  AND t.try_number = c.try_number AND t.map_index = -1),"
      " tr AS (INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, log_path)"
      "  SELECT run_pk, task_id, try_number, 'running', ?2, log_path FROM c"
      "  ON CONFLICT (run_pk, task_id, map_index, try_number) DO UPDATE SET state = 'running',"
      "  start_date = ?2, end_date = NULL, pid = NULL, exit_code = NULL, error = NULL,"
      "  log_path = excluded.log_path)"
      " SELECT c.*, r.id, r.dag_id, r.run_id, r.logical_date, r.data_interval_start,"
      "  r.data_interval_end, r.conf, r.created_dag_version_id"
      " FROM c LEFT JOIN dag_run r ON r.id = c.run_pk ORDER BY c.id";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, worker_id);
  store_bind_int64(s, 2, now);
  store_bind_text(s, 3, qj);
  store_bind_text(s, 4, tj);
  store_bind_int64(s, 5, (int64_t)limit);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_claim *c = &(*out)[(*n)++];
    read_claim(s, c);
    if (store_col_null(s, 13)) continue; /* its run is gone */
    c->run = xcalloc(1, sizeof(*c->run));
    c->run->pk = store_col_int(s, 13);
    c->run->dag_id = store_col_text(s, 14);
    c->run->run_id = store_col_text(s, 15);
    c->run->logical_date = store_col_int(s, 16);
    c->run->data_interval_start = store_col_int(s, 17);
    c->run->data_interval_end = store_col_int(s, 18);
    c->run->conf = store_col_text(s, 19);
    c->run->dag_version_id = store_col_int(s, 20);
  }
  store_reset(s);
  if (rc == STORE_DONE) return 0;
  rc = store_fail(st, "claim tries");
  dag_store_claims_free(*out, *n);
  *out = NULL;
  *n = 0;
  return rc;
}

int dag_store_claim_tries(dag_store *st, const char *worker_id, const char *const *queues,
                          size_t n_queues, const char *const *types, size_t n_types,
                          size_t limit, dag_time_t now, struct dag_store_claim **out,
                          size_t *n) {
  /* The token is drawn by the database from its system's random source
   * (SQLite's generator, PostgreSQL's gen_random_uuid()): 128 bits no other
   * claimer can guess or repeat. PostgreSQL skips the rows another claimer
   * holds locked rather than waiting for it (SKIP LOCKED, claim_tries_pg());
   * SQLite has one writer at a time. */
  static const char claim[] =
      "UPDATE task_claim SET state = 'running', worker_id = ?1,"
      " token = lower(hex(randomblob(16))), claimed_at = ?2, heartbeat_at = ?2"
      " WHERE id IN (SELECT id FROM task_claim WHERE state = 'queued'"
      "  AND queue IN (SELECT value FROM json_each(?3))"
      "  AND task_type IN (SELECT value FROM json_each(?4)) ORDER BY id LIMIT ?5)"
      " RETURNING " CLAIM_COLUMNS;
  static const char upd_ti[] =
      "UPDATE task_instance SET state = 'running', start_date = ?1, error = NULL"
      " WHERE run_pk = ?2 AND task_id = ?3 AND try_number = ?4 AND map_index = -1";
  static const char ins_try[] =
      "INSERT INTO task_try (run_pk, task_id, try_number, state, start_date, log_path)"
      " VALUES (?1, ?2, ?3, 'running', ?4, ?5) ON CONFLICT (run_pk, task_id, map_index, try_number)"
      " DO UPDATE SET state = 'running', start_date = ?4, end_date = NULL, pid = NULL,"
      " exit_code = NULL, error = NULL, log_path = ?5";
  *out = NULL;
  *n = 0;
  if (limit == 0 || n_queues == 0 || n_types == 0) return 0;
  char *qj = names_json(queues, n_queues), *tj = names_json(types, n_types);
  if (dag_store_kind(st) == DAG_STORE_POSTGRESQL) {
    int rc = claim_tries_pg(st, worker_id, qj, tj, limit, now, out, n);
    free(qj);
    free(tj);
    return rc;
  }
  int rc = dag_store_begin(st);
  if (rc) {
    free(qj);
    free(tj);
    return rc;
  }
  struct store_stmt *s = store_stmt(st, claim);
  if (!s) goto fail;
  store_bind_text(s, 1, worker_id);
  store_bind_int64(s, 2, now);
  store_bind_text(s, 3, qj);
  store_bind_text(s, 4, tj);
  store_bind_int64(s, 5, (int64_t)limit);
  if ((rc = read_claims(st, s, out, n, "claim tries")) != 0) goto fail;
  for (size_t i = 0; i < *n; i++) {
    const struct dag_store_claim *c = &(*out)[i];
    if (!(s = store_stmt(st, upd_ti))) goto fail;
    store_bind_int64(s, 1, now);
    store_bind_int64(s, 2, c->run_pk);
    store_bind_text(s, 3, c->task_id);
    store_bind_int64(s, 4, c->try_number);
    if ((rc = store_step_later(st, s, "claimed task")) != 0) goto fail;
    if (!(s = store_stmt(st, ins_try))) goto fail;
    store_bind_int64(s, 1, c->run_pk);
    store_bind_text(s, 2, c->task_id);
    store_bind_int64(s, 3, c->try_number);
    store_bind_int64(s, 4, now);
    store_bind_text(s, 5, c->log_path);
    if ((rc = store_step_later(st, s, "claimed try")) != 0) goto fail;
  }
  free(qj);
  free(tj);
  if ((rc = dag_store_commit(st)) == 0) return 0;
  dag_store_claims_free(*out, *n);
  *out = NULL;
  *n = 0;
  return rc;
fail:
  free(qj);
  free(tj);
  dag_store_rollback(st);
  dag_store_claims_free(*out, *n);
  *out = NULL;
  *n = 0;
  return rc ? rc : DAG_ESTORE;
}

int dag_store_claim_heartbeat(dag_store *st, int64_t id, const char *token, dag_time_t now) {
  static const char sql[] =
      "UPDATE task_claim SET heartbeat_at = ?1"
      " WHERE id = ?2 AND token = ?3 AND state = 'running'";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, id);
  store_bind_text(s, 3, token);
  int rc = store_step_done(st, s, "claim heartbeat");
  if (rc) return rc;
  return store_changes(st) ? 0 : DAG_ECLAIM;
}

int dag_store_claim_end(dag_store *st, const struct dag_store_claim *c, dag_time_t now) {
  static const char sql[] =
      "UPDATE task_claim SET state = 'done', exit_status = ?1, term_signal = ?2,"
      " timed_out = ?3, ended_at = ?4, lost = ?7"
      " WHERE id = ?5 AND token = ?6 AND state = 'running'";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, c->exit_status);
  store_bind_int64(s, 2, c->term_signal);
  store_bind_int64(s, 3, c->timed_out);
  store_bind_int64(s, 4, now);
  store_bind_int64(s, 5, c->id);
  store_bind_text(s, 6, c->token);
  store_bind_text(s, 7, c->lost);
  int rc = store_step_done(st, s, "claim end");
  if (rc) return rc;
  if (!store_changes(st)) return DAG_ECLAIM;
  store_notify(st, DAG_STORE_WAKE_SCHEDULERS);
  return 0;
}

int dag_store_claims_end(dag_store *st, const struct dag_store_claim *const *c, size_t n,
                         dag_time_t now, bool *refused) {
  /* The ends travel as one JSON array: one statement, one round trip,
   * whatever their number. A row is ended only where its token still
   * matches; RETURNING names those. */
  static const char sql[] =
      "UPDATE task_claim SET state = 'done', exit_status = json_extract(j.value, '$.exit_status'),"
      " term_signal = json_extract(j.value, '$.term_signal'),"
      " timed_out = json_extract(j.value, '$.timed_out'), ended_at = ?2,"
      " lost = json_extract(j.value, '$.lost')"
      " FROM json_each(?1) j WHERE task_claim.id = json_extract(j.value, '$.id')"
      " AND task_claim.token = json_extract(j.value, '$.token') AND task_claim.state = 'running'"
      " RETURNING id";
  static const char sql_pg[] =
      "UPDATE task_claim c SET state = 'done', exit_status = j.exit_status,"
      " term_signal = j.term_signal, timed_out = j.timed_out, ended_at = ?2, lost = j.lost"
      " FROM json_to_recordset(CAST(?1 AS json)) AS j(id BIGINT, token TEXT,"
      "  exit_status BIGINT, term_signal BIGINT, timed_out BIGINT, lost TEXT)"
      " WHERE c.id = j.id AND c.token = j.token AND c.state = 'running' RETURNING c.id";
  for (size_t i = 0; i < n; i++) refused[i] = true;
  if (n == 0) return 0;
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(
        a, json_pack("{sI so sI sI sI so}", "id", (json_int_t)c[i]->id, "token",
                     c[i]->token ? json_string(c[i]->token) : json_null(), "exit_status",
                     (json_int_t)c[i]->exit_status, "term_signal", (json_int_t)c[i]->term_signal,
                     "timed_out", (json_int_t)(c[i]->timed_out ? 1 : 0), "lost",
                     c[i]->lost ? json_string(c[i]->lost) : json_null()));
  char *text = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) {
    free(text);
    return DAG_ESTORE;
  }
  store_bind_text(s, 1, text);
  store_bind_int64(s, 2, now);
  free(text);
  int rc;
  size_t ended = 0;
  while ((rc = store_step(s)) == STORE_ROW) {
    int64_t id = store_col_int(s, 0);
    for (size_t i = 0; i < n; i++)
      if (c[i]->id == id && refused[i]) {
        refused[i] = false;
        ended++;
        break;
      }
  }
  store_reset(s);
  if (rc != STORE_DONE) return store_fail(st, "claims end");
  if (ended) store_notify(st, DAG_STORE_WAKE_SCHEDULERS);
  return 0;
}

int dag_store_claims_stranded(dag_store *st, dag_time_t queued_before,
                              struct dag_store_claim **out, size_t *n) {
  static const char sql[] =
      "SELECT " CLAIM_COLUMNS " FROM task_claim c WHERE state = 'queued' AND queued_at < ?"
      " AND NOT EXISTS (SELECT 1 FROM worker w WHERE w.state = 'active'"
      "  AND c.queue IN (SELECT value FROM json_each(w.queues))"
      "  AND c.task_type IN (SELECT value FROM json_each(w.task_types))) ORDER BY id";
  static const char sql_pg[] =
      "SELECT " CLAIM_COLUMNS " FROM task_claim c WHERE state = 'queued' AND queued_at < ?"
      " AND NOT EXISTS (SELECT 1 FROM worker w WHERE w.state = 'active'"
      "  AND c.queue IN (SELECT json_array_elements_text(CAST(w.queues AS json)))"
      "  AND c.task_type IN (SELECT json_array_elements_text(CAST(w.task_types AS json))))"
      " ORDER BY id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, queued_before);
  return read_claims(st, s, out, n, "stranded claims");
}

int dag_store_ti_set_waiting(dag_store *st, int64_t run_pk, const char *task_id,
                             int try_number, const char *why) {
  static const char sql[] =
      "UPDATE task_instance SET error = ? WHERE run_pk = ? AND task_id = ? AND try_number = ?"
      " AND map_index = -1"
      " AND state = 'queued'";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, why);
  store_bind_int64(s, 2, run_pk);
  store_bind_text(s, 3, task_id);
  store_bind_int64(s, 4, try_number);
  return store_step_done(st, s, "waiting reason");
}

int dag_store_claims_done(dag_store *st, struct dag_store_claim **out, size_t *n) {
  static const char sql[] =
      "SELECT " CLAIM_COLUMNS " FROM task_claim WHERE state = 'done' ORDER BY id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  return read_claims(st, s, out, n, "ended claims");
}

int dag_store_claim_recorded(dag_store *st, int64_t id) {
  static const char sql[] =
      "UPDATE task_claim SET state = 'recorded' WHERE id = ? AND state = 'done'";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  return store_step_later(st, s, "claim recorded");
}

int dag_store_claim_take_back(dag_store *st, int64_t run_pk, const char *task_id, int try_number,
                              const char *why, dag_time_t now) {
  static const char sql[] =
      "UPDATE task_claim SET state = 'recorded', token = NULL, ended_at = ?1, exit_status = -1,"
      " term_signal = 0, timed_out = 0, lost = ?2"
      " WHERE run_pk = ?3 AND task_id = ?4 AND try_number = ?5 AND state IN ('queued', 'running')";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_text(s, 2, why);
  store_bind_int64(s, 3, run_pk);
  store_bind_text(s, 4, task_id);
  store_bind_int64(s, 5, try_number);
  int rc = store_step_done(st, s, "take back claim");
  if (rc) return rc;
  return store_changes(st) ? 0 : DAG_ENOTFOUND;
}

int dag_store_claim_of_try(dag_store *st, int64_t run_pk, const char *task_id, int try_number,
                           struct dag_store_claim *out) {
  static const char sql[] =
      "SELECT " CLAIM_COLUMNS " FROM task_claim"
      " WHERE run_pk = ? AND task_id = ? AND try_number = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, run_pk);
  store_bind_text(s, 2, task_id);
  store_bind_int64(s, 3, try_number);
  int rc = store_step(s);
  if (rc == STORE_ROW) read_claim(s, out);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "claim of try");
}

/* --- workers ------------------------------------------------------------------ */

int dag_store_worker_register(dag_store *st, const struct dag_store_worker *w, dag_time_t now) {
  static const char sql[] =
      "INSERT INTO worker (id, host, queues, task_types, concurrency, running, state,"
      " started_at, last_heartbeat, log_url) VALUES (?1, ?2, ?3, ?4, ?5, 0, 'active', ?6, ?6, ?7)"
      " ON CONFLICT (id) DO UPDATE SET state = 'active', last_heartbeat = ?6,"
      " queues = ?3, task_types = ?4, concurrency = ?5, log_url = ?7";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, w->id);
  store_bind_text(s, 2, w->host);
  store_bind_text(s, 3, w->queues);
  store_bind_text(s, 4, w->task_types);
  store_bind_int64(s, 5, w->concurrency);
  store_bind_int64(s, 6, now);
  store_bind_text(s, 7, w->log_url);
  return store_step_done(st, s, "register worker");
}

int dag_store_worker_heartbeat(dag_store *st, const char *id, int running, dag_time_t now) {
  static const char sql[] =
      "UPDATE worker SET last_heartbeat = ?1, running = ?2 WHERE id = ?3 AND state = 'active'"
      " RETURNING 1";
  static const char exists[] = "SELECT 1 FROM worker WHERE id = ?";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_int64(s, 2, running);
  store_bind_text(s, 3, id);
  int rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  if (rc != STORE_DONE) return store_fail(st, "worker heartbeat");
  if (!(s = store_stmt(st, exists))) return DAG_ESTORE;
  store_bind_text(s, 1, id);
  rc = store_step(s);
  store_reset(s);
  if (rc == STORE_ROW) return DAG_ECLAIM;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "worker heartbeat");
}

int dag_store_worker_stopped(dag_store *st, const char *id, dag_time_t now) {
  static const char sql[] =
      "UPDATE worker SET state = 'stopped', running = 0, last_heartbeat = ?1"
      " WHERE id = ?2 AND state = 'active'";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_text(s, 2, id);
  return store_step_done(st, s, "worker stopped");
}

int dag_store_reap_workers(dag_store *st, dag_time_t now, int64_t timeout_us, size_t *workers,
                           size_t *tries) {
  static const char gone[] =
      "UPDATE worker SET state = 'gone', running = 0"
      " WHERE state = 'active' AND last_heartbeat < ?1 RETURNING id";
  /* The lost reason names the worker; the token goes, so nothing the
   * worker writes later matches. */
  static const char take[] =
      "UPDATE task_claim SET state = 'done', token = NULL, ended_at = ?1, exit_status = -1,"
      " term_signal = 0, timed_out = 0,"
      " lost = 'its worker ' || worker_id || ' stopped heartbeating (core.worker_timeout)'"
      " WHERE worker_id = ?2 AND state = 'running'";
  *workers = *tries = 0;
  int rc = dag_store_begin(st);
  if (rc) return rc;
  char **ids = NULL;
  size_t n = 0, cap = 0;
  struct store_stmt *s = store_stmt(st, gone);
  if (!s) goto fail;
  store_bind_int64(s, 1, now - timeout_us);
  int step;
  while ((step = store_step(s)) == STORE_ROW) {
    ids = xgrow(ids, &cap, n + 1, sizeof(*ids));
    ids[n++] = store_col_text(s, 0);
  }
  store_reset(s);
  if (step != STORE_DONE) {
    rc = store_fail(st, "reap workers");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (!(s = store_stmt(st, take))) goto fail;
    store_bind_int64(s, 1, now);
    store_bind_text(s, 2, ids[i]);
    if ((rc = store_step_done(st, s, "take back tries")) != 0) goto fail;
    *tries += (size_t)store_changes(st);
  }
  /* The tries' runs may be another scheduler's. */
  if (*tries) store_notify(st, DAG_STORE_WAKE_SCHEDULERS);
  if ((rc = dag_store_commit(st)) != 0) goto out;
  *workers = n;
  goto out;
fail:
  dag_store_rollback(st);
  if (!rc) rc = DAG_ESTORE;
  *tries = 0;
out:
  for (size_t i = 0; i < n; i++) free(ids[i]);
  free(ids);
  return rc;
}

int dag_store_list_workers(dag_store *st, struct dag_store_worker **out, size_t *n) {
  static const char sql[] =
      "SELECT id, host, queues, task_types, concurrency, running, state, started_at,"
      " last_heartbeat, log_url FROM worker ORDER BY state <> 'active', id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_worker *w = &(*out)[(*n)++];
    w->id = store_col_text(s, 0);
    w->host = store_col_text(s, 1);
    w->queues = store_col_text(s, 2);
    w->task_types = store_col_text(s, 3);
    w->concurrency = (int)store_col_int(s, 4);
    w->running = (int)store_col_int(s, 5);
    w->state = store_col_text(s, 6);
    w->started_at = store_col_int(s, 7);
    w->last_heartbeat = store_col_int(s, 8);
    w->log_url = store_col_text(s, 9);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list workers");
}

void dag_store_workers_free(struct dag_store_worker *w, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(w[i].id);
    free(w[i].host);
    free(w[i].queues);
    free(w[i].task_types);
    free(w[i].state);
    free(w[i].log_url);
  }
  free(w);
}

int dag_store_worker_log_url(dag_store *st, const char *id, char **url) {
  static const char sql[] = "SELECT log_url FROM worker WHERE id = ?";
  *url = NULL;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, id);
  int rc = store_step(s);
  if (rc == STORE_ROW) *url = store_col_text(s, 0);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, "worker log url");
}
