/* worker.c - `dagctl worker`: claim queued tries, run them under their
 * supervisors, report their ends with the claim's token (worker.h).
 *
 * A claimed try is turned into a process by sched_task_spawn(), the
 * scheduler's own path (templates, environment, log, supervisor), given the
 * few scheduler, run and task instance fields it reads: one way to run a
 * task, whichever process claimed it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "duration.h"
#include "error.h"
#include "listen.h"
#include "log.h"
#include "runs.h"
#include "sched_int.h"
#include "timeutil.h"
#include "worker.h"

extern char **environ;

/* Stored DAG versions kept deserialized; a try of another version reads
 * and parses its version once more. */
#define VERSION_CACHE 32

struct worker_try {
  struct dag_worker *w;
  struct dag_store_claim claim; /* owned */
  /* What sched_task_spawn() reads. */
  struct sched_dag sd;
  struct sched_run run;
  struct sched_ti ti;
  dag_time_t started;
  bool ended;   /* its process has exited; `claim` holds the outcome */
  struct dag_store_usage usage; /* what the try cost, from its supervisor; known: recorded */
  bool refused; /* the claim was taken back: stop it, report nothing */
  json_t *xcom; /* a succeeded try's XCom values, stored with its end */
  struct worker_try *next, *prev;
};

struct version_ref {
  int64_t id;
  struct dag_ref *ref;
};

struct dag_worker {
  uv_loop_t *loop;
  const struct dag_config *cfg;
  dag_store *store;
  struct dag_scheduler sched; /* the parts of a scheduler tasks are spawned with */
  char *id, *host;
  char *log_url; /* NULL: no log server */
  void (*log_done)(void *ctx, int64_t claim_id, const char *log_path);
  void *log_done_ctx;
  char **queues, **types;
  size_t n_queues, n_types;
  int concurrency;
  unsigned poll_ms;   /* between looks at the store without a wake-up */
  unsigned safety_ms; /* the same while listening (PostgreSQL): a safety net */
  struct dag_listen *listen; /* PostgreSQL: wake-ups; NULL on SQLite */
  int running; /* tries in `tries`: running, or ended with the end unreported */
  struct worker_try *tries;
  struct version_ref cache[VERSION_CACHE];
  size_t cache_next;
  uv_timer_t poll_timer, beat_timer;
  uv_idle_t ends_idle; /* active: ended tries wait to be reported together */
  uv_fs_event_t wake;
  bool wake_on, started, stopping, closing, registered_gone;
  int open_handles;
  void (*closed_cb)(void *ctx);
  void *closed_ctx;
};

static char **copy_names(const char *const *v, size_t n) {
  char **out = xcalloc(n + 1, sizeof(*out));
  for (size_t i = 0; i < n; i++) out[i] = xstrdup(v[i]);
  return out;
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++) free(v[i]);
  free(v);
}

static char *names_json(char **v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  char *text = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  return text;
}

const char *dag_worker_id(const struct dag_worker *w) {
  return w->id;
}

/* A 64-bit random value for the worker's id: two workers started on one
 * host in one pid's lifetime (containers) still differ. */
static uint64_t random64(void) {
  uint64_t v = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, &v, sizeof(v));
    DAG_UNUSED(n);
    close(fd);
  }
  return v ^ uv_hrtime();
}

static void on_try_exit(struct dag_proc *p, int64_t status, int sig, bool timed_out);

/* sched_task_spawn() passes the scheduler's exit callback; a worker's
 * tries end here instead. */
static int worker_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                        dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out) {
  DAG_UNUSED(exit_cb);
  return dag_proc_spawn(loop, spec, on_try_exit, data, out);
}

int dag_worker_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                   const struct dag_worker_options *opts, struct dag_worker **out) {
  struct dag_worker *w = xcalloc(1, sizeof(*w));
  w->loop = loop;
  w->cfg = cfg;
  w->store = store;
  w->queues = copy_names(opts->queues, opts->n_queues);
  w->n_queues = opts->n_queues;
  w->types = copy_names(opts->types, opts->n_types);
  w->n_types = opts->n_types;
  w->concurrency = opts->concurrency > 0 ? opts->concurrency : 1;
  w->log_url = opts->log_url ? xstrdup(opts->log_url) : NULL;
  w->log_done = opts->log_done;
  w->log_done_ctx = opts->log_done_ctx;
  /* On PostgreSQL the database is how a worker on another machine hears
   * of queued tries; on SQLite a wake-up file is, beside the scheduler. */
  w->poll_ms = opts->poll_ms                                      ? opts->poll_ms
               : dag_store_kind(store) == DAG_STORE_POSTGRESQL ? 200
                                                                : 1000;
  /* LISTEN/NOTIFY wakes it once listening; the look stays, rarely. */
  w->safety_ms = (unsigned)(cfg->state_poll_interval_us / 1000);
  if (w->safety_ms < w->poll_ms) w->safety_ms = w->poll_ms;
  char host[256];
  if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "unknown");
  host[sizeof(host) - 1] = '\0';
  w->host = xstrdup(host);
  w->id = xasprintf("%s:%d:%08llx", host, (int)getpid(),
                    (unsigned long long)(random64() & 0xffffffffu));

  struct dag_scheduler *s = &w->sched;
  s->loop = loop;
  s->cfg = cfg;
  s->store = store;
  s->service = true;
  s->base_env = environ;
  s->ops.spawn = worker_spawn;
  s->ops.terminate = dag_proc_terminate;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  s->self_exe = xstrndup(exe, n > 0 ? (size_t)n : 0);
  if (dag_supervisor_path(&s->supervisor) != 0) s->supervisor = xstrdup("dagctl-supervise");
  /* No later worker adopts a try of this one: they end with it. */
  s->pool.tied = true;
  *out = w;
  return 0;
}

/* --- DAGs from their stored versions ---------------------------------------------- */

static int version_ref(struct dag_worker *w, int64_t id, struct dag_ref **out) {
  for (size_t i = 0; i < VERSION_CACHE; i++)
    if (w->cache[i].ref && w->cache[i].id == id) {
      *out = dag_ref_get(w->cache[i].ref);
      return 0;
    }
  struct dag_ref *ref = NULL;
  int rc = dag_ref_from_version(w->store, id, &ref);
  if (rc) return rc;
  struct version_ref *slot = &w->cache[w->cache_next++ % VERSION_CACHE];
  dag_ref_put(slot->ref);
  slot->id = id;
  slot->ref = dag_ref_get(ref);
  *out = ref;
  return 0;
}

/* --- tries --------------------------------------------------------------------------- */

static void try_unlink_free(struct worker_try *t) {
  struct dag_worker *w = t->w;
  if (t->prev)
    t->prev->next = t->next;
  else
    w->tries = t->next;
  if (t->next) t->next->prev = t->prev;
  w->running--;
  dag_store_claim_clear(&t->claim);
  free(t->sd.dag_id);
  free(t->run.run_id);
  json_decref(t->run.conf);
  dag_ref_put(t->run.ref);
  json_decref(t->xcom);
  free(t);
}

static void maybe_closed(struct dag_worker *w);
static void claim_more(struct dag_worker *w);
static void on_poll_timer(uv_timer_t *h);

/* Report every ended try, in one transaction: their ends in one statement,
 * each under its claim's token, then the XCom values and the usage of
 * those accepted. 0 when done with them (recorded, or refused and logged,
 * and freed); DAG_ELOCKED or a store error to try them all again later. */
static int report_ends(struct dag_worker *w) {
  size_t n = 0;
  for (struct worker_try *t = w->tries; t; t = t->next) n += t->ended;
  if (n == 0) return 0;
  struct worker_try **batch = xcalloc(n, sizeof(*batch));
  const struct dag_store_claim **claims = xcalloc(n, sizeof(*claims));
  bool *refused = xcalloc(n, sizeof(*refused));
  size_t k = 0;
  for (struct worker_try *t = w->tries; t; t = t->next)
    if (t->ended) {
      batch[k] = t;
      claims[k++] = &t->claim;
    }
  dag_time_t now = dag_time_now();
  /* An end and what its try stored and cost commit together, under the
   * claim's token: a refused end records neither. */
  int rc = dag_store_begin(w->store);
  if (rc == 0) rc = dag_store_claims_end(w->store, claims, n, now, refused);
  for (size_t i = 0; i < n && rc == 0; i++) {
    const struct worker_try *t = batch[i];
    if (refused[i]) continue;
    if (t->xcom)
      rc = sched_xcom_store(w->store, t->claim.run_pk, t->claim.task_id, -1, t->xcom, now);
    if (rc == 0 && t->usage.known)
      rc = dag_store_try_set_usage(w->store, t->claim.run_pk, t->claim.task_id, -1,
                                   t->claim.try_number, &t->usage);
  }
  if (rc == 0)
    rc = dag_store_commit(w->store);
  else
    dag_store_rollback(w->store);
  if (rc && rc != DAG_ELOCKED)
    LOG_ERROR("cannot record tries' ends, will try again worker=%s tries=%zu error=\"%s\"", w->id,
              n, dag_strerror(rc));
  size_t n_refused = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct worker_try *t = batch[i];
    if (refused[i]) {
      /* Another worker has (or will have) run it, or the scheduler took
       * it back (marked, timed out, deleted); this result must not
       * overwrite that. */
      n_refused++;
      LOG_WARN("late result refused: the try was taken from this worker (silent longer than "
               "core.worker_timeout, or the try marked, timed out or deleted) worker=%s run_pk=%lld task=%s try=%d exit=%lld "
               "batch=%zu", w->id, (long long)t->claim.run_pk, t->claim.task_id,
               t->claim.try_number, (long long)t->claim.exit_status, n);
      if (t->run.ref)
        sched_log_append(&w->sched, t->claim.log_path,
                         "[dagctl] result refused: the try was taken from worker %s\n", w->id);
    } else {
      LOG_DEBUG("try ended worker=%s run_pk=%lld task=%s try=%d exit=%lld signal=%d batch=%zu",
                w->id, (long long)t->claim.run_pk, t->claim.task_id, t->claim.try_number,
                (long long)t->claim.exit_status, t->claim.term_signal, n);
    }
    if (w->log_done) w->log_done(w->log_done_ctx, t->claim.id, t->claim.log_path);
    try_unlink_free(t);
  }
  /* Schedulers on this machine wake at once; others look periodically. */
  if (rc == 0 && n_refused < n) dag_scheduler_notify(w->cfg->home);
  free(batch);
  free(claims);
  free(refused);
  return rc;
}

/* Report what ended, then claim what the freed slots allow. */
static void after_ends(struct dag_worker *w) {
  if (report_ends(w) != 0) {
    /* Kept, reported again from the poll timer, soon even while listening. */
    uint64_t every = uv_timer_get_repeat(&w->poll_timer);
    if (uv_timer_get_due_in(&w->poll_timer) > w->poll_ms)
      uv_timer_start(&w->poll_timer, on_poll_timer, w->poll_ms, every);
  }
  if (!w->stopping) claim_more(w);
  maybe_closed(w);
}

static void on_ends_idle(uv_idle_t *h) {
  struct dag_worker *w = h->data;
  uv_idle_stop(h);
  after_ends(w);
}

/* The tries that end in one turn of the loop (their exits arrive together)
 * are reported together, from an idle callback: before the loop waits
 * again. */
static void try_done(struct worker_try *t) {
  struct dag_worker *w = t->w;
  t->ended = true;
  if (!uv_is_active((uv_handle_t *)&w->ends_idle)) uv_idle_start(&w->ends_idle, on_ends_idle);
}

static void on_try_exit(struct dag_proc *p, int64_t status, int sig, bool timed_out) {
  struct sched_ti *ti = p->data;
  struct worker_try *t = container_of(ti, struct worker_try, ti);
  struct dag_worker *w = t->w;
  ti->proc = NULL;
  sched_task_close_ready(ti);
  t->claim.exit_status = status;
  t->claim.term_signal = sig;
  t->claim.timed_out = timed_out;
  /* A status file of an older supervisor has no figures (wall time 0). */
  if (!p->lost && !p->unstarted && p->usage.wall_us > 0)
    t->usage = (struct dag_store_usage){.known = true,
                                        .max_rss_kb = p->usage.maxrss_kb,
                                        .user_us = p->usage.user_us,
                                        .sys_us = p->usage.sys_us,
                                        .wall_us = p->usage.wall_us};
  if (p->lost || p->unstarted) {
    free(t->claim.lost);
    t->claim.lost = xstrdup(p->lost ? "its supervisor ended without recording how the task ended"
                                    : "its supervisor ended before it got the try");
  }
  char took[32];
  dag_duration_format(dag_time_now() - t->started, took, sizeof(took));
  /* A succeeded try's XCom values go with its end; one it wrote wrong
   * fails it, as on the scheduler (sched_branch.c). */
  const struct dag_task *task = &t->run.ref->dag->tasks[t->ti.idx];
  if (!p->lost && !p->unstarted && status == 0 && sig == 0 && !timed_out &&
      !dag_task_skips_exit(task, 0)) {
    char *why = NULL;
    if (sched_xcom_collect(&t->ti, t->claim.try_number, &t->xcom, &why) != 0) {
      sched_log_append(&w->sched, t->claim.log_path, "[dagctl] try %d failed: %s\n",
                       t->claim.try_number, why);
      free(t->claim.lost);
      t->claim.lost = why;
    }
  }
  sched_log_append(&w->sched, t->claim.log_path,
                   "[dagctl] try %d ended on worker %s: exit %lld signal %d%s after %s\n",
                   t->claim.try_number, w->id, (long long)status, sig,
                   timed_out ? " (timed out)" : "", took);
  try_done(t);
}

/* A claimed try that cannot start: reported as lost with the reason, so
 * the scheduler fails it (retries apply) as it would fail a local try. */
static void try_cannot_start(struct worker_try *t, const char *why) {
  struct dag_worker *w = t->w;
  LOG_WARN("try could not start on this worker worker=%s run_pk=%lld task=%s try=%d why=\"%s\"",
           w->id, (long long)t->claim.run_pk, t->claim.task_id, t->claim.try_number, why);
  sched_log_append(&w->sched, t->claim.log_path, "[dagctl] could not start on worker %s: %s\n",
                   w->id, why);
  free(t->claim.lost);
  t->claim.lost = xasprintf("could not start on worker %s: %s", w->id, why);
  t->claim.exit_status = -1;
  try_done(t);
}

static void start_try(struct dag_worker *w, struct dag_store_claim *c) {
  struct worker_try *t = xcalloc(1, sizeof(*t));
  t->w = w;
  t->claim = *c; /* takes the strings */
  memset(c, 0, sizeof(*c));
  t->started = dag_time_now();
  t->next = w->tries;
  if (w->tries) w->tries->prev = t;
  w->tries = t;
  w->running++;

  /* Read with the claim on PostgreSQL: no round trip of its own. */
  struct dag_store_run row;
  int rc = 0;
  if (t->claim.run) {
    row = *t->claim.run; /* takes the strings */
    free(t->claim.run);
    t->claim.run = NULL;
  } else {
    rc = dag_store_get_run_by_pk(w->store, t->claim.run_pk, &row);
  }
  if (rc) {
    try_cannot_start(t, rc == DAG_ENOTFOUND ? "its run no longer exists"
                                             : "cannot read its run from the state store");
    return;
  }
  struct dag_ref *ref = NULL;
  if (!row.dag_version_id) rc = DAG_ENOTFOUND;
  else rc = version_ref(w, row.dag_version_id, &ref);
  long idx = rc == 0 ? dag_find_task(ref->dag, t->claim.task_id) : -1;
  if (rc || idx < 0) {
    dag_store_run_free(&row);
    dag_ref_put(ref);
    try_cannot_start(t, rc ? "its run has no readable stored DAG version"
                           : "its task is not in the run's DAG version");
    return;
  }
  t->sd.s = &w->sched;
  t->sd.dag_id = xstrdup(row.dag_id);
  t->run.sd = &t->sd;
  t->run.ref = ref;
  t->run.pk = row.pk;
  t->run.run_id = xstrdup(row.run_id);
  t->run.logical_date = row.logical_date;
  t->run.interval_start = row.data_interval_start;
  t->run.interval_end = row.data_interval_end;
  t->run.conf = json_loads(row.conf ? row.conf : "{}", 0, NULL);
  if (!t->run.conf) t->run.conf = json_object();
  dag_store_run_free(&row);
  t->ti.run = &t->run;
  t->ti.idx = (size_t)idx;
  /* A claim names a task's own instance: mapped ones run on a scheduler. */
  t->ti.map_index = -1;
  t->ti.try_number = t->claim.try_number;
  /* For the log's "try N of M": the task's retries as its DAG declares
   * them (a clear may have granted more). */
  t->ti.max_tries = ref->dag->tasks[idx].args.retries;
  char *err = NULL;
  rc = sched_task_spawn(&t->ti, &err);
  if (rc) {
    try_cannot_start(t, err ? err : dag_strerror(rc));
    free(err);
    return;
  }
  /* The claim records the try already: hand it over at once. A failure
   * comes back through on_try_exit(), unstarted. */
  dag_proc_start(t->ti.proc);
  LOG_INFO("try started worker=%s dag=%s run=%s task=%s try=%d pid=%d", w->id, t->sd.dag_id,
           t->run.run_id, t->claim.task_id, t->claim.try_number, t->ti.proc->pid);
}

static void claim_more(struct dag_worker *w) {
  while (!w->stopping && w->running < w->concurrency) {
    size_t limit = (size_t)(w->concurrency - w->running);
    struct dag_store_claim *c = NULL;
    size_t n = 0;
    int rc = dag_store_claim_tries(w->store, w->id, (const char *const *)w->queues, w->n_queues,
                                   (const char *const *)w->types, w->n_types, limit,
                                   dag_time_now(), &c, &n);
    if (rc) {
      if (rc != DAG_ELOCKED) {
        LOG_WARN("cannot claim tries, will look again worker=%s error=\"%s\"", w->id,
                 dag_strerror(rc));
      }
      return;
    }
    for (size_t i = 0; i < n; i++) start_try(w, &c[i]);
    dag_store_claims_free(c, n);
    if (n < limit) return;
  }
}

/* --- heartbeats ------------------------------------------------------------------------ */

static int register_self(struct dag_worker *w) {
  char *q = names_json(w->queues, w->n_queues), *ty = names_json(w->types, w->n_types);
  struct dag_store_worker row = {.id = w->id, .host = w->host, .queues = q, .task_types = ty,
                                 .concurrency = w->concurrency, .log_url = w->log_url};
  int rc = dag_store_worker_register(w->store, &row, dag_time_now());
  free(q);
  free(ty);
  return rc;
}

static void heartbeat(struct dag_worker *w) {
  dag_time_t now = dag_time_now();
  int rc = dag_store_begin(w->store);
  if (rc) return;
  rc = dag_store_worker_heartbeat(w->store, w->id, w->running, now);
  if (rc == DAG_ECLAIM || rc == DAG_ENOTFOUND) {
    /* Declared gone while it could not reach the store: its tries were
     * taken back (each is refused below); it serves again from now on. */
    LOG_WARN("this worker was declared gone (silent longer than core.worker_timeout); "
             "registering again worker=%s", w->id);
    rc = register_self(w);
  }
  for (struct worker_try *t = w->tries; t && rc == 0; t = t->next) {
    if (t->ended || t->refused || !t->ti.proc) continue;
    int hrc = dag_store_claim_heartbeat(w->store, t->claim.id, t->claim.token, now);
    if (hrc == DAG_ECLAIM) {
      t->refused = true;
      LOG_WARN("try taken from this worker, stopping it worker=%s run_pk=%lld task=%s try=%d",
               w->id, (long long)t->claim.run_pk, t->claim.task_id, t->claim.try_number);
      w->sched.ops.terminate(t->ti.proc);
    } else if (hrc) {
      rc = hrc;
    }
  }
  if (rc == 0)
    rc = dag_store_commit(w->store);
  else
    dag_store_rollback(w->store);
  if (rc && rc != DAG_ELOCKED) {
    LOG_WARN("heartbeat not recorded worker=%s error=\"%s\"", w->id, dag_strerror(rc));
  }
}

static void on_beat_timer(uv_timer_t *h) {
  heartbeat(h->data);
}

/* Ends the store refused for a while (locked, unreachable) are reported
 * again here, then more tries claimed. */
static void on_poll_timer(uv_timer_t *h) {
  struct dag_worker *w = h->data;
  report_ends(w);
  if (!w->stopping) claim_more(w);
  maybe_closed(w);
}

static void on_wake(uv_fs_event_t *h, const char *filename, int events, int status) {
  DAG_UNUSED(filename);
  DAG_UNUSED(events);
  if (status < 0) return;
  struct dag_worker *w = h->data;
  if (!w->stopping) claim_more(w);
}

/* Wake-ups from the database: a queued try, or the listener (back) up,
 * when anything may have been missed. While it is down the store is
 * looked at every poll_ms, as without one. */
static void on_listen(void *ctx, enum dag_listen_event ev, unsigned channels) {
  DAG_UNUSED(channels);
  struct dag_worker *w = ctx;
  if (w->stopping) return;
  unsigned every = ev == DAG_LISTEN_DOWN ? w->poll_ms : w->safety_ms;
  if (ev != DAG_LISTEN_NOTIFIED && uv_timer_get_repeat(&w->poll_timer) != every)
    uv_timer_start(&w->poll_timer, on_poll_timer, every, every);
  if (ev != DAG_LISTEN_DOWN) claim_more(w);
}

int dag_worker_start(struct dag_worker *w) {
  int rc = dag_store_home_id(w->store, &w->sched.home_id);
  if (rc) return rc;
  /* A store call waits this long for another writer: short, since the
   * loop waits with it; a locked store is retried from the timers. */
  dag_store_set_busy_timeout(w->store, 1000);
  if ((rc = register_self(w)) != 0) return rc;
  w->started = true;
  char *logs = xasprintf("%s/logs", w->cfg->home);
  mkdir(logs, 0755);
  free(logs);
  uv_timer_init(w->loop, &w->poll_timer);
  w->poll_timer.data = w;
  uv_timer_init(w->loop, &w->beat_timer);
  w->beat_timer.data = w;
  uv_idle_init(w->loop, &w->ends_idle);
  w->ends_idle.data = w;
  uint64_t beat = (uint64_t)(w->cfg->worker_timeout_us / 1000 / 5);
  if (beat < 50) beat = 50;
  uv_timer_start(&w->beat_timer, on_beat_timer, beat, beat);
  uv_timer_start(&w->poll_timer, on_poll_timer, w->poll_ms, w->poll_ms);
  char *wake = sched_queue_wake_path(w->cfg->home);
  int fd = open(wake, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
  if (uv_fs_event_init(w->loop, &w->wake) == 0) {
    w->wake.data = w;
    w->wake_on = true;
    if (uv_fs_event_start(&w->wake, on_wake, wake, 0) != 0)
      LOG_INFO("cannot watch the wake-up file; queued tries are noticed within %u ms",
               w->poll_ms);
  }
  free(wake);
  if (dag_store_kind(w->store) == DAG_STORE_POSTGRESQL &&
      (rc = dag_listen_start(w->loop, w->store, DAG_STORE_WAKE_WORKERS, on_listen, w,
                             &w->listen)) != 0)
    LOG_WARN("cannot listen for wake-ups; queued tries are noticed within %u ms error=\"%s\"",
             w->poll_ms, dag_strerror(rc));
  claim_more(w);
  return 0;
}

/* --- shutdown ---------------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h) {
  struct dag_worker *w = h->data;
  if (--w->open_handles == 0 && w->closed_cb) {
    void (*cb)(void *) = w->closed_cb;
    w->closed_cb = NULL;
    cb(w->closed_ctx);
  }
}

static void close_handle(struct dag_worker *w, uv_handle_t *h) {
  h->data = w;
  w->open_handles++;
  uv_close(h, handle_closed);
}

static void listen_closed(void *ctx) {
  struct dag_worker *w = ctx;
  if (--w->open_handles == 0 && w->closed_cb) {
    void (*cb)(void *) = w->closed_cb;
    w->closed_cb = NULL;
    cb(w->closed_ctx);
  }
}

static void maybe_closed(struct dag_worker *w) {
  if (!w->stopping || w->closing || w->running > 0) return;
  w->closing = true;
  if (w->started) {
    int rc = dag_store_worker_stopped(w->store, w->id, dag_time_now());
    if (rc) LOG_WARN("cannot record this worker's stop worker=%s error=\"%s\"", w->id,
                     dag_strerror(rc));
    close_handle(w, (uv_handle_t *)&w->poll_timer);
    close_handle(w, (uv_handle_t *)&w->beat_timer);
    close_handle(w, (uv_handle_t *)&w->ends_idle);
    if (w->wake_on) close_handle(w, (uv_handle_t *)&w->wake);
    if (w->listen) {
      w->open_handles++;
      dag_listen_close(w->listen, listen_closed, w);
      w->listen = NULL;
    }
  } else if (w->closed_cb) {
    void (*cb)(void *) = w->closed_cb;
    w->closed_cb = NULL;
    cb(w->closed_ctx);
  }
}

void dag_worker_shutdown(struct dag_worker *w, bool terminate, void (*closed_cb)(void *ctx),
                         void *ctx) {
  if (closed_cb) {
    w->closed_cb = closed_cb;
    w->closed_ctx = ctx;
  }
  if (terminate)
    for (struct worker_try *t = w->tries; t; t = t->next)
      if (t->ti.proc) w->sched.ops.terminate(t->ti.proc);
  if (w->stopping) return;
  w->stopping = true;
  LOG_INFO("worker stopping worker=%s running=%d", w->id, w->running);
  maybe_closed(w);
}

void dag_worker_free(struct dag_worker *w) {
  if (!w) return;
  while (w->tries) try_unlink_free(w->tries);
  for (size_t i = 0; i < VERSION_CACHE; i++) dag_ref_put(w->cache[i].ref);
  free_names(w->queues, w->n_queues);
  free_names(w->types, w->n_types);
  free(w->id);
  free(w->host);
  free(w->log_url);
  free(w->sched.self_exe);
  free(w->sched.supervisor);
  free(w->sched.home_id);
  dag_proc_pool_close(&w->sched.pool);
  free(w);
}
