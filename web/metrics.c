/* metrics.c - GET /metrics in Prometheus' text format (version 0.0.4).
 *
 * Names follow Airflow's metrics as the statsd exporter mapping of
 * Airflow's Helm chart turns them into Prometheus names, with a dagctl_
 * prefix and a unit suffix (dag.<dag_id>.<task_id>.duration ->
 * dagctl_task_duration_seconds{dag_id, task_id}; README has the table).
 *
 * Per-DAG and per-task figures come from the database, so they survive a
 * restart and `dagctl webserver` serves them too; they are computed once
 * per database change (dag_store_data_version()) and cached. Figures of
 * the live scheduler (running tasks, the ready queue, the tasks' waits
 * for a start, loop lag) are added at each scrape.
 *
 * Cardinality: labels are dag_id, task_id and a state from a fixed set,
 * never a run id or a date. At most MAX_DAG_SERIES DAGs and MAX_TASK_SERIES
 * (dag_id, task_id) pairs get series of their own; the rest are added into
 * dag_id="_other" (and task_id="_other"), and dagctl_metrics_folded_series
 * says how many were. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "scheduler.h"
#include "strbuf.h"
#include "web_int.h"

#define MAX_DAG_SERIES 500
#define MAX_TASK_SERIES 5000
#define OTHER "_other"

/* Task and run durations span seconds (sensors, checks) to hours (loads). */
static const double duration_buckets[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800};
/* A run's start after it was due: milliseconds on a quiet scheduler. */
static const double delay_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define N_BUCKETS 12

struct hist {
  int64_t counts[N_BUCKETS + 1]; /* counts[N_BUCKETS]: every observation */
  double sum;
};

static void observe(struct hist *h, const double *bounds, double v) {
  h->counts[N_BUCKETS]++;
  h->sum += v;
  for (int i = 0; i < N_BUCKETS; i++)
    if (v <= bounds[i]) h->counts[i]++;
}

/* A label value as the exposition format wants it: \\, \" and \n. */
void web_metrics_label_escape(struct strbuf *sb, const char *v) {
  for (const char *p = v ? v : ""; *p; p++) {
    if (*p == '\\')
      sb_append(sb, "\\\\");
    else if (*p == '"')
      sb_append(sb, "\\\"");
    else if (*p == '\n')
      sb_append(sb, "\\n");
    else
      sb_appendc(sb, *p);
  }
}

static void family(struct strbuf *sb, const char *name, const char *type, const char *help) {
  sb_appendf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{dag_id="..",task_id="..",state=".."} with the labels given. */
static void series(struct strbuf *sb, const char *name, const char *dag, const char *task,
                   const char *state, const char *le) {
  sb_append(sb, name);
  const char *sep = "{";
  const char *keys[] = {"dag_id", "task_id", "state", "le"};
  const char *vals[] = {dag, task, state, le};
  for (int i = 0; i < 4; i++) {
    if (!vals[i]) continue;
    sb_appendf(sb, "%s%s=\"", sep, keys[i]);
    web_metrics_label_escape(sb, vals[i]);
    sb_appendc(sb, '"');
    sep = ",";
  }
  if (*sep == ',') sb_appendc(sb, '}');
  sb_appendc(sb, ' ');
}

static void hist_lines(struct strbuf *sb, const char *name, const double *bounds,
                       const struct hist *h, const char *dag, const char *task) {
  char le[32], full[128];
  snprintf(full, sizeof(full), "%s_bucket", name);
  for (int i = 0; i < N_BUCKETS; i++) {
    snprintf(le, sizeof(le), "%g", bounds[i]);
    series(sb, full, dag, task, NULL, le);
    sb_appendf(sb, "%lld\n", (long long)h->counts[i]);
  }
  series(sb, full, dag, task, NULL, "+Inf");
  sb_appendf(sb, "%lld\n", (long long)h->counts[N_BUCKETS]);
  snprintf(full, sizeof(full), "%s_sum", name);
  series(sb, full, dag, task, NULL, NULL);
  sb_appendf(sb, "%.6f\n", h->sum);
  snprintf(full, sizeof(full), "%s_count", name);
  series(sb, full, dag, task, NULL, NULL);
  sb_appendf(sb, "%lld\n", (long long)h->counts[N_BUCKETS]);
}

/* --- per task, from the tries ----------------------------------------------------------------- */

struct task_acc {
  char *dag, *task; /* the series being summed; NULL before the first */
  struct hist duration;
  int64_t started, retries;
  int64_t finished[DAG_TI__COUNT];
};

struct tries_ctx {
  struct task_acc cur, other;
  char *key_dag, *key_task; /* the pair of the previous row */
  bool in_other;            /* ... folded into `other` */
  size_t task_series;
  int64_t folded;
  int64_t successes, failures;
  struct strbuf dur, start, finish, retry;
};

static void task_flush(struct tries_ctx *x, struct task_acc *a) {
  if (!a->dag) return;
  hist_lines(&x->dur, "dagctl_task_duration_seconds", duration_buckets, &a->duration, a->dag,
             a->task);
  series(&x->start, "dagctl_ti_start_total", a->dag, a->task, NULL, NULL);
  sb_appendf(&x->start, "%lld\n", (long long)a->started);
  series(&x->retry, "dagctl_task_retries_total", a->dag, a->task, NULL, NULL);
  sb_appendf(&x->retry, "%lld\n", (long long)a->retries);
  for (int s = 0; s < DAG_TI__COUNT; s++) {
    if (!a->finished[s]) continue;
    series(&x->finish, "dagctl_ti_finish_total", a->dag, a->task,
           dag_task_state_name((enum dag_task_state)s), NULL);
    sb_appendf(&x->finish, "%lld\n", (long long)a->finished[s]);
  }
  free(a->dag);
  free(a->task);
  memset(a, 0, sizeof(*a));
}

static void on_try(void *ud, const char *dag, const char *task, const char *state, int try_number,
                   int64_t duration_us) {
  struct tries_ctx *x = ud;
  if (!x->key_dag || strcmp(x->key_dag, dag) != 0 || strcmp(x->key_task, task) != 0) {
    free(x->key_dag);
    free(x->key_task);
    x->key_dag = xstrdup(dag);
    x->key_task = xstrdup(task);
    x->in_other = x->task_series >= MAX_TASK_SERIES;
    if (!x->in_other) {
      task_flush(x, &x->cur);
      x->cur.dag = xstrdup(dag);
      x->cur.task = xstrdup(task);
      x->task_series++;
    } else {
      x->folded++;
      if (!x->other.dag) {
        x->other.dag = xstrdup(OTHER);
        x->other.task = xstrdup(OTHER);
      }
    }
  }
  struct task_acc *a = x->in_other ? &x->other : &x->cur;
  a->started++;
  if (try_number > 1) a->retries++;
  if (duration_us < 0) return;
  observe(&a->duration, duration_buckets, (double)duration_us / 1e6);
  enum dag_task_state st;
  if (state && dag_task_state_parse(state, &st) == 0) {
    a->finished[st]++;
    if (st == DAG_TI_SUCCESS) x->successes++;
    if (st == DAG_TI_FAILED) x->failures++;
  }
}

/* --- per DAG, from the runs ------------------------------------------------------------------- */

struct dag_acc {
  char *dag;
  struct hist ok, failed, delay;
};

struct runs_ctx {
  struct dag_acc cur, other;
  char *key;     /* the DAG of the previous row */
  bool in_other; /* ... folded into `other` */
  size_t dag_series;
  int64_t folded;
  struct strbuf ok, failed, delay;
};

static void dag_flush(struct runs_ctx *x, struct dag_acc *a) {
  if (!a->dag) return;
  hist_lines(&x->ok, "dagctl_dagrun_duration_success_seconds", duration_buckets, &a->ok, a->dag,
             NULL);
  hist_lines(&x->failed, "dagctl_dagrun_duration_failed_seconds", duration_buckets, &a->failed,
             a->dag, NULL);
  hist_lines(&x->delay, "dagctl_dagrun_schedule_delay_seconds", delay_buckets, &a->delay, a->dag,
             NULL);
  free(a->dag);
  memset(a, 0, sizeof(*a));
}

static void on_run(void *ud, const struct dag_store_run_times *r) {
  struct runs_ctx *x = ud;
  if (!x->key || strcmp(x->key, r->dag_id) != 0) {
    free(x->key);
    x->key = xstrdup(r->dag_id);
    x->in_other = x->dag_series >= MAX_DAG_SERIES;
    if (!x->in_other) {
      dag_flush(x, &x->cur);
      x->cur.dag = xstrdup(r->dag_id);
      x->dag_series++;
    } else {
      x->folded++;
      if (!x->other.dag) x->other.dag = xstrdup(OTHER);
    }
  }
  struct dag_acc *a = x->in_other ? &x->other : &x->cur;
  if (r->start_date) {
    /* Due: a scheduled run at its data interval's end, as Airflow's
     * dagrun.schedule_delay; a manual or test run when it was triggered. */
    dag_time_t due = strcmp(r->run_type, "scheduled") == 0 ? r->interval_end : r->queued_at;
    double d = (double)(r->start_date - due) / 1e6;
    observe(&a->delay, delay_buckets, d > 0 ? d : 0);
  }
  if (r->start_date && r->end_date) {
    double d = (double)(r->end_date - r->start_date) / 1e6;
    if (d < 0) d = 0;
    if (strcmp(r->state, "success") == 0) observe(&a->ok, duration_buckets, d);
    if (strcmp(r->state, "failed") == 0) observe(&a->failed, duration_buckets, d);
  }
}

/* --- states by DAG ------------------------------------------------------------------------------ */

struct states_ctx {
  struct strbuf *sb;
  const char *name;
  char *dag;             /* the DAG being summed */
  int64_t n[DAG_TI__COUNT]; /* by state, for every state of the kind */
  bool runs;
  size_t dags;
};

static void states_flush(struct states_ctx *x) {
  if (!x->dag) return;
  int count = x->runs ? DAG_RUN__COUNT : DAG_TI__COUNT;
  for (int s = 0; s < count; s++) {
    const char *name = x->runs ? dag_run_state_name((enum dag_run_state)s)
                               : dag_task_state_name((enum dag_task_state)s);
    series(x->sb, x->name, x->dag, NULL, name, NULL);
    sb_appendf(x->sb, "%lld\n", (long long)x->n[s]);
  }
  free(x->dag);
  x->dag = NULL;
  memset(x->n, 0, sizeof(x->n));
}

static void on_count(void *ud, const char *dag, const char *state, int64_t n) {
  struct states_ctx *x = ud;
  const char *key = x->dags >= MAX_DAG_SERIES ? OTHER : dag;
  if (!x->dag || strcmp(x->dag, key) != 0) {
    states_flush(x);
    x->dag = xstrdup(key);
    x->dags++;
  }
  int s = -1;
  if (x->runs) {
    enum dag_run_state rs;
    if (dag_run_state_parse(state, &rs) == 0) s = (int)rs;
  } else {
    enum dag_task_state ts;
    if (dag_task_state_parse(state, &ts) == 0) s = (int)ts;
  }
  if (s >= 0) x->n[s] += n;
}

/* --- workers ------------------------------------------------------------------------------------ */

/* The workers (core.executor: workers) as the database knows them: every
 * one that has run, with its state, queues, load and last heartbeat. */
static void web_metrics_workers(struct dag_web *w, struct strbuf *sb) {
  struct dag_store_worker *ws = NULL;
  size_t n = 0;
  if (dag_store_list_workers(w->store, &ws, &n) != 0 || n == 0) {
    dag_store_workers_free(ws, n);
    return;
  }
  static const struct {
    const char *name, *type, *help;
  } fams[] = {
      {"dagctl_worker_up", "gauge", "1 while a worker heartbeats (state active)."},
      {"dagctl_worker_running", "gauge", "Tries a worker runs."},
      {"dagctl_worker_concurrency", "gauge", "Tries a worker runs at most."},
      {"dagctl_worker_last_heartbeat_seconds", "gauge", "A worker's last heartbeat (Unix time)."},
  };
  for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
    family(sb, fams[f].name, fams[f].type, fams[f].help);
    for (size_t i = 0; i < n; i++) {
      sb_appendf(sb, "%s{worker=\"", fams[f].name);
      web_metrics_label_escape(sb, ws[i].id);
      if (f == 0) {
        sb_append(sb, "\",host=\"");
        web_metrics_label_escape(sb, ws[i].host);
        sb_append(sb, "\",queues=\"");
        web_metrics_label_escape(sb, ws[i].queues);
        sb_append(sb, "\",state=\"");
        web_metrics_label_escape(sb, ws[i].state);
      }
      sb_append(sb, "\"} ");
      if (f == 0)
        sb_appendf(sb, "%d\n", strcmp(ws[i].state, "active") == 0);
      else if (f == 1)
        sb_appendf(sb, "%d\n", ws[i].running);
      else if (f == 2)
        sb_appendf(sb, "%d\n", ws[i].concurrency);
      else
        sb_appendf(sb, "%.3f\n", (double)ws[i].last_heartbeat / 1e6);
    }
  }
  dag_store_workers_free(ws, n);
}

/* --- the scheduler's waits ---------------------------------------------------------------------- */

static void on_delay(void *ud, const char *dag, const char *task, const uint64_t *counts,
                     double sum) {
  struct strbuf *sb = ud;
  char le[32];
  for (int i = 0; i <= DAG_SCHED_DELAY_BUCKETS; i++) {
    if (i < DAG_SCHED_DELAY_BUCKETS)
      snprintf(le, sizeof(le), "%g", dag_sched_delay_bounds[i]);
    series(sb, "dagctl_task_scheduling_delay_seconds_bucket", dag, task, NULL,
           i < DAG_SCHED_DELAY_BUCKETS ? le : "+Inf");
    sb_appendf(sb, "%llu\n", (unsigned long long)counts[i]);
  }
  series(sb, "dagctl_task_scheduling_delay_seconds_sum", dag, task, NULL, NULL);
  sb_appendf(sb, "%.6f\n", sum);
  series(sb, "dagctl_task_scheduling_delay_seconds_count", dag, task, NULL, NULL);
  sb_appendf(sb, "%llu\n", (unsigned long long)counts[DAG_SCHED_DELAY_BUCKETS]);
}

/* --- the database's part, cached ------------------------------------------------------------------ */

static int db_part(struct dag_web *w, struct strbuf *out) {
  struct tries_ctx t = {0};
  struct runs_ctx r = {0};
  struct strbuf ti = STRBUF_INIT, runs = STRBUF_INIT;
  struct states_ctx tis = {.sb = &ti, .name = "dagctl_task_instances"};
  struct states_ctx rs = {.sb = &runs, .name = "dagctl_dag_runs", .runs = true};
  int rc = dag_store_each_try(w->store, on_try, &t);
  task_flush(&t, &t.cur);
  task_flush(&t, &t.other);
  if (rc == 0) rc = dag_store_each_run(w->store, on_run, &r);
  dag_flush(&r, &r.cur);
  dag_flush(&r, &r.other);
  if (rc == 0) rc = dag_store_ti_states_by_dag(w->store, on_count, &tis);
  states_flush(&tis);
  if (rc == 0) rc = dag_store_run_states_by_dag(w->store, on_count, &rs);
  states_flush(&rs);
  if (rc == 0) {
    family(out, "dagctl_task_duration_seconds", "histogram",
           "Duration of finished task tries (Airflow: dag.<dag_id>.<task_id>.duration).");
    sb_appendn(out, sb_str(&t.dur), t.dur.len);
    family(out, "dagctl_ti_start_total", "counter",
           "Task tries started (Airflow: ti.start.<dag_id>.<task_id>).");
    sb_appendn(out, sb_str(&t.start), t.start.len);
    family(out, "dagctl_ti_finish_total", "counter",
           "Task tries ended, by the state each try ended in: failed for a try that was "
           "retried (Airflow: ti.finish.<dag_id>.<task_id>.<state>).");
    sb_appendn(out, sb_str(&t.finish), t.finish.len);
    family(out, "dagctl_task_retries_total", "counter",
           "Task tries that were retries (try number above 1).");
    sb_appendn(out, sb_str(&t.retry), t.retry.len);
    family(out, "dagctl_ti_successes_total", "counter",
           "Task tries that succeeded, all tasks (Airflow: ti_successes).");
    sb_appendf(out, "dagctl_ti_successes_total %lld\n", (long long)t.successes);
    family(out, "dagctl_ti_failures_total", "counter",
           "Task tries that failed, retried or not, all tasks (Airflow: ti_failures).");
    sb_appendf(out, "dagctl_ti_failures_total %lld\n", (long long)t.failures);
    family(out, "dagctl_dagrun_duration_success_seconds", "histogram",
           "Duration of successful DAG runs (Airflow: dagrun.duration.success.<dag_id>).");
    sb_appendn(out, sb_str(&r.ok), r.ok.len);
    family(out, "dagctl_dagrun_duration_failed_seconds", "histogram",
           "Duration of failed DAG runs (Airflow: dagrun.duration.failed.<dag_id>).");
    sb_appendn(out, sb_str(&r.failed), r.failed.len);
    family(out, "dagctl_dagrun_schedule_delay_seconds", "histogram",
           "How late runs started: after their data interval's end for scheduled runs, after "
           "the trigger for others (Airflow: dagrun.schedule_delay.<dag_id>).");
    sb_appendn(out, sb_str(&r.delay), r.delay.len);
    family(out, "dagctl_task_instances", "gauge", "Task instances by DAG and state.");
    sb_appendn(out, sb_str(&ti), ti.len);
    family(out, "dagctl_dag_runs", "gauge", "DAG runs by DAG and state.");
    sb_appendn(out, sb_str(&runs), runs.len);
    family(out, "dagctl_metrics_folded_series", "gauge",
           "DAGs and tasks beyond the series limit, added into dag_id=\"_other\".");
    sb_appendf(out, "dagctl_metrics_folded_series %lld\n", (long long)(t.folded + r.folded));
    size_t n_errors = 0;
    struct dag_store_import_error *errors = NULL;
    if (dag_store_list_import_errors(w->store, &errors, &n_errors) == 0) {
      family(out, "dagctl_dag_processing_import_errors", "gauge",
             "DAG files that failed to load (Airflow: dag_processing.import_errors).");
      sb_appendf(out, "dagctl_dag_processing_import_errors %zu\n", n_errors);
      dag_store_import_errors_free(errors, n_errors);
    }
    /* What the tries cost (task_try's usage columns), all tasks together. */
    static const double rss_mib[] = {16, 64, 256, 1024, 4096, 16384};
    int64_t rss_kb[6], rss_counts[7], rss_sum_kb, user_us, sys_us;
    for (size_t i = 0; i < 6; i++) rss_kb[i] = (int64_t)rss_mib[i] * 1024;
    if (dag_store_try_usage(w->store, rss_kb, 6, rss_counts, &rss_sum_kb, &user_us,
                            &sys_us) == 0) {
      family(out, "dagctl_task_max_rss_bytes", "histogram",
             "Peak resident memory of one process of each finished try.");
      for (size_t i = 0; i < 6; i++)
        sb_appendf(out, "dagctl_task_max_rss_bytes_bucket{le=\"%.0f\"} %lld\n",
                   rss_mib[i] * 1048576, (long long)rss_counts[i]);
      sb_appendf(out, "dagctl_task_max_rss_bytes_bucket{le=\"+Inf\"} %lld\n",
                 (long long)rss_counts[6]);
      sb_appendf(out, "dagctl_task_max_rss_bytes_sum %lld\n", (long long)rss_sum_kb * 1024);
      sb_appendf(out, "dagctl_task_max_rss_bytes_count %lld\n", (long long)rss_counts[6]);
      family(out, "dagctl_task_cpu_seconds_total", "counter",
             "CPU time of the finished tries' processes, by mode.");
      sb_appendf(out, "dagctl_task_cpu_seconds_total{mode=\"user\"} %.6f\n",
                 (double)user_us / 1e6);
      sb_appendf(out, "dagctl_task_cpu_seconds_total{mode=\"system\"} %.6f\n",
                 (double)sys_us / 1e6);
    }
    int64_t alerts[3];
    if (dag_store_count_alerts(w->store, alerts) == 0) {
      family(out, "dagctl_alerts_pending", "gauge", "Email alerts in the outbox not sent yet.");
      sb_appendf(out, "dagctl_alerts_pending %lld\n", (long long)alerts[DAG_ALERT_QUEUED]);
      family(out, "dagctl_alerts", "gauge", "Email alerts by state.");
      for (int a = 0; a < 3; a++) {
        series(out, "dagctl_alerts", NULL, NULL, dag_alert_state_name((enum dag_alert_state)a),
               NULL);
        sb_appendf(out, "%lld\n", (long long)alerts[a]);
      }
    }
    web_metrics_workers(w, out);
  }
  free(t.key_dag);
  free(t.key_task);
  free(r.key);
  free(tis.dag);
  free(rs.dag);
  sb_free(&ti);
  sb_free(&runs);
  sb_free(&t.dur);
  sb_free(&t.start);
  sb_free(&t.finish);
  sb_free(&t.retry);
  sb_free(&r.ok);
  sb_free(&r.failed);
  sb_free(&r.delay);
  return rc;
}

void web_metrics(struct dag_web *w, struct dag_http_conn *c) {
  uint64_t version = 0;
  bool cacheable = dag_store_data_version(w->store, &version) == 0;
  if (!cacheable || !w->metrics_db || w->metrics_version != version) {
    struct strbuf db = STRBUF_INIT;
    int rc = db_part(w, &db);
    if (rc) {
      sb_free(&db);
      web_error(c, 500, "Internal Server Error", "the state store failed: %s",
                dag_strerror(rc));
      return;
    }
    free(w->metrics_db);
    w->metrics_db = sb_detach(&db);
    w->metrics_version = version;
    if (!cacheable) w->metrics_version = UINT64_MAX; /* never matches: recompute next time */
  }
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, w->metrics_db);

  family(&sb, "dagctl_scheduler_loop_lag_seconds", "gauge",
         "How late a 500 ms timer fired on the serving loop: time spent on other work.");
  sb_appendf(&sb, "dagctl_scheduler_loop_lag_seconds %.6f\n", w->lag_seconds);
  family(&sb, "dagctl_scheduler_loop_lag_max_seconds", "gauge",
         "The largest loop lag seen since the previous scrape.");
  sb_appendf(&sb, "dagctl_scheduler_loop_lag_max_seconds %.6f\n", w->lag_max_seconds);
  w->lag_max_seconds = w->lag_seconds;

  /* The scheduler's own figures, when it serves the page; served alone,
   * there is no scheduler to ask, and these are left out. */
  if (w->sched) {
    struct dag_scheduler_stats st;
    dag_scheduler_stats(w->sched, &st);
    family(&sb, "dagctl_scheduler_tasks_running", "gauge",
           "Tasks running (Airflow: scheduler.tasks.running).");
    sb_appendf(&sb, "dagctl_scheduler_tasks_running %d\n", st.running_tasks);
    family(&sb, "dagctl_executor_queued_tasks", "gauge",
           "Tasks ready to run, waiting for a free slot: the queue depth (Airflow: "
           "executor.queued_tasks).");
    sb_appendf(&sb, "dagctl_executor_queued_tasks %d\n", st.ready_tasks);
    int open = w->cfg->parallelism - st.running_tasks;
    family(&sb, "dagctl_executor_open_slots", "gauge",
           "Task slots free under core.parallelism (Airflow: executor.open_slots).");
    sb_appendf(&sb, "dagctl_executor_open_slots %d\n", open > 0 ? open : 0);
    family(&sb, "dagctl_dagrun_active", "gauge", "DAG runs queued or running in the scheduler.");
    sb_appendf(&sb, "dagctl_dagrun_active %d\n", st.active_runs);
    family(&sb, "dagctl_dagbag_size", "gauge", "DAGs the scheduler knows (Airflow: dagbag_size).");
    sb_appendf(&sb, "dagctl_dagbag_size %d\n", st.dags);
    family(&sb, "dagctl_task_scheduling_delay_seconds", "histogram",
           "How long a task waited, once ready to run, for its try to start, since the "
           "scheduler started (Airflow: dag.<dag_id>.<task_id>.scheduled_duration).");
    dag_scheduler_each_delay(w->sched, on_delay, &sb);
  }
  family(&sb, "dagctl_scheduler_up", "gauge", "1 when this process runs the scheduler.");
  sb_appendf(&sb, "dagctl_scheduler_up %d\n", w->sched && !dag_scheduler_failed(w->sched));
  dag_http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                   "Cache-Control: no-store\r\n", sb_str(&sb), sb.len);
  sb_free(&sb);
}
