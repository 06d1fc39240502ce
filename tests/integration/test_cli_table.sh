#!/usr/bin/env bash
# Text tables and `dagctl runs` filters: columns as wide as their longest
# value (a long task id does not push its row's state out of column), colour
# only on a terminal (script(1) gives the verb one) and never with NO_COLOR
# or --no-color; `runs --state/--since/--dag/--limit`, and clear errors for
# bad values.
. "$(dirname "$0")/lib.sh"
need script

long=t_$(printf 'x%.0s' $(seq 1 60))
write_dag tabledag <<EOF
dag_id: tabledag
tasks:
  - {id: $long, command: echo long}
  - {id: b, command: 'exit 3', upstream: $long}
EOF
write_dag okdag <<EOF
dag_id: okdag
tasks:
  - {id: only, command: echo fine}
EOF
dagctl test tabledag --quiet >/dev/null 2>&1 || true
dagctl test okdag --quiet >/dev/null 2>&1
dagctl test okdag --quiet >/dev/null 2>&1
run=$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'tabledag'")

# --- columns ----------------------------------------------------------------
# aligned FILE COLUMN: every line has COLUMN's text starting where the
# header's does.
aligned() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import sys
lines = [l.rstrip("\r\n") for l in open(sys.argv[1], encoding="utf-8")]
col = lines[0].index(sys.argv[2])
for l in lines[1:]:
    assert l[col - 2:col] == "  " and l[col] != " ", "misaligned: %r (column at %d)" % (l, col)
EOF
}
dagctl tasks tabledag "$run" >"$TMP/out"
aligned "$TMP/out" STATE || fail "tasks table: $(cat "$TMP/out")"
grep -q "^$long  *success  *1/1" "$TMP/out" || fail "long task row: $(cat "$TMP/out")"
grep -q "^b  *failed  *1/1 .*exited with status 3$" "$TMP/out" || fail "b row: $(cat "$TMP/out")"
! grep -q ' $' "$TMP/out" || fail "a line ends in spaces: $(cat -A "$TMP/out")"
dagctl runs >"$TMP/out"
aligned "$TMP/out" STATE || fail "runs table: $(cat "$TMP/out")"
aligned "$TMP/out" VERSION || fail "runs table: $(cat "$TMP/out")"

# --- colour ------------------------------------------------------------------
esc=$'\033['
tty_run() { TERM=xterm script -qec "$1" /dev/null; }
tty_run "'$DAGCTL_BIN' tasks tabledag '$run'" >"$TMP/tty"
grep -qF "${esc}31mfailed${esc}0m" "$TMP/tty" || fail "no colour on a terminal: $(cat -v "$TMP/tty")"
grep -qF "${esc}32msuccess${esc}0m" "$TMP/tty" || fail "success not green: $(cat -v "$TMP/tty")"
# Colour codes take no column: the terminal table is aligned once they are gone.
sed "s/${esc//[/\\[}[0-9;]*m//g" "$TMP/tty" >"$TMP/plain"
aligned "$TMP/plain" STATE || fail "coloured table misaligned: $(cat -v "$TMP/tty")"
for how in "NO_COLOR=1 '$DAGCTL_BIN' tasks tabledag '$run'" \
  "'$DAGCTL_BIN' tasks tabledag '$run' --no-color" \
  "'$DAGCTL_BIN' --no-color tasks tabledag '$run'" \
  "TERM=dumb '$DAGCTL_BIN' tasks tabledag '$run'"; do
  tty_run "$how" >"$TMP/tty"
  grep -q "failed" "$TMP/tty" || fail "$how: no table: $(cat -v "$TMP/tty")"
  ! grep -qF "$esc" "$TMP/tty" || fail "$how: colour: $(cat -v "$TMP/tty")"
done
# NO_COLOR set but empty does not disable colour (https://no-color.org).
tty_run "NO_COLOR= '$DAGCTL_BIN' runs" >"$TMP/tty"
grep -qF "$esc" "$TMP/tty" || fail "NO_COLOR empty: no colour: $(cat -v "$TMP/tty")"
# Not a terminal: no colour.
dagctl tasks tabledag "$run" >"$TMP/out"
! grep -qF "$esc" "$TMP/out" || fail "colour into a pipe"

# --- runs filters --------------------------------------------------------------
# One okdag run moved three days back.
old=$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'okdag' ORDER BY id LIMIT 1")
ago=$(($(date +%s) - 3 * 86400))
sql "UPDATE dag_run SET queued_at = ${ago}000000, start_date = ${ago}000000,
     end_date = ${ago}000001 WHERE run_id = '$old'"
ids() { dagctl runs --json "$@" | pyjson '" ".join(sorted(x["dag_id"] + "/" + x["state"] for x in d))'; }
assert_eq "$(ids)" "okdag/success okdag/success tabledag/failed" "every run"
assert_eq "$(ids --state failed)" "tabledag/failed" "--state failed"
assert_eq "$(ids --state success --since 1d)" "okdag/success" "--state success --since 1d"
assert_eq "$(ids --since 4d)" "okdag/success okdag/success tabledag/failed" "--since 4d"
assert_eq "$(ids --since 2h30m --dag okdag)" "okdag/success" "--since 2h30m --dag okdag"
assert_eq "$(ids okdag)" "okdag/success okdag/success" "positional DAG"
assert_eq "$(ids --dag okdag --limit 1)" "okdag/success" "--limit 1"
two_days=$(date -u -d @$(($(date +%s) - 2 * 86400)) +%Y-%m-%d)
assert_eq "$(ids --since "$two_days")" "okdag/success tabledag/failed" "--since $two_days"
assert_eq "$(ids --since "${two_days}T00:00:00+02:00" --state success)" "okdag/success" "--since ISO time"
assert_eq "$(dagctl runs --json --since 2099-01-01)" "[]" "--since the future"
dagctl runs --state failed >"$TMP/out"
grep -q "^tabledag  *$run  *test  *failed" "$TMP/out" || fail "runs text: $(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" = 2 ] || fail "runs --state failed lines: $(cat "$TMP/out")"
# One DAG's runs: no DAG column.
dagctl runs okdag >"$TMP/out"
grep -q "^RUN ID  *TYPE  *STATE" "$TMP/out" || fail "runs okdag header: $(cat "$TMP/out")"
aligned "$TMP/out" STATE || fail "runs okdag table: $(cat "$TMP/out")"
assert_eq "$(dagctl runs --dag nosuchdag)" "(no runs match)" "no match"

# bad values: exit 2 and say what is wrong with which flag.
expect_usage() {
  local want=$1 rc=0
  shift
  dagctl runs "$@" >/dev/null 2>"$TMP/err" || rc=$?
  assert_eq "$rc" 2 "runs $*: exit status"
  grep -qF -- "$want" "$TMP/err" || fail "runs $*: $(cat "$TMP/err")"
}
expect_usage "--state: 'bogus' is not a run state (queued, running, success, failed)" --state bogus
expect_usage "--state: 'up_for_retry' is not a run state" --state up_for_retry
expect_usage "--since: '5x' is neither a duration (30m, 12h, 7d) nor an ISO-8601 date or time" --since 5x
expect_usage "--since: '2026-02-30' is neither a duration" --since 2026-02-30
expect_usage "day 30 does not exist" --since 2026-02-30
expect_usage "--limit: '0' is not a positive number" --limit 0
expect_usage "--dag: invalid DAG id '../x'" --dag ../x
expect_usage "two DAG ids: 'okdag' and --dag 'tabledag'" okdag --dag tabledag
expect_usage "expected at most one DAG id" okdag tabledag
rc=0
dagctl tasks tabledag "$run" --state failed >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "tasks --state"
grep -q "tasks takes no --state" "$TMP/err" || fail "tasks --state: $(cat "$TMP/err")"
log "ok"
