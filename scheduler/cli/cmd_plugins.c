/* cmd_plugins.c - `dagctl plugins`: what task types are installed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plugin_params.h"
#include "plugins.h"

static const char usage[] = "dagctl plugins [--json]";

/* One declared param, and its fields (minor 4) indented below it. */
static void print_param(const struct dag_plugin_param *d, int indent) {
  printf("%*s%-*s %s%s%s%s%s%s\n", indent, "", 26 - indent, d->name,
         dag_param_type_key(d->type), d->flags & DAGCTL_PARAM_REQUIRED ? ", required" : "",
         d->default_value ? ", default " : "", d->default_value ? d->default_value : "",
         *d->description ? ": " : "", d->description);
  for (size_t i = 0; i < d->n_fields; i++)
    print_param(&d->fields[i], indent + 2);
}

int cmd_plugins(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON}, CLI_COMMON_OPTIONS, {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("usage: %s\n\nLists the plugins in the plugins folder (core.plugins_folder,\n"
             "default: 'plugins' beside the dagctl binary) and the task types they\n"
             "provide, with the parameters each type declares. A plugin that cannot be\n"
             "loaded is listed with the reason (exit 1).\n",
             usage);
      return CLI_OK;
    }
    if (opt == OPT_JSON)
      c->json = true;
    else if (!cli_common_option(c, opt, optarg))
      return cli_usage_error(usage, "bad option");
  }
  if (optind != argc) return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
  /* The check of the plugins' config sections runs this verb: it must not
   * wait for itself. */
  c->plugin_sections_later = true;
  int rc = cli_load_config(c);
  if (rc) return rc;
  char *folder = dag_plugins_folder(c->cfg.plugins_folder);
  struct dag_plugin_info *p = NULL;
  size_t n = 0;
  dag_plugins_scan(folder, &p, &n);
  int broken = 0;
  if (c->json) {
    /* The scheduler reads this to check plugin tasks' params: see
     * dag_plugin_catalog_update(). */
    json_t *arr = dag_plugins_to_json(p, n);
    for (size_t i = 0; i < n; i++) broken += p[i].error != NULL;
    cli_print_json(arr);
  } else {
    printf("plugins folder: %s\n", folder);
    if (n == 0) printf("(no plugins installed)\n");
    for (size_t i = 0; i < n; i++) {
      if (p[i].error) {
        printf("%s: %s\n", p[i].path, p[i].error);
        broken++;
        continue;
      }
      printf("%s %s (%s)\n", p[i].name, p[i].version, p[i].path);
      for (size_t k = 0; k < p[i].n_types; k++) {
        const struct dag_plugin_type *t = &p[i].types[k];
        printf("  %-24s %s\n", t->name, t->description);
        for (size_t j = 0; j < t->n_params; j++)
          print_param(&t->params[j], 6);
      }
      for (size_t k = 0; k < p[i].n_sections; k++) {
        const struct dag_config_section_decl *s = &p[i].sections[k];
        printf("  config section %s: %s\n", s->name, s->description);
        for (size_t j = 0; j < s->n_keys; j++) {
          const struct dag_config_key_decl *d = &s->keys[j];
          printf("      %-20s %s%s%s%s%s%s%s%s%s\n", d->key,
                 dag_config_setting_type_key(d->type), d->choices ? " (" : "",
                 d->choices ? d->choices : "", d->choices ? ")" : "",
                 d->flags & DAGCTL_SETTING_SECRET ? ", secret" : "",
                 d->default_value ? ", default " : "", d->default_value ? d->default_value : "",
                 *d->description ? ": " : "", d->description);
        }
      }
    }
  }
  /* Two plugins that declare one config section differently: the user
   * must hear of it here too, not only when the settings are checked. */
  struct dag_plugin_catalog cat;
  memset(&cat, 0, sizeof(cat));
  cat.plugins = p;
  cat.n = n;
  dag_plugin_catalog_merge_sections(&cat);
  if (cat.sections_error) {
    fprintf(stderr, "dagctl: %s\n", cat.sections_error);
    broken++;
  }
  cat.plugins = NULL;
  cat.n = 0;
  dag_plugin_catalog_free(&cat);
  dag_plugins_free(p, n);
  free(folder);
  return broken ? CLI_FAILED : CLI_OK;
}
