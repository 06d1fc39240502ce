-- 0005_dag_version: every distinct content of each DAG, serialized, with the
-- file's text it was loaded from: Airflow's dag_version, serialized_dag and
-- dag_code in one row. A run records the version it was created with and
-- keeps that graph whatever happens to the file later; the CLI and the web
-- server read DAGs from here instead of parsing the files again.

CREATE TABLE dag_version (
  id             INTEGER PRIMARY KEY,
  dag_id         TEXT NOT NULL,
  version_number INTEGER NOT NULL,   -- 1, 2, ... per DAG, in order of creation
  dag_hash       TEXT NOT NULL,      -- SHA-256 of data: names the content
  data           TEXT NOT NULL,      -- the serialized DAG (scheduler/core/dag_serial.h)
  fileloc        TEXT NOT NULL,
  source_code    TEXT,               -- the file's text; NULL if never read with it
  created_at     INTEGER NOT NULL,
  UNIQUE (dag_id, version_number),
  UNIQUE (dag_id, dag_hash)
);

-- The DAG's latest good version: a file that breaks later leaves it in place.
ALTER TABLE dag ADD COLUMN dag_version_id INTEGER REFERENCES dag_version (id);
-- The version a run was created with (Airflow's created_dag_version_id);
-- NULL for runs created before this migration.
ALTER TABLE dag_run ADD COLUMN created_dag_version_id INTEGER REFERENCES dag_version (id);
