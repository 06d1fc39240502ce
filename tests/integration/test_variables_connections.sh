#!/usr/bin/env bash
# Variables and connections from the command line: set, get, list, delete,
# import and export of variables; connections added from a URI (read from
# standard input too) and from fields; secrets refused without
# core.secret_key (the message says how to set one), sealed in the database
# (never in clear in dagctl.db), shown as *** by list and get, opened with
# the right key only; each change in the audit log.
. "$(dirname "$0")/lib.sh"

# --- without a key: plain values work, secrets are refused ---------------------------------
dagctl variables set bucket raw-data --description "where files land" >/dev/null
assert_eq "$(dagctl variables get bucket)" raw-data "get a plain variable"
if dagctl variables set db_password hunter2-var 2>"$TMP/err"; then fail "a secret stored without a key"; fi
grep -q 'DAGCTL__CORE__SECRET_KEY' "$TMP/err" || fail "no hint for the key: $(cat "$TMP/err")"
if printf 'postgresql://etl:pw-7731@db/wh\n' | dagctl connections add wh --conn-uri - 2>"$TMP/err"; then
  fail "a connection password stored without a key"
fi
grep -q 'core.secret_key' "$TMP/err" || fail "no hint for the key: $(cat "$TMP/err")"
assert_eq "$(sql "SELECT count(*) FROM connection")" 0 "nothing stored"

# --- with a key -----------------------------------------------------------------------------
head -c 32 /dev/urandom | base64 >"$DAGCTL_HOME/secret_key"
printf '  secret_key_file: %s\n' "$DAGCTL_HOME/secret_key" >>"$DAGCTL_HOME/dagctl.yaml"
dagctl variables set db_password hunter2-var >/dev/null
assert_eq "$(dagctl variables get db_password)" hunter2-var "get opens a secret"
sql "SELECT val FROM variable" | grep -q hunter2 && fail "a secret variable in clear in the database"
dagctl variables list >"$TMP/list"
grep -q hunter2 "$TMP/list" && fail "list shows a secret: $(cat "$TMP/list")"
grep -Eq '^db_password +\*\*\* *$' "$TMP/list" || fail "list: $(cat "$TMP/list")"
grep -Eq '^bucket +raw-data +where files land$' "$TMP/list" || fail "list: $(cat "$TMP/list")"
assert_eq "$(dagctl variables list --json | pyjson '[v["value"] for v in d]' | tr '\n' ' ')" \
  "raw-data *** " "list --json"

# Connections: a URI from standard input, and fields.
printf 'postgresql://etl:pw-7731@db.example:5432/wh?sslmode=require\n' |
  dagctl connections add wh --conn-uri - --conn-description "the warehouse" >/dev/null
if dagctl connections add wh --conn-uri 'http://x' 2>"$TMP/err"; then fail "a taken name"; fi
grep -q 'already exists' "$TMP/err" || fail "taken: $(cat "$TMP/err")"
printf 'api-pw-4242\n' | dagctl connections add api --conn-type http --conn-host api.example \
  --conn-port 8443 --conn-login bot --conn-password-stdin \
  --conn-extra '{"api_key": "k-90909", "timeout": "5"}' >/dev/null
sql "SELECT coalesce(password, '') || coalesce(extra, '') FROM connection" |
  grep -Eq 'pw-7731|api-pw-4242|k-90909' && fail "a connection secret in clear in the database"
dagctl connections get wh --json >"$TMP/wh"
assert_eq "$(pyjson '[d["conn_type"], d["host"], d["port"], d["login"], d["schema"], d["password"], d["extra"], d["description"]]' <"$TMP/wh" | tr '\n' ' ')" \
  'postgres db.example 5432 etl wh *** {"sslmode":"require"} the warehouse ' "connections get --json"
dagctl connections get api >"$TMP/api"
grep -Eq 'pw-|k-90909' "$TMP/api" && fail "get shows a secret: $(cat "$TMP/api")"
grep -q '"api_key":"\*\*\*"' "$TMP/api" || fail "get: $(cat "$TMP/api")"
assert_eq "$(dagctl connections list --json | pyjson '[c["connection_id"] for c in d]' | tr '\n' ' ')" \
  "api wh " "connections list"
if dagctl connections add bad --conn-uri 'postgresql://h:70000/db' 2>"$TMP/err"; then fail "a bad port"; fi
grep -q 'port must be a number' "$TMP/err" || fail "bad port: $(cat "$TMP/err")"
if dagctl connections add 'a b' --conn-type http 2>"$TMP/err"; then fail "a bad name"; fi

# Another key opens nothing, and says why.
cp "$DAGCTL_HOME/secret_key" "$TMP/key.saved"
echo "another-key-0123456789abcdef" >"$DAGCTL_HOME/secret_key"
if dagctl variables get db_password 2>"$TMP/err"; then fail "a secret opened with another key"; fi
grep -q 'another key' "$TMP/err" || fail "wrong key: $(cat "$TMP/err")"
cp "$TMP/key.saved" "$DAGCTL_HOME/secret_key"

# Export and import, all or nothing.
dagctl variables export "$TMP/vars.json" >/dev/null
assert_eq "$(stat -c %a "$TMP/vars.json")" 600 "the export file's mode"
assert_eq "$(pyjson 'd["db_password"]' <"$TMP/vars.json")" hunter2-var "export"
printf '{"a_token": "t-1234", "n": 5, "obj": {"x": 1}}\n' >"$TMP/in.json"
dagctl variables import "$TMP/in.json" >/dev/null
assert_eq "$(dagctl variables get n)" 5 "an imported number"
assert_eq "$(dagctl variables get obj)" '{"x":1}' "an imported object"
printf '{"ok": "1", "bad name": "2"}\n' >"$TMP/bad.json"
if dagctl variables import "$TMP/bad.json" 2>"$TMP/err"; then fail "a bad import"; fi
grep -q "variable 'bad name'" "$TMP/err" || fail "bad import: $(cat "$TMP/err")"
if dagctl variables get ok 2>/dev/null; then fail "half an import"; fi

dagctl variables delete bucket >/dev/null
if dagctl variables get bucket 2>/dev/null; then fail "a deleted variable"; fi
assert_eq "$(dagctl variables delete bucket 2>/dev/null; echo $?)" 3 "delete a missing variable"
dagctl connections delete api >/dev/null
assert_eq "$(dagctl connections get api 2>/dev/null; echo $?)" 3 "a deleted connection"

# Every change, and the refused ones, in the audit log.
assert_eq "$(dagctl audit --json | pyjson '[e["event"] + ":" + e["outcome"] for e in d]' | tr '\n' ' ')" \
  "variable.set:success variable.set:failure connection.add:failure variable.set:success connection.add:success connection.add:failure connection.add:success variable.import:success variable.delete:success variable.delete:failure connection.delete:success " \
  "audit entries"
log "ok"
