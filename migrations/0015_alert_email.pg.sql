-- 0015_alert_email: the outbox also carries the mails of email tasks (kind
-- 'email'), with their Cc recipients (cc: a JSON array of addresses, NULL
-- for alerts). PostgreSQL changes the CHECK in place.
ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check
  CHECK (kind IN ('task_failed', 'task_retry', 'run_failed', 'email'));
ALTER TABLE alert ADD COLUMN cc TEXT;
