/* api_grid.c - GET /api/v1/dags/{dag_id}/grid: a DAG's tasks by its last
 * runs, what the status page's grid draws. Airflow's grid takes tens of
 * seconds for a 900-task DAG; here it is three queries (the DAG, its runs,
 * every task instance of those runs) and the cells are written straight
 * into the answer, not built as 22,500 JSON objects first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apijson.h"
#include "error.h"
#include "web_api.h"

void api_json_string(struct strbuf *sb, const char *s) {
  sb_appendc(sb, '"');
  const char *plain = s;
  for (const char *p = s;; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != '<' && ch != '>' && ch != '&') continue;
    sb_appendn(sb, plain, (size_t)(p - plain));
    if (!ch) break;
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      sb_appendn(sb, esc, 2);
    } else {
      snprintf(esc, sizeof(esc), "\\u%04x", ch);
      sb_appendn(sb, esc, 6);
    }
    plain = p + 1;
  }
  sb_appendc(sb, '"');
}

/* printf is the cost centre at this volume: integers by hand. */
static void append_uint(struct strbuf *sb, uint64_t v) {
  char buf[24], *p = buf + sizeof(buf);
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sb_appendn(sb, p, (size_t)(buf + sizeof(buf) - p));
}

/* Microseconds as seconds to the millisecond: "12.345". */
static void append_seconds(struct strbuf *sb, int64_t us) {
  uint64_t ms = us > 0 ? ((uint64_t)us + 500) / 1000 : 0;
  append_uint(sb, ms / 1000);
  char frac[4] = {'.', (char)('0' + ms / 100 % 10), (char)('0' + ms / 10 % 10),
                  (char)('0' + ms % 10)};
  sb_appendn(sb, frac, 4);
}

static void append_node_string(struct strbuf *sb, json_t *node, const char *key) {
  const char *v = json_string_value(json_object_get(node, key));
  sb_appendc(sb, '"');
  sb_append(sb, key);
  sb_append(sb, "\":");
  if (v)
    api_json_string(sb, v);
  else
    sb_append(sb, "null");
}

struct cell {
  int state; /* enum dag_task_state, or -1: no task instance in that run */
  int try_number;
  int64_t duration; /* microseconds, or -1 */
};

void api_grid(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
              const char *dag_id) {
  long limit;
  if (!api_query_int(c, req, "limit", 25, 1, 365, &limit)) return;
  uint64_t version;
  bool cacheable = dag_store_data_version(w->store, &version) == 0;
  if (cacheable && web_cache_answer(w, c, req->url, version)) return;
  struct dag_store_dag d;
  if (!api_get_dag(w, c, dag_id, &d)) return;
  struct api_task_order order;
  api_order_init(&order, d.graph);
  struct dag_store_run *runs = NULL;
  size_t n_runs = 0;
  struct dag_store_cell *rows = NULL;
  size_t n_rows = 0;
  int rc = dag_store_list_runs(w->store, dag_id, (int)limit, &runs, &n_runs);
  int64_t *pks = xcalloc(n_runs ? n_runs : 1, sizeof(*pks));
  for (size_t i = 0; i < n_runs; i++) pks[i] = runs[i].pk;
  if (rc == 0) rc = dag_store_list_cells(w->store, pks, n_runs, &rows, &n_rows);
  free(pks);
  if (rc) {
    web_error(c, 500, "Internal Server Error", "the state store failed: %s",
              dag_strerror(rc));
    goto out;
  }
  /* A task that an edit removed from the DAG is still part of the runs
   * that keep an older version: a row after the current graph's, so the
   * grid shows what those runs ran. O(rows x removed tasks). */
  size_t n_current = json_array_size(order.graph);
  for (size_t i = 0; i < n_rows; i++) {
    if (api_order_find(&order, rows[i].task_id) >= 0) continue;
    bool seen = false;
    for (size_t k = n_current; k < json_array_size(order.graph) && !seen; k++)
      seen = strcmp(json_string_value(json_object_get(json_array_get(order.graph, k), "task_id")),
                    rows[i].task_id) == 0;
    if (!seen)
      json_array_append_new(order.graph, json_pack("{s:s, s:n, s:n, s:[]}", "task_id",
                                                   rows[i].task_id, "type", "trigger_rule",
                                                   "upstream"));
  }
  if (json_array_size(order.graph) > n_current) {
    char *g = json_dumps(order.graph, JSON_COMPACT);
    api_order_free(&order);
    api_order_init(&order, g);
    free(g);
  }
  size_t n_tasks = json_array_size(order.graph), n = n_tasks * n_runs;
  struct cell *cells = xmalloc((n ? n : 1) * sizeof(*cells));
  for (size_t i = 0; i < n; i++) cells[i] = (struct cell){-1, 0, -1};
  for (size_t i = 0; i < n_rows; i++) {
    /* A mapped task's row is its own instance, the summary of the others. */
    if (rows[i].map_index >= 0) continue;
    long t = api_order_find(&order, rows[i].task_id);
    /* Runs come newest first; columns go oldest first, as in Airflow. */
    size_t r = 0;
    while (r < n_runs && runs[r].pk != rows[i].run_pk) r++;
    if (t < 0 || r == n_runs) continue;
    struct cell *cl = &cells[(size_t)t * n_runs + (n_runs - 1 - r)];
    cl->state = (int)rows[i].state;
    cl->try_number = rows[i].try_number;
    if (rows[i].start_date && rows[i].end_date)
      cl->duration = rows[i].end_date - rows[i].start_date;
  }

  struct api_grid_mapped *mapped = api_grid_mapped_new(rows, n_rows, runs, n_runs, &order);
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, "{\"dag_id\":");
  api_json_string(&sb, dag_id);
  sb_append(&sb, d.is_paused ? ",\"is_paused\":true,\"dag_runs\":[" : ",\"is_paused\":false,\"dag_runs\":[");
  for (size_t r = n_runs; r-- > 0;) {
    json_t *j = dag_api_run(&runs[r]);
    char *s = web_json_dumps(j);
    json_decref(j);
    if (r != n_runs - 1) sb_appendc(&sb, ',');
    sb_append(&sb, s);
    free(s);
  }
  sb_append(&sb, "],\"tasks\":[");
  size_t ti;
  json_t *node;
  json_array_foreach(order.graph, ti, node) {
    sb_append(&sb, ti ? ",{" : "{");
    append_node_string(&sb, node, "task_id");
    sb_appendc(&sb, ',');
    append_node_string(&sb, node, "type");
    sb_appendc(&sb, ',');
    append_node_string(&sb, node, "trigger_rule");
    api_grid_task_group(&sb, node);
    sb_append(&sb, ",\"upstream\":[");
    size_t ui;
    json_t *up;
    json_array_foreach(json_object_get(node, "upstream"), ui, up) {
      if (ui) sb_appendc(&sb, ',');
      api_json_string(&sb, json_string_value(up) ? json_string_value(up) : "");
    }
    const struct cell *row = &cells[ti * n_runs];
    sb_append(&sb, "],\"states\":[");
    for (size_t r = 0; r < n_runs; r++) {
      if (r) sb_appendc(&sb, ',');
      if (row[r].state < 0) {
        sb_append(&sb, "null");
      } else {
        sb_appendc(&sb, '"');
        sb_append(&sb, dag_task_state_name((enum dag_task_state)row[r].state));
        sb_appendc(&sb, '"');
      }
    }
    sb_append(&sb, "],\"try_numbers\":[");
    for (size_t r = 0; r < n_runs; r++) {
      if (r) sb_appendc(&sb, ',');
      append_uint(&sb, row[r].try_number > 0 ? (uint64_t)row[r].try_number : 0);
    }
    sb_append(&sb, "],\"durations\":[");
    for (size_t r = 0; r < n_runs; r++) {
      if (r) sb_appendc(&sb, ',');
      if (row[r].duration < 0)
        sb_append(&sb, "null");
      else
        append_seconds(&sb, row[r].duration);
    }
    sb_appendc(&sb, ']');
    api_grid_mapped_task(&sb, mapped, ti);
    sb_appendc(&sb, '}');
  }
  sb_appendc(&sb, ']');
  int *states = xmalloc((n ? n : 1) * sizeof(*states));
  for (size_t i = 0; i < n; i++) states[i] = cells[i].state;
  api_grid_groups(&sb, order.graph, states, n_runs);
  free(states);
  sb_appendc(&sb, '}');
  free(cells);
  api_grid_mapped_free(mapped);
  if (cacheable) web_cache_store(w, req->url, version, sb_str(&sb), sb.len);
  web_json_text(c, 200, sb_str(&sb), sb.len);
  sb_free(&sb);
out:
  dag_store_cells_free(rows, n_rows);
  dag_store_runs_free(runs, n_runs);
  api_order_free(&order);
  dag_store_dag_free(&d);
}
