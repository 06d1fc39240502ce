#!/usr/bin/env bash
# A mapped task (expand:) through Airflow 2.10's REST paths and the CLI:
# .../taskInstances/{task_id}/{map_index} and .../listMapped with the
# fields of Airflow's TaskInstance (tests/data/airflow/v1_schemas.json),
# the task instance list without the task's own summary row, Airflow's 404
# for a mapped task asked without its map_index, logs and XComs per
# map_index (?map_index=N), and `dagctl tasks` / `dagctl logs --map-index`.
. "$(dirname "$0")/lib.sh"
need curl

TOKEN=api-token-$RANDOM$RANDOM-0123456789abcdef0123456789
write_dag mapdemo <<'EOF2'
dag_id: mapdemo
tasks:
  - id: list_files
    command: echo '["a.csv", "b.csv", "c.csv"]'
    xcom_push: last_line
  - id: process
    upstream: list_files
    expand:
      file: "{{ ti.xcom_pull('list_files') }}"
    command: |
      echo processing {{ ti.map_index }}: {{ file }}
      echo done={{ file }} >> "$DAGCTL_XCOM"
      [ {{ ti.map_index }} -ne 2 ] || exit 5
  - id: report
    upstream: process
    trigger_rule: all_done
    command: echo report
EOF2
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"
start_scheduler mapdemo
B=${SCHED_URL%/}
dagctl dags unpause mapdemo >/dev/null
dagctl trigger mapdemo --run-id m1 >/dev/null
assert_eq "$(wait_run mapdemo m1 30)" success "run m1 (process[2] fails, the leaf report runs all_done)"

"$PYTHON" - "$B" "$TOKEN" "$DAGCTL_SOURCE_DIR/tests/data/airflow/v1_schemas.json" \
  >"$TMP/check.txt" 2>&1 <<'PY' ||
import http.client, json, sys, urllib.parse
base, token, spec_file = sys.argv[1:4]
spec = json.load(open(spec_file))
S, skip = spec["schemas"], spec["not_served"]
u = urllib.parse.urlsplit(base)
bad = []
def get(path, want=200, accept="application/json"):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", path, headers={"Accept": accept, "Authorization": "Bearer " + token})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != want:
        bad.append("GET %s: HTTP %d, want %d: %s" % (path, r.status, want, data[:300]))
        return None
    ct = r.getheader("Content-Type") or ""
    return json.loads(data) if ct.startswith("application/json") else data.decode()
def props(name):
    s = S[name]
    out = []
    for parent in s.get("allOf", []): out += props(parent)
    return out + s["properties"]
def check(name, obj, where):
    if not isinstance(obj, dict): bad.append("%s: not an object: %r" % (where, obj)); return
    for k in props(name) + S[name].get("required", []):
        if k in skip.get(name, {}): continue
        if k not in obj: bad.append("%s: %s lacks %s" % (where, name, k))
    for k, values in S[name].get("enums", {}).items():
        if k in obj and obj[k] not in values: bad.append("%s: %s.%s=%r" % (where, name, k, obj[k]))

R = "/api/v1/dags/mapdemo/dagRuns/m1/taskInstances"
# The list: each instance with its map_index, no summary row of process.
lst = get(R)
check("TaskInstanceCollection", lst, "list")
got = [(t["task_id"], t["map_index"], t["state"]) for t in lst["task_instances"]]
for t in lst["task_instances"]: check("TaskInstance", t, "list item")
want = [("list_files", -1, "success"), ("process", 0, "success"), ("process", 1, "success"),
        ("process", 2, "failed"), ("report", -1, "success")]
if got != want: bad.append("list %r, want %r" % (got, want))
if lst["total_entries"] != 5: bad.append("total_entries %r" % lst["total_entries"])
# One instance.
one = get(R + "/process/1")
check("TaskInstance", one, "process/1")
if one and (one["map_index"], one["state"], one["try_number"], one["task_id"]) != (1, "success", 1, "process"):
    bad.append("process/1 %r" % one)
get(R + "/process/7", 404)
get(R + "/process/x", 404)
get(R + "/list_files/-1")
get(R + "/list_files/0", 404)
# A mapped task without its map_index: Airflow's 404.
e = get(R + "/process", 404)
err = json.loads(e) if isinstance(e, str) else e
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("GET", R + "/process", headers={"Accept": "application/json", "Authorization": "Bearer " + token})
d = json.loads(c.getresponse().read())
if d.get("detail") != "Task instance is mapped, add the map_index value to the URL": bad.append("404 detail %r" % d)
get(R + "/list_files")
# listMapped: paging, state, order_by.
lm = get(R + "/process/listMapped")
check("TaskInstanceCollection", lm, "listMapped")
if [t["map_index"] for t in lm["task_instances"]] != [0, 1, 2] or lm["total_entries"] != 3:
    bad.append("listMapped %r" % lm)
for t in lm["task_instances"]: check("TaskInstance", t, "listMapped item")
page = get(R + "/process/listMapped?limit=1&offset=1")
if [t["map_index"] for t in page["task_instances"]] != [1] or page["total_entries"] != 3: bad.append("paging %r" % page)
desc = get(R + "/process/listMapped?order_by=-map_index")
if [t["map_index"] for t in desc["task_instances"]] != [2, 1, 0]: bad.append("order_by %r" % desc)
failed = get(R + "/process/listMapped?state=failed")
if [t["map_index"] for t in failed["task_instances"]] != [2]: bad.append("state=failed %r" % failed)
get(R + "/list_files/listMapped", 404)
get(R + "/nope/listMapped", 404)
# Logs per map_index.
lg = get(R + "/process/logs/1?map_index=1")
check("Log", lg, "log")
if lg and "processing 1: b.csv" not in lg["content"]: bad.append("log of process[1] %r" % lg)
t2 = get(R + "/process/logs/1?map_index=2", accept="text/plain")
if not isinstance(t2, str) or "processing 2: c.csv" not in t2: bad.append("log of process[2] %r" % t2)
get(R + "/process/logs/1", 404)
get(R + "/process/logs/1?map_index=9", 404)
get(R + "/process/logs/1?map_index=x", 400)
# XComs per map_index.
xs = get(R + "/process/xcomEntries")
if sorted(x["map_index"] for x in xs["xcom_entries"]) != [0, 1]: bad.append("xcomEntries %r" % xs)
x1 = get(R + "/process/xcomEntries?map_index=1")
if [x["map_index"] for x in x1["xcom_entries"]] != [1]: bad.append("xcomEntries?map_index=1 %r" % x1)
v = get(R + "/process/xcomEntries/done?map_index=0")
if v and (v["map_index"], v["value"]) != (0, '"a.csv"'): bad.append("entry %r" % v)
get(R + "/process/xcomEntries/done", 404)
# The tries list carries map_index.
tr = get("/api/v1/dags/mapdemo/dagRuns/m1/tries?task_id=process")
if [(t["map_index"], t["try_number"]) for t in tr["task_tries"]] != [(0, 1), (1, 1), (2, 1)]: bad.append("tries %r" % tr)

for b in bad: print("FAIL", b)
print("checked; failures=%d" % len(bad))
sys.exit(1 if bad else 0)
PY
  fail "mapped task instances in the API: $(grep FAIL "$TMP/check.txt" | head -30; tail -n 5 "$TMP/check.txt")"
log "$(tail -n 1 "$TMP/check.txt")"

# The CLI: instances as TASK[N], one instance's log by --map-index.
dagctl tasks mapdemo m1 >"$TMP/tasks.txt"
for want in "process\\[0\\] *success" "process\\[2\\] *failed" "process *failed"; do
  grep -qE "^$want" "$TMP/tasks.txt" || fail "dagctl tasks lacks '$want': $(cat "$TMP/tasks.txt")"
done
assert_eq "$(dagctl tasks mapdemo m1 process --map-index 2 --json | pyjson '["%s %d %s" % (t["task_id"], t["map_index"], t["state"]) for t in d]')" \
  "process 2 failed" "dagctl tasks --map-index"
dagctl logs mapdemo m1 process --map-index 1 >"$TMP/log1.txt"
grep -q "processing 1: b.csv" "$TMP/log1.txt" || fail "dagctl logs --map-index 1: $(cat "$TMP/log1.txt")"
assert_eq "$(dagctl logs mapdemo m1 process --map-index 0 --json | pyjson 'd["map_index"]')" 0 "logs --json map_index"
rc=0
dagctl logs mapdemo m1 process >"$TMP/nomap.txt" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "dagctl logs of a mapped task without --map-index succeeded"
grep -qF "task 'process' is mapped: give --map-index (0 to 2)" "$TMP/nomap.txt" ||
  fail "no hint for --map-index: $(cat "$TMP/nomap.txt")"
rc=0
dagctl logs mapdemo m1 process --map-index -1 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--map-index -1 is not a usage error (exit $rc)"
stop_scheduler
