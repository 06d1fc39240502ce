-- 0021_log_archive: where a worker copied a finished try's log
-- (worker.remote_logging): the base folder, "s3://bucket/prefix" or a
-- folder, under which the log is at the claim's log_path. NULL until the
-- copy is done. The page and the CLI read it there once the worker is gone.
ALTER TABLE task_claim ADD COLUMN log_archive TEXT;
