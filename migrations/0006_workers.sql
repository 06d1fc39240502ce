-- 0006_workers: tries queued for `dagctl worker` processes (core.executor:
-- workers), and the workers themselves.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

-- One row per try the scheduler queued: the way in to a worker (queued,
-- then running once claimed) and the way back (done, with how the try
-- ended; recorded once the scheduler has recorded that end in the same
-- transaction). Kept afterwards: it says which worker ran the try.
-- A worker's every write carries the random token it drew when it claimed
-- the row; a row taken from it (its worker went silent) has another token
-- or none, so a late write from it changes nothing.
CREATE TABLE task_claim (
  id          INTEGER PRIMARY KEY,
  run_pk      INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id     TEXT NOT NULL,
  try_number  INTEGER NOT NULL,
  queue       TEXT NOT NULL,               -- the task's queue: key, 'default'
  task_type   TEXT NOT NULL,               -- shell, exec or a plugin type
  log_path    TEXT NOT NULL,               -- relative to DAGCTL_HOME/logs
  state       TEXT NOT NULL DEFAULT 'queued'
              CHECK (state IN ('queued', 'running', 'done', 'recorded')),
  queued_at   INTEGER NOT NULL,
  worker_id   TEXT,                        -- NULL until claimed
  token       TEXT,                        -- the claimer's; NULL once taken from it
  claimed_at  INTEGER,
  heartbeat_at INTEGER,
  -- How the try ended (state done): as the executor reports a process.
  exit_status INTEGER,                     -- -1: a signal ended it
  term_signal INTEGER,
  timed_out   INTEGER,
  lost        TEXT,                        -- why the try ended without an outcome
  ended_at    INTEGER,
  UNIQUE (run_pk, task_id, try_number)
);
CREATE INDEX task_claim_queued ON task_claim (queue, id) WHERE state = 'queued';
CREATE INDEX task_claim_done ON task_claim (id) WHERE state = 'done';
CREATE INDEX task_claim_worker ON task_claim (worker_id) WHERE state = 'running';

-- Every `dagctl worker` that has run: what it takes and when it last spoke.
CREATE TABLE worker (
  id             TEXT PRIMARY KEY,         -- drawn at start: host:pid:random
  host           TEXT NOT NULL,
  queues         TEXT NOT NULL,            -- JSON array
  task_types     TEXT NOT NULL,            -- JSON array: what it can run
  concurrency    INTEGER NOT NULL,
  running        INTEGER NOT NULL DEFAULT 0,
  state          TEXT NOT NULL DEFAULT 'active'
                 CHECK (state IN ('active', 'stopped', 'gone')),
  started_at     INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL
);
