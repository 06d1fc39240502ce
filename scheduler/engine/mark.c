/* mark.c - marking task instances by hand (see mark.h). */
#include "mark.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "timeutil.h"
#include "error.h"
#include "store_mark.h"

void dag_mark_items_free(struct dag_mark_item *it, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(it[i].run_id);
    free(it[i].task_id);
  }
  free(it);
}

/* Mark the picked tasks of one run; then clear its failed and
 * upstream_failed tasks downstream of the chosen ones (not marked). */
static int mark_run(dag_store *st, const struct dag *dag, const struct dag_store_run *run,
                    const bool *pick, const bool *below, const struct dag_mark_request *req,
                    struct dag_mark_item **out, size_t *n, size_t *cap, size_t *cleared) {
  struct dag_store_ti *tis = NULL;
  size_t n_tis = 0;
  int rc = dag_store_list_tis(st, run->pk, &tis, &n_tis);
  if (rc) return rc;
  const char **clear = xcalloc(n_tis ? n_tis : 1, sizeof(*clear));
  int *retries = xcalloc(n_tis ? n_tis : 1, sizeof(*retries));
  size_t n_clear = 0;
  dag_time_t now = dag_time_now();
  for (size_t i = 0; i < n_tis && rc == 0; i++) {
    long t = dag_find_task(dag, tis[i].task_id);
    if (t < 0) continue;
    if (pick[t]) {
      if (tis[i].state == req->state) continue;
      bool changed = true;
      if (!req->dry_run) rc = dag_store_ti_mark(st, run->pk, tis[i].task_id, req->state, now, &changed);
      if (rc || !changed) continue;
      *out = xgrow(*out, cap, *n + 1, sizeof(**out));
      (*out)[*n].run_id = xstrdup(run->run_id);
      (*out)[*n].task_id = xstrdup(tis[i].task_id);
      (*out)[*n].logical_date = run->logical_date;
      (*out)[*n].old_state = tis[i].state;
      (*n)++;
    } else if (below[t] &&
               (tis[i].state == DAG_TI_FAILED || tis[i].state == DAG_TI_UPSTREAM_FAILED)) {
      clear[n_clear] = dag->tasks[t].id;
      retries[n_clear++] = dag->tasks[t].args.retries;
    }
  }
  if (rc == 0 && n_clear && !req->dry_run) {
    size_t done = 0;
    rc = dag_store_clear(st, run->pk, clear, retries, n_clear, &done, NULL);
    *cleared += done;
  } else if (rc == 0) {
    *cleared += n_clear;
  }
  free(clear);
  free(retries);
  dag_store_tis_free(tis, n_tis);
  return rc;
}

int dag_mark_tasks(dag_store *st, const struct dag *dag, const struct dag_mark_request *req,
                   struct dag_mark_item **out, size_t *n, size_t *cleared, char **err) {
  *out = NULL;
  *n = 0;
  *cleared = 0;
  *err = NULL;
  if (req->state != DAG_TI_SUCCESS && req->state != DAG_TI_FAILED &&
      req->state != DAG_TI_SKIPPED) {
    *err = xstrdup("a task can be marked success, failed or skipped");
    return DAG_EINVAL;
  }
  struct dag_store_run run;
  int rc = dag_store_get_run(st, dag->dag_id, req->run_id, &run);
  if (rc == DAG_ENOTFOUND) *err = xasprintf("DAG '%s' has no run '%s'", dag->dag_id, req->run_id);
  if (rc) return rc;
  if (run.imported_at) {
    *err = xasprintf("run %s was imported from another home: nothing here changes it",
                     req->run_id);
    dag_store_run_free(&run);
    return DAG_ESTATE;
  }
  size_t nt = dag->n_tasks;
  bool *seed = xcalloc(nt ? nt : 1, sizeof(*seed));
  bool *pick = xcalloc(nt ? nt : 1, sizeof(*pick));
  bool *below = xcalloc(nt ? nt : 1, sizeof(*below));
  for (size_t i = 0; i < req->n_tasks; i++) {
    long t = dag_find_task(dag, req->task_ids[i]);
    if (t < 0) {
      *err = xasprintf("DAG '%s' has no task '%s'", dag->dag_id, req->task_ids[i]);
      rc = DAG_ENOTFOUND;
      goto out;
    }
    seed[t] = pick[t] = true;
  }
  /* Downstream of the chosen tasks, in topological order: both what
   * --downstream marks and what the clear afterwards looks at. */
  for (size_t k = 0; k < nt; k++) {
    size_t i = dag->topo[k];
    if (!seed[i] && !below[i]) continue;
    for (size_t d = 0; d < dag->tasks[i].n_downstream; d++) below[dag->tasks[i].downstream[d]] = true;
  }
  if (req->downstream)
    for (size_t i = 0; i < nt; i++) pick[i] = pick[i] || below[i];
  if (req->upstream) {
    bool *up = xcalloc(nt, sizeof(*up));
    memcpy(up, seed, nt * sizeof(*up));
    for (size_t k = nt; k-- > 0;) {
      size_t i = dag->topo[k];
      if (!up[i]) continue;
      for (size_t u = 0; u < dag->tasks[i].n_upstream; u++) up[dag->tasks[i].upstream[u]] = true;
    }
    for (size_t i = 0; i < nt; i++) pick[i] = pick[i] || up[i];
    free(up);
  }
  size_t cap = 0;
  if ((rc = dag_store_begin(st)) != 0) goto out;
  if (req->future || req->past) {
    /* The same tasks in the DAG's other runs, earlier and/or later. */
    struct dag_store_run *runs = NULL;
    size_t n_runs = 0;
    rc = dag_store_list_runs(st, dag->dag_id, 0, &runs, &n_runs);
    for (size_t i = n_runs; i-- > 0 && rc == 0;) {
      const struct dag_store_run *r = &runs[i];
      bool take = r->pk == run.pk || (req->future && r->logical_date > run.logical_date) ||
                  (req->past && r->logical_date < run.logical_date);
      if (take && !r->imported_at && strcmp(r->run_type, "test") != 0)
        rc = mark_run(st, dag, r, pick, below, req, out, n, &cap, cleared);
    }
    dag_store_runs_free(runs, n_runs);
  } else {
    rc = mark_run(st, dag, &run, pick, below, req, out, n, &cap, cleared);
  }
  if (rc) {
    dag_store_rollback(st);
    *err = xasprintf("cannot mark: %s", dag_strerror(rc));
  } else if ((rc = dag_store_commit(st)) != 0) {
    *err = xasprintf("cannot mark: %s", dag_strerror(rc));
  }
  if (rc) {
    dag_mark_items_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
out:
  free(seed);
  free(pick);
  free(below);
  dag_store_run_free(&run);
  return rc;
}
