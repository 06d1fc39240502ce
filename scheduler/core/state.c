/* state.c - state names and trigger rule evaluation. */
#include "state.h"

#include <string.h>

#include "error.h"

static const char *const task_state_names[] = {
#define XX(_, name) name,
    DAG_TASK_STATE_MAP(XX)
#undef XX
};

static const char *const run_state_names[] = {
#define XX(_, name) name,
    DAG_RUN_STATE_MAP(XX)
#undef XX
};

static const char *const trigger_rule_names[] = {
#define XX(_, name) name,
    DAG_TRIGGER_RULE_MAP(XX)
#undef XX
};

static int lookup(const char *const *names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

enum dag_task_state dag_task_state_summary(const enum dag_task_state *states, size_t n) {
  static const enum dag_task_state priority[] = {
      DAG_TI_FAILED, DAG_TI_UPSTREAM_FAILED, DAG_TI_UP_FOR_RETRY, DAG_TI_UP_FOR_RESCHEDULE,
      DAG_TI_QUEUED, DAG_TI_SCHEDULED,       DAG_TI_RUNNING,      DAG_TI_NONE,
      DAG_TI_SUCCESS, DAG_TI_SKIPPED,
  };
  _Static_assert(sizeof(priority) / sizeof(priority[0]) == DAG_TI__COUNT,
                 "every task state has its rank in a group's summary");
  unsigned seen = 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned)states[i] < DAG_TI__COUNT) seen |= 1u << states[i];
  for (size_t k = 0; k < DAG_TI__COUNT; k++)
    if (seen & 1u << priority[k]) return priority[k];
  return DAG_TI_NONE;
}

const char *dag_task_state_name(enum dag_task_state s) {
  return (unsigned)s < DAG_TI__COUNT ? task_state_names[s] : "?";
}

const char *dag_run_state_name(enum dag_run_state s) {
  return (unsigned)s < DAG_RUN__COUNT ? run_state_names[s] : "?";
}

const char *dag_trigger_rule_name(enum dag_trigger_rule r) {
  return (unsigned)r < DAG_TRIGGER__COUNT ? trigger_rule_names[r] : "?";
}

int dag_task_state_parse(const char *name, enum dag_task_state *out) {
  int i = lookup(task_state_names, DAG_TI__COUNT, name);
  if (i < 0) return DAG_EINVAL;
  *out = (enum dag_task_state)i;
  return 0;
}

int dag_run_state_parse(const char *name, enum dag_run_state *out) {
  int i = lookup(run_state_names, DAG_RUN__COUNT, name);
  if (i < 0) return DAG_EINVAL;
  *out = (enum dag_run_state)i;
  return 0;
}

int dag_trigger_rule_parse(const char *name, enum dag_trigger_rule *out) {
  int i = lookup(trigger_rule_names, DAG_TRIGGER__COUNT, name);
  if (i < 0) return DAG_EINVAL;
  *out = (enum dag_trigger_rule)i;
  return 0;
}

bool dag_task_state_is_finished(enum dag_task_state s) {
  return s == DAG_TI_SUCCESS || s == DAG_TI_FAILED || s == DAG_TI_UPSTREAM_FAILED ||
         s == DAG_TI_SKIPPED;
}

enum dag_trigger_verdict dag_trigger_rule_eval(enum dag_trigger_rule rule,
                                               const struct dag_upstream_counts *c) {
  if (c->total == 0 || rule == DAG_TRIGGER_ALWAYS) return DAG_VERDICT_RUN;

  const bool all_done = c->done == c->total;
  const int failures = c->failed + c->upstream_failed;

  switch (rule) {
  case DAG_TRIGGER_ALL_SUCCESS:
    /* Airflow marks the task as soon as the outcome is certain. */
    if (failures > 0) return DAG_VERDICT_UPSTREAM_FAILED;
    if (c->skipped > 0) return DAG_VERDICT_SKIP;
    return all_done ? DAG_VERDICT_RUN : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_ALL_FAILED:
    if (c->success > 0 || c->skipped > 0) return DAG_VERDICT_SKIP;
    return all_done ? DAG_VERDICT_RUN : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_ALL_DONE:
    return all_done ? DAG_VERDICT_RUN : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_ONE_SUCCESS:
    if (c->success > 0) return DAG_VERDICT_RUN;
    if (!all_done) return DAG_VERDICT_WAIT;
    return c->skipped == c->total ? DAG_VERDICT_SKIP : DAG_VERDICT_UPSTREAM_FAILED;
  case DAG_TRIGGER_ONE_FAILED:
    if (failures > 0) return DAG_VERDICT_RUN;
    return all_done ? DAG_VERDICT_SKIP : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_NONE_FAILED:
    if (failures > 0) return DAG_VERDICT_UPSTREAM_FAILED;
    return all_done ? DAG_VERDICT_RUN : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
    if (failures > 0) return DAG_VERDICT_UPSTREAM_FAILED;
    if (!all_done) return DAG_VERDICT_WAIT;
    return c->success > 0 ? DAG_VERDICT_RUN : DAG_VERDICT_SKIP;
  case DAG_TRIGGER_NONE_SKIPPED:
    if (c->skipped > 0) return DAG_VERDICT_SKIP;
    return all_done ? DAG_VERDICT_RUN : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_ALL_SKIPPED:
    if (c->success > 0 || failures > 0) return DAG_VERDICT_SKIP;
    return all_done ? DAG_VERDICT_RUN : DAG_VERDICT_WAIT;
  case DAG_TRIGGER_ALWAYS:
  case DAG_TRIGGER__COUNT:
    break;
  }
  return DAG_VERDICT_RUN;
}
