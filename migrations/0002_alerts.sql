-- 0002_alerts: the email outbox.
-- An alert row is written in the same transaction as the state change that
-- causes it, so a crash can neither lose an alert nor invent one; a sender
-- works through the queued rows later, off the scheduling path.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

CREATE TABLE alert (
  id              INTEGER PRIMARY KEY,
  created_at      INTEGER NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('task_failed', 'task_retry', 'run_failed')),
  dag_id          TEXT NOT NULL,
  run_id          TEXT NOT NULL,
  task_id         TEXT,                          -- NULL for run_failed
  try_number      INTEGER,                       -- NULL for run_failed
  recipients      TEXT NOT NULL DEFAULT '[]',    -- JSON array; [] means smtp.to at send time
  subject         TEXT NOT NULL,                 -- UTF-8, unencoded
  body            TEXT NOT NULL,                 -- UTF-8 text, LF line ends, secrets masked
  state           TEXT NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,              -- meaningful while queued
  last_error      TEXT,                          -- the server's reply or why it was not reached
  sent_at         INTEGER
);
-- The sender asks for the earliest due alert; only queued rows matter.
CREATE INDEX alert_due ON alert (next_attempt_at, id) WHERE state = 'queued';

-- The final outcome per recipient, so that a retry goes only to the
-- recipients still pending and a rejected address is kept with its reply.
CREATE TABLE alert_recipient (
  alert_id   INTEGER NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
  address    TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('sent', 'rejected')),
  reply      TEXT,                               -- the server's reply, e.g. "550 5.1.1 ..."
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (alert_id, address)
) WITHOUT ROWID;
