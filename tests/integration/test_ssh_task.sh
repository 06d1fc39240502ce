#!/usr/bin/env bash
# test_ssh_task.sh - the ssh task type run by the real scheduler against a
# real OpenSSH server this test starts (sshd in a temporary folder on a
# free high port, as the user running the test): key authentication, args
# handed over as quoted words (a value built to run a second command stays
# one word), the exit status deciding the try, stdout in XCom, and the host
# key checked against known_hosts (an unknown key and a changed key refuse
# the connection before the command runs).
. "$(dirname "$0")/lib.sh"
need ssh-keygen
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || fail "missing tool: sshd (run .ci/install-deps.sh test: openssh-server)"
[ -e "$DAGCTL_BUILD_DIR/plugins/ssh.so" ] || fail "ssh.so is not built"

S=$TMP/sshd
mkdir -p "$S"
chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/other_host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/client_key"
cp "$S/client_key.pub" "$S/authorized_keys"
chmod 600 "$S/authorized_keys"
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ME=$(id -un)
# As root, sshd wants its privilege separation folder.
[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
# start_sshd HOST_KEY: sshd in the foreground of a background job.
start_sshd() {
  cat >"$S/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $1
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
EOF
  "$SSHD" -D -e -f "$S/sshd_config" >>"$TMP/sshd.log" 2>&1 &
  SSHD_PID=$!
  SCHED_PIDS+=("$SSHD_PID") # killed by lib.sh's cleanup
  disown "$SSHD_PID"
  wait_for "ssh-keyscan -p $PORT -T 1 127.0.0.1 2>/dev/null | grep -q ssh-ed25519" 10
}
start_sshd "$S/host_key"
# Trusted: the key as an administrator would record it.
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$S/host_key.pub")" >"$TMP/known_hosts"
cat >>"$DAGCTL_HOME/dagctl.yaml" <<EOF
ssh:
  known_hosts: $TMP/known_hosts
  private_key_file: $S/client_key
EOF

write_dag remote <<EOF
dag_id: remote
params: {evil: "x'; touch $TMP/pwned; echo '"}
default_args: {email_on_failure: false}
tasks:
  - id: hello
    type: ssh
    host: 127.0.0.1
    port: $PORT
    username: $ME
    command: echo "day=\$1 evil=\$2"; echo to stderr >&2
    args: ["{{ ds }}", "{{ params.evil }}"]
  - id: fails
    type: ssh
    host: 127.0.0.1
    port: $PORT
    username: $ME
    command: echo before; exit 3
EOF
start_scheduler remote
run=$(trigger remote)
assert_eq "$(wait_run remote "$run" 60)" failed "remote run"
assert_eq "$(task_state remote "$run" hello)" success "hello"
assert_eq "$(task_state remote "$run" fails)" failed "fails"
ds=${run#manual__}
ds=${ds:0:10}
xcom() {
  sql "SELECT x.value FROM xcom x JOIN dag_run r ON r.id = x.run_pk
       WHERE r.run_id = '$1' AND x.task_id = '$2' AND x.key = '$3'"
}
assert_eq "$(xcom "$run" hello return_value | pyjson d)" "day=$ds evil=x'; touch $TMP/pwned; echo '" "hello stdout"
assert_eq "$(xcom "$run" hello exit_status)" 0 "hello exit_status"
assert_eq "$(xcom "$run" fails exit_status)" 3 "fails exit_status"
[ ! -e "$TMP/pwned" ] || fail "an arg ran as a command"
log=$DAGCTL_HOME/logs/remote/$run/hello/1.log
grep -qF "stderr: to stderr" "$log" || fail "no stderr in the log: $(cat "$log")"
grep -qF "exit status 3" "$DAGCTL_HOME/logs/remote/$run/fails/1.log" || fail "no exit status in the log"

# An unknown host key: refused, nothing runs.
: >"$TMP/known_hosts"
run=$(trigger remote)
assert_eq "$(wait_run remote "$run" 60)" failed "run with an unknown host key"
assert_eq "$(task_state remote "$run" hello)" failed "hello, unknown key"
grep -qF "unknown host key: refused" "$DAGCTL_HOME/logs/remote/$run/hello/1.log" ||
  fail "unknown key log: $(cat "$DAGCTL_HOME/logs/remote/$run/hello/1.log")"
assert_eq "$(xcom "$run" hello exit_status)" "" "no command ran with an unknown key"

# A changed host key (another server on the same address): refused.
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$S/host_key.pub")" >"$TMP/known_hosts"
kill "$SSHD_PID"
wait_for "! proc_alive $SSHD_PID" 10
start_sshd "$S/other_host_key"
run=$(trigger remote)
assert_eq "$(wait_run remote "$run" 60)" failed "run with a changed host key"
grep -qF "the host key CHANGED" "$DAGCTL_HOME/logs/remote/$run/hello/1.log" ||
  fail "changed key log: $(cat "$DAGCTL_HOME/logs/remote/$run/hello/1.log")"
assert_eq "$(xcom "$run" hello exit_status)" "" "no command ran with a changed key"

# Misuse is a located error.
write_dag bad <<'EOF'
dag_id: bad
tasks:
  - id: a
    type: ssh
    host: h
    comand: "true"
    args: "{{ ds }}x"
EOF
out=$(dagctl validate "$DAGCTL_DAGS/bad.yaml" 2>&1) && fail "bad.yaml validated"
f=$DAGCTL_DAGS/bad.yaml
grep -qxF "$f:6:5: tasks[0].comand: unknown key 'comand' (did you mean 'command'?)" <<<"$out" ||
  fail "no comand error: $out"
grep -qxF "$f:3:5: tasks[0].command: required key is missing (task type ssh needs it)" <<<"$out" ||
  fail "no command error: $out"
