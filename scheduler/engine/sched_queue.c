/* sched_queue.c - core.executor: workers, the scheduler's side. A ready
 * task's try is queued in the store (task_claim) instead of spawned; a
 * `dagctl worker` claims and runs it (worker.c) and reports its end there;
 * the scheduler takes that end as it takes a process's exit, through the
 * same work item, so retries, trigger rules, alerts and run ends are the
 * local mode's. A worker that stops heartbeating for core.worker_timeout
 * has its tries taken back here and ended as lost: failed, and retried
 * when the task has retries left, on whichever worker claims the retry.
 *
 * Wake-ups: the scheduler touches DAGCTL_HOME/worker-wakeup after queuing,
 * and a worker touches DAGCTL_HOME/wakeup after an end, for processes on
 * the same machine; on PostgreSQL the transactions that queue and end a
 * try also NOTIFY the other side, wherever it runs (listen.h). Both sides
 * also look at the store periodically. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "log.h"
#include "plugin_rules.h"
#include "plugins.h"
#include "sched_int.h"

#define DEFAULT_QUEUE "default"

char *sched_queue_wake_path(const char *home) {
  return xasprintf("%s/worker-wakeup", home);
}

bool sched_queue_wants(const struct sched_ti *ti) {
  const struct sched_run *r = ti->run;
  const struct dag_scheduler *s = r->sd->s;
  if (!s->cfg->executor_workers || !s->service) return false;
  /* The workers' claims name a task's own instance only: a mapped
   * instance runs here. */
  if (ti->map_index >= 0) return false;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  if (t->type != DAG_TASK_PLUGIN) return true;
  const struct dag_plugin_type *pt = dag_plugin_catalog_find(s->plugins, t->type_name);
  return !dag_plugin_may_serve(pt) && dag_plugin_stop_key(pt) == NULL;
}

int sched_queue_try(struct sched_ti *ti, dag_time_t now, const char *log_rel) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  int rc = dag_store_queue_try(s->store, r->pk, t->id, ti->try_number,
                               t->queue ? t->queue : DEFAULT_QUEUE, t->type_name, log_rel, now);
  if (rc) return rc;
  ti->state = DAG_TI_QUEUED;
  ti->on_worker = true;
  ti->end_posted = false;
  r->live++;
  s->running_tasks++;
  r->sd->running_tasks++;
  s->tasks_started++;
  s->queued_new = true;
  LOG_DEBUG("task queued for the workers dag=%s run=%s task=%s try=%d queue=%s",
            r->sd->dag_id, r->run_id, t->id, ti->try_number,
            t->queue ? t->queue : DEFAULT_QUEUE);
  return 0;
}

bool sched_queue_revive(struct sched_ti *ti, int *rc) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  struct dag_store_claim c;
  *rc = dag_store_claim_of_try(s->store, r->pk, t->id, ti->try_number, &c);
  if (*rc == DAG_ENOTFOUND) {
    *rc = 0;
    return false;
  }
  dag_store_claim_clear(&c);
  if (*rc) return true;
  /* Queued, running on a worker, or ended and not yet recorded (the end is
   * taken by the next look at the claims): it is the workers' either way. */
  ti->on_worker = true;
  ti->end_posted = false;
  r->live++;
  s->running_tasks++;
  r->sd->running_tasks++;
  return true;
}

int sched_queue_take_ends(struct dag_scheduler *s) {
  struct dag_store_claim *c = NULL;
  size_t n = 0;
  int rc = dag_store_claims_done(s->store, &c, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct sched_run *r = sched_find_run(s, c[i].run_pk);
    long idx = r ? dag_find_task(r->ref->dag, c[i].task_id) : -1;
    struct sched_ti *ti = idx >= 0 ? &r->tis[idx] : NULL;
    if (ti && ti->end_posted && ti->try_number == c[i].try_number) continue;
    if (!ti || !ti->on_worker || ti->try_number != c[i].try_number) {
      /* Its run is not ours (not loaded yet, or finished): a run loaded
       * later finds the claim in revive(); a finished one never needs it. */
      if (r) {
        LOG_WARN("a worker's report for a try not waiting for one, ignored run_pk=%lld "
                 "task=%s try=%d", (long long)c[i].run_pk, c[i].task_id, c[i].try_number);
        rc = dag_store_claim_recorded(s->store, c[i].id);
      }
      continue;
    }
    struct sched_work w;
    memset(&w, 0, sizeof(w));
    w.kind = SCHED_WORK_TASK_EXIT;
    w.ti = ti;
    w.status = c[i].exit_status;
    w.sig = c[i].term_signal;
    w.timed_out = c[i].timed_out;
    w.lost = c[i].lost != NULL;
    w.why = c[i].lost ? xstrdup(c[i].lost) : NULL;
    w.claim_id = c[i].id;
    ti->end_posted = true;
    sched_post(s, &w);
  }
  dag_store_claims_free(c, n);
  return rc;
}

/* Queued tries that no live worker serves (their queue, their task type)
 * wait without end: each is logged once and its task instance says why,
 * once it has waited a worker timeout (workers may still be starting). */
static int report_stranded(struct dag_scheduler *s) {
  struct dag_store_claim *c = NULL;
  size_t n = 0;
  int rc = dag_store_claims_stranded(s->store, sched_now(s) - s->cfg->worker_timeout_us, &c, &n);
  if (rc) return rc;
  int64_t *now_stranded = n ? xcalloc(n, sizeof(*now_stranded)) : NULL;
  for (size_t i = 0; i < n && rc == 0; i++) {
    now_stranded[i] = c[i].id;
    bool known = false;
    for (size_t k = 0; k < s->n_stranded && !known; k++) known = s->stranded[k] == c[i].id;
    if (known) continue;
    /* Only the scheduler that drives the run says so. */
    struct sched_run *r = sched_find_run(s, c[i].run_pk);
    if (!r) continue;
    char *why = xasprintf("queued: no live worker serves queue '%s' with task type '%s' "
                          "(dagctl worker --queues %s, on a machine with that type)",
                          c[i].queue, c[i].task_type, c[i].queue);
    LOG_WARN("task waits for a worker that none is: no live worker serves its queue with its "
             "task type dag=%s run=%s task=%s try=%d queue=%s type=%s", r->sd->dag_id,
             r->run_id, c[i].task_id, c[i].try_number, c[i].queue, c[i].task_type);
    rc = dag_store_ti_set_waiting(s->store, c[i].run_pk, c[i].task_id, c[i].try_number, why);
    free(why);
  }
  dag_store_claims_free(c, n);
  if (rc) {
    free(now_stranded);
    return rc;
  }
  free(s->stranded);
  s->stranded = now_stranded;
  s->n_stranded = n;
  return 0;
}

int sched_queue_reap_work(struct dag_scheduler *s) {
  if (s->stopping) return 0;
  uint64_t timeout_ms = (uint64_t)(s->cfg->worker_timeout_us / 1000);
  if (uv_now(s->loop) < s->reap_workers_after) return 0;
  size_t workers = 0, tries = 0;
  int rc = dag_store_reap_workers(s->store, sched_now(s), s->cfg->worker_timeout_us, &workers,
                                  &tries);
  if (rc == DAG_ELOCKED) return rc;
  if (rc && dag_store_kind(s->store) == DAG_STORE_POSTGRESQL) {
    /* The server went away: workers cannot heartbeat either. Judge them
     * again once this scheduler has been connected for a whole timeout. */
    LOG_WARN("cannot look for silent workers error=\"%s\"", dag_strerror(rc));
    s->reap_workers_after = uv_now(s->loop) + timeout_ms;
    return 0;
  }
  if (rc) {
    sched_store_broken(s, "reap workers", rc);
    return 0;
  }
  if (workers) {
    LOG_WARN("workers stopped heartbeating; their tries are failed and retried elsewhere "
             "workers=%zu tries=%zu timeout_ms=%lld", workers, tries,
             (long long)(s->cfg->worker_timeout_us / 1000));
    struct sched_work w = {.kind = SCHED_WORK_EVENTS};
    sched_post(s, &w);
  }
  if ((rc = report_stranded(s)) != 0 && rc != DAG_ELOCKED)
    LOG_WARN("cannot look for tries no worker serves error=\"%s\"", dag_strerror(rc));
  return rc == DAG_ELOCKED ? rc : 0;
}

static void on_reap_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  struct sched_work w = {.kind = SCHED_WORK_REAP};
  sched_post(s, &w);
  sched_dispatch(s);
}

void sched_queue_start(struct dag_scheduler *s) {
  if (!s->cfg->executor_workers) return;
  /* A fifth of the timeout: a silent worker is noticed between 1 and 1.2
   * timeouts after its last heartbeat. */
  uint64_t every = (uint64_t)(s->cfg->worker_timeout_us / 1000 / 5);
  if (every < 100) every = 100;
  uv_timer_init(s->loop, &s->reap_timer);
  s->reap_timer.data = s;
  s->reap_on = true;
  uv_timer_start(&s->reap_timer, on_reap_timer, every, every);
  /* Judge no worker before being connected for a whole timeout: after a
   * restart of the database (and of this scheduler) they may just be
   * reconnecting. */
  s->reap_workers_after = uv_now(s->loop) + (uint64_t)(s->cfg->worker_timeout_us / 1000);
  char *wake = sched_queue_wake_path(s->cfg->home);
  int fd = open(wake, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
  free(wake);
  LOG_INFO("tasks go to the workers (core.executor: workers) worker_timeout_ms=%lld",
           (long long)(s->cfg->worker_timeout_us / 1000));
}

void sched_queue_stop(struct dag_scheduler *s) {
  if (s->reap_on) sched_close_handle(s, (uv_handle_t *)&s->reap_timer);
  s->reap_on = false;
  free(s->stranded);
  s->stranded = NULL;
  s->n_stranded = 0;
}

void sched_queue_notify(struct dag_scheduler *s) {
  s->queued_new = false;
  char *wake = sched_queue_wake_path(s->cfg->home);
  int fd = open(wake, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  free(wake);
  if (fd < 0) return;
  /* The write is what inotify reports; the content is unused. */
  ssize_t w = write(fd, "1\n", 2);
  DAG_UNUSED(w);
  close(fd);
}
