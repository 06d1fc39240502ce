#!/usr/bin/env bash
# docker/'s Grafana dashboard and how compose provisions it, checked without
# a Docker engine: compose's grafana service mounts the provisioning and
# dashboard folders that exist in the repository, the provisioned data
# source is the compose Prometheus, which scrapes the dagctl service on its
# web port; the dashboard JSON parses, every panel uses that data source,
# and every query names only metrics that a running dagctl's /metrics
# exports.
. "$(dirname "$0")/lib.sh"

SRC=${DAGCTL_SOURCE_DIR:?DAGCTL_SOURCE_DIR must name the repository}
DOCKER=$SRC/docker
need docker-compose
YPY=/usr/bin/python3
"$YPY" -c 'import yaml' 2>/dev/null || fail "$YPY has no yaml module (python3-yaml)"

cp "$DOCKER/.env.example" "$TMP/env"
docker-compose -f "$DOCKER/compose.yaml" --env-file "$TMP/env" config >"$TMP/compose.yaml" \
  2>"$TMP/compose.err" || fail "docker-compose config: $(cat "$TMP/compose.err")"

# /metrics of a scheduler after a run, for the names it exports.
write_dag grafana_probe <<'EOF'
dag_id: grafana_probe
tasks:
  - id: one
    command: "true"
EOF
start_scheduler grafana_probe
dagctl trigger grafana_probe --wait >/dev/null || fail "the probe run failed"
curl -sS -f -o "$TMP/metrics.txt" "${SCHED_URL%/}/metrics"

"$YPY" - "$TMP/compose.yaml" "$DOCKER" "$TMP/metrics.txt" <<'EOF' || fail "the Grafana dashboard and its provisioning do not agree"
import json, os, re, sys, yaml
compose, docker, metrics = yaml.safe_load(open(sys.argv[1])), sys.argv[2], open(sys.argv[3]).read()
services = compose["services"]
for s in ("grafana", "prometheus", "dagctl"):
    assert s in services, "no %s service" % s

def mounts(svc):
    out = {}
    for v in services[svc].get("volumes", []):
        if isinstance(v, dict):
            out[v["target"]] = v.get("source")
        else:
            parts = v.split(":")
            out[parts[1]] = parts[0]
    return out

g = mounts("grafana")
prov, dashdir = g.get("/etc/grafana/provisioning"), g.get("/var/lib/grafana/dashboards")
assert prov and os.path.samefile(prov, os.path.join(docker, "grafana/provisioning")), g
assert dashdir and os.path.samefile(dashdir, os.path.join(docker, "grafana/dashboards")), g

# The data source: the compose Prometheus.
ds = yaml.safe_load(open(os.path.join(docker, "grafana/provisioning/datasources/prometheus.yaml")))
(source,) = ds["datasources"]
assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090", source
uid = source["uid"]
# The dashboards provider reads the folder compose mounts.
prv = yaml.safe_load(open(os.path.join(docker, "grafana/provisioning/dashboards/dagctl.yaml")))
paths = [p["options"]["path"] for p in prv["providers"]]
assert paths == ["/var/lib/grafana/dashboards"], paths
home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
assert os.path.exists(os.path.join(dashdir, os.path.relpath(home, "/var/lib/grafana/dashboards"))), home

# Prometheus scrapes the dagctl service on the port dagctl listens on.
p = mounts("prometheus")
prom = yaml.safe_load(open(p["/etc/prometheus/prometheus.yml"]))
targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
port = yaml.safe_load(open(os.path.join(docker, "dagctl.yaml")))["web"]["port"]
assert targets == ["dagctl:%d" % port], targets
assert [job["metrics_path"] for job in prom["scrape_configs"]] == ["/metrics"]

# What /metrics exports: each family, with a histogram's three series.
exported = set()
for m in re.finditer(r"^# TYPE (\S+) (\S+)$", metrics, re.M):
    name, kind = m.groups()
    exported.add(name)
    if kind == "histogram":
        exported.update(name + s for s in ("_bucket", "_sum", "_count"))

files = [f for f in os.listdir(dashdir) if f.endswith(".json")]
assert files, "no dashboard JSON in docker/grafana/dashboards"
checked = 0
for f in files:
    dash = json.load(open(os.path.join(dashdir, f)))
    exprs = []
    for panel in dash["panels"]:
        assert panel["datasource"]["uid"] == uid, (panel["title"], panel["datasource"])
        assert panel["targets"], panel["title"] + ": no query"
        for t in panel["targets"]:
            assert t["datasource"]["uid"] == uid, (panel["title"], t)
            exprs.append((panel["title"], t["expr"]))
    for var in dash.get("templating", {}).get("list", []):
        assert var["datasource"]["uid"] == uid, var
        exprs.append(("variable " + var["name"], var["query"]["query"]))
    for title, expr in exprs:
        # Label names never start with dagctl_: every such token is a metric.
        names = set(re.findall(r"\bdagctl_[a-zA-Z0-9_:]*", expr))
        assert names, "%s: no dagctl metric in %r" % (title, expr)
        for n in names:
            assert n in exported, "%s: %s is not exported by /metrics" % (title, n)
            checked += 1
print("%d metric references checked" % checked)
EOF
log "Grafana dashboard: every query names an exported metric"
