/* sched_int.h - the scheduler's internal structures, shared by scheduler.c
 * (DAGs, timers, events), sched_run.c (the run state machine) and
 * sched_task.c (turning a task into a process). Not public. */
#ifndef DAG_SCHED_INT_H
#define DAG_SCHED_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "executor.h"
#include "scheduler.h"

/* A loaded DAG definition, shared by the DAG entry and the runs that were
 * started with it: a run keeps the definition it started with even when the
 * file changes under it. */
struct dag_ref {
  struct dag *dag;
  int refs;
};

struct dag_ref *dag_ref_new(struct dag *dag);
struct dag_ref *dag_ref_get(struct dag_ref *r);
void dag_ref_put(struct dag_ref *r);

struct sched_run;

struct sched_dag {
  struct dag_scheduler *s;
  char *dag_id;
  struct dag_ref *ref; /* current definition; NULL while the file is missing or broken */
  char *file;
  bool paused;
  bool timer_armed;
  uv_timer_t timer; /* next scheduled run */
  bool has_last;    /* `last` holds the latest scheduled run's interval */
  struct dag_interval last;
  struct sched_run *runs; /* active runs (queued or running), oldest first */
  struct sched_run *runs_tail;
  int running_runs;
  int running_tasks;
  bool closing;
};

struct sched_retry {
  uv_timer_t timer;
  struct sched_ti *ti; /* NULL once the task instance is gone */
};

struct sched_orphan;
struct sched_ready;

struct sched_ti {
  struct sched_run *run;
  size_t idx; /* in run->ref->dag->tasks */
  enum dag_task_state state;
  bool absent;  /* no task instance row: not part of this run */
  bool queued;  /* in the run's ready queue */
  struct sched_orphan *orphan; /* a previous scheduler's process being stopped */
  int try_number;
  int max_tries;
  struct dag_upstream_counts up;
  struct dag_proc *proc;
  struct sched_retry *retry;
  dag_time_t start_date;
  /* Plugin tasks. */
  struct sched_ready *ready;  /* the pipe a service's readiness arrives on */
  dag_time_t sensor_started;  /* first poke of a rescheduling sensor */
  bool service;               /* its try succeeded; its process runs on */
  bool service_ended;         /* ... and has exited, with service_status */
  int service_status;
  bool has_stop_waiter;       /* a stop_service task waits for this service */
  size_t stop_waiter;
};

struct sched_run {
  struct sched_dag *sd;
  struct dag_ref *ref;
  int64_t pk;
  char *run_id;
  bool is_test;
  enum dag_run_state state;
  dag_time_t logical_date;
  dag_time_t interval_start;
  dag_time_t interval_end;
  json_t *conf;
  struct sched_ti *tis;
  size_t n_tis;
  size_t unfinished; /* task instances not finished (absent ones excluded) */
  size_t live;       /* processes and orphans still to be reaped */
  /* FIFO of task indexes ready to start (a ring buffer). */
  size_t *ready;
  size_t ready_head, ready_len, ready_cap;
  struct sched_run *next, *prev;             /* in sd->runs */
  struct sched_run *ready_next, *ready_prev; /* in s->ready_runs */
  bool in_ready_list;
  bool done; /* finished, waiting for its last handles */
};

struct sched_file {
  char *path;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  char *dag_id; /* the DAG it defines, NULL if broken */
  char *conflict; /* the dag_id another file defined first, if that is why it failed */
  bool seen;    /* found by the current scan */
};

struct dag_scheduler {
  uv_loop_t *loop;
  const struct dag_config *cfg;
  dag_store *store;
  bool service; /* dagctl scheduler, as opposed to dagctl test */
  bool stopping;
  bool store_failed; /* stopped because the store failed: exit non-zero */

  struct sched_dag **dags;
  size_t n_dags, cap_dags;
  struct sched_file *files;
  size_t n_files, cap_files;

  struct sched_run *ready_runs; /* runs with tasks waiting for a slot */
  struct sched_run *ready_tail;
  int running_tasks;
  int ready_tasks;
  int active_runs;

  uv_fs_event_t dags_watch;
  uv_fs_event_t wake_watch;
  uv_timer_t rescan_timer; /* debounces DAG folder events */
  uv_timer_t poll_timer;   /* fallback when file events are unavailable */
  bool dags_watch_on, wake_watch_on;
  int open_handles;

  struct dag_scheduler_listener listener;
  void (*one_done)(void *ctx, enum dag_run_state state);
  void *one_ctx;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;

  /* Follow-ups deferred until the current transaction commits. */
  struct sched_dag **resched; /* DAGs whose run finished */
  size_t n_resched, cap_resched;
  bool one_finished; /* foreground mode: the run ended with one_state */
  enum dag_run_state one_state;
  bool in_dispatch;

  /* At start-up only: task processes found alive, by DAGCTL_TRY_ID. */
  struct dag_try_proc *try_procs;
  size_t n_try_procs;

  char *home_id;   /* the database's random id, in every DAGCTL_TRY_ID */
  char **base_env; /* the scheduler's environment, for tasks */
  char *self_exe;  /* this dagctl binary, which runs plugin tasks */
  struct dag_kafka_embed *kafka; /* the embedded Kafka cluster, once hosted */
  char *kafka_bootstraps; /* its address, for plugin tasks */
  uint64_t tasks_started, tasks_finished;
};

/* scheduler.c */
void sched_need_kafka(struct dag_scheduler *s, const struct dag *dag);
struct sched_dag *sched_find_dag(struct dag_scheduler *s, const char *dag_id);
void sched_dag_schedule(struct sched_dag *sd);
void sched_handle_closed(uv_handle_t *h);
void sched_maybe_closed(struct dag_scheduler *s);

/* sched_run.c */
int sched_run_load(struct dag_scheduler *s, struct sched_dag *sd, struct dag_ref *ref,
                   int64_t pk);
void sched_run_reload(struct sched_run *r);
int sched_run_load_active(struct sched_dag *sd);
struct sched_run *sched_find_run(struct dag_scheduler *s, int64_t pk);
void sched_start_queued_runs(struct sched_dag *sd);
void sched_dispatch(struct dag_scheduler *s);
void sched_run_terminate_all(struct dag_scheduler *s);
void sched_run_free(struct sched_run *r);
void sched_on_task_exit(struct dag_proc *p, int64_t status, int sig, bool timed_out);
void sched_service_ready(struct sched_ti *ti);

/* sched_task.c */
/* Exit codes of `dagctl __task` beyond 0 and 1 (see cli/cmd_task.c). */
#define SCHED_EXIT_NOT_YET 100
#define SCHED_EXIT_SKIP 101
int sched_task_spawn(struct sched_ti *ti, char **err);
void sched_task_close_ready(struct sched_ti *ti);
char *sched_log_rel_path(const struct sched_ti *ti, int try_number);
/* DAGCTL_TRY_ID of a try: "<home id>:<run pk>:<try>:<task>". Caller frees. */
char *sched_try_id(const struct sched_ti *ti, int try_number);
void sched_log_append(struct dag_scheduler *s, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
