#!/usr/bin/env bash
# /metrics after known runs: parsed by prometheus_client's parser and by a
# strict checker of our own (HELP and TYPE before each family, one block per
# family, no sample twice, histograms cumulative with +Inf equal to their
# count), and every per-DAG and per-task value exactly as the runs made it:
# a task that fails once and is retried, a task that fails, its downstream
# upstream_failed, and a second DAG that succeeds. `dagctl webserver` on
# the same database serves the same database figures.
. "$(dirname "$0")/lib.sh"

# Debian's python3-prometheus-client lives in Debian's interpreter, which
# the python3 on PATH may not be.
DEBPY=/usr/bin/python3
"$DEBPY" -c 'import prometheus_client.parser' 2>/dev/null ||
  fail "missing tool: python3-prometheus-client for $DEBPY (run .ci/install-deps.sh test)"

write_dag metrics_m <<EOF
dag_id: metrics_m
default_args:
  retries: 0
tasks:
  - id: ok
    command: "true"
  - id: flaky
    retries: 1
    retry_delay: 0s
    command: test -e "$TMP/flaky.flag" || { touch "$TMP/flaky.flag"; exit 3; }
  - id: broken
    command: exit 2
  - id: after
    upstream: broken
    command: "true"
EOF
write_dag metrics_n <<EOF
dag_id: metrics_n
tasks:
  - id: only
    command: "true"
EOF
start_scheduler metrics_m metrics_n
B=${SCHED_URL%/}
dagctl trigger metrics_m --wait >/dev/null && fail "metrics_m should fail"
dagctl trigger metrics_n --wait >/dev/null || fail "metrics_n failed"
assert_eq "$(sql "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM alert ORDER BY kind)")" \
  "run_failed task_failed task_retry" "the alerts of metrics_m"

curl -sS -f -D "$TMP/metrics.head" -o "$TMP/metrics.txt" "$B/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$TMP/metrics.head" || fail "content type"

cat >"$TMP/check.py" <<'EOF'
import math, re, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
families = {f.name: f for f in text_string_to_metric_families(text)}

# Our own strict reading: the parser above accepts more than the format allows.
name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
line_re = re.compile(r'^(%s)(\{%s(?:,%s)*\})? (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN)$' % (name_re, label_re, label_re))
helps, types, seen, order, samples = {}, {}, set(), [], {}
for n, line in enumerate(text.split("\n")[:-1], 1):
    assert line, "blank line %d" % n
    if line.startswith("# HELP "):
        name = line.split(" ")[2]
        assert name not in helps, "HELP twice for " + name
        helps[name] = True
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        assert name in helps and name not in types, "TYPE without HELP or twice: " + line
        assert kind in ("counter", "gauge", "histogram"), line
        types[name] = kind
        order.append(name)
        continue
    m = line_re.match(line)
    assert m, "line %d is not a sample: %r" % (n, line)
    name, labels = m.group(1), m.group(2) or ""
    fam = order[-1]
    base = fam if types[fam] != "histogram" else fam
    assert name == fam or (types[fam] == "histogram" and name in (fam + "_bucket", fam + "_sum", fam + "_count")) \
        or (types[fam] == "counter" and name == fam), "sample %s outside its family %s" % (name, fam)
    key = name + labels
    assert key not in seen, "sample twice: " + key
    seen.add(key)
    samples[key] = float(m.group(3))
assert text.endswith("\n")

# Histograms: cumulative buckets, +Inf equals the count.
for fam, kind in types.items():
    if kind != "histogram":
        continue
    series = {}
    for key, v in samples.items():
        if key.startswith(fam + "_bucket{"):
            labels = re.sub(r',?le="[^"]*"', "", key[len(fam + "_bucket"):])
            le = re.search(r'le="([^"]*)"', key).group(1)
            series.setdefault(labels, []).append((math.inf if le == "+Inf" else float(le), v))
    for labels, buckets in series.items():
        vals = [v for _, v in sorted(buckets)]
        assert vals == sorted(vals), (fam, labels, "not cumulative", buckets)
        lab = labels if labels != "{}" else ""
        assert vals[-1] == samples[fam + "_count" + lab], (fam, labels, "+Inf != count")
        assert samples[fam + "_sum" + lab] >= 0

def v(key):
    assert key in samples, "missing " + key
    return samples[key]

M = 'dag_id="metrics_m"'
t = lambda task: '%s,task_id="%s"' % (M, task)
want = {
    'dagctl_ti_start_total{%s}' % t("ok"): 1,
    'dagctl_ti_start_total{%s}' % t("flaky"): 2,
    'dagctl_ti_start_total{%s}' % t("broken"): 1,
    'dagctl_task_retries_total{%s}' % t("flaky"): 1,
    'dagctl_task_retries_total{%s}' % t("ok"): 0,
    'dagctl_ti_finish_total{%s,state="success"}' % t("ok"): 1,
    'dagctl_ti_finish_total{%s,state="failed"}' % t("flaky"): 1,
    'dagctl_ti_finish_total{%s,state="success"}' % t("flaky"): 1,
    'dagctl_ti_finish_total{%s,state="failed"}' % t("broken"): 1,
    'dagctl_task_duration_seconds_count{%s}' % t("flaky"): 2,
    'dagctl_task_duration_seconds_count{%s}' % t("broken"): 1,
    'dagctl_task_duration_seconds_count{dag_id="metrics_n",task_id="only"}': 1,
    'dagctl_ti_successes_total': 3,
    'dagctl_ti_failures_total': 2,
    'dagctl_dagrun_duration_failed_seconds_count{%s}' % M: 1,
    'dagctl_dagrun_duration_success_seconds_count{%s}' % M: 0,
    'dagctl_dagrun_duration_success_seconds_count{dag_id="metrics_n"}': 1,
    'dagctl_dagrun_duration_failed_seconds_count{dag_id="metrics_n"}': 0,
    'dagctl_dagrun_schedule_delay_seconds_count{%s}' % M: 1,
    'dagctl_dagrun_schedule_delay_seconds_count{dag_id="metrics_n"}': 1,
    'dagctl_task_instances{%s,state="success"}' % M: 2,
    'dagctl_task_instances{%s,state="failed"}' % M: 1,
    'dagctl_task_instances{%s,state="upstream_failed"}' % M: 1,
    'dagctl_task_instances{%s,state="running"}' % M: 0,
    'dagctl_task_instances{dag_id="metrics_n",state="success"}': 1,
    'dagctl_dag_runs{%s,state="failed"}' % M: 1,
    'dagctl_dag_runs{%s,state="success"}' % M: 0,
    'dagctl_dag_runs{dag_id="metrics_n",state="success"}': 1,
    'dagctl_metrics_folded_series': 0,
    'dagctl_dag_processing_import_errors': 0,
    # No SMTP server: the retry of flaky, the failure of broken and the
    # run's failure wait in the outbox.
    'dagctl_alerts_pending': 3,
    'dagctl_alerts{state="queued"}': 3,
}
if sys.argv[2] == "scheduler":
    want.update({'dagctl_scheduler_tasks_running': 0, 'dagctl_executor_queued_tasks': 0,
                 'dagctl_dagbag_size': 2, 'dagctl_scheduler_up': 1, 'dagctl_dagrun_active': 0})
    # Each try waited once, from ready to started: flaky twice (its retry).
    want.update({'dagctl_task_scheduling_delay_seconds_count{%s}' % t("ok"): 1,
                 'dagctl_task_scheduling_delay_seconds_count{%s}' % t("flaky"): 2,
                 'dagctl_task_scheduling_delay_seconds_count{%s}' % t("broken"): 1,
                 'dagctl_task_scheduling_delay_seconds_count{dag_id="metrics_n",task_id="only"}': 1})
    assert 'dagctl_task_scheduling_delay_seconds_count{%s}' % t("after") not in samples
    assert types["dagctl_task_scheduling_delay_seconds"] == "histogram"
else:
    want.update({'dagctl_scheduler_up': 0})
    assert 'dagctl_scheduler_tasks_running' not in samples
    assert 'dagctl_task_scheduling_delay_seconds' not in types
for key, value in want.items():
    assert v(key) == value, "%s = %s, want %s" % (key, v(key), value)
# A task with no try has no per-try series.
assert 'dagctl_ti_start_total{%s}' % t("after") not in samples
assert types["dagctl_task_duration_seconds"] == "histogram"
assert types["dagctl_ti_finish_total"] == "counter"
assert families["dagctl_task_duration_seconds"].type == "histogram"
# Durations: the sum is the tries' own (each well under a minute).
assert 0 <= v('dagctl_task_duration_seconds_sum{%s}' % t("flaky")) < 60
print(len(samples), "samples")
EOF
"$DEBPY" "$TMP/check.py" "$TMP/metrics.txt" scheduler >"$TMP/check.out" 2>&1 ||
  fail "/metrics: $(cat "$TMP/check.out")"

# dagctl webserver alone: the database's figures, no scheduler's.
"$DAGCTL_BIN" webserver --port 0 >"$TMP/webserver.log" 2>&1 &
WS_PID=$!
SCHED_PIDS+=("$WS_PID")
wait_for "grep -q 'web server listening' '$TMP/webserver.log'" 10
WS=$(sed -n 's/.*web server listening url=\([^ ]*\).*/\1/p' "$TMP/webserver.log")
curl -sS -f -o "$TMP/metrics_ws.txt" "${WS}metrics"
"$DEBPY" "$TMP/check.py" "$TMP/metrics_ws.txt" webserver >"$TMP/check.out" 2>&1 ||
  fail "webserver /metrics: $(cat "$TMP/check.out")"
log "metrics: $(cat "$TMP/check.out")"
