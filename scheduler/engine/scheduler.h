/* scheduler.h - the scheduler: DAG runs on one libuv loop.
 *
 * In service mode (`dagctl scheduler`) it loads the DAG folder and watches
 * it, arms one timer per scheduled DAG for its next run, picks up runs and
 * changes made by other processes (woken through DAGCTL_HOME/wakeup), and
 * recovers the runs a previous scheduler left behind. In foreground mode
 * (`dagctl test`) it runs one given run to its end and nothing else.
 *
 * Work per task state change is proportional to the task's downstream
 * edges; nothing scans all tasks or all runs on a state change.
 *
 * The loop never waits for the database: while another process holds its
 * write lock, changes wait in a queue (tasks keep running, their ends are
 * recorded later) and the status page keeps answering. Running out of
 * descriptors or processes at spawn is a wait too, not a failed try. A
 * store that fails for good (a full disk) stops the scheduler; the next
 * start recovers from the database. */
#ifndef DAG_SCHEDULER_H
#define DAG_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dag.h"
#include "state.h"
#include "store.h"

struct dag_scheduler;

/* Told about every task and run state change, from inside the transaction
 * that records it: a listener may add rows to that same transaction (the
 * alert outbox does), so an alert is stored if and only if its cause is.
 * Callbacks must not start or end transactions. Both may be NULL. */
struct dag_scheduler_listener {
  /* map_index: -1, or which of a mapped task's instances. */
  void (*task_changed)(void *ctx, const char *dag_id, const char *run_id,
                       const char *task_id, int map_index, enum dag_task_state state,
                       int try_number);
  void (*run_changed)(void *ctx, const char *dag_id, const char *run_id,
                      enum dag_run_state state);
  /* The run has not finished by its DAG's deadline (wall clock): once per
   * run, in the transaction that records the miss. */
  void (*deadline_missed)(void *ctx, const char *dag_id, const char *run_id,
                          dag_time_t deadline);
  void *ctx;
};

/* `cfg` and `store` are borrowed and must outlive the scheduler. */
int dag_scheduler_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                      struct dag_scheduler **out);

/* Check plugin tasks' params against what the installed plugins declare as
 * DAG files load (see plugins.h), reading the declarations from this
 * dagctl binary's `plugins --json`. Off unless called: a program that
 * embeds the scheduler (a test) is not dagctl and must not be run so. */
void dag_scheduler_check_plugins(struct dag_scheduler *s);

/* Service mode: load DAGs, recover, schedule, watch. Returns 0 or a negative
 * code (the store cannot be read). A store failure during start-up stops
 * the scheduler: see dag_scheduler_failed(). */
int dag_scheduler_start(struct dag_scheduler *s);

/* Foreground mode: run the run `run_pk` of `dag` (takes ownership of dag)
 * to its end; done_cb(ctx, final state) then runs once. */
int dag_scheduler_run_one(struct dag_scheduler *s, struct dag *dag, int64_t run_pk,
                          void (*done_cb)(void *ctx, enum dag_run_state state), void *ctx);

void dag_scheduler_set_listener(struct dag_scheduler *s,
                                const struct dag_scheduler_listener *l);

/* Stop: no new runs or tasks. In service mode, running shell and exec tasks
 * are left to their supervisors, which record how they end; the next start
 * adopts them. Plugin tasks and services, and in foreground mode every task,
 * get SIGTERM (SIGKILL after the grace period) and their tries are recorded
 * as interrupted, to be run again at the next start without counting against
 * retries. closed_cb(ctx) runs once every handle is closed, every stopped
 * task reaped and every such task's end recorded (which waits for a database
 * locked by another process); then dag_scheduler_free() may be called.
 * Calling it again does nothing, except that a caller's closed_cb is taken if
 * the scheduler stopped by itself (dag_scheduler_failed()) and none was given
 * yet. */
void dag_scheduler_shutdown(struct dag_scheduler *s, void (*closed_cb)(void *ctx), void *ctx);

void dag_scheduler_free(struct dag_scheduler *s);

/* The definition run `run_id` of `dag_id` executes with (a run keeps the
 * one it started with when its file changes), or the DAG's current one when
 * the run is not active here; NULL if the DAG is unknown. Borrowed: valid
 * until control returns to the loop. O(active runs of the DAG). */
const struct dag *dag_scheduler_run_dag(struct dag_scheduler *s, const char *dag_id,
                                        const char *run_id);

/* True if the scheduler stopped because the state store failed (it then
 * stops by itself: its owner should call dag_scheduler_shutdown() too). */
bool dag_scheduler_failed(const struct dag_scheduler *s);

/* Counters for /metrics and `dagctl` status. */
struct dag_scheduler_stats {
  int running_tasks;
  int ready_tasks;
  int active_runs;
  int dags;
  uint64_t tasks_started;
  uint64_t tasks_finished;
};
void dag_scheduler_stats(const struct dag_scheduler *s, struct dag_scheduler_stats *out);

/* How long ready tasks waited for their try to start, since start-up, per
 * DAG and task: cumulative counts of waits up to each bound (seconds), then
 * of all, and their sum. fn gets each series once; strings and counts are
 * borrowed for the call. */
#define DAG_SCHED_DELAY_BUCKETS 12
extern const double dag_sched_delay_bounds[DAG_SCHED_DELAY_BUCKETS];
typedef void (*dag_sched_delay_fn)(void *ud, const char *dag_id, const char *task_id,
                                   const uint64_t *counts, double sum);
void dag_scheduler_each_delay(const struct dag_scheduler *s, dag_sched_delay_fn fn, void *ud);

/* The log of a run's callbacks (its DAG's on_success_callback and
 * on_failure_callback: sched_callback.c), relative to DAGCTL_HOME/logs.
 * Caller frees. */
char *dag_run_callbacks_log_rel(const char *dag_id, const char *run_id);

#endif
