-- 0007_schedulers: several schedulers on one database (PostgreSQL with
-- core.executor: workers), all active. Each drives the runs it owns; a
-- scheduler that stops heartbeating is declared gone by another, which
-- frees its runs for the others to take over.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

CREATE TABLE scheduler (
  id             TEXT PRIMARY KEY,          -- drawn at start: host:pid:random
  host           TEXT NOT NULL,
  state          TEXT NOT NULL DEFAULT 'active'
                 CHECK (state IN ('active', 'stopped', 'gone')),
  started_at     INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL,
  events_seen    INTEGER NOT NULL DEFAULT 0 -- scheduler_event rows read up to here
);

-- The scheduler driving the run; NULL: none yet (triggered, or freed by a
-- scheduler that stopped or went silent). Only that scheduler starts its
-- tasks.
ALTER TABLE dag_run ADD COLUMN scheduler_id TEXT;
