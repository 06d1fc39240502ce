#!/usr/bin/env bash
# Pools and priorities end to end, on the real scheduler and SQLite: a pool
# of 2 slots with 6 ready tasks starts the heaviest two first, then the
# rest by weight (ties: the first ready), the order read from the store; a
# task of pool_slots 2 in that pool runs alone; a task of a pool that does
# not exist waits, scheduled, and says why, until the pool is created;
# `dagctl pools`, `dagctl tasks` and the status page show the waits; /api/v1/pools (list,
# get, post, patch, delete) answers with Airflow 2.10's Pool schema
# (tests/data/airflow/v1_schemas.json), default_pool never deleted. Tasks
# block on FIFOs the test writes to: no sleeps.
. "$(dirname "$0")/lib.sh"
need curl

TOKEN=pool-token-$RANDOM$RANDOM-0123456789abcdef0123456789
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"

# Each task waits for a line on its own FIFO.
gate() { mkfifo "$TMP/go-$1"; }
release() { timeout 10 sh -c "echo go >'$TMP/go-$1'" || fail "task $1 was not waiting"; }
for t in t1 t2 t3 t4 t5 t6 big small1 small2 lost m0 m1; do gate "$t"; done

write_dag poolsix <<EOF2
dag_id: poolsix
default_args:
  pool: two
  weight_rule: absolute
tasks:
  - {id: t1, command: "read x <$TMP/go-t1", priority_weight: 1}
  - {id: t2, command: "read x <$TMP/go-t2", priority_weight: 5}
  - {id: t3, command: "read x <$TMP/go-t3", priority_weight: 3}
  - {id: t4, command: "read x <$TMP/go-t4", priority_weight: 9}
  - {id: t5, command: "read x <$TMP/go-t5", priority_weight: 5}
  - {id: t6, command: "read x <$TMP/go-t6", priority_weight: 7}
EOF2
write_dag poolwide <<EOF2
dag_id: poolwide
tasks:
  - {id: big, command: "read x <$TMP/go-big", pool: two, pool_slots: 2, priority_weight: 10}
  - {id: small1, command: "read x <$TMP/go-small1", pool: two}
  - {id: small2, command: "read x <$TMP/go-small2", pool: two}
EOF2
# A mapped task: each instance takes the pool's one slot in turn.
write_dag poolmap <<EOF2
dag_id: poolmap
tasks:
  - id: m
    pool: solo
    expand:
      n: ["0", "1"]
    command: "read x <$TMP/go-m{{ n }}"
EOF2
write_dag poollost <<EOF2
dag_id: poollost
tasks:
  - {id: lost, command: "read x <$TMP/go-lost", pool: nowhere}
EOF2
# A bad pool_slots is refused at load time, located.
printf 'dag_id: poolbad\ntasks:\n  - id: a\n    command: x\n    pool_slots: 0\n' >"$TMP/poolbad.yaml"
out=$(dagctl validate "$TMP/poolbad.yaml" 2>&1) && fail "pool_slots: 0 accepted"
grep -q "poolbad.yaml:5:17: tasks\[0\].pool_slots: must be >= 1, got 0" <<<"$out" ||
  fail "pool_slots: 0: $out"

out=$(dagctl pools set two 2 --description "two at a time") || fail "pools set: $out"
assert_eq "$out" "pool two created with 2 slots" "pools set"
dagctl pools set solo 1 >/dev/null
start_scheduler poolsix poolwide poollost poolmap
for d in poolsix poolwide poollost poolmap; do dagctl dags unpause "$d" >/dev/null; done

running() {
  sql "SELECT group_concat(task_id, ' ') FROM (SELECT ti.task_id FROM task_instance ti
       JOIN dag_run r ON r.id = ti.run_pk WHERE r.run_id = '$1' AND ti.state = 'running'
       ORDER BY ti.task_id)"
}
started() {
  sql "SELECT group_concat(task_id, ' ') FROM (SELECT t.task_id FROM task_try t
       JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = '$1' ORDER BY t.start_date)"
}

# --- six ready tasks, two slots --------------------------------------------------------------
dagctl trigger poolsix --run-id six >/dev/null
wait_for '[ "$(running six)" = "t4 t6" ]' 20
assert_eq "$(started six)" "t4 t6" "the heaviest two start first"
states=$(sql "SELECT group_concat(task_id || '=' || state, ' ') FROM (SELECT ti.task_id, ti.state
              FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk WHERE r.run_id = 'six'
              ORDER BY ti.task_id)")
assert_eq "$states" "t1=scheduled t2=scheduled t3=scheduled t4=running t5=scheduled t6=running" \
  "the others wait, scheduled"
pool=$(dagctl pools get two --json)
assert_eq "$(pyjson '[d["running_slots"], d["scheduled_slots"], d["open_slots"]]' <<<"$pool" | tr '\n' ' ')" \
  "2 4 0 " "pool two's slots"
tasks=$(dagctl tasks poolsix six --no-color)
grep -Eq '^t1 +scheduled \(waits for pool two: 0 of 2 slots open, needs 1\)' <<<"$tasks" ||
  fail "dagctl tasks does not show t1 waiting: $tasks"
list=$(dagctl pools list --no-color)
grep -Eq '^two +2 +2 +0 +4 +0 +two at a time' <<<"$list" || fail "pools list: $list"
# The status page lists the pools with their slots.
need chromium
until='(f) => new Promise((res) => { const t = () => { try { if (f()) return res(true); } catch (e) {} setTimeout(t, 50); }; t(); })'
row='[...document.querySelectorAll("#pool-rows tr[data-pool=\"two\"] td")].map((c) => c.textContent).join("|")'
"$PYTHON" "$(dirname "$0")/cdp.py" "$(command -v chromium)" "${SCHED_URL%/}/" \
  "($until)(() => document.querySelector('#pool-rows tr[data-pool=\"two\"]'))" "$row" \
  >"$TMP/page.json" 2>"$TMP/page.err" || fail "the status page: $(cat "$TMP/page.err" "$TMP/page.json")"
assert_eq "$(sed -n 2p "$TMP/page.json")" '"two|2|2|0|4|0|two at a time"' "the page's row of pool two"
release t4
wait_for '[ "$(running six)" = "t2 t6" ]' 20
release t6
wait_for '[ "$(running six)" = "t2 t5" ]' 20
release t2
wait_for '[ "$(running six)" = "t3 t5" ]' 20
release t5
wait_for '[ "$(running six)" = "t1 t3" ]' 20
release t3
release t1
assert_eq "$(wait_run poolsix six 20)" success "run six"
assert_eq "$(started six)" "t4 t6 t2 t5 t3 t1" "the order of starts"

# --- pool_slots 2 in a pool of 2: alone --------------------------------------------------------
dagctl trigger poolwide --run-id wide >/dev/null
wait_for '[ "$(running wide)" = "big" ]' 20
assert_eq "$(task_state poolwide wide small1) $(task_state poolwide wide small2)" \
  "scheduled scheduled" "the small ones wait for big"
release big
wait_for '[ "$(running wide)" = "small1 small2" ]' 20
release small1
release small2
assert_eq "$(wait_run poolwide wide 20)" success "run wide"

# --- a pool that does not exist: the task waits, then runs once it does --------------------
dagctl trigger poollost --run-id lost >/dev/null
wait_for 'grep -q "task waits: its pool does not exist.*task=lost pool=nowhere" "$SCHED_LOG"' 20
assert_eq "$(task_state poollost lost lost)" scheduled "a task of a missing pool"
ti=$(dagctl tasks poollost lost --json)
assert_eq "$(pyjson 'd[0]["waiting_for"]' <<<"$ti")" "pool nowhere does not exist" "waiting_for"
dagctl pools set nowhere 1 >/dev/null
wait_for '[ "$(running lost)" = "lost" ]' 20
release lost
assert_eq "$(wait_run poollost lost 20)" success "run lost"

# --- the instances of a mapped task, one slot --------------------------------------------
dagctl trigger poolmap --run-id map >/dev/null
mrunning() {
  sql "SELECT group_concat(map_index, ' ') FROM (SELECT ti.map_index FROM task_instance ti
       JOIN dag_run r ON r.id = ti.run_pk WHERE r.run_id = 'map' AND ti.state = 'running'
       AND ti.map_index >= 0 ORDER BY ti.map_index)"
}
wait_for '[ "$(mrunning)" = "0" ]' 20
B=${SCHED_URL%/}
wait1=$(curl -sf -H "Authorization: Bearer $TOKEN" \
  "$B/api/v1/dags/poolmap/dagRuns/map/taskInstances/m/1" | pyjson 'd["waiting_for"]')
assert_eq "$wait1" "pool solo: 0 of 1 slots open, needs 1" "instance 1 waits for the slot"
release m0
wait_for '[ "$(mrunning)" = "1" ]' 20
release m1
assert_eq "$(wait_run poolmap map 20)" success "run map"

# --- /api/v1/pools ------------------------------------------------------------------------------
B=${SCHED_URL%/}
"$PYTHON" - "$B" "$TOKEN" "$DAGCTL_SOURCE_DIR/tests/data/airflow/v1_schemas.json" \
  >"$TMP/check.txt" 2>&1 <<'PY' ||
import http.client, json, sys, urllib.parse
base, token, spec_file = sys.argv[1:4]
S = json.load(open(spec_file))["schemas"]
u = urllib.parse.urlsplit(base)
bad = []
def req(method, path, body=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Accept": "application/json", "Authorization": "Bearer " + token}
    if body is not None: h["Content-Type"] = "application/json"
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None
def call(method, path, body=None, want=200):
    st, d = req(method, path, body)
    if st != want: bad.append("%s %s: HTTP %d, want %d: %r" % (method, path, st, want, d))
    return d
def check(name, obj, where):
    if not isinstance(obj, dict): bad.append("%s: not an object" % where); return
    for k in S[name]["properties"]:
        if k not in obj: bad.append("%s: %s lacks %s" % (where, name, k))
def pool(d, where):
    check("Pool", d, where)
    return d
lst = call("GET", "/api/v1/pools")
check("PoolCollection", lst, "pools")
for i, p in enumerate(lst["pools"]): pool(p, "pools[%d]" % i)
if [p["name"] for p in lst["pools"]] != ["default_pool", "two", "solo", "nowhere"]:
    bad.append("pools in id order: %r" % [p["name"] for p in lst["pools"]])
d = pool(call("GET", "/api/v1/pools/default_pool"), "default_pool")
if (d["slots"], d["description"]) != (128, "Default pool"): bad.append("default_pool %r" % d)
two = pool(call("GET", "/api/v1/pools/two"), "two")
if (two["slots"], two["occupied_slots"], two["open_slots"], two["description"], two["include_deferred"]) != \
   (2, 0, 2, "two at a time", False): bad.append("two %r" % two)
if [p["name"] for p in call("GET", "/api/v1/pools?order_by=-name&limit=2")["pools"]] != ["two", "solo"]:
    bad.append("order_by -name")
call("GET", "/api/v1/pools?order_by=colour", want=400)
n = pool(call("POST", "/api/v1/pools", {"name": "etl", "slots": 4, "description": "loads"}), "post")
if (n["name"], n["slots"], n["open_slots"], n["description"]) != ("etl", 4, 4, "loads"): bad.append("post %r" % n)
e = call("POST", "/api/v1/pools", {"name": "etl", "slots": 1}, want=409)
if not e or e.get("status") != 409: bad.append("409 %r" % e)
call("POST", "/api/v1/pools", {"name": "x"}, want=400)
call("POST", "/api/v1/pools", {"name": "x", "slots": -1}, want=400)
p = pool(call("PATCH", "/api/v1/pools/etl?update_mask=slots", {"slots": 6, "description": "kept"}), "patch")
if (p["slots"], p["description"]) != (6, "loads"): bad.append("patch with mask %r" % p)
p = pool(call("PATCH", "/api/v1/pools/etl", {"name": "etl", "slots": 3, "include_deferred": True}), "patch")
if (p["slots"], p["description"], p["include_deferred"]) != (3, "loads", True): bad.append("patch %r" % p)
call("PATCH", "/api/v1/pools/etl", {"slots": 3}, want=400)
call("PATCH", "/api/v1/pools/etl?update_mask=colour", {"slots": 3}, want=400)
call("PATCH", "/api/v1/pools/default_pool", {"name": "other", "slots": 3}, want=400)
p = pool(call("PATCH", "/api/v1/pools/default_pool?update_mask=slots", {"slots": 64}), "default")
if p["slots"] != 64: bad.append("default_pool slots %r" % p)
call("PATCH", "/api/v1/pools/nope?update_mask=slots", {"slots": 1}, want=404)
e = call("DELETE", "/api/v1/pools/default_pool", want=400)
if not e or "Default Pool can't be deleted" not in e.get("detail", ""): bad.append("delete default %r" % e)
call("DELETE", "/api/v1/pools/etl", want=204)
call("DELETE", "/api/v1/pools/etl", want=404)
call("GET", "/api/v1/pools/etl", want=404)
ti = call("GET", "/api/v1/dags/poolwide/dagRuns/wide/taskInstances/big")
if (ti["pool"], ti["pool_slots"], ti["priority_weight"], ti["waiting_for"]) != ("two", 2, 10, None):
    bad.append("task instance %r" % {k: ti.get(k) for k in ("pool", "pool_slots", "priority_weight", "waiting_for")})
tasks = call("GET", "/api/v1/dags/poolsix/tasks")["tasks"]
t4 = [t for t in tasks if t["task_id"] == "t4"][0]
if (t4["pool"], t4["pool_slots"], t4["priority_weight"], t4["weight_rule"]) != ("two", 1, 9, "absolute"):
    bad.append("task t4 %r" % t4)
for b in bad: print("FAIL", b)
print("checked; failures=%d" % len(bad))
sys.exit(1 if bad else 0)
PY
  fail "/api/v1/pools: $(grep FAIL "$TMP/check.txt" | head -30; tail -n 5 "$TMP/check.txt")"
log "$(tail -n 1 "$TMP/check.txt")"
assert_eq "$(dagctl pools get default_pool --json | pyjson 'd["slots"]')" 64 "default_pool via the API"
out=$(dagctl pools delete default_pool 2>&1) && fail "default_pool deleted"
assert_eq "$out" "dagctl: default_pool cannot be deleted" "pools delete default_pool"
stop_scheduler
log "ok"
