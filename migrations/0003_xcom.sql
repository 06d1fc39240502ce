-- 0003_xcom: small values that tasks pass to their downstream tasks
-- (Airflow's XCom), readable in templates as {{ ti.xcom.TASK.KEY }}.

CREATE TABLE xcom (
  run_pk     INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id    TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,            -- JSON, at most 64 KiB
  timestamp  INTEGER NOT NULL,
  PRIMARY KEY (run_pk, task_id, key)
) WITHOUT ROWID;
