/* api_grid_groups.c - the task groups in GET /api/v1/dags/{dag_id}/grid:
 * each task's innermost group, and one row per group with its state in
 * each run summarised from its tasks' (dag_task_state_summary(), Airflow's
 * rule), which the page shows folded until a click unfolds it. The groups
 * come from the stored graph (store_dags.c: "groups" on each task in one).
 * O(tasks x depth x runs). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "web_api.h"

struct group {
  const char *id, *tooltip, *parent; /* borrowed from the graph */
};

void api_grid_task_group(struct strbuf *sb, json_t *node) {
  json_t *chain = json_object_get(node, "groups");
  const char *id = json_string_value(
      json_object_get(json_array_get(chain, json_array_size(chain) - 1), "group_id"));
  sb_append(sb, ",\"group_id\":");
  if (id)
    api_json_string(sb, id);
  else
    sb_append(sb, "null");
}

static bool in_group(json_t *node, const char *id) {
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(node, "groups"), i, g) {
    const char *gid = json_string_value(json_object_get(g, "group_id"));
    if (gid && strcmp(gid, id) == 0) return true;
  }
  return false;
}

void api_grid_groups(struct strbuf *sb, json_t *graph, const int *states, size_t n_runs) {
  struct group *gs = NULL;
  size_t n = 0, cap = 0;
  size_t ti;
  json_t *node;
  /* In order of first appearance: a parent before its children. */
  json_array_foreach(graph, ti, node) {
    size_t k;
    json_t *g;
    const char *parent = NULL;
    json_array_foreach(json_object_get(node, "groups"), k, g) {
      const char *id = json_string_value(json_object_get(g, "group_id"));
      if (id == NULL) break;
      size_t j = 0;
      while (j < n && strcmp(gs[j].id, id) != 0) j++;
      if (j == n) {
        gs = xgrow(gs, &cap, n + 1, sizeof(*gs));
        const char *tip = json_string_value(json_object_get(g, "tooltip"));
        gs[n++] = (struct group){id, tip ? tip : "", parent};
      }
      parent = id;
    }
  }
  enum dag_task_state *col = xcalloc(json_array_size(graph) + 1, sizeof(*col));
  sb_append(sb, ",\"groups\":[");
  for (size_t j = 0; j < n; j++) {
    const char *dot = strrchr(gs[j].id, '.');
    sb_append(sb, j ? ",{\"group_id\":" : "{\"group_id\":");
    api_json_string(sb, gs[j].id);
    sb_append(sb, ",\"label\":");
    api_json_string(sb, dot ? dot + 1 : gs[j].id);
    sb_append(sb, ",\"tooltip\":");
    api_json_string(sb, gs[j].tooltip);
    sb_append(sb, ",\"parent_group_id\":");
    if (gs[j].parent)
      api_json_string(sb, gs[j].parent);
    else
      sb_append(sb, "null");
    sb_append(sb, ",\"states\":[");
    for (size_t r = 0; r < n_runs; r++) {
      size_t m = 0;
      json_array_foreach(graph, ti, node) {
        int st = states[ti * n_runs + r];
        if (st >= 0 && in_group(node, gs[j].id)) col[m++] = (enum dag_task_state)st;
      }
      if (r) sb_appendc(sb, ',');
      /* No task instance of the group in that run (an older version). */
      if (m == 0) {
        sb_append(sb, "null");
        continue;
      }
      sb_appendc(sb, '"');
      sb_append(sb, dag_task_state_name(dag_task_state_summary(col, m)));
      sb_appendc(sb, '"');
    }
    sb_append(sb, "]}");
  }
  sb_appendc(sb, ']');
  free(col);
  free(gs);
}
