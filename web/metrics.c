/* metrics.c - GET /metrics in Prometheus' text format (version 0.0.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "scheduler.h"
#include "strbuf.h"
#include "web_int.h"

/* Task durations span seconds (sensors, checks) to hours (loads). */
static const double bucket_seconds[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800};
#define N_BUCKETS (sizeof(bucket_seconds) / sizeof(bucket_seconds[0]))

static void family(struct strbuf *sb, const char *name, const char *type, const char *help) {
  sb_appendf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as Prometheus reads it: backslash, quote and newline escaped. */
static void label(struct strbuf *sb, const char *v) {
  for (; v && *v; v++) {
    if (*v == '\\' || *v == '"')
      sb_appendf(sb, "\\%c", *v);
    else if (*v == '\n')
      sb_appendf(sb, "\\n");
    else
      sb_appendc(sb, *v);
  }
}

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
      label(sb, ws[i].id);
      if (f == 0) {
        sb_append(sb, "\",host=\"");
        label(sb, ws[i].host);
        sb_append(sb, "\",queues=\"");
        label(sb, ws[i].queues);
        sb_append(sb, "\",state=\"");
        label(sb, ws[i].state);
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

void web_metrics(struct dag_web *w, struct dag_http_conn *c) {
  int64_t ti[DAG_TI__COUNT], runs[DAG_RUN__COUNT];
  int64_t bounds[N_BUCKETS], counts[N_BUCKETS + 1], sum_us = 0;
  for (size_t i = 0; i < N_BUCKETS; i++) bounds[i] = (int64_t)(bucket_seconds[i] * 1e6);
  int rc = dag_store_count_states(w->store, ti, runs);
  if (rc == 0) rc = dag_store_try_durations(w->store, bounds, N_BUCKETS, counts, &sum_us);
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    return;
  }
  struct strbuf sb = STRBUF_INIT;
  family(&sb, "dagctl_task_instances", "gauge", "Task instances in the database by state.");
  for (int s = 0; s < DAG_TI__COUNT; s++)
    sb_appendf(&sb, "dagctl_task_instances{state=\"%s\"} %lld\n",
               dag_task_state_name((enum dag_task_state)s), (long long)ti[s]);
  family(&sb, "dagctl_dag_runs", "gauge", "DAG runs in the database by state.");
  for (int s = 0; s < DAG_RUN__COUNT; s++)
    sb_appendf(&sb, "dagctl_dag_runs{state=\"%s\"} %lld\n",
               dag_run_state_name((enum dag_run_state)s), (long long)runs[s]);

  family(&sb, "dagctl_task_duration_seconds", "histogram",
         "Duration of finished task tries.");
  for (size_t i = 0; i < N_BUCKETS; i++)
    sb_appendf(&sb, "dagctl_task_duration_seconds_bucket{le=\"%g\"} %lld\n", bucket_seconds[i],
               (long long)counts[i]);
  sb_appendf(&sb, "dagctl_task_duration_seconds_bucket{le=\"+Inf\"} %lld\n",
             (long long)counts[N_BUCKETS]);
  sb_appendf(&sb, "dagctl_task_duration_seconds_sum %.6f\n", (double)sum_us / 1e6);
  sb_appendf(&sb, "dagctl_task_duration_seconds_count %lld\n", (long long)counts[N_BUCKETS]);

  family(&sb, "dagctl_scheduler_loop_lag_seconds", "gauge",
         "How late a 500 ms timer fired on the serving loop: time spent on other work.");
  sb_appendf(&sb, "dagctl_scheduler_loop_lag_seconds %.6f\n", w->lag_seconds);
  family(&sb, "dagctl_scheduler_loop_lag_max_seconds", "gauge",
         "The largest loop lag seen since the previous scrape.");
  sb_appendf(&sb, "dagctl_scheduler_loop_lag_max_seconds %.6f\n", w->lag_max_seconds);
  w->lag_max_seconds = w->lag_seconds;

  /* From the scheduler itself when it serves the page; served alone, from
   * the states the database records. */
  int64_t ready = ti[DAG_TI_SCHEDULED] + ti[DAG_TI_QUEUED], running = ti[DAG_TI_RUNNING];
  struct dag_scheduler_stats st;
  if (w->sched) {
    dag_scheduler_stats(w->sched, &st);
    ready = st.ready_tasks;
    running = st.running_tasks;
  }
  family(&sb, "dagctl_queue_depth", "gauge", "Tasks ready to run, waiting for a slot.");
  sb_appendf(&sb, "dagctl_queue_depth %lld\n", (long long)ready);
  family(&sb, "dagctl_running_tasks", "gauge", "Task processes running.");
  sb_appendf(&sb, "dagctl_running_tasks %lld\n", (long long)running);
  if (w->sched) {
    family(&sb, "dagctl_active_runs", "gauge", "DAG runs queued or running in the scheduler.");
    sb_appendf(&sb, "dagctl_active_runs %d\n", st.active_runs);
    family(&sb, "dagctl_dags", "gauge", "DAGs the scheduler knows.");
    sb_appendf(&sb, "dagctl_dags %d\n", st.dags);
    family(&sb, "dagctl_tasks_started_total", "counter", "Task tries started since start-up.");
    sb_appendf(&sb, "dagctl_tasks_started_total %llu\n", (unsigned long long)st.tasks_started);
    family(&sb, "dagctl_tasks_finished_total", "counter", "Task tries ended since start-up.");
    sb_appendf(&sb, "dagctl_tasks_finished_total %llu\n", (unsigned long long)st.tasks_finished);
  }
  int64_t alerts[3];
  if (dag_store_count_alerts(w->store, alerts) == 0) {
    family(&sb, "dagctl_alerts_pending", "gauge", "Email alerts in the outbox not sent yet.");
    sb_appendf(&sb, "dagctl_alerts_pending %lld\n", (long long)alerts[DAG_ALERT_QUEUED]);
    family(&sb, "dagctl_alerts", "gauge", "Email alerts by state.");
    for (int a = 0; a < 3; a++)
      sb_appendf(&sb, "dagctl_alerts{state=\"%s\"} %lld\n",
                 dag_alert_state_name((enum dag_alert_state)a), (long long)alerts[a]);
  }
  web_metrics_workers(w, &sb);
  family(&sb, "dagctl_scheduler_up", "gauge", "1 when this process runs the scheduler.");
  sb_appendf(&sb, "dagctl_scheduler_up %d\n", w->sched && !dag_scheduler_failed(w->sched));
  dag_http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                   "Cache-Control: no-store\r\n", sb_str(&sb), sb.len);
  sb_free(&sb);
}
