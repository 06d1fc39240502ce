#!/usr/bin/env bash
# check_needed.sh BINARY LIBRARY... - refuse a binary that needs a library.
#
# Reads BINARY's dynamic section (its NEEDED entries, as the loader sees
# them) and prints one line per entry that begins with one of the LIBRARY
# names (e.g. librdkafka matches librdkafka.so.1 and librdkafka++.so.1).
# Exits 1 if there is any, 2 if the binary cannot be read. Run after every
# link of dagctl, so that a layer linking librdkafka again fails the build;
# tested by tests/integration/test_needed.sh.
set -euo pipefail
bin=${1:?usage: check_needed.sh BINARY LIBRARY...}
shift
[[ $# -gt 0 ]] || { echo "usage: check_needed.sh BINARY LIBRARY..." >&2; exit 2; }
if ! dyn=$(LC_ALL=C readelf -d -- "$bin" 2>&1); then
  echo "$bin: cannot read its dynamic section: $dyn" >&2
  exit 2
fi
bad=0
while read -r lib; do
  for banned in "$@"; do
    if [[ $lib == "$banned"* ]]; then
      echo "$bin: needs $lib: $banned is a plugin's or loaded on first use, never linked here"
      bad=1
    fi
  done
done < <(sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' <<<"$dyn")
exit $bad
