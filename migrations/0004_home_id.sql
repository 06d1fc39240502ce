-- 0004_home_id: a random id for this database, drawn once when it is
-- created (or upgraded to this version). Every task try carries it in
-- DAGCTL_TRY_ID, so that start-up recovery, which finds task processes by
-- that variable, never touches the tasks of another DAGCTL_HOME.

CREATE TABLE home (
  id TEXT NOT NULL                      -- 32 hex digits
);
INSERT INTO home (id) VALUES (lower(hex(randomblob(16))));
