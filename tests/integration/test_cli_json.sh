#!/usr/bin/env bash
# --json on every verb that prints data. The verbs come from the verb table
# itself (`dagctl help --json`), not from a list here: a new verb must either
# print JSON and have a case below, or be one of the few that print no data
# (servers and the completion script); otherwise this test fails. Each case
# runs the verb with --json, parses its output (python3's json and jq) and
# checks the fields that scripts rely on.
. "$(dirname "$0")/lib.sh"
need jq

# The verbs that print no data: servers that log, and a shell script.
no_data="completion scheduler webserver worker"

write_dag jsondag <<EOF
dag_id: jsondag
default_args:
  email: ops@example.com
tasks:
  - {id: first, command: 'echo first-ran; printf "\377 not utf-8\n"'}
  - {id: second, command: 'echo second-ran; exit 3', upstream: first}
EOF
printf 'dag_id: broken\ntasks:\n  - id: a\n    command: echo a\n   upstream: b\n' >"$DAGCTL_DAGS/broken.yaml"

# A finished run without a scheduler: `test` records it like any run.
dagctl test jsondag --quiet >/dev/null 2>&1 || true
run=$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'jsondag'")
[ -n "$run" ] || fail "no run recorded by dagctl test"

# check NAME PY-EXPR CMD...: CMD exits 0 or 1 (a failed run or file is still
# data), its output is one JSON document (python3 -m json.tool and jq agree),
# and PY-EXPR over it (as d) is True.
declare -A covered=()
check() {
  local name=$1 expr=$2 rc=0
  shift 2
  covered[$name]=1
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" -le 1 ] || fail "$*: exit $rc: $(head -c 400 "$TMP/err")"
  "$PYTHON" -m json.tool <"$TMP/out" >/dev/null || fail "$*: not JSON: $(head -c 400 "$TMP/out")"
  jq -e . <"$TMP/out" >/dev/null || fail "$*: jq does not parse it"
  [ "$(pyjson "($expr)" <"$TMP/out")" = True ] ||
    fail "$*: expected $expr, got: $(head -c 600 "$TMP/out")"
}

check help 'all(set(v) >= {"name", "summary", "subcommands", "args", "flags", "json"} for v in d)' \
  dagctl help --json
check version 'd["version"].count(".") == 2' dagctl version --json
check validate 'd["ok"] is False and d["files"] == 2 and d["errors"] >= 1 and
  [r["ok"] for r in d["results"]] == [False, True] and
  d["results"][0]["errors"][0]["line"] > 0 and d["results"][0]["errors"][0]["column"] > 0 and
  d["results"][0]["errors"][0]["file"].endswith("broken.yaml") and
  d["results"][1]["dag_id"] == "jsondag" and d["results"][1]["tasks"] == 2' \
  dagctl validate --json
check validate 'd["ok"] is False and "no such file" in d["results"][0]["errors"][0]["message"]' \
  dagctl validate --json "$TMP/nowhere.yaml"
check test 'd["run"]["state"] == "failed" and d["run"]["run_type"] == "test" and
  [(t["task_id"], t["state"]) for t in d["task_instances"]] == [("first", "success"), ("second", "failed")]' \
  dagctl test jsondag --quiet --json
start_scheduler jsondag
check trigger 'd["dag_id"] == "jsondag" and d["dag_run_id"] == "by-json" and d["state"] in ("queued", "running")' \
  dagctl trigger jsondag --run-id by-json --json
# A failed run with an email set: its alerts wait in the outbox (no smtp.host).
assert_eq "$(wait_run jsondag by-json 10)" failed "run by-json"
wait_for '[ "$(sql "SELECT count(*) FROM alert")" -ge 1 ]' 5
check dags 'sorted(x["dag_id"] for x in d) == ["jsondag"] and "is_paused" in d[0]' \
  dagctl dags list --json
check dags 'd == {"dag_id": "jsondag", "is_paused": True}' dagctl dags pause jsondag --json
check dags 'd == {"dag_id": "jsondag", "is_paused": False}' dagctl dags unpause jsondag --json
check dags 'd[0]["version_number"] == 1 and len(d[0]["dag_hash"]) == 64' \
  dagctl dags versions jsondag --json
check dags 'd["version_number"] == 1 and "first-ran" in d["source_code"]' \
  dagctl dags source jsondag --json
check runs 'len(d) == 3 and {x["dag_id"] for x in d} == {"jsondag"} and
  sorted(x["state"] for x in d) == ["failed", "failed", "failed"]' dagctl runs --json
check tasks '[(t["task_id"], t["state"], t["try_number"]) for t in d] == [("first", "success", 1), ("second", "failed", 1)]' \
  dagctl tasks jsondag "$run" --json
check logs 'd["task_id"] == "first" and d["try_number"] == 1 and d["state"] == "success" and
  "first-ran" in d["content"] and "\ufffd not utf-8" in d["content"]' \
  dagctl logs jsondag "$run" first --json
check clear 'd["dag_run_id"] == "by-json" and d["cleared"] == 2 and d["task_id"] is None' \
  dagctl clear jsondag by-json --json
check mark 'd["dry_run"] is True and d["state"] == "success" and
  [x["task_id"] for x in d["task_instances"]] == ["second"]' \
  dagctl mark jsondag "$run" second --state success --dry-run --json
check plugins 'isinstance(d, list)' dagctl plugins --json
check config 'd["ok"] is True and d["problems"] == []' dagctl config check --json
check config 'any(s["section"] == "core" for s in d["settings"]) and "home" in d' \
  dagctl config show --json
check alerts 'len(d) >= 1 and all(a["dag_id"] == "jsondag" and a["state"] == "queued" for a in d)' \
  dagctl alerts --json
alert=$(dagctl alerts --json | jq '.[0].id')
check alerts "d == {'id': $alert, 'state': 'queued', 'smtp_configured': False}" \
  dagctl alerts retry "$alert" --json
check users 'd == {"username": "jo", "action": "add", "role": "viewer"}' \
  dagctl users add jo --role viewer --no-password --json
check users 'd == {"username": "jo", "action": "set-role", "role": "op"}' dagctl users set-role jo op --json
check users 'd == {"username": "jo", "action": "set-password"}' \
  dagctl users set-password jo --password-stdin --json <<<"a long enough password"
check users '[u["username"] for u in d] == ["jo"] and d[0]["has_password"] is True' dagctl users list --json
check tokens 'd["username"] == "jo" and d["token"].startswith("dagctl_") and d["expires_at"] is not None' \
  dagctl tokens create jo --expires 1d --json
token_id=$(dagctl tokens list --json | jq -r '.[0].id')
check tokens "d == {'id': '$token_id', 'revoked': True}" dagctl tokens revoke "$token_id" --json
check tokens 'len(d) == 1 and d[0]["revoked_at"] is not None' dagctl tokens list --user jo --json
check users 'd == {"username": "jo", "action": "delete"}' dagctl users delete jo --json
check audit '[e["event"] for e in d][-3:] == ["token.create", "token.revoke", "user.delete"]' \
  dagctl audit --json
check datasets 'd == []' dagctl datasets list --json
check variables 'd == {"key": "region", "action": "set"}' dagctl variables set region eu --json
check variables 'd["key"] == "region" and d["value"] == "eu" and d["is_encrypted"] is False' \
  dagctl variables get region --json
check variables '[v["key"] for v in d] == ["region"]' dagctl variables list --json
check variables "d == {'file': '$TMP/vars.json', 'exported': 1}" \
  dagctl variables export "$TMP/vars.json" --json
check variables "d == {'file': '$TMP/vars.json', 'imported': 1}" \
  dagctl variables import "$TMP/vars.json" --json
check variables 'd == {"key": "region", "action": "delete"}' dagctl variables delete region --json
check pools 'd == {"name": "etl", "action": "set"}' dagctl pools set etl 3 --json
check pools 'd["name"] == "etl" and d["slots"] == 3 and d["open_slots"] == 3' \
  dagctl pools get etl --json
check pools '[p["name"] for p in d] == ["default_pool", "etl"]' dagctl pools list --json
check pools "d == {'file': '$TMP/pools.json', 'exported': 2}" \
  dagctl pools export "$TMP/pools.json" --json
check pools "d == {'file': '$TMP/pools.json', 'imported': 2}" \
  dagctl pools import "$TMP/pools.json" --json
check pools 'd == {"name": "etl", "action": "delete"}' dagctl pools delete etl --json
check connections 'd == {"connection_id": "web", "action": "add"}' \
  dagctl connections add web --conn-uri http://example.com:8080 --json
check connections 'd["conn_type"] == "http" and d["port"] == 8080 and d["password"] is None' \
  dagctl connections get web --json
check connections '[c["connection_id"] for c in d] == ["web"]' dagctl connections list --json
check connections 'd == {"connection_id": "web", "action": "delete"}' \
  dagctl connections delete web --json
check export "d['file'] == '$TMP/run.bundle' and d['dag_run_id'] == '$run' and d['tries'] == 2" \
  dagctl export jsondag "$run" -o "$TMP/run.bundle" --json
check import "d['dag_id'] == 'jsondag' and d['dag_run_id'] == '$run' and d['state'] == 'failed'" \
  dagctl --home "$TMP/other-home" import "$TMP/run.bundle" --json
check delete 'd == {"dag_id": "jsondag", "dag_run_id": "'"$run"'", "deleted": True}' \
  dagctl delete jsondag "$run" --json
# Backfills: a DAG paused from the start, so no run comes between the checks.
write_dag bfjson <<EOF
dag_id: bfjson
schedule: "@daily"
start_date: "2024-01-01"
end_date: "2024-01-05"
is_paused_upon_creation: true
tasks:
  - {id: a, command: "true"}
EOF
wait_for "dagctl dags list --json | jq -e 'map(.dag_id) | index(\"bfjson\")'" 10
check backfill 'd["total_entries"] == 2 and [x["decision"] for x in d["backfills"]] == ["create", "create"]' \
  dagctl backfill bfjson --from 2024-01-01 --to 2024-01-02 --dry-run --json
check backfill 'd["dag_id"] == "bfjson" and d["reprocess_behavior"] == "none" and d["completed_at"] is None and
  d["from_date"].startswith("2024-01-01") and d["max_active_runs"] == 10' \
  dagctl backfill create bfjson --from 2024-01-01 --to 2024-01-02 --no-wait --json
bf=$(dagctl backfill list --json | jq '.[0].id')
check backfill 'd["is_paused"] is True' dagctl backfill pause "$bf" --json
check backfill 'd["is_paused"] is False' dagctl backfill unpause "$bf" --json
check backfill 'd["cancelled"] is True and d["completed_at"] is not None' dagctl backfill cancel "$bf" --json
check backfill 'len(d) == 1 and d[0]["id"] == '"$bf" dagctl backfill list --json
# A bad configuration is still an answer in JSON (exit 4, problems listed).
printf 'core:\n  no_such_key: 1\n' >"$TMP/bad.yaml"
rc=0
dagctl --config "$TMP/bad.yaml" config check --json >"$TMP/out" 2>/dev/null || rc=$?
assert_eq "$rc" 4 "config check of a bad file"
pyjson 'd["ok"] is False and d["problems"][0]["line"] == 2' <"$TMP/out" | grep -qx True ||
  fail "config check --json problems: $(cat "$TMP/out")"

# Every verb of the table: a data verb has a case above and says so in its
# flags; the others are the known few.
verbs=$(dagctl help --json)
for v in $(jq -r '.[].name' <<<"$verbs"); do
  is_json=$(jq -r --arg v "$v" '.[] | select(.name == $v) | .json' <<<"$verbs")
  if [ "$is_json" = true ]; then
    [ -n "${covered[$v]:-}" ] || fail "verb '$v' prints JSON but this test has no case for it"
    jq -e --arg v "$v" '.[] | select(.name == $v) | .flags | index("--json")' <<<"$verbs" \
      >/dev/null || fail "verb '$v' is marked json but lists no --json flag"
    dagctl "$v" --help | grep -q -- --json || fail "'dagctl $v --help' does not mention --json"
  else
    grep -qw -- "$v" <<<"$no_data" ||
      fail "verb '$v' has no --json; every verb that prints data needs one"
  fi
done
# Every subcommand of a data verb is covered too.
for sub in "dags list" "dags pause" "dags unpause" "dags versions" "dags source" \
  "config check" "config show" "alerts retry" "users list" "users add" "users delete" \
  "users set-password" "users set-role" "tokens create" "tokens list" "tokens revoke" \
  "variables set" "variables get" "variables list" "variables delete" "variables import" \
  "variables export" "connections add" "connections get" "connections list" \
  "connections delete" "pools set" "pools get" "pools list" "pools delete" "pools import" \
  "pools export" \
  "backfill create" "backfill list" "backfill cancel" "backfill pause" "backfill unpause" \
  "datasets list"; do
  jq -e --arg v "${sub% *}" --arg s "${sub#* }" \
    '.[] | select(.name == $v) | .subcommands | index($s)' <<<"$verbs" >/dev/null ||
    fail "subcommand '$sub' is not in the verb table"
done
for v in $(jq -r '.[] | select(.json) | .name' <<<"$verbs"); do
  for s in $(jq -r --arg v "$v" '.[] | select(.name == $v) | .subcommands[]' <<<"$verbs"); do
    case " dags list|dags pause|dags unpause|dags versions|dags source|config check|config show|alerts retry|users list|users add|users delete|users set-password|users set-role|tokens create|tokens list|tokens revoke|variables set|variables get|variables list|variables delete|variables import|variables export|connections add|connections get|connections list|connections delete|pools set|pools get|pools list|pools delete|pools import|pools export|backfill create|backfill list|backfill cancel|backfill pause|backfill unpause|datasets list " in
      *"$v $s"*) ;;
      *) fail "subcommand '$v $s' prints data but this test has no case for it" ;;
    esac
  done
done
log "ok"
