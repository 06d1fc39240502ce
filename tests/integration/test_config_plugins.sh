#!/usr/bin/env bash
# The sections of dagctl.yaml that plugins declare: `dagctl config check`
# judges them against the installed plugins' declarations (learnt from a
# `dagctl plugins --json` child) with FILE:LINE:COL and a did-you-mean over
# the declared keys and sections; every other verb refuses the same file;
# `config show` lists them, secrets masked; and a plugin task receives its
# section's resolved values, defaults included, through connection().
source "$(dirname "$0")/lib.sh"

conf=$DAGCTL_HOME/dagctl.yaml
plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"

# check_says WANT: `dagctl config check` exits 4 and prints exactly WANT.
check_says() {
  local rc=0 out
  out=$(dagctl config check 2>&1) || rc=$?
  assert_eq "$rc" 4 "config check exit status"
  assert_eq "$out" "$1" "config check output"
}

# --- the shipped plugins' sections (the default plugins folder) -----------------
cat >>"$conf" <<EOF
lake:
  url: s3://spotify-lake/raw
  timout: 5s
EOF
check_says "$conf:6:3: unknown key 'lake.timout' (did you mean 'lake.timeout'?)"

# Not only `config check`: a verb that loads the settings refuses them too.
rc=0
out=$(dagctl dags list 2>&1) || rc=$?
assert_eq "$rc" 4 "dags list exit status with a bad plugin setting"
grep -qxF "$conf:6:3: unknown key 'lake.timout' (did you mean 'lake.timeout'?)" <<<"$out" ||
  fail "dags list did not name the bad key: $out"

write_config
cat >>"$conf" <<EOF
kafak:
  bootstrap_servers: a:9092
EOF
check_says "$conf:4:1: unknown section 'kafak' (did you mean 'kafka'?)"

write_config
cat >>"$conf" <<EOF
kafka:
  bootstrap_servers: localhost
warehouse:
  password: in-clear
EOF
check_says "$conf:5:22: kafka.bootstrap_servers: 'localhost' is not a broker (expected host:port, or 'embedded')
$conf:7:13: warehouse.password must not be written in clear in the config file; set DAGCTL__WAREHOUSE__PASSWORD in the environment or warehouse.password_file to a file only you can read"

write_config
out=$(DAGCTL__LAKE__SECRET_ACCESS_KEY=shh-secret-42 DAGCTL__LAKE__URL=s3://b12/x \
  dagctl config show) || fail "config show failed: $out"
grep -qE '^lake\.url = s3://b12/x +# DAGCTL__LAKE__URL$' <<<"$out" || fail "lake.url: $out"
grep -qE '^lake\.secret_access_key = \*\*\* +# DAGCTL__LAKE__SECRET_ACCESS_KEY$' <<<"$out" ||
  fail "lake.secret_access_key: $out"
grep -qE "^warehouse\.url = $DAGCTL_HOME/warehouse\.db +# default$" <<<"$out" ||
  fail "warehouse.url's default under the home: $out"
grep -qE '^kafka\.bootstrap_servers = embedded +# default$' <<<"$out" ||
  fail "kafka.bootstrap_servers: $out"
grep -q "shh-secret" <<<"$out" && fail "config show printed a secret: $out"
out=$(DAGCTL__LAKE__SECRET_ACCESS_KEY=shh-secret-42 dagctl config show --json)
grep -q "shh-secret" <<<"$out" && fail "config show --json printed a secret: $out"
"$PYTHON" - "$out" <<'EOF' || fail "config show --json lacks the lake's secret as a secret"
import json, sys
s = {(i["section"], i["key"]): i for i in json.loads(sys.argv[1])["settings"]}
i = s[("lake", "secret_access_key")]
assert i["secret"] and i["value"] == "***", i
EOF

# --- a plugin's own section (the test plugin declares `sample:`) -----------------
write_config
cat >>"$conf" <<EOF
  plugins_folder: $plugins
  parallelism: 1
sample:
  colour: red
EOF
check_says "$conf:7:3: unknown key 'sample.colour' (did you mean 'sample.color'?)"

write_config
cat >>"$conf" <<EOF
  plugins_folder: $plugins
  parallelism: 1
sampel:
  color: red
EOF
check_says "$conf:6:1: unknown section 'sampel' (did you mean 'sample'?)"

write_config
cat >>"$conf" <<EOF
  plugins_folder: $plugins
  parallelism: 1
sample:
  color: purple
  retries: 10
EOF
check_says "$conf:7:10: sample.color: expected one of red, green, blue, got 'purple'
$conf:8:12: sample.retries: expected an integer from 1 to 9, got '10'"

# The values reach the plugin: the file's, the environment's, the defaults
# (the home placeholder expanded), a secret from its _file, masked in the log.
write_config
cat >>"$conf" <<EOF
  plugins_folder: $plugins
  parallelism: 1
sample:
  color: BLUE
  api_key_file: $TMP/key
EOF
printf 'key-0123456789\n' >"$TMP/key"
chmod 600 "$TMP/key"
out=$(dagctl config check) || fail "config check refused a good sample section: $out"
assert_eq "$out" ok "config check output"
write_dag conf <<EOF
dag_id: conf
tasks:
  - id: echo
    type: test_echo
    message: hi
EOF
run=$(DAGCTL__SAMPLE__RETRIES=7 dagctl test conf --quiet) || fail "dagctl test failed"
assert_eq "$(task_state conf "$run" echo)" success "echo"
dagctl logs conf "$run" echo | grep -qF "sample color=blue retries=7 spool=$DAGCTL_HOME/spool api_key=***" ||
  fail "the plugin did not get its section: $(dagctl logs conf "$run" echo)"
dagctl logs conf "$run" echo | grep -q "key-0123456789" && fail "the secret reached the log"
# A key the section does not declare is never set, and the host says so.
dagctl logs conf "$run" echo |
  grep -qF "connection(\"sample\", \"colour\"): the section declares no key 'colour', so it is never set" ||
  fail "no warning for an undeclared key: $(dagctl logs conf "$run" echo)"

# --- two plugins declaring one section otherwise ---------------------------------
mkdir -p "$TMP/plugins"
cp "$plugins/test_plugin.so" "$DAGCTL_BUILD_DIR/tests/plugins-conflict/test_plugin_conflict.so" \
  "$TMP/plugins/"
write_config
cat >>"$conf" <<EOF
  plugins_folder: $TMP/plugins
sample:
  retries: 5
EOF
conflict="config section 'sample' is declared differently by the plugins test and zconflict ($TMP/plugins/test_plugin_conflict.so): key 'retries' allows other values in each; the first declaration is used"
rc=0
out=$(dagctl plugins 2>&1) || rc=$?
assert_eq "$rc" 1 "plugins exit status with two declarations of one section"
grep -qxF "dagctl: $conflict" <<<"$out" || fail "dagctl plugins did not name both: $out"
check_says "plugins: $conflict"
# Any other verb goes on with the first declaration, and says why.
out=$(dagctl dags list 2>&1) || fail "dags list refused the settings: $out"
grep -qF "plugins disagree on a config section" <<<"$out" || fail "no warning: $out"

echo "[$TEST_NAME] plugin config sections are checked, listed and handed to their plugins"
