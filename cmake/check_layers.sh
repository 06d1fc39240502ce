#!/usr/bin/env bash
# check_layers.sh SOURCE_DIR - refuse an #include that points the wrong way.
#
# The layers of dagctl and whom each may include (README's map):
#   tasks/support          support only (the helpers dagctl and plugins share)
#   scheduler/core         core, support (and tasks/include, the plugin ABI)
#   scheduler/store        store, core, support
#   scheduler/plugin_host  plugin_host, core, support
#   scheduler/engine       engine, store, plugin_host, core, support
#   scheduler/alerts       alerts, engine, store, core, support
#   web                    web, engine, store, core, support, and the
#                          warehouse library (tasks/warehouse: the dashboard)
#                          and the lake's (tasks/lake: copies of finished
#                          task logs, log_archive.c)
#   scheduler/cli          every layer
#   tasks/NAME (a plugin)  its own folder, support and the other task
#                          folders (the lake, the warehouse), never scheduler/
#                          or web: a plugin builds against tasks/ alone
# A header named *_int.h is its folder's own: no other folder includes it.
# The database client libraries' headers (<sqlite3.h>, <libpq-fe.h>) are
# the store's alone among the layers of scheduler/ and web/: nothing else
# speaks SQL to the metadata database (the warehouse in tasks/ has its own).
# Every quoted include must resolve to a header of a layer (or of
# tasks/include); a header name may exist only once across the layers, so
# that the folder of any name is unambiguous.
#
# The configuration keeps to its room too: scheduler/core/config*.[ch] know
# only dagctl's own sections, so no section a plugin declares (found as
# `sizeof(struct dagctl_config_section), "NAME"` in tasks/) may appear there
# as a string ("lake") or a field (lake_url).
#
# Prints one line per violation, FILE:LINE: what and why, and exits 1 if
# there is any. Run by every build (the check_layers target) and tested by
# tests/integration/test_layering.sh.
set -euo pipefail
src=${1:?usage: check_layers.sh SOURCE_DIR}
cd "$src"

sup=tasks/support
declare -A allowed=(
  [$sup]="$sup"
  [scheduler/core]="scheduler/core $sup"
  [scheduler/store]="scheduler/store scheduler/core $sup"
  [scheduler/plugin_host]="scheduler/plugin_host scheduler/core $sup"
  [scheduler/engine]="scheduler/engine scheduler/store scheduler/plugin_host scheduler/core $sup"
  [scheduler/alerts]="scheduler/alerts scheduler/engine scheduler/store scheduler/core $sup"
  [web]="web scheduler/engine scheduler/store scheduler/core $sup tasks/warehouse tasks/lake"
  [scheduler/cli]="scheduler/cli scheduler/alerts web scheduler/engine scheduler/store scheduler/plugin_host scheduler/core $sup"
)
# Every other folder of tasks/ (but the ABI's) is a plugin or a task library.
tasks=()
for d in tasks/*/; do
  [[ -d $d ]] || continue
  d=${d%/}
  [[ $d == tasks/include || $d == "$sup" ]] || tasks+=("$d")
done
for d in "${tasks[@]}"; do
  allowed[$d]="${tasks[*]} $sup"
done

declare -A home=()
bad=0
for dir in "${!allowed[@]}"; do
  for h in "$dir"/*.h; do
    [[ -e $h ]] || continue
    name=${h##*/}
    if [[ -n ${home[$name]:-} ]]; then
      echo "$h: header name also in ${home[$name]}: names must be unique across layers"
      bad=1
    fi
    home[$name]=$dir
  done
done

for dir in "${!allowed[@]}"; do
  for f in "$dir"/*.[ch]; do
    [[ -e $f ]] || continue
    while IFS=: read -r line inc; do
      inc=${inc#*\"}
      inc=${inc%%\"*}
      [[ $inc == dagctl/* && -e tasks/include/$inc ]] && continue
      to=${home[$inc]:-}
      if [[ -z $to ]]; then
        echo "$f:$line: #include \"$inc\" is in no layer"
        bad=1
        continue
      fi
      if [[ $inc == *_int.h && $to != "$dir" ]]; then
        echo "$f:$line: #include \"$inc\" reaches into $to's internals"
        bad=1
        continue
      fi
      if [[ " ${allowed[$dir]} " != *" $to "* ]]; then
        echo "$f:$line: #include \"$inc\" points the wrong way: $dir may not include $to"
        bad=1
      fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
    [[ $dir == scheduler/* || $dir == web ]] && [[ $dir != scheduler/store ]] || continue
    while IFS=: read -r line inc; do
      inc=${inc#*<}
      inc=${inc%%>*}
      echo "$f:$line: #include <$inc> is the state store's: $dir reaches the database through store.h"
      bad=1
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(sqlite3|libpq-fe)\.h>' "$f" || true)
  done
done
declare -A section_home=()
while IFS=: read -r file _ text; do
  [[ $text =~ sizeof\(struct\ dagctl_config_section\),[[:space:]]*\"([a-z0-9_]+)\" ]] || continue
  section_home[${BASH_REMATCH[1]}]=$file
done < <(grep -rn --include='*.c' 'sizeof(struct dagctl_config_section)' tasks || true)
for name in "${!section_home[@]}"; do
  for f in scheduler/core/config*.[ch]; do
    [[ -e $f ]] || continue
    while IFS=: read -r line _; do
      echo "$f:$line: names the plugin section '$name' (declared in ${section_home[$name]}):" \
        "the configuration knows only dagctl's own sections"
      bad=1
    done < <(grep -nE "\"$name\"|\b${name}_[a-z]" "$f" || true)
  done
done
exit $bad
