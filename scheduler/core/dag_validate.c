/* dag_validate.c - the DAG schema: node tree -> struct dag.
 *
 * Every key is checked and every problem reported, then the graph: upstream
 * ids resolved through a hash map, one concrete cycle reported by a DFS, and
 * a topological order by Kahn's algorithm; all O(tasks + edges), so a
 * 10,000-task chain loads as fast as a small DAG. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "cron.h"
#include "dag_load_int.h"
#include "didyoumean.h"
#include "duration.h"
#include "param_schema.h"
#include "priority.h"
#include "error.h"
#include "ids.h"
#include "strbuf.h"
#include "template.h"
#include "timeutil.h"
#include "tz.h"


/* Airflow's defaults, so files ported from it behave the same. */
#define DEFAULT_RETRY_DELAY_US (300 * DAG_USEC_PER_SEC)
#define DEFAULT_MAX_ACTIVE 16

enum {
  K_DAG_ID,
  K_DESCRIPTION,
  K_SCHEDULE,
  K_START_DATE,
  K_END_DATE,
  K_TIMEZONE,
  K_CATCHUP,
  K_MAX_ACTIVE_RUNS,
  K_MAX_ACTIVE_TASKS,
  K_DAGRUN_TIMEOUT,
  K_DEADLINE,
  K_NOTIFY,
  K_IS_PAUSED,
  K_TAGS,
  K_PARAMS,
  K_DEFAULT_ARGS,
  K_TASKS,
  K_GROUPS,
  K_ON_SUCCESS, /* the run's callbacks, by both names (dag_validate_callback.c) */
  K_ON_FAILURE,
  K_ON_SUCCESS_CB,
  K_ON_FAILURE_CB,
  K__COUNT
};

static const char *const top_keys[K__COUNT] = {
    "dag_id",   "description",     "schedule",         "start_date",
    "end_date", "timezone",        "catchup",          "max_active_runs",
    "max_active_tasks", "dagrun_timeout", "deadline", "notify", "is_paused_upon_creation",
    "tags", "params", "default_args", "tasks", "groups", "on_success", "on_failure",
    "on_success_callback", "on_failure_callback",
};

enum {
  A_RETRIES,
  A_RETRY_DELAY,
  A_EXPONENTIAL,
  A_MAX_RETRY_DELAY,
  A_EXECUTION_TIMEOUT,
  A_EMAIL,
  A_EMAIL_ON_FAILURE,
  A_EMAIL_ON_RETRY,
  A_POOL,
  A_POOL_SLOTS,
  A_PRIORITY_WEIGHT,
  A_WEIGHT_RULE,
  A_CALLBACKS, /* 2 * DAG_CB__COUNT keys: each event's two names */
  A__COUNT = A_CALLBACKS + 2 * DAG_CB__COUNT
};

/* Task keys: the host's own, then the default_args ones a task may override.
 * One table, so did-you-mean sees them all. */
enum {
  T_ID,
  T_TYPE,
  T_UPSTREAM,
  T_TRIGGER_RULE,
  T_QUEUE,
  T_XCOM_PUSH, /* T_XCOM_PUSH..T_IGNORE_DTR: dag_validate_flow.c */
  T_BRANCH,
  T_SHORT_CIRCUIT,
  T_IGNORE_DTR,
  T_OUTLETS,
  T_EXPAND,
  T_COMMAND, /* T_COMMAND..T_CWD: run keys, plugin config for plugin tasks */
  T_ARGV,
  T_ENV,
  T_CWD,
  T_SKIP_ON_EXIT_CODE,
  T_ARGS, /* + A_* */
  T__COUNT = T_ARGS + A__COUNT
};

static const char *const task_keys[T__COUNT] = {
    "id",      "type", "upstream", "trigger_rule", "queue",
    "xcom_push", "branch", "short_circuit", "ignore_downstream_trigger_rules", "outlets",
    "expand", "command",
    "argv",    "env",  "cwd", "skip_on_exit_code",
    /* T_ARGS + A_*, and default_args' keys */
    "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay",
    "execution_timeout", "email", "email_on_failure", "email_on_retry",
    "pool", "pool_slots", "priority_weight", "weight_rule",
    "on_execute", "on_success", "on_failure", "on_retry", "on_skipped",
    "on_execute_callback", "on_success_callback", "on_failure_callback", "on_retry_callback",
    "on_skipped_callback",
};

static const char *const *const arg_keys = task_keys + T_ARGS;

struct slot {
  const struct dag_ynode *key;
  const struct dag_ynode *val;
};

/* A key given with a null value counts as absent (`retries:` or `retries: ~`);
 * required keys report the null instead. */
static bool present(const struct slot *s) {
  return s->val && !dag_yaml_is_null(s->val);
}

/* Sort a mapping's pairs into slots by name; the indexes of the other pairs go
 * to others[] (sized map->n / 2) when given, else they are reported unknown.
 * Top-level keys starting with "x-" are ignored: as in Docker Compose files,
 * they are where anchors for the rest of the file live. */
static void collect(struct loadctx *ctx, const struct dag_ynode *map, const char *path,
                    const char *const *names, size_t n_names, struct slot *slots,
                    size_t *others, size_t *n_others) {
  bool top = *path == '\0';
  memset(slots, 0, n_names * sizeof(*slots));
  if (n_others) *n_others = 0;
  for (size_t i = 0; i < map->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(map, i);
    size_t j = 0;
    while (j < n_names && strcmp(k->value, names[j]) != 0) j++;
    if (j < n_names) {
      slots[j].key = k;
      slots[j].val = DAG_YN_VAL(map, i);
    } else if (top && strncmp(k->value, "x-", 2) == 0) {
      continue;
    } else if (others) {
      others[(*n_others)++] = i;
    } else {
      dag__unknown_key(ctx, k, path, names, n_names);
    }
  }
}

static void type_error(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                       const char *expected) {
  char *got = dag_yaml_describe(n);
  dag_yaml_err(&ctx->y, n, path, "expected %s, got %s", expected, got);
  free(got);
}

/* dag and task ids, and plugin type names: they end up in file names, URLs
 * and log lines, so they follow the one rule of ids.h. */
static bool valid_name(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                       enum dag_id_kind kind, const char *what, const char *id) {
  const char *why = dag_id_problem(kind, id);
  if (why == NULL) return true;
  if (strlen(id) > DAG_ID_MAX_LEN)
    dag_yaml_err(&ctx->y, n, path, "%s", why);
  else
    dag_yaml_err(&ctx->y, n, path, "invalid %s '%s' (%s)", what, id, why);
  return false;
}

/* `t`'s templates may also use the names of its expand keys. */
static void check_template(struct loadctx *ctx, const struct dag_task *t,
                           const struct dag_ynode *n, const char *path, const char *text) {
  char *err = NULL;
  const char **names = xcalloc(t->n_expand + 1, sizeof(*names));
  for (size_t i = 0; i < t->n_expand; i++) names[i] = t->expand[i].name;
  struct dag_template_refs refs = {.names = names, .n_names = t->n_expand};
  int rc = dag_template_check_refs(text, &refs, &err);
  dag_template_refs_free(&refs);
  free(names);
  if (rc != 0)
    dag_yaml_err(&ctx->y, n, path, "%s", err ? err : "invalid template");
  free(err);
}

/* --- dates ----------------------------------------------------------------- */

/* A date without an offset is wall time in the DAG's zone, as in Airflow; if
 * the zone itself is bad, that is reported once, at `timezone`. */
static bool get_date(struct loadctx *ctx, const struct slot *s, const char *path,
                     const char *tz, bool tz_ok, dag_time_t *out) {
  char *text;
  if (!dag_yaml_get_string(&ctx->y, s->val, path, &text)) return false;
  struct dag_iso iso;
  char why[96];
  dag_time_t t = 0;
  bool ok = dag_iso_parse(text, strlen(text), &iso, why, sizeof(why)) == 0;
  if (ok && iso.has_offset) {
    t = dag_iso_utc(&iso);
  } else if (ok && !tz_ok) {
    free(text);
    return false;
  } else if (ok) {
    struct tm tm = {.tm_year = iso.year - 1900, .tm_mon = iso.month - 1, .tm_mday = iso.day,
                    .tm_hour = iso.hour, .tm_min = iso.min, .tm_sec = iso.sec};
    ok = dag_tz_to_utc(tz, &tm, &t) == 0;
    if (ok) t += iso.usec;
    else snprintf(why, sizeof(why), "not a time in %s", tz);
  }
  if (!ok) {
    dag_yaml_err(&ctx->y, s->val, path,
             "invalid date '%s': %s (use e.g. 2024-01-01 or 2024-01-01T06:00:00Z)", text, why);
  } else if (t <= 0) {
    /* 0 means "unset" in struct dag. */
    dag_yaml_err(&ctx->y, s->val, path, "must be after 1970-01-01T00:00:00Z");
    ok = false;
  }
  free(text);
  if (ok) *out = t;
  return ok;
}

/* --- schedule -------------------------------------------------------------- */

static void get_time_schedule(struct loadctx *ctx, const struct slot *s, const char *path,
                              struct dag_schedule *out);

/* `schedule: [URI, ...]`, or `schedule: {timetable: EXPR, datasets: [URI,
 * ...]}`: either one starts a run. */
static void get_schedule(struct loadctx *ctx, const struct slot *s, struct dag_schedule *out) {
  out->kind = DAG_SCHEDULE_NONE;
  if (present(s) && s->val->kind == DAG_YN_SEQ) {
    dag__get_datasets(ctx, s->val, "schedule", &out->datasets, &out->n_datasets);
    out->expr = xstrdup("Dataset"); /* Airflow's schedule_interval for it */
    return;
  }
  if (!present(s) || s->val->kind != DAG_YN_MAP) {
    get_time_schedule(ctx, s, "schedule", out);
    return;
  }
  static const char *const keys[] = {"timetable", "datasets"};
  struct slot k[2];
  collect(ctx, s->val, "schedule", keys, 2, k, NULL, NULL);
  for (size_t i = 0; i < 2; i++)
    if (!present(&k[i])) {
      char *p = dag_yaml_path_key("schedule", keys[i]);
      dag_yaml_err(&ctx->y, k[i].val ? k[i].val : s->val, p,
                   "required key is missing (a schedule of datasets and time names both)");
      free(p);
    }
  if (present(&k[0])) get_time_schedule(ctx, &k[0], "schedule.timetable", out);
  if (present(&k[1]))
    dag__get_datasets(ctx, k[1].val, "schedule.datasets", &out->datasets, &out->n_datasets);
}

static void get_time_schedule(struct loadctx *ctx, const struct slot *s, const char *path,
                              struct dag_schedule *out) {
  char *expr;
  if (!present(s) || !dag_yaml_get_string(&ctx->y, s->val, path, &expr)) return;
  if (strcmp(expr, "@once") == 0) {
    out->kind = DAG_SCHEDULE_ONCE;
  } else if (strncmp(expr, "every ", 6) == 0) {
    const char *d = expr + 6;
    while (*d == ' ') d++;
    int rc = dag_duration_parse(d, &out->interval_us);
    if (rc == -ERANGE) {
      dag_yaml_err(&ctx->y, s->val, path, "duration '%s' is " DAG_DURATION_TOO_LONG, d);
    } else if (rc != 0) {
      dag_yaml_err(&ctx->y, s->val, path, "invalid duration '%s' (use e.g. 30s, 5m, 1h30m)", d);
    } else if (out->interval_us < DAG_USEC_PER_SEC) {
      dag_yaml_err(&ctx->y, s->val, path, "interval must be at least 1s");
    }
    out->kind = DAG_SCHEDULE_INTERVAL;
  } else if (strcasecmp(expr, "none") == 0) {
    dag_yaml_err(&ctx->y, s->val, path,
             "'%s' is not a schedule (leave schedule out, or write null, for manual runs only)",
             expr);
  } else {
    char *err = NULL;
    if (dag_cron_parse(expr, &out->cron, &err) != 0)
      dag_yaml_err(&ctx->y, s->val, path, "%s", err ? err : "invalid cron expression");
    free(err);
    out->kind = DAG_SCHEDULE_CRON;
  }
  out->expr = expr;
}

/* --- default_args and per-task overrides ----------------------------------- */

static void add_email(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                      struct dag_task_args *a, const char *addr, size_t len) {
  while (len && (*addr == ' ' || *addr == '\t')) addr++, len--;
  while (len && (addr[len - 1] == ' ' || addr[len - 1] == '\t')) len--;
  if (len == 0) return;
  const char *at = memchr(addr, '@', len);
  if (at == NULL || at == addr || at == addr + len - 1) {
    dag_yaml_err(&ctx->y, n, path, "'%.*s' is not an email address", (int)len, addr);
    return;
  }
  a->email = xrealloc(a->email, (a->n_email + 1) * sizeof(*a->email));
  a->email[a->n_email++] = xstrndup(addr, len);
}

/* One string may list several addresses separated by ',' or ';', as in
 * Airflow's get_email_address_list(). */
static void add_emails(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                       struct dag_task_args *a) {
  char *s;
  if (!dag_yaml_get_string(&ctx->y, n, path, &s)) return;
  for (const char *p = s;;) {
    size_t len = strcspn(p, ",;");
    add_email(ctx, n, path, a, p, len);
    if (p[len] == '\0') break;
    p += len + 1;
  }
  free(s);
}

/* pool, pool_slots, priority_weight, weight_rule (priority.h). Whether a
 * pool exists is a question for run time: pools are created and deleted
 * in the database, and a task of an unknown pool waits, as in Airflow. */
static void apply_capacity_arg(struct loadctx *ctx, int k, const struct dag_ynode *v,
                               const char *path, struct dag_task_args *a) {
  char *name = NULL;
  const char *why;
  switch (k) {
  case A_POOL:
    if (!dag_yaml_get_string(&ctx->y, v, path, &name)) return;
    if ((why = dag_pool_name_problem(name)) != NULL) {
      dag_yaml_err(&ctx->y, v, path, "%s", why);
      free(name);
      return;
    }
    free(a->pool);
    a->pool = name;
    break;
  case A_POOL_SLOTS:
    dag_yaml_get_int(&ctx->y, v, path, 1, DAG_MAX_POOL_SLOTS, &a->pool_slots);
    break;
  case A_PRIORITY_WEIGHT:
    dag_yaml_get_int(&ctx->y, v, path, INT32_MIN, INT32_MAX, &a->priority_weight);
    break;
  case A_WEIGHT_RULE:
    if (!dag_yaml_get_string(&ctx->y, v, path, &name)) return;
    if (dag_weight_rule_parse(name, &a->weight_rule) != 0)
      dag_yaml_err(&ctx->y, v, path,
                   "unknown weight_rule '%s' (one of: downstream, upstream, absolute)", name);
    free(name);
    break;
  }
}

static void apply_arg(struct loadctx *ctx, int k, const struct dag_ynode *v, const char *path,
                      struct dag_task_args *a) {
  switch (k) {
  case A_RETRIES:
    dag_yaml_get_int(&ctx->y, v, path, 0, DAG_MAX_RETRIES, &a->retries);
    break;
  case A_RETRY_DELAY:
    dag_yaml_get_duration(&ctx->y, v, path, &a->retry_delay_us);
    break;
  case A_EXPONENTIAL:
    dag_yaml_get_bool(&ctx->y, v, path, &a->retry_exponential_backoff);
    break;
  case A_MAX_RETRY_DELAY:
    dag_yaml_get_duration(&ctx->y, v, path, &a->max_retry_delay_us);
    break;
  case A_EXECUTION_TIMEOUT:
    dag_yaml_get_duration(&ctx->y, v, path, &a->execution_timeout_us);
    break;
  case A_EMAIL:
    /* A task's list replaces default_args' list rather than adding to it. */
    for (size_t i = 0; i < a->n_email; i++) free(a->email[i]);
    free(a->email);
    a->email = NULL;
    a->n_email = 0;
    if (v->kind == DAG_YN_SEQ) {
      for (size_t i = 0; i < v->n; i++) {
        char *p = dag_yaml_path_index(path, i);
        add_emails(ctx, v->items[i], p, a);
        free(p);
      }
    } else if (v->kind == DAG_YN_SCALAR) {
      add_emails(ctx, v, path, a);
    } else {
      type_error(ctx, v, path, "an address or a list of addresses");
    }
    break;
  case A_EMAIL_ON_FAILURE:
    dag_yaml_get_bool(&ctx->y, v, path, &a->email_on_failure);
    break;
  case A_EMAIL_ON_RETRY:
    dag_yaml_get_bool(&ctx->y, v, path, &a->email_on_retry);
    break;
  case A_POOL:
  case A_POOL_SLOTS:
  case A_PRIORITY_WEIGHT:
  case A_WEIGHT_RULE:
    apply_capacity_arg(ctx, k, v, path, a);
    break;
  }
}

/* The callback keys of a task or of default_args (A_CALLBACKS..), or of
 * the DAG (n events from `first`): by either name, not both; a null one
 * removes what default_args gave. */
static void apply_callbacks(struct loadctx *ctx, const struct slot *slots, size_t n,
                            const char *const *names, const char *prefix,
                            struct dag_callback **on) {
  for (size_t k = 0; k < n; k++) {
    const struct slot *s = &slots[k], *alt = &slots[n + k];
    if (s->val && alt->val) {
      char *p = dag_yaml_path_key(prefix, names[n + k]);
      dag_yaml_err(&ctx->y, alt->key, p, "give '%s' or '%s', not both", names[k], names[n + k]);
      free(p);
      continue;
    }
    if (!s->val) s = alt;
    if (!s->val) continue;
    enum dag_callback_event ev;
    bool airflow;
    if (!dag__callback_key(s->key->value, &ev, &airflow)) continue;
    if (!present(s)) {
      dag_callback_free(on[ev]);
      on[ev] = NULL;
      continue;
    }
    char *p = dag_yaml_path_key(prefix, s->key->value);
    dag__get_callback(ctx, s->val, p, &on[ev]);
    free(p);
  }
}

static void apply_args(struct loadctx *ctx, const struct slot *slots, const char *prefix,
                       struct dag_task_args *a) {
  apply_callbacks(ctx, slots + A_CALLBACKS, DAG_CB__COUNT, arg_keys + A_CALLBACKS, prefix, a->on);
  for (int k = 0; k < A_CALLBACKS; k++) {
    if (!present(&slots[k])) continue;
    char *p = dag_yaml_path_key(prefix, arg_keys[k]);
    apply_arg(ctx, k, slots[k].val, p, a);
    free(p);
  }
}

void dag__get_args(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                   struct dag_task_args *a) {
  if (v->kind != DAG_YN_MAP) {
    type_error(ctx, v, path, "a mapping");
    return;
  }
  struct slot slots[A__COUNT];
  collect(ctx, v, path, arg_keys, A__COUNT, slots, NULL, NULL);
  apply_args(ctx, slots, path, a);
}

/* --- tasks ----------------------------------------------------------------- */

struct task_extra {
  struct dag__edge *edges; /* aligned with task->upstream */
  int id_line;
};

static char *upref_path(const struct dag__upref *r) {
  return r->index == SIZE_MAX ? xasprintf("%s.upstream", r->owner)
                              : xasprintf("%s.upstream[%zu]", r->owner, r->index);
}

static bool valid_env_name(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
  return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
         strlen(s);
}

static void get_env(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                    struct dag_task *t) {
  if (v->kind != DAG_YN_MAP) {
    type_error(ctx, v, path, "a mapping of variable names to strings");
    return;
  }
  t->env = xcalloc(v->n / 2 + 1, sizeof(*t->env));
  for (size_t i = 0; i < v->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(v, i), *val = DAG_YN_VAL(v, i);
    char *p = dag_yaml_path_key(path, k->value);
    char *value;
    if (!valid_env_name(k->value)) {
      dag_yaml_err(&ctx->y, k, p, "invalid environment variable name '%s'", k->value);
    } else if (dag_yaml_get_string(&ctx->y, val, p, &value)) {
      check_template(ctx, t, val, p, value);
      t->env[t->n_env].name = xstrdup(k->value);
      t->env[t->n_env].value = value;
      t->n_env++;
    }
    free(p);
  }
}

static void get_argv(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                     struct dag_task *t) {
  if (v->kind != DAG_YN_SEQ) {
    type_error(ctx, v, path, "a list of strings");
    return;
  }
  if (v->n == 0) {
    dag_yaml_err(&ctx->y, v, path, "must not be empty");
    return;
  }
  t->argv = xcalloc(v->n + 1, sizeof(*t->argv));
  for (size_t i = 0; i < v->n; i++) {
    char *p = dag_yaml_path_index(path, i);
    if (dag_yaml_get_string(&ctx->y, v->items[i], p, &t->argv[t->argc])) {
      if (i == 0 && t->argv[0][0] == '\0')
        dag_yaml_err(&ctx->y, v->items[i], p, "the program name must not be empty");
      else
        check_template(ctx, t, v->items[i], p, t->argv[t->argc]);
      t->argc++;
    }
    free(p);
  }
}

static void get_trigger_rule(struct loadctx *ctx, const struct dag_ynode *v, const char *path,
                             enum dag_trigger_rule *out) {
  char *name;
  if (!dag_yaml_get_string(&ctx->y, v, path, &name)) return;
  if (dag_trigger_rule_parse(name, out) != 0) {
    const char *names[DAG_TRIGGER__COUNT];
    struct strbuf all = STRBUF_INIT;
    for (int i = 0; i < DAG_TRIGGER__COUNT; i++) {
      names[i] = dag_trigger_rule_name((enum dag_trigger_rule)i);
      sb_appendf(&all, "%s%s", i ? ", " : "", names[i]);
    }
    const char *best = dag_did_you_mean(name, names, DAG_TRIGGER__COUNT);
    if (best)
      dag_yaml_err(&ctx->y, v, path, "unknown trigger rule '%s' (did you mean '%s'?)", name, best);
    else
      dag_yaml_err(&ctx->y, v, path, "unknown trigger rule '%s' (one of: %s)", name, sb_str(&all));
    sb_free(&all);
  }
  free(name);
}

/* shell if `command` is given, exec if `argv` is; `type` says otherwise. */
static void get_type(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                     const struct slot *s, struct dag_task *t) {
  char *name = NULL;
  if (present(&s[T_TYPE])) {
    char *p = dag_yaml_path_key(tpath, "type");
    if (dag_yaml_get_string(&ctx->y, s[T_TYPE].val, p, &name)) {
      bool shell_ci = strcasecmp(name, "shell") == 0, exec_ci = strcasecmp(name, "exec") == 0;
      if ((shell_ci || exec_ci) && strcmp(name, shell_ci ? "shell" : "exec") != 0)
        dag_yaml_err(&ctx->y, s[T_TYPE].val, p, "unknown type '%s' (did you mean '%s'?)", name,
                 shell_ci ? "shell" : "exec");
      else
        valid_name(ctx, s[T_TYPE].val, p, DAG_ID_TASK, "type", name);
    }
    free(p);
  }
  if (name == NULL && present(&s[T_COMMAND]) && present(&s[T_ARGV]))
    dag_yaml_err(&ctx->y, item, tpath, "give 'command' (a shell task) or 'argv' (an exec task), not both");
  if (name == NULL) name = xstrdup(present(&s[T_ARGV]) && !present(&s[T_COMMAND]) ? "exec" : "shell");
  t->type = strcmp(name, "shell") == 0  ? DAG_TASK_SHELL
            : strcmp(name, "exec") == 0 ? DAG_TASK_EXEC
                                        : DAG_TASK_PLUGIN;
  t->type_name = name;
}

static bool skip_code(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                      struct dag_task *t) {
  char *end = NULL;
  long v = -1;
  if (n->kind == DAG_YN_SCALAR && dag_yaml_scalar_type(n) == DAG_YS_INT) v = strtol(n->value, &end, 10);
  if (end == NULL || *end != '\0' || v < 0 || v > 255) {
    char *got = dag_yaml_describe(n);
    dag_yaml_err(&ctx->y, n, path, "expected an exit code (0 to 255), got %s", got);
    free(got);
    return false;
  }
  dag_task_set_skip_exit(t, (int)v);
  return true;
}

static void get_skip_codes(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                           struct dag_task *t) {
  memset(t->skip_exit, 0, sizeof(t->skip_exit));
  if (n->kind == DAG_YN_SCALAR && dag_yaml_scalar_type(n) == DAG_YS_NULL) return;
  if (n->kind != DAG_YN_SEQ) {
    skip_code(ctx, n, path, t);
    return;
  }
  for (size_t i = 0; i < n->n; i++) {
    char *p = dag_yaml_path_index(path, i);
    skip_code(ctx, n->items[i], p, t);
    free(p);
  }
}

/* The keys of shell and exec tasks. Plugin tasks hand every non-host key,
 * command/argv/env/cwd included, to the plugin as JSON instead: what they
 * may be is what the plugin declares, checked by dag__check_plugin_task()
 * when the loader knows the installed plugins. */
static void get_run_keys(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                         const struct slot *s, bool type_given, struct dag_task *t) {
  char *p;
  bool both = !type_given && present(&s[T_COMMAND]) && present(&s[T_ARGV]);
  if (present(&s[T_COMMAND])) {
    p = dag_yaml_path_key(tpath, "command");
    if (t->type == DAG_TASK_EXEC)
      dag_yaml_err(&ctx->y, s[T_COMMAND].key, p, "not allowed for exec tasks (use 'argv')");
    else if (dag_yaml_get_string(&ctx->y, s[T_COMMAND].val, p, &t->command) && *t->command == '\0')
      dag_yaml_err(&ctx->y, s[T_COMMAND].val, p, "must not be empty");
    else if (t->command)
      check_template(ctx, t, s[T_COMMAND].val, p, t->command);
    free(p);
  } else if (t->type == DAG_TASK_SHELL) {
    dag_yaml_err(&ctx->y, item, tpath, "a shell task needs 'command'");
  }
  if (present(&s[T_ARGV])) {
    p = dag_yaml_path_key(tpath, "argv");
    if (t->type == DAG_TASK_SHELL && !both)
      dag_yaml_err(&ctx->y, s[T_ARGV].key, p, "not allowed for shell tasks (use 'command', or type: exec)");
    else if (t->type == DAG_TASK_EXEC)
      get_argv(ctx, s[T_ARGV].val, p, t);
    free(p);
  } else if (t->type == DAG_TASK_EXEC) {
    dag_yaml_err(&ctx->y, item, tpath, "an exec task needs 'argv'");
  }
  if (present(&s[T_ENV])) {
    p = dag_yaml_path_key(tpath, "env");
    get_env(ctx, s[T_ENV].val, p, t);
    free(p);
  }
  if (present(&s[T_CWD])) {
    p = dag_yaml_path_key(tpath, "cwd");
    if (dag_yaml_get_string(&ctx->y, s[T_CWD].val, p, &t->cwd)) check_template(ctx, t, s[T_CWD].val, p, t->cwd);
    free(p);
  }
  dag_task_set_skip_exit(t, DAG_SKIP_EXIT_DEFAULT);
  if (s[T_SKIP_ON_EXIT_CODE].val) {
    /* Airflow's skip_on_exit_code: one code or a list; null or [] turns it off. */
    p = dag_yaml_path_key(tpath, "skip_on_exit_code");
    get_skip_codes(ctx, s[T_SKIP_ON_EXIT_CODE].val, p, t);
    free(p);
  }
}

static void get_plugin_config(struct loadctx *ctx, const struct dag_ynode *item, const char *tpath,
                              struct dag_task *t) {
  t->config = json_object();
  for (size_t i = 0; i < item->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(item, i);
    size_t j = 0;
    while (j < T__COUNT && strcmp(k->value, task_keys[j]) != 0) j++;
    if (j < T__COUNT && (j < T_COMMAND || j >= T_ARGS)) continue; /* the host's */
    char *p = dag_yaml_path_key(tpath, k->value);
    json_t *v = dag_yaml_to_json(&ctx->y, DAG_YN_VAL(item, i), p);
    if (v && json_object_set_new(t->config, k->value, v) != 0)
      dag_yaml_err(&ctx->y, k, p, "key is not valid UTF-8");
    free(p);
  }
}

static void build_task(struct loadctx *ctx, struct dag *dag, size_t i, struct dag__item *it,
                       const struct dag_task_args *args, struct task_extra *xs,
                       struct dag_strmap *ids) {
  struct dag_task *t = &dag->tasks[i];
  struct task_extra *x = &xs[i];
  const struct dag_ynode *item = it->node;
  const char *tpath = it->path;
  struct slot s[T__COUNT];
  size_t *others = NULL, n_others = 0;

  t->line = item->line;
  t->col = item->col;
  t->group = it->group;
  t->trigger_rule = DAG_TRIGGER_ALL_SUCCESS;
  dag_task_args_copy(&t->args, args);
  if (item->kind != DAG_YN_MAP) {
    type_error(ctx, item, tpath, "a mapping (a task)");
    goto out;
  }
  others = xcalloc(item->n / 2 + 1, sizeof(*others));
  collect(ctx, item, tpath, task_keys, T__COUNT, s, others, &n_others);

  char *p = dag_yaml_path_key(tpath, "id");
  char *label = NULL;
  if (s[T_ID].val == NULL) {
    dag_yaml_err(&ctx->y, item, p, "required key is missing");
  } else if (dag_yaml_get_string(&ctx->y, s[T_ID].val, p, &label)) {
    /* Inside a group, the id as written is the label; the task's id is
     * Airflow's child_id(), "group.label". */
    t->id = dag__child_id(dag, it->group, label);
    if (valid_name(ctx, s[T_ID].val, p, DAG_ID_TASK, "id", t->id)) {
      size_t first;
      x->id_line = s[T_ID].val->line;
      if (!dag_strmap_add(ids, t->id, i, &first))
        dag_yaml_err(&ctx->y, s[T_ID].val, p, "duplicate task id '%s' (first declared at line %d)",
                     t->id, xs[first].id_line);
    }
  }
  free(label);
  free(p);

  get_type(ctx, item, tpath, s, t);
  /* Before the run keys: their templates may use the expand names. */
  if (present(&s[T_EXPAND])) dag__get_expand(ctx, s[T_EXPAND].val, tpath, t);
  if (t->type == DAG_TASK_PLUGIN) {
    get_plugin_config(ctx, item, tpath, t);
    dag__check_plugin_task(ctx, item, tpath, s[T_TYPE].val, task_keys, T__COUNT, t);
  } else {
    get_run_keys(ctx, item, tpath, s, present(&s[T_TYPE]), t);
    for (size_t j = 0; j < n_others; j++)
      dag__unknown_key(ctx, DAG_YN_KEY(item, others[j]), tpath, task_keys, T__COUNT);
  }
  if (present(&s[T_UPSTREAM])) {
    dag__get_upstream(ctx, s[T_UPSTREAM].val, it);
  }
  if (present(&s[T_TRIGGER_RULE])) {
    p = dag_yaml_path_key(tpath, "trigger_rule");
    get_trigger_rule(ctx, s[T_TRIGGER_RULE].val, p, &t->trigger_rule);
    free(p);
  }
  if (present(&s[T_QUEUE])) {
    /* Queue names follow the rule of task ids: they travel in logs, the
     * workers table and `dagctl worker --queues`. */
    p = dag_yaml_path_key(tpath, "queue");
    if (dag_yaml_get_string(&ctx->y, s[T_QUEUE].val, p, &t->queue) &&
        !valid_name(ctx, s[T_QUEUE].val, p, DAG_ID_TASK, "queue", t->queue)) {
      free(t->queue);
      t->queue = NULL;
    }
    free(p);
  }
  dag__get_flow_keys(ctx, item, tpath, t);
  if (present(&s[T_OUTLETS])) {
    p = dag_yaml_path_key(tpath, "outlets");
    dag__get_datasets(ctx, s[T_OUTLETS].val, p, &t->outlets, &t->n_outlets);
    free(p);
  }
  apply_args(ctx, s + T_ARGS, tpath, &t->args);
out:
  free(others);
}

/* One concrete cycle, found by an iterative DFS along downstream edges (a
 * 10,000-task chain must not recurse 10,000 deep). Reported at the upstream
 * entry of the cycle's first-declared task that closes it. */
static void find_cycle(struct loadctx *ctx, const struct dag *dag, const struct task_extra *xs) {
  size_t n = dag->n_tasks;
  unsigned char *color = xcalloc(n, 1); /* 0 new, 1 on the stack, 2 done */
  size_t *pos = xcalloc(n, sizeof(*pos));
  struct {
    size_t task;
    size_t next;
  } *stack = xcalloc(n, sizeof(*stack));

  for (size_t s = 0; s < n; s++) {
    if (color[s]) continue;
    size_t depth = 0;
    stack[depth].task = s;
    stack[depth].next = 0;
    pos[s] = depth++;
    color[s] = 1;
    while (depth) {
      size_t u = stack[depth - 1].task;
      const struct dag_task *t = &dag->tasks[u];
      if (stack[depth - 1].next == t->n_downstream) {
        color[u] = 2;
        depth--;
        continue;
      }
      size_t v = t->downstream[stack[depth - 1].next++];
      if (color[v] == 0) {
        stack[depth].task = v;
        stack[depth].next = 0;
        pos[v] = depth++;
        color[v] = 1;
      } else if (color[v] == 1) {
        /* stack[pos[v]..depth) is the cycle, each task upstream of the next. */
        size_t len = depth - pos[v], first = pos[v];
        for (size_t k = pos[v]; k < depth; k++)
          if (stack[k].task < stack[first].task) first = k;
        struct strbuf sb = STRBUF_INIT;
        for (size_t k = 0; k <= len; k++) {
          size_t idx = stack[pos[v] + (first - pos[v] + k) % len].task;
          sb_appendf(&sb, "%s%s", k ? " -> " : "", dag->tasks[idx].id);
        }
        size_t head = stack[first].task;
        size_t prev = stack[first == pos[v] ? depth - 1 : first - 1].task;
        const struct dag_task *h = &dag->tasks[head];
        for (size_t e = 0; e < h->n_upstream; e++) {
          if (h->upstream[e] != prev) continue;
          const struct dag__edge *ed = &xs[head].edges[e];
          char *p = upref_path(ed->ref);
          if (ed->via)
            dag_yaml_err(&ctx->y, ed->ref->node, p, "dependency cycle through group '%s': %s",
                         dag->groups[ed->via - 1].id, sb_str(&sb));
          else
            dag_yaml_err(&ctx->y, ed->ref->node, p, "dependency cycle: %s", sb_str(&sb));
          free(p);
        }
        ctx->cycle = true;
        sb_free(&sb);
        goto out;
      }
    }
  }
out:
  free(stack);
  free(pos);
  free(color);
}

/* Kahn's algorithm; ties keep declaration order. Only for acyclic graphs. */
static void topo_sort(struct dag *dag) {
  size_t n = dag->n_tasks, head = 0, tail = 0;
  size_t *indeg = xcalloc(n, sizeof(*indeg));
  dag->topo = xcalloc(n, sizeof(*dag->topo));
  for (size_t i = 0; i < n; i++) {
    indeg[i] = dag->tasks[i].n_upstream;
    if (indeg[i] == 0) dag->topo[tail++] = i;
  }
  while (head < tail) {
    const struct dag_task *t = &dag->tasks[dag->topo[head++]];
    for (size_t d = 0; d < t->n_downstream; d++)
      if (--indeg[t->downstream[d]] == 0) dag->topo[tail++] = t->downstream[d];
  }
  free(indeg);
}

static void get_tasks(struct loadctx *ctx, struct dag *dag, const struct dag_ynode *root,
                      const struct slot *s, const struct slot *gs) {
  const char *path = "tasks";
  const struct dag_ynode *tasks = s->val, *groups = present(gs) ? gs->val : NULL;
  if (tasks && tasks->kind != DAG_YN_SEQ) {
    type_error(ctx, tasks, path, "a list of tasks");
    return;
  }
  struct dag__layout lay;
  dag__layout_read(ctx, dag, tasks, groups, &lay);
  if (lay.n_tasks == 0 && !(groups && groups->kind == DAG_YN_SEQ && groups->n)) {
    /* With groups, each one has said it needs a task. */
    if (tasks == NULL)
      dag_yaml_err(&ctx->y, root, path, "required key is missing");
    else
      dag_yaml_err(&ctx->y, tasks, path, "must have at least one task");
  }
  size_t n = lay.n_tasks;
  char **paths = xcalloc(n + 1, sizeof(*paths));
  for (size_t i = 0; i < n; i++) paths[i] = lay.tasks[i].path;
  ctx->task_paths = paths;
  /* The checks that take the tasks as one YAML list see them in the
   * order of dag->tasks, groups' included. */
  struct dag_ynode all = {.kind = DAG_YN_SEQ, .n = n};
  all.items = xcalloc(n + 1, sizeof(*all.items));
  for (size_t i = 0; i < n; i++) all.items[i] = (struct dag_ynode *)lay.tasks[i].node;

  struct task_extra *xs = xcalloc(n + 1, sizeof(*xs));
  struct dag_strmap ids = {0};
  dag->tasks = xcalloc(n + 1, sizeof(*dag->tasks));
  dag->n_tasks = n;
  for (size_t i = 0; i < n && !dag_yaml_saturated(&ctx->y); i++) {
    size_t g = lay.tasks[i].group;
    build_task(ctx, dag, i, &lay.tasks[i], g ? &lay.args[g - 1] : &dag->default_args, xs, &ids);
  }
  struct dag__edge **edges = NULL;
  dag__link(ctx, dag, &lay, &ids, &edges);
  for (size_t i = 0; i < n; i++) xs[i].edges = edges[i];
  free(edges);
  dag__check_stop_services(ctx, dag, &all, &ids);
  find_cycle(ctx, dag, xs);
  dag__check_flow(ctx, dag, &all);
  dag__check_dag_refs(ctx, dag, &all);
  if (ctx->y.errors == 0) topo_sort(dag);
  for (size_t i = 0; i < n; i++) free(xs[i].edges);
  free(xs);
  free(all.items);
  dag_strmap_free(&ids);
  ctx->task_paths = NULL;
  free(paths);
  dag__layout_free(&lay, dag->n_groups);
}

/* --- the DAG --------------------------------------------------------------- */

static void get_tags(struct loadctx *ctx, const struct dag_ynode *v, struct dag *dag) {
  if (v->kind != DAG_YN_SEQ) {
    type_error(ctx, v, "tags", "a list of strings");
    return;
  }
  dag->tags = xcalloc(v->n + 1, sizeof(*dag->tags));
  for (size_t i = 0; i < v->n; i++) {
    char *p = dag_yaml_path_index("tags", i);
    if (dag_yaml_get_string(&ctx->y, v->items[i], p, &dag->tags[dag->n_tags])) dag->n_tags++;
    free(p);
  }
}

struct dag *dag__build(struct loadctx *ctx, const struct dag_ynode *root) {
  if (root == NULL || root->kind != DAG_YN_MAP) {
    char *got = root ? dag_yaml_describe(root) : xstrdup("an empty file");
    dag_yaml_err(&ctx->y, root, "", "expected a mapping with dag_id and tasks at the top level, got %s",
             got);
    free(got);
    return NULL;
  }
  const struct dag_load_options *o = ctx->opts;
  struct dag *dag = xcalloc(1, sizeof(*dag));
  struct slot s[K__COUNT];
  collect(ctx, root, "", top_keys, K__COUNT, s, NULL, NULL);

  if (s[K_DAG_ID].val == NULL)
    dag_yaml_err(&ctx->y, root, "dag_id", "required key is missing");
  else if (dag_yaml_get_string(&ctx->y, s[K_DAG_ID].val, "dag_id", &dag->dag_id))
    valid_name(ctx, s[K_DAG_ID].val, "dag_id", DAG_ID_DAG, "id", dag->dag_id);

  if (!present(&s[K_DESCRIPTION]) ||
      !dag_yaml_get_string(&ctx->y, s[K_DESCRIPTION].val, "description", &dag->description))
    dag->description = xstrdup("");

  bool tz_ok = true;
  if (present(&s[K_TIMEZONE]) &&
      dag_yaml_get_string(&ctx->y, s[K_TIMEZONE].val, "timezone", &dag->timezone)) {
    if (dag_tz_validate(dag->timezone) != 0) {
      dag_yaml_err(&ctx->y, s[K_TIMEZONE].val, "timezone", "unknown time zone '%s'", dag->timezone);
      tz_ok = false;
    }
  } else if (present(&s[K_TIMEZONE])) {
    tz_ok = false;
  }
  if (dag->timezone == NULL)
    dag->timezone = xstrdup(o->default_timezone ? o->default_timezone : "UTC");

  get_schedule(ctx, &s[K_SCHEDULE], &dag->schedule);
  bool start_ok = present(&s[K_START_DATE]) &&
                  get_date(ctx, &s[K_START_DATE], "start_date", dag->timezone, tz_ok,
                           &dag->start_date);
  bool end_ok = present(&s[K_END_DATE]) &&
                get_date(ctx, &s[K_END_DATE], "end_date", dag->timezone, tz_ok, &dag->end_date);
  if (start_ok && end_ok && dag->end_date < dag->start_date)
    dag_yaml_err(&ctx->y, s[K_END_DATE].val, "end_date", "%s is before start_date %s",
             s[K_END_DATE].val->value, s[K_START_DATE].val->value);

  dag->catchup = false;
  if (present(&s[K_CATCHUP])) dag_yaml_get_bool(&ctx->y, s[K_CATCHUP].val, "catchup", &dag->catchup);
  dag->max_active_runs = o->default_max_active_runs > 0 ? o->default_max_active_runs
                                                        : DEFAULT_MAX_ACTIVE;
  if (present(&s[K_MAX_ACTIVE_RUNS]))
    dag_yaml_get_int(&ctx->y, s[K_MAX_ACTIVE_RUNS].val, "max_active_runs", 1, DAG_MAX_ACTIVE,
                 &dag->max_active_runs);
  dag->max_active_tasks = o->default_max_active_tasks > 0 ? o->default_max_active_tasks
                                                          : DEFAULT_MAX_ACTIVE;
  if (present(&s[K_MAX_ACTIVE_TASKS]))
    dag_yaml_get_int(&ctx->y, s[K_MAX_ACTIVE_TASKS].val, "max_active_tasks", 1, DAG_MAX_ACTIVE,
                 &dag->max_active_tasks);
  /* Airflow's dagrun_timeout: a run still unfinished this long after its
   * start fails (sched_run_timeout.c). */
  if (present(&s[K_DAGRUN_TIMEOUT]) &&
      dag_yaml_get_duration(&ctx->y, s[K_DAGRUN_TIMEOUT].val, "dagrun_timeout",
                            &dag->dagrun_timeout_us) &&
      dag->dagrun_timeout_us <= 0)
    dag_yaml_err(&ctx->y, s[K_DAGRUN_TIMEOUT].val, "dagrun_timeout", "must be longer than 0s");
  if (present(&s[K_DEADLINE])) dag__get_deadline(ctx, s[K_DEADLINE].val, dag);
  if (present(&s[K_NOTIFY])) dag__get_notify(ctx, s[K_NOTIFY].val, dag);
  if (present(&s[K_IS_PAUSED]))
    dag_yaml_get_bool(&ctx->y, s[K_IS_PAUSED].val, "is_paused_upon_creation",
                  &dag->is_paused_upon_creation);
  if (present(&s[K_TAGS])) get_tags(ctx, s[K_TAGS].val, dag);

  if (present(&s[K_PARAMS]) && s[K_PARAMS].val->kind != DAG_YN_MAP)
    type_error(ctx, s[K_PARAMS].val, "params", "a mapping");
  else if (present(&s[K_PARAMS]))
    dag_params_load(&ctx->y, s[K_PARAMS].val, &dag->params, &dag->params_schema);
  if (dag->params == NULL) dag->params = json_object();

  dag->default_args = (struct dag_task_args){
      .retry_delay_us = DEFAULT_RETRY_DELAY_US,
      .email_on_failure = true,
      .email_on_retry = true,
      .pool_slots = 1,
      .priority_weight = 1,
  };
  if (present(&s[K_DEFAULT_ARGS])) {
    const struct dag_ynode *v = s[K_DEFAULT_ARGS].val;
    if (v->kind != DAG_YN_MAP) {
      type_error(ctx, v, "default_args", "a mapping");
    } else {
      struct slot a[A__COUNT];
      collect(ctx, v, "default_args", arg_keys, A__COUNT, a, NULL, NULL);
      apply_args(ctx, a, "default_args", &dag->default_args);
    }
  }

  /* Airflow's DAG-level on_success_callback and on_failure_callback: the
   * run's end (the slots and names of both events, short then long). */
  apply_callbacks(ctx, s + K_ON_SUCCESS, 2, top_keys + K_ON_SUCCESS, "", dag->on);

  get_tasks(ctx, dag, root, &s[K_TASKS], &s[K_GROUPS]);
  return dag;
}
