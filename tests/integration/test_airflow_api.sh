#!/usr/bin/env bash
# Airflow's stable REST API as its clients expect it: every answer checked
# against the field lists of Airflow 2.10's published spec, transcribed in
# tests/data/airflow/v1_schemas.json (the file says from where); error
# answers with RFC 7807's type, title, status and detail; logs as
# {content, continuation_token} for Accept: application/json; order_by
# (and "-") on lists, an unknown field a 400 naming it; a DAG's details and
# tasks; the `~` wildcards and POST dags/~/dagRuns/list; dagStats;
# importErrors/{id}; dagSources/{file_token}; config with secrets hidden;
# plugins as `dagctl plugins --json` lists them.
. "$(dirname "$0")/lib.sh"
need curl

TOKEN=api-token-$RANDOM$RANDOM-0123456789abcdef0123456789
write_dag apidemo <<'EOF2'
dag_id: apidemo
default_args:
  retries: 2
  retry_delay: 90s
tasks:
  - id: extract
    command: printf 'extracted rows=42\n\303\251t\303\251\n'
  - id: load
    upstream: extract
    execution_timeout: 1h
    command: echo loaded
EOF2
write_dag otherdemo <<'EOF2'
dag_id: otherdemo
schedule: "0 3 * * *"
start_date: 2099-01-01
tasks:
  - id: only
    command: echo only
EOF2
printf 'dag_id: broken\ntasks: [\n' >"$DAGCTL_DAGS/broken.yaml"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF2
web:
  token: $TOKEN
EOF2
chmod 600 "$DAGCTL_HOME/dagctl.yaml"
start_scheduler apidemo otherdemo
B=${SCHED_URL%/}
for r in r1 r2 r3; do dagctl trigger apidemo --run-id "$r" >/dev/null; done
dagctl trigger otherdemo --run-id o1 >/dev/null
for r in r1 r2 r3; do assert_eq "$(wait_run apidemo "$r" 30)" success "run $r"; done
assert_eq "$(wait_run otherdemo o1 30)" success "run o1"

dagctl plugins --json >"$TMP/plugins.json"
"$PYTHON" - "$B" "$TOKEN" "$DAGCTL_SOURCE_DIR/tests/data/airflow/v1_schemas.json" "$TMP/plugins.json" \
  >"$TMP/check.txt" 2>&1 <<'PY' ||
import base64, datetime, http.client, json, sys, urllib.parse
base, token, spec_file, plugins_file = sys.argv[1:5]
spec = json.load(open(spec_file))
S, skip = spec["schemas"], spec["not_served"]
u = urllib.parse.urlsplit(base)
bad = []
def req(method, path, body=None, headers=None, auth=True):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Accept": "application/json"}
    if auth: h["Authorization"] = "Bearer " + token
    if body is not None: h["Content-Type"] = "application/json"
    h.update(headers or {})
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type") or "", data
def get(path, want=200, **kw):
    st, ct, data = req("GET", path, **kw)
    if st != want: bad.append("GET %s: HTTP %d, want %d: %s" % (path, st, want, data[:300])); return None
    return json.loads(data) if ct.startswith("application/json") else data.decode()
def props(name):
    s = S[name]
    out = []
    for parent in s.get("allOf", []): out += props(parent)
    return out + s["properties"]
def check(name, obj, where):
    """Every property of schema `name` present (but those not served),
    its required ones, its enums, and date-time fields ISO-8601 or null."""
    if not isinstance(obj, dict): bad.append("%s: not an object: %r" % (where, obj)); return
    for k in props(name) + S[name].get("required", []):
        if k in skip.get(name, {}): continue
        if k not in obj: bad.append("%s: %s lacks %s" % (where, name, k))
    for k, values in S[name].get("enums", {}).items():
        if k in obj and obj[k] not in values: bad.append("%s: %s.%s=%r not in the spec's enum" % (where, name, k, obj[k]))
    for k, v in obj.items():
        if k.endswith(("_date", "_time", "_at", "when", "timestamp")) and isinstance(v, str) and v:
            try: datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError: bad.append("%s: %s=%r is not ISO-8601" % (where, k, v))
def check_list(coll, item, key, obj, where):
    if obj is None: return []
    check(coll, obj, where)
    for i, x in enumerate(obj.get(key, [])): check(item, x, "%s[%d]" % (where, i))
    return obj.get(key, [])

# --- errors: RFC 7807 with Airflow's fields ---------------------------------------------
errors = [("GET", "/api/v1/dags?limit=x", None, True, 400),
          ("GET", "/api/v1/dags/nope", None, True, 404),
          ("DELETE", "/api/v1/dags/apidemo/grid", None, True, 405),
          ("POST", "/api/v1/dags/apidemo/dagRuns", {"dag_run_id": "r1"}, True, 409),
          ("GET", "/api/v1/dags/apidemo/dagRuns?order_by=nope", None, True, 400),
          ("GET", "/api/v1/nothing/here", None, True, 404)]
for e in errors:
    st, ct, data = req(e[0], e[1], e[2], auth=e[3])
    if st != e[4]: bad.append("%s %s: HTTP %d, want %d" % (e[0], e[1], st, e[4])); continue
    d = json.loads(data)
    check("Error", d, "%s %s" % (e[0], e[1]))
    if "detail" not in d or d.get("status") != st: bad.append("%s %s: %r" % (e[0], e[1], d))
    if st in (400, 404, 405, 409) and not d.get("type", "").endswith(
            {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 409: "AlreadyExists"}[st]):
        bad.append("%s %s: type %r" % (e[0], e[1], d.get("type")))
st, ct, data = req("GET", "/api/v1/dags", headers={"Authorization": "Bearer wrong-" + token})
d = json.loads(data)
if st != 401: bad.append("a wrong token: HTTP %d" % st)
check("Error", d, "401")
if not d.get("type", "").endswith("Unauthenticated"): bad.append("401 type %r" % d.get("type"))
st, ct, data = req("GET", "/api/v1/dags/apidemo/dagRuns?order_by=-nope")
if b"'nope'" not in data: bad.append("order_by's 400 does not name the field: %r" % data)

# --- DAGs, details, tasks ------------------------------------------------------------------
dags = check_list("DAGCollection", "DAG", "dags", get("/api/v1/dags"), "dags")
d = get("/api/v1/dags/apidemo"); check("DAG", d, "dags/apidemo")
file_token = d["file_token"]
det = get("/api/v1/dags/apidemo/details"); check("DAGDetail", det, "details")
if det and (det["params"] != {} or det["catchup"] is not False and det["catchup"] is not True):
    bad.append("details: %r" % det)
o = get("/api/v1/dags/otherdemo"); check("CronExpression", o["schedule_interval"], "schedule_interval")
tasks = get("/api/v1/dags/apidemo/tasks")
ts = check_list("TaskCollection", "Task", "tasks", tasks, "tasks")
if [t["task_id"] for t in ts] != ["extract", "load"]: bad.append("tasks by task_id: %r" % [t["task_id"] for t in ts])
for t in ts:
    check("ClassReference", t["class_ref"], "class_ref")
    check("TimeDelta", t["retry_delay"], "retry_delay")
load = [t for t in ts if t["task_id"] == "load"][0]
if load["execution_timeout"] != {"__type": "TimeDelta", "days": 0, "seconds": 3600, "microseconds": 0}:
    bad.append("execution_timeout %r" % load["execution_timeout"])
if ts[0]["downstream_task_ids"] != ["load"] or ts[0]["retries"] != 2: bad.append("extract %r" % ts[0])
rev = get("/api/v1/dags/apidemo/tasks?order_by=-task_id")
if [t["task_id"] for t in rev["tasks"]] != ["load", "extract"]: bad.append("tasks -task_id")
get("/api/v1/dags/apidemo/tasks?order_by=color", 400)

# --- runs: one DAG, every DAG, the batch form, order_by -------------------------------------
runs = check_list("DAGRunCollection", "DAGRun", "dag_runs", get("/api/v1/dags/apidemo/dagRuns"), "runs")
if sorted(r["dag_run_id"] for r in runs) != ["r1", "r2", "r3"]: bad.append("runs %r" % runs)
asc = get("/api/v1/dags/apidemo/dagRuns?order_by=dag_run_id")["dag_runs"]
desc = get("/api/v1/dags/apidemo/dagRuns?order_by=-dag_run_id")["dag_runs"]
if [r["dag_run_id"] for r in asc] != ["r1", "r2", "r3"] or [r["dag_run_id"] for r in desc] != ["r3", "r2", "r1"]:
    bad.append("order_by dag_run_id: %r %r" % ([r["dag_run_id"] for r in asc], [r["dag_run_id"] for r in desc]))
page = get("/api/v1/dags/apidemo/dagRuns?order_by=dag_run_id&limit=1&offset=1")
if [r["dag_run_id"] for r in page["dag_runs"]] != ["r2"] or page["total_entries"] != 3: bad.append("page %r" % page)
allr = check_list("DAGRunCollection", "DAGRun", "dag_runs", get("/api/v1/dags/~/dagRuns?order_by=dag_id"), "~ runs")
if [r["dag_id"] for r in allr] != ["apidemo"] * 3 + ["otherdemo"]: bad.append("~ runs %r" % allr)
st, ct, data = req("POST", "/api/v1/dags/~/dagRuns/list", {"dag_ids": ["otherdemo"], "order_by": "-execution_date"})
lst = json.loads(data) if st == 200 else bad.append("dagRuns/list: HTTP %d %s" % (st, data[:200]))
lst = check_list("DAGRunCollection", "DAGRun", "dag_runs", lst, "dagRuns/list")
if [r["dag_run_id"] for r in lst] != ["o1"]: bad.append("dagRuns/list %r" % lst)
st, ct, data = req("POST", "/api/v1/dags/~/dagRuns/list",
                   {"states": ["success"], "order_by": "dag_run_id", "page_limit": 2, "page_offset": 1})
d = json.loads(data)
if [r["dag_run_id"] for r in d.get("dag_runs", [])] != ["r1", "r2"] or d.get("total_entries") != 4:
    bad.append("dagRuns/list paging %r" % d)
st, ct, data = req("POST", "/api/v1/dags/~/dagRuns/list", {"states": "success"})
if st != 400: bad.append("dagRuns/list with a bad states: HTTP %d" % st)
get("/api/v1/dags/apidemo/dagRuns?state=failed")["total_entries"] == 0 or bad.append("state filter")

# --- task instances, across runs and DAGs ---------------------------------------------------
tis = check_list("TaskInstanceCollection", "TaskInstance", "task_instances",
                 get("/api/v1/dags/~/dagRuns/~/taskInstances?limit=100"), "~ tis")
if len(tis) != 7: bad.append("~/~ task instances: %d" % len(tis))
one = check_list("TaskInstanceCollection", "TaskInstance", "task_instances",
                 get("/api/v1/dags/apidemo/dagRuns/~/taskInstances?order_by=-task_id&limit=2"), "apidemo ~ tis")
if [t["task_id"] for t in one] != ["load", "load"]: bad.append("order_by -task_id: %r" % one)
r1 = get("/api/v1/dags/apidemo/dagRuns/r1/taskInstances")
if [t["task_id"] for t in r1["task_instances"]] != ["extract", "load"]: bad.append("r1 tis in DAG order")
check("TaskInstance", get("/api/v1/dags/apidemo/dagRuns/r1/taskInstances/load"), "ti")
get("/api/v1/dags/~/dagRuns/r1/taskInstances", 400)

# --- dagStats ----------------------------------------------------------------------------------
ds = get("/api/v1/dagStats?dag_ids=apidemo,otherdemo,nope")
items = check_list("DagStatsCollectionSchema", "DagStatsCollectionItem", "dags", ds, "dagStats")
for it in items:
    for s in it["stats"]: check("DagStatsStateCollectionItem", s, "stats")
got = {it["dag_id"]: {s["state"]: s["count"] for s in it["stats"]} for it in items}
if got != {"apidemo": {"queued": 0, "running": 0, "success": 3, "failed": 0},
           "otherdemo": {"queued": 0, "running": 0, "success": 1, "failed": 0},
           "nope": {"queued": 0, "running": 0, "success": 0, "failed": 0}}:
    bad.append("dagStats %r" % got)
get("/api/v1/dagStats", 400)

# --- import errors ------------------------------------------------------------------------------
ies = check_list("ImportErrorCollection", "ImportError", "import_errors", get("/api/v1/importErrors?order_by=-filename"), "importErrors")
if len(ies) != 1: bad.append("import errors %r" % ies)
else:
    one = get("/api/v1/importErrors/%d" % ies[0]["import_error_id"])
    check("ImportError", one, "importErrors/{id}")
    if one != ies[0]: bad.append("importErrors/{id} %r != %r" % (one, ies[0]))
get("/api/v1/importErrors/%d" % (ies[0]["import_error_id"] % 2000000000 + 1 if ies else 1), 404)
get("/api/v1/importErrors/x", 400)

# --- the source by file_token ---------------------------------------------------------------------
src = get("/api/v1/dagSources/" + urllib.parse.quote(file_token, safe=""))
check("DagSource", src, "dagSources")
if "dag_id: apidemo" not in (src or {}).get("content", ""): bad.append("dagSources content")
plain = get("/api/v1/dagSources/" + urllib.parse.quote(file_token, safe=""), headers={"Accept": "text/plain"})
if plain != src["content"]: bad.append("dagSources as text/plain %r" % plain)
get("/api/v1/dagSources/" + file_token, 406, headers={"Accept": "image/png"})

# --- logs as JSON, with a continuation token --------------------------------------------------------
lp = "/api/v1/dags/apidemo/dagRuns/r1/taskInstances/extract/logs/1"
lg = get(lp); check("Log", lg, "log")
if "extracted rows=42" not in lg["content"] or "\u00e9t\u00e9" not in lg["content"]: bad.append("log content %r" % lg)
tok = json.loads(base64.urlsafe_b64decode(lg["continuation_token"] + "==").decode())
if tok.get("end_of_log") is not True or tok.get("log_pos", 0) <= 0: bad.append("token %r" % tok)
again = get(lp + "?token=" + lg["continuation_token"])
if again["content"] != "" or again["continuation_token"] != lg["continuation_token"]: bad.append("after the token %r" % again)
text = get(lp, headers={"Accept": "text/plain"})
if not isinstance(text, str) or "extracted rows=42" not in text: bad.append("text/plain log %r" % text)
get(lp + "?token=garbage", 400)
get(lp, 406, headers={"Accept": "image/png"})

# --- config: secrets hidden ----------------------------------------------------------------------------
st, ct, data = req("GET", "/api/v1/config")
if st != 200: bad.append("config: HTTP %d" % st)
elif token.encode() in data: bad.append("the web token is in /config")
else:
    cfg = json.loads(data); check("Config", cfg, "config")
    for s in cfg["sections"]:
        check("ConfigSection", s, "section")
        for o in s["options"]: check("ConfigOption", o, "option")
    web = {o["key"]: o["value"] for s in cfg["sections"] if s["name"] == "web" for o in s["options"]}
    if web.get("token") != "< hidden >": bad.append("web.token reads %r" % web.get("token"))
    if [s["name"] for s in get("/api/v1/config?section=web")["sections"]] != ["web"]: bad.append("section=web")
get("/api/v1/config?section=nope", 404)
t = get("/api/v1/config?section=core", headers={"Accept": "text/plain"})
if not isinstance(t, str) or not t.startswith("[core]\n"): bad.append("config as text %r" % t)

# --- order_by on the DAG list and the audit log ----------------------------------------------------
names = lambda q: [x["dag_id"] for x in get("/api/v1/dags" + q)["dags"]]
if names("?order_by=-dag_id") != ["otherdemo", "apidemo"] or names("?order_by=dag_id&limit=1&offset=1") != ["otherdemo"]:
    bad.append("dags order_by: %r" % names("?order_by=-dag_id"))
get("/api/v1/dags?order_by=shoe_size", 400)
ev = check_list("EventLogCollection", "EventLog", "event_logs", get("/api/v1/eventLogs"), "eventLogs")
ids = [e["event_log_id"] for e in ev]
down = [e["event_log_id"] for e in get("/api/v1/eventLogs?order_by=-event_log_id&limit=2")["event_logs"]]
if len(ids) < 2 or down != sorted(ids, reverse=True)[:2]: bad.append("eventLogs order_by: %r %r" % (ids, down))
get("/api/v1/eventLogs?order_by=secret", 400)

# --- plugins: what `dagctl plugins --json` lists, in Airflow's shape ---------------------------------
want = sorted(p["name"] for p in json.load(open(plugins_file)))
pl = check_list("PluginCollection", "PluginCollectionItem", "plugins", get("/api/v1/plugins"), "plugins")
if not want or sorted(p["name"] for p in pl) != want: bad.append("plugins %r, want %r" % ([p["name"] for p in pl], want))
if get("/api/v1/plugins?limit=1&offset=1")["plugins"] != pl[1:2]: bad.append("plugins paging")

for b in bad: print("FAIL", b)
print("checked; failures=%d" % len(bad))
sys.exit(1 if bad else 0)
PY
  fail "the API against Airflow's spec: $(grep FAIL "$TMP/check.txt" | head -30; tail -n 5 "$TMP/check.txt")"
log "$(tail -n 1 "$TMP/check.txt")"
