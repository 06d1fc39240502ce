/* priority.c - pools' names and Airflow's effective priority weights. */
#include "priority.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

static const char *const rule_names[] = {"downstream", "upstream", "absolute"};

const char *dag_weight_rule_name(enum dag_weight_rule r) {
  return (unsigned)r < sizeof(rule_names) / sizeof(*rule_names) ? rule_names[r] : "?";
}

int dag_weight_rule_parse(const char *name, enum dag_weight_rule *out) {
  for (size_t i = 0; i < sizeof(rule_names) / sizeof(*rule_names); i++)
    if (strcmp(name, rule_names[i]) == 0) {
      *out = (enum dag_weight_rule)i;
      return 0;
    }
  return DAG_EINVAL;
}

const char *dag_pool_name_problem(const char *name) {
  size_t len = strlen(name);
  if (len == 0) return "a pool name cannot be empty";
  if (len > DAG_POOL_NAME_MAX) return "a pool name is at most 256 bytes";
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return "a pool name cannot hold control characters";
  return NULL;
}

const char *dag_task_pool(const struct dag_task *t) {
  return t->args.pool ? t->args.pool : DAG_DEFAULT_POOL;
}

/* Add to sum[u] the priority_weight of every task that u reaches through
 * `down` (downstream) or upstream edges, u itself excluded. Sources go 64
 * at a time: reach[v] has bit b set when source base+b reaches v; walking
 * the tasks in topological order (reversed for upstream), each task ORs
 * its predecessors' words into its own, so every edge is seen once per
 * block. */
static void relatives_sums(const struct dag *dag, bool down, int64_t *sum) {
  size_t n = dag->n_tasks;
  uint64_t *reach = xcalloc(n ? n : 1, sizeof(*reach));
  for (size_t base = 0; base < n; base += 64) {
    memset(reach, 0, n * sizeof(*reach));
    for (size_t k = 0; k < n; k++) {
      size_t v = dag->topo[down ? k : n - 1 - k];
      const struct dag_task *t = &dag->tasks[v];
      /* Who leads into v in this direction: its upstream tasks for the
       * downstream sums, its downstream tasks for the upstream ones. */
      const size_t *pred = down ? t->upstream : t->downstream;
      size_t n_pred = down ? t->n_upstream : t->n_downstream;
      uint64_t w = 0;
      for (size_t i = 0; i < n_pred; i++) w |= reach[pred[i]];
      /* v counts for the sources reaching it, not for itself. */
      if (w) {
        int64_t pw = t->args.priority_weight;
        for (uint64_t m = w; m; m &= m - 1) sum[base + (size_t)__builtin_ctzll(m)] += pw;
      }
      if (v >= base && v - base < 64) w |= (uint64_t)1 << (v - base);
      reach[v] = w;
    }
  }
  free(reach);
}

static int32_t clamp32(int64_t v) {
  if (v > INT32_MAX) return INT32_MAX;
  if (v < INT32_MIN) return INT32_MIN;
  return (int32_t)v;
}

void dag_priority_weights(const struct dag *dag, int32_t *out) {
  size_t n = dag->n_tasks;
  bool any_down = false, any_up = false;
  for (size_t i = 0; i < n; i++) {
    any_down |= dag->tasks[i].args.weight_rule == DAG_WEIGHT_DOWNSTREAM;
    any_up |= dag->tasks[i].args.weight_rule == DAG_WEIGHT_UPSTREAM;
  }
  int64_t *down = any_down ? xcalloc(n, sizeof(*down)) : NULL;
  int64_t *up = any_up ? xcalloc(n, sizeof(*up)) : NULL;
  if (down) relatives_sums(dag, true, down);
  if (up) relatives_sums(dag, false, up);
  for (size_t i = 0; i < n; i++) {
    const struct dag_task_args *a = &dag->tasks[i].args;
    int64_t w = a->priority_weight;
    if (a->weight_rule == DAG_WEIGHT_DOWNSTREAM) w += down[i];
    if (a->weight_rule == DAG_WEIGHT_UPSTREAM) w += up[i];
    out[i] = clamp32(w);
  }
  free(down);
  free(up);
}
