-- 0017_map_index: a task instance is (run, task, map_index), as Airflow's:
-- -1 for a task that is not mapped, 0..N-1 for the instances a mapped task
-- (expand:) makes at run time, each with its own tries, log and XComs.
-- Every row so far is a task's only instance: -1.
--
-- SQLite cannot change a primary key in place: each table is copied into
-- one with the new key, column for column (map_index last, where
-- PostgreSQL's ALTER TABLE ADD COLUMN puts it), and takes the old one's
-- name. Nothing references these tables, so dropping them cascades
-- nowhere.

CREATE TABLE task_instance_0017 (
  run_pk        INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id       TEXT NOT NULL,
  state         TEXT NOT NULL DEFAULT 'none',
  try_number    INTEGER NOT NULL DEFAULT 0,
  max_tries     INTEGER NOT NULL DEFAULT 0,
  start_date    INTEGER,
  end_date      INTEGER,
  pid           INTEGER,
  pid_start     INTEGER,
  exit_code     INTEGER,
  next_retry_at INTEGER,
  error         TEXT,
  map_index     INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (run_pk, task_id, map_index)
) WITHOUT ROWID;
INSERT INTO task_instance_0017 (run_pk, task_id, state, try_number, max_tries, start_date,
                                end_date, pid, pid_start, exit_code, next_retry_at, error)
  SELECT run_pk, task_id, state, try_number, max_tries, start_date, end_date, pid, pid_start,
         exit_code, next_retry_at, error FROM task_instance;
DROP TABLE task_instance;
ALTER TABLE task_instance_0017 RENAME TO task_instance;

CREATE TABLE task_try_0017 (
  run_pk        INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id       TEXT NOT NULL,
  try_number    INTEGER NOT NULL,
  state         TEXT NOT NULL,
  start_date    INTEGER NOT NULL,
  end_date      INTEGER,
  pid           INTEGER,
  exit_code     INTEGER,
  error         TEXT,
  log_path      TEXT NOT NULL,
  max_rss_kb    INTEGER,
  cpu_user_us   INTEGER,
  cpu_system_us INTEGER,
  wall_us       INTEGER,
  map_index     INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (run_pk, task_id, map_index, try_number)
) WITHOUT ROWID;
INSERT INTO task_try_0017 (run_pk, task_id, try_number, state, start_date, end_date, pid,
                           exit_code, error, log_path, max_rss_kb, cpu_user_us,
                           cpu_system_us, wall_us)
  SELECT run_pk, task_id, try_number, state, start_date, end_date, pid, exit_code, error,
         log_path, max_rss_kb, cpu_user_us, cpu_system_us, wall_us FROM task_try;
DROP TABLE task_try;
ALTER TABLE task_try_0017 RENAME TO task_try;

CREATE TABLE xcom_0017 (
  run_pk     INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id    TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  timestamp  INTEGER NOT NULL,
  map_index  INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (run_pk, task_id, map_index, key)
) WITHOUT ROWID;
INSERT INTO xcom_0017 (run_pk, task_id, key, value, timestamp)
  SELECT run_pk, task_id, key, value, timestamp FROM xcom;
DROP TABLE xcom;
ALTER TABLE xcom_0017 RENAME TO xcom;

-- task_claim keeps its ids (workers hold them) and its indexes.
CREATE TABLE task_claim_0017 (
  id          INTEGER PRIMARY KEY,
  run_pk      INTEGER NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
  task_id     TEXT NOT NULL,
  try_number  INTEGER NOT NULL,
  queue       TEXT NOT NULL,
  task_type   TEXT NOT NULL,
  log_path    TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'queued'
              CHECK (state IN ('queued', 'running', 'done', 'recorded')),
  queued_at   INTEGER NOT NULL,
  worker_id   TEXT,
  token       TEXT,
  claimed_at  INTEGER,
  heartbeat_at INTEGER,
  exit_status INTEGER,
  term_signal INTEGER,
  timed_out   INTEGER,
  lost        TEXT,
  ended_at    INTEGER,
  map_index   INTEGER NOT NULL DEFAULT -1,
  UNIQUE (run_pk, task_id, map_index, try_number)
);
INSERT INTO task_claim_0017 (id, run_pk, task_id, try_number, queue, task_type, log_path, state,
                             queued_at, worker_id, token, claimed_at, heartbeat_at,
                             exit_status, term_signal, timed_out, lost, ended_at)
  SELECT id, run_pk, task_id, try_number, queue, task_type, log_path, state, queued_at,
         worker_id, token, claimed_at, heartbeat_at, exit_status, term_signal, timed_out,
         lost, ended_at FROM task_claim;
DROP TABLE task_claim;
ALTER TABLE task_claim_0017 RENAME TO task_claim;
CREATE INDEX task_claim_queued ON task_claim (queue, id) WHERE state = 'queued';
CREATE INDEX task_claim_done ON task_claim (id) WHERE state = 'done';
CREATE INDEX task_claim_worker ON task_claim (worker_id) WHERE state = 'running';
