-- 0019_run_delete: a run asked to be deleted while it is queued or running
-- (`dagctl delete`, DELETE .../dagRuns/{run_id}): the scheduler stops its
-- tasks, then deletes it. NULL for every other run; else when it was asked
-- (microseconds since the Unix epoch, UTC).
ALTER TABLE dag_run ADD COLUMN delete_requested_at BIGINT;
