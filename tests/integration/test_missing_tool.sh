#!/usr/bin/env bash
# A test whose tool is missing fails: it never skips (exit 77), which ctest
# would count as passed, and it never installs the tool itself. Each suite
# below runs with a PATH that has every command but the one it needs, and
# must exit non-zero, not 77, naming the tool.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

# strip_path TOOL: a folder of links to every command on PATH but TOOL,
# first one on PATH winning, as a shell would find them.
strip_path() {
  local bin=$TMP/path-without-$1 d
  mkdir -p "$bin"
  local IFS=:
  for d in $PATH; do
    # ln refuses names already linked: the first folder on PATH wins.
    [ -d "$d" ] && ln -s "$d"/* "$bin"/ 2>/dev/null || true
  done
  rm -f "$bin/$1"
  echo "$bin"
}

# expect_missing SUITE TOOL
expect_missing() {
  local suite=$1 tool=$2 bin rc=0
  command -v "$tool" >/dev/null || fail "$tool is missing here already"
  bin=$(strip_path "$tool")
  PATH=$bin command -v "$tool" >/dev/null && fail "$tool is still on the stripped PATH"
  PATH=$bin /bin/bash "$HERE/$suite" >"$TMP/$suite.out" 2>"$TMP/$suite.err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$suite passed without $tool"
  [ "$rc" -ne 77 ] || fail "$suite skipped (77) without $tool"
  grep -q "missing tool: $tool" "$TMP/$suite.err" ||
    fail "$suite without $tool: no 'missing tool: $tool' in: $(tail -5 "$TMP/$suite.err")"
  grep -qiE 'apt-get|npm ci' "$TMP/$suite.err" "$TMP/$suite.out" &&
    fail "$suite tried to install $tool: $(cat "$TMP/$suite.err")"
  log "$suite without $tool: exit $rc"
}

expect_missing test_kafka_pipeline.sh kcat
expect_missing test_web_page.sh chromium
expect_missing test_docker_compose.sh docker-compose
expect_missing test_transform_dag_pg.sh psql
expect_missing test_lake_s3.sh node
expect_missing test_cli.sh sqlite3
