/* store_datasets.c - datasets, their events and the consumers' queue
 * (store_datasets.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_datasets.h"
#include "store_int.h"

/* The dataset named `uri`, created if new: its id in *id. */
static int dataset_id(dag_store *st, const char *uri, dag_time_t now, int64_t *id) {
  static const char ins[] =
      "INSERT INTO dataset (uri, created_at, updated_at) VALUES (?1, ?2, ?2)"
      " ON CONFLICT (uri) DO NOTHING";
  static const char sel[] = "SELECT id FROM dataset WHERE uri = ?";
  struct store_stmt *s = store_stmt(st, ins);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, uri);
  store_bind_int64(s, 2, now);
  int rc = store_step_done(st, s, "add dataset");
  if (rc) return rc;
  if (!(s = store_stmt(st, sel))) return DAG_ESTORE;
  store_bind_text(s, 1, uri);
  rc = store_step(s);
  if (rc == STORE_ROW) *id = store_col_int(s, 0);
  store_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "find dataset");
}

int dag_store_dataset_sync_refs(dag_store *st, const struct dag *dag, dag_time_t now) {
  static const char up_sched[] =
      "INSERT INTO dag_schedule_dataset_reference (dataset_id, dag_id, created_at, updated_at)"
      " VALUES (?1, ?2, ?3, ?3) ON CONFLICT (dataset_id, dag_id) DO UPDATE SET updated_at = ?3";
  static const char up_task[] =
      "INSERT INTO task_outlet_dataset_reference (dataset_id, dag_id, task_id, created_at,"
      " updated_at) VALUES (?1, ?2, ?3, ?4, ?4)"
      " ON CONFLICT (dataset_id, dag_id, task_id) DO UPDATE SET updated_at = ?4";
  /* What this load did not name is gone from the file. */
  static const char del_sched[] =
      "DELETE FROM dag_schedule_dataset_reference WHERE dag_id = ? AND updated_at <> ?";
  static const char del_task[] =
      "DELETE FROM task_outlet_dataset_reference WHERE dag_id = ? AND updated_at <> ?";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  for (size_t i = 0; rc == 0 && i < dag->schedule.n_datasets; i++) {
    int64_t id = 0;
    if ((rc = dataset_id(st, dag->schedule.datasets[i], now, &id)) != 0) break;
    struct store_stmt *s = store_stmt(st, up_sched);
    if (!s) {
      rc = DAG_ESTORE;
      break;
    }
    store_bind_int64(s, 1, id);
    store_bind_text(s, 2, dag->dag_id);
    store_bind_int64(s, 3, now);
    rc = store_step_done(st, s, "dataset schedule reference");
  }
  for (size_t t = 0; rc == 0 && t < dag->n_tasks; t++) {
    const struct dag_task *task = &dag->tasks[t];
    for (size_t i = 0; rc == 0 && i < task->n_outlets; i++) {
      int64_t id = 0;
      if ((rc = dataset_id(st, task->outlets[i], now, &id)) != 0) break;
      struct store_stmt *s = store_stmt(st, up_task);
      if (!s) {
        rc = DAG_ESTORE;
        break;
      }
      store_bind_int64(s, 1, id);
      store_bind_text(s, 2, dag->dag_id);
      store_bind_text(s, 3, task->id);
      store_bind_int64(s, 4, now);
      rc = store_step_done(st, s, "dataset outlet reference");
    }
  }
  const char *dels[] = {del_sched, del_task};
  for (size_t i = 0; rc == 0 && i < 2; i++) {
    struct store_stmt *s = store_stmt(st, dels[i]);
    if (!s) {
      rc = DAG_ESTORE;
      break;
    }
    store_bind_text(s, 1, dag->dag_id);
    store_bind_int64(s, 2, now);
    rc = store_step_done(st, s, "dataset references");
  }
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  return dag_store_commit(st);
}

int dag_store_dataset_event(dag_store *st, const char *uri, const char *dag_id,
                            const char *task_id, const char *run_id, dag_time_t now,
                            int *queued) {
  static const char ev[] =
      "INSERT INTO dataset_event (dataset_id, source_dag_id, source_task_id, source_run_id,"
      " timestamp) VALUES (?, ?, ?, ?, ?)";
  /* The first update since the consumer's last dataset-triggered run
   * queues it; later ones find the row there. */
  static const char queue[] =
      "INSERT INTO dataset_dag_run_queue (dataset_id, target_dag_id, created_at)"
      " SELECT dataset_id, dag_id, CAST(?2 AS BIGINT) FROM dag_schedule_dataset_reference WHERE dataset_id = ?1"
      " ON CONFLICT (dataset_id, target_dag_id) DO NOTHING";
  if (queued) *queued = 0;
  int64_t id = 0;
  int rc = dataset_id(st, uri, now, &id);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, ev);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  store_bind_text(s, 2, dag_id);
  store_bind_text(s, 3, task_id);
  store_bind_text(s, 4, run_id);
  store_bind_int64(s, 5, now);
  if ((rc = store_step_done(st, s, "dataset event")) != 0) return rc;
  if (!(s = store_stmt(st, queue))) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  store_bind_int64(s, 2, now);
  if ((rc = store_step_done(st, s, "dataset queue")) != 0) return rc;
  if (queued) *queued = (int)store_changes(st);
  return 0;
}

void dag_store_dataset_claim_free(struct dag_store_dataset_claim *c) {
  free(c->ids);
  free(c->since);
  memset(c, 0, sizeof(*c));
}

int dag_store_dataset_claim(dag_store *st, const char *dag_id, char *const *uris, size_t n,
                            struct dag_store_dataset_claim *out) {
  static const char sel[] =
      "SELECT d.uri, q.dataset_id, q.created_at FROM dataset_dag_run_queue q"
      " JOIN dataset d ON d.id = q.dataset_id WHERE q.target_dag_id = ?";
  /* Locked until the caller's transaction ends: a second scheduler's
   * claim waits, then finds the rows gone. */
  static const char sel_pg[] =
      "SELECT d.uri, q.dataset_id, q.created_at FROM dataset_dag_run_queue q"
      " JOIN dataset d ON d.id = q.dataset_id WHERE q.target_dag_id = ? FOR UPDATE OF q";
  static const char del[] =
      "DELETE FROM dataset_dag_run_queue WHERE target_dag_id = ? AND dataset_id = ?";
  memset(out, 0, sizeof(*out));
  if (n == 0) return 0;
  struct store_stmt *s = store_stmt2(st, sel, sel_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  out->ids = xcalloc(n, sizeof(*out->ids));
  out->since = xcalloc(n, sizeof(*out->since));
  bool *found = xcalloc(n, sizeof(*found));
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    const char *uri = store_col_cstr(s, 0);
    for (size_t i = 0; uri && i < n; i++) {
      if (found[i] || strcmp(uris[i], uri) != 0) continue;
      found[i] = true;
      out->ids[out->n] = store_col_int(s, 1);
      out->since[out->n] = store_col_int(s, 2);
      out->n++;
      break;
    }
  }
  store_reset(s);
  free(found);
  if (rc != STORE_DONE) {
    dag_store_dataset_claim_free(out);
    return store_fail(st, "dataset claim");
  }
  if (out->n < n) {
    /* Not every dataset updated yet: the rows stay for a later claim. */
    dag_store_dataset_claim_free(out);
    return 0;
  }
  for (size_t i = 0; i < out->n; i++) {
    if (!(s = store_stmt(st, del))) {
      dag_store_dataset_claim_free(out);
      return DAG_ESTORE;
    }
    store_bind_text(s, 1, dag_id);
    store_bind_int64(s, 2, out->ids[i]);
    if ((rc = store_step_done(st, s, "dataset claim")) != 0) {
      dag_store_dataset_claim_free(out);
      return rc;
    }
    if (i == 0 || out->since[i] < out->first) out->first = out->since[i];
    if (out->since[i] > out->last) out->last = out->since[i];
  }
  out->ready = true;
  return 0;
}

int dag_store_dataset_link_run(dag_store *st, int64_t run_pk,
                               const struct dag_store_dataset_claim *c) {
  static const char sql[] =
      "INSERT INTO dagrun_dataset_event (dag_run_id, event_id)"
      " SELECT CAST(?1 AS BIGINT), id FROM dataset_event WHERE dataset_id = ?2 AND timestamp >= ?3"
      " ON CONFLICT (dag_run_id, event_id) DO NOTHING";
  for (size_t i = 0; i < c->n; i++) {
    struct store_stmt *s = store_stmt(st, sql);
    if (!s) return DAG_ESTORE;
    store_bind_int64(s, 1, run_pk);
    store_bind_int64(s, 2, c->ids[i]);
    store_bind_int64(s, 3, c->since[i]);
    int rc = store_step_done(st, s, "dataset run link");
    if (rc) return rc;
  }
  return 0;
}

/* --- reading ---------------------------------------------------------------- */

static int read_refs(dag_store *st, const char *sql, int64_t id, bool tasks,
                     struct dag_store_dataset_ref **out, size_t *n) {
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, id);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_dataset_ref *r = &(*out)[(*n)++];
    r->dag_id = store_col_text(s, 0);
    r->task_id = tasks ? store_col_text(s, 3) : NULL;
    r->created_at = store_col_int(s, 1);
    r->updated_at = store_col_int(s, 2);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "dataset references");
}

int dag_store_list_datasets(dag_store *st, const char *uri, struct dag_store_dataset **out,
                            size_t *n) {
  static const char sql[] =
      "SELECT d.id, d.uri, d.extra, d.created_at, d.updated_at,"
      " (SELECT max(e.timestamp) FROM dataset_event e WHERE e.dataset_id = d.id),"
      " (SELECT count(*) FROM dataset_event e WHERE e.dataset_id = d.id)"
      " FROM dataset d WHERE (?1 IS NULL OR d.uri = ?1) ORDER BY d.uri";
  static const char sql_pg[] =
      "SELECT d.id, d.uri, d.extra, d.created_at, d.updated_at,"
      " (SELECT max(e.timestamp) FROM dataset_event e WHERE e.dataset_id = d.id),"
      " (SELECT count(*) FROM dataset_event e WHERE e.dataset_id = d.id)"
      " FROM dataset d WHERE (?1::text IS NULL OR d.uri = ?1) ORDER BY d.uri";
  static const char consumers[] =
      "SELECT dag_id, created_at, updated_at FROM dag_schedule_dataset_reference"
      " WHERE dataset_id = ? ORDER BY dag_id";
  static const char producers[] =
      "SELECT dag_id, created_at, updated_at, task_id FROM task_outlet_dataset_reference"
      " WHERE dataset_id = ? ORDER BY dag_id, task_id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, uri);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_dataset *d = &(*out)[(*n)++];
    memset(d, 0, sizeof(*d));
    d->id = store_col_int(s, 0);
    d->uri = store_col_text(s, 1);
    d->extra = store_col_text(s, 2);
    d->created_at = store_col_int(s, 3);
    d->updated_at = store_col_int(s, 4);
    d->last_event = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
    d->n_events = store_col_int(s, 6);
  }
  store_reset(s);
  if (rc != STORE_DONE) rc = store_fail(st, "list datasets");
  else rc = 0;
  for (size_t i = 0; rc == 0 && i < *n; i++) {
    struct dag_store_dataset *d = &(*out)[i];
    rc = read_refs(st, consumers, d->id, false, &d->consumers, &d->n_consumers);
    if (rc == 0) rc = read_refs(st, producers, d->id, true, &d->producers, &d->n_producers);
  }
  if (rc) {
    dag_store_datasets_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

static void refs_free(struct dag_store_dataset_ref *r, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(r[i].dag_id);
    free(r[i].task_id);
  }
  free(r);
}

void dag_store_datasets_free(struct dag_store_dataset *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(d[i].uri);
    free(d[i].extra);
    refs_free(d[i].consumers, d[i].n_consumers);
    refs_free(d[i].producers, d[i].n_producers);
  }
  free(d);
}

#define EVENT_WHERE(T)                                                                      \
  " FROM dataset_event e JOIN dataset d ON d.id = e.dataset_id"                              \
  " WHERE (?1 = 0 OR e.dataset_id = ?1) AND (?2" T " IS NULL OR e.source_dag_id = ?2)"     \
  " AND (?3" T " IS NULL OR e.source_task_id = ?3) AND (?4" T " IS NULL OR e.source_run_id = ?4)"

int dag_store_list_dataset_events(dag_store *st, const struct dag_store_dataset_event_filter *f,
                                  struct dag_store_dataset_event **out, size_t *n,
                                  int64_t *total) {
  static const char count[] = "SELECT count(*)" EVENT_WHERE("");
  static const char count_pg[] = "SELECT count(*)" EVENT_WHERE("::text");
  static const char list[] =
      "SELECT e.id, e.dataset_id, d.uri, e.extra, e.source_dag_id, e.source_task_id,"
      " e.source_run_id, e.source_map_index, e.timestamp" EVENT_WHERE("")
      " ORDER BY CASE WHEN ?5 = 1 THEN -e.id ELSE e.id END LIMIT ?6 OFFSET ?7";
  static const char list_pg[] =
      "SELECT e.id, e.dataset_id, d.uri, e.extra, e.source_dag_id, e.source_task_id,"
      " e.source_run_id, e.source_map_index, e.timestamp" EVENT_WHERE("::text")
      " ORDER BY CASE WHEN ?5 = 1 THEN -e.id ELSE e.id END LIMIT ?6 OFFSET ?7";
  static const char runs[] =
      "SELECT r.dag_id, r.run_id, r.state, r.logical_date, r.start_date, r.end_date,"
      " r.data_interval_start, r.data_interval_end FROM dagrun_dataset_event l"
      " JOIN dag_run r ON r.id = l.dag_run_id WHERE l.event_id = ? ORDER BY r.id";
  *out = NULL;
  *n = 0;
  *total = 0;
  const char *text[3] = {f->source_dag_id, f->source_task_id, f->source_run_id};
  struct store_stmt *s = store_stmt2(st, count, count_pg);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, f->dataset_id);
  for (int i = 0; i < 3; i++) store_bind_text(s, i + 2, text[i]);
  int rc = store_step(s);
  if (rc == STORE_ROW) *total = store_col_int(s, 0);
  store_reset(s);
  if (rc != STORE_ROW) return store_fail(st, "count dataset events");
  if (!(s = store_stmt2(st, list, list_pg))) return DAG_ESTORE;
  store_bind_int64(s, 1, f->dataset_id);
  for (int i = 0; i < 3; i++) store_bind_text(s, i + 2, text[i]);
  store_bind_int64(s, 5, f->newest_first ? 1 : 0);
  store_bind_int64(s, 6, f->limit > 0 ? f->limit : INT64_MAX);
  store_bind_int64(s, 7, f->offset > 0 ? f->offset : 0);
  size_t cap = 0;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    struct dag_store_dataset_event *e = &(*out)[(*n)++];
    memset(e, 0, sizeof(*e));
    e->id = store_col_int(s, 0);
    e->dataset_id = store_col_int(s, 1);
    e->uri = store_col_text(s, 2);
    e->extra = store_col_text(s, 3);
    e->source_dag_id = store_col_text(s, 4);
    e->source_task_id = store_col_text(s, 5);
    e->source_run_id = store_col_text(s, 6);
    e->source_map_index = store_col_int(s, 7);
    e->timestamp = store_col_int(s, 8);
  }
  store_reset(s);
  rc = rc == STORE_DONE ? 0 : store_fail(st, "list dataset events");
  for (size_t i = 0; rc == 0 && i < *n; i++) {
    struct dag_store_dataset_event *e = &(*out)[i];
    if (!(s = store_stmt(st, runs))) {
      rc = DAG_ESTORE;
      break;
    }
    store_bind_int64(s, 1, e->id);
    size_t rcap = 0;
    while ((rc = store_step(s)) == STORE_ROW) {
      e->runs = xgrow(e->runs, &rcap, e->n_runs + 1, sizeof(*e->runs));
      struct dag_store_dataset_run *r = &e->runs[e->n_runs++];
      r->dag_id = store_col_text(s, 0);
      r->run_id = store_col_text(s, 1);
      r->state = store_col_text(s, 2);
      r->logical_date = store_col_int(s, 3);
      r->start_date = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
      r->end_date = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
      r->interval_start = store_col_int(s, 6);
      r->interval_end = store_col_int(s, 7);
    }
    store_reset(s);
    rc = rc == STORE_DONE ? 0 : store_fail(st, "dataset event runs");
  }
  if (rc) {
    dag_store_dataset_events_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

void dag_store_dataset_events_free(struct dag_store_dataset_event *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(e[i].uri);
    free(e[i].extra);
    free(e[i].source_dag_id);
    free(e[i].source_task_id);
    free(e[i].source_run_id);
    for (size_t j = 0; j < e[i].n_runs; j++) {
      free(e[i].runs[j].dag_id);
      free(e[i].runs[j].run_id);
      free(e[i].runs[j].state);
    }
    free(e[i].runs);
  }
  free(e);
}
