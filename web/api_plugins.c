/* api_plugins.c - GET /api/v1/plugins: the installed task plugins in
 * Airflow's PluginCollection shape.
 *
 * The server never loads a plugin itself (plugins.h: a plugin's
 * constructor, crash or leak must not reach it); like the scheduler, it
 * asks a child, this same dagctl running `plugins --json` with the
 * server's home, DAG folder and config file, and reads its output,
 * without blocking the loop: the child runs beside it, its output is read
 * as it comes, and it is killed after 10 s. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api_sort.h"
#include "log.h"
#include "strbuf.h"
#include "web_api.h"
#include "web_lists.h"

#define PLUGINS_TIMEOUT_MS 10000
#define PLUGINS_MAX_OUTPUT (4 * 1024 * 1024)

struct plugins_job {
  uv_process_t proc;
  uv_pipe_t out;
  uv_timer_t timer;
  struct dag_http_conn *c; /* held until the job ends */
  long limit, offset;
  struct strbuf buf;
  int64_t exit_status;
  int term_signal;
  bool exited, too_big;
  int open_handles; /* freed when the last one is closed */
  char rbuf[16 * 1024];
};

/* Airflow's PluginCollectionItem from one entry of `plugins --json`: the
 * lists Airflow fills from Python plugins are empty here; dagctl's own
 * fields (version, task types) ride along. */
static json_t *plugin_item(json_t *p) {
  json_t *types = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(p, "types"), i, t) {
    const char *name = json_string_value(json_object_get(t, "type"));
    if (name) json_array_append_new(types, json_string(name));
  }
  const char *name = json_string_value(json_object_get(p, "name"));
  const char *path = json_string_value(json_object_get(p, "path"));
  const char *version = json_string_value(json_object_get(p, "version"));
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(name ? name : ""));
  static const char *const empty[] = {"hooks", "executors", "macros", "flask_blueprints",
                                      "appbuilder_views", "appbuilder_menu_items",
                                      "global_operator_extra_links", "operator_extra_links",
                                      "ti_deps", "listeners", "timetables"};
  for (size_t k = 0; k < sizeof(empty) / sizeof(empty[0]); k++)
    json_object_set_new(o, empty[k], json_array());
  json_object_set_new(o, "source", path ? json_string(path) : json_null());
  json_object_set_new(o, "version", version ? json_string(version) : json_null());
  json_object_set_new(o, "task_types", types);
  return o;
}

static void job_closed(uv_handle_t *h) {
  struct plugins_job *j = h->data;
  if (--j->open_handles > 0) return;
  sb_free(&j->buf);
  free(j);
}

static void job_answer(struct plugins_job *j) {
  struct dag_http_conn *c = j->c;
  j->c = NULL;
  if (!dag_http_conn_release(c)) return;
  if (j->too_big || !j->exited || j->exit_status != 0 || j->term_signal) {
    LOG_WARN("web: listing plugins failed exit=%lld signal=%d too_big=%d",
             (long long)j->exit_status, j->term_signal, (int)j->too_big);
    web_error(c, 500, "Internal Server Error",
              "`dagctl plugins --json` failed (exit %lld%s); see the server's log",
              (long long)j->exit_status, j->term_signal ? ", killed" : "");
    return;
  }
  json_error_t jerr;
  json_t *all = json_loadb(sb_str(&j->buf), j->buf.len, 0, &jerr);
  if (!json_is_array(all)) {
    json_decref(all);
    web_error(c, 500, "Internal Server Error", "`dagctl plugins --json` printed no JSON list");
    return;
  }
  json_t *arr = json_array();
  size_t i;
  json_t *p;
  json_array_foreach(all, i, p) json_array_append_new(arr, plugin_item(p));
  json_decref(all);
  size_t total = json_array_size(arr);
  json_t *page = api_page(arr, j->offset, j->limit);
  json_decref(arr);
  web_json(c, 200, json_pack("{s:o, s:I}", "plugins", page, "total_entries", (json_int_t)total));
}

/* The answer leaves once the child has exited and its output is read to
 * the end (either may come first). */
static void job_maybe_done(struct plugins_job *j) {
  if (!j->exited || uv_is_active((uv_handle_t *)&j->out) || !j->c) return;
  uv_timer_stop(&j->timer);
  job_answer(j);
  uv_close((uv_handle_t *)&j->proc, job_closed);
  uv_close((uv_handle_t *)&j->timer, job_closed);
  if (!uv_is_closing((uv_handle_t *)&j->out)) uv_close((uv_handle_t *)&j->out, job_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct plugins_job *j = h->data;
  (void)suggested;
  *buf = uv_buf_init(j->rbuf, sizeof(j->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct plugins_job *j = s->data;
  if (n > 0) {
    if (j->buf.len + (size_t)n > PLUGINS_MAX_OUTPUT) {
      j->too_big = true;
      uv_process_kill(&j->proc, SIGKILL);
    } else {
      sb_appendn(&j->buf, buf->base, (size_t)n);
      return;
    }
  }
  if (n == 0) return;
  uv_read_stop(s); /* end of output, an error, or too much */
  uv_close((uv_handle_t *)s, job_closed);
  job_maybe_done(j);
}

static void on_child_exit(uv_process_t *p, int64_t status, int signal) {
  struct plugins_job *j = p->data;
  j->exited = true;
  j->exit_status = status;
  j->term_signal = signal;
  job_maybe_done(j);
}

static void on_timeout(uv_timer_t *t) {
  struct plugins_job *j = t->data;
  LOG_WARN("web: `dagctl plugins --json` took over %d ms, killed", PLUGINS_TIMEOUT_MS);
  uv_process_kill(&j->proc, SIGKILL);
}

void api_plugins(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req) {
  long limit, offset;
  if (!api_query_int(c, req, "limit", 100, 1, 100000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, 1000000000, &offset))
    return;
  char exe[4096];
  size_t exe_len = sizeof(exe);
  if (uv_exepath(exe, &exe_len) != 0) {
    web_error(c, 500, "Internal Server Error", "cannot find this dagctl binary to list plugins");
    return;
  }
  const struct dag_config *cfg = w->cfg;
  char *argv[12];
  size_t n = 0;
  argv[n++] = exe;
  argv[n++] = (char *)"--home";
  argv[n++] = cfg->home;
  argv[n++] = (char *)"--dags";
  argv[n++] = cfg->dags_folder;
  if (cfg->config_file) {
    argv[n++] = (char *)"--config";
    argv[n++] = cfg->config_file;
  }
  argv[n++] = (char *)"plugins";
  argv[n++] = (char *)"--json";
  argv[n] = NULL;

  uv_loop_t *loop = dag_http_conn_loop(c);
  struct plugins_job *j = xcalloc(1, sizeof(*j));
  j->c = c;
  j->limit = limit;
  j->offset = offset;
  uv_pipe_init(loop, &j->out, 0);
  j->out.data = j->proc.data = j->timer.data = j;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}, /* its complaints go to our log */
  };
  uv_process_options_t opts = {.file = exe, .args = argv, .exit_cb = on_child_exit,
                               .stdio_count = 3, .stdio = stdio};
  int rc = uv_spawn(loop, &j->proc, &opts);
  if (rc) {
    /* A failed spawn still needs its handle closed. */
    j->open_handles = 2;
    uv_close((uv_handle_t *)&j->proc, job_closed);
    uv_close((uv_handle_t *)&j->out, job_closed);
    web_error(c, 500, "Internal Server Error", "cannot run dagctl to list plugins: %s",
              uv_strerror(rc));
    return;
  }
  j->open_handles = 3;
  j->proc.data = j;
  dag_http_conn_hold(c);
  uv_timer_init(loop, &j->timer);
  j->timer.data = j;
  uv_timer_start(&j->timer, on_timeout, PLUGINS_TIMEOUT_MS, 0);
  uv_read_start((uv_stream_t *)&j->out, on_alloc, on_read);
}
