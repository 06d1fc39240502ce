/* apijson_dataset.c - datasets as Airflow's API shapes them
 * (apijson_dataset.h). */
#include "apijson_dataset.h"

#include "apijson.h"

static json_t *extra_json(const char *extra) {
  json_t *v = extra ? json_loads(extra, 0, NULL) : NULL;
  return json_is_object(v) ? v : (json_decref(v), json_object());
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

json_t *dag_api_dataset(const struct dag_store_dataset *d) {
  json_t *consumers = json_array(), *producers = json_array();
  for (size_t i = 0; i < d->n_consumers; i++) {
    const struct dag_store_dataset_ref *r = &d->consumers[i];
    json_array_append_new(consumers,
                          json_pack("{s:s, s:o, s:o}", "dag_id", r->dag_id, "created_at",
                                    dag_api_time(r->created_at), "updated_at",
                                    dag_api_time(r->updated_at)));
  }
  for (size_t i = 0; i < d->n_producers; i++) {
    const struct dag_store_dataset_ref *r = &d->producers[i];
    json_array_append_new(producers,
                          json_pack("{s:s, s:s, s:o, s:o}", "task_id", r->task_id, "dag_id",
                                    r->dag_id, "created_at", dag_api_time(r->created_at),
                                    "updated_at", dag_api_time(r->updated_at)));
  }
  return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)d->id, "uri",
                   d->uri, "extra", extra_json(d->extra), "created_at",
                   dag_api_time(d->created_at), "updated_at", dag_api_time(d->updated_at),
                   "consuming_dags", consumers, "producing_tasks", producers);
}

json_t *dag_api_dataset_event(const struct dag_store_dataset_event *e) {
  json_t *runs = json_array();
  for (size_t i = 0; i < e->n_runs; i++) {
    const struct dag_store_dataset_run *r = &e->runs[i];
    json_array_append_new(
        runs, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "run_id", r->run_id,
                        "dag_id", r->dag_id, "logical_date", dag_api_time(r->logical_date),
                        "start_date", dag_api_time(r->start_date), "end_date",
                        dag_api_time(r->end_date), "data_interval_start",
                        dag_api_time(r->interval_start), "data_interval_end",
                        dag_api_time(r->interval_end), "state", r->state));
  }
  return json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "id",
                   (json_int_t)e->id, "dataset_id", (json_int_t)e->dataset_id, "dataset_uri",
                   e->uri, "extra", extra_json(e->extra), "source_dag_id",
                   str_or_null(e->source_dag_id), "source_task_id",
                   str_or_null(e->source_task_id), "source_run_id",
                   str_or_null(e->source_run_id), "source_map_index",
                   (json_int_t)e->source_map_index, "created_dagruns", runs, "timestamp",
                   dag_api_time(e->timestamp));
}
