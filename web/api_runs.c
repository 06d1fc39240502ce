/* api_runs.c - the API inside one run: a task instance, tries and their
 * logs, and Airflow's clearTaskInstances. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "apijson.h"
#include "dag_find.h"
#include "error.h"
#include "ids.h"
#include "log.h"
#include "runs.h"
#include "secret.h"
#include "store_vars.h"
#include "store_pools.h"
#include "web_api.h"
#include "web_lists.h"
#include "web_log_json.h"

/* --- task instances ---------------------------------------------------------------------- */

/* GET .../taskInstances/{task_id}; the lists are api_lists.c. */
static void get_ti(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                   const char *run_id, const char *task_id) {
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  int rc = dag_store_list_tis(w->store, run.pk, &tis, &n);
  if (rc) {
    dag_store_run_free(&run);
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    return;
  }
  struct dag_store_dag d;
  char *graph = NULL;
  if (dag_store_get_dag(w->store, dag_id, &d) == 0) {
    graph = d.graph;
    d.graph = NULL;
    dag_store_dag_free(&d);
  }
  struct api_task_order order;
  api_order_init(&order, graph);
  free(graph);
  json_t *one = NULL;
  bool mapped = false;
  for (size_t i = 0; i < n && !one && !mapped; i++) {
    if (strcmp(tis[i].task_id, task_id) != 0 || tis[i].map_index >= 0) continue;
    mapped = api_mapped_hidden(tis, n, i);
    if (!mapped) one = dag_api_task_instance(&run, &tis[i], api_order_type(&order, task_id));
  }
  struct dag_store_ti_pool *pools = NULL;
  size_t np = 0;
  if (one && dag_store_ti_pools(w->store, run.pk, &pools, &np) == 0)
    dag_api_ti_pool(one, dag_store_ti_pool_find(pools, np, task_id, -1));
  dag_store_ti_pools_free(pools, np);
  if (one)
    web_json(c, 200, one);
  else if (mapped)
    web_error(c, 404, "Task instance not found",
              "Task instance is mapped, add the map_index value to the URL");
  else
    web_error(c, 404, "Task instance not found", "run '%s' of DAG '%s' has no task '%s'",
              run_id, dag_id, task_id);
  api_order_free(&order);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
}

/* --- tries ------------------------------------------------------------------------------------ */

static void list_tries(struct dag_web *w, struct dag_http_conn *c,
                       const struct dag_http_request *req, const char *dag_id,
                       const char *run_id) {
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  char *task_id = dag_http_query_param(req->query, "task_id");
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  int rc = dag_store_list_tries(w->store, run.pk, task_id, &tries, &n);
  free(task_id);
  if (rc) {
    dag_store_run_free(&run);
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    const struct dag_store_try *t = &tries[i];
    json_t *duration = t->start_date && t->end_date
                           ? json_real((double)(t->end_date - t->start_date) / 1e6)
                           : json_null();
    /* The log path stays on the server: the log is fetched by these ids. */
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
                       "dag_id", dag_id, "dag_run_id", run_id, "task_id", t->task_id,
                       "map_index", t->map_index, "try_number", t->try_number, "state", dag_task_state_name(t->state), "start_date",
                       dag_api_time(t->start_date), "end_date", dag_api_time(t->end_date),
                       "duration", duration, "pid", t->pid ? json_integer(t->pid) : json_null(),
                       "exit_code", t->has_exit_code ? json_integer(t->exit_code) : json_null(),
                       "error", t->error ? json_string(t->error) : json_null());
    dag_api_usage(o, &t->usage);
    json_array_append_new(arr, o);
  }
  dag_store_tries_free(tries, n);
  dag_store_run_free(&run);
  web_json(c, 200, json_pack("{s:o, s:I}", "task_tries", arr, "total_entries", (json_int_t)n));
}

/* --- logs ---------------------------------------------------------------------------------------- */

/* Parse "bytes=A-B", "bytes=A-" or "bytes=-N" against a file of `size`
 * bytes. Returns 1 with [start, end) set, 0 to ignore the header (several
 * ranges, another unit), -1 when unsatisfiable. */
static int parse_range(const char *h, int64_t size, int64_t *start, int64_t *end) {
  if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',')) return 0;
  const char *p = h + 6;
  char *e;
  errno = 0;
  if (*p == '-') {
    long long suffix = strtoll(p + 1, &e, 10);
    if (errno || e == p + 1 || *e || suffix <= 0) return 0;
    *start = suffix >= size ? 0 : size - suffix;
    *end = size;
    return size > 0 ? 1 : -1;
  }
  long long a = strtoll(p, &e, 10);
  if (errno || e == p || *e != '-' || a < 0) return 0;
  p = e + 1;
  long long b = size - 1;
  if (*p) {
    b = strtoll(p, &e, 10);
    if (errno || e == p || *e || b < a) return 0;
  }
  if (a >= size) return -1;
  *start = a;
  *end = b + 1 < size ? b + 1 : size;
  return 1;
}

static void safe_filename(struct strbuf *sb, const char *s) {
  for (; *s; s++) {
    char ch = *s;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.';
    sb_appendc(sb, ok ? ch : '_');
  }
}

/* GET .../taskInstances/{task_id}/logs/{try}: the log as text/plain. The
 * file is found by ids through the store's record of the try; nothing in
 * the request becomes part of a path. ?offset=N (or a Range header) sends
 * only what follows byte N, for following a running task's log; ?limit=N
 * at most N bytes of it; ?tail=N the last N bytes, so that a page shows
 * the end of a log of any size and asks for earlier parts on demand. Every
 * 200 and 206 says where it starts (X-Log-Start) and how big the log is
 * (X-Log-Size). */
/* The most of a log answered at once when it must be masked. */
#define WEB_LOG_MASK_MAX (8 << 20)

static void get_log(struct dag_web *w, struct dag_http_conn *c,
                    const struct dag_http_request *req, char *const *p) {
  const char *dag_id = p[0], *run_id = p[1], *task_id = p[2];
  static const enum dag_id_kind kinds[] = {DAG_ID_DAG, DAG_ID_RUN, DAG_ID_TASK};
  for (int i = 0; i < 3; i++) {
    const char *why = dag_id_problem(kinds[i], p[i]);
    if (why) {
      web_error(c, 400, "Bad Request", "invalid id '%s' (%s)", p[i], why);
      return;
    }
  }
  char *end;
  errno = 0;
  long try_number = strtol(p[3], &end, 10);
  if (errno || end == p[3] || *end || try_number < 1 || try_number > 1000000) {
    web_error(c, 400, "Bad Request", "the try number must be a positive integer");
    return;
  }
  long offset, limit, tail, map_index;
  /* Airflow's map_index: which instance of a mapped task; -1 for others. */
  if (!api_query_int(c, req, "map_index", -1, -1, DAG_MAX_MAP_LENGTH, &map_index)) return;
  if (!api_query_int(c, req, "offset", 0, 0, INT64_C(1) << 50, &offset)) return;
  if (!api_query_int(c, req, "limit", -1, 1, INT64_C(1) << 50, &limit)) return;
  if (!api_query_int(c, req, "tail", -1, 1, INT64_C(1) << 50, &tail)) return;
  char *has_offset = dag_http_query_param(req->query, "offset");
  bool both = has_offset && tail > 0;
  free(has_offset);
  if (both) {
    web_error(c, 400, "Bad Request", "tail and offset cannot be combined: tail counts from the end");
    return;
  }
  int download = 0, full = 0;
  if (!api_query_bool(c, req, "download", &download)) return;
  if (!api_query_bool(c, req, "full_content", &full)) return;
  /* Airflow's clients ask for application/json: {content,
   * continuation_token}, from where ?token= says. */
  int json = dag_http_accept_choose(dag_http_header(req, "Accept"), "text/plain",
                                    "application/json");
  if (json < 0) {
    web_error(c, 406, "Not Acceptable", "logs are served as text/plain or application/json");
    return;
  }
  int64_t token_pos = 0;
  char *token = dag_http_query_param(req->query, "token");
  bool token_ok = !token || api_log_token_parse(token, &token_pos);
  free(token);
  if (!token_ok) {
    web_error(c, 400, "Bad Request", "the continuation token is not one this server gave");
    return;
  }

  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  int rc = dag_store_list_tries(w->store, run.pk, task_id, &tries, &n);
  int64_t run_pk = run.pk;
  dag_store_run_free(&run);
  const struct dag_store_try *t = NULL;
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (tries[i].try_number == try_number && tries[i].map_index == map_index) t = &tries[i];
  if (!t) {
    dag_store_tries_free(tries, n);
    if (map_index >= 0)
      web_error(c, 404, "Task try not found",
                "task '%s' of run '%s' has no try %ld with map_index %ld", task_id, run_id,
                try_number, map_index);
    else
      web_error(c, 404, "Task try not found", "task '%s' of run '%s' has no try %ld", task_id,
                run_id, try_number);
    return;
  }
  char *path = NULL;
  rc = web_log_path(w->cfg->home, t->log_path, &path);
  bool finished = t->end_date != 0;
  dag_store_tries_free(tries, n);
  if (rc == DAG_EINVAL) {
    LOG_WARN("web: refused a log path outside the logs folder dag=%s run=%s task=%s",
             dag_id, run_id, task_id);
    web_error(c, 400, "Bad Request", "the log of this try is outside the logs folder");
    return;
  }
  int fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  free(path);
  /* Not here: it may have run on a worker of another machine. */
  if (fd < 0 && (rc == -ENOENT || (rc == 0 && errno == ENOENT)) &&
      api_remote_log(w, c, run_pk, task_id, (int)try_number, offset, tail, limit))
    return;
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    if (fd >= 0) close(fd);
    web_error(c, 404, "Log not found", "the log file of try %ld of task '%s' is gone",
              try_number, task_id);
    return;
  }
  int64_t size = sb.st_size, start = 0, stop = size;
  if (json == 1) {
    api_log_json(c, fd, token_pos, size, finished, full);
    return;
  }
  int status = 200;
  struct strbuf h = STRBUF_INIT;
  sb_append(&h, "Cache-Control: no-store\r\nAccept-Ranges: bytes\r\n");
  const char *range = dag_http_header(req, "Range");
  int rk = range ? parse_range(range, size, &start, &stop) : 0;
  if (rk < 0 || offset > size) {
    close(fd);
    sb_appendf(&h, "Content-Range: bytes */%lld\r\n", (long long)size);
    dag_http_respond(c, 416, "text/plain; charset=utf-8", sb_str(&h), "", 0);
    sb_free(&h);
    return;
  }
  /* What a task printed of a connection's password or a secret variable
   * goes out masked, byte for byte (secret.h), so offsets and ranges hold.
   * Masking reads the range here, on the loop (a read of a regular file
   * waits on no one): at most WEB_LOG_MASK_MAX bytes are answered then,
   * and X-Log-Start, X-Log-Size and Content-Range say where to go on. */
  struct dag_masker masker = DAG_MASKER_INIT;
  dag_store_secret_values(w->store, environ, dag_masker_add_cb, &masker);
  if (rk > 0 && masker.n && stop - start > WEB_LOG_MASK_MAX) stop = start + WEB_LOG_MASK_MAX;
  if (rk > 0) {
    status = 206;
    sb_appendf(&h, "Content-Range: bytes %lld-%lld/%lld\r\n", (long long)start,
               (long long)stop - 1, (long long)size);
  } else if (tail > 0) {
    start = tail >= size ? 0 : size - tail;
  } else {
    start = offset;
  }
  if (rk <= 0 && limit > 0 && stop - start > limit) stop = start + limit;
  if (rk <= 0 && masker.n && stop - start > WEB_LOG_MASK_MAX) stop = start + WEB_LOG_MASK_MAX;
  sb_appendf(&h, "X-Log-Start: %lld\r\nX-Log-Size: %lld\r\n", (long long)start,
             (long long)size);
  if (download) {
    sb_append(&h, "Content-Disposition: attachment; filename=\"");
    safe_filename(&h, dag_id);
    sb_append(&h, "__");
    safe_filename(&h, run_id);
    sb_append(&h, "__");
    safe_filename(&h, task_id);
    sb_appendf(&h, "__%ld.log\"\r\n", try_number);
  }
  if (masker.n == 0) {
    dag_http_respond_file(c, status, "text/plain; charset=utf-8", sb_str(&h), fd, start,
                          stop - start);
  } else {
    int64_t pad = (int64_t)masker.maxlen - 1;
    int64_t from = start > pad ? start - pad : 0, to = stop + pad < size ? stop + pad : size;
    char *buf = xmalloc((size_t)(to - from) + 1);
    ssize_t got = pread(fd, buf, (size_t)(to - from), from);
    close(fd);
    if (got < 0) got = 0;
    dag_masker_apply(&masker, buf, (size_t)got);
    /* A file that shrank under us: what is there. */
    int64_t have = from + got < stop ? from + got : stop;
    dag_http_respond(c, status, "text/plain; charset=utf-8", sb_str(&h), buf + (start - from),
                     have > start ? (size_t)(have - start) : 0);
    free(buf);
  }
  dag_masker_free(&masker);
  sb_free(&h);
}

/* --- clear ------------------------------------------------------------------------------------- */

static bool json_flag(json_t *body, const char *name, bool def, const char **bad) {
  json_t *v = json_object_get(body, name);
  if (!v || json_is_null(v)) return def;
  if (!json_is_boolean(v)) {
    *bad = name;
    return def;
  }
  return json_is_true(v);
}

/* Airflow's POST /dags/{dag_id}/clearTaskInstances for one run
 * (dag_run_id): task_ids (default every task), include_downstream,
 * include_upstream, only_failed, and dry_run, which defaults to true as in
 * Airflow. Answers the task instances cleared (or that would be). */
static void clear(struct dag_web *w, struct dag_http_conn *c,
                  const struct dag_http_request *req, const char *dag_id) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  const char *bad = NULL;
  bool downstream = json_flag(body, "include_downstream", false, &bad);
  bool upstream = json_flag(body, "include_upstream", false, &bad);
  bool only_failed = json_flag(body, "only_failed", false, &bad);
  bool dry_run = json_flag(body, "dry_run", true, &bad);
  const char *run_id = json_string_value(json_object_get(body, "dag_run_id"));
  json_t *ids = json_object_get(body, "task_ids");
  if (bad) {
    web_error(c, 400, "Bad Request", "%s must be true or false", bad);
  } else if (!run_id) {
    web_error(c, 400, "Bad Request", "dag_run_id (a string) names the run to clear");
    bad = "";
  } else if (ids && !json_is_null(ids) && !json_is_array(ids)) {
    web_error(c, 400, "Bad Request", "task_ids must be an array of task ids");
    bad = "";
  }
  struct dag_store_run run;
  if (bad || !api_get_run(w, c, dag_id, run_id, &run)) {
    json_decref(body);
    return;
  }
  /* The run's own graph (its version), as the scheduler runs it. */
  struct dag *dag = NULL;
  if (!run.dag_version_id || dag_find_load_version(w->store, run.dag_version_id, &dag) != 0)
    dag = api_load_dag(w, c, dag_id);
  if (!dag) {
    dag_store_run_free(&run);
    json_decref(body);
    return;
  }
  size_t n = dag->n_tasks;
  bool *pick = xcalloc(n, sizeof(*pick));
  size_t k;
  json_t *v;
  if (!json_is_array(ids)) {
    for (size_t i = 0; i < n; i++) pick[i] = true;
  } else {
    json_array_foreach(ids, k, v) {
      long t = json_is_string(v) ? dag_find_task(dag, json_string_value(v)) : -1;
      if (t < 0) {
        web_error(c, 400, "Bad Request", "DAG '%s' has no task %s%s%s", dag_id,
                  json_is_string(v) ? "'" : "", json_is_string(v) ? json_string_value(v) : "(not a string)",
                  json_is_string(v) ? "'" : "");
        free(pick);
        dag_free(dag);
        dag_store_run_free(&run);
        json_decref(body);
        return;
      }
      pick[t] = true;
    }
  }
  /* Topological order: a task is decided after its upstream tasks (for
   * downstream), before them when walked backwards (for upstream). */
  bool *seed = xcalloc(n, sizeof(*seed));
  memcpy(seed, pick, n * sizeof(*pick));
  if (downstream)
    for (size_t j = 0; j < n; j++) {
      size_t i = dag->topo[j];
      if (!pick[i]) continue;
      for (size_t d = 0; d < dag->tasks[i].n_downstream; d++) pick[dag->tasks[i].downstream[d]] = true;
    }
  if (upstream)
    for (size_t j = n; j-- > 0;) {
      size_t i = dag->topo[j];
      if (!seed[i]) continue;
      for (size_t u = 0; u < dag->tasks[i].n_upstream; u++) {
        pick[dag->tasks[i].upstream[u]] = true;
        seed[dag->tasks[i].upstream[u]] = true;
      }
    }
  free(seed);
  /* What the store would leave alone: tasks running now, tasks this run
   * does not have, and with only_failed everything that did not fail. */
  struct dag_store_ti *tis = NULL;
  size_t n_tis = 0;
  dag_store_list_tis(w->store, run.pk, &tis, &n_tis);
  bool *present = xcalloc(n, sizeof(*present));
  for (size_t i = 0; i < n_tis; i++) {
    long t = dag_find_task(dag, tis[i].task_id);
    if (t < 0) continue;
    enum dag_task_state s = tis[i].state;
    bool busy = s == DAG_TI_RUNNING || s == DAG_TI_QUEUED;
    bool failed = s == DAG_TI_FAILED || s == DAG_TI_UPSTREAM_FAILED;
    present[t] = !busy && (!only_failed || failed);
  }
  dag_store_tis_free(tis, n_tis);
  const char **names = xcalloc(n ? n : 1, sizeof(*names));
  int *retries = xcalloc(n ? n : 1, sizeof(*retries));
  size_t m = 0;
  json_t *arr = json_array();
  for (size_t j = 0; j < n; j++) {
    size_t i = dag->topo[j];
    if (!pick[i] || !present[i]) continue;
    names[m] = dag->tasks[i].id;
    retries[m++] = dag->tasks[i].args.retries;
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "task_id", dag->tasks[i].id,
                                         "dag_id", dag_id, "dag_run_id", run_id,
                                         "execution_date", dag_api_time(run.logical_date)));
  }
  int rc = 0;
  dag_store *writer = NULL;
  if (!dry_run && m && (writer = api_writer(w, c)) == NULL) {
    json_decref(arr);
    rc = -1; /* answered */
  } else if (!dry_run && m) {
    size_t cleared = 0, skipped = 0;
    rc = dag_store_begin(writer);
    if (rc == 0) rc = dag_store_clear(writer, run.pk, names, retries, m, &cleared, &skipped);
    rc = web_audit_finish(w, c, writer, rc, "clear", dag_id, run_id, NULL);
    if (rc == 0) {
      LOG_INFO("web: cleared dag=%s run=%s tasks=%zu left_running=%zu", dag_id, run_id, cleared,
               skipped);
      dag_scheduler_notify(w->cfg->home);
    } else {
      json_decref(arr);
      web_store_error(c, rc, "cannot clear");
    }
    api_writer_done(w, writer);
  }
  if (rc == 0) web_json(c, 200, json_pack("{s:o}", "task_instances", arr));
  free(names);
  free(retries);
  free(present);
  free(pick);
  dag_free(dag);
  dag_store_run_free(&run);
  json_decref(body);
}

void api_runs(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const struct dag_route_match *m) {
  char *const *p = m->params;
  switch (m->route) {
  case DAG_ROUTE_TIS:
    api_list_tis(w, c, req, p[0], p[1]);
    break;
  case DAG_ROUTE_TI:
    get_ti(w, c, p[0], p[1], p[2]);
    break;
  case DAG_ROUTE_LOG:
    get_log(w, c, req, p);
    break;
  case DAG_ROUTE_TRIES:
    list_tries(w, c, req, p[0], p[1]);
    break;
  case DAG_ROUTE_CLEAR:
    clear(w, c, req, p[0]);
    break;
  case DAG_ROUTE_GRID:
    api_grid(w, c, req, p[0]);
    break;
  default:
    web_error(c, 404, "Not Found", "no such API endpoint");
  }
}
