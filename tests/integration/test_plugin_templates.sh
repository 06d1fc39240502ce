#!/usr/bin/env bash
# Plugin params are rendered by the host with the same template context as
# shell tasks: dates, run ids, params (conf overriding), conf and XCom, in
# nested lists and mappings too. A template error fails the try before the
# plugin runs, naming the param.
source "$(dirname "$0")/lib.sh"

plugins=$DAGCTL_BUILD_DIR/tests/plugins
[ -f "$plugins/test_plugin.so" ] || fail "test plugins not built in $plugins"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
  plugins_folder: $plugins
EOF

write_dag tmpl <<'EOF'
dag_id: tmpl
params:
  greeting: hello
  who: world
tasks:
  - id: first
    type: test_echo
    message: "first-{{ run_id }}"
  - id: echo
    upstream: first
    type: test_echo
    message: "{{ ds }}|{{ ds_nodash }}|{{ params.greeting }} {{ params.who }}|{{ conf.x }}|{{ ti.xcom.first.message }}|{{ dag_id }}.{{ task_id }}"
    count: ["{{ params.who }}", {k: "{{ try_number }}"}]
  - id: broken
    type: test_echo
    message: "{{ conf.missing }}"
EOF
rc=0
run=$(dagctl test tmpl --quiet --logical-date 2024-03-05T06:07:08Z \
  --conf '{"who": "conf-wins", "x": "from-conf"}') || rc=$?
assert_eq "$rc" 1 "test exit code (broken fails)"
assert_eq "$(task_state tmpl "$run" echo)" success "echo"
log=$(dagctl logs tmpl "$run" echo)
want="message=2024-03-05|20240305|hello conf-wins|from-conf|first-$run|tmpl.echo"
grep -qF "$want count=[\"conf-wins\",{\"k\":\"1\"}] ds=2024-03-05" <<<"$log" ||
  fail "the params did not arrive rendered: $log"

assert_eq "$(task_state tmpl "$run" broken)" failed "broken"
log=$(dagctl logs tmpl "$run" broken)
grep -qF "param message: conf has no key 'missing'" <<<"$log" ||
  fail "a template error is not explained: $log"
if grep -q "message=" <<<"$log"; then fail "the plugin ran with an unrendered param: $log"; fi
