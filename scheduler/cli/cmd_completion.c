/* cmd_completion.c - `dagctl completion bash|zsh`: completion scripts
 * generated from the verb table (verbs.c), and `dagctl __complete`, the
 * hidden helper through which they complete DAG, run and task ids.
 *
 * Both scripts share one candidate function, written in the common subset
 * of bash and zsh (no array indexing, no word splitting of variables): each
 * shell's wrapper only turns its own idea of the command line into words
 * and the candidates into its own reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"

static const char usage[] = "dagctl completion bash|zsh";

/* Print each word of a space-separated list as a shell-quoted argument. */
static void print_words(FILE *out, const char *list) {
  for (const char *p = list; p && *p;) {
    while (*p == ' ') p++;
    size_t n = strcspn(p, " ");
    /* The table's words are flags and names: no quote can occur, and
     * single quotes keep the shell from reading anything in them. */
    if (n) fprintf(out, " '%.*s'", (int)n, p);
    p += n;
  }
}

/* The verb table as shell functions both shells read alike. */
static void print_tables(FILE *out) {
  fputs("_dagctl_verbs() {\n  printf '%s\\n'", out);
  for (size_t i = 0; i < cli_n_verbs; i++) fprintf(out, " '%s'", cli_verbs[i].name);
  fputs("\n}\n", out);

  fputs("_dagctl_flags() {\n  case $1 in\n", out);
  for (size_t i = 0; i < cli_n_verbs; i++) {
    fprintf(out, "    %s) printf '%%s\\n'", cli_verbs[i].name);
    print_words(out, cli_verbs[i].flags);
    print_words(out, CLI_COMMON_FLAGS);
    fputs(" ;;\n", out);
  }
  fputs("    *) printf '%s\\n'", out);
  print_words(out, CLI_COMMON_FLAGS);
  fputs(" ;;\n  esac\n}\n", out);

  fputs("_dagctl_subs() {\n  case $1 in\n", out);
  for (size_t i = 0; i < cli_n_verbs; i++) {
    if (!cli_verbs[i].subs) continue;
    fprintf(out, "    %s) printf '%%s\\n'", cli_verbs[i].name);
    print_words(out, cli_verbs[i].subs);
    fputs(" ;;\n", out);
  }
  fputs("    *) return 1 ;;\n  esac\n}\n", out);

  /* _dagctl_arg VERB N: the kind of the Nth argument after the subcommand. */
  fputs("_dagctl_arg() {\n  case \"$1 $2\" in\n", out);
  for (size_t i = 0; i < cli_n_verbs; i++) {
    const char *p = cli_verbs[i].args;
    for (int k = 1; p && *p; k++) {
      while (*p == ' ') p++;
      size_t n = strcspn(p, " ");
      if (n) fprintf(out, "    '%s %d') echo %.*s ;;\n", cli_verbs[i].name, k, (int)n, p);
      p += n;
    }
  }
  fputs("    *) echo none ;;\n  esac\n}\n", out);

  /* _dagctl_valued VERB FLAG: does FLAG take a value? */
  fputs("_dagctl_valued() {\n  case \"$1 $2\" in\n", out);
  for (size_t i = 0; i < cli_n_verbs; i++) {
    const char *p = cli_verbs[i].flags;
    while (p && *p) {
      while (*p == ' ') p++;
      size_t n = strcspn(p, " ");
      if (n > 1 && p[n - 1] == '=')
        fprintf(out, "    '%s %.*s') return 0 ;;\n", cli_verbs[i].name, (int)(n - 1), p);
      p += n;
    }
  }
  fputs("    *' --home' | *' --dags' | *' --config') return 0 ;;\n"
        "  esac\n  return 1\n}\n",
        out);
}

/* _dagctl_cands CUR WORD...: the words before the cursor (the command
 * first) in, candidates for CUR out: _dagctl_out (one per line) and
 * _dagctl_want ("file" or "dir" when the shell should complete paths). */
static const char cands_fn[] =
    "_dagctl_keep() {\n"
    "  local c\n"
    "  while IFS= read -r c; do\n"
    "    [[ -n $c && $c == \"$1\"* ]] && printf '%s%s\\n' \"$2\" \"$c\"\n"
    "  done\n"
    "}\n"
    "_dagctl_ids() {\n"
    "  \"$_dagctl_bin\" ${h_home:+--home=\"$h_home\"} ${h_dags:+--dags=\"$h_dags\"} \\\n"
    "    ${h_config:+--config=\"$h_config\"} __complete \"$@\" 2>/dev/null\n"
    "}\n"
    "_dagctl_cands() {\n"
    "  local cur=$1 verb= sub= w skip=0 n=0 p1= p2= prev= kind= flag= pre=\n"
    "  local h_home= h_dags= h_config=\n"
    "  _dagctl_bin=$2\n"
    "  _dagctl_out= _dagctl_want=\n"
    "  shift 2\n"
    "  while [ $# -gt 0 ]; do\n"
    "    w=$1\n"
    "    shift\n"
    "    if [ $skip = 1 ]; then\n"
    "      case $prev in\n"
    "        --home) h_home=$w ;; --dags) h_dags=$w ;; --config) h_config=$w ;;\n"
    "      esac\n"
    "      skip=0\n"
    "      prev=$w\n"
    "      continue\n"
    "    fi\n"
    "    case $w in\n"
    "      --home=*) h_home=${w#*=} ;;\n"
    "      --dags=*) h_dags=${w#*=} ;;\n"
    "      --config=*) h_config=${w#*=} ;;\n"
    "      -*=*) ;;\n"
    "      -*) _dagctl_valued \"$verb\" \"$w\" && skip=1 ;;\n"
    "      *)\n"
    "        if [ -z \"$verb\" ]; then verb=$w\n"
    "        elif [ -z \"$sub\" ] && _dagctl_subs \"$verb\" >/dev/null; then sub=$w\n"
    "        else\n"
    "          n=$((n + 1))\n"
    "          case $n in 1) p1=$w ;; 2) p2=$w ;; esac\n"
    "        fi ;;\n"
    "    esac\n"
    "    prev=$w\n"
    "  done\n"
    "  # A flag's value: after the flag, or after FLAG= in the same word.\n"
    "  if [ $skip = 1 ]; then flag=$prev\n"
    "  else\n"
    "    case $cur in --*=*) flag=${cur%%=*} pre=$flag= cur=${cur#*=} ;; esac\n"
    "  fi\n"
    "  if [ -n \"$flag\" ]; then\n"
    "    case $flag in\n"
    "      --home | --dags) _dagctl_want=dir ;;\n"
    "      --config | --output) _dagctl_want=file ;;\n"
    "      --dag) _dagctl_out=$(_dagctl_ids dag | _dagctl_keep \"$cur\" \"$pre\") ;;\n"
    "      --state) _dagctl_out=$(_dagctl_ids state | _dagctl_keep \"$cur\" \"$pre\") ;;\n"
    "    esac\n"
    "    return 0\n"
    "  fi\n"
    "  case $cur in\n"
    "    -*) _dagctl_out=$(_dagctl_flags \"$verb\" | _dagctl_keep \"$cur\" \"\"); return 0 ;;\n"
    "  esac\n"
    "  if [ -z \"$verb\" ]; then\n"
    "    _dagctl_out=$(_dagctl_verbs | _dagctl_keep \"$cur\" \"\")\n"
    "    return 0\n"
    "  fi\n"
    "  if [ -z \"$sub\" ] && _dagctl_subs \"$verb\" >/dev/null; then\n"
    "    _dagctl_out=$(_dagctl_subs \"$verb\" | _dagctl_keep \"$cur\" \"\")\n"
    "    return 0\n"
    "  fi\n"
    "  kind=$(_dagctl_arg \"$verb\" $((n + 1)))\n"
    "  case $kind in\n"
    "    dag) _dagctl_out=$(_dagctl_ids dag | _dagctl_keep \"$cur\" \"\") ;;\n"
    "    run) _dagctl_out=$(_dagctl_ids run \"$p1\" | _dagctl_keep \"$cur\" \"\") ;;\n"
    "    task) _dagctl_out=$(_dagctl_ids task \"$p1\" \"$p2\" | _dagctl_keep \"$cur\" \"\") ;;\n"
    "    file) _dagctl_want=file ;;\n"
    "  esac\n"
    "  return 0\n"
    "}\n";

static const char bash_wrapper[] =
    "# Words are split at white space from the line itself, not from\n"
    "# COMP_WORDS, which bash also splits at ':' and '=' (run ids hold ':').\n"
    "_dagctl() {\n"
    "  local line=${COMP_LINE:0:COMP_POINT} cur= i\n"
    "  local -a w\n"
    "  read -ra w <<<\"$line\"\n"
    "  case $line in\n"
    "    *[[:space:]]) cur= ;;\n"
    "    *) cur=${w[${#w[@]}-1]}; unset 'w[${#w[@]}-1]' ;;\n"
    "  esac\n"
    "  _dagctl_cands \"$cur\" \"${w[@]}\"\n"
    "  COMPREPLY=()\n"
    "  case $_dagctl_want in\n"
    "    file) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); return 0 ;;\n"
    "    dir) mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); return 0 ;;\n"
    "  esac\n"
    "  [ -n \"$_dagctl_out\" ] && mapfile -t COMPREPLY <<<\"$_dagctl_out\"\n"
    "  # bash replaces only what follows the last ':' or '=' of the word.\n"
    "  local head=${cur%\"${cur##*[:=]}\"}\n"
    "  for i in \"${!COMPREPLY[@]}\"; do\n"
    "    COMPREPLY[i]=${COMPREPLY[i]#\"$head\"}\n"
    "  done\n"
    "  # A flag that takes a value: no space after its '='.\n"
    "  if [ ${#COMPREPLY[@]} = 1 ] && [[ ${COMPREPLY[0]} == *= ]]; then\n"
    "    compopt -o nospace 2>/dev/null\n"
    "  fi\n"
    "  return 0\n"
    "}\n"
    "complete -F _dagctl dagctl\n";

static const char zsh_wrapper[] =
    "_dagctl_zsh() {\n"
    "  local -a cands\n"
    "  _dagctl_cands \"${words[CURRENT]}\" \"${(@)words[1,CURRENT-1]}\"\n"
    "  case $_dagctl_want in\n"
    "    file) _files; return ;;\n"
    "    dir) _files -/; return ;;\n"
    "  esac\n"
    "  cands=(${(f)_dagctl_out})\n"
    "  local -a valued plain\n"
    "  valued=(${(M)cands:#*=})\n"
    "  plain=(${cands:#*=})\n"
    "  (( ${#valued} )) && compadd -S '' -- \"${valued[@]}\"\n"
    "  (( ${#plain} )) && compadd -- \"${plain[@]}\"\n"
    "  return 0\n"
    "}\n"
    "# Autoloaded from $fpath (as _dagctl), this file is the body of _dagctl;\n"
    "# sourced, it registers the function with compdef.\n"
    "if [[ $funcstack[1] == _dagctl ]]; then\n"
    "  _dagctl_zsh \"$@\"\n"
    "else\n"
    "  compdef _dagctl_zsh dagctl\n"
    "fi\n";

int cmd_completion(struct cli *c, int argc, char **argv) {
  (void)c;
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: %s\n\n"
           "Prints a completion script for the shell, generated from dagctl's verb\n"
           "table: verbs, subcommands, flags, and DAG, run and task ids read from\n"
           "the home (read-only; nothing but ids is printed). Load it with\n"
           "  bash: source <(dagctl completion bash)   (or save it in\n"
           "        ~/.local/share/bash-completion/completions/dagctl)\n"
           "  zsh:  dagctl completion zsh > ~/.zfunc/_dagctl  (a folder in $fpath,\n"
           "        before compinit), or source <(dagctl completion zsh) after compinit\n",
           usage);
    return CLI_OK;
  }
  if (argc != 2) return cli_usage_error(usage, "expected the shell: bash or zsh");
  bool zsh = strcmp(argv[1], "zsh") == 0;
  if (!zsh && strcmp(argv[1], "bash") != 0)
    return cli_usage_error(usage, "unknown shell '%s' (bash or zsh)", argv[1]);
  if (zsh) fputs("#compdef dagctl\n", stdout);
  printf("# %s completion for dagctl %s, generated by `dagctl completion %s`.\n",
         argv[1], DAGCTL_VERSION, argv[1]);
  print_tables(stdout);
  fputs(cands_fn, stdout);
  fputs(zsh ? zsh_wrapper : bash_wrapper, stdout);
  return CLI_OK;
}

/* --- __complete -------------------------------------------------------------- */

/* Ids only, one per line, from the store opened read-only: completion must
 * never create, migrate or lock a home, and never prints a setting. Any
 * problem prints nothing (the shell has no place to show it). */
int cmd_complete(struct cli *c, int argc, char **argv) {
  if (argc < 2) return CLI_USAGE;
  const char *kind = argv[1];
  if (strcmp(kind, "state") == 0) {
    for (int s = 0; s < DAG_RUN__COUNT; s++) printf("%s\n", dag_run_state_name(s));
    return CLI_OK;
  }
  bool is_dag = strcmp(kind, "dag") == 0, is_run = strcmp(kind, "run") == 0,
       is_task = strcmp(kind, "task") == 0;
  if (!is_dag && !(is_run && argc == 3) && !(is_task && argc == 4)) return CLI_USAGE;
  /* Quiet: a broken config file must not spill into the command line. */
  if (!freopen("/dev/null", "w", stderr)) return CLI_CONFIG;
  if (cli_open_readonly(c) != 0) return CLI_CONFIG;
  if (is_dag) {
    struct dag_store_dag *d = NULL;
    size_t n = 0;
    if (dag_store_list_dags_brief(c->store, &d, &n) != 0) return CLI_CONFIG;
    for (size_t i = 0; i < n; i++) printf("%s\n", d[i].dag_id);
    dag_store_dags_free(d, n);
    return CLI_OK;
  }
  if (is_run) {
    struct dag_store_run_filter f = {.dag_id = argv[2], .limit = 500};
    struct dag_store_run *r = NULL;
    size_t n = 0;
    if (dag_store_find_runs(c->store, &f, &r, &n) != 0) return CLI_CONFIG;
    for (size_t i = 0; i < n; i++) printf("%s\n", r[i].run_id);
    dag_store_runs_free(r, n);
    return CLI_OK;
  }
  struct dag_store_run run;
  if (dag_store_get_run(c->store, argv[2], argv[3], &run) != 0) return CLI_NOTFOUND;
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  int rc = dag_store_list_tis(c->store, run.pk, &tis, &n);
  if (rc == 0) json_decref(cli_sort_tis(c, run.dag_id, tis, n));
  for (size_t i = 0; i < n; i++) printf("%s\n", tis[i].task_id);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
  return rc ? CLI_CONFIG : CLI_OK;
}
