/* api_grid_mapped.c - a mapped task's instances in the grid answer: the
 * page folds them into the task's row (its own instance's state, with the
 * count of instances in each state per run) and unfolds them on a click,
 * one row per map_index. O(cells) to build; the answer grows with the
 * instances shown (at most core.max_map_length per run). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "web_api.h"

struct mapped_task {
  int width;    /* instances: the highest map_index + 1 over the runs; 0: none */
  int *states;  /* [map_index * n_runs + run]: enum dag_task_state, -1: none */
};

struct api_grid_mapped {
  size_t n_tasks, n_runs;
  struct mapped_task *tasks;
};

/* The grid's column of run `pk` (oldest first), or n_runs. */
static size_t column(const struct dag_store_run *runs, size_t n_runs, int64_t pk) {
  for (size_t r = 0; r < n_runs; r++)
    if (runs[r].pk == pk) return n_runs - 1 - r;
  return n_runs;
}

struct api_grid_mapped *api_grid_mapped_new(const struct dag_store_cell *cells, size_t n,
                                            const struct dag_store_run *runs, size_t n_runs,
                                            const struct api_task_order *order) {
  struct api_grid_mapped *m = xcalloc(1, sizeof(*m));
  m->n_tasks = json_array_size(order->graph);
  m->n_runs = n_runs;
  m->tasks = xcalloc(m->n_tasks ? m->n_tasks : 1, sizeof(*m->tasks));
  for (size_t i = 0; i < n; i++) {
    if (cells[i].map_index < 0) continue;
    long t = api_order_find(order, cells[i].task_id);
    if (t >= 0 && cells[i].map_index >= m->tasks[t].width)
      m->tasks[t].width = cells[i].map_index + 1;
  }
  for (size_t t = 0; t < m->n_tasks; t++) {
    struct mapped_task *mt = &m->tasks[t];
    if (!mt->width) continue;
    size_t k = (size_t)mt->width * n_runs;
    mt->states = xmalloc((k ? k : 1) * sizeof(*mt->states));
    for (size_t i = 0; i < k; i++) mt->states[i] = -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (cells[i].map_index < 0) continue;
    long t = api_order_find(order, cells[i].task_id);
    size_t r = column(runs, n_runs, cells[i].run_pk);
    if (t < 0 || r == n_runs) continue;
    m->tasks[t].states[(size_t)cells[i].map_index * n_runs + r] = (int)cells[i].state;
  }
  return m;
}

void api_grid_mapped_task(struct strbuf *sb, const struct api_grid_mapped *m, size_t t) {
  if (!m || t >= m->n_tasks || !m->tasks[t].width) return;
  const struct mapped_task *mt = &m->tasks[t];
  size_t n_runs = m->n_runs;
  sb_append(sb, ",\"mapped\":{\"counts\":[");
  for (size_t r = 0; r < n_runs; r++) {
    if (r) sb_appendc(sb, ',');
    int count[DAG_TI__COUNT] = {0}, any = 0;
    for (int k = 0; k < mt->width; k++) {
      int st = mt->states[(size_t)k * n_runs + r];
      if (st < 0 || st >= DAG_TI__COUNT) continue;
      count[st]++;
      any++;
    }
    if (!any) {
      sb_append(sb, "null");
      continue;
    }
    sb_appendc(sb, '{');
    bool first = true;
    for (int st = 0; st < DAG_TI__COUNT; st++) {
      if (!count[st]) continue;
      sb_appendf(sb, "%s\"%s\":%d", first ? "" : ",", dag_task_state_name((enum dag_task_state)st),
                 count[st]);
      first = false;
    }
    sb_appendc(sb, '}');
  }
  sb_append(sb, "],\"states\":[");
  for (int k = 0; k < mt->width; k++) {
    sb_append(sb, k ? ",[" : "[");
    for (size_t r = 0; r < n_runs; r++) {
      int st = mt->states[(size_t)k * n_runs + r];
      if (r) sb_appendc(sb, ',');
      if (st < 0) {
        sb_append(sb, "null");
      } else {
        sb_appendc(sb, '"');
        sb_append(sb, dag_task_state_name((enum dag_task_state)st));
        sb_appendc(sb, '"');
      }
    }
    sb_appendc(sb, ']');
  }
  sb_append(sb, "]}");
}

void api_grid_mapped_free(struct api_grid_mapped *m) {
  if (!m) return;
  for (size_t t = 0; t < m->n_tasks; t++) free(m->tasks[t].states);
  free(m->tasks);
  free(m);
}
