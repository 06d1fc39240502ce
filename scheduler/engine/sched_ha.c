/* sched_ha.c - several schedulers on one PostgreSQL state, all active.
 *
 * Each active run is driven by one scheduler, the one whose id its row
 * holds (dag_store_claim_run(): a conditional UPDATE under the row's lock,
 * so two schedulers never both take it). A scheduler loads a run only after
 * claiming it, so only its owner starts its tasks; tasks themselves go to
 * workers (core.executor: workers), whose claims and tokens make a try
 * start once whoever queued it. Scheduled runs are created under the run's
 * unique key (dag_id, run_id): the second creator finds it taken and moves
 * on. Triggered runs, and the runs of a scheduler that stopped or went
 * silent for core.scheduler_timeout (declared gone by any other, in one
 * transaction), have no owner: every scheduler looks for such runs when it
 * wakes or polls and takes them over. Events (triggers, clears, pauses) are
 * read by every scheduler, each from where it left off, and dropped once
 * all active ones have read them.
 *
 * A scheduler declared gone while it still runs (cut off from the database
 * longer than the timeout) stops at its next heartbeat. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "timeutil.h"

static void on_ha_timer(uv_timer_t *t);

int sched_ha_start(struct dag_scheduler *s) {
  if (dag_store_kind(s->store) != DAG_STORE_POSTGRESQL || !s->cfg->executor_workers) return 0;
  char host[256];
  if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "unknown");
  host[sizeof(host) - 1] = '\0';
  uint64_t salt = uv_hrtime();
  free(s->sched_id);
  s->sched_id = xasprintf("%s:%d:%08llx", host, (int)getpid(),
                          (unsigned long long)((salt ^ (salt >> 29)) & 0xffffffffu));
  int rc = dag_store_last_event_id(s->store, &s->events_seen);
  if (rc == 0) rc = dag_store_scheduler_register(s->store, s->sched_id, host, dag_time_now());
  if (rc) return rc;
  s->ha = true;
  uint64_t every = (uint64_t)(s->cfg->scheduler_timeout_us / 1000 / 5);
  if (every < 50) every = 50;
  uv_timer_init(s->loop, &s->ha_timer);
  s->ha_timer.data = s;
  s->ha_on = true;
  uv_timer_start(&s->ha_timer, on_ha_timer, every, every);
  s->reap_schedulers_after = uv_now(s->loop) + (uint64_t)(s->cfg->scheduler_timeout_us / 1000);
  LOG_INFO("one of several schedulers on this state scheduler=%s scheduler_timeout_ms=%lld",
           s->sched_id, (long long)(s->cfg->scheduler_timeout_us / 1000));
  return 0;
}

void sched_ha_stop(struct dag_scheduler *s) {
  if (!s->ha_on) return;
  s->ha_on = false;
  sched_close_handle(s, (uv_handle_t *)&s->ha_timer);
  /* Its runs go to the others at once rather than after the timeout. A
   * failure here only delays that. */
  int rc = dag_store_scheduler_stopped(s->store, s->sched_id, dag_time_now());
  if (rc)
    LOG_WARN("cannot free this scheduler's runs; the others take them after "
             "core.scheduler_timeout scheduler=%s error=\"%s\"", s->sched_id, dag_strerror(rc));
}

int sched_ha_claim_run(struct dag_scheduler *s, int64_t pk) {
  if (!s->ha) return 0;
  return dag_store_claim_run(s->store, pk, s->sched_id);
}

int sched_ha_events(struct dag_scheduler *s, struct dag_store_event **ev, size_t *n) {
  /* A PostgreSQL sequence hands out ids at insert time, so an event that
   * commits late can carry an id below one already read and be missed;
   * the runs it concerns are found by the adoption below all the same
   * (a triggered or cleared run has no owner or is already ours). */
  return dag_store_events_after(s->store, s->events_seen, ev, n, &s->events_seen);
}

int sched_ha_adopt_runs(struct dag_scheduler *s) {
  if (!s->ha || s->stopping) return 0;
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  int rc = dag_store_list_unowned_runs(s->store, &runs, &n);
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct sched_dag *sd = sched_find_dag(s, runs[i].dag_id);
    if (!sd || !sd->ref || sched_find_run(s, runs[i].pk)) continue;
    LOG_INFO("taking over a run no scheduler drives dag=%s run=%s scheduler=%s", runs[i].dag_id,
             runs[i].run_id, s->sched_id);
    rc = sched_run_load(s, sd, sd->ref, runs[i].pk);
    sched_post_dag(sd, SCHED_WORK_START_RUNS);
  }
  dag_store_runs_free(runs, n);
  return rc;
}

/* Heartbeat, then declare silent schedulers gone; their runs are taken
 * over by the next look for unowned runs (posted here). */
static void on_ha_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  if (s->stopping) return;
  dag_time_t now = dag_time_now();
  int rc = dag_store_scheduler_heartbeat(s->store, s->sched_id, s->events_seen, now);
  if (rc == DAG_ECLAIM) {
    /* Another scheduler has freed our runs and may drive them now: going
     * on would drive them twice. */
    LOG_ERROR("this scheduler was declared gone (silent longer than core.scheduler_timeout); "
              "stopping so that its runs are driven once scheduler=%s", s->sched_id);
    s->ha_on = false;
    uv_close((uv_handle_t *)&s->ha_timer, NULL);
    s->store_failed = true;
    dag_scheduler_shutdown(s, NULL, NULL);
    return;
  }
  uint64_t timeout_ms = (uint64_t)(s->cfg->scheduler_timeout_us / 1000);
  if (rc) {
    if (rc != DAG_ELOCKED)
      LOG_WARN("scheduler heartbeat not recorded scheduler=%s error=\"%s\"", s->sched_id,
               dag_strerror(rc));
    /* The others could not heartbeat either: judge them a timeout later. */
    s->reap_schedulers_after = uv_now(s->loop) + timeout_ms;
    return;
  }
  if (uv_now(s->loop) < s->reap_schedulers_after) return;
  size_t gone = 0;
  rc = dag_store_reap_schedulers(s->store, now, s->cfg->scheduler_timeout_us, &gone);
  if (rc == 0 && gone) {
    LOG_WARN("schedulers stopped heartbeating; their runs are taken over schedulers=%zu", gone);
    struct sched_work w = {.kind = SCHED_WORK_EVENTS};
    sched_post(s, &w);
    sched_dispatch(s);
  }
}
