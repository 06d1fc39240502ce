-- 0023_pools: Airflow's pools. A pool is a named count of slots; a try
-- holds its task's pool_slots slots of its pool while it is queued or
-- running (the engine's sched_pool.c). default_pool always exists, with
-- Airflow's 128 slots. A task instance records the pool, slots and
-- effective priority weight of its latest try or wait, for the counts of
-- the pool list and for the API's task instances.

CREATE TABLE pool (
  id               INTEGER PRIMARY KEY,
  pool             TEXT NOT NULL UNIQUE,
  slots            INTEGER NOT NULL CHECK (slots >= 0),
  description      TEXT,
  include_deferred INTEGER NOT NULL DEFAULT 0 CHECK (include_deferred IN (0, 1))
);
INSERT INTO pool (pool, slots, description)
  VALUES ('default_pool', 128, 'Default pool');

ALTER TABLE task_instance ADD COLUMN pool TEXT;
ALTER TABLE task_instance ADD COLUMN pool_slots INTEGER NOT NULL DEFAULT 1;
ALTER TABLE task_instance ADD COLUMN priority_weight INTEGER;
CREATE INDEX task_instance_pool ON task_instance (pool, state);
