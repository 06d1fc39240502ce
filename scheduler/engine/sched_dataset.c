/* sched_dataset.c - DAGs triggered by data, Airflow 2.10's Datasets.
 *
 * A task that succeeds records an event on each dataset in its outlets,
 * in the transaction of its success (task_exit_work() in sched_run.c), so
 * a success and its events are one commit: never one without the other.
 * The store queues the dataset for every DAG scheduled on it, and each
 * such DAG loaded here gets a SCHEDULE work item, run after that commit.
 * There (dag_schedule() in scheduler.c) the consumer claims its queue:
 * once every dataset of its schedule has been updated since its last
 * dataset-triggered run, the claim deletes the queue's rows and a run of
 * type dataset_triggered is created in the same transaction. The rows are
 * locked while claimed (store_datasets.h), so with several schedulers on
 * one PostgreSQL database a satisfied set still makes exactly one run. A
 * schedule that also names a time (`timetable`) goes on making its
 * scheduled runs besides, as Airflow's DatasetOrTimeSchedule. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "runs.h"
#include "sched_int.h"
#include "store_datasets.h"

int sched_dataset_outlets(struct sched_ti *ti, dag_time_t now) {
  struct sched_run *r = ti->run;
  struct dag_scheduler *s = r->sd->s;
  const struct dag_task *t = &r->ref->dag->tasks[ti->idx];
  for (size_t i = 0; i < t->n_outlets; i++) {
    int queued = 0;
    int rc = dag_store_dataset_event(s->store, t->outlets[i], r->sd->dag_id, t->id, r->run_id,
                                     now, &queued);
    if (rc) return rc;
    LOG_INFO("dataset updated uri=%s dag=%s run=%s task=%s consumers_queued=%d", t->outlets[i],
             r->sd->dag_id, r->run_id, t->id, queued);
    if (queued == 0) continue;
    /* The consumers this scheduler has loaded look at their queue once
     * this transaction has committed. */
    for (size_t d = 0; d < s->n_dags; d++) {
      struct sched_dag *sd = s->dags[d];
      const struct dag *dag = sd->ref ? sd->ref->dag : NULL;
      for (size_t k = 0; dag && k < dag->schedule.n_datasets; k++)
        if (strcmp(dag->schedule.datasets[k], t->outlets[i]) == 0) {
          sched_post_dag(sd, SCHED_WORK_SCHEDULE);
          break;
        }
    }
  }
  return 0;
}

int sched_dataset_schedule(struct sched_dag *sd) {
  struct dag_scheduler *s = sd->s;
  const struct dag *dag = sd->ref->dag;
  struct dag_store_dataset_claim c;
  int rc = dag_store_dataset_claim(s->store, sd->dag_id, dag->schedule.datasets,
                                   dag->schedule.n_datasets, &c);
  if (rc || !c.ready) return rc;
  /* Airflow's DatasetTriggeredTimetable: the run's logical date is when it
   * is created; its data interval spans the updates it consumes. */
  dag_time_t now = sched_now(s);
  struct dag_interval interval = {.start = c.first, .end = c.last};
  struct dag_run_request req;
  memset(&req, 0, sizeof(req));
  req.type = DAG_RUN_TYPE_DATASET;
  req.logical_date = now;
  req.interval = &interval;
  int64_t pk = 0;
  char *err = NULL, *run_id = NULL;
  rc = dag_run_create(s->store, dag, &req, &pk, &run_id, &err);
  if (rc) {
    LOG_ERROR("cannot create dataset-triggered run dag=%s error=\"%s\"", sd->dag_id,
              err ? err : dag_store_errmsg(s->store));
    free(err);
    dag_store_dataset_claim_free(&c);
    return rc;
  }
  rc = dag_store_dataset_link_run(s->store, pk, &c);
  dag_store_dataset_claim_free(&c);
  if (rc == 0) {
    LOG_INFO("dataset-triggered run created dag=%s run=%s", sd->dag_id, run_id);
    rc = sched_run_load(s, sd, sd->ref, pk);
  }
  free(run_id);
  if (rc == 0) sched_post_dag(sd, SCHED_WORK_START_RUNS);
  return rc;
}

void sched_dataset_time_start(struct sched_dag *sd, dag_time_t now) {
  const struct dag *dag = sd->ref->dag;
  if (!dag->schedule.n_datasets || dag->schedule.kind == DAG_SCHEDULE_NONE || dag->catchup)
    return;
  /* A consumer's data is there once its producer says so; a run for the
   * time just past would check it before (e.g. a first start). */
  struct dag_interval past;
  if (dag_schedule_next(dag, NULL, now, &past) != 0 || past.end > now) return;
  sd->last = past;
  sd->has_last = true;
}
