-- 0001_init: DAGs, runs, task instances and their tries, import errors.
-- Times are INTEGER microseconds since the Unix epoch, UTC.
-- Names follow Airflow's metadata database where a concept is shared.

CREATE TABLE dag (
  dag_id            TEXT PRIMARY KEY,
  fileloc           TEXT NOT NULL,
  description       TEXT NOT NULL DEFAULT '',
  schedule_interval TEXT,                      -- as written; NULL: manual only
  timezone          TEXT NOT NULL DEFAULT 'UTC',
  tags              TEXT NOT NULL DEFAULT '[]', -- JSON array
  graph             TEXT NOT NULL DEFAULT '[]', -- JSON: [{task_id, type, upstream:[...]}]
  max_active_runs   INTEGER NOT NULL DEFAULT 16,
  max_active_tasks  INTEGER NOT NULL DEFAULT 16,
  is_paused         INTEGER NOT NULL DEFAULT 0,
  is_active         INTEGER NOT NULL DEFAULT 1, -- its file exists and loads
  last_parsed_time  INTEGER,
  next_dagrun       INTEGER,                    -- logical date of the next scheduled run
  next_dagrun_create_after INTEGER
);

CREATE TABLE dag_run (
  id                  INTEGER PRIMARY KEY,
  dag_id              TEXT NOT NULL,
  run_id              TEXT NOT NULL,
  run_type            TEXT NOT NULL CHECK (run_type IN ('scheduled', 'manual', 'test')),
  state               TEXT NOT NULL CHECK (state IN ('queued', 'running', 'success', 'failed')),
  logical_date        INTEGER NOT NULL,
  data_interval_start INTEGER NOT NULL,
  data_interval_end   INTEGER NOT NULL,
  conf                TEXT NOT NULL DEFAULT '{}',
  queued_at           INTEGER NOT NULL,
  start_date          INTEGER,
  end_date            INTEGER,
  UNIQUE (dag_id, run_id)
);
CREATE INDEX dag_run_dag_logical ON dag_run (dag_id, logical_date);
CREATE INDEX dag_run_active ON dag_run (state) WHERE state IN ('queued', 'running');

CREATE TABLE task_instance (
  run_pk        INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id       TEXT NOT NULL,
  state         TEXT NOT NULL DEFAULT 'none',
  try_number    INTEGER NOT NULL DEFAULT 0,  -- tries started so far
  max_tries     INTEGER NOT NULL DEFAULT 0,  -- retries allowed (Airflow's meaning)
  start_date    INTEGER,
  end_date      INTEGER,
  pid           INTEGER,
  pid_start     INTEGER,                     -- /proc start time, to tell a reused pid
  exit_code     INTEGER,
  next_retry_at INTEGER,
  error         TEXT,
  PRIMARY KEY (run_pk, task_id)
) WITHOUT ROWID;

-- One row per try, kept after the next try starts: logs, Gantt, retry spacing.
CREATE TABLE task_try (
  run_pk      INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id     TEXT NOT NULL,
  try_number  INTEGER NOT NULL,
  state       TEXT NOT NULL,
  start_date  INTEGER NOT NULL,
  end_date    INTEGER,
  pid         INTEGER,
  exit_code   INTEGER,
  error       TEXT,
  log_path    TEXT NOT NULL,                 -- relative to DAGCTL_HOME/logs
  PRIMARY KEY (run_pk, task_id, try_number)
) WITHOUT ROWID;

CREATE TABLE import_error (
  filename   TEXT PRIMARY KEY,
  timestamp  INTEGER NOT NULL,
  stacktrace TEXT NOT NULL                   -- every diagnostic, one per line
);

-- Changes made by other processes (trigger, clear, pause) that the scheduler
-- must act on. Written in the same transaction as the change; the scheduler
-- consumes rows in id order and deletes them.
CREATE TABLE scheduler_event (
  id     INTEGER PRIMARY KEY,
  kind   TEXT NOT NULL CHECK (kind IN ('run', 'dag')),
  dag_id TEXT NOT NULL,
  run_pk INTEGER
);
