#!/usr/bin/env bash
# Task groups end to end: a DAG with nested groups runs with the edges the
# groups imply (a dependency on a group waits for its leaves, a group's
# upstream holds its roots) and the default_args of its groups; the grid
# API carries each task's group and each group's state summarised from its
# tasks' as Airflow's grid does; and in a real browser (headless Chromium)
# the grid and the graph show each group folded into one row or node with
# that state, unfolding on a click and folding back.
. "$(dirname "$0")/lib.sh"

need chromium
CHROMIUM=$(command -v chromium)
ARTIFACTS=${DAGCTL_BUILD_DIR:-$TMP}/tests/artifacts
mkdir -p "$ARTIFACTS"

write_dag grouped <<'EOF'
dag_id: grouped
tasks:
  - {id: start, command: "true"}
  - id: report
    upstream: [etl, checks]
    trigger_rule: all_done
    command: "true"
groups:
  - id: etl
    tooltip: extract, then load
    upstream: start
    default_args: {retries: 2}
    tasks:
      - {id: load, upstream: extract, command: "true"}
    groups:
      - id: extract
        tasks:
          - {id: users, command: "true"}
          - {id: orders, command: "true"}
  - id: checks
    upstream: start
    tasks:
      - {id: rows, command: "true"}
      - {id: nulls, command: "echo 3 nulls >&2; exit 3"}
      - {id: after, upstream: [rows, nulls], command: "true"}
EOF
start_scheduler grouped
B=${SCHED_URL%/}
[ -n "$SCHED_URL" ] || fail "the scheduler did not serve its page"

out=$(dagctl trigger grouped --wait) || fail "the run failed: $out"
run=$(head -n 1 <<<"$out")
# report (all_done) is the only leaf and succeeds: the run succeeds.
assert_eq "$(wait_run grouped "$run")" success "run state"
states=$(sql "SELECT ti.task_id || '=' || ti.state FROM task_instance ti JOIN dag_run r ON r.id = ti.run_pk
              WHERE r.run_id = '$run' ORDER BY ti.task_id" | tr '\n' ' ')
assert_eq "$states" "checks.after=upstream_failed checks.nulls=failed checks.rows=success etl.extract.orders=success etl.extract.users=success etl.load=success report=success start=success " "task states"

# The order the groups imply: each try's start after its upstream's end.
order_ok() { # order_ok BEFORE AFTER
  local a b
  a=$(sql "SELECT max(t.end_date) FROM task_try t JOIN dag_run r ON r.id = t.run_pk WHERE r.run_id = '$run' AND t.task_id = '$1'")
  b=$(try_start "$run" "$2")
  [ -n "$a" ] && [ -n "$b" ] && [ "$a" -le "$b" ] || fail "$2 started before $1 ended ($b < $a)"
}
order_ok start etl.extract.users
order_ok start etl.extract.orders
order_ok etl.extract.users etl.load
order_ok etl.extract.orders etl.load
order_ok etl.load report

# A group's default_args reach its tasks, nested groups' included.
retries=$(curl -sS -f "$B/api/v1/dags/grouped/tasks" |
  pyjson '" ".join("%s=%d" % (t["task_id"], t["retries"]) for t in sorted(d["tasks"], key=lambda t: t["task_id"]))')
assert_eq "$retries" "checks.after=0 checks.nulls=0 checks.rows=0 etl.extract.orders=2 etl.extract.users=2 etl.load=2 report=0 start=0" "retries"

# The grid API: each task's innermost group; each group's summary.
curl -sS -f "$B/api/v1/dags/grouped/grid" >"$TMP/grid.json"
assert_eq "$(pyjson '" ".join("%s:%s" % (t["task_id"], t["group_id"]) for t in d["tasks"])' <"$TMP/grid.json")" \
  "start:None report:None etl.load:etl etl.extract.users:etl.extract etl.extract.orders:etl.extract checks.rows:checks checks.nulls:checks checks.after:checks" \
  "grid tasks' groups"
assert_eq "$(pyjson '" ".join("%s<%s" % (t["task_id"], ",".join(t["upstream"])) for t in d["tasks"])' <"$TMP/grid.json")" \
  "start< report<etl.load,checks.after etl.load<etl.extract.users,etl.extract.orders etl.extract.users<start etl.extract.orders<start checks.rows<start checks.nulls<start checks.after<checks.rows,checks.nulls" \
  "the edges the groups imply"
assert_eq "$(pyjson '" ".join("%s/%s/%s/%s/%s" % (g["group_id"], g["label"], g["parent_group_id"], g["states"][0], g["tooltip"]) for g in d["groups"])' <"$TMP/grid.json")" \
  "etl/etl/None/success/extract, then load etl.extract/extract/etl/success/ checks/checks/None/failed/" \
  "grid groups"

# --- the page -------------------------------------------------------------------------------
# until(EXPR): resolves once EXPR is truthy (the page redraws after a click
# when the next answer arrives).
until='(f) => new Promise((res) => { const t = () => { try { if (f()) return res(true); } catch (e) {} setTimeout(t, 50); }; t(); })'
rows='[...document.querySelectorAll("#grid .cell")].map((c) => (c.dataset.group ? "g:" + c.dataset.group : c.dataset.task) + "=" + c.dataset.state).join(" ")'
names='[...document.querySelectorAll("#grid .task-name")].map((b) => b.textContent).join("|")'
nodes='[...document.querySelectorAll("svg.graph .node")].map((n) => (n.dataset.group ? "g:" + n.dataset.group : n.dataset.task) + "=" + n.dataset.state).join(" ")'
click_svg='(sel) => document.querySelector(sel).dispatchEvent(new MouseEvent("click", {bubbles: true}))'
"$PYTHON" "$(dirname "$0")/cdp.py" "$CHROMIUM" "$B/dags/grouped" \
  "($until)(() => document.querySelector('#grid .cell'))" \
  "$rows" "$names" \
  "(document.querySelector('#grid .group-name[data-group=\"checks\"]').click(), ($until)(() => document.querySelector('#grid .cell[data-task=\"checks.nulls\"]')))" \
  "$rows" "$names" \
  "(document.querySelector('[data-tab=\"graph\"]').click(), ($until)(() => document.querySelector('svg.graph .node')))" \
  "$nodes" \
  "document.querySelectorAll('svg.graph .edges path').length" \
  "(($click_svg)('svg.graph .node[data-group=\"etl\"]'), ($until)(() => document.querySelector('svg.graph .node[data-task=\"etl.load\"]')))" \
  "$nodes" \
  "(($click_svg)('svg.graph .node[data-group=\"etl.extract\"]'), ($until)(() => document.querySelector('svg.graph .node[data-task=\"etl.extract.users\"]')))" \
  "$nodes" \
  "screenshot:$ARTIFACTS/web_task_groups_graph.png" \
  "(document.querySelector('.graph-groups [data-fold=\"etl\"]').click(), ($until)(() => document.querySelector('svg.graph .node[data-group=\"etl\"]')))" \
  "$nodes" "$rows" \
  >"$TMP/page.json" 2>"$TMP/page.err" || fail "driving the DAG page: $(cat "$TMP/page.err" "$TMP/page.json")"

"$PYTHON" - "$TMP/page.json" <<'EOF' || fail "the page's groups: $(cat "$TMP/page.json")"
import json, sys
v = [json.loads(l) for l in open(sys.argv[1])]
folded_rows, folded_names = v[1], v[2]
# Folded: one row per top-level group with its summary, and no task of theirs.
assert folded_rows == "start=success report=success g:etl=success g:checks=failed", folded_rows
assert folded_names == "start|report|▸ etl|▸ checks", folded_names
# checks unfolded: its tasks under it, by their short names; etl still folded.
assert v[4] == ("start=success report=success g:etl=success g:checks=failed checks.rows=success "
                "checks.nulls=failed checks.after=upstream_failed"), v[4]
assert v[5] == "start|report|▸ etl|▾ checks|rows|nulls|after", v[5]
# The graph: etl one node; checks open. Edges between what is shown:
# start->etl, start->rows, start->nulls, rows->after, nulls->after,
# etl->report, after->report.
assert sorted(v[7].split()) == sorted("start=success report=success g:etl=success checks.rows=success "
                                      "checks.nulls=failed checks.after=upstream_failed".split()), v[7]
assert v[8] == 7, v[8]
# etl open: its task and its nested group, still folded.
assert sorted(v[10].split()) == sorted("start=success report=success etl.load=success g:etl.extract=success "
                                       "checks.rows=success checks.nulls=failed checks.after=upstream_failed".split()), v[10]
assert "g:etl" not in v[10].split(), v[10]
# etl.extract open: every task.
assert sorted(v[12].split()) == sorted("start=success report=success etl.load=success etl.extract.users=success "
                                       "etl.extract.orders=success checks.rows=success checks.nulls=failed "
                                       "checks.after=upstream_failed".split()), v[12]
# Folding etl back folds the group inside it too, in the graph and the grid.
assert sorted(v[15].split()) == sorted("start=success report=success g:etl=success checks.rows=success "
                                       "checks.nulls=failed checks.after=upstream_failed".split()), v[15]
assert "etl." not in v[16], v[16]
EOF
log "grid and graph fold and unfold the groups; screenshot: $ARTIFACTS/web_task_groups_graph.png"
