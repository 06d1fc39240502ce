-- 0014_backfill: backfills (Airflow 3's backfill table), and the run types
-- of Airflow's DagRunType that dagctl did not yet allow.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

-- SQLite cannot alter a CHECK constraint; loosening one (more run types,
-- no row made invalid) is the edit of the table's stored text that its
-- ALTER TABLE documentation describes. The CREATE TABLE below bumps the
-- schema version, so every other connection reads the new text.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'run_type IN (''scheduled'', ''manual'', ''test'')',
                     'run_type IN (''scheduled'', ''manual'', ''test'', ''backfill'', ''dataset_triggered'')')
 WHERE type = 'table' AND name = 'dag_run';
PRAGMA writable_schema = RESET;

CREATE TABLE backfill (
  id                 INTEGER PRIMARY KEY,
  dag_id             TEXT NOT NULL,
  from_date          INTEGER NOT NULL,           -- logical dates from (inclusive)
  to_date            INTEGER NOT NULL,           -- ... to (inclusive)
  dag_run_conf       TEXT NOT NULL DEFAULT '{}',
  reprocess_behavior TEXT NOT NULL CHECK (reprocess_behavior IN ('none', 'failed', 'completed')),
  max_active_runs    INTEGER NOT NULL,
  is_paused          INTEGER NOT NULL DEFAULT 0,
  -- The logical date from which the next interval is looked for; NULL once
  -- every interval up to to_date has been considered. Only this is kept of
  -- the plan: runs are created a few at a time, however long the range.
  cursor_date        INTEGER,
  runs_created       INTEGER NOT NULL DEFAULT 0, -- new runs, and existing runs cleared to run again
  runs_skipped       INTEGER NOT NULL DEFAULT 0, -- intervals left as they were
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  completed_at       INTEGER,                    -- every run done, or cancelled
  cancelled          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX backfill_active ON backfill (dag_id) WHERE completed_at IS NULL;

ALTER TABLE dag_run ADD COLUMN backfill_id BIGINT REFERENCES backfill (id);
CREATE INDEX dag_run_backfill ON dag_run (backfill_id, state) WHERE backfill_id IS NOT NULL;
