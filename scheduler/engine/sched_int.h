/* sched_int.h - the scheduler's internal structures, shared by scheduler.c
 * (DAGs, timers, events), sched_run.c (the run state machine) and
 * sched_task.c (turning a task into a process). Not public. */
#ifndef DAG_SCHED_INT_H
#define DAG_SCHED_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "executor.h"
#include "scheduler.h"
#include "strmap.h"

/* A loaded DAG definition, shared by the DAG entry and the runs that were
 * started with it: a run keeps the definition it started with even when the
 * file changes under it. */
struct dag_ref {
  struct dag *dag;
  int64_t version_id; /* its stored version (dag_store_put_version); 0: none */
  int refs;
  int32_t *weights; /* each task's effective priority weight (sched_pool.c); NULL: not yet */
};

struct dag_ref *dag_ref_new(struct dag *dag);
struct dag_ref *dag_ref_get(struct dag_ref *r);
void dag_ref_put(struct dag_ref *r);
/* The definition stored as version `version_id`, for a run created with a
 * content the file no longer has (caller puts *out). DAG_ENOTFOUND, a
 * store error, or DAG_EINVAL for a version that does not deserialize. */
int dag_ref_from_version(dag_store *store, int64_t version_id, struct dag_ref **out);

struct sched_run;
struct sched_ti;
struct sched_callback_spec;

/* The process spawner and the clock, replaceable so that tests can drive
 * the run state machine without processes or waiting. The spawner has the
 * contract of dag_proc_spawn(), dag_proc_terminate() and dag_proc_release()
 * (executor.h). */
struct sched_ops {
  int (*spawn)(uv_loop_t *loop, const struct dag_proc_spec *spec, dag_proc_exit_cb exit_cb,
               void *data, struct dag_proc **out);
  /* dag_proc_start(): hand the try over once it is recorded; NULL: the
   * spawner started it. */
  int (*start)(struct dag_proc *p);
  void (*terminate)(struct dag_proc *p);
  /* dag_proc_release(): leave a running try to its supervisor when the
   * scheduler stops; NULL: terminate it instead. */
  void (*release)(struct dag_proc *p);
  dag_time_t (*now)(void *ctx); /* wall clock, UTC microseconds */
  /* Run a callback (sched_callback.c): 0 once it is started, or why not.
   * NULL: a process of its own, watched on the loop. */
  int (*callback)(void *ctx, const struct sched_callback_spec *spec);
  void *ctx;
};

/* Work for the loop. Every event that changes state (a task's end, a
 * trigger, a timer, a folder change) and every follow-up of a committed
 * change (the next queued run, a finished foreground run) is one item,
 * run in arrival order by sched_dispatch() until none is left. An item
 * whose transaction cannot begin because another process holds the
 * database stays first in the queue, untouched, and is run again from a
 * timer: nothing is lost and nothing is half done. */
enum sched_work_kind {
  SCHED_WORK_STARTUP,       /* service mode: load the folder, recover runs */
  SCHED_WORK_RESCAN,        /* the DAG folder changed */
  SCHED_WORK_EVENTS,        /* changes from other processes (triggers...) */
  SCHED_WORK_SCHEDULE,      /* sd: create due scheduled runs, arm its timer */
  SCHED_WORK_START_RUNS,    /* sd: start queued runs max_active_runs allows */
  SCHED_WORK_LOAD_RUN,      /* sd, pk: foreground mode's one run */
  SCHED_WORK_TASK_EXIT,     /* ti's process ended with status/sig */
  SCHED_WORK_SERVICE_READY, /* ti's service said it is up */
  SCHED_WORK_ONE_DONE,      /* foreground mode: the run ended with `state` */
  SCHED_WORK_REAP,          /* workers mode: take back the tries of silent workers */
  SCHED_WORK_RUN_TIMEOUT,   /* pk: run pk's dagrun_timeout timer fired */
  SCHED_WORK_DEADLINE,      /* the timer of the nearest deadline fired */
};

struct sched_work {
  struct sched_work *next;
  enum sched_work_kind kind;
  struct sched_dag *sd;
  struct sched_ti *ti; /* its run stays alive: r->live counts the item */
  int64_t pk;
  int64_t status;
  int sig;
  bool timed_out;
  bool stopping; /* the scheduler was stopping when the process ended */
  bool lost;     /* its supervisor ended without a status (dag_proc.lost) */
  bool unstarted; /* ... before it started the task (dag_proc.unstarted) */
  int64_t claim_id;  /* a worker's try: its claim, marked recorded with its end */
  char *why;         /* owned: why a worker's try ended without an outcome (lost) */
  struct dag_proc_usage usage; /* what the try cost; zero: unknown */
  enum dag_run_state state;
};

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
  unsigned posted; /* kinds queued for this DAG (1 << kind), queued once */
};

struct sched_retry {
  uv_timer_t timer;
  struct sched_ti *ti; /* NULL once the task instance is gone */
};

struct sched_orphan;
struct sched_pool_pass;
struct sched_ready;

struct sched_ti {
  struct sched_run *run;
  size_t idx; /* in run->ref->dag->tasks */
  /* Dynamic task mapping (sched_map.c): a mapped task's entry in run->tis
   * owns its instances once expanded (kids, map_index 0..n_kids-1), and
   * stands for them all: running while they run, then their outcome. */
  int map_index;           /* -1: a task's own entry */
  struct sched_ti *parent; /* a mapped instance's task entry (borrowed); NULL */
  struct sched_ti *kids;   /* owned; NULL until expanded */
  size_t n_kids;
  enum dag_task_state state;
  bool absent;  /* no task instance row: not part of this run */
  bool queued;  /* in the run's ready queue */
  uint64_t ready_ns; /* uv_hrtime() when it last entered the queue */
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
  bool interrupted; /* stopped at recovery: its try ends interrupted, not failed */
  bool on_worker;   /* its try is queued for or run by a worker (sched_queue.c) */
  bool end_posted;  /* ... and the worker's report of its end is a queued work item */
  bool marked;      /* marked by hand while it ran: its try is being stopped (sched_mark.c) */
  uint64_t ready_seq; /* order of entry in the ready queue, among equal weights */
  bool pool_waiting;  /* its pool's slots were short: the wait is logged once */
  int ahead_try;      /* the try whose files sched_ahead.c made or is to make; 0: none */
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
  int64_t backfill_id; /* 0, or its backfill's: outside the DAG's max_active_runs */
  struct sched_ti *tis;
  size_t n_tis;
  size_t unfinished; /* task instances not finished (absent ones excluded) */
  size_t live;       /* processes and orphans still to be reaped */
  /* Task instances ready to start (borrowed): a binary heap, heaviest
   * first, then in order of entry (sched_pool.c; ready_head unused, 0). */
  struct sched_ti **ready;
  size_t ready_head, ready_len, ready_cap;
  struct sched_run *next, *prev;             /* in sd->runs */
  struct sched_run *ready_next, *ready_prev; /* in s->ready_runs */
  bool in_ready_list;
  bool done; /* finished, waiting for its last handles */
  bool deleting; /* deleted by hand: its tasks are being stopped (sched_delete.c) */
  dag_time_t start_date; /* when it started running; 0: not yet */
  struct sched_run_timeout *timeout; /* its dagrun_timeout timer; NULL: none */
  bool timed_out; /* failed by its dagrun_timeout: its tasks are being stopped */
  dag_time_t deadline_at; /* its DAG's deadline, wall clock; see deadline_slot */
  size_t deadline_slot;   /* its index in s->deadlines' heap + 1; 0: not in it */
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

/* sched_metrics.c: ready-to-start waits by DAG and task. */
struct sched_delay_series {
  char *key; /* "DAG\x1fTASK", the index's */
  char *dag_id, *task_id;
  uint64_t counts[DAG_SCHED_DELAY_BUCKETS + 1]; /* cumulative; the last: all */
  double sum;
};
struct sched_delays {
  struct sched_delay_series *v;
  size_t n, cap;
  struct dag_strmap index; /* key -> index in v */
};
/* A ready task's try started `seconds` after it became ready. */
void sched_delay_observe(struct dag_scheduler *s, const char *dag_id, const char *task_id,
                         double seconds);
void sched_delays_free(struct sched_delays *d);

/* sched_deadline.c: the runs whose deadline is still to come, nearest
 * first, and one timer for the nearest. */
struct sched_deadlines {
  struct sched_run **heap; /* borrowed runs, a binary min-heap by deadline_at */
  size_t n, cap;
  uv_timer_t timer;
  bool timer_on; /* initialised and not closed */
};

/* The tries whose files are made ahead (sched_ahead.c): a FIFO of jobs
 * for its thread, each a try's log and status paths (owned). mu guards
 * the queue, busy and quit. */
#define SCHED_AHEAD_MAX 64
struct sched_ahead_job {
  char *log, *status;
};
struct sched_ahead {
  pthread_t thread;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t wake; /* a job, or quit */
  pthread_cond_t idle; /* the queue is empty and no job is being made */
  struct sched_ahead_job jobs[SCHED_AHEAD_MAX];
  size_t head, len;
  bool busy, quit;
};

struct dag_scheduler {
  uv_loop_t *loop;
  const struct dag_config *cfg;
  dag_store *store;
  bool service; /* dagctl scheduler, as opposed to dagctl test */
  bool stopping;
  struct sched_delays delays;
  bool store_failed; /* stopped because the store failed: exit non-zero */
  /* During a scan of the DAG folder, once a file is to load: the folder's
   * DAG ids, for warnings about tasks naming a DAG it does not have. */
  char **folder_ids;
  size_t n_folder_ids;
  bool folder_ids_known;

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
  struct dag_listen *listen; /* PostgreSQL: wake-ups from other processes; NULL */
  int open_handles;

  struct dag_scheduler_listener listener;
  void (*one_done)(void *ctx, enum dag_run_state state);
  void *one_ctx;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;

  struct sched_ops ops;

  /* The work queue (see struct sched_work); owned items, FIFO. */
  struct sched_work *work_head, *work_tail;
  unsigned posted; /* scheduler-wide kinds queued (1 << kind) */
  bool draining;
  /* Waits: the database locked by another process, or no resources to
   * spawn a task (EMFILE, EAGAIN, ENOMEM). Each retries from its timer with
   * a doubling delay and is logged once, at its start and at its end. */
  uv_timer_t store_timer, spawn_timer;
  bool store_waiting, spawn_waiting;
  uint64_t store_wait_since, spawn_wait_since; /* loop ms + 1; 0: not waiting */
  uint64_t store_delay, spawn_delay;
  bool wait_timers_closed;
  bool closed_called;

  /* At start-up only: task processes found alive, by DAGCTL_TRY_ID. */
  struct dag_try_proc *try_procs;
  size_t n_try_procs;

  char *home_id;   /* the database's random id, in every DAGCTL_TRY_ID */
  char **base_env; /* the scheduler's environment, for tasks */
  char *self_exe;  /* this dagctl binary, which runs plugin tasks */
  char *supervisor; /* dagctl-supervise, beside it: every try runs under one */
  struct dag_proc_pool pool; /* the supervisor server, forking tries' supervisors */
  struct dag_kafka_side *kafka; /* the embedded Kafka cluster, once started */
  char *kafka_bootstraps; /* its address, for plugin tasks */
  struct dag_plugin_catalog *plugins; /* what plugins declare, for the loader */
  uint64_t tasks_started, tasks_finished;

  /* core.executor: workers (sched_queue.c). */
  uv_timer_t reap_timer; /* looks for silent workers */
  bool reap_on;
  /* uv_now() before which no one is declared gone: this scheduler has not
   * itself been connected to the store for a whole timeout yet (it just
   * started, or the store failed under it), so another's silence may be
   * the store's, not theirs. */
  uint64_t reap_workers_after, reap_schedulers_after;
  bool queued_new; /* tries were queued: tell the workers once dispatch ends */
  /* Claims already reported as waiting for a worker that none is (owned,
   * the ones still queued; sched_queue.c). */
  int64_t *stranded;
  size_t n_stranded;

  /* A task's end and its downstream's start in one transaction
   * (sched_batch.c): while batching, started tries wait in `handover`
   * (borrowed) for the commit. */
  bool batching;
  struct sched_ti **handover;
  size_t n_handover, cap_handover;

  /* Several schedulers on one database (sched_ha.c): PostgreSQL with
   * core.executor workers. Each drives only the runs it claimed. */
  bool ha;
  char *sched_id;      /* this scheduler's row in the scheduler table */
  int64_t events_seen; /* scheduler_event rows read up to here */
  uv_timer_t ha_timer; /* heartbeat, and looks for silent schedulers */
  bool ha_on;

  struct sched_deadlines deadlines;
  /* Callbacks (sched_callback.c): queued by a state change inside its
   * transaction, started once it has committed; owned. */
  struct sched_cb *cb_pending, *cb_pending_tail;
  int cb_running; /* processes of callbacks not yet reaped */

  /* Pools and priorities (sched_pool.c). */
  uint64_t ready_seq;               /* the last ready_seq handed out */
  struct sched_pool_pass *pool_pass; /* during sched_start_ready() */
  uv_timer_t pool_timer;            /* looks again at tasks waiting for a pool */
  bool pool_timer_closed;

  struct sched_ahead ahead;
};

/* scheduler.c */
void sched_need_kafka(struct dag_scheduler *s, const struct dag *dag);
struct sched_dag *sched_find_dag(struct dag_scheduler *s, const char *dag_id);
void sched_handle_closed(uv_handle_t *h);
void sched_close_handle(struct dag_scheduler *s, uv_handle_t *h);
void sched_maybe_closed(struct dag_scheduler *s);
/* Run one of scheduler.c's work items (STARTUP, RESCAN, EVENTS, SCHEDULE):
 * 0, or DAG_ELOCKED with nothing changed. */
int sched_outer_work(struct dag_scheduler *s, struct sched_work *w);

/* sched_work.c */
/* Queue a copy of `w`; SCHEDULE, START_RUNS, RESCAN and EVENTS are queued
 * at most once at a time. Run it with sched_dispatch(). */
void sched_post(struct dag_scheduler *s, const struct sched_work *w);
void sched_post_dag(struct sched_dag *sd, enum sched_work_kind kind);
/* Run queued work until none is left, then start ready tasks. Called at
 * the end of every libuv callback that posted work; re-entry is a no-op. */
void sched_dispatch(struct dag_scheduler *s);
/* Enter a wait (see dag_scheduler): its timer calls sched_dispatch(). */
void sched_store_wait(struct dag_scheduler *s);
void sched_spawn_wait(struct dag_scheduler *s, int err);
/* A store operation or a spawn succeeded: end that wait's episode. */
void sched_store_ok(struct dag_scheduler *s);
void sched_spawn_ok(struct dag_scheduler *s);
void sched_work_init(struct dag_scheduler *s);
void sched_work_free(struct dag_scheduler *s);
dag_time_t sched_now(const struct dag_scheduler *s);

/* sched_run.c */
/* The store failed for good (not a wait): log it once and stop; the next
 * start recovers from the database. */
void sched_store_broken(struct dag_scheduler *s, const char *what, int rc);
/* End the transaction a handler began: commit if rc is 0, else roll back;
 * a failure stops the scheduler (sched_store_broken). Returns the result. */
int sched_txn_end(struct dag_scheduler *s, int rc, const char *what);
/* Begin a handler's transaction: 0, DAG_ELOCKED (a wait, nothing done),
 * or a failure that has already stopped the scheduler. */
int sched_txn_begin(struct dag_scheduler *s, const char *what);
int sched_run_load(struct dag_scheduler *s, struct sched_dag *sd, struct dag_ref *ref,
                   int64_t pk);
int sched_run_reload(struct sched_run *r);
int sched_run_load_active(struct sched_dag *sd);
struct sched_run *sched_find_run(struct dag_scheduler *s, int64_t pk);
/* Run one of sched_run.c's work items: 0, or DAG_ELOCKED with nothing
 * changed. */
int sched_run_work(struct dag_scheduler *s, struct sched_work *w);
/* Start ready tasks while slots are free and no wait is on. */
void sched_start_ready(struct dag_scheduler *s);

/* sched_dataset.c */
/* Inside the transaction of ti's success: an event on each of its
 * outlets, and the consumers loaded here told to look at their queue. */
int sched_dataset_outlets(struct sched_ti *ti, dag_time_t now);
/* Inside the caller's transaction: a dataset-triggered run of sd if every
 * dataset of its schedule has been updated since its last one. */
int sched_dataset_schedule(struct sched_dag *sd);
/* A schedule of datasets or time, without scheduled runs yet and with
 * catchup off: its time part starts at the next fire time after `now`,
 * as Airflow's CronTriggerTimetable, not with the interval just past
 * (sd->last set to that one). */
void sched_dataset_time_start(struct sched_dag *sd, dag_time_t now);

/* sched_batch.c */
/* Inside the transaction recording `ended`'s end: start the tries that
 * are ready, their hand-overs kept back. */
void sched_batch_start(struct dag_scheduler *s, struct sched_ti *ended);
/* start_task() while batching: hand `ti` over after the commit. */
void sched_batch_defer(struct dag_scheduler *s, struct sched_ti *ti);
/* After the commit (rc its result): hand the kept-back tries over. */
void sched_batch_handover(struct dag_scheduler *s, int rc);
void sched_batch_free(struct dag_scheduler *s);

/* sched_ahead.c: the files of the tries likely to start next */
/* `started`'s try has just been started: note the tries likely to follow. */
void sched_ahead_started(struct sched_ti *started);
/* Wait until every noted try's files are made (before a run's logs are
 * removed; tests). */
void sched_ahead_drain(struct dag_scheduler *s);
void sched_ahead_init(struct dag_scheduler *s);
void sched_ahead_stop(struct dag_scheduler *s); /* ends its thread; again: no-op */
void sched_ahead_free(struct dag_scheduler *s);
void sched_run_terminate_all(struct dag_scheduler *s);
void sched_run_free(struct sched_run *r);
void sched_on_task_exit(struct dag_proc *p, int64_t status, int sig, bool timed_out);
void sched_service_ready(struct sched_ti *ti);

/* sched_queue.c: core.executor workers, the scheduler's side */
/* Whether ti's next try goes to the workers rather than to a process of
 * ours: in service mode with core.executor workers, except services and the
 * tasks that stop them, which need this scheduler (its readiness pipes), and
 * mapped instances (a worker's claim names a task's own instance). */
bool sched_queue_wants(const struct sched_ti *ti);
/* Queue ti's try ti->try_number for the workers (part of the caller's
 * transaction) and count it as running. */
int sched_queue_try(struct sched_ti *ti, dag_time_t now, const char *log_rel);
/* A try of ti found queued or running at load: if a worker holds it, count
 * it as running here and return true. Sets *rc on a store failure. */
bool sched_queue_revive(struct sched_ti *ti, int *rc);
/* Post the ends the workers have reported (part of the caller's
 * transaction). */
int sched_queue_take_ends(struct dag_scheduler *s);
/* Work item SCHED_WORK_REAP: 0 or DAG_ELOCKED. */
int sched_queue_reap_work(struct dag_scheduler *s);
/* Service start / shutdown of the reaper timer; after dispatch, tell the
 * workers about new tries. */
void sched_queue_start(struct dag_scheduler *s);
void sched_queue_stop(struct dag_scheduler *s);
void sched_queue_notify(struct dag_scheduler *s);
/* The file a scheduler touches when it queues tries, for workers on this
 * machine to wake on (DAGCTL_HOME/worker-wakeup). Caller frees. */
char *sched_queue_wake_path(const char *home);

/* sched_ha.c: several schedulers */
/* Register and start heartbeating when the store and executor allow several
 * schedulers (sets s->ha); 0 or the store's error. */
int sched_ha_start(struct dag_scheduler *s);
/* Stop heartbeating and free this scheduler's runs for the others. */
void sched_ha_stop(struct dag_scheduler *s);
/* Whether run `pk` may be driven here: claims it in the caller's
 * transaction. 0 (ours), DAG_ECLAIM (another's) or the store's error. */
int sched_ha_claim_run(struct dag_scheduler *s, int64_t pk);
/* Read the events since the last look without taking them from the
 * others (s->events_seen advances), then take over the runs no scheduler
 * holds. Part of the caller's transaction. */
int sched_ha_events(struct dag_scheduler *s, struct dag_store_event **ev, size_t *n);
int sched_ha_adopt_runs(struct dag_scheduler *s);

/* Small doors into sched_run.c for the files beside it. */
void sched_ti_cancel_retry(struct sched_ti *ti);
void sched_ti_notify(struct sched_ti *ti);
/* The store says run r ended (marked by hand, a cancelled backfill's
 * queued run): let it go; its processes not yet stopped are stopped. */
void sched_run_end_elsewhere(struct sched_run *r, enum dag_run_state state, bool notify);

/* sched_delete.c: runs deleted by hand while active */
/* Stop r's tasks, then delete it (now if none runs). Inside the caller's
 * transaction. */
int sched_delete_run(struct sched_run *r);
/* A process of a run being deleted has ended: if it was the last, delete
 * the run. Inside the caller's transaction. */
int sched_delete_exit(struct sched_ti *ti, const struct sched_work *w);

/* sched_mark.c: task instances marked by hand */
/* ti was marked `state` in the store: take it, stopping its process (or
 * taking its try back from its worker). Inside the caller's transaction. */
int sched_mark_apply(struct sched_ti *ti, enum dag_task_state state);
/* Take ti's try back from the worker that has it, queued or running
 * (dag_store_claim_take_back()): the scheduler no longer waits for its end.
 * DAG_ENOTFOUND when its claim has already ended. Inside the caller's
 * transaction; the run is not released. */
int sched_mark_take_back(struct sched_ti *ti, const char *why);
/* The process of a task instance marked while it ran has ended: record
 * its try's end (the task instance keeps its mark). Inside the caller's
 * transaction. */
int sched_mark_try_ended(struct sched_ti *ti, const struct sched_work *w, dag_time_t now);

/* sched_run_timeout.c: dagrun_timeout */
struct sched_run_timeout {
  uv_timer_t timer;
  struct dag_scheduler *s;
  int64_t pk;          /* its run, found again by pk: the run may be gone */
  dag_time_t deadline; /* wall clock, UTC microseconds */
};
/* r started running at `start_date` (now, or the stored date of a run
 * recovered after a restart): arm a timer at start_date + the DAG's
 * dagrun_timeout. No-op without one. */
void sched_run_timeout_arm(struct sched_run *r, dag_time_t start_date);
/* Stop and free r's timer (its close callback frees it). */
void sched_run_timeout_disarm(struct sched_run *r);
/* Inside the caller's transaction: if r is still running and its deadline
 * has passed by the scheduler's clock, fail it as Airflow does (its
 * unfinished task instances skipped, running processes stopped); before
 * the deadline, re-arm the timer for the rest. */
int sched_run_timeout_check(struct sched_run *r);
/* Work item SCHED_WORK_RUN_TIMEOUT: 0 or DAG_ELOCKED. */
int sched_run_timeout_work(struct dag_scheduler *s, struct sched_work *w);

/* sched_deadline.c: a DAG's deadline (Airflow's DeadlineAlert) */
/* Run r is loaded (queued_at from its row): unless its deadline was
 * already claimed missed, put it in the heap, arming the timer if it is
 * the nearest. Inside the caller's transaction; 0 or the store's error.
 * No-op for a DAG without a deadline. O(log n). */
int sched_deadline_add(struct sched_run *r, dag_time_t queued_at);
/* r ended or is freed: out of the heap. O(log n); no-op if not in it. */
void sched_deadline_remove(struct sched_run *r);
/* Work item SCHED_WORK_DEADLINE: claim every deadline passed by the
 * scheduler's clock and tell the listener (deadline_missed) in the same
 * transaction; re-arm for the next. 0 or DAG_ELOCKED. */
int sched_deadline_work(struct dag_scheduler *s);
/* Shutdown: close the timer. Free: the heap's array. */
void sched_deadline_stop(struct dag_scheduler *s);
void sched_deadline_free(struct dag_scheduler *s);

/* sched_callback.c: on_execute, on_success, on_failure, on_retry and
 * on_skipped commands (Airflow's on_*_callback), run in processes of their
 * own, their output in the try's log (a run's: the run's callbacks.log).
 * They never change a state, and the loop never waits for them: each is
 * bounded by core.callback_timeout. */
struct sched_callback_spec {
  enum dag_callback_event event;
  const char *dag_id, *run_id;
  const char *task_id; /* NULL: the run's callback */
  int try_number;      /* 0 for the run's */
  const char *file;    /* program (PATH looked up in env) */
  char *const *argv;   /* NULL-terminated */
  char *const *env;    /* NULL-terminated, the whole environment */
  const char *cwd;
  const char *log_path; /* absolute; appended to */
  uint64_t timeout_ms;
};
/* Inside the transaction recording ti's change: queue its task's callback
 * for `ev`, if it has one. `why`: the failure's reason (NULL: none). */
void sched_callback_task(struct sched_ti *ti, enum dag_callback_event ev, const char *why);
/* Inside the transaction that ended r: its DAG's on_success or on_failure,
 * `reason` as Airflow's ("success", "task_failure", "timed_out"). */
void sched_callback_run(struct sched_run *r, enum dag_callback_event ev, const char *reason);
/* After the commit: start the queued callbacks. */
void sched_callback_flush(struct dag_scheduler *s);
/* The transaction rolled back: forget what it queued. */
void sched_callback_drop(struct dag_scheduler *s);
/* sched_pool.c: pools and priorities */
/* What a start returns when the task's pool has not enough open slots (or
 * does not exist): nothing changed, the task waits in its queue. */
#define SCHED_POOL_WAIT 2
/* ti's effective priority weight (its DAG version's, computed once). */
int32_t sched_pool_weight(const struct sched_ti *ti);
/* The ready heap of a run: push ti (its ready_seq set), pop the top.
 * O(log n). */
void sched_pool_heap_push(struct sched_run *r, struct sched_ti *ti);
struct sched_ti *sched_pool_heap_pop(struct sched_run *r);
/* Drop the instances from[0..n) (about to be freed); returns how many
 * were queued. O(queue). */
size_t sched_pool_heap_drop(struct sched_run *r, const struct sched_ti *from, size_t n);
/* One start pass (sched_start_ready()): what it learnt of pools, and the
 * tasks set aside because theirs was short. */
void sched_pool_pass_begin(struct dag_scheduler *s);
/* The ready run whose next task is the heaviest (ties: the earlier logical
 * date, then the run list's order) among the runs that may start one now;
 * NULL: none. O(ready runs). */
struct sched_run *sched_pool_pick(struct dag_scheduler *s);
/* Whether this pass already knows ti's pool cannot take it. */
bool sched_pool_known_short(struct dag_scheduler *s, const struct sched_ti *ti);
/* Inside start_task()'s transaction: claim ti's slots of its pool. 0,
 * SCHED_POOL_WAIT (nothing changed) or the store's failure. */
int sched_pool_claim(struct sched_ti *ti);
/* Set ti aside until the pass ends. */
void sched_pool_park(struct dag_scheduler *s, struct sched_ti *ti);
/* End the pass: the tasks set aside, in *out (caller frees; n in *n), to
 * put back in their queues; a timer looks again later while any waits. */
void sched_pool_pass_end(struct dag_scheduler *s, struct sched_ti ***out, size_t *n);
/* dag_store_ti_set_state(scheduled) with ti's pool, slots and weight. */
int sched_pool_schedule(struct sched_ti *ti);
/* The mapped task ti was expanded: its instances wait with its pool. */
int sched_pool_expanded(struct sched_ti *ti);
void sched_pool_init(struct dag_scheduler *s);
void sched_pool_close(struct dag_scheduler *s);

/* sched_backfill.c */
/* Create the runs the DAG's active backfills have room for (backfill.h).
 * Inside the caller's transaction; returns the store's failure. */
int sched_backfill_advance(struct sched_dag *sd);

/* sched_task.c */
int sched_task_spawn(struct sched_ti *ti, char **err);
void sched_task_close_ready(struct sched_ti *ti);
char *sched_log_rel_path(const struct sched_ti *ti, int try_number);
/* The absolute path of a try's status file (its supervisor writes it), beside
 * its log. Caller frees. */
char *sched_status_path(const struct sched_ti *ti, int try_number);
/* DAGCTL_TRY_ID of a try: "<home id>:<run pk>:<try>:<task>". Caller frees. */
char *sched_try_id(const struct sched_ti *ti, int try_number);
void sched_log_append(struct dag_scheduler *s, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sched_xcom.c: XCom values of shell and exec tasks */
/* $DAGCTL_XCOM of a try, beside its log. Caller frees. */
char *sched_xcom_path(const struct sched_ti *ti, int try_number);
/* Remove a stale file of that path before the try starts. */
void sched_xcom_forget(const struct sched_ti *ti, int try_number);
/* What a succeeded try of a shell or exec task hands on: its XCom file's
 * values and, with xcom_push: last_line, its last line of output as
 * return_value. 0 with *out (a new object; NULL for a plugin task, which
 * pushes its own), or DAG_EINVAL with the reason the try fails in *why
 * (caller frees). Reads files only. */
int sched_xcom_collect(const struct sched_ti *ti, int try_number, json_t **out, char **why);
/* Store `vals` as the task instance's values, replacing an earlier try's;
 * part of the caller's transaction. 0 or the store's error. */
int sched_xcom_store(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                     const json_t *vals, dag_time_t now);

/* sched_map.c: dynamic task mapping */
/* Every task instance of r, mapped instances after their task's entry:
 * sched_ti_next(r, NULL) is the first; NULL after the last. */
struct sched_ti *sched_ti_next(struct sched_run *r, struct sched_ti *ti);
/* Expand ti (a mapped task's entry, ready to run) inside the caller's
 * transaction: its instances recorded and queued (*end running), or the
 * task ended without any (*end failed, with the reason recorded, or
 * skipped for an empty list) for the caller to propagate. 0 or the
 * store's error. */
int sched_map_expand(struct sched_ti *ti, dag_time_t now, enum dag_task_state *end);
/* Mapped instance `kid` has finished: once all have, its task's entry
 * ends with their outcome (failed if one failed, else success if one
 * succeeded, else skipped). Inside the caller's transaction. */
int sched_map_kid_done(struct sched_ti *kid, dag_time_t now);
/* After a reload (marks, clears): end the entries whose instances have all
 * finished. Inside the caller's transaction. */
int sched_map_settle(struct sched_run *r, dag_time_t now);
/* A mapped instance's {NAME: value} for its templates: 0 and *out (a new
 * reference), or DAG_EINVAL with the reason in *err (caller frees). */
int sched_map_item(const struct sched_ti *ti, json_t **out, char **err);
/* Make ti's n instances (memory only; load and expand). */
void sched_map_alloc(struct sched_ti *ti, size_t n);
/* Free ti's instances (retries cancelled, dropped from the ready queue). */
void sched_map_free(struct sched_ti *ti);

/* sched_run.c doors for sched_map.c */
void sched_ti_ready(struct sched_ti *ti);
void sched_ti_forget_ready(struct sched_run *r, const struct sched_ti *from, size_t n);

/* sched_branch.c: branch and short_circuit */
/* Mark in skip[] (dag->n_tasks flags, caller's) the tasks that the end of
 * task `idx` skips: `skipped` when it ended skipped by its exit code, `rv`
 * its return_value (borrowed; NULL when it pushed none). 0, or DAG_EINVAL
 * with the reason the task fails in *why (caller frees): a branch naming a
 * task that is not one of its direct downstream tasks. */
int sched_branch_skips(const struct dag *dag, size_t idx, bool skipped, const json_t *rv,
                       bool *skip, char **why);
/* The end of ti's try (succeeded, or `skipped` by exit code), inside the
 * caller's transaction: store its XCom values (not for a worker's try,
 * whose worker stored them), then what it skips as a new array in *skip
 * (caller frees; NULL: nothing). 0 with *why set (caller frees): the try
 * fails instead, for that reason; or the store's error. */
int sched_task_result(struct sched_ti *ti, bool on_worker, bool skipped, dag_time_t now,
                      bool **skip, char **why);

/* sched_run.c: set the undecided tasks marked in skip[] skipped, then let
 * their downstream tasks decide. */
int sched_run_skip(struct sched_run *r, const bool *skip, dag_time_t now);

#endif
