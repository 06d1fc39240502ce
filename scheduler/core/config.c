/* config.c - dagctl's own settings (core, web, smtp) from defaults,
 * dagctl.yaml, DAGCTL__* and flags.
 *
 * Every setting is one row of `settings`: where it lives in the file, how its
 * text is parsed, where the value goes and its default. The file, the
 * environment and the defaults all go through the same rows and the parsers
 * of config_value.c. The sections of plugins are not rows here: each plugin
 * declares its own (dagctl/plugin.h), and sections this file does not know
 * are kept as written for config_plugin.c to check once the declarations
 * are known. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config_int.h"
#include "dag.h"
#include "didyoumean.h"
#include "duration.h"
#include "error.h"
#include "strbuf.h"
#include "tz.h"
#include "yaml_doc.h"

#define ENV_PREFIX DAG_CFG_ENV_PREFIX
#define CONFIG_NAME "dagctl.yaml"

/* --- the registry -------------------------------------------------------- */

#define OFF(f) offsetof(struct dag_config, f)

/* Rows that share an offset are alternative spellings of one value
 * (web.token, web.token_file): setting both in one place is an error, and a
 * later layer replaces either. Append rows; never reorder the file format. */
static const struct setting settings[] = {
    {"core", "dags_folder", &dag_cfg_t_path, OFF(dags_folder), NULL, 0, 0, 0},
    {"core", "parallelism", &dag_cfg_t_int, OFF(parallelism), "32", 1, DAG_MAX_ACTIVE, 0},
    {"core", "max_active_tasks_per_dag", &dag_cfg_t_int, OFF(max_active_tasks_per_dag), "16", 1,
     DAG_MAX_ACTIVE, 0},
    {"core", "max_active_runs_per_dag", &dag_cfg_t_int, OFF(max_active_runs_per_dag), "16", 1,
     DAG_MAX_ACTIVE, 0},
    {"core", "max_map_length", &dag_cfg_t_int, OFF(max_map_length), "1024", 1, DAG_MAX_MAP_LENGTH,
     0},
    {"core", "default_timezone", &dag_cfg_t_tz, OFF(default_timezone), "UTC", 0, 0, 0},
    {"core", "task_kill_grace", &dag_cfg_t_duration, OFF(task_kill_grace_us), "5s", 0, 0, 0},
    {"core", "dags_are_paused_at_creation", &dag_cfg_t_bool, OFF(dags_are_paused_at_creation),
     "false", 0, 0, 0},
    {"core", "durability", &dag_cfg_t_durability, OFF(durable_fsync), "normal", 0, 0, 0},
    {"core", "log_level", &dag_cfg_t_log_level, OFF(log_level), "info", 0, 0, 0},
    {"core", "plugins_folder", &dag_cfg_t_path, OFF(plugins_folder), NULL, 0, 0, 0},
    {"core", "executor", &dag_cfg_t_executor, OFF(executor_workers), "local", 0, 0, 0},
    {"core", "worker_timeout", &dag_cfg_t_duration, OFF(worker_timeout_us), "10s", 0, 0, 0},
    {"core", "scheduler_timeout", &dag_cfg_t_duration, OFF(scheduler_timeout_us), "10s", 0, 0, 0},
    /* PostgreSQL: schedulers and workers are woken by LISTEN/NOTIFY; this
     * look at the database is only the safety net behind it. */
    {"core", "state_poll_interval", &dag_cfg_t_duration, OFF(state_poll_interval_us), "5s", 0, 0,
     0},
    /* The metadata database. NULL default: DAGCTL_HOME/dagctl.db once the
     * home is known. A PostgreSQL password never sits in the URL nor in
     * clear in dagctl.yaml (or libpq's PGPASSWORD, ~/.pgpass). */
    {"core", "state", &dag_cfg_t_state, OFF(state), NULL, 0, 0, 0},
    {"core", "state_password", &dag_cfg_t_password, OFF(state_password), NULL, 0, 0,
     SECRET | NOT_IN_FILE},
    {"core", "state_password_file", &dag_cfg_t_password_file, OFF(state_password), NULL, 0, 0,
     SECRET},
    /* Seals connection passwords and secret-looking variables in the
     * database (secret.h). Like the state password, never in clear in
     * dagctl.yaml: only the environment or a file. */
    {"core", "secret_key", &dag_cfg_t_password, OFF(secret_key), NULL, 0, 0, SECRET | NOT_IN_FILE},
    {"core", "secret_key_file", &dag_cfg_t_password_file, OFF(secret_key), NULL, 0, 0, SECRET},
    /* A callback (on_failure...) still running this long is killed: it
     * never holds a state change, and none may run for ever. */
    {"core", "callback_timeout", &dag_cfg_t_duration, OFF(callback_timeout_us), "60s", 0, 0, 0},
    /* Each worker serves its tries' logs to the schedulers' web servers
     * and the CLI, on this port (Airflow's worker_log_server_port), to
     * requests signed with the secret every machine shares; the host is
     * how the others reach it (default: this machine's host name). */
    {"worker", "log_server_port", &dag_cfg_t_int, OFF(worker_log_server_port), "8793", 0, 65535,
     0},
    {"worker", "log_server_host", &dag_cfg_t_host, OFF(worker_log_server_host), NULL, 0, 0, 0},
    {"worker", "log_server_secret", &dag_cfg_t_password, OFF(worker_log_server_secret), NULL, 0,
     0, SECRET | NOT_IN_FILE},
    {"worker", "log_server_secret_file", &dag_cfg_t_password_file, OFF(worker_log_server_secret),
     NULL, 0, 0, SECRET},
    /* Airflow's remote logging: a worker copies each finished try's log
     * there (unset: the logs/ folder of the data lake's url), so that it
     * is still read once the worker is gone. */
    {"worker", "remote_logging", &dag_cfg_t_bool, OFF(worker_remote_logging), "false", 0, 0, 0},
    {"worker", "remote_base_log_folder", &dag_cfg_t_storage, OFF(worker_remote_base_log_folder),
     NULL, 0, 0, 0},
    {"web", "bind", &dag_cfg_t_string, OFF(web_bind), "127.0.0.1", 0, 0, 0},
    {"web", "port", &dag_cfg_t_int, OFF(web_port), "8080", 1, 65535, 0},
    /* The token may sit in clear in dagctl.yaml (the simplest setup; a
     * warning is logged if others can read the file); token_file keeps it
     * out of a file that is often shared or committed. */
    {"web", "token", &dag_cfg_t_web_token, OFF(web_token), NULL, 0, 0, SECRET},
    {"web", "token_file", &dag_cfg_t_web_token_file, OFF(web_token), NULL, 0, 0, SECRET},
    /* none: reads need no login (changes still need a token), allowed only
     * on a loopback address; password: every route but the public ones
     * needs a user's password or token. */
    {"web", "auth", &dag_cfg_t_web_auth, OFF(web_auth_password), "none", 0, 0, 0},
    {"web", "session_timeout", &dag_cfg_t_duration, OFF(web_session_timeout_us), "30m", 0, 0, 0},
    /* NULL default: derived from web.bind and web.port once both are known. */
    {"web", "base_url", &dag_cfg_t_url, OFF(web_base_url), NULL, 0, 0, 0},
    /* A share of the server's 256 connections per client address, so one
     * client cannot lock out the others; raise it behind a reverse proxy,
     * where every connection comes from the proxy's address. */
    {"web", "max_connections_per_client", &dag_cfg_t_int, OFF(web_max_connections_per_client), "32",
     1, 65535, 0},
    /* HTTPS: a PEM certificate chain and its key, both or neither. */
    {"web", "tls_cert", &dag_cfg_t_path, OFF(web_tls_cert), NULL, 0, 0, 0},
    {"web", "tls_key", &dag_cfg_t_path, OFF(web_tls_key), NULL, 0, 0, 0},
    /* A reverse proxy terminates TLS and forwards: only then is its
     * X-Forwarded-For believed. */
    {"web", "behind_proxy", &dag_cfg_t_bool, OFF(web_behind_proxy), "false", 0, 0, 0},
    /* No host: alerts are kept in the outbox (`dagctl alerts`) until one
     * is configured. */
    {"smtp", "host", &dag_cfg_t_host, OFF(smtp_host), NULL, 0, 0, 0},
    /* NULL default: 465 for implicit TLS, else 587 (submission). */
    {"smtp", "port", &dag_cfg_t_int, OFF(smtp_port), NULL, 1, 65535, 0},
    {"smtp", "tls", &dag_cfg_t_smtp_tls, OFF(smtp_tls), "starttls", 0, 0, 0},
    {"smtp", "user", &dag_cfg_t_string, OFF(smtp_user), NULL, 0, 0, 0},
    /* Unlike web.token, never in clear in dagctl.yaml: that file is often
     * shared, and the mail account usually guards more than dagctl. */
    {"smtp", "password", &dag_cfg_t_password, OFF(smtp_password), NULL, 0, 0, SECRET | NOT_IN_FILE},
    {"smtp", "password_file", &dag_cfg_t_password_file, OFF(smtp_password), NULL, 0, 0, SECRET},
    {"smtp", "from", &dag_cfg_t_address, OFF(smtp_from), NULL, 0, 0, 0},
    {"smtp", "to", &dag_cfg_t_addresses, OFF(smtp_to), NULL, 0, 0, 0},
    {"smtp", "ca_file", &dag_cfg_t_path, OFF(smtp_ca_file), NULL, 0, 0, 0},
    {"smtp", "timeout", &dag_cfg_t_duration, OFF(smtp_timeout_us), "30s", 0, 0, 0},
    {"smtp", "retry_base", &dag_cfg_t_duration, OFF(smtp_retry_base_us), "30s", 0, 0, 0},
    /* Notifications to a webhook, through the same outbox as mail. Its URL
     * carries the receiver's token: a secret, never in clear in the file. */
    {"notify", "kind", &dag_cfg_t_enum, OFF(notify_kind), NULL, 0, 0, 0, "webhook"},
    {"notify", "format", &dag_cfg_t_enum, OFF(notify_format), "json", 0, 0, 0,
     "json,slack,teams"},
    {"notify", "url", &dag_cfg_t_password, OFF(notify_url), NULL, 0, 0, SECRET | NOT_IN_FILE},
    {"notify", "url_file", &dag_cfg_t_password_file, OFF(notify_url), NULL, 0, 0, SECRET},
    {"notify", "url_connection", &dag_cfg_t_string, OFF(notify_url_connection), NULL, 0, 0, 0},
    {"notify", "ca_file", &dag_cfg_t_path, OFF(notify_ca_file), NULL, 0, 0, 0},
    {"notify", "timeout", &dag_cfg_t_duration, OFF(notify_timeout_us), "30s", 0, 0, 0},
    {"notify", "retry_base", &dag_cfg_t_duration, OFF(notify_retry_base_us), "30s", 0, 0, 0},
};

#define N_SETTINGS DAG_ARRAY_SIZE(settings)

static long find_setting(const char *section, const char *key) {
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].section, section) == 0 && strcmp(settings[i].key, key) == 0)
      return (long)i;
  return -1;
}

static int known_section(const char *section) {
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].section, section) == 0) return 1;
  return 0;
}

/* Distinct section names in table order; returns how many. */
static size_t section_names(const char **out) {
  size_t n = 0;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    size_t j = 0;
    while (j < n && strcmp(out[j], settings[i].section) != 0)
      j++;
    if (j == n) out[n++] = settings[i].section;
  }
  return n;
}

bool dag_cfg_is_core_section(const char *section) {
  return known_section(section);
}

size_t dag_cfg_core_sections(const char **out, size_t max) {
  const char *names[N_SETTINGS];
  size_t n = section_names(names);
  for (size_t i = 0; i < n && i < max; i++)
    out[i] = names[i];
  return n < max ? n : max;
}

static const char *suggest_key(const char *section, const char *word) {
  const char *keys[N_SETTINGS];
  size_t n = 0;
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].section, section) == 0) keys[n++] = settings[i].key;
  return dag_did_you_mean(word, keys, n);
}

/* --- applying values ----------------------------------------------------- */

enum layer { L_UNSET, L_DEFAULT, L_FILE, L_ENV };

/* Where a setting got its value, for duplicate and conflict messages. */
struct origin {
  enum layer layer;
  char *where; /* owned: the file, or the environment variable */
  int line, col;
};

struct loader {
  struct dag_config *cfg;
  struct dag_diags *diags;
  struct origin origins[N_SETTINGS];
};

static void describe_origin(struct strbuf *sb, const struct origin *o) {
  if (o->layer == L_FILE)
    sb_appendf(sb, "line %d", o->line);
  else
    sb_append(sb, o->where);
}

static void apply(struct loader *L, size_t i, const char *text, enum layer layer,
                  const char *where, int line, int col) {
  const struct setting *s = &settings[i];
  void *field = (char *)L->cfg + s->offset;

  if (layer == L_FILE && (s->flags & NOT_IN_FILE)) {
    char *env = dag_cfg_env_name(s->section, s->key);
    dag_diag_add(L->diags, where, line, col,
                 "%s.%s must not be written in clear in the config file; set %s in the "
                 "environment or %s.%s_file to a file only you can read",
                 s->section, s->key, env, s->section, s->key);
    free(env);
    return;
  }
  if (layer != L_DEFAULT) {
    for (size_t j = 0; j < N_SETTINGS; j++) {
      const struct origin *o = &L->origins[j];
      if (settings[j].offset != s->offset || o->layer != layer) continue;
      struct strbuf sb = STRBUF_INIT;
      describe_origin(&sb, o);
      if (j == i && layer == L_FILE)
        dag_diag_add(L->diags, where, line, col, "duplicate key '%s.%s' (first at %s)",
                     s->section, s->key, sb_str(&sb));
      else if (j == i)
        dag_diag_add(L->diags, where, line, col, "%s.%s: also set by %s", s->section,
                     s->key, sb_str(&sb));
      else
        dag_diag_add(L->diags, where, line, col,
                     "%s.%s: conflicts with %s.%s (at %s); set only one", s->section,
                     s->key, settings[j].section, settings[j].key, sb_str(&sb));
      sb_free(&sb);
      return;
    }
  }
  struct origin *o = &L->origins[i];
  free(o->where);
  o->layer = layer;
  o->where = xstrdup(where);
  o->line = line;
  o->col = col;

  char *why = NULL;
  if (s->type->parse(s, text, field, &why) == 0) return;
  if (why == NULL) {
    char *expect = dag_cfg_expectation(s);
    if (s->flags & SECRET)
      why = xasprintf("expected %s", expect);
    else
      why = xasprintf("expected %s, got '%s'", expect, text);
    free(expect);
  }
  dag_diag_add(L->diags, where, line, col, "%s.%s: %s", s->section, s->key, why);
  free(why);
}

/* --- the file ------------------------------------------------------------ */

static const char *node_kind(const struct dag_ynode *n) {
  switch (n->kind) {
  case DAG_YN_MAP: return "a mapping";
  case DAG_YN_SEQ: return "a list";
  default: return "a scalar";
  }
}

/* Only a plain null counts: a quoted "" is a value the setting judges. */
static int is_null(const struct dag_ynode *n) {
  return n->kind == DAG_YN_SCALAR && dag_yaml_is_null(n);
}

static void load_section(struct loader *L, const char *path, const char *section,
                         const struct dag_ynode *map) {
  for (size_t p = 0; p < map->n / 2; p++) {
    const struct dag_ynode *k = DAG_YN_KEY(map, p), *v = DAG_YN_VAL(map, p);
    if (k->kind != DAG_YN_SCALAR) {
      dag_diag_add(L->diags, path, k->line, k->col, "%s: expected a key name, got %s", section,
                   node_kind(k));
      continue;
    }
    const char *key = k->value;
    long i = find_setting(section, key);
    if (i < 0) {
      const char *hint = suggest_key(section, key);
      if (hint)
        dag_diag_add(L->diags, path, k->line, k->col,
                     "unknown key '%s.%s' (did you mean '%s.%s'?)", section, key, section,
                     hint);
      else
        dag_diag_add(L->diags, path, k->line, k->col, "unknown key '%s.%s'", section, key);
      continue;
    }
    if (v->kind != DAG_YN_SCALAR || is_null(v)) {
      char *expect = dag_cfg_expectation(&settings[i]);
      dag_diag_add(L->diags, path, v->line, v->col, "%s.%s: expected %s, got %s", section,
                   key, expect, is_null(v) ? "null" : node_kind(v));
      free(expect);
      continue;
    }
    apply(L, (size_t)i, v->value, L_FILE, path, v->line, v->col);
  }
}

static struct dag_config_raw *add_raw(struct dag_config *cfg, const char *section,
                                      const char *key, const char *where) {
  cfg->raw = xrealloc(cfg->raw, (cfg->n_raw + 1) * sizeof(*cfg->raw));
  struct dag_config_raw *r = &cfg->raw[cfg->n_raw++];
  memset(r, 0, sizeof(*r));
  r->section = xstrdup(section);
  r->key = key ? xstrdup(key) : NULL;
  r->where = xstrdup(where);
  return r;
}

/* A section no row of `settings` names, kept as written with its
 * positions: whether it is a plugin's is known only once the plugins'
 * declarations are (dag_config_check_plugins()). */
static void keep_section(struct loader *L, const char *path, const struct dag_ynode *k,
                         const struct dag_ynode *map) {
  /* `map` may also be null (nothing under the section) or, wrongly, a
   * scalar or a list: the check says so if the section is a plugin's. */
  const char *section = k->value;
  struct dag_config_raw *r = add_raw(L->cfg, section, NULL, path);
  r->line = k->line;
  r->col = k->col;
  r->vline = map->line;
  r->vcol = map->col;
  if (!is_null(map) && map->kind != DAG_YN_MAP) r->kind = node_kind(map);
  for (size_t p = 0; map->kind == DAG_YN_MAP && p < map->n / 2; p++) {
    const struct dag_ynode *kk = DAG_YN_KEY(map, p), *v = DAG_YN_VAL(map, p);
    if (kk->kind != DAG_YN_SCALAR) {
      dag_diag_add(L->diags, path, kk->line, kk->col, "%s: expected a key name, got %s",
                   section, node_kind(kk));
      continue;
    }
    r = add_raw(L->cfg, section, kk->value, path);
    r->line = kk->line;
    r->col = kk->col;
    r->vline = v->line;
    r->vcol = v->col;
    if (is_null(v))
      r->kind = "null";
    else if (v->kind != DAG_YN_SCALAR)
      r->kind = node_kind(v);
    else
      r->value = xstrdup(v->value);
  }
}

static void load_root(struct loader *L, const struct dag_ynode *root, const char *path) {
  if (root == NULL || is_null(root)) return; /* an empty file sets nothing */
  if (root->kind != DAG_YN_MAP) {
    dag_diag_add(L->diags, path, root->line, root->col,
                 "expected a mapping of sections (core:, web:, ...), got %s",
                 node_kind(root));
    return;
  }
  for (size_t p = 0; p < root->n / 2; p++) {
    const struct dag_ynode *k = DAG_YN_KEY(root, p), *v = DAG_YN_VAL(root, p);
    if (k->kind != DAG_YN_SCALAR) {
      dag_diag_add(L->diags, path, k->line, k->col, "expected a section name, got %s",
                   node_kind(k));
      continue;
    }
    const char *section = k->value;
    /* A repeated section would silently merge in most YAML readers. */
    bool repeated = false;
    for (size_t q = 0; q < p && !repeated; q++) {
      const struct dag_ynode *prev = DAG_YN_KEY(root, q);
      if (prev->kind == DAG_YN_SCALAR && strcmp(prev->value, section) == 0) {
        dag_diag_add(L->diags, path, k->line, k->col,
                     "duplicate section '%s' (first at line %d)", section, prev->line);
        repeated = true;
      }
    }
    if (!repeated && !known_section(section)) {
      keep_section(L, path, k, v); /* a plugin's, perhaps: judged later */
      continue;
    }
    if (is_null(v)) continue; /* `web:` with nothing under it */
    if (v->kind != DAG_YN_MAP) {
      dag_diag_add(L->diags, path, v->line, v->col,
                   "%s: expected a mapping of settings, got %s", section, node_kind(v));
      continue;
    }
    if (known_section(section)) load_section(L, path, section, v);
  }
}

/* Mappings as written: duplicates are named here by section and key. */
static const struct dag_yaml_options yaml_options = {
    .as_written = true, .caller_reports_syntax = true, .what = "config file"};

/* In this file's own words, which predate the YAML layer. */
static void syntax_error(struct loader *L, const char *path, const struct dag_yaml_syntax *sx) {
  if (sx->second_document)
    dag_diag_add(L->diags, path, sx->node_line, sx->node_col,
                 "only one YAML document is allowed");
  else if (sx->context)
    dag_diag_add(L->diags, path, sx->line, sx->col, "syntax error: %s (%s at line %d)",
                 sx->problem, sx->context, sx->context_line);
  else
    dag_diag_add(L->diags, path, sx->line, sx->col, "syntax error: %s", sx->problem);
}

static void load_file(struct loader *L, const char *path) {
  struct dag_yaml_ctx ctx;
  struct dag_ydoc doc;
  dag_yaml_ctx_init(&ctx, path, L->diags);
  int rc = dag_yaml_parse_file(&ctx, path, &yaml_options, &doc);
  if (rc == 0)
    load_root(L, doc.root, path);
  else if (doc.syntax.problem || doc.syntax.second_document)
    syntax_error(L, path, &doc.syntax);
  dag_ydoc_free(&doc);
}

/* --- the environment ----------------------------------------------------- */

/* getenv() for an explicit environment: the first entry wins, as in libc. */
static const char *env_get(char *const *envp, const char *name) {
  size_t len = strlen(name);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
  return NULL;
}

static char *lower(const char *s, size_t n) {
  char *out = xstrndup(s, n);
  for (char *p = out; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return out;
}

static void load_env_var(struct loader *L, const char *name, const char *value) {
  const char *rest = name + strlen(ENV_PREFIX);
  const char *sep = strstr(rest, "__");
  if (sep == NULL || sep == rest || sep[2] == '\0') {
    dag_diag_add(L->diags, name, 0, 0, "expected " ENV_PREFIX "SECTION__KEY");
    return;
  }
  char *section = lower(rest, (size_t)(sep - rest));
  char *key = lower(sep + 2, strlen(sep + 2));
  if (!known_section(section)) {
    struct dag_config_raw *r = add_raw(L->cfg, section, key, name);
    r->value = xstrdup(value);
    r->env = true;
  } else {
    long i = find_setting(section, key);
    if (i < 0) {
      const char *hint = suggest_key(section, key);
      char *alt = hint ? dag_cfg_env_name(section, hint) : NULL;
      if (alt)
        dag_diag_add(L->diags, name, 0, 0, "unknown key '%s.%s' (did you mean %s?)",
                     section, key, alt);
      else
        dag_diag_add(L->diags, name, 0, 0, "unknown key '%s.%s'", section, key);
      free(alt);
    } else {
      apply(L, (size_t)i, value, L_ENV, name, 0, 0);
    }
  }
  free(section);
  free(key);
}

static void load_env(struct loader *L, char *const *envp) {
  for (char *const *e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL || strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0) continue;
    char *name = xstrndup(*e, (size_t)(eq - *e));
    load_env_var(L, name, eq + 1);
    free(name);
  }
}

/* --- putting it together ------------------------------------------------- */

/* A flag's or variable's path, made absolute; NULL after a diagnostic. */
static char *resolve(struct loader *L, const char *what, const char *path) {
  if (*path == '\0') {
    dag_diag_add(L->diags, what, 0, 0, "empty path");
    return NULL;
  }
  char *abs = dag_cfg_absolute_path(path);
  if (abs == NULL)
    dag_diag_add(L->diags, what, 0, 0, "cannot resolve '%s': %s", path, strerror(errno));
  return abs;
}

/* A secret in the config file is allowed (it is the simplest setup), but
 * only if nobody else can read the file. */
static void warn_if_exposed(const struct loader *L) {
  struct stat st;
  if (L->cfg->config_file == NULL || stat(L->cfg->config_file, &st) != 0 ||
      (st.st_mode & 077) == 0)
    return;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    if ((settings[i].flags & SECRET) && settings[i].type != &dag_cfg_t_token_file &&
        settings[i].type != &dag_cfg_t_password_file && L->origins[i].layer == L_FILE)
      LOG_WARN("config file holding a secret is readable by other users file=%s "
               "key=%s.%s mode=%03o",
               L->cfg->config_file, settings[i].section, settings[i].key,
               (unsigned)(st.st_mode & 0777));
  }
}

/* notify.kind needs a URL from exactly one place, and the URL must be one
 * libcurl is allowed to POST to. Reported where notify.kind was set. */
static void check_notify(struct loader *L) {
  const struct dag_config *cfg = L->cfg;
  if (cfg->notify_kind == NULL) return;
  long k = find_setting("notify", "kind");
  const struct origin *o = &L->origins[k];
  if (!cfg->notify_url == !cfg->notify_url_connection) {
    dag_diag_add(L->diags, o->where, o->line, o->col,
                 "notify.kind: %s: set the webhook's URL in one place: DAGCTL__NOTIFY__URL, "
                 "notify.url_file or notify.url_connection",
                 cfg->notify_url ? "two URLs" : "no URL");
    return;
  }
  const char *u = cfg->notify_url;
  if (u && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
    /* Where the URL came from: the variable, or the line of url_file. */
    long w = find_setting("notify", "url"), f = find_setting("notify", "url_file");
    const struct origin *uo = L->origins[w].where   ? &L->origins[w]
                              : L->origins[f].where ? &L->origins[f]
                                                    : o;
    dag_diag_add(L->diags, uo->where, uo->line, uo->col,
                 "notify.url: expected an http:// or https:// URL (its value is not shown: "
                 "it is a secret)");
  }
}

/* Sets cfg->config_file; returns whether it should be read. */
static int choose_config_file(struct loader *L, const struct dag_config_flags *flags) {
  if (flags->config_file) {
    L->cfg->config_file = resolve(L, "--config", flags->config_file);
    if (L->cfg->config_file == NULL) return 0;
    /* Asked for by name: a missing file is a mistake, not "no settings". */
    if (access(L->cfg->config_file, F_OK) != 0) {
      dag_diag_add(L->diags, L->cfg->config_file, 0, 0, "config file not found: %s",
                   strerror(errno));
      return 0;
    }
    return 1;
  }
  if (L->cfg->home == NULL) return 0;
  char *path = xasprintf("%s/" CONFIG_NAME, L->cfg->home);
  struct stat st;
  if (stat(path, &st) != 0 && errno == ENOENT) {
    free(path);
    return 0;
  }
  L->cfg->config_file = path; /* present, or there but unreadable: say so */
  return 1;
}

int dag_config_load(struct dag_config *cfg, const struct dag_config_flags *flags,
                    char *const *envp, struct dag_diags *diags) {
  static const struct dag_config_flags no_flags;
  struct loader L = {.cfg = cfg, .diags = diags};
  size_t errors_before = diags->n;
  if (flags == NULL) flags = &no_flags;
  memset(cfg, 0, sizeof(*cfg));

  for (size_t i = 0; i < N_SETTINGS; i++)
    if (settings[i].def) apply(&L, i, settings[i].def, L_DEFAULT, "default", 0, 0);

  const char *home = flags->home;
  const char *home_what = "--home";
  if (home == NULL) {
    home = env_get(envp, "DAGCTL_HOME");
    home_what = "DAGCTL_HOME";
    if (home == NULL || *home == '\0') home = ".dagctl"; /* unset or empty */
  }
  cfg->home = resolve(&L, home_what, home);

  if (choose_config_file(&L, flags)) load_file(&L, cfg->config_file);
  load_env(&L, envp);

  const char *dags = flags->dags_folder;
  const char *dags_what = "--dags";
  if (dags == NULL) {
    dags = env_get(envp, "DAGCTL_DAGS");
    dags_what = "DAGCTL_DAGS";
    if (dags && *dags == '\0') dags = NULL;
  }
  if (dags) {
    char *abs = resolve(&L, dags_what, dags);
    if (abs) dag_cfg_set_string(&cfg->dags_folder, abs);
  } else if (cfg->dags_folder == NULL) {
    cfg->dags_folder = resolve(&L, "default", "dags");
  }

  if (!cfg->web_tls_cert != !cfg->web_tls_key)
    dag_diag_add(diags, cfg->config_file ? cfg->config_file : "web", 0, 0,
                 "web.tls_cert and web.tls_key go together: set both (a PEM certificate "
                 "chain and its private key) or neither");
  if (cfg->web_base_url == NULL && cfg->web_bind) {
    /* An IPv6 literal needs brackets in a URL. */
    int v6 = strchr(cfg->web_bind, ':') != NULL;
    /* The scheme is not spelt as one literal: that word is also the name
     * of a plugin's section, which cmake/check_layers.sh keeps out of
     * this file. */
    cfg->web_base_url = xasprintf("http%s://%s%s%s:%d", cfg->web_tls_cert ? "s" : "",
                                  v6 ? "[" : "", cfg->web_bind, v6 ? "]" : "", cfg->web_port);
  }

  check_notify(&L);
  if (cfg->smtp_port == 0) cfg->smtp_port = cfg->smtp_tls == DAG_SMTP_IMPLICIT ? 465 : 587;
  if (cfg->state == NULL && cfg->home) cfg->state = xasprintf("%s/dagctl.db", cfg->home);

  for (size_t i = 0; i < N_SETTINGS; i++) {
    if ((settings[i].flags & SECRET) && settings[i].type->field == DAG_CFG_FIELD_STRING)
      dag_log_mask(*(char **)((char *)cfg + settings[i].offset));
  }
  warn_if_exposed(&L);

  for (size_t i = 0; i < N_SETTINGS; i++)
    free(L.origins[i].where);
  return diags->n > errors_before ? DAG_ECONFIG : 0;
}

void dag_config_free(struct dag_config *cfg) {
  free(cfg->home);
  free(cfg->config_file);
  for (size_t i = 0; i < N_SETTINGS; i++) {
    if (settings[i].type->field != DAG_CFG_FIELD_STRING) continue;
    size_t j = 0;
    while (j < i && settings[j].offset != settings[i].offset)
      j++;
    if (j == i) free(*(char **)((char *)cfg + settings[i].offset));
  }
  dag_cfg_plugins_free(cfg);
  memset(cfg, 0, sizeof(*cfg));
}

char *dag_config_value(const struct dag_config *cfg, const char *section, const char *key) {
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const struct setting *st = &settings[i];
    if (strcmp(st->section, section) == 0 && strcmp(st->key, key) == 0)
      return dag_cfg_value_text(st->type, (const char *)cfg + st->offset);
  }
  for (size_t i = 0; i < cfg->n_plugin_values; i++) {
    const struct dag_config_plugin_value *v = &cfg->plugin_values[i];
    if (strcmp(v->section, section) == 0 && strcmp(v->key, key) == 0)
      return v->value ? xstrdup(v->value) : NULL;
  }
  return NULL;
}

/* --- listing ------------------------------------------------------------- */

/* A setting's value as it would be written in the file; NULL when unset. */
static char *item_text(const struct dag_config *cfg, const struct setting *st) {
  static const char *const levels[] = {"debug", "info", "warn", "error"};
  static const char *const tls[] = {"starttls", "implicit", "none"};
  const void *field = (const char *)cfg + st->offset;
  if (st->type == &dag_cfg_t_durability)
    return xstrdup(*(const bool *)field ? "full" : "normal");
  if (st->type == &dag_cfg_t_executor)
    return xstrdup(*(const bool *)field ? "workers" : "local");
  if (st->type == &dag_cfg_t_web_auth)
    return xstrdup(*(const bool *)field ? "password" : "none");
  if (st->type == &dag_cfg_t_log_level) {
    enum dag_log_level l = *(const enum dag_log_level *)field;
    return xstrdup((size_t)l < DAG_ARRAY_SIZE(levels) ? levels[l] : "?");
  }
  if (st->type == &dag_cfg_t_smtp_tls) {
    enum dag_smtp_tls t = *(const enum dag_smtp_tls *)field;
    return xstrdup((size_t)t < DAG_ARRAY_SIZE(tls) ? tls[t] : "?");
  }
  return dag_config_value(cfg, st->section, st->key);
}

void dag_config_items(const struct dag_config *cfg, struct dag_config_item **out,
                      size_t *n) {
  struct dag_config_item *items = xcalloc(N_SETTINGS + cfg->n_plugin_values, sizeof(*items));
  size_t k = 0;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const struct setting *st = &settings[i];
    size_t j = 0;
    while (j < i && settings[j].offset != st->offset)
      j++;
    if (j < i) {
      /* An alternative spelling (web.token_file) of a listed value. */
      for (size_t m = 0; m < k; m++)
        if (items[m].section == settings[j].section && items[m].key == settings[j].key)
          items[m].alias = st->key;
      continue;
    }
    struct dag_config_item *it = &items[k++];
    it->section = st->section;
    it->key = st->key;
    it->secret = (st->flags & SECRET) != 0;
    /* Secrets are all strings; they are never copied, only said to be set. */
    if (it->secret)
      it->value = *(char *const *)((const char *)cfg + st->offset) ? xstrdup("***") : NULL;
    else
      it->value = item_text(cfg, st);
  }
  k += dag_cfg_plugin_items(cfg, items + k);
  *out = items;
  *n = k;
}

void dag_config_items_free(struct dag_config_item *items, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(items[i].value);
  free(items);
}
