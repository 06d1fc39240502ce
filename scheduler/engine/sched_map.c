/* sched_map.c - dynamic task mapping, as Airflow's expand(): a task with
 * `expand:` becomes, when it is ready to run, one task instance per item
 * of its list (map_index 0..N-1; the cross product of its lists when it
 * has several keys), each with its own tries, log, XComs and state. The
 * task's own entry (map_index -1) stands for them: running while they run,
 * then their outcome; an empty list skips it, a list that cannot be made
 * fails it. Downstream tasks count each instance as an upstream, as
 * Airflow's trigger rules do.
 *
 * A list is resolved again when each instance runs (its item picked by
 * map_index), as Airflow resolves an instance's arguments when it runs:
 * nothing but the count is stored. Costs: expanding is O(N) rows in one
 * transaction; an instance's end is O(N) to see whether it was the last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "store_vars.h"
#include "template.h"

struct sched_ti *sched_ti_next(struct sched_run *r, struct sched_ti *ti) {
  if (!ti) return r->n_tis ? &r->tis[0] : NULL;
  if (ti->n_kids) return &ti->kids[0];
  if (ti->parent) {
    size_t k = (size_t)ti->map_index + 1;
    if (k < ti->parent->n_kids) return &ti->parent->kids[k];
    ti = ti->parent;
  }
  return ti->idx + 1 < r->n_tis ? &r->tis[ti->idx + 1] : NULL;
}

void sched_map_alloc(struct sched_ti *ti, size_t n) {
  ti->kids = xcalloc(n ? n : 1, sizeof(*ti->kids));
  ti->n_kids = n;
  for (size_t i = 0; i < n; i++) {
    struct sched_ti *k = &ti->kids[i];
    k->run = ti->run;
    k->idx = ti->idx;
    k->map_index = (int)i;
    k->parent = ti;
    k->max_tries = ti->max_tries;
  }
}

void sched_map_free(struct sched_ti *ti) {
  if (!ti->kids) return;
  for (size_t i = 0; i < ti->n_kids; i++) sched_ti_cancel_retry(&ti->kids[i]);
  sched_ti_forget_ready(ti->run, ti->kids, ti->n_kids);
  free(ti->kids);
  ti->kids = NULL;
  ti->n_kids = 0;
}

/* The task's lists, in expand order: 0 and *out (a new array of arrays),
 * or DAG_EINVAL with *why (caller frees), or the store's error. */
static int eval_lists(const struct sched_run *r, const struct dag_task *t, json_t **out,
                      char **why) {
  struct dag_scheduler *s = r->sd->s;
  const struct dag *dag = r->ref->dag;
  *out = NULL;
  json_t *lists = json_array(), *xcom = NULL;
  struct dag_template_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.dag_id = dag->dag_id;
  ctx.task_id = t->id;
  ctx.run_id = r->run_id;
  ctx.logical_date = r->logical_date;
  ctx.data_interval_start = r->interval_start;
  ctx.data_interval_end = r->interval_end;
  ctx.params = dag->params;
  ctx.conf = r->conf;
  struct dag_store_lookup lookup = {s->store, s->base_env};
  dag_store_template_lookups(&lookup, &ctx);
  int rc = 0;
  for (size_t k = 0; k < t->n_expand && rc == 0; k++) {
    const struct dag_expand *e = &t->expand[k];
    if (e->list) {
      json_array_append(lists, e->list);
      continue;
    }
    if (!xcom && strstr(e->tmpl, "xcom") && (rc = dag_store_xcom_tree(s->store, r->pk, &xcom))) {
      *why = xasprintf("cannot read the run's XComs: %s", dag_store_errmsg(s->store));
      break;
    }
    ctx.xcom = xcom;
    char *text = NULL, *err = NULL;
    if (dag_template_render(e->tmpl, &ctx, &text, &err) != 0) {
      *why = xasprintf("expand.%s: %s", e->name, err ? err : "template error");
      rc = DAG_EINVAL;
    } else {
      json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
      if (json_is_array(v)) {
        json_array_append_new(lists, v);
      } else {
        json_decref(v);
        *why = xasprintf("expand.%s of task %s: the template gave '%.60s%s', which is not a "
                         "JSON list", e->name, t->id, text, strlen(text) > 60 ? "..." : "");
        rc = DAG_EINVAL;
      }
    }
    free(text);
    free(err);
  }
  json_decref(xcom);
  if (rc) {
    json_decref(lists);
    return rc;
  }
  *out = lists;
  return 0;
}

/* The number of instances of `lists`, or SIZE_MAX past `max`. */
static size_t count_items(const json_t *lists, size_t max) {
  size_t n = 1, i;
  json_t *l;
  json_array_foreach(lists, i, l) {
    size_t len = json_array_size(l);
    if (len == 0) return 0;
    if (n > max / len) return SIZE_MAX;
    n *= len;
  }
  return n;
}

int sched_map_expand(struct sched_ti *ti, dag_time_t now, enum dag_task_state *end) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag *dag = r->ref->dag;
  const struct dag_task *t = &dag->tasks[ti->idx];
  json_t *lists = NULL;
  char *why = NULL;
  int rc = eval_lists(r, t, &lists, &why);
  if (rc && rc != DAG_EINVAL) {
    free(why);
    return rc;
  }
  size_t max = (size_t)s->cfg->max_map_length;
  size_t n = rc ? 0 : count_items(lists, max);
  json_decref(lists);
  if (rc == 0 && n > max) {
    why = xasprintf("expand of task %s makes more than core.max_map_length (%zu) instances",
                    t->id, max);
    rc = DAG_EINVAL;
  }
  if (rc || n == 0) {
    /* Airflow skips a task mapped over an empty list. */
    *end = rc ? DAG_TI_FAILED : DAG_TI_SKIPPED;
    const char *reason = rc ? why : "expanded to no instances (an empty list)";
    if (rc)
      LOG_WARN("mapped task failed dag=%s run=%s task=%s error=\"%s\"", r->sd->dag_id,
               r->run_id, t->id, why);
    else
      LOG_INFO("mapped task skipped, its list is empty dag=%s run=%s task=%s", r->sd->dag_id,
               r->run_id, t->id);
    rc = dag_store_ti_end_unmapped(s->store, r->pk, t->id, *end, reason, now);
    free(why);
    if (rc == 0) {
      ti->state = *end;
      sched_ti_notify(ti);
    }
    return rc;
  }
  rc = dag_store_ti_expand(s->store, r->pk, t->id, (int)n, ti->max_tries, now);
  if (rc == 0) rc = sched_pool_expanded(ti);
  if (rc) return rc;
  *end = DAG_TI_RUNNING;
  ti->state = DAG_TI_RUNNING;
  ti->start_date = now;
  sched_map_alloc(ti, n);
  /* Each instance is an upstream of its own for the downstream tasks. */
  for (size_t k = 0; k < t->n_downstream; k++) r->tis[t->downstream[k]].up.total += (int)n - 1;
  r->unfinished += n;
  LOG_INFO("mapped task expanded dag=%s run=%s task=%s instances=%zu", r->sd->dag_id, r->run_id,
           t->id, n);
  sched_ti_notify(ti);
  for (size_t i = 0; i < n; i++) {
    ti->kids[i].state = DAG_TI_SCHEDULED;
    sched_ti_ready(&ti->kids[i]);
  }
  return 0;
}

/* The outcome of a mapped task's instances once all have finished; NONE
 * while one has not. */
static enum dag_task_state outcome(const struct sched_ti *ti) {
  bool failed = false, success = false;
  for (size_t i = 0; i < ti->n_kids; i++) {
    enum dag_task_state st = ti->kids[i].state;
    if (!dag_task_state_is_finished(st)) return DAG_TI_NONE;
    failed |= st == DAG_TI_FAILED || st == DAG_TI_UPSTREAM_FAILED;
    success |= st == DAG_TI_SUCCESS;
  }
  return failed ? DAG_TI_FAILED : success ? DAG_TI_SUCCESS : DAG_TI_SKIPPED;
}

static int end_entry(struct sched_ti *ti, enum dag_task_state st, dag_time_t now) {
  struct sched_run *r = ti->run;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  int rc = dag_store_ti_end_unmapped(r->sd->s->store, r->pk, t->id, st,
                                     st == DAG_TI_FAILED ? "a mapped instance failed" : NULL,
                                     now);
  if (rc) return rc;
  ti->state = st;
  r->unfinished--;
  LOG_INFO("mapped task finished dag=%s run=%s task=%s instances=%zu state=%s", r->sd->dag_id,
           r->run_id, t->id, ti->n_kids, dag_task_state_name(st));
  sched_ti_notify(ti);
  return 0;
}

int sched_map_kid_done(struct sched_ti *kid, dag_time_t now) {
  struct sched_ti *ti = kid->parent;
  if (dag_task_state_is_finished(ti->state)) return 0;
  enum dag_task_state st = outcome(ti);
  return st == DAG_TI_NONE ? 0 : end_entry(ti, st, now);
}

int sched_map_settle(struct sched_run *r, dag_time_t now) {
  int rc = 0;
  for (size_t i = 0; i < r->n_tis && rc == 0; i++) {
    struct sched_ti *ti = &r->tis[i];
    if (!ti->n_kids || dag_task_state_is_finished(ti->state)) continue;
    enum dag_task_state st = outcome(ti);
    if (st != DAG_TI_NONE) rc = end_entry(ti, st, now);
  }
  return rc;
}

int sched_map_item(const struct sched_ti *ti, json_t **out, char **err) {
  const struct sched_run *r = ti->run;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  *out = NULL;
  json_t *lists = NULL;
  char *why = NULL;
  int rc = eval_lists(r, t, &lists, &why);
  if (rc) {
    *err = why ? why : xasprintf("cannot resolve the mapped values");
    return DAG_EINVAL;
  }
  /* Airflow's order: the last key varies fastest. */
  size_t n = count_items(lists, SIZE_MAX - 1);
  if (ti->map_index < 0 || (size_t)ti->map_index >= n) {
    *err = xasprintf("map_index %d is past the %zu items its list has now", ti->map_index, n);
    json_decref(lists);
    return DAG_EINVAL;
  }
  json_t *item = json_object();
  size_t rest = (size_t)ti->map_index;
  for (size_t k = t->n_expand; k-- > 0;) {
    json_t *l = json_array_get(lists, k);
    size_t len = json_array_size(l);
    json_object_set(item, t->expand[k].name, json_array_get(l, rest % len));
    rest /= len;
  }
  json_decref(lists);
  *out = item;
  return 0;
}
