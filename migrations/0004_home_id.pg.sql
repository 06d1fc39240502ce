-- 0004_home_id, PostgreSQL's text: SQLite's randomblob() and hex() are
-- gen_random_uuid() here, the same 32 random hex digits.

CREATE TABLE home (
  id TEXT NOT NULL                      -- 32 hex digits
);
INSERT INTO home (id) VALUES (replace(gen_random_uuid()::text, '-', ''));
