/* dashboard.c - GET /api/v1/ui/dashboard: the listening dashboard's data,
 * read from the warehouse (see dashboard_sql.c for the queries).
 *
 * The warehouse's client libraries block (SQLite on a busy file, libpq on
 * the network), so every read runs on the thread pool (uv_queue_work),
 * one job at a time over one read-only connection, opened by the first job
 * and kept while it works. Jobs wait in a queue of at most DASH_MAX_QUEUED
 * requests; more are answered 503. Each job first asks the warehouse for
 * its version (dash_sql_version()), and answers from the cache when the
 * same range was computed at that version: a page that polls costs one
 * tiny query a time, and a pipeline run that rebuilds gold changes the
 * version, so the next poll recomputes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "web_int.h"
#include "wh.h"

#define DASH_MAX_QUEUED 32
#define DASH_CACHE_SLOTS 8

struct dash_cached {
  char *key;     /* "START|END" */
  char *version; /* dash_sql_version() it was computed at */
  char *body;    /* JSON text */
  size_t len;
};

struct web_dash {
  /* Touched only by the job that runs (one at a time): the thread pool's
   * hand-over orders each job after the previous one. */
  struct wh *wh;
  unsigned generation; /* connections opened: a version is one connection's */
  struct dash_cached cache[DASH_CACHE_SLOTS];
  unsigned cache_next;
  /* The loop's. */
  struct dash_job *head, *tail; /* waiting, in arrival order */
  int queued;
  bool running;
  char *url, *password; /* owned copies of warehouse.url and its password */
};

struct dash_job {
  uv_work_t work;
  struct dag_web *w;
  struct dag_http_conn *conn; /* held */
  struct dash_job *next;
  struct dash_range range;
  /* Results, set on the thread pool. */
  int status;
  char *body; /* JSON text, escaped as web_json_dumps() does */
};

/* --- the job, on the thread pool ---------------------------------------------------------- */

static char *error_body(int status, const char *title, const char *detail) {
  json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "status", status, "title", title, "detail",
                        detail, "type", dag_http_problem_type(status));
  char *s = web_json_dumps(j);
  json_decref(j);
  return s;
}

static void cache_put(struct web_dash *d, const char *key, const char *version,
                      const char *body) {
  struct dash_cached *e = NULL;
  for (size_t i = 0; i < DASH_CACHE_SLOTS && !e; i++)
    if (d->cache[i].key && strcmp(d->cache[i].key, key) == 0) e = &d->cache[i];
  if (!e) {
    e = &d->cache[d->cache_next];
    d->cache_next = (d->cache_next + 1) % DASH_CACHE_SLOTS;
    free(e->key);
    e->key = xstrdup(key);
  }
  free(e->version);
  free(e->body);
  e->version = xstrdup(version);
  e->body = xstrdup(body);
  e->len = strlen(body);
}

static void job_work(uv_work_t *req) {
  struct dash_job *job = container_of(req, struct dash_job, work);
  struct web_dash *d = job->w->dash;
  char *err = NULL;
  if (!d->wh) {
    struct wh_options o = {.url = d->url, .password = d->password, .read_only = true,
                           .busy_timeout_ms = 5000};
    if (wh_open(&o, &d->wh, &err) != 0) {
      char *detail = xasprintf("the warehouse cannot be read (has the pipeline run?): %s", err);
      job->status = 503;
      job->body = error_body(503, "Service Unavailable", detail);
      free(detail);
      free(err);
      return;
    }
    d->generation++;
  }
  char *version = NULL;
  int rc = dash_sql_version(d->wh, d->generation, &version, &err);
  char key[2 * sizeof(job->range.start) + 2];
  snprintf(key, sizeof(key), "%s|%s", job->range.start, job->range.end);
  for (size_t i = 0; rc == 0 && i < DASH_CACHE_SLOTS; i++) {
    const struct dash_cached *e = &d->cache[i];
    if (e->key && strcmp(e->key, key) == 0 && strcmp(e->version, version) == 0) {
      job->status = 200;
      job->body = xstrdup(e->body);
      free(version);
      return;
    }
  }
  json_t *data = NULL;
  if (rc == 0) rc = dash_sql_read(d->wh, &job->range, &data, &err);
  if (rc != 0) {
    /* The next job starts from a new connection: this one may be broken
     * (a server restart), and a file may have appeared since. */
    wh_close(d->wh);
    d->wh = NULL;
    char *detail = xasprintf("the warehouse could not be read: %s", err ? err : "unknown error");
    job->status = 503;
    job->body = error_body(503, "Service Unavailable", detail);
    free(detail);
    free(err);
    free(version);
    return;
  }
  json_object_set_new(data, "warehouse_version", json_string(version));
  job->status = 200;
  job->body = web_json_dumps(data);
  json_decref(data);
  cache_put(d, key, version, job->body);
  free(version);
}

/* --- on the loop -------------------------------------------------------------------------- */

static void start_next(struct dag_web *w);

static void job_free(struct dash_job *job) {
  free(job->body);
  free(job);
}

static void job_done(uv_work_t *req, int status) {
  struct dash_job *job = container_of(req, struct dash_job, work);
  struct dag_web *w = job->w;
  w->dash->running = false;
  if (dag_http_conn_release(job->conn)) {
    if (status != 0) {
      job->status = 503;
      free(job->body);
      job->body = error_body(503, "Service Unavailable", "the dashboard's read was cancelled");
    }
    if (job->status == 503)
      dag_http_respond(job->conn, 503, "application/json",
                       "Cache-Control: no-store\r\nRetry-After: 5\r\n", job->body,
                       strlen(job->body));
    else
      web_json_text(job->conn, job->status, job->body, strlen(job->body));
  }
  job_free(job);
  if (!w->closing) start_next(w);
  web_handle_closed(w); /* the job's hold on the server */
}

static void start_next(struct dag_web *w) {
  struct web_dash *d = w->dash;
  if (d->running || !d->head) return;
  struct dash_job *job = d->head;
  d->head = job->next;
  if (!d->head) d->tail = NULL;
  d->queued--;
  int rc = uv_queue_work(w->loop, &job->work, job_work, job_done);
  if (rc != 0) {
    LOG_ERROR("web: cannot queue the dashboard's read error=\"%s\"", uv_strerror(rc));
    if (dag_http_conn_release(job->conn))
      web_error(job->conn, 500, "Internal Server Error", "cannot queue the read: %s",
                uv_strerror(rc));
    job_free(job);
    start_next(w);
    return;
  }
  d->running = true;
  w->handles++;
}

/* A date YYYY-MM-DD that exists in the calendar. */
static bool valid_date(const char *s) {
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return false;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0');
  int day = (s[8] - '0') * 10 + (s[9] - '0');
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || day < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= days[m - 1] + (m == 2 && leap);
}

/* Read query parameter `name` into `out` ("" when absent). False after
 * answering 400. */
static bool range_param(struct dag_http_conn *c, const struct dag_http_request *req,
                        const char *name, char *out, size_t size) {
  out[0] = '\0';
  char *v = dag_http_query_param(req->query, name);
  if (!v) {
    char probe[64];
    snprintf(probe, sizeof(probe), "%s=", name);
    /* Present but malformed (a bad %-escape): not the same as absent. */
    if (strstr(req->query, probe)) {
      web_error(c, 400, "Bad Request", "%s: malformed %%-escape", name);
      return false;
    }
    return true;
  }
  if (*v && !valid_date(v)) {
    web_error(c, 400, "Bad Request", "%s: expected a date YYYY-MM-DD, got '%s'", name, v);
    free(v);
    return false;
  }
  snprintf(out, size, "%s", v);
  free(v);
  return true;
}

void web_dashboard(struct dag_web *w, struct dag_http_conn *c,
                   const struct dag_http_request *req) {
  struct dash_range r;
  if (!range_param(c, req, "start", r.start, sizeof(r.start)) ||
      !range_param(c, req, "end", r.end, sizeof(r.end)))
    return;
  if (r.start[0] && r.end[0] && strcmp(r.start, r.end) > 0) {
    web_error(c, 400, "Bad Request", "start (%s) is after end (%s)", r.start, r.end);
    return;
  }
  struct web_dash *d = w->dash;
  if (w->closing) {
    web_error(c, 503, "Service Unavailable", "the server is stopping");
    return;
  }
  if (d->queued >= DASH_MAX_QUEUED) {
    static const char busy[] = "{\"status\":503,\"title\":\"Service Unavailable\","
                               "\"detail\":\"too many dashboard reads waiting; try again\","
                               "\"type\":\"about:blank\"}";
    dag_http_respond(c, 503, "application/json", "Cache-Control: no-store\r\nRetry-After: 1\r\n",
                     busy, sizeof(busy) - 1);
    return;
  }
  struct dash_job *job = xcalloc(1, sizeof(*job));
  job->w = w;
  job->conn = c;
  job->range = r;
  dag_http_conn_hold(c);
  if (d->tail)
    d->tail->next = job;
  else
    d->head = job;
  d->tail = job;
  d->queued++;
  start_next(w);
}

void web_dash_init(struct dag_web *w) {
  struct web_dash *d = xcalloc(1, sizeof(*d));
  /* The warehouse section is the warehouse plugins' (tasks/warehouse):
   * resolved once the CLI checked it against their declaration; unset
   * (no such section anywhere), its declared default. */
  d->url = dag_config_value(w->cfg, "warehouse", "url");
  if (d->url == NULL) d->url = xasprintf("%s/warehouse.db", w->cfg->home);
  d->password = dag_config_value(w->cfg, "warehouse", "password");
  w->dash = d;
}

void web_dash_stop(struct dag_web *w) {
  struct web_dash *d = w->dash;
  while (d->head) {
    struct dash_job *job = d->head;
    d->head = job->next;
    dag_http_conn_release(job->conn); /* closing with the server: no answer */
    job_free(job);
  }
  d->tail = NULL;
  d->queued = 0;
}

void web_dash_free(struct dag_web *w) {
  struct web_dash *d = w->dash;
  if (!d) return;
  /* No job runs now (each holds the server open), so the connection is
   * the loop's to close. */
  wh_close(d->wh);
  for (size_t i = 0; i < DASH_CACHE_SLOTS; i++) {
    free(d->cache[i].key);
    free(d->cache[i].version);
    free(d->cache[i].body);
  }
  if (d->password) memset(d->password, 0, strlen(d->password));
  free(d->password);
  free(d->url);
  free(d);
  w->dash = NULL;
}
