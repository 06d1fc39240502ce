/* sched_branch.c - what a finished try hands on and what it skips: its XCom
 * values stored (sched_xcom.c), then, for a branch task, the direct
 * downstream tasks it did not choose, and for a short circuit whose result
 * is false, what follows it.
 *
 * Airflow's semantics: a branch (BaseBranchOperator / skip_all_except)
 * follows the task ids its return_value names, a task id or a list, and
 * skips its other direct downstream tasks, except those that are also
 * downstream of a followed one (a join right after the branch); what comes
 * after a skipped task follows its trigger rule. A short circuit
 * (ShortCircuitOperator) with a false result skips every task downstream
 * of it when ignore_downstream_trigger_rules is true (the default), else
 * only its direct downstream tasks, leaving the rest to trigger rules. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "log.h"
#include "sched_int.h"
#include "strbuf.h"
#include "xcom_file.h"

/* Mark every task downstream of `from` (not `from` itself). O(tasks + edges). */
static void mark_descendants(const struct dag *dag, size_t from, bool *mark) {
  size_t *stack = xcalloc(dag->n_tasks + 1, sizeof(*stack)), n = 0;
  bool *seen = xcalloc(dag->n_tasks, sizeof(*seen));
  stack[n++] = from;
  while (n) {
    const struct dag_task *t = &dag->tasks[stack[--n]];
    for (size_t k = 0; k < t->n_downstream; k++) {
      size_t d = t->downstream[k];
      if (seen[d]) continue;
      seen[d] = mark[d] = true;
      stack[n++] = d;
    }
  }
  free(seen);
  free(stack);
}

static bool is_direct(const struct dag_task *t, size_t idx) {
  for (size_t k = 0; k < t->n_downstream; k++)
    if (t->downstream[k] == idx) return true;
  return false;
}

static char *direct_list(const struct dag *dag, const struct dag_task *t) {
  struct strbuf sb = STRBUF_INIT;
  for (size_t k = 0; k < t->n_downstream; k++)
    sb_appendf(&sb, "%s%s", k ? ", " : "", dag->tasks[t->downstream[k]].id);
  return sb_detach(&sb);
}

/* A shell task's values are strings: a list of ids arrives as the text of
 * a JSON list. */
static json_t *as_ids(const json_t *rv) {
  if (json_is_string(rv)) {
    const char *s = json_string_value(rv);
    while (*s == ' ' || *s == '\t') s++;
    if (*s == '[') {
      json_t *l = json_loads(s, 0, NULL);
      if (json_is_array(l)) return l;
      json_decref(l);
    }
  }
  return json_incref((json_t *)rv);
}

static int fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **why, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  *why = xvasprintf(fmt, ap);
  va_end(ap);
  return DAG_EINVAL;
}

static int branch_skips(const struct dag *dag, size_t idx, const json_t *rv, bool *skip,
                        char **why) {
  const struct dag_task *t = &dag->tasks[idx];
  bool *follow = xcalloc(dag->n_tasks, sizeof(*follow));
  json_t *ids = rv ? as_ids(rv) : NULL;
  int rc = 0;
  size_t n = json_is_array(ids) ? json_array_size(ids) : json_is_null(ids) || !ids ? 0 : 1;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const json_t *v = json_is_array(ids) ? json_array_get(ids, i) : ids;
    if (!json_is_string(v)) {
      char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      rc = fail(why, "branch: return_value must be a task id or a list of task ids, got %.200s",
                got ? got : "?");
      free(got);
      break;
    }
    const char *id = json_string_value(v);
    long j = dag_find_task(dag, id);
    if (j < 0 || !is_direct(t, (size_t)j)) {
      char *list = direct_list(dag, t);
      rc = fail(why, "branch: '%.200s' is not a direct downstream task of '%s' (they are: %s)",
                id, t->id, list);
      free(list);
      break;
    }
    follow[j] = true;
    mark_descendants(dag, (size_t)j, follow);
  }
  for (size_t k = 0; k < t->n_downstream && rc == 0; k++)
    if (!follow[t->downstream[k]]) skip[t->downstream[k]] = true;
  json_decref(ids);
  free(follow);
  return rc;
}

/* Python's truthiness, with the strings a shell task would print for
 * false: its values are text. */
static bool is_false(const json_t *v) {
  if (v == NULL) return false; /* no value: exit 0 is the result */
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    return *s == '\0' || strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
           strcmp(s, "0") == 0;
  }
  if (json_is_array(v)) return json_array_size(v) == 0;
  if (json_is_object(v)) return json_object_size(v) == 0;
  if (json_is_integer(v)) return json_integer_value(v) == 0;
  if (json_is_real(v)) return json_real_value(v) == 0.0;
  return json_is_false(v) || json_is_null(v);
}

int sched_branch_skips(const struct dag *dag, size_t idx, bool skipped, const json_t *rv,
                       bool *skip, char **why) {
  const struct dag_task *t = &dag->tasks[idx];
  *why = NULL;
  if (t->branch && !skipped) return branch_skips(dag, idx, rv, skip, why);
  if (!t->short_circuit || !(skipped || is_false(rv))) return 0;
  if (t->ignore_downstream_trigger_rules) {
    mark_descendants(dag, idx, skip);
  } else {
    for (size_t k = 0; k < t->n_downstream; k++)
      skip[t->downstream[k]] = true;
  }
  return 0;
}

static int task_result(struct sched_ti *ti, bool on_worker, bool skipped, dag_time_t now,
                       bool **skip, char **why) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag *dag = r->ref->dag;
  const struct dag_task *t = &dag->tasks[ti->idx];
  *skip = NULL;
  *why = NULL;
  int rc = 0;
  /* A worker's try stored its values with its end (worker.c). */
  if (!on_worker && !skipped) {
    json_t *vals = NULL;
    if (sched_xcom_collect(ti, ti->try_number, &vals, why) != 0) return 0;
    if (vals) rc = sched_xcom_store(s->store, r->pk, t->id, ti->map_index, vals, now);
    json_decref(vals);
    if (rc) return rc;
  }
  if (!t->branch && !t->short_circuit) return 0;
  json_t *rv = NULL;
  if (!skipped) {
    struct dag_store_xcom *x = NULL;
    size_t n = 0;
    rc = dag_store_xcom_list_task(s->store, r->pk, t->id, DAG_XCOM_RETURN_KEY, &x, &n);
    if (rc) return rc;
    if (n) rv = json_loads(x[0].value, JSON_DECODE_ANY, NULL);
    dag_store_xcoms_free(x, n);
  }
  bool *marks = xcalloc(dag->n_tasks, sizeof(*marks));
  if (sched_branch_skips(dag, ti->idx, skipped, rv, marks, why) != 0) {
    free(marks);
  } else {
    *skip = marks;
    size_t n = 0;
    for (size_t i = 0; i < dag->n_tasks; i++)
      n += marks[i];
    LOG_INFO("%s dag=%s run=%s task=%s skips=%zu", t->branch ? "branch followed" :
             "short circuit", r->sd->dag_id, r->run_id, t->id, n);
  }
  json_decref(rv);
  return 0;
}

int sched_task_result(struct sched_ti *ti, bool on_worker, bool skipped, dag_time_t now,
                      bool **skip, char **why) {
  int rc = task_result(ti, on_worker, skipped, now, skip, why);
  if (rc == 0 && *why) {
    /* The try's log says why a try that exited 0 failed. */
    char *rel = sched_log_rel_path(ti, ti->try_number);
    sched_log_append(ti->run->sd->s, rel, "[dagctl] try %d failed: %s\n", ti->try_number, *why);
    free(rel);
  }
  return rc;
}
