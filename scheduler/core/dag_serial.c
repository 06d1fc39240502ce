/* dag_serial.c - struct dag <-> canonical JSON (see dag_serial.h).
 *
 * Every field of the model is written, the derived ones too (downstream,
 * topo, the parsed cron), so reading back needs neither the loader nor the
 * plugin catalog. tests/unit/test_dag_serial.c checks that no field of
 * struct dag is left out. */
#include "dag_serial.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "priority.h"

/* --- writing ------------------------------------------------------------------------------- */

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *str_array(char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *index_array(const size_t *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer((json_int_t)v[i]));
  return a;
}

/* Callbacks, by short name; NULL when there is none, so that the text
 * (and digest) of a DAG without callbacks is what it was before them. */
static json_t *callbacks_json(struct dag_callback *const *on) {
  json_t *o = NULL;
  for (int i = 0; i < DAG_CB__COUNT; i++) {
    if (!on[i]) continue;
    if (!o) o = json_object();
    json_object_set_new(o, dag_callback_name((enum dag_callback_event)i),
                        on[i]->argv ? json_pack("{s:o}", "argv", str_array(on[i]->argv, on[i]->argc))
                                    : json_pack("{s:s}", "command", on[i]->command));
  }
  return o;
}

static json_t *args_json(const struct dag_task_args *a) {
  json_t *cbs = callbacks_json(a->on);
  json_t *o = json_pack("{s:i, s:I, s:b, s:I, s:I, s:o, s:b, s:b}", "retries", a->retries,
                   "retry_delay_us", (json_int_t)a->retry_delay_us,
                   "retry_exponential_backoff", a->retry_exponential_backoff,
                   "max_retry_delay_us", (json_int_t)a->max_retry_delay_us,
                   "execution_timeout_us", (json_int_t)a->execution_timeout_us, "email",
                   str_array(a->email, a->n_email), "email_on_failure", a->email_on_failure,
                   "email_on_retry", a->email_on_retry);
  if (cbs) json_object_set_new(o, "on", cbs);
  /* Capacity: written only when not the default, so the digests of DAGs
   * without pools or priorities stay what they were before them. */
  if (a->pool) json_object_set_new(o, "pool", json_string(a->pool));
  if (a->pool_slots != 1) json_object_set_new(o, "pool_slots", json_integer(a->pool_slots));
  if (a->priority_weight != 1)
    json_object_set_new(o, "priority_weight", json_integer(a->priority_weight));
  if (a->weight_rule != DAG_WEIGHT_DOWNSTREAM)
    json_object_set_new(o, "weight_rule", json_string(dag_weight_rule_name(a->weight_rule)));
  return o;
}

static json_t *task_json(const struct dag_task *t) {
  json_t *env = json_array();
  for (size_t i = 0; i < t->n_env; i++)
    json_array_append_new(env, json_pack("[s, s]", t->env[i].name, t->env[i].value));
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(t->id));
  json_object_set_new(o, "type", json_integer(t->type));
  json_object_set_new(o, "type_name", json_string(t->type_name));
  json_object_set_new(o, "command", str_or_null(t->command));
  json_object_set_new(o, "argv", t->argv ? str_array(t->argv, t->argc) : json_null());
  json_object_set_new(o, "env", env);
  json_object_set_new(o, "cwd", str_or_null(t->cwd));
  json_object_set_new(o, "config", t->config ? json_deep_copy(t->config) : json_null());
  json_object_set_new(o, "upstream", index_array(t->upstream, t->n_upstream));
  json_object_set_new(o, "downstream", index_array(t->downstream, t->n_downstream));
  json_object_set_new(o, "trigger_rule", json_string(dag_trigger_rule_name(t->trigger_rule)));
  /* Written only when set, so the digest of a DAG without queues stays
   * what it was before queues existed. */
  if (t->queue) json_object_set_new(o, "queue", json_string(t->queue));
  if (t->n_outlets) json_object_set_new(o, "outlets", str_array(t->outlets, t->n_outlets));
  /* Likewise skip_on_exit_code, written only when not the default. */
  struct dag_task dflt = {0};
  if (t->type != DAG_TASK_PLUGIN) dag_task_set_skip_exit(&dflt, DAG_SKIP_EXIT_DEFAULT);
  if (memcmp(dflt.skip_exit, t->skip_exit, sizeof(t->skip_exit)) != 0) {
    json_t *codes = json_array();
    for (int c = 0; c <= 255; c++)
      if (dag_task_skips_exit(t, c)) json_array_append_new(codes, json_integer(c));
    json_object_set_new(o, "skip_on_exit_code", codes);
  }
  /* Control flow: written only when set, digests of DAGs without it stay. */
  if (t->xcom_last_line) json_object_set_new(o, "xcom_push", json_string("last_line"));
  if (t->branch) json_object_set_new(o, "branch", json_true());
  if (t->short_circuit) {
    json_object_set_new(o, "short_circuit", json_true());
    json_object_set_new(o, "ignore_downstream_trigger_rules",
                        json_boolean(t->ignore_downstream_trigger_rules));
  }
  /* Only in a group: digests of DAGs without groups stay. */
  if (t->group) json_object_set_new(o, "group", json_integer((json_int_t)t->group - 1));
  if (t->n_expand) {
    json_t *ex = json_array();
    for (size_t k = 0; k < t->n_expand; k++) {
      const struct dag_expand *e = &t->expand[k];
      json_array_append_new(ex, e->list ? json_pack("{s:s, s:O}", "name", e->name, "list", e->list)
                                        : json_pack("{s:s, s:s}", "name", e->name, "template",
                                                    e->tmpl));
    }
    json_object_set_new(o, "expand", ex);
  }
  json_object_set_new(o, "args", args_json(&t->args));
  json_object_set_new(o, "line", json_integer(t->line));
  json_object_set_new(o, "col", json_integer(t->col));
  return o;
}

static json_t *schedule_json(const struct dag_schedule *s) {
  const struct dag_cron *c = &s->cron;
  json_t *cron = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b}", "minutes",
                           (json_int_t)c->minutes, "hours", (json_int_t)c->hours, "days",
                           (json_int_t)c->days, "months", (json_int_t)c->months, "weekdays",
                           (json_int_t)c->weekdays, "days_star", c->days_star,
                           "weekdays_star", c->weekdays_star, "wall_clock", c->wall_clock);
  json_t *o = json_pack("{s:i, s:o, s:o, s:I}", "kind", (int)s->kind, "expr",
                         str_or_null(s->expr), "cron", cron, "interval_us",
                         (json_int_t)s->interval_us);
  /* Only when set: the digest of a DAG without datasets is unchanged. */
  if (s->n_datasets) json_object_set_new(o, "datasets", str_array(s->datasets, s->n_datasets));
  return o;
}

char *dag_serialize(const struct dag *dag) {
  json_t *tasks = json_array();
  for (size_t i = 0; i < dag->n_tasks; i++) json_array_append_new(tasks, task_json(&dag->tasks[i]));
  json_t *o = json_object();
  json_object_set_new(o, "format", json_integer(DAG_SERIAL_FORMAT));
  json_object_set_new(o, "dag_id", json_string(dag->dag_id));
  json_object_set_new(o, "file", str_or_null(dag->file));
  json_object_set_new(o, "description", str_or_null(dag->description));
  json_object_set_new(o, "schedule", schedule_json(&dag->schedule));
  json_object_set_new(o, "start_date", json_integer(dag->start_date));
  json_object_set_new(o, "end_date", json_integer(dag->end_date));
  json_object_set_new(o, "timezone", str_or_null(dag->timezone));
  json_object_set_new(o, "catchup", json_boolean(dag->catchup));
  json_object_set_new(o, "max_active_runs", json_integer(dag->max_active_runs));
  json_object_set_new(o, "max_active_tasks", json_integer(dag->max_active_tasks));
  json_object_set_new(o, "dagrun_timeout_us", json_integer(dag->dagrun_timeout_us));
  if (dag->deadline_after != DAG_DEADLINE_NONE) {
    json_t *dl = json_object();
    json_object_set_new(dl, "after", json_string(dag_deadline_ref_name(dag->deadline_after)));
    json_object_set_new(dl, "within_us", json_integer(dag->deadline_within_us));
    json_object_set_new(o, "deadline", dl);
  }
  if (dag->n_notify_email || dag->n_notify_hooks) {
    json_t *hooks = json_array();
    for (size_t i = 0; i < dag->n_notify_hooks; i++)
      json_array_append_new(hooks, json_pack("{s:s, s:s}", "format",
                                             dag->notify_hooks[i].format, "url_connection",
                                             dag->notify_hooks[i].url_connection));
    json_object_set_new(o, "notify",
                        json_pack("{s:o, s:o}", "email",
                                  str_array(dag->notify_email, dag->n_notify_email),
                                  "webhooks", hooks));
  }
  json_object_set_new(o, "is_paused_upon_creation", json_boolean(dag->is_paused_upon_creation));
  json_object_set_new(o, "tags", str_array(dag->tags, dag->n_tags));
  json_object_set_new(o, "params", dag->params ? json_deep_copy(dag->params) : json_object());
  /* Only when there is one: the DAGs without typed params keep the text
   * (and the hash, and the version) they had before params had types. */
  if (dag->params_schema)
    json_object_set_new(o, "params_schema", json_deep_copy(dag->params_schema));
  json_object_set_new(o, "default_args", args_json(&dag->default_args));
  json_t *run_cbs = callbacks_json(dag->on);
  if (run_cbs) json_object_set_new(o, "on", run_cbs);
  json_object_set_new(o, "tasks", tasks);
  if (dag->n_groups) {
    json_t *groups = json_array();
    for (size_t i = 0; i < dag->n_groups; i++) {
      const struct dag_group *g = &dag->groups[i];
      json_t *jg = json_pack("{s:s, s:s, s:s, s:b, s:i, s:i}", "id", g->id, "label", g->label,
                             "tooltip", g->tooltip, "prefix_group_id", g->prefix_group_id,
                             "line", g->line, "col", g->col);
      if (g->parent) json_object_set_new(jg, "parent", json_integer((json_int_t)g->parent - 1));
      json_array_append_new(groups, jg);
    }
    json_object_set_new(o, "groups", groups);
  }
  json_object_set_new(o, "topo", index_array(dag->topo, dag->topo ? dag->n_tasks : 0));
  /* Sorted keys and no spaces: one text per content, so one hash. Reals
   * in params print with jansson's shortest round-trip form. */
  char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  json_decref(o);
  if (!text) abort(); /* jansson fails only when out of memory: alloc.h's policy */
  char *out = xstrdup(text);
  free(text);
  return out;
}

void dag_serial_hash(const char *text, char hash[DAG_SHA256_HEX_LEN + 1]) {
  dag_sha256_hex(text, strlen(text), hash);
}

/* --- reading ------------------------------------------------------------------------------- */

/* The reading context: the first error wins, later reads are no-ops. */
struct rd {
  char *err;
};

static json_t *need(struct rd *r, json_t *o, const char *key, json_type type, bool nullable) {
  if (r->err) return NULL;
  json_t *v = json_object_get(o, key);
  if (v && nullable && json_is_null(v)) return v;
  if (!v || json_typeof(v) != type) {
    if (type == JSON_TRUE && v && json_is_boolean(v)) return v;
    r->err = xasprintf("serialized DAG: field '%s' is missing or of the wrong type", key);
    return NULL;
  }
  return v;
}

static char *get_str(struct rd *r, json_t *o, const char *key, bool nullable) {
  json_t *v = need(r, o, key, JSON_STRING, nullable);
  return v && json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int64_t get_int(struct rd *r, json_t *o, const char *key) {
  json_t *v = need(r, o, key, JSON_INTEGER, false);
  return v ? (int64_t)json_integer_value(v) : 0;
}

static bool get_bool(struct rd *r, json_t *o, const char *key) {
  json_t *v = need(r, o, key, JSON_TRUE, false);
  return v && json_is_true(v);
}

static char **get_strs(struct rd *r, json_t *o, const char *key, bool nullable, size_t *n) {
  *n = 0;
  json_t *a = need(r, o, key, JSON_ARRAY, nullable);
  if (!a || !json_is_array(a)) return NULL;
  size_t len = json_array_size(a);
  char **v = xcalloc(len + 1, sizeof(*v)); /* NULL-terminated, as argv must be */
  for (size_t i = 0; i < len; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (!s && !r->err) r->err = xasprintf("serialized DAG: '%s' holds a non-string", key);
    v[i] = xstrdup(s ? s : "");
  }
  *n = len;
  return v;
}

static size_t *get_indexes(struct rd *r, json_t *o, const char *key, size_t limit, size_t *n) {
  *n = 0;
  json_t *a = need(r, o, key, JSON_ARRAY, false);
  if (!a) return NULL;
  size_t len = json_array_size(a);
  size_t *v = xcalloc(len ? len : 1, sizeof(*v));
  for (size_t i = 0; i < len; i++) {
    json_t *x = json_array_get(a, i);
    json_int_t k = json_is_integer(x) ? json_integer_value(x) : -1;
    if ((k < 0 || (size_t)k >= limit) && !r->err)
      r->err = xasprintf("serialized DAG: '%s' holds a bad task index", key);
    v[i] = k < 0 ? 0 : (size_t)k;
  }
  *n = len;
  return v;
}

/* "on": absent from DAGs without callbacks, and from versions stored
 * before them. */
static void get_callbacks(struct rd *r, json_t *o, struct dag_callback **on) {
  json_t *v = json_object_get(o, "on");
  if (!v) return;
  if (!json_is_object(v)) {
    if (!r->err) r->err = xstrdup("serialized DAG: bad 'on'");
    return;
  }
  for (int i = 0; i < DAG_CB__COUNT; i++) {
    json_t *c = json_object_get(v, dag_callback_name((enum dag_callback_event)i));
    if (!c) continue;
    struct dag_callback *cb = xcalloc(1, sizeof(*cb));
    on[i] = cb;
    if (json_object_get(c, "argv"))
      cb->argv = get_strs(r, c, "argv", false, &cb->argc);
    else
      cb->command = get_str(r, c, "command", false);
  }
}

static void get_args(struct rd *r, json_t *o, const char *key, struct dag_task_args *a) {
  json_t *v = need(r, o, key, JSON_OBJECT, false);
  if (!v) return;
  a->retries = (int)get_int(r, v, "retries");
  a->retry_delay_us = get_int(r, v, "retry_delay_us");
  a->retry_exponential_backoff = get_bool(r, v, "retry_exponential_backoff");
  a->max_retry_delay_us = get_int(r, v, "max_retry_delay_us");
  a->execution_timeout_us = get_int(r, v, "execution_timeout_us");
  a->email = get_strs(r, v, "email", false, &a->n_email);
  a->email_on_failure = get_bool(r, v, "email_on_failure");
  a->email_on_retry = get_bool(r, v, "email_on_retry");
  get_callbacks(r, v, a->on);
  a->pool = json_object_get(v, "pool") ? get_str(r, v, "pool", false) : NULL;
  a->pool_slots = json_object_get(v, "pool_slots") ? (int)get_int(r, v, "pool_slots") : 1;
  a->priority_weight =
      json_object_get(v, "priority_weight") ? (int)get_int(r, v, "priority_weight") : 1;
  a->weight_rule = DAG_WEIGHT_DOWNSTREAM;
  json_t *rule = json_object_get(v, "weight_rule");
  if (rule && (!json_is_string(rule) ||
               dag_weight_rule_parse(json_string_value(rule), &a->weight_rule) != 0) &&
      !r->err)
    r->err = xstrdup("serialized DAG: bad 'weight_rule'");
}

static void get_task(struct rd *r, json_t *o, size_t n_tasks, size_t n_groups,
                     struct dag_task *t) {
  if (!json_is_object(o)) {
    if (!r->err) r->err = xstrdup("serialized DAG: a task is not an object");
    return;
  }
  t->id = get_str(r, o, "id", false);
  t->type = (enum dag_task_type)get_int(r, o, "type");
  t->type_name = get_str(r, o, "type_name", false);
  t->command = get_str(r, o, "command", true);
  t->argv = get_strs(r, o, "argv", true, &t->argc);
  json_t *env = need(r, o, "env", JSON_ARRAY, false);
  if (env) {
    t->n_env = json_array_size(env);
    t->env = xcalloc(t->n_env ? t->n_env : 1, sizeof(*t->env));
    for (size_t i = 0; i < t->n_env; i++) {
      json_t *pair = json_array_get(env, i);
      const char *name = json_string_value(json_array_get(pair, 0));
      const char *value = json_string_value(json_array_get(pair, 1));
      if ((!name || !value) && !r->err) r->err = xstrdup("serialized DAG: bad 'env' entry");
      t->env[i].name = xstrdup(name ? name : "");
      t->env[i].value = xstrdup(value ? value : "");
    }
  }
  t->cwd = get_str(r, o, "cwd", true);
  json_t *config = need(r, o, "config", JSON_OBJECT, true);
  t->config = config && json_is_object(config) ? json_deep_copy(config) : NULL;
  t->upstream = get_indexes(r, o, "upstream", n_tasks, &t->n_upstream);
  t->downstream = get_indexes(r, o, "downstream", n_tasks, &t->n_downstream);
  json_t *rule = need(r, o, "trigger_rule", JSON_STRING, false);
  if (rule && dag_trigger_rule_parse(json_string_value(rule), &t->trigger_rule) != 0 && !r->err)
    r->err = xasprintf("serialized DAG: unknown trigger_rule '%s'", json_string_value(rule));
  if (json_object_get(o, "queue")) t->queue = get_str(r, o, "queue", false);
  if (json_object_get(o, "outlets")) t->outlets = get_strs(r, o, "outlets", false, &t->n_outlets);
  json_t *codes = json_object_get(o, "skip_on_exit_code");
  if (codes) {
    size_t ci;
    json_t *c;
    if (!json_is_array(codes) && !r->err) r->err = xstrdup("serialized DAG: bad 'skip_on_exit_code'");
    json_array_foreach(codes, ci, c) {
      json_int_t v = json_integer_value(c);
      if (json_is_integer(c) && v >= 0 && v <= 255)
        dag_task_set_skip_exit(t, (int)v);
      else if (!r->err)
        r->err = xstrdup("serialized DAG: bad 'skip_on_exit_code'");
    }
  } else if (t->type != DAG_TASK_PLUGIN) {
    dag_task_set_skip_exit(t, DAG_SKIP_EXIT_DEFAULT);
  }
  json_t *xp = json_object_get(o, "xcom_push");
  if (xp && !(json_is_string(xp) && strcmp(json_string_value(xp), "last_line") == 0) &&
      !r->err)
    r->err = xstrdup("serialized DAG: bad 'xcom_push'");
  t->xcom_last_line = xp != NULL;
  t->branch = json_is_true(json_object_get(o, "branch"));
  t->short_circuit = json_is_true(json_object_get(o, "short_circuit"));
  t->ignore_downstream_trigger_rules =
      !json_is_false(json_object_get(o, "ignore_downstream_trigger_rules"));
  json_t *grp = json_object_get(o, "group");
  if (grp) {
    json_int_t g = json_is_integer(grp) ? json_integer_value(grp) : -1;
    if ((g < 0 || (size_t)g >= n_groups) && !r->err)
      r->err = xstrdup("serialized DAG: bad 'group' of a task");
    else
      t->group = (size_t)g + 1;
  }
  json_t *ex = json_object_get(o, "expand");
  if (ex && !json_is_array(ex) && !r->err) r->err = xstrdup("serialized DAG: bad 'expand'");
  if (json_is_array(ex) && json_array_size(ex)) {
    t->expand = xcalloc(json_array_size(ex), sizeof(*t->expand));
    size_t k;
    json_t *e;
    json_array_foreach(ex, k, e) {
      const char *name = json_string_value(json_object_get(e, "name"));
      json_t *list = json_object_get(e, "list");
      const char *tmpl = json_string_value(json_object_get(e, "template"));
      if (!name || !(json_is_array(list) || tmpl)) {
        if (!r->err) r->err = xstrdup("serialized DAG: bad 'expand'");
        break;
      }
      struct dag_expand *d = &t->expand[t->n_expand++];
      d->name = xstrdup(name);
      d->list = json_is_array(list) ? json_deep_copy(list) : NULL;
      d->tmpl = d->list ? NULL : xstrdup(tmpl);
    }
  }
  get_args(r, o, "args", &t->args);
  t->line = (int)get_int(r, o, "line");
  t->col = (int)get_int(r, o, "col");
}

static void get_schedule(struct rd *r, json_t *o, struct dag_schedule *s) {
  json_t *v = need(r, o, "schedule", JSON_OBJECT, false);
  if (!v) return;
  s->kind = (enum dag_schedule_kind)get_int(r, v, "kind");
  s->expr = get_str(r, v, "expr", true);
  s->interval_us = get_int(r, v, "interval_us");
  if (json_object_get(v, "datasets")) s->datasets = get_strs(r, v, "datasets", false, &s->n_datasets);
  json_t *c = need(r, v, "cron", JSON_OBJECT, false);
  if (!c) return;
  s->cron.minutes = (uint64_t)get_int(r, c, "minutes");
  s->cron.hours = (uint32_t)get_int(r, c, "hours");
  s->cron.days = (uint32_t)get_int(r, c, "days");
  s->cron.months = (uint16_t)get_int(r, c, "months");
  s->cron.weekdays = (uint8_t)get_int(r, c, "weekdays");
  s->cron.days_star = get_bool(r, c, "days_star");
  s->cron.weekdays_star = get_bool(r, c, "weekdays_star");
  s->cron.wall_clock = get_bool(r, c, "wall_clock");
}

int dag_deserialize(const char *text, struct dag **out, char **err) {
  *out = NULL;
  *err = NULL;
  json_error_t jerr;
  json_t *o = json_loads(text ? text : "", 0, &jerr);
  if (!json_is_object(o)) {
    *err = xasprintf("serialized DAG: not a JSON object (%s)", o ? "" : jerr.text);
    json_decref(o);
    return DAG_EINVAL;
  }
  struct rd r = {0};
  if (get_int(&r, o, "format") != DAG_SERIAL_FORMAT && !r.err)
    r.err = xasprintf("serialized DAG: format %lld, this dagctl reads format %d",
                      (long long)json_integer_value(json_object_get(o, "format")),
                      DAG_SERIAL_FORMAT);
  struct dag *dag = xcalloc(1, sizeof(*dag));
  dag->dag_id = get_str(&r, o, "dag_id", false);
  dag->file = get_str(&r, o, "file", true);
  dag->description = get_str(&r, o, "description", true);
  get_schedule(&r, o, &dag->schedule);
  dag->start_date = get_int(&r, o, "start_date");
  dag->end_date = get_int(&r, o, "end_date");
  dag->timezone = get_str(&r, o, "timezone", true);
  dag->catchup = get_bool(&r, o, "catchup");
  dag->max_active_runs = (int)get_int(&r, o, "max_active_runs");
  dag->max_active_tasks = (int)get_int(&r, o, "max_active_tasks");
  /* Absent from versions stored before it existed. */
  json_t *drt = json_object_get(o, "dagrun_timeout_us");
  dag->dagrun_timeout_us = json_is_integer(drt) ? (int64_t)json_integer_value(drt) : 0;
  /* Absent too from older versions, and when the DAG has none. */
  json_t *dl = json_object_get(o, "deadline");
  const char *after = json_string_value(json_object_get(dl, "after"));
  json_t *within = json_object_get(dl, "within_us");
  if (after && json_is_integer(within) && json_integer_value(within) > 0) {
    for (int k = DAG_DEADLINE_LOGICAL_DATE; k <= DAG_DEADLINE_QUEUED_AT; k++)
      if (strcmp(after, dag_deadline_ref_name((enum dag_deadline_ref)k)) == 0)
        dag->deadline_after = (enum dag_deadline_ref)k;
    if (dag->deadline_after != DAG_DEADLINE_NONE)
      dag->deadline_within_us = (int64_t)json_integer_value(within);
  }
  dag->is_paused_upon_creation = get_bool(&r, o, "is_paused_upon_creation");
  dag->tags = get_strs(&r, o, "tags", false, &dag->n_tags);
  /* Absent from older versions, and when the DAG has no targets. */
  json_t *nt = json_object_get(o, "notify");
  if (json_is_object(nt)) {
    dag->notify_email = get_strs(&r, nt, "email", false, &dag->n_notify_email);
    json_t *hooks = need(&r, nt, "webhooks", JSON_ARRAY, false);
    size_t hi;
    json_t *h;
    json_array_foreach(hooks, hi, h) {
      const char *f = json_string_value(json_object_get(h, "format"));
      const char *c = json_string_value(json_object_get(h, "url_connection"));
      if (!f || !c) continue;
      dag->notify_hooks =
          xrealloc(dag->notify_hooks, (dag->n_notify_hooks + 1) * sizeof(*dag->notify_hooks));
      dag->notify_hooks[dag->n_notify_hooks++] =
          (struct dag_notify_hook){.format = xstrdup(f), .url_connection = xstrdup(c)};
    }
  }
  json_t *params = need(&r, o, "params", JSON_OBJECT, false);
  dag->params = params ? json_deep_copy(params) : json_object();
  json_t *schema = json_object_get(o, "params_schema");
  dag->params_schema = json_is_object(schema) ? json_deep_copy(schema) : NULL;
  get_args(&r, o, "default_args", &dag->default_args);
  /* Groups first: tasks name them by index. Each group's parent comes
   * before it. */
  json_t *groups = json_object_get(o, "groups");
  if (groups && !json_is_array(groups) && !r.err) r.err = xstrdup("serialized DAG: bad 'groups'");
  size_t ng = json_array_size(groups);
  if (ng) {
    dag->groups = xcalloc(ng, sizeof(*dag->groups));
    dag->n_groups = ng;
    for (size_t i = 0; i < ng; i++) {
      json_t *jg = json_array_get(groups, i);
      struct dag_group *g = &dag->groups[i];
      if (!json_is_object(jg)) {
        if (!r.err) r.err = xstrdup("serialized DAG: a group is not an object");
        continue;
      }
      g->id = get_str(&r, jg, "id", false);
      g->label = get_str(&r, jg, "label", false);
      g->tooltip = get_str(&r, jg, "tooltip", false);
      g->prefix_group_id = get_bool(&r, jg, "prefix_group_id");
      g->line = (int)get_int(&r, jg, "line");
      g->col = (int)get_int(&r, jg, "col");
      json_t *par = json_object_get(jg, "parent");
      if (par) {
        json_int_t pi = json_is_integer(par) ? json_integer_value(par) : -1;
        if ((pi < 0 || (size_t)pi >= i) && !r.err)
          r.err = xstrdup("serialized DAG: bad 'parent' of a group");
        else
          g->parent = (size_t)pi + 1;
      }
    }
  }
  get_callbacks(&r, o, dag->on);
  json_t *tasks = need(&r, o, "tasks", JSON_ARRAY, false);
  if (tasks) {
    size_t n = json_array_size(tasks);
    dag->tasks = xcalloc(n ? n : 1, sizeof(*dag->tasks));
    dag->n_tasks = n; /* before filling: dag_free() frees what was filled */
    for (size_t i = 0; i < n; i++) get_task(&r, json_array_get(tasks, i), n, ng, &dag->tasks[i]);
  }
  size_t n_topo = 0;
  dag->topo = get_indexes(&r, o, "topo", dag->n_tasks, &n_topo);
  if (!r.err && n_topo != dag->n_tasks) r.err = xstrdup("serialized DAG: 'topo' misses tasks");
  json_decref(o);
  if (r.err) {
    dag_free(dag);
    *err = r.err;
    return DAG_EINVAL;
  }
  *out = dag;
  return 0;
}
