#!/usr/bin/env bash
# cmake/check_layers.sh, the build step that keeps the layers of scheduler/
# and web/ pointing one way, passes on the tree and refuses each kind of
# wrong include in a copy of it: core reaching up into the engine, alerts
# reaching into the engine's internals, a layer reaching sideways, a header
# that belongs to no layer, a plugin (or the support library it links)
# reaching into scheduler/, the configuration naming a plugin's section, a
# layer other than the store including a database client's header.
source "$(dirname "$0")/lib.sh"

check=$DAGCTL_SOURCE_DIR/cmake/check_layers.sh
bash "$check" "$DAGCTL_SOURCE_DIR" >"$TMP/tree.out" 2>&1 ||
  fail "the tree breaks its layering: $(cat "$TMP/tree.out")"

# refuses FILE LINE TEXT EXPECTED: insert TEXT as line LINE of FILE in a
# fresh copy; the check must fail and name FILE:LINE with EXPECTED.
refuses() {
  local file=$1 line=$2 text=$3 expected=$4 copy=$TMP/copy
  rm -rf "$copy"
  mkdir -p "$copy"
  cp -r "$DAGCTL_SOURCE_DIR/scheduler" "$DAGCTL_SOURCE_DIR/web" "$DAGCTL_SOURCE_DIR/tasks" "$copy/"
  sed -i "${line}i $text" "$copy/$file"
  if bash "$check" "$copy" >"$TMP/out" 2>&1; then
    fail "check_layers accepted $text in $file"
  fi
  grep -qF "$file:$line: " "$TMP/out" || fail "no line names $file:$line: $(cat "$TMP/out")"
  grep -qF "$expected" "$TMP/out" || fail "expected '$expected', got: $(cat "$TMP/out")"
}

refuses scheduler/core/dag.c 3 '#include "scheduler.h"' \
  'points the wrong way: scheduler/core may not include scheduler/engine'
refuses scheduler/store/store.c 3 '#include "executor.h"' \
  'points the wrong way: scheduler/store may not include scheduler/engine'
refuses scheduler/engine/scheduler.c 3 '#include "alerts.h"' \
  'points the wrong way: scheduler/engine may not include scheduler/alerts'
refuses scheduler/alerts/alerts.c 3 '#include "sched_int.h"' \
  "reaches into scheduler/engine's internals"
refuses web/web.c 3 '#include "plugins.h"' \
  'points the wrong way: web may not include scheduler/plugin_host'
refuses scheduler/core/dag.c 3 '#include "nowhere.h"' 'is in no layer'
refuses tasks/kafka/plugin.c 3 '#include "plugin_params.h"' \
  'points the wrong way: tasks/kafka may not include scheduler/core'
refuses tasks/s3_sensor/s3_sensor.c 3 '#include "log.h"' \
  'points the wrong way: tasks/s3_sensor may not include scheduler/core'
refuses tasks/support/strbuf.c 3 '#include "config.h"' \
  'points the wrong way: tasks/support may not include scheduler/core'
refuses tasks/kafka/plugin.c 3 '#include "lake_int.h"' \
  "reaches into tasks/lake's internals"
refuses scheduler/core/config.c 40 '    {"lake", "url", \&dag_cfg_t_storage, 0, NULL, 0, 0, 0},' \
  "names the plugin section 'lake' (declared in tasks/lake/lake_config.c)"
refuses scheduler/core/config.h 20 '  char *kafka_bootstrap_servers;' \
  "names the plugin section 'kafka' (declared in tasks/kafka/kconf.c)"
refuses scheduler/engine/scheduler.c 3 '#include <sqlite3.h>' \
  "is the state store's: scheduler/engine reaches the database through store.h"
refuses web/api.c 3 '#include <libpq-fe.h>' \
  "is the state store's: web reaches the database through store.h"
echo "[$TEST_NAME] the layering check passes on the tree and refuses twelve wrong includes" \
  "and two plugin sections in the configuration"
