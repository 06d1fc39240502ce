-- 0009_auth: users of the status page and API, and their API tokens.
-- Times are INTEGER microseconds since the Unix epoch, UTC.

-- A person (or a script's account). The password is an Argon2id string
-- (libsodium crypto_pwhash_str): salt and cost inside, never the password.
CREATE TABLE app_user (
  username      TEXT PRIMARY KEY,
  role          TEXT NOT NULL CHECK (role IN ('viewer', 'user', 'op', 'admin')),
  password_hash TEXT,                      -- NULL: tokens only, no login
  created_at    INTEGER NOT NULL,
  changed_at    INTEGER NOT NULL
);

-- API tokens, shown once at creation; only a keyed BLAKE2b hash of each is
-- kept. A token acts with its user's role at the time of the request, so a
-- changed role applies at once, and a deleted user's tokens go with it.
CREATE TABLE api_token (
  id          TEXT PRIMARY KEY,            -- short, public: to list and revoke
  username    TEXT NOT NULL REFERENCES app_user (username) ON DELETE CASCADE,
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER,                     -- NULL: never
  revoked_at  INTEGER                      -- NULL: in force
);
CREATE INDEX api_token_user ON api_token (username);
