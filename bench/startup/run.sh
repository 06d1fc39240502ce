#!/usr/bin/env bash
# run.sh - start-up of two dagctl builds side by side: `dagctl version`
# (the dynamic loader and main, nothing else) with hyperfine, the two
# alternated in one run, with the CPU each took and the load average.
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
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
