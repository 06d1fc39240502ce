#!/usr/bin/env bash
# Template values never reach a shell as syntax. A conf value shaped as a
# command, on the shipped example_etl DAG, must arrive in the task as text:
# no file is created, and the task's log shows the value literally. The
# params and conf also reach every task as environment variables.
. "$(dirname "$0")/lib.sh"
: "${DAGCTL_SOURCE_DIR:?}"
export DAGCTL_DAGS=$DAGCTL_SOURCE_DIR/dags

value='1 /dev/null; id > /tmp/pwned; #'
rm -f /tmp/pwned
[ ! -e /tmp/pwned ] || fail "/tmp/pwned exists and cannot be removed"

rc=0
dagctl test example_etl --quiet --conf '{"min_amount":"1 /dev/null; id > /tmp/pwned; #"}' \
  >"$TMP/test.out" 2>"$TMP/test.err" || rc=$?
run_id=$(tail -n 1 "$TMP/test.out")
if [ -e /tmp/pwned ]; then
  rm -f /tmp/pwned
  fail "the conf value ran as a command: /tmp/pwned was created"
fi
[ "$rc" -eq 0 ] || fail "dagctl test exited $rc: $(cat "$TMP/test.err")"
assert_eq "$(run_state example_etl "$run_id")" success "run state"
log=$(dagctl logs example_etl "$run_id" transform)
grep -qF "amount >= $value in" <<<"$log" ||
  fail "the value did not arrive literally in transform's log: $log"

# The same values as environment variables, for tasks that would rather not
# use templates at all; a param whose name is not a valid variable name is
# only in DAGCTL_PARAMS.
export DAGCTL_DAGS=$TMP/dags
write_dag envparams <<'YAML'
dag_id: envparams
params:
  greeting: hello
  count: 3
  bad-name: x
tasks:
  - id: show
    command: |
      printf 'greeting=%s\n' "$DAGCTL_PARAM_greeting"
      printf 'count=%s\n' "$DAGCTL_PARAM_count"
      printf 'extra=%s\n' "$DAGCTL_PARAM_extra"
      printf 'conf=%s\n' "$DAGCTL_CONF"
      printf 'params=%s\n' "$DAGCTL_PARAMS"
      env | grep -c '^DAGCTL_PARAM_bad' || true
      printf 'quoted=%s\n' {{ params.greeting }}
      printf 'raw=%s\n' {{ params.count | raw }}
YAML
run=$(dagctl test envparams --quiet --conf '{"greeting": "it'"'"'s $(id)", "extra": [1, 2]}')
out=$(dagctl logs envparams "$run" show)
grep -qxF 'greeting=it'"'"'s $(id)' <<<"$out" || fail "DAGCTL_PARAM_greeting: $out"
grep -qxF 'count=3' <<<"$out" || fail "DAGCTL_PARAM_count: $out"
grep -qxF 'extra=[1,2]' <<<"$out" || fail "DAGCTL_PARAM_extra: $out"
grep -qxF 'conf={"greeting":"it'"'"'s $(id)","extra":[1,2]}' <<<"$out" || fail "DAGCTL_CONF: $out"
params=$(sed -n 's/^params=//p' <<<"$out")
assert_eq "$(pyjson 'd["bad-name"] + " " + d["greeting"] + " " + str(d["count"])' <<<"$params")" \
  "x it's \$(id) 3" "DAGCTL_PARAMS"
grep -qx '0' <<<"$out" || fail "a DAGCTL_PARAM_ variable for an invalid name: $out"
grep -qxF 'quoted=it'"'"'s $(id)' <<<"$out" || fail "quoted template value: $out"
grep -qxF 'raw=3' <<<"$out" || fail "| raw: $out"
