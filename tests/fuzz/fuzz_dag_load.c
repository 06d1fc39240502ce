/* fuzz_dag_load.c - libFuzzer target for the YAML DAG loader.
 *
 * Beyond "no crash, no leak": the loader's contract must hold for any
 * input. A DAG is returned exactly when there are no diagnostics, and a
 * returned DAG is consistent (topo is a permutation that respects every
 * edge, downstream mirrors upstream). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "dag_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_dag(const struct dag *dag) {
  size_t n = dag->n_tasks, edges_up = 0, edges_down = 0;
  size_t *pos = calloc(n ? n : 1, sizeof(*pos));
  if (n == 0 || pos == NULL || dag->dag_id == NULL || dag->params == NULL) abort();
  for (size_t i = 0; i < n; i++) pos[i] = SIZE_MAX;
  for (size_t k = 0; k < n; k++) {
    if (dag->topo[k] >= n || pos[dag->topo[k]] != SIZE_MAX) abort();
    pos[dag->topo[k]] = k;
  }
  for (size_t i = 0; i < n; i++) {
    const struct dag_task *t = &dag->tasks[i];
    if (t->id == NULL || dag_find_task(dag, t->id) != (long)i) abort();
    if (t->type == DAG_TASK_SHELL && t->command == NULL) abort();
    if (t->type == DAG_TASK_EXEC && (t->argc == 0 || t->argv[t->argc] != NULL)) abort();
    for (size_t u = 0; u < t->n_upstream; u++)
      if (t->upstream[u] >= n || pos[t->upstream[u]] >= pos[i]) abort();
    /* A task's group exists, and a group's parent comes before it. */
    if (t->group > dag->n_groups) abort();
    edges_up += t->n_upstream;
    edges_down += t->n_downstream;
  }
  if (edges_up != edges_down) abort();
  for (size_t g = 0; g < dag->n_groups; g++)
    if (dag->groups[g].parent > g || dag->groups[g].id == NULL ||
        (dag->groups[g].parent == 0 && strcmp(dag->groups[g].id, dag->groups[g].label) != 0))
      abort();
  free(pos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  int rc = dag_load_buffer("fuzz.yaml", (const char *)data, size, NULL, &dag, &diags);
  if ((rc == 0) != (dag != NULL) || (rc == 0) != (diags.n == 0)) abort();
  for (size_t i = 0; i < diags.n; i++) {
    char *s = dag_diag_format(&diags.items[i]);
    if (strncmp(s, "fuzz.yaml", 9) != 0) abort();
    free(s);
  }
  if (dag) check_dag(dag);
  dag_free(dag);
  dag_diags_free(&diags);
  return 0;
}
