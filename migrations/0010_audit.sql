-- 0010_audit: every change, who made it and how it went. Written in the
-- transaction of the change itself (a failed change: in its own, after).
-- Times are INTEGER microseconds since the Unix epoch, UTC.

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  username  TEXT,                          -- NULL: nobody logged in
  client    TEXT NOT NULL,                 -- the address, or 'cli' for the command line
  event     TEXT NOT NULL,                 -- trigger, pause, clear, login, user.add, ...
  dag_id    TEXT,
  run_id    TEXT,
  task_id   TEXT,
  object    TEXT,                          -- another object: a user, a token id
  outcome   TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  extra     TEXT                           -- why a failure failed; never a secret
);
CREATE INDEX audit_log_at ON audit_log (at);

-- No interface changes or deletes entries; these refuse it to anything
-- else that opens the database through SQL.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
