/* state.h - task and run states, and trigger rules.
 *
 * Names and meanings follow Airflow's, so that people, scripts and the JSON
 * API carry over. The state machine of one task instance:
 *
 *   none -> scheduled -> queued -> running -> success
 *                                          -> failed
 *                                          -> up_for_retry -> scheduled ...
 *   none -> upstream_failed | skipped            (decided by the trigger rule)
 *   running -> up_for_reschedule -> scheduled ... (a sensor in reschedule mode:
 *                                                  the try does not count)
 */
#ifndef DAG_STATE_H
#define DAG_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define DAG_TASK_STATE_MAP(XX)          \
  XX(NONE, "none")                      \
  XX(SCHEDULED, "scheduled")            \
  XX(QUEUED, "queued")                  \
  XX(RUNNING, "running")                \
  XX(SUCCESS, "success")                \
  XX(FAILED, "failed")                  \
  XX(UP_FOR_RETRY, "up_for_retry")      \
  XX(UPSTREAM_FAILED, "upstream_failed") \
  XX(SKIPPED, "skipped")                \
  XX(UP_FOR_RESCHEDULE, "up_for_reschedule")

enum dag_task_state {
#define XX(name, _) DAG_TI_##name,
  DAG_TASK_STATE_MAP(XX)
#undef XX
  DAG_TI__COUNT
};

#define DAG_RUN_STATE_MAP(XX) \
  XX(QUEUED, "queued")        \
  XX(RUNNING, "running")      \
  XX(SUCCESS, "success")      \
  XX(FAILED, "failed")

enum dag_run_state {
#define XX(name, _) DAG_RUN_##name,
  DAG_RUN_STATE_MAP(XX)
#undef XX
  DAG_RUN__COUNT
};

#define DAG_TRIGGER_RULE_MAP(XX)                                 \
  XX(ALL_SUCCESS, "all_success")                                 \
  XX(ALL_FAILED, "all_failed")                                   \
  XX(ALL_DONE, "all_done")                                       \
  XX(ONE_SUCCESS, "one_success")                                 \
  XX(ONE_FAILED, "one_failed")                                   \
  XX(NONE_FAILED, "none_failed")                                 \
  XX(NONE_FAILED_MIN_ONE_SUCCESS, "none_failed_min_one_success") \
  XX(NONE_SKIPPED, "none_skipped")                               \
  XX(ALL_SKIPPED, "all_skipped")                                 \
  XX(ALWAYS, "always")

enum dag_trigger_rule {
#define XX(name, _) DAG_TRIGGER_##name,
  DAG_TRIGGER_RULE_MAP(XX)
#undef XX
  DAG_TRIGGER__COUNT
};

/* Static names; "?" for an out-of-range value. */
const char *dag_task_state_name(enum dag_task_state s);
const char *dag_run_state_name(enum dag_run_state s);
const char *dag_trigger_rule_name(enum dag_trigger_rule r);
/* 0 on success, DAG_EINVAL for an unknown name. */
int dag_task_state_parse(const char *name, enum dag_task_state *out);
int dag_run_state_parse(const char *name, enum dag_run_state *out);
int dag_trigger_rule_parse(const char *name, enum dag_trigger_rule *out);

/* The state a task group shows for one run, from the states of its task
 * instances (`n` of them): the first of failed, upstream_failed,
 * up_for_retry, up_for_reschedule, queued, scheduled, running, none,
 * success, skipped that one of them is in, as Airflow's grid summarises a
 * TaskGroup (www/utils.py's priority). n == 0: none. */
enum dag_task_state dag_task_state_summary(const enum dag_task_state *states, size_t n);

/* success, failed, upstream_failed, skipped: the task will not run again in
 * this run unless cleared. */
bool dag_task_state_is_finished(enum dag_task_state s);

/* What a task's upstream tasks have done so far. */
struct dag_upstream_counts {
  int total;
  int success;
  int skipped;
  int failed;          /* failed */
  int upstream_failed; /* upstream_failed */
  int done;            /* finished in any of the four states above */
};

enum dag_trigger_verdict {
  DAG_VERDICT_WAIT,            /* not decidable yet */
  DAG_VERDICT_RUN,             /* schedule the task */
  DAG_VERDICT_SKIP,            /* mark it skipped */
  DAG_VERDICT_UPSTREAM_FAILED, /* mark it upstream_failed */
};

/* Airflow's trigger rule semantics. O(1); called each time an upstream task
 * finishes, so one_success/one_failed can fire before all upstreams are done
 * and `always` runs at once. A task with no upstream is always RUN. */
enum dag_trigger_verdict dag_trigger_rule_eval(enum dag_trigger_rule rule,
                                               const struct dag_upstream_counts *c);

#endif
