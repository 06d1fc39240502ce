-- 0013_run_trigger: which task of which run triggered a run (the
-- trigger_dag task type), so that the two runs link to each other and a
-- rescheduled trigger_dag task finds the run it triggered instead of
-- triggering another. One row per triggered run; none for runs made
-- otherwise. A table of its own rather than columns of dag_run: nothing
-- else reads it.
CREATE TABLE run_trigger (
  run_pk     INTEGER NOT NULL PRIMARY KEY REFERENCES dag_run (id) ON DELETE CASCADE,
  by_run_pk  INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  by_task_id TEXT NOT NULL
);
CREATE INDEX run_trigger_by ON run_trigger (by_run_pk, by_task_id);
