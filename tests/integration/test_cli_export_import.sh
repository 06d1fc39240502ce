#!/usr/bin/env bash
# `dagctl export` and `dagctl import`: a run exported from one home imports
# into an empty one, whose API (what the status page draws) answers the same
# for the run, its task instances, tries, grid cells and logs, byte for byte
# (a log that is not UTF-8 included). Imported runs are marked (on the
# page too), never run:
# one exported while a task was running stays as it was under a scheduler of
# the new home, and cannot be cleared. A run that exists already is refused,
# and so is every tampered bundle, with the field at fault, leaving nothing
# behind; an export never overwrites a file.
. "$(dirname "$0")/lib.sh"

A_HOME=$DAGCTL_HOME A_DAGS=$DAGCTL_DAGS
mkfifo "$TMP/gate"
write_dag incident <<EOF
dag_id: incident
tasks:
  - {id: extract, command: 'echo extracted; printf "bytes \\377\\376 here\\n"'}
  - id: flaky
    command: 'test -f $TMP/once || { touch $TMP/once; echo first-try-fails; exit 4; }; echo second-try-ok'
    retries: 1
    retry_delay: 0s
    upstream: extract
  - {id: report, command: 'echo "report: done"', upstream: flaky}
EOF
write_dag inflight <<EOF
dag_id: inflight
tasks:
  - {id: waiter, command: 'echo started; read x < $TMP/gate; echo finished'}
EOF
# Each run of `queued` leaves its run id in $TMP/queued.ran, in either home.
write_dag queued <<EOF
dag_id: queued
tasks:
  - {id: mark, command: 'echo "\$DAGCTL_RUN_ID" >> $TMP/queued.ran'}
EOF
start_scheduler incident inflight queued
run=$(trigger incident --conf '{"ticket": "INC-42"}')
assert_eq "$(wait_run incident "$run" 20)" success "incident run"
sql "INSERT INTO xcom (run_pk, task_id, key, value, timestamp)
     SELECT id, 'extract', 'rows', '{\"n\": 42}', 1 FROM dag_run WHERE run_id = '$run'"
frun=$(trigger inflight)
wait_for "grep -qx started '$A_HOME/logs/inflight/$frun/waiter/1.log' 2>/dev/null" 10

# A run that has not started: its DAG paused.
dagctl dags pause queued >/dev/null
qrun=$(trigger queued 2>/dev/null)
dagctl export queued "$qrun" -o "$TMP/queued.json" >/dev/null

dagctl export incident "$run" -o "$TMP/incident.json" >"$TMP/out"
assert_eq "$(cat "$TMP/out")" "$TMP/incident.json" "export prints the file"
dagctl export inflight "$frun" -o "$TMP/inflight.json" --json >"$TMP/out"
assert_eq "$(pyjson '[d["tries"], d["logs"], d["task_instances"]]' <"$TMP/out" | tr '\n' ' ')" \
  "1 1 1 " "export --json of the run in flight"
# The default name, and never over an existing file.
(cd "$TMP" && dagctl export incident "$run" >/dev/null)
[ -s "$TMP/incident__$run.dagctl-run.json" ] || fail "default export file"
rc=0
dagctl export incident "$run" -o "$TMP/incident.json" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "export over an existing file"
grep -q "the file exists" "$TMP/err" || fail "export over a file: $(cat "$TMP/err")"
# The bundle carries the log that is not UTF-8 in base64, the rest as text.
pyjson '[t["log"]["encoding"] for t in d["tries"]]' <"$TMP/incident.json" | sort | uniq -c |
  awk '{ printf "%s=%s ", $2, $1 }' >"$TMP/enc"
assert_eq "$(cat "$TMP/enc")" "base64=1 utf-8=3 " "log encodings"

# What home A's API says, to compare with home B's.
api_dump() { # URL OUT
  "$PYTHON" - "$1" "$run" "$frun" >"$2" <<'PY'
import json, sys, urllib.parse, urllib.request
base, run, frun = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
def get(path, raw=False):
    with urllib.request.urlopen(base + path) as r:
        body = r.read()
    return body.decode("latin-1") if raw else json.loads(body)
q = lambda s: urllib.parse.quote(s, safe="")
out = {}
for dag, rid in (("incident", run), ("inflight", frun)):
    p = "/api/v1/dags/%s/dagRuns/%s" % (dag, q(rid))
    r = get(p)
    r.pop("imported_at")
    out[dag + "/run"] = r
    # Process ids name processes of the home that ran them: not carried.
    tis = get(p + "/taskInstances")
    for t in tis["task_instances"]:
        t.pop("pid", None)
    out[dag + "/tis"] = tis
    tries = get(p + "/tries")
    for t in tries["task_tries"]:
        t.pop("pid")
    out[dag + "/tries"] = tries
    for t in tries["task_tries"]:
        out[dag + "/log/%s/%d" % (t["task_id"], t["try_number"])] = get(
            p + "/taskInstances/%s/logs/%d" % (t["task_id"], t["try_number"]), raw=True)
    # The grid: the page's cells. Home B has the DAG paused (no file there).
    grid = get("/api/v1/dags/%s/grid" % dag)
    grid.pop("is_paused")
    for r in grid["dag_runs"]:
        r.pop("imported_at")
    out[dag + "/grid"] = grid
print(json.dumps(out, sort_keys=True, indent=1))
PY
}
api_dump "$SCHED_URL" "$TMP/api.A.json"
grep -q 'second-try-ok' "$TMP/api.A.json" || fail "home A's API lacks the log: $(head -c 600 "$TMP/api.A.json")"
echo go >"$TMP/gate"
assert_eq "$(wait_run inflight "$frun" 10)" success "the run in flight, in home A"
stop_scheduler

# --- home B, empty -----------------------------------------------------------------------
export DAGCTL_HOME=$TMP/homeB DAGCTL_DAGS=$TMP/dagsB
mkdir -p "$DAGCTL_HOME" "$DAGCTL_DAGS"
write_dag ping <<EOF
dag_id: ping
tasks:
  - {id: ping, command: echo pong}
EOF
# Home B has a file for `queued` too, unpaused: a scheduler here could run
# its imported run, and must not.
cp "$A_DAGS/queued.yaml" "$DAGCTL_DAGS/"
start_scheduler ping queued
dagctl import "$TMP/queued.json" >/dev/null
dagctl import "$TMP/incident.json" >"$TMP/out"
grep -q "^imported incident $run (success; 3 task instances, 4 tries, 4 logs, 1 XComs)$" "$TMP/out" ||
  fail "import output: $(cat "$TMP/out")"
dagctl import "$TMP/inflight.json" --json >"$TMP/out"
assert_eq "$(pyjson '[d["state"], d["tries"]]' <"$TMP/out" | tr '\n' ' ')" "running 1 " "import --json"
rc=0
dagctl import "$TMP/incident.json" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "a second import of the run"
grep -q "DAG 'incident' already has a run '$run'" "$TMP/err" || fail "second import: $(cat "$TMP/err")"

# A restart reads every unfinished run: the imported ones are left out.
stop_scheduler
start_scheduler ping queued
# A barrier: once the scheduler has run runs of its own, of the same DAG
# too, it has long had every chance to pick up the imported ones.
prun=$(trigger ping)
assert_eq "$(wait_run ping "$prun" 10)" success "ping in home B"
brun=$(trigger queued)
assert_eq "$(wait_run queued "$brun" 10)" success "home B's own run of queued"
assert_eq "$(cat "$TMP/queued.ran")" "$brun" "runs of queued that ran (home B's own only)"
assert_eq "$(run_state queued "$qrun")" queued "the imported queued run"
assert_eq "$(sql "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                 WHERE r.run_id = '$qrun'")" 0 "tries of the imported queued run"
api_dump "$SCHED_URL" "$TMP/api.B.json"
# The run in flight was taken while its task ran: so it stays.
"$PYTHON" - "$TMP/api.A.json" "$TMP/api.B.json" <<'PY' || fail "home B's API differs from home A's"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
bad = [k for k in a if a[k] != b[k]]
for k in bad:
    print("differs:", k, "\nA:", json.dumps(a[k])[:400], "\nB:", json.dumps(b[k])[:400], file=sys.stderr)
assert not bad
assert b["inflight/run"]["state"] == "running" and b["incident/run"]["conf"] == {"ticket": "INC-42"}
PY
# Its log is home A's as it was at the export: a beginning of what it became.
blog=$DAGCTL_HOME/logs/inflight/$frun/waiter/1.log
grep -qx started "$blog" || fail "the imported log in flight: $(cat "$blog")"
head -c "$(stat -c %s "$blog")" "$A_HOME/logs/inflight/$frun/waiter/1.log" | cmp -s - "$blog" ||
  fail "the imported log in flight is not the start of home A's"
! grep -q finished "$DAGCTL_HOME/logs/inflight/$frun/waiter/1.log" || fail "the imported try ran"
cmp -s "$DAGCTL_HOME/logs/incident/$run/extract/1.log" "$A_HOME/logs/incident/$run/extract/1.log" ||
  fail "the log that is not UTF-8 differs"
assert_eq "$(sql "SELECT count(*) FROM task_try t JOIN dag_run r ON r.id = t.run_pk
                 WHERE r.dag_id = 'inflight'")" 1 "tries of the imported run in flight"
# Marked imported, and the DAG this home has no file for is paused and inactive.
dagctl runs queued >"$TMP/out"
grep -q "^$qrun  *manual (imported)  *queued " "$TMP/out" || fail "runs text of home B: $(cat "$TMP/out")"
grep -q "^$brun  *manual  *success " "$TMP/out" || fail "runs text of home B: $(cat "$TMP/out")"
dagctl runs --json >"$TMP/out"
assert_eq "$(pyjson '" ".join(sorted("%s:%s" % (r["dag_id"], r["imported_at"] is not None) for r in d))' \
  <"$TMP/out")" "incident:True inflight:True ping:False queued:False queued:True" "imported_at"
assert_eq "$(dagctl dags list --json | pyjson '[x for x in d if x["dag_id"] == "incident"][0]' |
  pyjson '[d["is_paused"], d["is_active"]]' | tr '\n' ' ')" "True False " "the imported DAG"
assert_eq "$(sql "SELECT value FROM xcom x JOIN dag_run r ON r.id = x.run_pk WHERE r.run_id = '$run'")" \
  '{"n":42}' "the XCom"
rc=0
dagctl clear inflight "$frun" 2>"$TMP/err" || rc=$?
assert_eq "$rc" 1 "clear of an imported run"
grep -q "imported from another home" "$TMP/err" || fail "clear of an imported run: $(cat "$TMP/err")"

# The status page marks the imported run, in the grid and in the run's
# details, and not home B's own run of the same DAG (as Chromium built it).
need chromium
curl -sS "${SCHED_URL%/}/api/v1/dags/queued/grid" |
  pyjson '" ".join("%s:%s" % (r["dag_run_id"] == "'"$qrun"'", r["imported_at"] is not None) for r in d["dag_runs"])' >"$TMP/out"
assert_eq "$(tr ' ' '\n' <"$TMP/out" | sort | tr '\n' ' ')" "False:False True:True " "the grid's imported_at"
timeout 90 "$(command -v chromium)" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=6000 \
  --dump-dom "${SCHED_URL%/}/dags/queued?run=$("$PYTHON" -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$qrun")" 2>"$TMP/chromium.log" </dev/null >"$TMP/page.dom"
[ -s "$TMP/page.dom" ] || fail "chromium dumped no DOM: $(tail -n 5 "$TMP/chromium.log")"
"$PYTHON" - "$TMP/page.dom" "$qrun" "$brun" <<'PY' || fail "the page does not mark the imported run"
import sys
from html.parser import HTMLParser
dom, qrun, brun = sys.argv[1:]
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.head, self.marked, self.badge, self.detail = None, set(), 0, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if "run-head" in cls:
            self.head = a.get("data-run")
        elif "imported-mark" in cls and self.head:
            self.marked.add(self.head)
        if "run-detail" in cls:
            self.detail += 1
        if "badge" in cls and "imported" in cls and self.detail:
            self.badge += 1
    def handle_endtag(self, tag):
        if tag == "button":
            self.head = None
p = P()
p.feed(open(dom).read())
assert p.marked == {qrun}, ("marked runs", p.marked, "expected", qrun, "not", brun)
assert p.detail == 1 and p.badge == 1, ("run detail", p.detail, "imported badges in it", p.badge)
PY

# --- tampered bundles: refused whole, with the field at fault ------------------------------
tamper() { # NAME PYTHON-STATEMENT (on d, the bundle, with run id "tampered")
  "$PYTHON" - "$TMP/incident.json" "$TMP/$1.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["run"]["run_id"] = "tampered"
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
}
refused() { # NAME MESSAGE
  local rc=0
  dagctl import "$TMP/$1.json" >/dev/null 2>"$TMP/err" || rc=$?
  assert_eq "$rc" 1 "import of $1"
  grep -qF -- "$2" "$TMP/err" || fail "import of $1: $(cat "$TMP/err")"
  assert_eq "$(sql "SELECT count(*) FROM dag_run WHERE run_id IN ('tampered', '../../x')")" 0 "runs after $1"
  [ ! -e "$DAGCTL_HOME/logs/incident/tampered" ] || fail "$1 left logs behind"
}
tamper path 'd["run"]["run_id"] = "../../x"'
refused path "$TMP/path.json: run.run_id: invalid id '../../x'"
tamper task_path 'd["tries"][0]["task_id"] = "../x"'
refused task_path "tries[0].task_id: invalid id '../x'"
tamper hash 'd["dag_version"]["dag_hash"] = "0" * 64'
refused hash "dag_version.dag_hash: '$(printf '0%.0s' $(seq 64))' is not the hash of the data"
tamper data 'd["dag_version"]["data"] = d["dag_version"]["data"].replace("extract", "extrakt")'
refused data "dag_version.dag_hash"
tamper unknown 'd["evil"] = 1'
refused unknown "evil: unknown field"
tamper missing 'del d["run"]["state"]'
refused missing "run.state: missing"
tamper state 'd["task_instances"][1]["state"] = "exploded"'
refused state "task_instances[1].state: 'exploded' is not a task state"
tamper orphan 'd["tries"][2]["task_id"] = "nosuch"'
refused orphan "tries[2].task_id: no task instance 'nosuch' in task_instances"
tamper notask 'd["task_instances"][0]["task_id"] = "ghost"'
refused notask "task_instances[0].task_id: the DAG version has no task 'ghost'"
tamper b64 'next(t for t in d["tries"] if t["log"]["encoding"] == "base64")["log"]["content"] = "@@@@"'
refused b64 "not base64"
tamper twice 'd["tries"].append(dict(d["tries"][0]))'
refused twice "try 1 of task 'extract' twice"
tamper time 'd["run"]["queued_at"] = -5'
refused time "run.queued_at: expected microseconds since 1970"
tamper format 'd["format_version"] = 2'
refused format "format_version: version 2; this dagctl reads version 1"
head -c 300 "$TMP/incident.json" >"$TMP/cut.json"
refused cut "$TMP/cut.json:"
printf '{"format": 1, "format": 2}' >"$TMP/dup.json"
refused dup "duplicate object key"
log "ok"
