-- 0012_variables_connections: Airflow's variables and connections, kept in
-- the state database. A secret (a connection's password, a variable whose
-- name looks secret, an extra holding a secret-looking key) is stored
-- sealed with core.secret_key (scheduler/core/secret.h) and its
-- is_encrypted flag set; everything else is stored as written.

CREATE TABLE variable (
  id           INTEGER PRIMARY KEY,
  key          TEXT NOT NULL UNIQUE,
  val          TEXT NOT NULL,
  description  TEXT,
  is_encrypted INTEGER NOT NULL DEFAULT 0 CHECK (is_encrypted IN (0, 1))
);

CREATE TABLE connection (
  id                 INTEGER PRIMARY KEY,
  conn_id            TEXT NOT NULL UNIQUE,
  conn_type          TEXT NOT NULL,
  description        TEXT,
  host               TEXT,
  schema             TEXT,
  login              TEXT,
  password           TEXT,
  port               INTEGER,
  extra              TEXT,               -- JSON text of an object
  is_encrypted       INTEGER NOT NULL DEFAULT 0 CHECK (is_encrypted IN (0, 1)),
  is_extra_encrypted INTEGER NOT NULL DEFAULT 0 CHECK (is_extra_encrypted IN (0, 1))
);
