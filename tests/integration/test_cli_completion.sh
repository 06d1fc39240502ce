#!/usr/bin/env bash
# Shell completion: `dagctl completion bash|zsh` load in bash and zsh and
# complete verbs, subcommands, flags, flag values, and the DAG, run and task
# ids of the home (also one given by --home on the line); run ids with ':'
# complete in bash, which splits words at ':'. The ids come from the hidden
# `dagctl __complete`, which opens the database read-only (never creates or
# changes it) and never prints a setting.
#
# bash: the completion function runs with COMP_LINE/COMP_POINT and
# COMP_WORDS/COMP_CWORD set as bash sets them. zsh: compinit must find and
# register the function from $fpath; it then runs with `words` and CURRENT
# set, and compadd (a builtin that only works inside the line editor)
# replaced by a function that prints what it is given.
. "$(dirname "$0")/lib.sh"
need bash zsh

mkdir -p "$TMP/bin" "$TMP/zfunc"
ln -s "$DAGCTL_BIN" "$TMP/bin/dagctl"
export PATH=$TMP/bin:$PATH
dagctl completion bash >"$TMP/dagctl.bash"
dagctl completion zsh >"$TMP/zfunc/_dagctl"
bash -n "$TMP/dagctl.bash" || fail "bash script does not parse"
zsh -n "$TMP/zfunc/_dagctl" || fail "zsh script does not parse"
rc=0
dagctl completion fish >/dev/null 2>"$TMP/err" || rc=$?
assert_eq "$rc" 2 "completion fish"
grep -q "unknown shell 'fish' (bash or zsh)" "$TMP/err" || fail "completion fish: $(cat "$TMP/err")"

# A home with DAGs and runs, and a secret in the environment.
export DAGCTL__SMTP__PASSWORD=hunter2-secret-value
write_dag alpha <<EOF
dag_id: alpha
tasks:
  - {id: extract, command: echo e}
  - {id: load, command: echo l, upstream: extract}
EOF
write_dag beta <<EOF
dag_id: beta
tasks:
  - {id: only, command: echo b}
EOF
dagctl test alpha --quiet >/dev/null 2>&1
dagctl test beta --quiet >/dev/null 2>&1
arun=$(sql "SELECT run_id FROM dag_run WHERE dag_id = 'alpha'")
case $arun in *:*) ;; *) fail "run id without ':' ($arun): the test needs one" ;; esac
db_sum=$(sha256sum <"$DAGCTL_HOME/dagctl.db")

# bash_complete LINE: the candidates, sorted, on one line.
bash_complete() {
  bash --norc --noprofile -c '
    source "$1"
    complete -p dagctl >/dev/null || { echo "not registered"; exit 1; }
    COMP_LINE=$2
    COMP_POINT=${#2}
    # COMP_WORDS as bash splits them: at white space and at COMP_WORDBREAKS.
    words=$(printf "%s" "$2" | sed "s/\([:=]\)/ \1 /g")
    read -ra COMP_WORDS <<<"$words"
    case $2 in *" ") COMP_WORDS+=("") ;; esac
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _dagctl dagctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    [ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
  ' _ "$TMP/dagctl.bash" "$1"
}
zsh_complete() {
  ZDOTDIR=$TMP zsh -f -c '
    fpath=("$1" $fpath)
    autoload -U compinit && compinit -u -d "$2/zcompdump"
    [[ $_comps[dagctl] == _dagctl ]] || { print "not registered: $_comps[dagctl]"; exit 1; }
    compadd() {
      while (( $# )); do [[ $1 == -- ]] && { shift; print -rl -- "$@"; return 0; }; shift; done
    }
    words=(${(z)3})
    [[ $3 == *" " ]] && words+=("")
    CURRENT=${#words}
    _dagctl | sort | tr "\n" " "
  ' _ "$TMP/zfunc" "$TMP" "$1"
}
# expect LINE BASH-ANSWER [ZSH-ANSWER]: both shells' candidates (zsh's the
# same as bash's unless given: bash wants only what follows a ':' or '=').
expect() {
  local got
  got=$(bash_complete "$1")
  assert_eq "$got" "$2" "bash completion of '$1'"
  got=$(zsh_complete "$1")
  assert_eq "$got" "${3:-$2}" "zsh completion of '$1'"
}

all_verbs=$(dagctl help --json | pyjson 'sorted(v["name"] for v in d)' | tr '\n' ' ')
expect "dagctl " "$all_verbs"
expect "dagctl r" "runs "
expect "dagctl --home $DAGCTL_HOME ru" "runs "
expect "dagctl dags " "list pause source unpause versions "
expect "dagctl dags pause " "alpha beta "
expect "dagctl completion " "bash zsh "
expect "dagctl config s" "show "
expect "dagctl runs --s" "--since= --state= "
expect "dagctl runs --state f" "failed "
expect "dagctl runs --state=s" "success " "--state=success "
expect "dagctl runs --dag " "alpha beta "
expect "dagctl runs --limit 3 " "alpha beta "
expect "dagctl logs --t" "--try= "
expect "dagctl tasks " "alpha beta "
expect "dagctl tasks a" "alpha "
expect "dagctl tasks alpha " "$arun "
# bash replaces only what follows the last ':' of the word.
cur=${arun%:*}
expect "dagctl tasks alpha $cur" "${arun#"${cur%:*}:"} " "$arun "
expect "dagctl logs alpha $arun " "extract load "
expect "dagctl logs alpha $arun l" "load "
expect "dagctl clear beta $(sql "SELECT run_id FROM dag_run WHERE dag_id = 'beta'") " "only "
expect "dagctl tasks nosuchdag " ""
# Another home, named on the line: its ids, not DAGCTL_HOME's.
other=$TMP/other
mkdir -p "$other/dags"
cp "$DAGCTL_DAGS/beta.yaml" "$other/dags/gamma.yaml"
sed -i 's/dag_id: beta/dag_id: gamma/' "$other/dags/gamma.yaml"
dagctl --home "$other" --dags "$other/dags" test gamma --quiet >/dev/null 2>&1
expect "dagctl --home $other tasks " "gamma "
expect "dagctl tasks --home=$other " "gamma "
# A home without a database: nothing, and none is created.
expect "dagctl --home $TMP/empty tasks " ""
[ ! -e "$TMP/empty/dagctl.db" ] || fail "completion created a database"

# The helper itself: ids only, the database untouched, no secret anywhere.
assert_eq "$(dagctl __complete dag | tr '\n' ' ')" "alpha beta " "__complete dag"
assert_eq "$(dagctl __complete state | tr '\n' ' ')" "queued running success failed " "__complete state"
rc=0
dagctl __complete bogus >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "__complete bogus"
assert_eq "$(sha256sum <"$DAGCTL_HOME/dagctl.db")" "$db_sum" "database after completion"
for s in "$TMP/dagctl.bash" "$TMP/zfunc/_dagctl"; do
  ! grep -q hunter2 "$s" || fail "$s holds the secret"
done
! { dagctl __complete dag; dagctl __complete run alpha; dagctl __complete task alpha "$arun"; } |
  grep -q hunter2 || fail "__complete printed the secret"
# `help` does not list the hidden helper, nor does completion offer it.
! dagctl help | grep -q __complete || fail "help lists __complete"
log "ok"
