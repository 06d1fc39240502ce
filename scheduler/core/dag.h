/* dag.h - the DAG model: what one YAML file declares, after validation.
 *
 * A struct dag is immutable once loaded; the scheduler swaps in a new one when
 * the file changes. Task relations are indexes into dag->tasks. */
#ifndef DAG_DAG_H
#define DAG_DAG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "cron.h"
#include "state.h"

enum dag_schedule_kind {
  DAG_SCHEDULE_NONE,     /* manual triggers only */
  DAG_SCHEDULE_ONCE,     /* @once */
  DAG_SCHEDULE_CRON,     /* five fields or a preset such as @daily */
  DAG_SCHEDULE_INTERVAL, /* "every 30m" */
};

struct dag_schedule {
  enum dag_schedule_kind kind;
  char *expr;           /* as written; NULL for NONE */
  struct dag_cron cron; /* CRON */
  int64_t interval_us;  /* INTERVAL */
  /* Datasets (owned URIs): a run once every one has been updated since the
   * last dataset-triggered run; with a time schedule too (kind not NONE),
   * either starts a run, as Airflow's DatasetOrTimeSchedule. */
  char **datasets;
  size_t n_datasets;
};

enum dag_task_type {
  DAG_TASK_SHELL,  /* `command`, run by /bin/sh -c */
  DAG_TASK_EXEC,   /* `argv`, executed directly (PATH lookup) */
  DAG_TASK_PLUGIN, /* any other type name: a C plugin */
};

/* Upper bounds of the counts in DAG files and dagctl.yaml: far beyond any
 * real use, and small enough that no sum or product of them overflows. */
#define DAG_MAX_RETRIES 10000  /* retries of one task */
#define DAG_MAX_ACTIVE 1000000 /* max_active_runs/tasks, core.parallelism */
#define DAG_MAX_MAP_LENGTH 100000 /* the highest core.max_map_length */

/* Callbacks, Airflow's on_*_callback: a command run in a process of its
 * own when a task or a run changes state (the engine's sched_callback.c).
 * A task has all five; a DAG only SUCCESS and FAILURE (its run's end). */
enum dag_callback_event {
  DAG_CB_EXECUTE, /* a try starts */
  DAG_CB_SUCCESS,
  DAG_CB_FAILURE, /* the last try failed (or the run failed) */
  DAG_CB_RETRY,   /* a try failed and another follows */
  DAG_CB_SKIPPED, /* the task skipped itself (skip_on_exit_code) */
  DAG_CB__COUNT
};

/* One callback's command: a shell command or an argv, either with
 * templates. */
struct dag_callback {
  char *command; /* run by /bin/sh -c, its values quoted; NULL: argv */
  char **argv;   /* NULL-terminated; NULL: command */
  size_t argc;
};

/* The key's short name ("on_failure"); Airflow's adds "_callback". */
const char *dag_callback_name(enum dag_callback_event ev);
/* A deep copy (NULL for NULL); free with dag_callback_free(). */
struct dag_callback *dag_callback_dup(const struct dag_callback *cb);
void dag_callback_free(struct dag_callback *cb);

/* How a task's priority_weight adds up into the weight the scheduler
 * orders ready tasks by (Airflow's weight_rule; priority.h). */
enum dag_weight_rule {
  DAG_WEIGHT_DOWNSTREAM, /* its own plus every downstream task's (the default) */
  DAG_WEIGHT_UPSTREAM,   /* its own plus every upstream task's */
  DAG_WEIGHT_ABSOLUTE,   /* its own */
};

/* Settings that default_args gives every task and a task may override. */
struct dag_task_args {
  int retries;
  int64_t retry_delay_us;
  bool retry_exponential_backoff;
  int64_t max_retry_delay_us;   /* 0: only the 24 h ceiling */
  int64_t execution_timeout_us; /* 0: none */
  char **email;                 /* owned */
  size_t n_email;
  bool email_on_failure;
  bool email_on_retry;
  struct dag_callback *on[DAG_CB__COUNT]; /* owned; NULL: none */
  /* Capacity (priority.h): the pool whose slots a try holds (owned; NULL:
   * default_pool), how many (>= 1), and the priority among ready tasks. */
  char *pool;
  int pool_slots;
  int priority_weight;
  enum dag_weight_rule weight_rule;
};

struct dag_env {
  char *name;  /* owned */
  char *value; /* owned; may hold templates */
};

/* One key of a mapped task's `expand:` (Airflow's expand(NAME=...)): the
 * instances' values of {{ NAME }}, a literal list or a template that
 * renders a JSON list at run time (dag_validate_flow.c, sched_map.c). */
struct dag_expand {
  char *name;     /* owned; a template name of its own */
  json_t *list;   /* owned: the literal list, or NULL */
  char *tmpl;     /* owned: the template, or NULL */
};

struct dag_task {
  char *id;
  enum dag_task_type type;
  char *type_name;   /* as written: "shell", "exec" or the plugin's name */
  char *command;     /* SHELL; may hold templates */
  char **argv;       /* EXEC; NULL-terminated; may hold templates */
  size_t argc;
  struct dag_env *env;
  size_t n_env;
  char *cwd;         /* NULL: DAGCTL_HOME; may hold templates */
  json_t *config;    /* PLUGIN: the task's plugin-specific keys (object), or NULL */
  size_t *upstream;  /* indexes into dag->tasks */
  size_t n_upstream;
  size_t *downstream; /* computed by the loader */
  size_t n_downstream;
  enum dag_trigger_rule trigger_rule;
  char **outlets;            /* dataset URIs its success updates (owned) */
  size_t n_outlets;
  char *queue;               /* the workers' queue it goes to (core.executor:
                                workers); NULL: "default" */
  struct dag_task_args args; /* default_args with this task's overrides */
  /* SHELL/EXEC: the exit codes that end a try `skipped` rather than failed
   * (Airflow's skip_on_exit_code), one bit per code 0..255; the loader sets
   * 99 unless the task says otherwise. */
  uint8_t skip_exit[32];
  /* Control flow (dag_validate_flow.c; the engine's sched_xcom.c and
   * sched_branch.c). */
  bool xcom_last_line; /* xcom_push: last_line (SHELL/EXEC) */
  bool branch;         /* its return_value names the direct downstream tasks to follow */
  bool short_circuit;  /* a false result skips what follows */
  bool ignore_downstream_trigger_rules; /* short_circuit: every downstream task (true,
                                           the default) or only the direct ones */
  /* Dynamic task mapping: one instance per item (the cross product when
   * several keys), made when the task is ready to run; n_expand 0: none. */
  struct dag_expand *expand;
  size_t n_expand;
  int line;                  /* where the task is declared */
  int col;
  size_t group; /* 1 + index in dag->groups of its innermost group; 0: none */
};

/* A task group (Airflow's TaskGroup): a named set of tasks and groups that
 * the status page folds into one row or node; its id is in its tasks' ids
 * (`group.task`) unless prefix_group_id is off. */
struct dag_group {
  char *id;      /* owned; the full id, "etl.extract" */
  char *label;   /* owned; as written, "extract" */
  char *tooltip; /* owned; "" when absent */
  bool prefix_group_id;
  size_t parent; /* 1 + index in dag->groups; 0: at the top */
  int line;      /* where the group is declared */
  int col;
};

/* What a DAG's deadline counts from: Airflow's DeadlineReference
 * DAGRUN_LOGICAL_DATE and DAGRUN_QUEUED_AT. */
enum dag_deadline_ref {
  DAG_DEADLINE_NONE,
  DAG_DEADLINE_LOGICAL_DATE,
  DAG_DEADLINE_QUEUED_AT,
};

/* A webhook of a DAG's `notify:` list, as Airflow's notifiers take a
 * connection id: the URL is a secret, so only the connection is named. */
struct dag_notify_hook {
  char *format;         /* "json", "slack" or "teams" */
  char *url_connection; /* a connection whose password is the URL */
};

/* "logical_date", "queued_at", or NULL for NONE. */
const char *dag_deadline_ref_name(enum dag_deadline_ref r);

struct dag {
  char *dag_id;
  char *file;        /* path it was loaded from */
  char *description; /* "" when absent */
  struct dag_schedule schedule;
  dag_time_t start_date; /* 0: unset */
  dag_time_t end_date;   /* 0: unset */
  char *timezone;        /* IANA name, "UTC" by default */
  bool catchup;
  int max_active_runs;
  int max_active_tasks;
  int64_t dagrun_timeout_us; /* 0: none */
  /* Airflow 3's DeadlineAlert: a run not finished `deadline_within_us`
   * after its reference time gets one alert (sched_deadline.c). */
  enum dag_deadline_ref deadline_after; /* DAG_DEADLINE_NONE: no deadline */
  int64_t deadline_within_us;
  /* The DAG's own notification targets (`notify:`), besides the global
   * notify section and the tasks' `email`: addresses its alerts are also
   * mailed to, and webhooks they are also POSTed to. */
  char **notify_email;
  size_t n_notify_email;
  struct dag_notify_hook *notify_hooks;
  size_t n_notify_hooks;
  bool is_paused_upon_creation;
  char **tags;
  size_t n_tags;
  json_t *params; /* object, never NULL; owned reference: each param's default */
  /* Typed params (param_schema.h): name -> its JSON Schema subset; NULL
   * when no param has one. Owned reference. */
  json_t *params_schema;
  struct dag_task_args default_args;
  /* The run's callbacks (on_success, on_failure); owned, NULL: none. */
  struct dag_callback *on[DAG_CB__COUNT];
  struct dag_task *tasks;
  size_t n_tasks;
  size_t *topo; /* task indexes in a topological order */
  /* Task groups, each after its parent (declaration order); NULL when none. */
  struct dag_group *groups;
  size_t n_groups;
};

/* Index of the task named `id`, or -1 (tasks without an id are skipped). O(n). */
long dag_find_task(const struct dag *dag, const char *id);

/* The innermost group of `t`, or NULL. Borrowed from dag. */
static inline const struct dag_group *dag_task_group(const struct dag *dag,
                                                     const struct dag_task *t) {
  return t->group ? &dag->groups[t->group - 1] : NULL;
}

/* Free a DAG and everything it owns; NULL is a no-op. */
void dag_free(struct dag *dag);

/* Free the members of `a` (not `a` itself), its callbacks included. */
void dag_task_args_free(struct dag_task_args *a);

/* Deep copy of src into dst (emails and callbacks duplicated). */
void dag_task_args_copy(struct dag_task_args *dst, const struct dag_task_args *src);

/* skip_on_exit_code: whether exit `code` ends the task's try skipped. */
static inline bool dag_task_skips_exit(const struct dag_task *t, int64_t code) {
  return code >= 0 && code <= 255 && (t->skip_exit[code / 8] >> (code % 8) & 1);
}
static inline void dag_task_set_skip_exit(struct dag_task *t, int code) {
  t->skip_exit[code / 8] = (uint8_t)(t->skip_exit[code / 8] | 1u << (code % 8));
}
/* Airflow's BashOperator default: exit 99 means "skip me". */
#define DAG_SKIP_EXIT_DEFAULT 99

#endif
