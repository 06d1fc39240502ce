/* config.h - dagctl's settings: DAGCTL_HOME/dagctl.yaml plus overrides.
 *
 * Precedence, lowest first: built-in defaults, the config file (sections such
 * as `core:` and `web:`), environment variables DAGCTL__SECTION__KEY
 * (Airflow's convention), then command-line flags. Unknown sections and keys,
 * in the file or the environment, are errors with a did-you-mean.
 *
 * dagctl's own sections are core, web and smtp. Every other section belongs
 * to the plugins that declare it (dagctl/plugin.h, minor 3: kafka, lake,
 * warehouse, ...): kept as written by dag_config_load(), judged by
 * dag_config_check_plugins() once their declarations are known. */
#ifndef DAG_CONFIG_H
#define DAG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "dagctl/plugin.h"
#include "diag.h"
#include "log.h"

/* A setting a plugin declares (dagctl/plugin.h, struct dagctl_setting),
 * copied. */
struct dag_config_key_decl {
  char *key;
  enum dagctl_setting_type type;
  unsigned flags;      /* DAGCTL_SETTING_SECRET */
  char *default_value; /* NULL: none; may hold DAGCTL_HOME_PLACEHOLDER */
  char *choices;       /* ENUM and BROKERS: "a,b,c"; else NULL */
  long long min, max;  /* INTEGER */
  char *description;   /* never NULL */
};

/* A section of dagctl.yaml that a plugin declares, copied. */
struct dag_config_section_decl {
  char *name;
  char *owner; /* the declaring plugin(s), for messages: "kafka, load_bronze" */
  char *description;
  struct dag_config_key_decl *keys;
  size_t n_keys;
};

void dag_config_section_decl_free(struct dag_config_section_decl *d);
/* A deep copy of `d` into `out`. */
void dag_config_section_decl_copy(const struct dag_config_section_decl *d,
                                  struct dag_config_section_decl *out);
/* Whether two declarations of one section agree (all but descriptions and
 * owners): 0, or -1 with *why naming the first difference (caller frees). */
int dag_config_section_decl_compare(const struct dag_config_section_decl *a,
                                    const struct dag_config_section_decl *b, char **why);
/* "string", "integer", ... as `dagctl plugins` and its JSON name a setting's
 * type; and back (-1 for an unknown word). */
const char *dag_config_setting_type_key(enum dagctl_setting_type t);
int dag_config_setting_type_parse(const char *key);

/* A setting of a section dagctl itself does not know, as the file or the
 * environment wrote it. */
struct dag_config_raw {
  char *section;
  char *key;        /* NULL: the section itself (`lake:` with nothing under it) */
  char *value;      /* the scalar; NULL when `kind` says it is none */
  const char *kind; /* static: NULL for a scalar, else "null", "a mapping", "a list" */
  char *where;      /* the file, or the DAGCTL__ variable */
  int line, col;    /* of the key in the file; 0 for the environment */
  int vline, vcol;  /* of the value */
  bool env;
};

/* A plugin section's setting once checked: its value in normal form. */
struct dag_config_plugin_value {
  char *section;
  char *key;
  char *value;  /* NULL: unset */
  char *alias;  /* a secret's KEY_file, the other way to set it; else NULL */
  bool secret;  /* value is never shown */
};

/* How the SMTP connection is protected (smtp.tls). */
enum dag_smtp_tls {
  DAG_SMTP_STARTTLS, /* plain connect, then STARTTLS, required */
  DAG_SMTP_IMPLICIT, /* TLS from the first byte (SMTPS, port 465) */
  DAG_SMTP_NO_TLS,   /* none: only for a relay on a trusted network */
};

struct dag_config {
  char *home;        /* absolute; DAGCTL_HOME, --home or ./.dagctl */
  char *dags_folder; /* absolute; --dags, DAGCTL_DAGS, core.dags_folder or ./dags */
  char *config_file; /* the file read, or NULL when none exists */

  /* core */
  int parallelism;              /* running tasks at once, all DAGs; 32 */
  int max_active_tasks_per_dag; /* default for a DAG's max_active_tasks; 16 */
  int max_active_runs_per_dag;  /* default for a DAG's max_active_runs; 16 */
  int max_map_length;           /* instances one expand: may make; 1024, as Airflow */
  char *default_timezone;       /* for DAGs without `timezone`; "UTC" */
  int64_t task_kill_grace_us;   /* SIGTERM -> SIGKILL on timeout; 5 s */
  bool dags_are_paused_at_creation; /* false */
  bool durable_fsync;           /* core.durability: full (fsync each commit) vs normal */
  enum dag_log_level log_level; /* core.log_level: debug|info|warn|error */
  char *plugins_folder;         /* NULL: the plugins folder beside the dagctl binary */
  /* core.executor: local (the scheduler runs tasks as its children) or
   * workers (it queues them for `dagctl worker` processes). */
  bool executor_workers;        /* local */
  int64_t worker_timeout_us;    /* a worker silent this long is gone; 10 s */
  int64_t scheduler_timeout_us; /* a scheduler silent this long is gone; 10 s */
  /* PostgreSQL, while listening for wake-ups: the look at the database
   * when none arrives; 5 s. */
  int64_t state_poll_interval_us;
  char *state;          /* core.state: a SQLite path or a postgresql:// URL; HOME/dagctl.db */
  char *state_password; /* PostgreSQL; env or state_password_file only; NULL: libpq's own */
  /* core.secret_key: seals secrets in the database (secret.h); env or
   * secret_key_file only; NULL: no secret can be stored. */
  char *secret_key;
  int64_t callback_timeout_us; /* a callback running longer is killed; 60 s */

  /* worker: the log server of `dagctl worker` (log_token.h) */
  int worker_log_server_port;     /* 8793; 0: any free port */
  char *worker_log_server_host;   /* how others reach this worker; NULL: the host name */
  char *worker_log_server_secret; /* env or _file only; NULL: no log server, no remote logs */
  bool worker_remote_logging;     /* copy finished logs to remote_base_log_folder */
  char *worker_remote_base_log_folder; /* s3://bucket/prefix or a folder; NULL: the lake's logs/ */

  /* web */
  char *web_bind; /* "127.0.0.1" */
  int web_port;   /* 8080 */
  char *web_token; /* NULL: none; else a legacy API token acting as admin */
  bool web_auth_password; /* web.auth: none (reads open, loopback only) | password */
  int64_t web_session_timeout_us; /* a browser session idle this long ends; 30 min */
  char *web_base_url; /* for links in alerts; "http://127.0.0.1:8080" */
  int web_max_connections_per_client; /* open connections from one address; 32 */
  char *web_tls_cert; /* PEM certificate chain; NULL: plain HTTP (with web_tls_key) */
  char *web_tls_key;  /* its private key */
  bool web_behind_proxy; /* a proxy terminates TLS: X-Forwarded-For is believed */

  /* smtp: email alerts */
  char *smtp_host;              /* NULL: alerts stay queued in the outbox */
  int smtp_port;                /* 587; 465 when tls is implicit */
  enum dag_smtp_tls smtp_tls;   /* starttls */
  char *smtp_user;              /* NULL: no AUTH */
  char *smtp_password;          /* DAGCTL__SMTP__PASSWORD or smtp.password_file only */
  char *smtp_from;              /* NULL: dagctl@<hostname> */
  char *smtp_to;                /* default recipients, comma-separated; NULL: none */
  char *smtp_ca_file;           /* trusted CAs for TLS; NULL: the system's */
  int64_t smtp_timeout_us;      /* per SMTP step; 30 s */
  int64_t smtp_retry_base_us;   /* first retry delay, doubled each time; 30 s */

  /* notify: alerts to a webhook too (webhook_send.h) */
  char *notify_kind;            /* "webhook", or NULL: no notifications */
  char *notify_format;          /* "json", "slack" or "teams" */
  char *notify_url;             /* DAGCTL__NOTIFY__URL or notify.url_file only: a secret */
  char *notify_url_connection;  /* or a connection whose password is the URL */
  char *notify_ca_file;         /* trusted CAs for TLS; NULL: the system's */
  int64_t notify_timeout_us;    /* per request; 30 s */
  int64_t notify_retry_base_us; /* first retry delay, doubled each time; 30 s */

  /* Sections of plugins (kafka, lake, warehouse, ...): kept as written until
   * the plugins' declarations are known (dag_config_check_plugins()), then
   * checked into `plugin_values`. */
  struct dag_config_raw *raw; /* owned; n_raw entries */
  size_t n_raw;
  struct dag_config_section_decl *decls; /* owned copies of the declarations checked */
  size_t n_decls;
  struct dag_config_plugin_value *plugin_values; /* owned; n_plugin_values entries */
  size_t n_plugin_values;
};

struct dag_config_flags {
  const char *home;        /* --home, or NULL */
  const char *dags_folder; /* --dags, or NULL */
  const char *config_file; /* --config, or NULL: HOME/dagctl.yaml if present */
};

/* Fill `cfg` from defaults, the file, `envp` (NULL-terminated, usually
 * environ) and `flags`. Returns 0, or DAG_ECONFIG with every problem in
 * `diags` (file:line:col for the file, the variable name for the
 * environment). cfg is always safe to dag_config_free().
 *
 * Only dagctl's own sections (core, web, smtp) are checked here: a section
 * it does not know may be a plugin's, which only the plugins' declarations
 * tell, and those are known later (the scheduler never loads a plugin
 * itself). Such sections are kept in cfg->raw with their positions for
 * dag_config_check_plugins(). */
int dag_config_load(struct dag_config *cfg, const struct dag_config_flags *flags,
                    char *const *envp, struct dag_diags *diags);

/* Check the sections kept by dag_config_load() against the plugins'
 * declarations `decls` (one per section, merged) and resolve every
 * declared setting: the file, then DAGCTL__SECTION__KEY, else the
 * declared default. An unknown key gets a did-you-mean over the section's
 * declared keys; with `whole` set, a kept section that no declaration
 * names is an error with a did-you-mean over dagctl's and the declared
 * sections (without it, such sections are left for a caller that knows
 * every plugin). A declaration of dagctl's own section is an error.
 * Replaces what an earlier call resolved. Returns 0, or DAG_ECONFIG with
 * the problems in `diags` (FILE:LINE:COL, or the variable). */
int dag_config_check_plugins(struct dag_config *cfg,
                             const struct dag_config_section_decl *decls, size_t n,
                             bool whole, struct dag_diags *diags);

void dag_config_free(struct dag_config *cfg);

/* A setting's value as text ("4", "true", "30s", a string), for plugins'
 * connection() lookups; NULL if unset or unknown (a plugin's setting is
 * known once dag_config_check_plugins() resolved it). Caller frees.
 * Secrets included: never log the result. */
char *dag_config_value(const struct dag_config *cfg, const char *section, const char *key);

/* One setting of a loaded configuration, as `dagctl config show` lists it. */
struct dag_config_item {
  const char *section; /* borrowed from the config */
  const char *key;     /* borrowed from the config */
  const char *alias;   /* borrowed; another key setting the same value
                          ("token_file" for web.token), or NULL */
  char *value;         /* owned; as written in the file, "***" for a secret
                          that is set; NULL when unset */
  bool secret;
};

/* Every setting of `cfg` in the file format's order, then the plugins'
 * resolved sections in declaration order, one item per value:
 * an alternative spelling is the alias of the first, not an item. Secret
 * values never leave the config (they read "***"). Caller frees with
 * dag_config_items_free(). */
void dag_config_items(const struct dag_config *cfg, struct dag_config_item **out,
                      size_t *n);
void dag_config_items_free(struct dag_config_item *items, size_t n);

#endif
