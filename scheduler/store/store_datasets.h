/* store_datasets.h - datasets and their events (migration 0018_datasets),
 * Airflow 2.10's model: a task's success records an event on each dataset
 * in its outlets, in the transaction of that success, and queues the
 * dataset for each DAG it schedules; a DAG gets a dataset-triggered run
 * once every dataset of its schedule is queued, and that run takes the
 * queue's rows. */
#ifndef DAG_STORE_DATASETS_H
#define DAG_STORE_DATASETS_H

#include "dag.h"
#include "store.h"

/* Rewrite which datasets `dag` is scheduled on and which of its tasks
 * update which, creating the datasets it names. Part of the caller's
 * transaction if one is open. */
int dag_store_dataset_sync_refs(dag_store *st, const struct dag *dag, dag_time_t now);

/* Record an update of `uri` by the try of task_id in run_id of dag_id
 * (strings borrowed), and queue it for every DAG scheduled on it. Part of
 * the caller's transaction (the task's success). *queued (may be NULL)
 * gets how many DAGs it was queued for now. */
int dag_store_dataset_event(dag_store *st, const char *uri, const char *dag_id,
                            const char *task_id, const char *run_id, dag_time_t now,
                            int *queued);

/* What dag_store_dataset_claim() took. */
struct dag_store_dataset_claim {
  bool ready;        /* every dataset was queued: the rows are deleted */
  dag_time_t first;  /* the oldest queued update: the run's data interval start */
  dag_time_t last;   /* the newest */
  int64_t *ids;      /* the datasets (owned; free with dag_store_dataset_claim_free) */
  dag_time_t *since; /* ... and when each was first queued */
  size_t n;
};

/* Inside the caller's transaction: if every one of `uris` (n of them) is
 * queued for dag_id, delete those rows and say so (out->ready). The rows
 * are locked first (PostgreSQL: FOR UPDATE), so of two schedulers claiming
 * at once one gets them and the other finds them gone: one run per
 * satisfied set. */
int dag_store_dataset_claim(dag_store *st, const char *dag_id, char *const *uris, size_t n,
                            struct dag_store_dataset_claim *out);
/* Link the run `run_pk` created for a claim to the events it consumed:
 * each claimed dataset's events since it was queued. */
int dag_store_dataset_link_run(dag_store *st, int64_t run_pk,
                               const struct dag_store_dataset_claim *c);
void dag_store_dataset_claim_free(struct dag_store_dataset_claim *c);

struct dag_store_dataset_ref {
  char *dag_id;
  char *task_id; /* producers only */
  dag_time_t created_at, updated_at;
};

struct dag_store_dataset {
  int64_t id;
  char *uri;
  char *extra; /* JSON */
  dag_time_t created_at, updated_at;
  dag_time_t last_event; /* 0: never updated */
  int64_t n_events;
  struct dag_store_dataset_ref *consumers, *producers;
  size_t n_consumers, n_producers;
};

/* Every dataset by URI (`uri` non-NULL: that one only; none: *n = 0), with
 * its consumers and producers. Caller frees with dag_store_datasets_free(). */
int dag_store_list_datasets(dag_store *st, const char *uri, struct dag_store_dataset **out,
                            size_t *n);
void dag_store_datasets_free(struct dag_store_dataset *d, size_t n);

struct dag_store_dataset_run {
  char *dag_id, *run_id, *state;
  dag_time_t logical_date, start_date, end_date, interval_start, interval_end;
};

struct dag_store_dataset_event {
  int64_t id;
  int64_t dataset_id;
  char *uri;
  char *extra;
  char *source_dag_id, *source_task_id, *source_run_id; /* NULL when unknown */
  int64_t source_map_index;
  dag_time_t timestamp;
  struct dag_store_dataset_run *runs; /* the runs it triggered */
  size_t n_runs;
};

/* Filters of dag_store_list_dataset_events(); NULL/0: any. */
struct dag_store_dataset_event_filter {
  int64_t dataset_id;
  const char *source_dag_id, *source_task_id, *source_run_id;
  bool newest_first;
  int64_t limit, offset; /* limit 0: all */
};

/* Events oldest first (or newest), with *total matching in all. Caller
 * frees with dag_store_dataset_events_free(). */
int dag_store_list_dataset_events(dag_store *st, const struct dag_store_dataset_event_filter *f,
                                  struct dag_store_dataset_event **out, size_t *n,
                                  int64_t *total);
void dag_store_dataset_events_free(struct dag_store_dataset_event *e, size_t n);

#endif
