/* main.c - dagctl: one binary, one verb per command (the table: verbs.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: dagctl [--home DIR] [--dags DIR] [--config FILE] [--no-color] VERB [ARGS]\n\n"
          "verbs:\n");
  for (size_t i = 0; i < cli_n_verbs; i++)
    fprintf(out, "  %-10s %s\n", cli_verbs[i].name, cli_verbs[i].summary);
  fprintf(out,
          "\n`dagctl VERB --help` describes a verb. State lives in DAGCTL_HOME "
          "(default ./.dagctl);\nDAG files in DAGCTL_DAGS (default ./dags).\n");
}

/* Split a space-separated list of the verb table into a JSON array. */
static json_t *words(const char *list) {
  json_t *a = json_array();
  for (const char *p = list; p && *p;) {
    while (*p == ' ') p++;
    size_t n = strcspn(p, " ");
    if (n) json_array_append_new(a, json_stringn(p, n));
    p += n;
  }
  return a;
}

int cmd_help(struct cli *c, int argc, char **argv) {
  static const char help_usage[] = "dagctl help [--json]";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      c->json = true;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: %s\n\nLists the verbs; with --json, each with its subcommands, "
             "arguments and\nflags, and whether it prints data (and so takes --json).\n",
             help_usage);
      return CLI_OK;
    } else
      return cli_usage_error(help_usage, "unexpected argument '%s'", argv[i]);
  }
  if (!c->json) {
    usage(stdout);
    return CLI_OK;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < cli_n_verbs; i++) {
    const struct cli_verb *v = &cli_verbs[i];
    json_t *flags = words(v->flags), *common = words(CLI_COMMON_FLAGS);
    json_array_extend(flags, common);
    json_decref(common);
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "name", v->name, "summary", v->summary,
                       "subcommands", words(v->subs), "args", words(v->args), "flags", flags,
                       "json", v->json));
  }
  cli_print_json(arr);
  return CLI_OK;
}

int cmd_version(struct cli *c, int argc, char **argv) {
  static const char version_usage[] = "dagctl version [--json]";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      c->json = true;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: %s\n\nPrints dagctl's version.\n", version_usage);
      return CLI_OK;
    } else
      return cli_usage_error(version_usage, "unexpected argument '%s'", argv[i]);
  }
  if (c->json)
    cli_print_json(json_pack("{s:s}", "version", DAGCTL_VERSION));
  else
    printf("dagctl %s\n", DAGCTL_VERSION);
  return CLI_OK;
}

int main(int argc, char **argv) {
  struct cli c;
  memset(&c, 0, sizeof(c));

  /* Global options may come before the verb too. */
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0) {
      usage(stdout);
      return CLI_OK;
    }
    if (strcmp(opt, "--version") == 0) {
      printf("dagctl %s\n", DAGCTL_VERSION);
      return CLI_OK;
    }
    if (strcmp(opt, "--no-color") == 0) {
      c.no_color = true;
      continue;
    }
    const char *val = strchr(opt, '=');
    const char *arg = NULL;
    size_t len = val ? (size_t)(val - opt) : strlen(opt);
    if (val)
      arg = val + 1;
    else if (i + 1 < argc)
      arg = argv[++i];
    if (!arg) return cli_usage_error("dagctl [--home DIR] VERB", "%s needs a value", opt);
    if (len == 6 && strncmp(opt, "--home", len) == 0)
      c.flags.home = arg;
    else if (len == 6 && strncmp(opt, "--dags", len) == 0)
      c.flags.dags_folder = arg;
    else if (len == 8 && strncmp(opt, "--config", len) == 0)
      c.flags.config_file = arg;
    else
      return cli_usage_error("dagctl [--home DIR] [--dags DIR] [--config FILE] VERB",
                             "unknown option %.*s", (int)len, opt);
  }
  if (i >= argc) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *verb = argv[i];
  /* The child process of a plugin task, and the completion scripts'
   * helper; not for people, so not listed. */
  int (*hidden)(struct cli *, int, char **) = strcmp(verb, "__task") == 0       ? cmd_task
                                              : strcmp(verb, "__complete") == 0 ? cmd_complete
                                                                                : NULL;
  if (hidden) {
    int rc = hidden(&c, argc - i, argv + i);
    cli_close(&c);
    return rc;
  }
  for (size_t k = 0; k < cli_n_verbs; k++) {
    if (strcmp(verb, cli_verbs[k].name) == 0) {
      int rc = cli_verbs[k].run(&c, argc - i, argv + i);
      cli_close(&c);
      return rc;
    }
  }
  fprintf(stderr, "dagctl: unknown verb '%s'\n\n", verb);
  usage(stderr);
  return CLI_USAGE;
}
