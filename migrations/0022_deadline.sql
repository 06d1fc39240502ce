-- 0022_deadline: a DAG's deadline (Airflow 3's DeadlineAlert). A row is
-- the claim that run_pk's deadline was missed and its alert queued, made in
-- the alert's own transaction: the primary key lets one scheduler only, once
-- only, claim it, across restarts and several schedulers. The outbox takes
-- the new kind 'deadline_missed'; SQLite cannot change a CHECK in place, so
-- both outbox tables are rebuilt as 0015 did (the recipients' first, so that
-- dropping the old alert table deletes no recipient row through its ON
-- DELETE CASCADE).
CREATE TABLE deadline (
  run_pk        INTEGER NOT NULL PRIMARY KEY REFERENCES dag_run (id) ON DELETE CASCADE,
  deadline_time INTEGER NOT NULL,
  missed_at     INTEGER NOT NULL
);

CREATE TABLE alert_new (
  id              INTEGER PRIMARY KEY,
  created_at      INTEGER NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('task_failed', 'task_retry', 'run_failed', 'email',
                                                'deadline_missed')),
  dag_id          TEXT NOT NULL,
  run_id          TEXT NOT NULL,
  task_id         TEXT,
  try_number      INTEGER,
  recipients      TEXT NOT NULL DEFAULT '[]',
  subject         TEXT NOT NULL,
  body            TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  sent_at         INTEGER,
  cc              TEXT,
  target          TEXT
);
INSERT INTO alert_new (id, created_at, kind, dag_id, run_id, task_id, try_number, recipients,
                       subject, body, state, attempts, next_attempt_at, last_error, sent_at, cc,
                       target)
  SELECT id, created_at, kind, dag_id, run_id, task_id, try_number, recipients, subject, body,
         state, attempts, next_attempt_at, last_error, sent_at, cc, target FROM alert;
CREATE TABLE alert_recipient_new (
  alert_id   INTEGER NOT NULL REFERENCES alert_new (id) ON DELETE CASCADE,
  address    TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('sent', 'rejected')),
  reply      TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (alert_id, address)
) WITHOUT ROWID;
INSERT INTO alert_recipient_new SELECT alert_id, address, state, reply, updated_at
  FROM alert_recipient;
DROP TABLE alert_recipient;
DROP TABLE alert;
-- Renaming alert_new also points alert_recipient_new's reference at it.
ALTER TABLE alert_new RENAME TO alert;
ALTER TABLE alert_recipient_new RENAME TO alert_recipient;
CREATE INDEX alert_due ON alert (next_attempt_at, id) WHERE state = 'queued';
