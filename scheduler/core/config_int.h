/* config_int.h - what config.c (dagctl's own sections) and config_plugin.c
 * (the sections plugins declare) share: a setting's description and the
 * value types of dagctl.yaml (config_value.c). Not for other modules. */
#ifndef DAG_CONFIG_INT_H
#define DAG_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define DAG_CFG_ENV_PREFIX "DAGCTL__"

struct setting;

/* Parse `text` into `field`. Returns 0, or -1 with *why NULL for the usual
 * "expected <type>, got '<text>'", or -1 with a specific message in *why
 * (caller frees). */
typedef int (*parse_fn)(const struct setting *s, const char *text, void *field,
                        char **why);

/* What a value's field holds, for reading it back as text. */
enum dag_cfg_field {
  DAG_CFG_FIELD_STRING, /* char *, owned by the config */
  DAG_CFG_FIELD_INT,    /* int */
  DAG_CFG_FIELD_BOOL,   /* bool */
  DAG_CFG_FIELD_US,     /* int64_t microseconds */
  DAG_CFG_FIELD_OTHER,  /* an enum of dagctl's own: config.c writes it */
};

struct type {
  const char *expect; /* completes "expected ..." */
  parse_fn parse;
  enum dag_cfg_field field;
};

enum {
  SECRET = 1,      /* masked in logs, never echoed in diagnostics */
  NOT_IN_FILE = 2, /* a secret that must not sit in clear in dagctl.yaml */
};

struct setting {
  const char *section;
  const char *key;
  const struct type *type;
  size_t offset;       /* of the field in struct dag_config */
  const char *def;     /* default, as it would be written in the file; NULL: none */
  long long min, max;  /* integers only */
  unsigned flags;
  const char *choices; /* enums and broker lists: "a,b,c" (borrowed); else NULL */
};

/* The value types. */
extern const struct type dag_cfg_t_string, dag_cfg_t_path, dag_cfg_t_int, dag_cfg_t_bool,
    dag_cfg_t_duration, dag_cfg_t_tz, dag_cfg_t_durability, dag_cfg_t_executor, dag_cfg_t_web_auth,
    dag_cfg_t_log_level,
    dag_cfg_t_token, dag_cfg_t_token_file, dag_cfg_t_web_token, dag_cfg_t_web_token_file,
    dag_cfg_t_url, dag_cfg_t_host, dag_cfg_t_smtp_tls, dag_cfg_t_brokers, dag_cfg_t_enum,
    dag_cfg_t_password, dag_cfg_t_password_file, dag_cfg_t_address, dag_cfg_t_addresses,
    dag_cfg_t_storage, dag_cfg_t_state;

/* `path` made absolute against the working directory and normalised
 * lexically, without touching the file system. NULL (errno set) if getcwd
 * fails. Caller frees. */
char *dag_cfg_absolute_path(const char *path);

/* Replace the char * at `field` with `value` (takes ownership). */
void dag_cfg_set_string(void *field, char *value);

/* What `s` expects, completing "expected ...". Caller frees. */
char *dag_cfg_expectation(const struct setting *s);

/* The value at `field` of a STRING, INT, BOOL or US type as it would be
 * written in the file; NULL when unset (or OTHER). Caller frees. */
char *dag_cfg_value_text(const struct type *t, const void *field);

/* DAGCTL__SECTION__KEY for a setting. Caller frees. */
char *dag_cfg_env_name(const char *section, const char *key);

/* dagctl's own sections (config.c): whether `section` is one, and their
 * names in file order (at most `max`; returns how many). */
bool dag_cfg_is_core_section(const char *section);
size_t dag_cfg_core_sections(const char **out, size_t max);

/* config_plugin.c: free what dag_config_load() kept and
 * dag_config_check_plugins() resolved; fill `items` (room for
 * cfg->n_plugin_values) with the plugins' settings, returning how many. */
void dag_cfg_plugins_free(struct dag_config *cfg);
size_t dag_cfg_plugin_items(const struct dag_config *cfg, struct dag_config_item *items);

#endif
