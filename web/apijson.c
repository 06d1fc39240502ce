/* apijson.c - Airflow REST API shaped JSON for DAGs, runs and tasks. */
#include "apijson.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "duration.h"
#include "sha256.h"
#include "store_backfill.h"
#include "store_pools.h"
#include "timeutil.h"

json_t *dag_api_time(dag_time_t t) {
  if (!t) return json_null();
  char buf[48];
  dag_time_iso(t, buf, sizeof(buf));
  return json_string(buf);
}

/* Airflow serialises a schedule as a typed object. */
static json_t *schedule_json(const char *expr) {
  if (!expr) return json_null();
  int64_t us;
  if (strncmp(expr, "every ", 6) == 0 && dag_duration_parse(expr + 6, &us) == 0) {
    int64_t secs = us / DAG_USEC_PER_SEC;
    return json_pack("{s:s, s:I, s:I, s:I}", "__type", "TimeDelta", "days",
                     (json_int_t)(secs / 86400), "seconds", (json_int_t)(secs % 86400),
                     "microseconds", (json_int_t)(us % DAG_USEC_PER_SEC));
  }
  return json_pack("{s:s, s:s}", "__type", "CronExpression", "value", expr);
}

static json_t *version_json(int number) {
  return number > 0 ? json_integer(number) : json_null();
}

/* Set `key` to `v` unless `o` has it already (takes the reference): fields
 * of Airflow's schemas that dagctl has no value of get their neutral value,
 * without hiding one a caller set. */
static void set_default(json_t *o, const char *key, json_t *v) {
  if (json_object_get(o, key))
    json_decref(v);
  else
    json_object_set_new(o, key, v);
}

json_t *dag_api_dag(const struct dag_store_dag *d, bool has_import_errors) {
  json_t *tags = json_array();
  json_t *raw = json_loads(d->tags ? d->tags : "[]", 0, NULL);
  size_t i;
  json_t *v;
  json_array_foreach(raw, i, v) json_array_append_new(tags, json_pack("{s:O}", "name", v));
  json_decref(raw);
  json_t *j = json_pack(
      "{s:s, s:s, s:s, s:o, s:s, s:o, s:b, s:b, s:b, s:i, s:i, s:o, s:o, s:o}", "dag_id",
      d->dag_id, "description", d->description ? d->description : "", "fileloc",
      d->fileloc ? d->fileloc : "", "schedule_interval", schedule_json(d->schedule),
      "timezone", d->timezone ? d->timezone : "UTC", "tags", tags, "is_paused", d->is_paused,
      "is_active", d->is_active, "has_import_errors", has_import_errors, "max_active_runs",
      d->max_active_runs, "max_active_tasks", d->max_active_tasks, "next_dagrun",
      dag_api_time(d->next_dagrun), "next_dagrun_create_after",
      dag_api_time(d->next_dagrun_create_after), "last_parsed_time",
      dag_api_time(d->last_parsed_time));
  /* The version the scheduler runs: the last good one, even while the
   * file has import errors. */
  json_object_set_new(j, "dag_version_number", version_json(d->dag_version_number));
  /* The rest of Airflow's DAG schema. file_token names the DAG's source
   * for GET /dagSources/{file_token}: the DAG id, which is no secret. */
  set_default(j, "dag_display_name", json_string(d->dag_id));
  set_default(j, "root_dag_id", json_null());
  set_default(j, "is_subdag", json_false());
  set_default(j, "last_pickled", json_null());
  set_default(j, "last_expired", json_null());
  set_default(j, "scheduler_lock", json_null());
  set_default(j, "pickle_id", json_null());
  set_default(j, "default_view", json_string("grid"));
  set_default(j, "file_token", json_string(d->dag_id));
  set_default(j, "owners", json_array());
  set_default(j, "timetable_description", d->schedule ? json_string(d->schedule) : json_null());
  set_default(j, "has_task_concurrency_limits", json_false());
  set_default(j, "next_dagrun_data_interval_start", json_null());
  set_default(j, "next_dagrun_data_interval_end", json_null());
  set_default(j, "max_consecutive_failed_dag_runs", json_integer(0));
  return j;
}

json_t *dag_api_run(const struct dag_store_run *r) {
  json_t *conf = json_loads(r->conf ? r->conf : "{}", 0, NULL);
  if (!conf) conf = json_object();
  json_t *j = json_pack(
      "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:b}", "dag_id",
      r->dag_id, "dag_run_id", r->run_id, "logical_date", dag_api_time(r->logical_date),
      "execution_date", dag_api_time(r->logical_date), "data_interval_start",
      dag_api_time(r->data_interval_start), "data_interval_end",
      dag_api_time(r->data_interval_end), "queued_at", dag_api_time(r->queued_at),
      "start_date", dag_api_time(r->start_date), "end_date", dag_api_time(r->end_date),
      "state", dag_run_state_name(r->state), "run_type", r->run_type, "conf", conf,
      "external_trigger",
      strcmp(r->run_type, "scheduled") != 0 && strcmp(r->run_type, "dataset_triggered") != 0);
  /* The version the run was created with and keeps (null: older runs). */
  json_object_set_new(j, "dag_version_number", version_json(r->dag_version_number));
  /* When the run was loaded from another home's bundle (null: made here). */
  json_object_set_new(j, "imported_at", dag_api_time(r->imported_at));
  set_default(j, "last_scheduling_decision", json_null());
  set_default(j, "note", json_null());
  return j;
}

void dag_api_run_links(json_t *run, const struct dag_store_run_link *links, size_t n) {
  json_t *by = json_null(), *triggered = json_array();
  for (size_t i = 0; i < n; i++) {
    const struct dag_store_run_link *l = &links[i];
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "dag_id", l->dag_id, "dag_run_id", l->run_id,
                          "task_id", l->task_id, "state", dag_run_state_name(l->state));
    if (l->triggered_by) {
      json_decref(by);
      by = o;
    } else {
      json_array_append_new(triggered, o);
    }
  }
  json_object_set_new(run, "triggered_by", by);
  json_object_set_new(run, "triggered", triggered);
}

json_t *dag_api_task_instance(const struct dag_store_run *r, const struct dag_store_ti *ti,
                              const char *operator_name) {
  json_t *duration = json_null();
  if (ti->start_date && ti->end_date)
    duration = json_real((double)(ti->end_date - ti->start_date) / 1e6);
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:i, s:i, s:o, s:s}", "task_id",
      ti->task_id, "dag_id", r->dag_id, "dag_run_id", r->run_id, "execution_date",
      dag_api_time(r->logical_date), "logical_date", dag_api_time(r->logical_date),
      "start_date", dag_api_time(ti->start_date), "end_date", dag_api_time(ti->end_date),
      "duration", duration, "state", dag_task_state_name(ti->state), "try_number",
      ti->try_number, "max_tries", ti->max_tries, "pid",
      ti->pid ? json_integer(ti->pid) : json_null(), "operator",
      operator_name ? operator_name : "");
  json_object_set_new(o, "map_index", json_integer(ti->map_index));
  json_object_set_new(o, "exit_code", ti->has_exit_code ? json_integer(ti->exit_code) : json_null());
  json_object_set_new(o, "error", ti->error ? json_string(ti->error) : json_null());
  json_object_set_new(o, "next_retry_at", dag_api_time(ti->next_retry_at));
  dag_api_usage(o, &ti->usage);
  /* The rest of Airflow's TaskInstance schema: no mapped tasks, triggers,
   * SLAs or notes in dagctl. */
  set_default(o, "task_display_name", json_string(ti->task_id));
  set_default(o, "map_index", json_integer(-1));
  set_default(o, "hostname", json_string(""));
  set_default(o, "unixname", json_string(""));
  /* A task instance never scheduled has no pool recorded: its task's
   * pool is then unknown here, and Airflow's default is shown. */
  set_default(o, "pool", json_string(ti->pool ? ti->pool : "default_pool"));
  set_default(o, "pool_slots", json_integer(ti->pool ? ti->pool_slots : 1));
  set_default(o, "queue", json_null());
  set_default(o, "priority_weight",
              ti->has_priority_weight ? json_integer(ti->priority_weight) : json_null());
  set_default(o, "queued_when", json_null());
  set_default(o, "executor", json_null());
  set_default(o, "executor_config", json_string("{}"));
  set_default(o, "sla_miss", json_null());
  set_default(o, "rendered_map_index", json_null());
  set_default(o, "rendered_fields", json_object());
  set_default(o, "trigger", json_null());
  set_default(o, "triggerer_job", json_null());
  set_default(o, "note", json_null());
  return o;
}

void dag_api_usage(json_t *o, const struct dag_store_usage *u) {
  /* Beside Airflow's fields: what the latest try cost, null when unknown. */
  bool k = u->known;
  json_object_set_new(o, "max_rss_bytes", k ? json_integer(u->max_rss_kb * 1024) : json_null());
  json_object_set_new(o, "cpu_user_seconds", k ? json_real((double)u->user_us / 1e6) : json_null());
  json_object_set_new(o, "cpu_system_seconds",
                      k ? json_real((double)u->sys_us / 1e6) : json_null());
  json_object_set_new(o, "wall_seconds", k ? json_real((double)u->wall_us / 1e6) : json_null());
}

int dag_api_import_error_id(const char *filename) {
  /* Airflow's ids are integers; dagctl keys import errors by file. The
   * first 31 bits of the name's SHA-256 stay the same for as long as the
   * file is broken, whatever else appears or goes. */
  char hex[DAG_SHA256_HEX_LEN + 1];
  dag_sha256_hex(filename, strlen(filename), hex);
  unsigned long id = 0;
  for (int i = 0; i < 8; i++)
    id = id * 16 + (unsigned long)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
  id &= 0x7fffffff;
  return id ? (int)id : 1;
}

json_t *dag_api_import_error(const struct dag_store_import_error *e) {
  int id = dag_api_import_error_id(e->filename);
  return json_pack("{s:i, s:s, s:o, s:s}", "import_error_id", id, "filename", e->filename,
                   "timestamp", dag_api_time(e->timestamp), "stack_trace", e->stacktrace);
}

static json_t *string_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

json_t *dag_api_event_log(const struct dag_audit_entry *e) {
  json_t *o = json_object();
  json_object_set_new(o, "event_log_id", json_integer(e->id));
  json_object_set_new(o, "when", dag_api_time(e->at));
  json_object_set_new(o, "dag_id", string_or_null(e->dag_id));
  json_object_set_new(o, "task_id", string_or_null(e->task_id));
  json_object_set_new(o, "run_id", string_or_null(e->run_id));
  /* dagctl has no mapped tasks, and an entry is about a change, not a try. */
  json_object_set_new(o, "map_index", json_null());
  json_object_set_new(o, "try_number", json_null());
  json_object_set_new(o, "event", json_string(e->event));
  json_object_set_new(o, "execution_date", json_null());
  json_object_set_new(o, "owner", string_or_null(e->username));
  json_object_set_new(o, "extra", string_or_null(e->extra));
  json_object_set_new(o, "client", json_string(e->client));
  json_object_set_new(o, "object", string_or_null(e->object));
  json_object_set_new(o, "outcome", json_string(e->outcome));
  return o;
}

json_t *dag_api_backfill(const struct dag_store_backfill *b) {
  json_t *conf = json_loads(b->dag_run_conf ? b->dag_run_conf : "{}", 0, NULL);
  if (!conf) conf = json_object();
  json_t *runs = json_object();
  for (int st = 0; st < DAG_RUN__COUNT; st++)
    json_object_set_new(runs, dag_run_state_name((enum dag_run_state)st),
                        json_integer(b->runs[st]));
  return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:b, s:s, s:i, s:o, s:o, s:o, s:b, s:I, s:I,"
                   " s:o}",
                   "id", (json_int_t)b->id, "dag_id", b->dag_id, "dag_display_name", b->dag_id,
                   "from_date", dag_api_time(b->from_date), "to_date", dag_api_time(b->to_date),
                   "dag_run_conf", conf, "is_paused", b->is_paused, "reprocess_behavior",
                   b->reprocess_behavior, "max_active_runs", b->max_active_runs, "created_at",
                   dag_api_time(b->created_at), "completed_at", dag_api_time(b->completed_at),
                   "updated_at", dag_api_time(b->updated_at), "cancelled", b->cancelled,
                   "runs_created", (json_int_t)b->runs_created, "runs_skipped",
                   (json_int_t)b->runs_skipped, "runs", runs);
}

char *dag_api_pool_wait(const struct dag_store_ti_pool *p) {
  if (!p || !p->waiting) return NULL;
  if (p->pool_missing) return xasprintf("pool %s does not exist", p->pool);
  return xasprintf("pool %s: %d of %d slots open, needs %d", p->pool,
                   p->pool_open < 0 ? 0 : p->pool_open, p->pool_total, p->pool_slots);
}

void dag_api_ti_pool(json_t *o, const struct dag_store_ti_pool *p) {
  char *why = dag_api_pool_wait(p);
  json_object_set_new(o, "waiting_for", why ? json_string(why) : json_null());
  free(why);
}
