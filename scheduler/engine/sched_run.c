/* sched_run.c - the run state machine: task instances move from none to a
 * finished state as their upstream tasks finish, one transaction per step.
 *
 * Costs: a task's end does work proportional to its downstream edges (the
 * upstream counters make each trigger rule O(1)); starting a run, loading it
 * and clearing it are O(tasks + edges). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "duration.h"
#include "error.h"
#include "log.h"
#include "plugin_rules.h"
#include "retry.h"
#include "sched_int.h"
#include "timeutil.h"

/* --- bookkeeping ------------------------------------------------------------ */

static const struct dag_task *ti_task(const struct sched_ti *ti) {
  return &ti->run->ref->dag->tasks[ti->idx];
}

static struct dag_scheduler *run_sched(const struct sched_run *r) {
  return r->sd->s;
}

static void notify_task(struct sched_ti *ti) {
  struct dag_scheduler *s = run_sched(ti->run);
  if (s->listener.task_changed)
    s->listener.task_changed(s->listener.ctx, ti->run->sd->dag_id, ti->run->run_id,
                             ti_task(ti)->id, ti->map_index, ti->state, ti->try_number);
}

static void notify_run(struct sched_run *r) {
  struct dag_scheduler *s = run_sched(r);
  if (s->listener.run_changed)
    s->listener.run_changed(s->listener.ctx, r->sd->dag_id, r->run_id, r->state);
}

/* The store failed mid-change: memory and database may now disagree. The
 * database is the truth, so stop; the next start recovers from it. */
void sched_store_broken(struct dag_scheduler *s, const char *what, int rc) {
  if (s->store_failed) return;
  LOG_ERROR("state store write failed, stopping so a restart can recover op=%s error=\"%s\" "
            "msg=\"%s\"", what, dag_strerror(rc), dag_store_errmsg(s->store));
  s->store_failed = true;
  dag_scheduler_shutdown(s, NULL, NULL);
}

int sched_txn_end(struct dag_scheduler *s, int rc, const char *what) {
  if (rc == 0)
    rc = dag_store_commit(s->store);
  else
    dag_store_rollback(s->store);
  if (rc) {
    sched_callback_drop(s);
    sched_store_broken(s, what, rc);
  }
  return rc;
}

/* Begin a handler's transaction. DAG_ELOCKED is a wait, returned as is;
 * any other failure stops the scheduler. */
int sched_txn_begin(struct dag_scheduler *s, const char *what) {
  int rc = dag_store_begin(s->store);
  if (rc == 0)
    sched_store_ok(s);
  else if (rc != DAG_ELOCKED)
    sched_store_broken(s, what, rc);
  return rc;
}

static void ready_unpop(struct sched_ti *ti);

static void ready_list_add(struct sched_run *r) {
  struct dag_scheduler *s = run_sched(r);
  if (r->in_ready_list) return;
  r->in_ready_list = true;
  r->ready_next = NULL;
  r->ready_prev = s->ready_tail;
  if (s->ready_tail)
    s->ready_tail->ready_next = r;
  else
    s->ready_runs = r;
  s->ready_tail = r;
}

static void ready_list_remove(struct sched_run *r) {
  struct dag_scheduler *s = run_sched(r);
  if (!r->in_ready_list) return;
  if (r->ready_prev)
    r->ready_prev->ready_next = r->ready_next;
  else
    s->ready_runs = r->ready_next;
  if (r->ready_next)
    r->ready_next->ready_prev = r->ready_prev;
  else
    s->ready_tail = r->ready_prev;
  r->in_ready_list = false;
  r->ready_next = r->ready_prev = NULL;
}

static void ready_push(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  if (ti->queued) return;
  ti->ready_ns = uv_hrtime();
  ti->ready_seq = ++run_sched(r)->ready_seq;
  sched_pool_heap_push(r, ti);
  ti->queued = true;
  run_sched(r)->ready_tasks++;
  ready_list_add(r);
}

/* Put a task just popped back in its run's queue: it waits for the store,
 * for resources or for its pool, and keeps its place (its ready_seq). */
static void ready_unpop(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  if (ti->queued) return;
  sched_pool_heap_push(r, ti);
  ti->queued = true;
  run_sched(r)->ready_tasks++;
  ready_list_add(r);
}

static struct sched_ti *ready_pop(struct sched_run *r) {
  while (r->ready_len) {
    struct sched_ti *ti = sched_pool_heap_pop(r);
    run_sched(r)->ready_tasks--;
    ti->queued = false;
    /* A cleared or re-decided task may have left the queue meanwhile. */
    if (ti->state == DAG_TI_SCHEDULED || ti->state == DAG_TI_UP_FOR_RETRY ||
        ti->state == DAG_TI_UP_FOR_RESCHEDULE)
      return ti;
  }
  return NULL;
}

void sched_ti_ready(struct sched_ti *ti) {
  ready_push(ti);
}

/* Drop from r's queue the instances from[0..n) about to be freed. O(queue). */
void sched_ti_forget_ready(struct sched_run *r, const struct sched_ti *from, size_t n) {
  run_sched(r)->ready_tasks -= (int)sched_pool_heap_drop(r, from, n);
}

/* --- run lifetime ----------------------------------------------------------- */

static void retry_closed(uv_handle_t *h) {
  free(container_of((uv_timer_t *)h, struct sched_retry, timer));
}

static void cancel_retry(struct sched_ti *ti) {
  if (!ti->retry) return;
  ti->retry->ti = NULL;
  uv_timer_stop(&ti->retry->timer);
  uv_close((uv_handle_t *)&ti->retry->timer, retry_closed);
  ti->retry = NULL;
}

void sched_run_free(struct sched_run *r) {
  for (size_t i = 0; i < r->n_tis; i++) {
    cancel_retry(&r->tis[i]);
    sched_map_free(&r->tis[i]);
  }
  sched_run_timeout_disarm(r);
  sched_deadline_remove(r);
  free(r->tis);
  free(r->ready);
  free(r->run_id);
  json_decref(r->conf);
  dag_ref_put(r->ref);
  free(r);
}

static void run_unlink(struct sched_run *r) {
  struct sched_dag *sd = r->sd;
  ready_list_remove(r);
  sched_deadline_remove(r);
  if (r->prev)
    r->prev->next = r->next;
  else
    sd->runs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  else
    sd->runs_tail = r->prev;
  r->next = r->prev = NULL;
  sd->s->active_runs--;
}

/* Free a finished run once its last process is reaped. */
static void run_release_if_idle(struct sched_run *r) {
  if (r->done && r->live == 0) sched_run_free(r);
}

static int run_finish(struct sched_run *r, dag_time_t now) {
  struct dag_scheduler *s = run_sched(r);
  const struct dag *dag = r->ref->dag;
  enum dag_run_state final = DAG_RUN_SUCCESS;
  /* Airflow's rule: a run fails when one of its leaves failed. A leaf is
   * a task none of whose downstream tasks is part of the run, so a
   * single-task test's outcome is that task's. */
  for (size_t i = 0; i < r->n_tis && final == DAG_RUN_SUCCESS; i++) {
    const struct sched_ti *ti = &r->tis[i];
    if (ti->absent || (ti->state != DAG_TI_FAILED && ti->state != DAG_TI_UPSTREAM_FAILED))
      continue;
    bool leaf = true;
    for (size_t k = 0; k < dag->tasks[i].n_downstream && leaf; k++)
      leaf = r->tis[dag->tasks[i].downstream[k]].absent;
    if (leaf) final = DAG_RUN_FAILED;
  }
  int rc = dag_store_set_run_state(s->store, r->pk, final, 0, now);
  if (rc) return rc;
  if (r->state == DAG_RUN_RUNNING) r->sd->running_runs--;
  r->state = final;
  r->done = true;
  /* No service outlives its run, whatever the run's outcome. */
  for (size_t i = 0; i < r->n_tis; i++)
    if (r->tis[i].service && r->tis[i].proc) {
      LOG_INFO("stopping service at the end of its run dag=%s run=%s task=%s", r->sd->dag_id,
               r->run_id, dag->tasks[i].id);
      s->ops.terminate(r->tis[i].proc);
    }
  LOG_INFO("run finished dag=%s run=%s state=%s", r->sd->dag_id, r->run_id,
           dag_run_state_name(final));
  notify_run(r);
  sched_callback_run(r, final == DAG_RUN_SUCCESS ? DAG_CB_SUCCESS : DAG_CB_FAILURE,
                     final == DAG_RUN_SUCCESS ? "success" : "task_failure");
  run_unlink(r);
  /* Follow-ups (the next queued run, catch-up runs, `dagctl test` ending)
   * are work items, run after this transaction commits. */
  if (!s->service) {
    struct sched_work w;
    memset(&w, 0, sizeof(w));
    w.kind = SCHED_WORK_ONE_DONE;
    w.state = final;
    sched_post(s, &w);
  } else {
    sched_post_dag(r->sd, SCHED_WORK_START_RUNS);
    sched_post_dag(r->sd, SCHED_WORK_SCHEDULE);
  }
  return 0;
}

void sched_ti_cancel_retry(struct sched_ti *ti) {
  cancel_retry(ti);
}

void sched_ti_notify(struct sched_ti *ti) {
  notify_task(ti);
}

void sched_run_end_elsewhere(struct sched_run *r, enum dag_run_state state, bool notify) {
  struct dag_scheduler *s = run_sched(r);
  LOG_INFO("run ended elsewhere dag=%s run=%s state=%s", r->sd->dag_id, r->run_id,
           dag_run_state_name(state));
  if (r->state == DAG_RUN_RUNNING) r->sd->running_runs--;
  r->state = state;
  r->done = true;
  /* Whatever still runs has no run to run for (a service, a task a
   * worker has). */
  for (struct sched_ti *ti = sched_ti_next(r, NULL); ti; ti = sched_ti_next(r, ti))
    if (ti->proc && !ti->marked) s->ops.terminate(ti->proc);
  if (notify) notify_run(r);
  run_unlink(r);
  sched_post_dag(r->sd, SCHED_WORK_START_RUNS);
  sched_post_dag(r->sd, SCHED_WORK_SCHEDULE);
  run_release_if_idle(r);
}

/* --- deciding tasks ------------------------------------------------------------ */

static void count_upstream(struct dag_upstream_counts *c, enum dag_task_state st) {
  c->done++;
  switch (st) {
  case DAG_TI_SUCCESS:
    c->success++;
    break;
  case DAG_TI_SKIPPED:
    c->skipped++;
    break;
  case DAG_TI_FAILED:
    c->failed++;
    break;
  case DAG_TI_UPSTREAM_FAILED:
    c->upstream_failed++;
    break;
  default:
    c->done--;
    break;
  }
}

static int set_state(struct sched_ti *ti, enum dag_task_state st, dag_time_t now) {
  ti->state = st;
  int rc = st == DAG_TI_SCHEDULED
               ? sched_pool_schedule(ti)
               : dag_store_ti_set_state(run_sched(ti->run)->store, ti->run->pk,
                                        ti_task(ti)->id, ti->map_index, st, now);
  if (rc == 0) notify_task(ti);
  return rc;
}

/* Propagate a finished task to its downstream tasks, deciding every one
 * whose trigger rule is now decidable; skips and upstream failures cascade
 * through an explicit stack, so a long chain cannot overflow the C stack. */
static int propagate(struct sched_ti *first, dag_time_t now) {
  struct sched_run *r = first->run;
  const struct dag *dag = r->ref->dag;
  struct sched_ti **stack = NULL;
  size_t n = 0, cap = 0;
  stack = xgrow(stack, &cap, 1, sizeof(*stack));
  stack[n++] = first;
  /* A mapped instance counts for the downstream tasks itself; its task's
   * entry ends with the last of them. */
  int rc = first->parent ? sched_map_kid_done(first, now) : 0;
  while (n && rc == 0) {
    struct sched_ti *ti = stack[--n];
    const struct dag_task *t = &dag->tasks[ti->idx];
    for (size_t k = 0; k < t->n_downstream && rc == 0; k++) {
      struct sched_ti *d = &r->tis[t->downstream[k]];
      if (d->absent) continue;
      count_upstream(&d->up, ti->state);
      if (d->state != DAG_TI_NONE) continue;
      enum dag_trigger_verdict v = dag_trigger_rule_eval(dag->tasks[d->idx].trigger_rule, &d->up);
      if (v == DAG_VERDICT_RUN) {
        rc = set_state(d, DAG_TI_SCHEDULED, now);
        ready_push(d);
      } else if (v != DAG_VERDICT_WAIT) {
        rc = set_state(d, v == DAG_VERDICT_SKIP ? DAG_TI_SKIPPED : DAG_TI_UPSTREAM_FAILED, now);
        r->unfinished--;
        stack = xgrow(stack, &cap, n + 1, sizeof(*stack));
        stack[n++] = d;
      }
    }
  }
  free(stack);
  return rc;
}

int sched_run_skip(struct sched_run *r, const bool *skip, dag_time_t now) {
  const struct dag *dag = r->ref->dag;
  bool *now_skipped = xcalloc(dag->n_tasks, sizeof(*now_skipped));
  int rc = 0;
  /* Every state first: a cascade from one must not start another that is
   * to be skipped (an all_done task below two skipped ones). */
  for (size_t i = 0; i < dag->n_tasks && rc == 0; i++) {
    struct sched_ti *d = &r->tis[i];
    if (!skip[i] || d->absent || d->state != DAG_TI_NONE) continue;
    rc = set_state(d, DAG_TI_SKIPPED, now);
    r->unfinished--;
    now_skipped[i] = true;
  }
  for (size_t i = 0; i < dag->n_tasks && rc == 0; i++)
    if (now_skipped[i]) rc = propagate(&r->tis[i], now);
  free(now_skipped);
  return rc;
}

/* Decide every undecided task of a running run, in topological order so
 * that cascades settle in one pass. O(tasks + edges). */
static int settle(struct sched_run *r, dag_time_t now) {
  const struct dag *dag = r->ref->dag;
  for (size_t k = 0; k < dag->n_tasks; k++) {
    struct sched_ti *ti = &r->tis[dag->topo[k]];
    if (ti->absent || ti->state != DAG_TI_NONE) continue;
    enum dag_trigger_verdict v = dag_trigger_rule_eval(dag->tasks[ti->idx].trigger_rule, &ti->up);
    int rc = 0;
    if (v == DAG_VERDICT_RUN) {
      rc = set_state(ti, DAG_TI_SCHEDULED, now);
      ready_push(ti);
    } else if (v == DAG_VERDICT_SKIP || v == DAG_VERDICT_UPSTREAM_FAILED) {
      rc = set_state(ti, v == DAG_VERDICT_SKIP ? DAG_TI_SKIPPED : DAG_TI_UPSTREAM_FAILED, now);
      r->unfinished--;
      if (rc == 0) rc = propagate(ti, now);
    }
    if (rc) return rc;
  }
  return 0;
}

/* Recount every task's upstream outcomes from scratch (load and clear). */
static void recount(struct sched_run *r) {
  const struct dag *dag = r->ref->dag;
  r->unfinished = 0;
  for (size_t i = 0; i < r->n_tis; i++) memset(&r->tis[i].up, 0, sizeof(r->tis[i].up));
  for (size_t i = 0; i < r->n_tis; i++) {
    struct sched_ti *ti = &r->tis[i];
    /* A task outside this run (a single-task test, a task added to the file
     * later) counts as succeeded for its downstream tasks. */
    enum dag_task_state st = ti->absent ? DAG_TI_SUCCESS : ti->state;
    if (!ti->absent && !dag_task_state_is_finished(st)) r->unfinished++;
    const struct dag_task *t = &dag->tasks[i];
    /* An expanded task's instances count one by one (sched_map.c). */
    for (size_t k = 0; k < t->n_downstream; k++) {
      struct dag_upstream_counts *c = &r->tis[t->downstream[k]].up;
      c->total += ti->n_kids ? (int)ti->n_kids : 1;
      if (!ti->n_kids) count_upstream(c, st);
      for (size_t j = 0; j < ti->n_kids; j++) count_upstream(c, ti->kids[j].state);
    }
    for (size_t j = 0; j < ti->n_kids; j++)
      r->unfinished += !dag_task_state_is_finished(ti->kids[j].state);
  }
}

static int check_done(struct sched_run *r, dag_time_t now) {
  if (r->unfinished == 0 && r->state == DAG_RUN_RUNNING && !r->done) return run_finish(r, now);
  return 0;
}

/* --- starting and ending tries ------------------------------------------------------ */

static void on_retry_timer(uv_timer_t *t);
static bool start_stop_service(struct sched_ti *ti);

/* The loop's clock is read once per iteration and in whole milliseconds, so
 * it lags the wall clock next_retry_at was computed from: a timer of exactly
 * `delay_us` could start the retry before next_retry_at. Refresh the clock
 * and round up, plus one millisecond for the truncation. */
static uint64_t retry_timeout_ms(uv_loop_t *loop, int64_t delay_us) {
  uv_update_time(loop);
  return delay_us > 0 ? (uint64_t)((delay_us + 999) / 1000) + 1 : 0;
}

/* A try failed (process or not): retry or fail, then propagate. Inside the
 * caller's transaction. */
static int try_failed(struct sched_ti *ti, dag_time_t now, int exit_code, bool has_exit,
                      const char *error) {
  struct dag_scheduler *s = run_sched(ti->run);
  const struct dag_task *t = ti_task(ti);
  struct sched_run *r = ti->run;
  if (ti->try_number <= ti->max_tries) {
    int64_t delay = dag_retry_delay(&t->args, r->sd->dag_id, t->id, r->logical_date,
                                    ti->try_number);
    int rc = dag_store_ti_end_try(s->store, r->pk, t->id, ti->map_index, ti->try_number,
                                  DAG_TI_UP_FOR_RETRY, now, exit_code, has_exit, error,
                                  now + delay);
    if (rc) return rc;
    ti->state = DAG_TI_UP_FOR_RETRY;
    char d[32];
    dag_duration_format(delay, d, sizeof(d));
    LOG_WARN("task failed, will retry dag=%s run=%s task=%s try=%d/%d in=%s error=\"%s\"",
             r->sd->dag_id, r->run_id, t->id, ti->try_number, ti->max_tries + 1, d,
             error);
    notify_task(ti);
    sched_callback_task(ti, DAG_CB_RETRY, error);
    ti->retry = xcalloc(1, sizeof(*ti->retry));
    ti->retry->ti = ti;
    uv_timer_init(s->loop, &ti->retry->timer);
    uv_timer_start(&ti->retry->timer, on_retry_timer, retry_timeout_ms(s->loop, delay), 0);
    return 0;
  }
  int rc = dag_store_ti_end_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, DAG_TI_FAILED, now,
                                exit_code, has_exit, error, 0);
  if (rc) return rc;
  ti->state = DAG_TI_FAILED;
  LOG_WARN("task failed dag=%s run=%s task=%s try=%d error=\"%s\"", r->sd->dag_id,
           r->run_id, t->id, ti->try_number, error);
  notify_task(ti);
  sched_callback_task(ti, DAG_CB_FAILURE, error);
  r->unfinished--;
  return propagate(ti, now);
}

/* Resources that run out for a while (descriptors, processes, memory): a
 * spawn failing with one of these is a wait, not a failed try. */
static bool spawn_should_wait(int rc) {
  return rc == UV_EMFILE || rc == UV_ENFILE || rc == UV_EAGAIN || rc == UV_ENOMEM;
}

#define START_WAIT 1 /* start_task(): no resources to spawn, nothing changed */

/* Start a try: record it, give it a supervisor and record its pid, all in
 * one transaction, and once that has committed hand the try over (a
 * supervisor started ahead of need waits for it: see executor.h). So no
 * try ever runs unrecorded, not even for the instant between the hand-over
 * and the commit, when a scheduler killed there left a running try that no
 * record and no process environment named; and a spawn failure is recorded
 * with its try. The hand-over is a step after the commit, here rather than
 * a work item: it needs no transaction, and must not wait behind one that
 * waits for the store. Returns 0, DAG_ELOCKED or START_WAIT
 * (nothing changed: the caller puts the task back in its queue), or the
 * store's failure (the scheduler then stops). */
static int start_task(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  const struct dag_task *t = ti_task(ti);
  int rc = sched_txn_begin(s, "start task");
  if (rc) return rc;
  if (t->n_expand && ti->map_index < 0) {
    /* A mapped task: its instances are what runs (sched_map.c). */
    dag_time_t now = sched_now(s);
    enum dag_task_state end = DAG_TI_RUNNING;
    rc = sched_map_expand(ti, now, &end);
    if (rc == 0 && end != DAG_TI_RUNNING) {
      r->unfinished--;
      rc = propagate(ti, now);
    }
    if (rc == 0) rc = check_done(r, now);
    return sched_txn_end(s, rc, "expand task");
  }
  if (start_stop_service(ti)) return 0;
  if ((rc = sched_pool_claim(ti)) == SCHED_POOL_WAIT) {
    /* Nothing changed; inside a task's end a rollback would take it too. */
    if (s->batching)
      dag_store_commit(s->store);
    else
      dag_store_rollback(s->store);
    return rc;
  } else if (rc) {
    return sched_txn_end(s, rc, "claim pool slots");
  }
  dag_time_t now = sched_now(s);
  dag_time_t old_start = ti->start_date, old_sensor = ti->sensor_started;
  ti->try_number++;
  ti->start_date = now;
  if (!ti->sensor_started) ti->sensor_started = now;
  char *err = NULL;
  char *log_rel = sched_log_rel_path(ti, ti->try_number);
  if (sched_queue_wants(ti)) {
    /* core.executor workers: a worker claims and runs it; its end comes
     * back through the store (sched_queue.c). */
    rc = sched_queue_try(ti, now, log_rel);
    if (rc == 0) notify_task(ti);
    if (rc == 0) sched_callback_task(ti, DAG_CB_EXECUTE, NULL);
    free(log_rel);
    return sched_txn_end(s, rc, "queue task");
  }
  rc = dag_store_ti_start_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, now, 0, 0, log_rel);
  int spawn_rc = rc == 0 ? sched_task_spawn(ti, &err) : 0;
  if (rc == 0 && spawn_rc == 0) {
    rc = dag_store_ti_set_pid(s->store, r->pk, t->id, ti->map_index, ti->try_number, ti->proc->pid,
                              ti->proc->pid_start);
    ti->state = DAG_TI_RUNNING;
    r->live++;
    s->running_tasks++;
    r->sd->running_tasks++;
    s->tasks_started++;
    sched_spawn_ok(s);
    notify_task(ti);
    sched_callback_task(ti, DAG_CB_EXECUTE, NULL);
    LOG_DEBUG("task started dag=%s run=%s task=%s try=%d pid=%d", r->sd->dag_id, r->run_id,
              t->id, ti->try_number, ti->proc->pid);
  } else if (rc == 0 && spawn_should_wait(spawn_rc)) {
    /* Nothing happened: undo the try, wait for resources. Inside a task's
     * end (sched_batch.c) a rollback would take that end with it. */
    if (s->batching && (rc = dag_store_ti_undo_try(s->store, r->pk, t->id, ti->map_index, ti->try_number)) != 0) {
      free(err);
      free(log_rel);
      return sched_txn_end(s, rc, "start task");
    }
    if (s->batching)
      dag_store_commit(s->store);
    else
      dag_store_rollback(s->store);
    ti->try_number--;
    ti->start_date = old_start;
    ti->sensor_started = old_sensor;
    sched_spawn_wait(s, spawn_rc);
    free(err);
    free(log_rel);
    return START_WAIT;
  } else if (rc == 0) {
    /* The try never got a process (bad template, missing program): it
     * still counts, with the reason in its log and its record. */
    sched_log_append(s, log_rel, "[dagctl] could not start: %s\n", err);
    rc = try_failed(ti, now, 0, false, err);
    if (rc == 0) rc = check_done(r, now);
  }
  free(err);
  free(log_rel);
  rc = sched_txn_end(s, rc, "start task");
  /* A failed hand-over comes back through the exit callback, unstarted. */
  if (rc == 0 && ti->proc && s->batching)
    sched_batch_defer(s, ti);
  else if (rc == 0 && ti->proc && s->ops.start)
    s->ops.start(ti->proc);
  if (rc == 0 && ti->proc) sched_ahead_started(ti);
  return rc;
}

static void describe_failure(char *buf, size_t size, const struct dag_task *t, int64_t status,
                             int sig, bool timed_out) {
  if (timed_out) {
    char d[32];
    dag_duration_format(t->args.execution_timeout_us, d, sizeof(d));
    snprintf(buf, size, "timed out after %s (execution_timeout)", d);
  } else if (sig) {
    snprintf(buf, size, "killed by signal %d (%s)", sig, strsignal(sig));
  } else {
    snprintf(buf, size, "exited with status %lld", (long long)status);
  }
}

/* --- plugins: sensors and services ------------------------------------------------- */

/* A sensor in reschedule mode found nothing yet: free the slot and poke
 * again after its declared poke interval (plugin_rules.h). The poke does
 * not use up a try. A type not declared a sensor may not ask for it. */
static int sensor_not_yet(struct sched_ti *ti, dag_time_t now) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  const struct dag_task *t = ti_task(ti);
  const struct dag_plugin_type *pt = dag_plugin_catalog_find(s->plugins, t->type_name);
  if (!dag_plugin_may_reschedule(pt))
    return try_failed(ti, now, DAG_PLUGIN_EXIT_NOT_YET, true,
                      "answered 'not yet', but its type is not declared a sensor");
  int64_t poke = dag_plugin_poke_interval(pt, t->config);
  int rc = dag_store_ti_reschedule(s->store, r->pk, t->id, ti->try_number, now, now + poke);
  if (rc) return rc;
  ti->try_number--;
  ti->state = DAG_TI_UP_FOR_RESCHEDULE;
  LOG_DEBUG("sensor not satisfied yet dag=%s run=%s task=%s next_poke_in_ms=%lld",
            r->sd->dag_id, r->run_id, t->id, (long long)(poke / 1000));
  notify_task(ti);
  ti->retry = xcalloc(1, sizeof(*ti->retry));
  ti->retry->ti = ti;
  uv_timer_init(s->loop, &ti->retry->timer);
  uv_timer_start(&ti->retry->timer, on_retry_timer, (uint64_t)(poke / 1000), 0);
  return 0;
}

/* End a stop_service task's try. Inside the caller's transaction. */
static int finish_stop(struct sched_ti *stop, bool ok, const char *error, dag_time_t now) {
  struct sched_run *r = stop->run;
  struct dag_scheduler *s = run_sched(r);
  if (!ok) return try_failed(stop, now, 0, false, error);
  int rc = dag_store_ti_end_try(s->store, r->pk, ti_task(stop)->id, stop->map_index, stop->try_number,
                                DAG_TI_SUCCESS, now, 0, true, NULL, 0);
  if (rc) return rc;
  stop->state = DAG_TI_SUCCESS;
  notify_task(stop);
  sched_callback_task(stop, DAG_CB_SUCCESS, NULL);
  r->unfinished--;
  return propagate(stop, now);
}

/* The plugin said its service is up: its try succeeds now, and its process
 * runs on (no longer holding a task slot) until a stop_service task or the
 * end of the run stops it. */
void sched_service_ready(struct sched_ti *ti) {
  struct dag_scheduler *s = run_sched(ti->run);
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = SCHED_WORK_SERVICE_READY;
  w.ti = ti;
  ti->run->live++; /* the item holds the run */
  sched_post(s, &w);
  sched_dispatch(s);
}

static int service_ready_work(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  const struct dag_task *t = ti_task(ti);
  if (ti->service || !ti->proc || ti->state != DAG_TI_RUNNING || s->store_failed) {
    r->live--;
    run_release_if_idle(r);
    return 0;
  }
  int rc = sched_txn_begin(s, "service ready");
  if (rc == DAG_ELOCKED) return rc;
  r->live--;
  if (rc) return 0;
  dag_time_t now = sched_now(s);
  ti->service = true;
  s->running_tasks--;
  r->sd->running_tasks--;
  s->tasks_finished++;
  rc = dag_store_ti_end_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, DAG_TI_SUCCESS, now, 0,
                            true, NULL, 0);
  if (rc == 0)
    rc = dag_store_ti_set_service_pid(s->store, r->pk, t->id, ti->proc->pid, ti->proc->pid_start);
  if (rc == 0) {
    ti->state = DAG_TI_SUCCESS;
    LOG_INFO("service is up dag=%s run=%s task=%s pid=%d", r->sd->dag_id, r->run_id, t->id,
             ti->proc->pid);
    notify_task(ti);
    sched_callback_task(ti, DAG_CB_SUCCESS, NULL);
    r->unfinished--;
    rc = propagate(ti, now);
  }
  if (rc == 0) rc = check_done(r, now);
  sched_txn_end(s, rc, "service ready");
  return 0;
}

/* A service's process ended: complete the stop_service task waiting for it.
 * Inside the caller's transaction. */
static int service_exited(struct sched_ti *ti, int64_t status, int sig, dag_time_t now) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  ti->service_ended = true;
  ti->service_status = sig ? 128 + sig : (int)status;
  LOG_INFO("service stopped dag=%s run=%s task=%s status=%d", r->sd->dag_id, r->run_id,
           ti_task(ti)->id, ti->service_status);
  int rc = dag_store_ti_set_service_pid(s->store, r->pk, ti_task(ti)->id, 0, 0);
  if (rc == 0 && ti->has_stop_waiter && !r->done && !s->stopping) {
    struct sched_ti *stop = &r->tis[ti->stop_waiter];
    ti->has_stop_waiter = false;
    char why[128];
    snprintf(why, sizeof(why), "service %s exited with status %d", ti_task(ti)->id,
             ti->service_status);
    rc = finish_stop(stop, ti->service_status == 0, why, now);
    if (rc == 0) rc = check_done(r, now);
  }
  return rc;
}

/* The built-in `stop_service` task: SIGTERM to the service started by the
 * task named in its `service` key, success when that process exits 0.
 * Returns true if `ti` is such a task (handled here, and the caller's
 * transaction ended). */
static bool start_stop_service(struct sched_ti *ti) {
  const struct dag_task *t = ti_task(ti);
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  const char *key = t->type == DAG_TASK_PLUGIN
                        ? dag_plugin_stop_key(dag_plugin_catalog_find(s->plugins, t->type_name))
                        : NULL;
  if (!key) return false;
  dag_time_t now = sched_now(s);
  const char *name = json_string_value(t->config ? json_object_get(t->config, key) : NULL);
  long idx = name ? dag_find_task(r->ref->dag, name) : -1;
  struct sched_ti *svc = idx >= 0 ? &r->tis[idx] : NULL;
  ti->try_number++;
  ti->start_date = now;
  char *log_rel = sched_log_rel_path(ti, ti->try_number);
  int rc = dag_store_ti_start_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, now, 0, 0, log_rel);
  if (rc == 0) {
    ti->state = DAG_TI_RUNNING;
    notify_task(ti);
  }
  char why[256] = "";
  if (rc != 0) {
  } else if (!svc) {
    snprintf(why, sizeof(why), "stop_service needs 'service: TASK_ID' naming a task of this DAG%s%s",
             name ? "; unknown task " : "", name ? name : "");
  } else if (svc->service && svc->proc) {
    svc->has_stop_waiter = true;
    svc->stop_waiter = ti->idx;
    sched_log_append(s, log_rel, "[dagctl] stopping service %s (pid %d) with SIGTERM\n", name,
                     svc->proc->pid);
    s->ops.terminate(svc->proc);
  } else if (svc->service_ended) {
    if (svc->service_status != 0)
      snprintf(why, sizeof(why), "service %s had already exited with status %d", name,
               svc->service_status);
    else
      rc = finish_stop(ti, true, NULL, now);
  } else {
    snprintf(why, sizeof(why), "task %s is not a running service in this run (state %s)", name,
             dag_task_state_name(svc->state));
  }
  if (rc == 0 && why[0]) {
    sched_log_append(s, log_rel, "[dagctl] %s\n", why);
    rc = finish_stop(ti, false, why, now);
  }
  free(log_rel);
  if (rc == 0) rc = check_done(r, now);
  sched_txn_end(s, rc, "stop service");
  return true;
}

/* The supervisor ended without writing how the try ended (it was killed). */
static void describe_lost(char *buf, size_t size, int sig) {
  snprintf(buf, size, "its supervisor ended without recording how the task ended%s",
           sig ? " (the supervisor was killed)" : "");
}

/* Try `ti->try_number` was recorded but never started: its supervisor
 * never got it (the scheduler that recorded it died, or stopped, before the
 * hand-over). Take it back, not counted, and start the same try again
 * (`requeue`; otherwise at the next start). Inside the caller's
 * transaction. */
static int undo_try(struct sched_ti *ti, bool requeue) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  const char *id = ti_task(ti)->id;
  int rc = dag_store_ti_undo_try(s->store, r->pk, id, ti->map_index, ti->try_number);
  if (rc) return rc;
  char *log_rel = sched_log_rel_path(ti, ti->try_number);
  sched_log_append(s, log_rel, "[dagctl] try %d never reached its supervisor; it starts again\n",
                   ti->try_number);
  free(log_rel);
  LOG_INFO("a recorded try never started, starting it again dag=%s run=%s task=%s try=%d",
           r->sd->dag_id, r->run_id, id, ti->try_number);
  ti->try_number--;
  ti->state = DAG_TI_SCHEDULED;
  notify_task(ti);
  if (requeue && !r->done) ready_push(ti);
  return 0;
}

/* The executor's exit callback: the process is gone (and its dag_proc
 * freed when this returns); recording its end is a work item, which may
 * have to wait for the store. Until then the try holds its slot. */
void sched_on_task_exit(struct dag_proc *p, int64_t status, int sig, bool timed_out) {
  struct sched_ti *ti = p->data;
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  ti->proc = NULL;
  sched_task_close_ready(ti);
  struct sched_work w;
  memset(&w, 0, sizeof(w));
  w.kind = SCHED_WORK_TASK_EXIT;
  w.ti = ti;
  w.status = status;
  w.sig = sig;
  w.timed_out = timed_out;
  w.stopping = s->stopping;
  w.lost = p->lost;
  w.unstarted = p->unstarted;
  if (!p->lost && !p->unstarted) w.usage = p->usage;
  if (!ti->service && !p->unstarted) {
    char *log_rel = sched_log_rel_path(ti, ti->try_number);
    char why[160];
    if (p->lost)
      describe_lost(why, sizeof(why), sig);
    else if (status == 0 && sig == 0 && !timed_out)
      snprintf(why, sizeof(why), "exited with status 0");
    else
      describe_failure(why, sizeof(why), ti_task(ti), status, sig, timed_out);
    char took[32];
    dag_duration_format(sched_now(s) - ti->start_date, took, sizeof(took));
    sched_log_append(s, log_rel, "[dagctl] try %d %s after %s\n", ti->try_number, why, took);
    free(log_rel);
  }
  sched_post(s, &w);
  sched_dispatch(s);
}

/* The try's process is accounted for: free its slot. */
static void exit_accounted(struct sched_ti *ti) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  r->live--;
  if (!ti->service) {
    s->running_tasks--;
    r->sd->running_tasks--;
    s->tasks_finished++;
  }
  run_release_if_idle(r);
}

static int task_exit_work(struct dag_scheduler *s, const struct sched_work *w) {
  struct sched_ti *ti = w->ti;
  struct sched_run *r = ti->run;
  const struct dag_task *t = ti_task(ti);
  if (s->store_failed) {
    exit_accounted(ti);
    return 0;
  }
  int rc = sched_txn_begin(s, "end task");
  if (rc == DAG_ELOCKED) return rc;
  if (rc) {
    exit_accounted(ti);
    return 0;
  }
  dag_time_t now = sched_now(s);
  if (r->deleting) {
    sched_txn_end(s, sched_delete_exit(ti, w), "end task of a deleted run");
    exit_accounted(ti);
    return 0;
  }
  int try_number = ti->try_number; /* a sensor's "not yet" takes it back */
  int64_t status = w->status;
  int sig = w->sig;
  bool timed_out = w->timed_out;
  bool ok = status == 0 && sig == 0 && !timed_out && !w->lost;
  if (w->claim_id) {
    ti->on_worker = ti->end_posted = false;
    rc = dag_store_claim_recorded(s->store, w->claim_id);
  }
  if (rc) {
    /* The claim could not be marked: the end is recorded with it, below. */
  } else if (ti->marked) {
    rc = sched_mark_try_ended(ti, w, now);
  } else if (ti->service) {
    rc = service_exited(ti, status, sig, now);
  } else if (w->unstarted) {
    rc = undo_try(ti, !w->stopping);
  } else if (w->stopping || ti->interrupted) {
    /* Interrupted by our own shutdown, or stopped at recovery (a plugin
     * task, see adopt_try()): run it again without charging the task a
     * retry. */
    rc = dag_store_ti_end_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, DAG_TI_UP_FOR_RETRY, now,
                              (int)status, sig == 0,
                              w->stopping ? "interrupted: scheduler shut down"
                                          : "interrupted: scheduler restarted while it ran",
                              now);
    if (rc == 0) rc = dag_store_ti_grant_try(s->store, r->pk, t->id, ti->map_index);
    ti->state = DAG_TI_UP_FOR_RETRY;
    if (rc == 0 && !w->stopping) {
      ti->interrupted = false;
      ti->max_tries++;
      notify_task(ti);
      if (!r->done) ready_push(ti);
    }
  } else if (w->lost) {
    char why[160];
    if (w->why)
      snprintf(why, sizeof(why), "%s", w->why);
    else
      describe_lost(why, sizeof(why), sig);
    rc = try_failed(ti, now, 0, false, why);
  } else if (t->type == DAG_TASK_PLUGIN && sig == 0 && !timed_out &&
             status == DAG_PLUGIN_EXIT_NOT_YET) {
    rc = sensor_not_yet(ti, now);
  } else if (sig == 0 && !timed_out &&
             (t->type == DAG_TASK_PLUGIN ? status == DAG_PLUGIN_EXIT_SKIP
                                         : dag_task_skips_exit(t, status))) {
    /* A shell or exec task asks for it with an exit code listed in its
     * skip_on_exit_code (99 by default), as Airflow's BashOperator. */
    bool *skip = NULL; /* a short circuit's (sched_branch.c) */
    char *why = NULL;
    rc = sched_task_result(ti, w->claim_id != 0, true, now, &skip, &why);
    if (rc == 0)
      rc = dag_store_ti_end_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, DAG_TI_SKIPPED, now,
                                (int)status, true, "skipped by the task", 0);
    if (rc == 0) {
      ti->state = DAG_TI_SKIPPED;
      notify_task(ti);
      sched_callback_task(ti, DAG_CB_SKIPPED, NULL);
      r->unfinished--;
      if (skip) rc = sched_run_skip(r, skip, now);
      if (rc == 0) rc = propagate(ti, now);
    }
    free(skip);
    free(why);
  } else if (ok) {
    /* Its XCom values, and what a branch or short circuit skips. */
    bool *skip = NULL;
    char *why = NULL;
    rc = sched_task_result(ti, w->claim_id != 0, false, now, &skip, &why);
    if (rc == 0 && why)
      rc = try_failed(ti, now, 0, true, why);
    else if (rc == 0)
      rc = dag_store_ti_end_try(s->store, r->pk, t->id, ti->map_index, ti->try_number, DAG_TI_SUCCESS, now, 0,
                                true, NULL, 0);
    if (rc == 0 && !why && t->n_outlets) rc = sched_dataset_outlets(ti, now);
    if (rc == 0 && !why) {
      ti->state = DAG_TI_SUCCESS;
      notify_task(ti);
      sched_callback_task(ti, DAG_CB_SUCCESS, NULL);
      r->unfinished--;
      if (skip) rc = sched_run_skip(r, skip, now);
      if (rc == 0) rc = propagate(ti, now);
    }
    free(skip);
    free(why);
  } else {
    char why[160];
    describe_failure(why, sizeof(why), t, status, sig, timed_out);
    rc = try_failed(ti, now, (int)status, sig == 0 && !timed_out, why);
  }
  /* What it cost, from the status file, adopted try or not. A status file
   * of an older supervisor has no figures (wall time 0). */
  if (rc == 0 && !ti->service && !w->unstarted && w->usage.wall_us > 0) {
    struct dag_store_usage u = {.known = true,
                                .max_rss_kb = w->usage.maxrss_kb,
                                .user_us = w->usage.user_us,
                                .sys_us = w->usage.sys_us,
                                .wall_us = w->usage.wall_us};
    rc = dag_store_try_set_usage(s->store, r->pk, t->id, ti->map_index, try_number, &u);
  }
  if (rc == 0 && !w->stopping && !ti->service) rc = check_done(r, now);
  if (rc == 0 && !w->stopping) sched_batch_start(s, ti);
  sched_batch_handover(s, sched_txn_end(s, rc, "end task"));
  exit_accounted(ti);
  return 0;
}

static void on_retry_timer(uv_timer_t *t) {
  struct sched_retry *rt = container_of(t, struct sched_retry, timer);
  struct sched_ti *ti = rt->ti;
  if (!ti) return;
  ti->retry = NULL;
  uv_close((uv_handle_t *)t, retry_closed);
  ready_push(ti);
  sched_dispatch(run_sched(ti->run));
}

/* --- dispatch -------------------------------------------------------------------- */

/* Start ready tasks, the heaviest first (sched_pool.c), while
 * core.parallelism, the DAGs' max_active_tasks and the pools allow. */
void sched_start_ready(struct dag_scheduler *s) {
  int parallelism = s->cfg->parallelism;
  struct sched_run *r, **ended = NULL; /* runs a start ended: freed after the pass */
  size_t n_ended = 0, cap_ended = 0;
  sched_pool_pass_begin(s);
  while (s->running_tasks < parallelism && !s->stopping && (r = sched_pool_pick(s)) != NULL) {
    struct sched_dag *sd = r->sd;
    struct sched_ti *ti = ready_pop(r);
    if (!ti) continue;
    if (sched_pool_known_short(s, ti)) {
      sched_pool_park(s, ti);
      continue;
    }
    int tries = ti->try_number;
    uint64_t picked = uv_hrtime();
    int rc = start_task(ti);
    if (rc == 0 && ti->try_number > tries)
      sched_delay_observe(s, sd->dag_id, ti_task(ti)->id, (double)(picked - ti->ready_ns) / 1e9);
    if (r->done) {
      size_t k = 0;
      while (k < n_ended && ended[k] != r) k++;
      if (k == n_ended) {
        ended = xgrow(ended, &cap_ended, n_ended + 1, sizeof(*ended));
        ended[n_ended++] = r;
      }
    }
    if (rc == SCHED_POOL_WAIT) {
      sched_pool_park(s, ti);
    } else if (rc == DAG_ELOCKED || rc == START_WAIT) {
      ready_unpop(ti);
      if (rc == DAG_ELOCKED) sched_store_wait(s);
      break;
    }
  }
  struct sched_ti **parked;
  size_t n_parked;
  sched_pool_pass_end(s, &parked, &n_parked);
  for (size_t i = 0; i < n_parked; i++)
    if (!parked[i]->run->done) ready_unpop(parked[i]);
  free(parked);
  for (size_t i = 0; i < n_ended; i++) run_release_if_idle(ended[i]);
  free(ended);
  for (r = s->ready_runs; r;) {
    struct sched_run *next = r->ready_next;
    if (r->done || r->ready_len == 0) ready_list_remove(r);
    if (r->done) run_release_if_idle(r);
    r = next;
  }
}

/* --- starting runs ------------------------------------------------------------------ */

/* Inside the caller's transaction. */
static int run_begin(struct sched_run *r) {
  struct dag_scheduler *s = run_sched(r);
  dag_time_t now = sched_now(s);
  int rc = dag_store_set_run_state(s->store, r->pk, DAG_RUN_RUNNING, now, 0);
  if (rc == 0) {
    r->state = DAG_RUN_RUNNING;
    r->sd->running_runs++;
    LOG_INFO("run started dag=%s run=%s", r->sd->dag_id, r->run_id);
    notify_run(r);
    sched_run_timeout_arm(r, now);
    rc = settle(r, now);
  }
  if (rc == 0) rc = check_done(r, now);
  return rc;
}

/* Start the DAG's queued runs, oldest first, while max_active_runs allows. */
static int start_runs_work(struct sched_dag *sd) {
  struct dag_scheduler *s = sd->s;
  if (s->stopping || sd->paused) return 0;
  bool any = false;
  for (struct sched_run *r = sd->runs; r && !any; r = r->next)
    any = r->state == DAG_RUN_QUEUED && !r->done;
  if (!any) return 0;
  int rc = sched_txn_begin(s, "start run");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  /* A backfill's runs are held to its own max_active_runs when created
   * (sched_backfill.c), and neither wait for nor count against the DAG's. */
  int running = 0;
  for (struct sched_run *r = sd->runs; r; r = r->next)
    running += r->state == DAG_RUN_RUNNING && !r->backfill_id;
  for (struct sched_run *r = sd->runs; r && rc == 0;) {
    struct sched_run *next = r->next;
    bool room = r->backfill_id || running < r->ref->dag->max_active_runs;
    if (room && r->state == DAG_RUN_QUEUED && !r->done) {
      running += !r->backfill_id;
      rc = run_begin(r);
      /* A run with nothing to do ended at once; nothing refers to it. */
      if (r->done) run_release_if_idle(r);
    }
    r = next;
  }
  sched_txn_end(s, rc, "start run");
  return 0;
}

/* --- loading runs (start-up, triggers, clears) ------------------------------------------ */

struct sched_orphan {
  uv_timer_t timer;
  struct sched_ti *ti;
  int pid;
  int waited_ms;
  bool unrecorded; /* spawned but never recorded: no try to account for */
};

static void orphan_closed(uv_handle_t *h) {
  free(container_of((uv_timer_t *)h, struct sched_orphan, timer));
}

/* A previous scheduler's task is still running without a supervisor (an
 * older dagctl started it, or its supervisor was killed). Nothing records
 * its end, so it stops the process group (SIGTERM, SIGKILL after the grace
 * period) and runs the task again; the interrupted try does not count
 * against retries. Polling here is bounded by the grace period and happens
 * only during recovery. */
static void on_orphan_poll(uv_timer_t *t) {
  struct sched_orphan *o = container_of(t, struct sched_orphan, timer);
  struct sched_ti *ti = o->ti;
  struct dag_scheduler *s = run_sched(ti->run);
  o->waited_ms += 50;
  if (dag_pgrp_alive(o->pid)) {
    if ((uint64_t)o->waited_ms * 1000 >= (uint64_t)s->cfg->task_kill_grace_us)
      kill(-o->pid, SIGKILL);
    return;
  }
  int rc = 0;
  /* Locked by another process: poll again in 50 ms, nothing changed. */
  if (!o->unrecorded && (rc = dag_store_begin(s->store)) == DAG_ELOCKED) return;
  uv_timer_stop(t);
  uv_close((uv_handle_t *)t, orphan_closed);
  struct sched_run *r = ti->run;
  dag_time_t now = sched_now(s);
  ti->orphan = NULL;
  r->live--;
  s->running_tasks--;
  r->sd->running_tasks--;
  const char *id = ti_task(ti)->id;
  if (o->unrecorded) {
    /* The crash came between spawn and record: the try never counted. */
    LOG_INFO("stopped an unrecorded task process left by the previous scheduler dag=%s "
             "run=%s task=%s", r->sd->dag_id, r->run_id, id);
    run_release_if_idle(r);
    if (!r->done) ready_push(ti);
    sched_dispatch(s);
    return;
  }
  if (rc == 0)
    rc = dag_store_ti_end_try(s->store, r->pk, id, ti->map_index, ti->try_number, DAG_TI_UP_FOR_RETRY, now, 0,
                              false, "interrupted: scheduler restarted while it ran", now);
  if (rc == 0) rc = dag_store_ti_grant_try(s->store, r->pk, id, ti->map_index);
  if (sched_txn_end(s, rc, "recover task") != 0) {
    run_release_if_idle(r);
    return;
  }
  ti->max_tries++;
  ti->state = DAG_TI_UP_FOR_RETRY;
  LOG_INFO("stopped a task left running by the previous scheduler; running it again "
           "dag=%s run=%s task=%s", r->sd->dag_id, r->run_id, id);
  notify_task(ti);
  run_release_if_idle(r);
  if (!r->done) ready_push(ti);
  sched_dispatch(s);
}

static void adopt_orphan(struct sched_ti *ti, int pid, bool unrecorded) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  struct sched_orphan *o = xcalloc(1, sizeof(*o));
  o->ti = ti;
  o->pid = pid;
  o->unrecorded = unrecorded;
  ti->orphan = o;
  r->live++;
  s->running_tasks++;
  r->sd->running_tasks++;
  LOG_WARN("task still running from a previous scheduler, stopping it dag=%s run=%s task=%s "
           "pid=%d", r->sd->dag_id, r->run_id, ti_task(ti)->id, pid);
  kill(-pid, SIGTERM);
  uv_timer_init(s->loop, &o->timer);
  uv_timer_start(&o->timer, on_orphan_poll, 50, 50);
}

/* A live process spawned for this try but never recorded: its supervisor
 * if one is found, else (an older dagctl's task) the task itself. NULL if
 * none. */
static const struct dag_try_proc *unrecorded_process(const struct sched_ti *ti,
                                                     int try_number) {
  struct dag_scheduler *s = run_sched(ti->run);
  if (!s->n_try_procs) return NULL;
  /* The home id in it: another DAGCTL_HOME's run may have the same pk. */
  char *want = sched_try_id(ti, try_number);
  const struct dag_try_proc *found = NULL;
  for (size_t i = 0; i < s->n_try_procs; i++) {
    if (strcmp(s->try_procs[i].try_id, want) != 0) continue;
    if (!found || s->try_procs[i].supervisor) found = &s->try_procs[i];
  }
  free(want);
  return found;
}

/* Take over a try that a previous scheduler started: its supervisor still
 * runs (its end arrives as a child's would), or it has ended and left its
 * status file (the end is delivered from the loop). Plugin tasks talk to the
 * scheduler that started them (the readiness pipe, the embedded Kafka
 * cluster, both gone with it), so a running one is stopped and run again
 * without charging a retry; shell and exec tasks run on. Returns 0, or
 * dag_proc_adopt()'s error: -ESRCH (gone without a status file: its task
 * never started), -ENODATA (gone, its outcome unrecorded), -ENOTSUP (alive
 * but no supervisor: an older dagctl's task). */
static int adopt_try(struct sched_ti *ti, int pid, int64_t pid_start) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  char *status = sched_status_path(ti, ti->try_number);
  bool alive = pid > 0 && dag_pid_start_time(pid) == pid_start;
  struct dag_proc *p = NULL;
  int rc = dag_proc_adopt(s->loop, pid, pid_start, status, sched_on_task_exit, ti, &p);
  free(status);
  if (rc) return rc;
  ti->proc = p;
  ti->state = DAG_TI_RUNNING;
  r->live++;
  s->running_tasks++;
  r->sd->running_tasks++;
  const char *id = ti_task(ti)->id;
  if (alive && ti_task(ti)->type == DAG_TASK_PLUGIN) {
    LOG_WARN("plugin task still running from a previous scheduler, stopping it to run it "
             "again dag=%s run=%s task=%s try=%d pid=%d", r->sd->dag_id, r->run_id, id,
             ti->try_number, pid);
    ti->interrupted = true;
    dag_proc_terminate(p);
  } else {
    LOG_INFO("adopted a task %s the previous scheduler dag=%s run=%s task=%s try=%d pid=%d",
             alive ? "still running from" : "that ended after", r->sd->dag_id, r->run_id, id,
             ti->try_number, pid);
  }
  return 0;
}

/* A try was spawned, and the scheduler died before recording it: record it
 * now, then adopt it. Inside the caller's transaction. */
static int adopt_unrecorded(struct sched_ti *ti, int pid, dag_time_t now) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = run_sched(r);
  int64_t pid_start = pid > 0 ? dag_pid_start_time(pid) : 0;
  ti->try_number++;
  ti->start_date = now;
  char *log_rel = sched_log_rel_path(ti, ti->try_number);
  int rc = dag_store_ti_start_try(s->store, r->pk, ti_task(ti)->id, ti->map_index, ti->try_number, now, pid,
                                  pid_start, log_rel);
  free(log_rel);
  if (rc) return rc;
  LOG_INFO("recording a try that the previous scheduler started but never recorded dag=%s "
           "run=%s task=%s try=%d", r->sd->dag_id, r->run_id, ti_task(ti)->id, ti->try_number);
  rc = adopt_try(ti, pid, pid_start);
  if (rc == 0) return 0;
  /* Ended between the scan and now without a status file: it never
   * started its task. */
  if (rc == -ESRCH) return undo_try(ti, true);
  ti->state = DAG_TI_RUNNING;
  return try_failed(ti, now, 0, false, "the task and its supervisor vanished while the "
                                       "scheduler was down (no outcome recorded)");
}

/* True if try `try_number` of `ti` left a status file. An empty one was
 * made ahead by a scheduler (sched_ahead.c), not by a supervisor: none. */
static bool has_status(const struct sched_ti *ti, int try_number) {
  char *path = sched_status_path(ti, try_number);
  struct stat st;
  bool yes = stat(path, &st) == 0 && st.st_size > 0;
  free(path);
  return yes;
}

/* Bring a task instance read from the database back to life. Returns the
 * store's error, if recording a vanished process fails. */
static int revive(struct sched_ti *ti, const struct dag_store_ti *row, dag_time_t now) {
  struct dag_scheduler *s = run_sched(ti->run);
  ti->state = row->state;
  ti->try_number = row->try_number;
  ti->max_tries = row->max_tries;
  ti->start_date = row->start_date;
  switch (row->state) {
  case DAG_TI_RUNNING:
  case DAG_TI_QUEUED: {
    int qrc = 0;
    if (sched_queue_revive(ti, &qrc)) return qrc;
    /* The recorded pid is the try's supervisor: adopt it, or read how the
     * try ended from its status file. A try recorded before its process
     * was spawned has no pid yet: its supervisor is found by its try id. */
    int pid = row->pid;
    int64_t pid_start = row->pid_start;
    const struct dag_try_proc *tp = pid > 0 ? NULL : unrecorded_process(ti, row->try_number);
    if (tp) {
      pid = tp->pid;
      pid_start = dag_pid_start_time(pid);
    }
    int rc = adopt_try(ti, pid, pid_start);
    if (rc == 0) return 0;
    if (rc == -ENOTSUP) {
      adopt_orphan(ti, pid, false);
      return 0;
    }
    /* Gone without a status file, not even the one its supervisor writes
     * before it starts the task: the previous scheduler recorded the try
     * and died before handing it over. The same try runs again. */
    if (rc == -ESRCH) return undo_try(ti, true);
    /* The task started, and its end went unrecorded while nobody watched:
     * a failed try, retries apply. */
    ti->state = DAG_TI_RUNNING;
    return try_failed(ti, now, 0, false,
                      "the task and its supervisor vanished while the scheduler was down "
                      "(no outcome recorded)");
  }
  case DAG_TI_SUCCESS:
    /* A service whose process a crash left running: stop it (it flushes
     * and commits on SIGTERM); it needs the scheduler that started it. A
     * stop_service task then finds it ended. The recorded pid leads a
     * group: the supervisor alone (it stops its task), or the task itself
     * (an older dagctl's). */
    if (row->pid > 0 && dag_pid_start_time(row->pid) == row->pid_start) {
      LOG_WARN("service left running by the previous scheduler, stopping it dag=%s run=%s "
               "task=%s pid=%d", ti->run->sd->dag_id, ti->run->run_id, ti_task(ti)->id, row->pid);
      kill(-row->pid, SIGTERM);
    }
    if (row->pid > 0) {
      ti->service_ended = true;
      ti->service_status = 0;
    }
    return 0;
  case DAG_TI_SCHEDULED:
  case DAG_TI_UP_FOR_RESCHEDULE:
  case DAG_TI_UP_FOR_RETRY: {
    const struct dag_try_proc *tp = unrecorded_process(ti, row->try_number + 1);
    if (tp && !tp->supervisor) {
      adopt_orphan(ti, tp->pid, true);
      return 0;
    }
    /* Its supervisor runs, or has ended and left the try's status file. A
     * sensor's pokes share one try number, so the status file of the next
     * try may be the last poke's, already recorded; a poke that ended
     * unrecorded is simply made again. */
    if (tp || (row->state != DAG_TI_UP_FOR_RESCHEDULE && has_status(ti, row->try_number + 1))) {
      if (row->state == DAG_TI_UP_FOR_RESCHEDULE) ti->sensor_started = row->start_date;
      return adopt_unrecorded(ti, tp ? tp->pid : 0, now);
    }
    if (row->state == DAG_TI_SCHEDULED) {
      ready_push(ti);
      return 0;
    }
    if (row->state == DAG_TI_UP_FOR_RESCHEDULE) ti->sensor_started = row->start_date;
    dag_time_t wait = row->next_retry_at > now ? row->next_retry_at - now : 0;
    ti->retry = xcalloc(1, sizeof(*ti->retry));
    ti->retry->ti = ti;
    uv_timer_init(s->loop, &ti->retry->timer);
    uv_timer_start(&ti->retry->timer, on_retry_timer, retry_timeout_ms(s->loop, wait), 0);
    return 0;
  }
  default:
    return 0;
  }
}

static int find_task_index(const struct dag *dag, const char *id) {
  long i = dag_find_task(dag, id);
  return i < 0 ? -1 : (int)i;
}

/* Load run `pk` into memory and bring it back to where the store says it
 * is. Its own transaction (nested in the caller's, if any): DAG_ELOCKED
 * only before anything changed; any other failure is for the caller to
 * end its transaction with. */
int sched_run_load(struct dag_scheduler *s, struct sched_dag *sd, struct dag_ref *ref,
                   int64_t pk) {
  int rc = dag_store_begin(s->store);
  if (rc) return rc;
  /* Another scheduler drives it (several schedulers on one state). */
  if ((rc = sched_ha_claim_run(s, pk)) == DAG_ECLAIM) return dag_store_commit(s->store);
  struct dag_store_run row;
  if (rc || (rc = dag_store_get_run_by_pk(s->store, pk, &row)) != 0) {
    /* The event of a run deleted since (dagctl delete): nothing to load. */
    if (rc == DAG_ENOTFOUND) return dag_store_commit(s->store);
    dag_store_rollback(s->store);
    return rc;
  }
  if (row.state == DAG_RUN_SUCCESS || row.state == DAG_RUN_FAILED ||
      strcmp(row.dag_id, sd->dag_id) != 0) {
    /* A stale event: the run ended before it was read (the event row of a
     * scheduled run we created and ran ourselves). Loading it would start
     * it again and overwrite its dates. Or the run it named was deleted
     * and SQLite gave its id to a run of another DAG, whose own event
     * loads it. */
    dag_store_run_free(&row);
    return dag_store_commit(s->store);
  }
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  if ((rc = dag_store_list_tis(s->store, pk, &tis, &n)) != 0) {
    dag_store_run_free(&row);
    dag_store_rollback(s->store);
    return rc;
  }
  /* A run keeps the graph it was created with: when the file has changed
   * since, that graph comes from the run's stored version. */
  struct dag_ref *own = NULL;
  if (row.dag_version_id && row.dag_version_id != ref->version_id &&
      dag_ref_from_version(s->store, row.dag_version_id, &own) == 0)
    ref = own;
  const struct dag *dag = ref->dag;
  struct sched_run *r = xcalloc(1, sizeof(*r));
  r->sd = sd;
  r->ref = dag_ref_get(ref);
  dag_ref_put(own);
  r->pk = pk;
  r->run_id = xstrdup(row.run_id);
  r->is_test = strcmp(row.run_type, "test") == 0;
  r->backfill_id = row.backfill_id;
  r->state = DAG_RUN_QUEUED;
  r->logical_date = row.logical_date;
  r->interval_start = row.data_interval_start;
  r->interval_end = row.data_interval_end;
  r->conf = json_loads(row.conf ? row.conf : "{}", 0, NULL);
  if (!r->conf) r->conf = json_object();
  r->n_tis = dag->n_tasks;
  r->tis = xcalloc(r->n_tis, sizeof(*r->tis));
  for (size_t i = 0; i < r->n_tis; i++) {
    r->tis[i].run = r;
    r->tis[i].idx = i;
    r->tis[i].map_index = -1;
    r->tis[i].absent = true;
  }
  /* A mapped task's instances: as many as its highest map_index says. */
  size_t *kids = xcalloc(r->n_tis + 1, sizeof(*kids));
  for (size_t i = 0; i < n; i++) {
    int idx = find_task_index(dag, tis[i].task_id);
    if (idx < 0) {
      if (tis[i].map_index < 0)
        LOG_WARN("task no longer in the DAG file, ignored dag=%s run=%s task=%s", sd->dag_id,
                 r->run_id, tis[i].task_id);
      continue;
    }
    if (tis[i].map_index >= 0) {
      if ((size_t)tis[i].map_index >= kids[idx]) kids[idx] = (size_t)tis[i].map_index + 1;
      continue;
    }
    r->tis[idx].absent = false;
    r->tis[idx].state = tis[i].state;
    r->tis[idx].max_tries = tis[i].max_tries;
  }
  for (size_t i = 0; i < r->n_tis; i++)
    if (kids[i] && dag->tasks[i].n_expand) sched_map_alloc(&r->tis[i], kids[i]);
  free(kids);

  /* Link first: recovery below may finish tasks and needs the run in place. */
  r->prev = sd->runs_tail;
  if (sd->runs_tail)
    sd->runs_tail->next = r;
  else
    sd->runs = r;
  sd->runs_tail = r;
  s->active_runs++;

  dag_time_t now = sched_now(s);
  rc = sched_deadline_add(r, row.queued_at);
  recount(r);
  if (row.state == DAG_RUN_RUNNING) {
    r->state = DAG_RUN_RUNNING;
    sd->running_runs++;
    sched_run_timeout_arm(r, row.start_date ? row.start_date : now);
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    int idx = find_task_index(dag, tis[i].task_id);
    if (idx < 0) continue;
    struct sched_ti *ti = &r->tis[idx];
    if (tis[i].map_index >= 0 && (size_t)tis[i].map_index < ti->n_kids)
      rc = revive(&ti->kids[tis[i].map_index], &tis[i], now);
    else if (tis[i].map_index < 0 && ti->n_kids)
      ti->start_date = tis[i].start_date; /* its instances run, not it */
    else if (tis[i].map_index < 0)
      rc = revive(ti, &tis[i], now);
  }
  if (rc == 0) rc = sched_map_settle(r, now);
  /* revive() may have finished tasks; recount before deciding the rest. */
  if (rc == 0) recount(r);
  if (rc == 0 && r->state == DAG_RUN_RUNNING) rc = settle(r, now);
  if (rc == 0) rc = check_done(r, now);
  if (rc == 0)
    rc = dag_store_commit(s->store);
  else
    dag_store_rollback(s->store);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&row);
  if (rc) return rc;
  run_release_if_idle(r);
  return 0;
}

/* A DAG's definition has just (re)loaded: load its queued and running runs
 * that are not in memory yet. A trigger may have come while no definition
 * could load (a broken file, a file copied in and triggered at once), and
 * its event was consumed then: the store, not the event, is the truth.
 * O(the DAG's active runs). */
int sched_run_load_active(struct sched_dag *sd) {
  struct dag_scheduler *s = sd->s;
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  if (!sd->ref) return 0;
  int rc = dag_store_list_active_runs_of(s->store, sd->dag_id, &runs, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    bool loaded = false;
    for (struct sched_run *r = sd->runs; r && !loaded; r = r->next) loaded = r->pk == runs[i].pk;
    if (loaded) continue;
    if (runs[i].state == DAG_RUN_RUNNING)
      LOG_INFO("recovering run dag=%s run=%s", sd->dag_id, runs[i].run_id);
    rc = sched_run_load(s, sd, sd->ref, runs[i].pk);
  }
  dag_store_runs_free(runs, n);
  return rc;
}

struct sched_run *sched_find_run(struct dag_scheduler *s, int64_t pk) {
  for (size_t i = 0; i < s->n_dags; i++)
    for (struct sched_run *r = s->dags[i]->runs; r; r = r->next)
      if (r->pk == pk) return r;
  return NULL;
}

/* A run already in memory was cleared by another process: adopt the task
 * instances it reset; leave running ones alone. Inside the caller's
 * transaction; returns the store's failure. */
int sched_run_reload(struct sched_run *r) {
  struct dag_scheduler *s = run_sched(r);
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  struct dag_store_run row;
  int rc = dag_store_get_run_by_pk(s->store, r->pk, &row);
  if (rc == DAG_ENOTFOUND) {
    /* Deleted by hand: whatever still runs is stopped. */
    if (!r->done) sched_run_end_elsewhere(r, DAG_RUN_FAILED, false);
    return 0;
  }
  if (rc) return rc;
  enum dag_run_state run_state = row.state;
  if (row.delete_requested_at) {
    dag_store_run_free(&row);
    return sched_delete_run(r);
  }
  dag_store_run_free(&row);
  rc = dag_store_list_tis(s->store, r->pk, &tis, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) {
    int idx = find_task_index(r->ref->dag, tis[i].task_id);
    if (idx < 0) continue;
    struct sched_ti *ti = &r->tis[idx];
    if (tis[i].map_index >= 0) {
      /* A mapped instance marked by hand (sched_mark.c). */
      if ((size_t)tis[i].map_index >= ti->n_kids) continue;
      ti = &ti->kids[tis[i].map_index];
      if (dag_task_state_is_finished(tis[i].state) && !dag_task_state_is_finished(ti->state))
        rc = sched_mark_apply(ti, tis[i].state);
      if (rc) break;
      continue;
    }
    if (tis[i].state == DAG_TI_NONE && ti->state != DAG_TI_NONE && !ti->proc && !ti->orphan) {
      /* Cleared: a mapped task expands again (the store dropped its
       * instances). */
      sched_map_free(ti);
      cancel_retry(ti);
      ti->state = DAG_TI_NONE;
      ti->try_number = tis[i].try_number;
      ti->max_tries = tis[i].max_tries;
    } else if (dag_task_state_is_finished(tis[i].state) && !dag_task_state_is_finished(ti->state)) {
      /* Marked by hand (sched_mark.c). */
      if ((rc = sched_mark_apply(ti, tis[i].state)) != 0) break;
    }
  }
  if (rc) {
    dag_store_tis_free(tis, n);
    return rc;
  }
  /* Ended by hand, or a cancelled backfill's queued run. */
  if ((run_state == DAG_RUN_SUCCESS || run_state == DAG_RUN_FAILED) && !r->done) {
    dag_store_tis_free(tis, n);
    sched_run_end_elsewhere(r, run_state, true);
    return 0;
  }
  dag_store_tis_free(tis, n);
  dag_time_t now = sched_now(s);
  rc = sched_map_settle(r, now);
  if (rc) return rc;
  recount(r);
  /* The clear queued the run again; it is already running here. */
  if (r->state == DAG_RUN_RUNNING)
    rc = dag_store_set_run_state(s->store, r->pk, DAG_RUN_RUNNING, 0, 0);
  if (rc == 0 && r->state == DAG_RUN_RUNNING) rc = settle(r, now);
  if (rc == 0) rc = check_done(r, now);
  if (rc == 0) run_release_if_idle(r);
  return rc;
}

/* --- work items ------------------------------------------------------------------------------ */

int sched_run_work(struct dag_scheduler *s, struct sched_work *w) {
  switch (w->kind) {
  case SCHED_WORK_TASK_EXIT:
    return task_exit_work(s, w);
  case SCHED_WORK_SERVICE_READY:
    return service_ready_work(w->ti);
  case SCHED_WORK_START_RUNS:
    return start_runs_work(w->sd);
  case SCHED_WORK_LOAD_RUN: {
    if (s->stopping) return 0;
    int rc = sched_run_load(s, w->sd, w->sd->ref, w->pk);
    if (rc == DAG_ELOCKED) return rc;
    if (rc) {
      sched_store_broken(s, "load run", rc);
      return 0;
    }
    sched_store_ok(s);
    sched_post_dag(w->sd, SCHED_WORK_START_RUNS);
    return 0;
  }
  case SCHED_WORK_ONE_DONE:
    if (s->one_done && !s->store_failed) s->one_done(s->one_ctx, w->state);
    return 0;
  case SCHED_WORK_REAP:
    return sched_queue_reap_work(s);
  case SCHED_WORK_RUN_TIMEOUT:
    return sched_run_timeout_work(s, w);
  case SCHED_WORK_DEADLINE:
    return sched_deadline_work(s);
  default:
    return 0;
  }
}

/* --- shutdown ------------------------------------------------------------------------------- */

/* `dagctl scheduler` leaves shell and exec tasks to their supervisors: the
 * next start adopts them. Plugin tasks and services need this scheduler (the
 * readiness pipe, the embedded Kafka cluster), so they are stopped, and
 * their tries recorded as interrupted (sched_on_task_exit()); so is every
 * task of `dagctl test`, whose user asked for its end. */
/* `dagctl scheduler` leaves shell and exec tasks to their supervisors: the
 * next start adopts them. Plugin tasks and services need this scheduler (the
 * readiness pipe, the embedded Kafka cluster), so they are stopped, and
 * their tries recorded as interrupted; so is every task of `dagctl test`,
 * whose user asked for its end. */
void sched_run_terminate_all(struct dag_scheduler *s) {
  for (size_t i = 0; i < s->n_dags; i++) {
    struct sched_run *r = s->dags[i]->runs;
    while (r) {
      struct sched_run *next = r->next;
      /* Closed while the loop still runs; the next start re-arms it. */
      sched_run_timeout_disarm(r);
      for (struct sched_ti *ti = sched_ti_next(r, NULL); ti; ti = sched_ti_next(r, ti)) {
        size_t k = ti->idx;
        cancel_retry(ti);
        if (ti->on_worker && !ti->end_posted) {
          /* A worker runs it; the next start counts it again. */
          ti->on_worker = false;
          r->live--;
        }
        if (ti->proc && s->service && s->ops.release && !ti->service &&
            r->ref->dag->tasks[k].type != DAG_TASK_PLUGIN) {
          LOG_INFO("leaving a running task to its supervisor dag=%s run=%s task=%s try=%d "
                   "pid=%d", r->sd->dag_id, r->run_id, r->ref->dag->tasks[k].id,
                   ti->try_number, ti->proc->pid);
          s->ops.release(ti->proc);
          ti->proc = NULL;
          sched_task_close_ready(ti);
          r->live--;
        } else if (ti->proc) {
          s->ops.terminate(ti->proc);
        }
        if (ti->orphan) {
          /* Still recorded as running: the next start deals with it. */
          uv_timer_stop(&ti->orphan->timer);
          uv_close((uv_handle_t *)&ti->orphan->timer, orphan_closed);
          ti->orphan = NULL;
          r->live--;
        }
      }
      r = next;
    }
  }
}
