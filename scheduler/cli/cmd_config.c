/* cmd_config.c - `dagctl config check|show`: the settings as the scheduler
 * would load them, checked without starting anything. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cli.h"
#include "plugins.h"
#include "strbuf.h"
#include "yaml_doc.h"

extern char **environ;

static const char usage[] = "dagctl config check|show [--config FILE] [--json]";

/* Where a key sits in the config file. */
struct file_key {
  char *section;
  char *key;
  int line, col;
};

struct file_keys {
  struct file_key *items;
  size_t n, cap;
};

static void file_keys_free(struct file_keys *fk) {
  for (size_t i = 0; i < fk->n; i++) {
    free(fk->items[i].section);
    free(fk->items[i].key);
  }
  free(fk->items);
}

/* Record where each `section: {key: value}` of the file is. Only called
 * after dag_config_load() accepted the file, so its shape is known good;
 * anything else is skipped, never reported twice. */
static void scan_file(const char *path, struct file_keys *fk) {
  static const struct dag_yaml_options opts = {.as_written = true,
                                               .caller_reports_syntax = true};
  struct dag_diags ignored = DAG_DIAGS_INIT;
  struct dag_yaml_ctx ctx;
  struct dag_ydoc doc;
  dag_yaml_ctx_init(&ctx, path, &ignored);
  const struct dag_ynode *root = NULL;
  if (dag_yaml_parse_file(&ctx, path, &opts, &doc) == 0) root = doc.root;
  for (size_t p = 0; root && root->kind == DAG_YN_MAP && p < root->n / 2; p++) {
    const struct dag_ynode *sk = DAG_YN_KEY(root, p), *sv = DAG_YN_VAL(root, p);
    if (sk->kind != DAG_YN_SCALAR || sv->kind != DAG_YN_MAP) continue;
    for (size_t q = 0; q < sv->n / 2; q++) {
      const struct dag_ynode *k = DAG_YN_KEY(sv, q), *v = DAG_YN_VAL(sv, q);
      if (k->kind != DAG_YN_SCALAR) continue;
      fk->items = xgrow(fk->items, &fk->cap, fk->n + 1, sizeof(*fk->items));
      struct file_key *e = &fk->items[fk->n++];
      e->section = xstrdup(sk->value);
      e->key = xstrdup(k->value);
      e->line = v->line;
      e->col = v->col;
    }
  }
  dag_ydoc_free(&doc);
  dag_diags_free(&ignored);
}

static const struct file_key *find_file_key(const struct file_keys *fk, const char *section,
                                            const char *key) {
  for (size_t i = 0; i < fk->n; i++)
    if (strcmp(fk->items[i].section, section) == 0 && strcmp(fk->items[i].key, key) == 0)
      return &fk->items[i];
  return NULL;
}

/* The DAGCTL__SECTION__KEY variable that set a setting, spelled as in the
 * environment (the loader ignores case); NULL if none. Borrowed. */
static const char *find_env(const char *section, const char *key) {
  char *want = xasprintf("DAGCTL__%s__%s", section, key);
  size_t len = strlen(want);
  const char *found = NULL;
  for (char **e = environ; e && *e && !found; e++)
    if (strncasecmp(*e, want, len) == 0 && (*e)[len] == '=') found = *e;
  free(want);
  return found;
}

/* Where an item's value came from, by the loader's precedence: flags, then
 * the environment, then the file, then the built-in default. Caller frees. */
static char *item_source(const struct cli *c, const struct file_keys *fk,
                         const struct dag_config_item *it) {
  if (strcmp(it->section, "core") == 0 && strcmp(it->key, "dags_folder") == 0) {
    const char *d = getenv("DAGCTL_DAGS");
    if (c->flags.dags_folder) return xstrdup("--dags");
    if (d && *d) return xstrdup("DAGCTL_DAGS");
  }
  const char *keys[] = {it->key, it->alias};
  for (size_t i = 0; i < 2; i++) {
    const char *e = keys[i] ? find_env(it->section, keys[i]) : NULL;
    if (e) return xstrndup(e, strcspn(e, "="));
  }
  for (size_t i = 0; i < 2; i++) {
    const struct file_key *f = keys[i] ? find_file_key(fk, it->section, keys[i]) : NULL;
    if (f == NULL) continue;
    if (i == 0) return xasprintf("%s:%d:%d", c->cfg.config_file, f->line, f->col);
    return xasprintf("%s:%d:%d (%s.%s)", c->cfg.config_file, f->line, f->col, it->section,
                     it->alias);
  }
  return xstrdup(it->value ? "default" : "unset");
}

/* Unset core.plugins_folder means a folder found at run time; show it, as
 * it is the one setting whose default depends on where dagctl is installed. */
static void resolve_plugins_folder(struct dag_config_item *items, size_t n, char **sources) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(items[i].section, "core") != 0 || strcmp(items[i].key, "plugins_folder") != 0 ||
        items[i].value)
      continue;
    items[i].value = dag_plugins_folder(NULL);
    free(sources[i]);
    sources[i] = xstrdup("default (beside the dagctl binary)");
  }
}

static const char *home_source(const struct cli *c) {
  const char *h = getenv("DAGCTL_HOME");
  if (c->flags.home) return "--home";
  if (h && *h) return "DAGCTL_HOME";
  return "default";
}

static int show(struct cli *c) {
  struct file_keys fk = {0};
  if (c->cfg.config_file) scan_file(c->cfg.config_file, &fk);
  struct dag_config_item *items;
  size_t n;
  dag_config_items(&c->cfg, &items, &n);
  char **sources = xcalloc(n, sizeof(*sources));
  for (size_t i = 0; i < n; i++)
    sources[i] = item_source(c, &fk, &items[i]);
  resolve_plugins_folder(items, n, sources);

  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:o, s:b, s:s}", "section", items[i].section, "key",
                         items[i].key,
                         "value", items[i].value ? json_string(items[i].value) : json_null(),
                         "secret", items[i].secret, "source", sources[i]));
    json_t *doc = json_pack(
        "{s:s, s:s, s:o, s:o}", "home", c->cfg.home, "home_source", home_source(c),
        "config_file", c->cfg.config_file ? json_string(c->cfg.config_file) : json_null(),
        "settings", arr);
    cli_print_json(doc);
  } else {
    printf("# home: %s (%s)\n", c->cfg.home, home_source(c));
    if (c->cfg.config_file)
      printf("# config file: %s (%s)\n", c->cfg.config_file,
             c->flags.config_file ? "--config" : "DAGCTL_HOME/dagctl.yaml");
    else
      printf("# config file: none (no DAGCTL_HOME/dagctl.yaml)\n");
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
      sb_reset(&sb);
      sb_appendf(&sb, "%s.%s = %s", items[i].section, items[i].key,
                 items[i].value ? items[i].value : "(unset)");
      printf("%-56s # %s\n", sb_str(&sb), sources[i]);
    }
    sb_free(&sb);
  }
  for (size_t i = 0; i < n; i++)
    free(sources[i]);
  free(sources);
  dag_config_items_free(items, n);
  file_keys_free(&fk);
  return CLI_OK;
}

int cmd_config(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON}, CLI_COMMON_OPTIONS, {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("usage: %s\n\n"
             "check: load the settings exactly as the scheduler does (defaults, the\n"
             "config file, DAGCTL__SECTION__KEY variables, flags) and print every\n"
             "problem as FILE:LINE:COL: message (exit 4), or \"ok\" (exit 0).\n"
             "show: print every effective setting and where it came from (a flag,\n"
             "a variable, FILE:LINE:COL or default); secrets are printed as ***.\n"
             "--json: check prints {ok, config_file, problems: [{file, line, column,\n"
             "message}]}; show prints {home, home_source, config_file, settings}.\n",
             usage);
      return CLI_OK;
    }
    if (opt == OPT_JSON)
      c->json = true;
    else if (!cli_common_option(c, opt, optarg))
      return cli_usage_error(usage, "bad option");
  }
  if (optind >= argc) return cli_usage_error(usage, "expected check or show");
  const char *sub = argv[optind];
  bool is_check = strcmp(sub, "check") == 0;
  if (!is_check && strcmp(sub, "show") != 0)
    return cli_usage_error(usage, "unknown config command '%s'", sub);
  if (optind + 1 != argc)
    return cli_usage_error(usage, "unexpected argument '%s'", argv[optind + 1]);

  /* Not cli_load_config(): the problems are this verb's output, so they go
   * to standard output like `dagctl validate`'s. */
  struct dag_diags diags = DAG_DIAGS_INIT;
  int rc = dag_config_load(&c->cfg, &c->flags, environ, &diags);
  c->config_loaded = true;
  if (c->json && (rc || is_check)) {
    /* check's answer, or show's when there is nothing to show. */
    json_t *problems = json_array();
    for (size_t i = 0; i < diags.n; i++) {
      const struct dag_diag *d = &diags.items[i];
      json_array_append_new(problems, json_pack("{s:o, s:i, s:i, s:s}", "file",
                                                d->file ? json_string(d->file) : json_null(),
                                                "line", d->line, "column", d->col, "message",
                                                d->msg));
    }
    cli_print_json(json_pack("{s:b, s:o, s:o}", "ok", rc == 0, "config_file",
                             !rc && c->cfg.config_file ? json_string(c->cfg.config_file)
                                                       : json_null(),
                             "problems", problems));
    dag_diags_free(&diags);
    return rc ? CLI_CONFIG : CLI_OK;
  }
  if (rc) {
    dag_diags_print(&diags, stdout);
    dag_diags_free(&diags);
    return CLI_CONFIG;
  }
  dag_diags_free(&diags);
  dag_log_set_level(c->cfg.log_level);
  rc = cli_check_plugin_config(c, stdout, true);
  if (rc) return rc;
  if (is_check) {
    printf("ok\n");
    return CLI_OK;
  }
  return show(c);
}
