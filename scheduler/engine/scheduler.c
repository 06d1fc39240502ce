/* scheduler.c - the scheduler's outer layer: the DAG folder and its
 * watcher, one timer per scheduled DAG, changes from other processes, and
 * start-up and shutdown. The run state machine is sched_run.c. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "dag_load.h"
#include "dag_serial.h"
#include "error.h"
#include "kafka_side.h"
#include "listen.h"
#include "log.h"
#include "plugins.h"
#include "runs.h"
#include "sched_int.h"
#include "timeutil.h"

extern char **environ;

/* How often to look at the database when no wake-up arrives: a safety net
 * for file systems without inotify, not the way triggers are noticed. */
#define POLL_INTERVAL_MS 2000
/* The same with several schedulers on PostgreSQL, where it is the way a
 * worker's end on another machine is noticed: three small queries. */
#define SCHED_HA_POLL_MS 200
/* Editors write a file in several steps; wait for them to finish. */
#define RESCAN_DELAY_MS 100

/* --- shared DAG definitions ---------------------------------------------------- */

struct dag_ref *dag_ref_new(struct dag *dag) {
  struct dag_ref *r = xmalloc(sizeof(*r));
  r->dag = dag;
  r->version_id = 0;
  r->refs = 1;
  r->weights = NULL;
  return r;
}

int dag_ref_from_version(dag_store *store, int64_t version_id, struct dag_ref **out) {
  struct dag_store_version v;
  *out = NULL;
  int rc = dag_store_get_version(store, version_id, NULL, true, &v);
  if (rc) return rc;
  struct dag *dag = NULL;
  char *err = NULL;
  rc = dag_deserialize(v.data, &dag, &err);
  if (rc) LOG_ERROR("stored DAG version unreadable dag=%s version=%d error=\"%s\"", v.dag_id,
                    v.version_number, err);
  free(err);
  dag_store_version_free(&v);
  if (rc) return rc;
  *out = dag_ref_new(dag);
  (*out)->version_id = version_id;
  return 0;
}

struct dag_ref *dag_ref_get(struct dag_ref *r) {
  r->refs++;
  return r;
}

void dag_ref_put(struct dag_ref *r) {
  if (r && --r->refs == 0) {
    free(r->weights);
    dag_free(r->dag);
    free(r);
  }
}

/* --- handles ------------------------------------------------------------------------ */

void sched_handle_closed(uv_handle_t *h) {
  struct dag_scheduler *s = h->data;
  s->open_handles--;
  sched_maybe_closed(s);
}

void sched_close_handle(struct dag_scheduler *s, uv_handle_t *h) {
  if (uv_is_closing(h)) return;
  h->data = s;
  s->open_handles++;
  uv_close(h, sched_handle_closed);
}

/* Closed once every process is reaped and every queued item (a task's end
 * waiting for the store among them) is done; the wait timers go last. */
void sched_maybe_closed(struct dag_scheduler *s) {
  if (!s->stopping || s->open_handles > 0 || s->work_head) return;
  for (size_t i = 0; i < s->n_dags; i++)
    for (struct sched_run *r = s->dags[i]->runs; r; r = r->next)
      if (r->live) return;
  if (!s->wait_timers_closed) {
    s->wait_timers_closed = true;
    sched_close_handle(s, (uv_handle_t *)&s->store_timer);
    sched_close_handle(s, (uv_handle_t *)&s->spawn_timer);
    sched_pool_close(s);
    return;
  }
  if (!s->closed_cb || s->closed_called) return;
  s->closed_called = true;
  s->closed_cb(s->closed_ctx);
}

/* --- DAG entries ---------------------------------------------------------------------- */

struct sched_dag *sched_find_dag(struct dag_scheduler *s, const char *dag_id) {
  for (size_t i = 0; i < s->n_dags; i++)
    if (strcmp(s->dags[i]->dag_id, dag_id) == 0) return s->dags[i];
  return NULL;
}

static void on_schedule_timer(uv_timer_t *t);

static struct sched_dag *add_dag(struct dag_scheduler *s, const char *dag_id) {
  struct sched_dag *sd = xcalloc(1, sizeof(*sd));
  sd->s = s;
  sd->dag_id = xstrdup(dag_id);
  uv_timer_init(s->loop, &sd->timer);
  sd->timer.data = sd;
  s->dags = xgrow(s->dags, &s->cap_dags, s->n_dags + 1, sizeof(*s->dags));
  s->dags[s->n_dags++] = sd;
  return sd;
}

static void free_dag_entry(struct sched_dag *sd) {
  while (sd->runs) {
    struct sched_run *r = sd->runs;
    sd->runs = r->next;
    sched_run_free(r);
  }
  dag_ref_put(sd->ref);
  free(sd->dag_id);
  free(sd->file);
  free(sd);
}

/* --- the embedded Kafka cluster ---------------------------------------------------- */

static void refresh_plugins(struct dag_scheduler *s);

/* The kafka plugin's embedded cluster, for a DAG with a task of that
 * plugin (see kafka_side.h): plugins in child processes then reach it like
 * any broker. Other DAGs never pay for it. */
void sched_need_kafka(struct dag_scheduler *s, const struct dag *dag) {
  bool plugins = false;
  for (size_t i = 0; i < dag->n_tasks && !plugins; i++)
    plugins = dag->tasks[i].type == DAG_TASK_PLUGIN;
  if (!plugins) return;
  /* `dagctl test` has no catalog until a DAG needs one. */
  if (!s->plugins) {
    dag_scheduler_check_plugins(s);
    refresh_plugins(s);
  }
  bool had = s->kafka != NULL;
  if (dag_kafka_side_need(&s->kafka, s->plugins, s->cfg, dag) != 0 || had || !s->kafka) return;
  free(s->kafka_bootstraps);
  s->kafka_bootstraps = xstrdup(dag_kafka_side_bootstraps(s->kafka));
}

/* --- scheduling --------------------------------------------------------------------------- */

/* Backfill runs have their own max_active_runs (Airflow's rule). */
static int count_active(const struct sched_dag *sd) {
  int n = 0;
  for (const struct sched_run *r = sd->runs; r; r = r->next) n += !r->backfill_id;
  return n;
}

/* Create every scheduled run that is due (up to max_active_runs) and arm
 * the timer for the next one. Inside the caller's transaction; returns the
 * store's failure. */
static int dag_schedule(struct sched_dag *sd) {
  struct dag_scheduler *s = sd->s;
  const struct dag *dag = sd->ref->dag;
  int rc;
  if (dag->schedule.n_datasets && (rc = sched_dataset_schedule(sd)) != 0) return rc;
  if (dag->schedule.kind == DAG_SCHEDULE_NONE)
    return dag_store_set_next_dagrun(s->store, sd->dag_id, 0, 0);
  if (s->ha) {
    /* Several schedulers: one at a time decides the DAG's next run, each
     * from what the others have created (Airflow locks its dag rows the
     * same way). The row lock ends with this transaction. */
    if ((rc = dag_store_lock_dag(s->store, sd->dag_id)) == DAG_ECLAIM) {
      /* Another scheduler is at it: look again shortly. */
      uv_timer_start(&sd->timer, on_schedule_timer, SCHED_HA_POLL_MS, 0);
      return 0;
    }
    if (rc) return rc;
    sd->has_last = false;
  }
  if (!sd->has_last) {
    rc = dag_store_last_scheduled_interval(s->store, sd->dag_id, &sd->last);
    if (rc == 0)
      sd->has_last = true;
    else if (rc != DAG_ENOTFOUND)
      return rc;
    else
      sched_dataset_time_start(sd, sched_now(s));
  }
  for (;;) {
    dag_time_t now = sched_now(s);
    struct dag_interval next;
    if (dag_schedule_next(dag, sd->has_last ? &sd->last : NULL, now, &next) != 0)
      return dag_store_set_next_dagrun(s->store, sd->dag_id, 0, 0);
    if ((rc = dag_store_set_next_dagrun(s->store, sd->dag_id, next.start, next.end)) != 0)
      return rc;
    if (next.end > now) {
      /* Wall-clock distance, re-checked when the timer fires, so a clock
       * step only delays the run until the timer notices. */
      uint64_t ms = (uint64_t)((next.end - now + 999) / 1000);
      uv_timer_start(&sd->timer, on_schedule_timer, ms, 0);
      return 0;
    }
    int active = count_active(sd);
    if (s->ha) {
      /* The other schedulers' runs of this DAG count too. */
      struct dag_store_run *runs = NULL;
      size_t n = 0;
      if ((rc = dag_store_list_active_runs_of(s->store, sd->dag_id, &runs, &n)) != 0) return rc;
      active = 0;
      for (size_t i = 0; i < n; i++) active += !runs[i].backfill_id;
      dag_store_runs_free(runs, n);
    }
    if (active >= dag->max_active_runs) return 0; /* re-run when a run ends */

    struct dag_run_request req;
    memset(&req, 0, sizeof(req));
    req.type = DAG_RUN_TYPE_SCHEDULED;
    req.logical_date = next.start;
    req.interval = &next;
    int64_t pk = 0;
    char *err = NULL, *run_id = NULL;
    rc = dag_run_create(s->store, dag, &req, &pk, &run_id, &err);
    if (rc == DAG_EEXIST) {
      /* A run for this interval exists already (e.g. triggered by hand
       * with the same id): move past it. */
      LOG_INFO("scheduled run exists already dag=%s interval_end=%lld", sd->dag_id,
               (long long)next.end);
    } else if (rc) {
      LOG_ERROR("cannot create scheduled run dag=%s error=\"%s\"", sd->dag_id, err);
      free(err);
      return rc;
    }
    free(err);
    sd->last = next;
    sd->has_last = true;
    if (rc == 0) {
      LOG_INFO("scheduled run created dag=%s run=%s", sd->dag_id, run_id);
      /* Our own event row is redundant: the run is loaded here. */
      rc = sched_run_load(s, sd, sd->ref, pk);
    }
    free(run_id);
    if (rc && rc != DAG_EEXIST) return rc;
    sched_post_dag(sd, SCHED_WORK_START_RUNS);
  }
}

static int schedule_work(struct sched_dag *sd) {
  struct dag_scheduler *s = sd->s;
  if (!s->service || s->stopping || sd->paused || !sd->ref) {
    uv_timer_stop(&sd->timer);
    return 0;
  }
  int rc = sched_txn_begin(s, "schedule");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  uv_timer_stop(&sd->timer);
  rc = dag_schedule(sd);
  if (rc == 0) rc = sched_backfill_advance(sd);
  sched_txn_end(s, rc, "schedule");
  return 0;
}

static void on_schedule_timer(uv_timer_t *t) {
  struct sched_dag *sd = t->data;
  sched_post_dag(sd, SCHED_WORK_SCHEDULE);
  sched_dispatch(sd->s);
}

/* --- the DAG folder ---------------------------------------------------------------------------- */

static struct sched_file *find_file(struct dag_scheduler *s, const char *path) {
  for (size_t i = 0; i < s->n_files; i++)
    if (strcmp(s->files[i].path, path) == 0) return &s->files[i];
  return NULL;
}

/* The file no longer defines `dag_id` (deleted, broken or renamed). */
static int drop_definition(struct dag_scheduler *s, const char *dag_id) {
  struct sched_dag *sd = sched_find_dag(s, dag_id);
  if (!sd) return 0;
  dag_ref_put(sd->ref);
  sd->ref = NULL;
  uv_timer_stop(&sd->timer);
  int rc = dag_store_set_dag_active(s->store, dag_id, false);
  if (rc == 0) rc = dag_store_set_next_dagrun(s->store, dag_id, 0, 0);
  return rc;
}

void dag_scheduler_check_plugins(struct dag_scheduler *s) {
  if (!s->plugins) s->plugins = xcalloc(1, sizeof(*s->plugins));
}

/* What the installed plugins declare, to check plugin tasks as DAGs load;
 * read by a child, since the scheduler never loads a plugin itself. Called
 * before a scan's transaction, never inside one: it may wait for the child
 * (only when the plugins folder changed). */
static void refresh_plugins(struct dag_scheduler *s) {
  if (!s->plugins) return;
  char *err = NULL;
  dag_plugin_catalog_update_cfg(s->plugins, s->self_exe, s->cfg, &err);
  if (err) LOG_WARN("plugin params go unchecked: cannot list the plugins error=\"%s\"", err);
  free(err);
}

/* A file that does not load and defines nothing in memory (the scheduler
 * just started) whose DAG the store knows from an earlier load: run its
 * last good version, as a file that breaks under a running scheduler keeps
 * it. 0 also when there is none. Inside the caller's transaction. */
static int restore_last_good(struct dag_scheduler *s, struct sched_file *f) {
  struct dag_store_dag *dags = NULL;
  size_t n = 0;
  int rc = dag_store_list_dags(s->store, &dags, &n);
  if (rc) return rc;
  const struct dag_store_dag *d = NULL;
  for (size_t i = 0; i < n && !d; i++)
    if (dags[i].is_active && dags[i].dag_version_id && strcmp(dags[i].fileloc, f->path) == 0)
      d = &dags[i];
  struct sched_dag *sd = d ? sched_find_dag(s, d->dag_id) : NULL;
  struct dag_ref *ref = NULL;
  if (!d || (sd && sd->ref) || dag_ref_from_version(s->store, d->dag_version_id, &ref) != 0) {
    dag_store_dags_free(dags, n);
    return 0;
  }
  if (!sd) sd = add_dag(s, d->dag_id);
  sd->paused = d->is_paused;
  free(sd->file);
  sd->file = xstrdup(f->path);
  sd->ref = ref;
  f->dag_id = xstrdup(d->dag_id);
  sched_need_kafka(s, ref->dag);
  LOG_WARN("DAG file does not load: running its last good version dag=%s version=%d file=%s",
           d->dag_id, d->dag_version_number, f->path);
  dag_store_dags_free(dags, n);
  if ((rc = sched_run_load_active(sd)) != 0) return rc;
  sched_post_dag(sd, SCHED_WORK_START_RUNS);
  sched_post_dag(sd, SCHED_WORK_SCHEDULE);
  return 0;
}

/* Inside the caller's transaction; returns the store's failure (a file's
 * own errors are recorded as its import error). */
static int load_file(struct dag_scheduler *s, struct sched_file *f) {
  struct dag_load_options opts;
  memset(&opts, 0, sizeof(opts));
  opts.default_timezone = s->cfg->default_timezone;
  opts.default_max_active_runs = s->cfg->max_active_runs_per_dag;
  opts.default_max_active_tasks = s->cfg->max_active_tasks_per_dag;
  opts.plugins = s->plugins && s->plugins->usable ? s->plugins : NULL;
  struct dag_diags diags = DAG_DIAGS_INIT, warnings = DAG_DIAGS_INIT;
  opts.dag_ids_known = s->folder_ids_known;
  opts.dag_ids = (const char *const *)s->folder_ids;
  opts.n_dag_ids = s->n_folder_ids;
  opts.warnings = &warnings;
  struct dag *dag = NULL;
  dag_time_t now = sched_now(s);
  char *source = NULL;
  int rc = dag_load_file_text(f->path, &opts, &dag, &diags, &source);
  for (size_t i = 0; i < warnings.n; i++)
    LOG_WARN("DAG file warning file=%s line=%d col=%d message=\"%s\"", f->path,
             warnings.items[i].line, warnings.items[i].col, warnings.items[i].msg);
  dag_diags_free(&warnings);

  if (rc == 0) {
    struct sched_dag *other = sched_find_dag(s, dag->dag_id);
    if (other && other->ref && other->file && strcmp(other->file, f->path) != 0) {
      dag_diag_add(&diags, f->path, 0, 0, "dag_id '%s' is already defined in %s",
                   dag->dag_id, other->file);
      free(f->conflict);
      f->conflict = xstrdup(dag->dag_id);
      dag_free(dag);
      dag = NULL;
      rc = DAG_EEXIST;
    }
  }
  if (rc != DAG_EEXIST) {
    free(f->conflict);
    f->conflict = NULL;
  }
  int rc_load = rc;
  if (rc != 0) {
    char *text = dag_diags_join(&diags);
    LOG_WARN("DAG file has errors file=%s errors=%zu first=\"%s\"", f->path, diags.n,
             diags.n ? diags.items[0].msg : "?");
    rc = dag_store_set_import_error(s->store, f->path, text, now);
    free(text);
    dag_diags_free(&diags);
    free(source);
    struct sched_dag *kept = f->dag_id ? sched_find_dag(s, f->dag_id) : NULL;
    if (rc == 0 && kept && kept->ref && rc_load != DAG_EEXIST) {
      /* Airflow's rule: a file that breaks leaves its DAG on the last good
       * version (runs and schedule go on), its error shown beside it. */
      LOG_WARN("DAG keeps its last good version dag=%s version_id=%lld file=%s", f->dag_id,
               (long long)kept->ref->version_id, f->path);
      return 0;
    }
    if (rc == 0 && !f->dag_id && rc_load != DAG_EEXIST) return restore_last_good(s, f);
    if (rc == 0 && f->dag_id) rc = drop_definition(s, f->dag_id);
    free(f->dag_id);
    f->dag_id = NULL;
    return rc;
  }
  dag_diags_free(&diags);
  free(f->conflict);
  f->conflict = NULL;
  rc = dag_store_clear_import_error(s->store, f->path);
  if (rc == 0 && f->dag_id && strcmp(f->dag_id, dag->dag_id) != 0)
    rc = drop_definition(s, f->dag_id);
  if (rc) {
    dag_free(dag);
    free(source);
    return rc;
  }
  free(f->dag_id);
  f->dag_id = xstrdup(dag->dag_id);

  struct sched_dag *sd = sched_find_dag(s, dag->dag_id);
  bool is_new = sd == NULL;
  if (!sd) sd = add_dag(s, dag->dag_id);
  bool paused = false;
  rc = dag_store_sync_dag(s->store, dag, s->cfg->dags_are_paused_at_creation, now, &paused);
  int64_t version_id = 0;
  int version = 0;
  if (rc == 0)
    rc = dag_store_put_version(s->store, dag, source, true, now, &version_id, &version);
  free(source);
  if (rc) {
    dag_free(dag);
    return rc;
  }
  sd->paused = paused;
  free(sd->file);
  sd->file = xstrdup(f->path);
  dag_ref_put(sd->ref);
  sd->ref = dag_ref_new(dag);
  sd->ref->version_id = version_id;
  sched_need_kafka(s, dag);
  LOG_INFO("%s DAG dag=%s version=%d tasks=%zu schedule=%s paused=%s",
           is_new ? "loaded" : "reloaded", dag->dag_id, version, dag->n_tasks,
           dag->schedule.expr ? dag->schedule.expr : "none", paused ? "yes" : "no");
  /* Before scheduling: max_active_runs counts the runs found here. */
  if ((rc = sched_run_load_active(sd)) != 0) return rc;
  sched_post_dag(sd, SCHED_WORK_START_RUNS);
  sched_post_dag(sd, SCHED_WORK_SCHEDULE);
  return 0;
}

static bool is_dag_file(const char *name) {
  if (name[0] == '.') return false;
  size_t n = strlen(name);
  return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
         (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan_dags_once(struct dag_scheduler *s);

/* Load new and changed files, forget removed ones. O(files). Inside the
 * caller's transaction; returns the store's failure. The folder's DAG ids
 * are read again at each scan that loads a file (O(files) then, nothing
 * when no file changed), for the loader's warnings. */
static int scan_dags(struct dag_scheduler *s) {
  int rc = scan_dags_once(s);
  dag_load_ids_free(s->folder_ids, s->n_folder_ids);
  s->folder_ids = NULL;
  s->n_folder_ids = 0;
  s->folder_ids_known = false;
  return rc;
}

static int scan_dags_once(struct dag_scheduler *s) {
  DIR *d = opendir(s->cfg->dags_folder);
  if (!d) {
    LOG_WARN("cannot read the DAG folder dir=%s error=\"%s\"", s->cfg->dags_folder,
             strerror(errno));
    return 0;
  }
  int rc = 0;
  for (size_t i = 0; i < s->n_files; i++) s->files[i].seen = false;
  struct dirent *e;
  /* Collect names first: loading may take a while, keep the order stable. */
  char **names = NULL;
  size_t n = 0, cap = 0;
  while ((e = readdir(d)) != NULL) {
    if (!is_dag_file(e->d_name)) continue;
    names = xgrow(names, &cap, n + 1, sizeof(*names));
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  if (n) qsort(names, n, sizeof(*names), compare_names); /* qsort(NULL, 0) is UB */
  for (size_t i = 0; i < n; i++) {
    char *path = xasprintf("%s/%s", s->cfg->dags_folder, names[i]);
    free(names[i]);
    if (rc) {
      free(path);
      continue;
    }
    struct stat stbuf;
    if (stat(path, &stbuf) != 0 || !S_ISREG(stbuf.st_mode)) {
      free(path);
      continue;
    }
    struct sched_file *f = find_file(s, path);
    if (!f) {
      s->files = xgrow(s->files, &s->cap_files, s->n_files + 1, sizeof(*s->files));
      f = &s->files[s->n_files++];
      memset(f, 0, sizeof(*f));
      f->path = path;
    } else {
      free(path);
      if (f->ino == stbuf.st_ino && f->size == stbuf.st_size &&
          f->mtime.tv_sec == stbuf.st_mtim.tv_sec && f->mtime.tv_nsec == stbuf.st_mtim.tv_nsec) {
        f->seen = true;
        continue;
      }
    }
    f->seen = true;
    f->ino = stbuf.st_ino;
    f->size = stbuf.st_size;
    f->mtime = stbuf.st_mtim;
    if (!s->folder_ids_known)
      s->folder_ids_known =
          dag_load_folder_ids(s->cfg->dags_folder, &s->folder_ids, &s->n_folder_ids) == 0;
    rc = load_file(s, f);
  }
  free(names);
  if (rc) return rc;
  for (size_t i = 0; i < s->n_files && rc == 0;) {
    struct sched_file *f = &s->files[i];
    if (f->seen) {
      i++;
      continue;
    }
    LOG_INFO("DAG file removed file=%s", f->path);
    rc = dag_store_clear_import_error(s->store, f->path);
    if (rc == 0 && f->dag_id) rc = drop_definition(s, f->dag_id);
    free(f->path);
    free(f->dag_id);
    free(f->conflict);
    s->files[i] = s->files[--s->n_files];
  }
  /* A file refused because another file defined its dag_id first loads
   * once that definition is gone (removed, broken or renamed). */
  for (size_t i = 0; i < s->n_files && rc == 0; i++) {
    struct sched_file *f = &s->files[i];
    if (!f->conflict) continue;
    struct sched_dag *owner = sched_find_dag(s, f->conflict);
    if (!owner || !owner->ref) rc = load_file(s, f);
  }
  return rc;
}

static int rescan_work(struct dag_scheduler *s) {
  if (s->stopping) return 0;
  refresh_plugins(s);
  int rc = sched_txn_begin(s, "load DAG files");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  sched_txn_end(s, scan_dags(s), "load DAG files");
  return 0;
}

static void on_rescan_timer(uv_timer_t *t) {
  struct dag_scheduler *s = t->data;
  struct sched_work w = {.kind = SCHED_WORK_RESCAN};
  sched_post(s, &w);
  sched_dispatch(s);
}

static void on_dags_changed(uv_fs_event_t *h, const char *filename, int events, int status) {
  struct dag_scheduler *s = h->data;
  DAG_UNUSED(events);
  if (status < 0 || (filename && !is_dag_file(filename))) return;
  uv_timer_start(&s->rescan_timer, on_rescan_timer, RESCAN_DELAY_MS, 0);
}

/* --- changes from other processes ------------------------------------------------------------ */

/* Inside the caller's transaction; returns the store's failure. */
static int take_events(struct dag_scheduler *s) {
  struct dag_store_event *ev = NULL;
  size_t n = 0;
  int rc = s->ha ? sched_ha_events(s, &ev, &n) : dag_store_take_events(s->store, &ev, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct sched_dag *sd = sched_find_dag(s, ev[i].dag_id);
    if (!sd) {
      LOG_WARN("change for a DAG that is not loaded; its runs start when it loads dag=%s",
               ev[i].dag_id);
      continue;
    }
    if (ev[i].kind == DAG_STORE_EVENT_DAG) {
      struct dag_store_dag row;
      rc = dag_store_get_dag(s->store, sd->dag_id, &row);
      if (rc == DAG_ENOTFOUND) rc = 0;
      else if (rc == 0) {
        if (row.is_paused != sd->paused)
          LOG_INFO("DAG %s dag=%s", row.is_paused ? "paused" : "unpaused", sd->dag_id);
        sd->paused = row.is_paused;
        dag_store_dag_free(&row);
      }
      sched_post_dag(sd, SCHED_WORK_START_RUNS);
      sched_post_dag(sd, SCHED_WORK_SCHEDULE);
      continue;
    }
    struct sched_run *r = sched_find_run(s, ev[i].run_pk);
    if (r) {
      rc = sched_run_reload(r);
    } else if (sd->ref) {
      rc = sched_run_load(s, sd, sd->ref, ev[i].run_pk);
      sched_post_dag(sd, SCHED_WORK_START_RUNS);
    } else {
      LOG_WARN("run waits until its DAG file loads again dag=%s", sd->dag_id);
    }
  }
  dag_store_events_free(ev, n);
  if (rc == 0) rc = sched_ha_adopt_runs(s);
  return rc;
}

static int events_work(struct dag_scheduler *s) {
  if (s->stopping) return 0;
  int rc = sched_txn_begin(s, "take events");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  rc = take_events(s);
  if (rc == 0) rc = sched_queue_take_ends(s);
  sched_txn_end(s, rc, "take events");
  return 0;
}

static void post_events(struct dag_scheduler *s) {
  struct sched_work w = {.kind = SCHED_WORK_EVENTS};
  sched_post(s, &w);
  sched_dispatch(s);
}

static void on_wakeup(uv_fs_event_t *h, const char *filename, int events, int status) {
  struct dag_scheduler *s = h->data;
  DAG_UNUSED(filename);
  DAG_UNUSED(events);
  if (status < 0) return;
  post_events(s);
}

static void on_poll_timer(uv_timer_t *t) {
  post_events(t->data);
}

/* The poll's period without wake-ups from the database. */
static uint64_t poll_ms(const struct dag_scheduler *s) {
  return s->ha ? SCHED_HA_POLL_MS : POLL_INTERVAL_MS;
}

/* PostgreSQL: a try ended, a run or an event was created (by a worker,
 * another scheduler, the CLI, on any machine), or the listener is (back)
 * up and anything may have been missed. While it is down the database is
 * looked at every poll_ms(), as without it. */
static void on_listen(void *ctx, enum dag_listen_event ev, unsigned channels) {
  DAG_UNUSED(channels);
  struct dag_scheduler *s = ctx;
  if (s->stopping) return;
  if (ev != DAG_LISTEN_NOTIFIED) {
    uint64_t every = poll_ms(s);
    uint64_t safety = (uint64_t)(s->cfg->state_poll_interval_us / 1000);
    if (ev == DAG_LISTEN_UP && safety > every) every = safety;
    if (uv_timer_get_repeat(&s->poll_timer) != every)
      uv_timer_start(&s->poll_timer, on_poll_timer, every, every);
  }
  if (ev != DAG_LISTEN_DOWN) post_events(s);
}

static void listen_closed(void *ctx) {
  struct dag_scheduler *s = ctx;
  s->open_handles--;
  sched_maybe_closed(s);
}

/* Start-up: load the folder (loading a DAG loads the runs the previous
 * scheduler left queued or running, and needs the processes it left
 * behind), in one transaction. */
static int startup_work(struct dag_scheduler *s) {
  if (s->stopping) return 0;
  refresh_plugins(s);
  int rc = sched_txn_begin(s, "start up");
  if (rc) return rc == DAG_ELOCKED ? rc : 0;
  /* Events queued before this start are covered by the runs loaded below. */
  struct dag_store_event *ev = NULL;
  size_t n_ev = 0;
  /* With several schedulers the others still need them: this one reads
   * from the newest at its start (sched_ha_start()). */
  if (!s->ha) rc = dag_store_take_events(s->store, &ev, &n_ev);
  if (rc == 0) dag_store_events_free(ev, n_ev);
  if (rc == 0) rc = scan_dags(s);
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  if (rc == 0) rc = dag_store_list_active_runs(s->store, &runs, &n);
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct sched_dag *sd = sched_find_dag(s, runs[i].dag_id);
    if (!sd || !sd->ref)
      LOG_WARN("run waits until its DAG file loads dag=%s run=%s", runs[i].dag_id,
               runs[i].run_id);
  }
  dag_store_runs_free(runs, n);
  /* Ends the workers reported while no scheduler ran. */
  if (rc == 0) rc = sched_queue_take_ends(s);
  sched_txn_end(s, rc, "start up");
  dag_try_procs_free(s->try_procs, s->n_try_procs);
  s->try_procs = NULL;
  s->n_try_procs = 0;
  return 0;
}

int sched_outer_work(struct dag_scheduler *s, struct sched_work *w) {
  switch (w->kind) {
  case SCHED_WORK_STARTUP:
    return startup_work(s);
  case SCHED_WORK_RESCAN:
    return rescan_work(s);
  case SCHED_WORK_EVENTS:
    return events_work(s);
  case SCHED_WORK_SCHEDULE:
    return schedule_work(w->sd);
  default:
    return 0;
  }
}

/* --- life cycle ---------------------------------------------------------------------------------- */

/* How long a store call may wait for another process's lock before the
 * scheduler treats it as a wait (see sched_work.c): short, so the loop
 * never stalls behind a long outside transaction. */
#define SCHED_BUSY_TIMEOUT_MS 5
#define SCHED_HA_BUSY_TIMEOUT_MS 2000

/* On PostgreSQL a row lock may be met inside a transaction, where a wait
 * cannot be turned into a retry: the scheduler waits for other sessions'
 * short transactions (other schedulers, a `dagctl clear`, the web
 * server's writer) rather than fail, one scheduler or several. */
static int busy_timeout_ms(const struct dag_scheduler *s) {
  return s->ha || dag_store_kind(s->store) == DAG_STORE_POSTGRESQL ? SCHED_HA_BUSY_TIMEOUT_MS
                                                                   : SCHED_BUSY_TIMEOUT_MS;
}

int dag_scheduler_new(uv_loop_t *loop, const struct dag_config *cfg, dag_store *store,
                      struct dag_scheduler **out) {
  struct dag_scheduler *s = xcalloc(1, sizeof(*s));
  s->loop = loop;
  s->cfg = cfg;
  s->store = store;
  s->base_env = environ;
  s->ops.spawn = dag_proc_spawn;
  s->ops.start = dag_proc_start;
  s->ops.terminate = dag_proc_terminate;
  s->ops.release = dag_proc_release;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  s->self_exe = xstrndup(exe, n > 0 ? (size_t)n : 0);
  if (dag_supervisor_path(&s->supervisor) != 0) s->supervisor = xstrdup("dagctl-supervise");
  uv_timer_init(loop, &s->rescan_timer);
  s->rescan_timer.data = s;
  uv_timer_init(loop, &s->poll_timer);
  s->poll_timer.data = s;
  sched_work_init(s);
  sched_ahead_init(s);
  *out = s;
  return 0;
}

void dag_scheduler_set_listener(struct dag_scheduler *s, const struct dag_scheduler_listener *l) {
  s->listener = *l;
}

/* The try ids of our tasks carry the database's id. */
static int load_home_id(struct dag_scheduler *s) {
  free(s->home_id);
  return dag_store_home_id(s->store, &s->home_id);
}

int dag_scheduler_start(struct dag_scheduler *s) {
  s->service = true;
  int rc = load_home_id(s);
  if (rc == 0) rc = sched_ha_start(s);
  if (rc) return rc;
  dag_store_set_busy_timeout(s->store, busy_timeout_ms(s));
  char *logs = xasprintf("%s/logs", s->cfg->home);
  mkdir(logs, 0755);
  free(logs);

  /* Recovery (in the start-up item) needs the processes left behind. */
  dag_find_try_procs(&s->try_procs, &s->n_try_procs);
  struct sched_work w = {.kind = SCHED_WORK_STARTUP};
  sched_post(s, &w);

  if (uv_fs_event_init(s->loop, &s->dags_watch) == 0) {
    s->dags_watch.data = s;
    s->dags_watch_on = true;
    if ((rc = uv_fs_event_start(&s->dags_watch, on_dags_changed, s->cfg->dags_folder, 0)) != 0)
      LOG_WARN("cannot watch the DAG folder; changes are picked up by the periodic rescan "
               "dir=%s error=\"%s\"", s->cfg->dags_folder, uv_strerror(rc));
  }
  char *wake = xasprintf("%s/wakeup", s->cfg->home);
  dag_scheduler_notify(s->cfg->home); /* make sure the file exists */
  if (uv_fs_event_init(s->loop, &s->wake_watch) == 0) {
    s->wake_watch.data = s;
    s->wake_watch_on = true;
    if ((rc = uv_fs_event_start(&s->wake_watch, on_wakeup, wake, 0)) != 0)
      LOG_WARN("cannot watch the wake-up file; triggers are noticed within %d ms file=%s",
               POLL_INTERVAL_MS, wake);
  }
  free(wake);
  /* Several schedulers hear of other machines' changes (workers' ends,
   * runs freed by a silent scheduler) only through the database. */
  uv_timer_start(&s->poll_timer, on_poll_timer, poll_ms(s), poll_ms(s));
  if (dag_store_kind(s->store) == DAG_STORE_POSTGRESQL &&
      (rc = dag_listen_start(s->loop, s->store, DAG_STORE_WAKE_SCHEDULERS, on_listen, s,
                             &s->listen)) != 0)
    LOG_WARN("cannot listen for wake-ups; changes are noticed within %llu ms error=\"%s\"",
             (unsigned long long)poll_ms(s), dag_strerror(rc));
  sched_queue_start(s);
  /* A store that fails here stops the scheduler; the caller notices it
   * with dag_scheduler_failed(). */
  sched_dispatch(s);
  return 0;
}

int dag_scheduler_run_one(struct dag_scheduler *s, struct dag *dag, int64_t run_pk,
                          void (*done_cb)(void *ctx, enum dag_run_state state), void *ctx) {
  s->service = false;
  s->one_done = done_cb;
  s->one_ctx = ctx;
  int rc = load_home_id(s);
  if (rc) {
    dag_free(dag);
    return rc;
  }
  dag_store_set_busy_timeout(s->store, busy_timeout_ms(s));
  struct sched_dag *sd = add_dag(s, dag->dag_id);
  sd->ref = dag_ref_new(dag);
  sd->file = xstrdup(dag->file ? dag->file : "");
  sched_need_kafka(s, dag);
  struct sched_work w = {.kind = SCHED_WORK_LOAD_RUN, .sd = sd, .pk = run_pk};
  sched_post(s, &w);
  sched_dispatch(s);
  return 0;
}

void dag_scheduler_shutdown(struct dag_scheduler *s, void (*closed_cb)(void *ctx), void *ctx) {
  if (s->stopping) {
    /* Stopped from inside (the store failed) before the owner asked: the
     * owner's callback still runs once everything is closed. */
    if (closed_cb && !s->closed_cb && !s->closed_called) {
      s->closed_cb = closed_cb;
      s->closed_ctx = ctx;
      sched_maybe_closed(s);
    }
    return;
  }
  s->stopping = true;
  s->closed_cb = closed_cb;
  s->closed_ctx = ctx;
  for (size_t i = 0; i < s->n_dags; i++) sched_close_handle(s, (uv_handle_t *)&s->dags[i]->timer);
  sched_close_handle(s, (uv_handle_t *)&s->rescan_timer);
  sched_close_handle(s, (uv_handle_t *)&s->poll_timer);
  if (s->dags_watch_on) sched_close_handle(s, (uv_handle_t *)&s->dags_watch);
  if (s->wake_watch_on) sched_close_handle(s, (uv_handle_t *)&s->wake_watch);
  if (s->listen) {
    s->open_handles++;
    dag_listen_close(s->listen, listen_closed, s);
    s->listen = NULL;
  }
  sched_queue_stop(s);
  sched_ha_stop(s);
  sched_deadline_stop(s);
  sched_ahead_stop(s);
  sched_run_terminate_all(s);
  /* Queued work is finished (task ends recorded) or dropped by its
   * handler; dispatch also checks whether everything is closed. */
  if (!s->draining) sched_dispatch(s);
}

void dag_scheduler_free(struct dag_scheduler *s) {
  if (!s) return;
  sched_ahead_free(s);
  sched_work_free(s);
  sched_callback_drop(s);
  for (size_t i = 0; i < s->n_dags; i++) free_dag_entry(s->dags[i]);
  sched_deadline_free(s);
  free(s->dags);
  for (size_t i = 0; i < s->n_files; i++) {
    free(s->files[i].path);
    free(s->files[i].dag_id);
    free(s->files[i].conflict);
  }
  free(s->files);
  dag_try_procs_free(s->try_procs, s->n_try_procs);
  if (s->plugins) dag_plugin_catalog_free(s->plugins);
  free(s->plugins);
  free(s->self_exe);
  free(s->home_id);
  free(s->sched_id);
  dag_proc_pool_close(&s->pool);
  free(s->supervisor);
  dag_kafka_side_stop(s->kafka);
  free(s->kafka_bootstraps);
  sched_delays_free(&s->delays);
  sched_batch_free(s);
  free(s);
}

void dag_scheduler_stats(const struct dag_scheduler *s, struct dag_scheduler_stats *out) {
  memset(out, 0, sizeof(*out));
  out->running_tasks = s->running_tasks;
  out->ready_tasks = s->ready_tasks;
  out->active_runs = s->active_runs;
  out->dags = (int)s->n_dags;
  out->tasks_started = s->tasks_started;
  out->tasks_finished = s->tasks_finished;
}

const struct dag *dag_scheduler_run_dag(struct dag_scheduler *s, const char *dag_id,
                                        const char *run_id) {
  struct sched_dag *sd = sched_find_dag(s, dag_id);
  if (!sd) return NULL;
  for (struct sched_run *r = sd->runs; r; r = r->next)
    if (strcmp(r->run_id, run_id) == 0) return r->ref->dag;
  return sd->ref ? sd->ref->dag : NULL;
}

bool dag_scheduler_failed(const struct dag_scheduler *s) {
  return s->store_failed;
}
