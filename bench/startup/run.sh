#!/usr/bin/env bash
# run.sh - start-up of two dagctl builds side by side with hyperfine, the
# two alternated in one run, with the CPU each took and the load average:
# `dagctl version` (the dynamic loader and main, nothing else), then a shell
# task's whole path, `dagctl test` of a one-task DAG (`true`), each build
# in a home of its own made once before (so no run pays the migrations).
# Each build's dagctl-supervise is found beside it.
# See bench/README.md, "Start-up".
#
#   OLD=/path/to/old/dagctl NEW=build/dagctl bench/startup/run.sh
#   RUNS=2000 OLD=... NEW=... bench/startup/run.sh
set -euo pipefail
OLD=${OLD:?OLD=path of the old dagctl}
NEW=${NEW:?NEW=path of the new dagctl}
RUNS=${RUNS:-1000}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "$OLD" "$NEW"; do
  echo "# $b needs: $(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | tr '\n' ' ')"
done
hyperfine -N --warmup 50 --runs "$RUNS" -n old "$OLD version" -n new "$NEW version"

TASK_RUNS=${TASK_RUNS:-$((RUNS / 5))}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for b in old new; do
  mkdir -p "$work/$b/dags"
  printf 'dag_id: one\ntasks:\n  - id: t0\n    command: "true"\n' >"$work/$b/dags/one.yaml"
  printf 'core:\n  dags_folder: %s\n  log_level: warn\n' "$work/$b/dags" >"$work/$b/dagctl.yaml"
done
DAGCTL_HOME=$work/old "$OLD" test one --quiet >/dev/null 2>&1
DAGCTL_HOME=$work/new "$NEW" test one --quiet >/dev/null 2>&1
hyperfine -N --warmup 10 --runs "$TASK_RUNS" \
  -n "old test" "env DAGCTL_HOME=$work/old $OLD test one --quiet" \
  -n "new test" "env DAGCTL_HOME=$work/new $NEW test one --quiet"
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
