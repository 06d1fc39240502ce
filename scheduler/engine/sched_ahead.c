/* sched_ahead.c - the files of the tries likely to start next, made while
 * the running ones run.
 *
 * Each try needs three new inodes: its log folder (logs/DAG/RUN/TASK), its
 * log, and its status file (executor.h). Made when the try starts, all
 * three sit on a chain's critical path, between one task's end and the
 * next one's start, and creating an inode is the slowest step there: on
 * ext4, 0.1 to over 1 ms each once other work has deleted many files
 * (bench/README.md, "Engine overhead"). So when a try is started, the
 * scheduler notes the tries likely to follow it (each downstream task
 * whose one unfinished upstream is the task just started, and the first
 * tries waiting in its run's ready queue), and a thread of its own makes
 * their folder, an empty log and an empty status file. A thread, not the
 * loop: made on the loop, those files kept a task's end waiting whenever
 * it came while they were being made (on a loaded machine, most of the
 * time). The thread only makes files from paths it owns; it never touches
 * the scheduler's state. When the try starts its files are there, or the
 * start makes them as before (O_CREAT, and mkdir's EEXIST, agree with the
 * thread whichever comes first).
 *
 * Nothing reads those files before the try is recorded: the log of a try
 * is found through its record, and an empty status file reads as none at
 * all (a try that never started: dag_proc_read_status(), has_status() in
 * sched_run.c). A guess that turns out wrong (the upstream failed) leaves
 * an empty log and status file that no record names; they go with the
 * run's logs (sched_delete.c waits for the thread before removing them). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "fsutil.h"
#include "log.h"
#include "sched_int.h"

/* How many tries are noted at a start, of its downstream tasks and of
 * its run's ready queue: those that take the next free slots. */
#define AHEAD_QUEUED 4

static int make_empty(const char *path) {
  /* Never O_TRUNC: the try may have started meanwhile and written it. */
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}

static void make(const struct sched_ahead_job *job) {
  int rc = dag_fs_mkdir_parents(job->log);
  if (rc == 0) rc = make_empty(job->log);
  if (rc == 0) rc = make_empty(job->status);
  /* Only a head start: the try's start makes what is missing, and says
   * why it cannot. */
  if (rc)
    LOG_DEBUG("cannot make a try's files ahead path=%s error=\"%s\"", job->log, strerror(-rc));
}

static void *ahead_main(void *arg) {
  struct sched_ahead *a = arg;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    while (a->len == 0 && !a->quit) pthread_cond_wait(&a->wake, &a->mu);
    if (a->quit) break;
    struct sched_ahead_job job = a->jobs[a->head];
    a->head = (a->head + 1) % SCHED_AHEAD_MAX;
    a->len--;
    a->busy = true;
    pthread_mutex_unlock(&a->mu);
    make(&job);
    free(job.log);
    free(job.status);
    pthread_mutex_lock(&a->mu);
    a->busy = false;
    if (a->len == 0) pthread_cond_broadcast(&a->idle);
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

static bool waits_to_start(const struct sched_ti *ti) {
  /* A mapped task's own entry never runs a try: its instances do, once
   * it is expanded (sched_map.c). */
  bool mapped = ti->map_index < 0 && ti->run->ref->dag->tasks[ti->idx].n_expand > 0;
  return !mapped && !ti->absent && !ti->proc && !ti->orphan && !ti->on_worker &&
         (ti->state == DAG_TI_NONE || ti->state == DAG_TI_SCHEDULED ||
          ti->state == DAG_TI_UP_FOR_RETRY);
}

/* Note ti's next try; returns whether it was noted. */
static bool push(struct dag_scheduler *s, struct sched_ti *ti) {
  struct sched_ahead *a = &s->ahead;
  int next = ti->try_number + 1;
  if (ti->ahead_try == next || !waits_to_start(ti) || sched_queue_wants(ti)) return false;
  if (!a->started) {
    int rc = pthread_create(&a->thread, NULL, ahead_main, a);
    if (rc) {
      LOG_DEBUG("cannot start the thread that makes tries' files ahead error=\"%s\"", strerror(rc));
      return false;
    }
    a->started = true;
  }
  char *rel = sched_log_rel_path(ti, next);
  struct sched_ahead_job job = {xasprintf("%s/logs/%s", s->cfg->home, rel),
                                sched_status_path(ti, next)};
  free(rel);
  pthread_mutex_lock(&a->mu);
  bool room = a->len < SCHED_AHEAD_MAX;
  if (room) {
    a->jobs[(a->head + a->len) % SCHED_AHEAD_MAX] = job;
    a->len++;
    pthread_cond_signal(&a->wake);
  }
  pthread_mutex_unlock(&a->mu);
  if (!room) { /* made at its start, as without this */
    free(job.log);
    free(job.status);
    return false;
  }
  ti->ahead_try = next;
  return true;
}

void sched_ahead_started(struct sched_ti *started) {
  struct sched_run *r = started->run;
  struct dag_scheduler *s = r->sd->s;
  if (s->stopping || r->deleting) return;
  const struct dag_task *t = &r->ref->dag->tasks[started->idx];
  /* A few: a task with thousands of downstream tasks starts them a few
   * at a time (parallelism), and the ready queue's head is noted at each
   * start. */
  int noted = 0;
  for (size_t k = 0; k < t->n_downstream && noted < AHEAD_QUEUED; k++) {
    struct sched_ti *d = &r->tis[t->downstream[k]];
    /* Its last upstream not finished is the one just started. */
    if (d->state == DAG_TI_NONE && d->up.total == d->up.done + 1) noted += push(s, d);
  }
  /* The ready queue is a heap (sched_pool.c): its first entries are the
   * next to start, or near it. */
  for (size_t i = 0; i < r->ready_len && i < AHEAD_QUEUED; i++) push(s, r->ready[i]);
}

void sched_ahead_drain(struct dag_scheduler *s) {
  struct sched_ahead *a = &s->ahead;
  if (!a->started) return;
  pthread_mutex_lock(&a->mu);
  while (a->len || a->busy) pthread_cond_wait(&a->idle, &a->mu);
  pthread_mutex_unlock(&a->mu);
}

void sched_ahead_init(struct dag_scheduler *s) {
  struct sched_ahead *a = &s->ahead;
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->wake, NULL);
  pthread_cond_init(&a->idle, NULL);
}

void sched_ahead_stop(struct dag_scheduler *s) {
  struct sched_ahead *a = &s->ahead;
  if (!a->started) return;
  pthread_mutex_lock(&a->mu);
  a->quit = true;
  pthread_cond_signal(&a->wake);
  pthread_mutex_unlock(&a->mu);
  /* At most one job's files to wait for. */
  pthread_join(a->thread, NULL);
  a->started = false;
  for (; a->len; a->len--) {
    free(a->jobs[a->head].log);
    free(a->jobs[a->head].status);
    a->head = (a->head + 1) % SCHED_AHEAD_MAX;
  }
}

void sched_ahead_free(struct dag_scheduler *s) {
  struct sched_ahead *a = &s->ahead;
  sched_ahead_stop(s);
  pthread_cond_destroy(&a->idle);
  pthread_cond_destroy(&a->wake);
  pthread_mutex_destroy(&a->mu);
}
