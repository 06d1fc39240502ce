# pg_lib.sh - a private PostgreSQL server for an integration test (source it
# after lib.sh).
#
# start_pg starts Debian's PostgreSQL (initdb and pg_ctl on PATH or under
# /usr/lib/postgresql/N/bin) in $TMP/pg, listening on a Unix socket there
# only, as the postgres user when the test runs as root (the server refuses
# root), and stops it when the test exits. It sets PG_DIR (the socket's
# folder) and PG_BIN; psql_as USER DB SQL runs SQL there. PostgreSQL is
# required (.ci/install-deps.sh test installs it): without it the test fails.

PG_DIR=
PG_BIN=

start_pg() {
  local d
  PG_BIN=
  for d in "" /usr/lib/postgresql/*/bin/; do
    if [ -z "$d" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
      PG_BIN=" "
      break
    fi
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then PG_BIN=$d; break; fi
  done
  [ -n "$PG_BIN" ] || need initdb pg_ctl # fails: neither on PATH nor in /usr/lib/postgresql
  need psql
  PG_BIN=${PG_BIN# }
  PG_DIR=$TMP/pg
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || fail "running as root without a postgres user (the postgresql package creates it)"
    chown postgres "$PG_DIR"
    chmod 755 "$TMP"
  fi
  _as_pg "${PG_BIN}initdb" -D "$PG_DIR/data" -A trust -U postgres --locale=C -E UTF8 \
    >"$PG_DIR/initdb.log" 2>&1 || fail "initdb: $(tail -5 "$PG_DIR/initdb.log")"
  _as_pg "${PG_BIN}pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-k $PG_DIR -c listen_addresses= -c fsync=off" start >/dev/null || fail "pg_ctl start"
  # set +e: under errexit the (exit $rc) would end the trap before cleanup,
  # leaving every process of a failed test running.
  trap 'rc=$?; set +e; stop_pg; (exit $rc); cleanup' EXIT
}

_as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_pg() {
  [ -n "$PG_DIR" ] || return 0
  _as_pg "${PG_BIN}pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
}

# psql_as USER DB SQL: one statement's rows, unaligned, no headers.
psql_as() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U "$1" -d "$2" -c "$3"; }
