-- 0022_deadline, PostgreSQL's text: the same claim table (see the SQLite
-- variant); the outbox's kind check is replaced as a constraint.
CREATE TABLE deadline (
  run_pk        BIGINT NOT NULL PRIMARY KEY REFERENCES dag_run (id) ON DELETE CASCADE,
  deadline_time BIGINT NOT NULL,
  missed_at     BIGINT NOT NULL
);
ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check
  CHECK (kind IN ('task_failed', 'task_retry', 'run_failed', 'email', 'deadline_missed'));
