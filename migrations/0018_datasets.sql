-- 0018_datasets: DAGs triggered by data, with Airflow 2.10's tables.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

-- dag_run.run_type 'dataset_triggered' came with 0014_backfill.

CREATE TABLE dataset (
  id          INTEGER PRIMARY KEY,
  uri         TEXT NOT NULL UNIQUE,
  extra       TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL             -- the row's, as Airflow's
);

-- One row per successful try of a task that lists the dataset in outlets.
CREATE TABLE dataset_event (
  id               INTEGER PRIMARY KEY,
  dataset_id       INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
  extra            TEXT NOT NULL DEFAULT '{}',
  source_dag_id    TEXT,
  source_task_id   TEXT,
  source_run_id    TEXT,
  source_map_index INTEGER NOT NULL DEFAULT -1,
  timestamp        INTEGER NOT NULL
);
CREATE INDEX dataset_event_dataset ON dataset_event (dataset_id, timestamp);

-- Which DAGs a dataset schedules, and which tasks update it: rewritten
-- each time the DAG's file is loaded.
CREATE TABLE dag_schedule_dataset_reference (
  dataset_id  INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
  dag_id      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, dag_id)
);
CREATE TABLE task_outlet_dataset_reference (
  dataset_id  INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
  dag_id      TEXT NOT NULL,
  task_id     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, dag_id, task_id)
);

-- A consumer's datasets updated since its last dataset-triggered run: one
-- row per (dataset, consumer), from the first event on. A run is created
-- when every dataset of the consumer has its row, which that run deletes.
CREATE TABLE dataset_dag_run_queue (
  dataset_id     INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
  target_dag_id  TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, target_dag_id)
);

-- The events a dataset-triggered run consumed.
CREATE TABLE dagrun_dataset_event (
  dag_run_id  INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  event_id    INTEGER NOT NULL REFERENCES dataset_event (id) ON DELETE CASCADE,
  PRIMARY KEY (dag_run_id, event_id)
);
CREATE INDEX dagrun_dataset_event_event ON dagrun_dataset_event (event_id);
