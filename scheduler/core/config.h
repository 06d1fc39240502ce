/* config.h - dagctl's settings: DAGCTL_HOME/dagctl.yaml plus overrides.
 *
 * Precedence, lowest first: built-in defaults, the config file (sections such
 * as `core:` and `web:`), environment variables DAGCTL__SECTION__KEY
 * (Airflow's convention), then command-line flags. Unknown sections and keys,
 * in the file or the environment, are errors with a did-you-mean. */
#ifndef DAG_CONFIG_H
#define DAG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "log.h"

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

  /* web */
  char *web_bind; /* "127.0.0.1" */
  int web_port;   /* 8080 */
  char *web_token; /* NULL: mutations are refused */
  char *web_base_url; /* for links in alerts; "http://127.0.0.1:8080" */
  int web_max_connections_per_client; /* open connections from one address; 32 */

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

  /* lake: the object store plugins read and write */
  char *lake_url;               /* "s3://bucket/prefix" or an absolute folder; HOME/lake */
  char *lake_endpoint;          /* S3 endpoint URL; NULL: AWS */
  char *lake_region;            /* "us-east-1" */
  bool lake_path_style;         /* false; forced for an IP or localhost endpoint */
  char *lake_access_key_id;     /* NULL: unsigned requests */
  char *lake_secret_access_key; /* env or lake.secret_access_key_file only */
  int64_t lake_timeout_us;      /* per request; 30 s */

  /* warehouse: bronze/silver/gold for load_bronze, dbt and sql_check */
  char *warehouse_url;      /* a SQLite path or postgresql:// URL; HOME/warehouse.db */
  char *warehouse_password; /* PostgreSQL; env or password_file only; NULL: libpq's own */

  /* kafka: the event stream (plugins read these through connection()) */
  char *kafka_bootstrap_servers; /* "embedded" (the default) or "host:port,..." */
  char *kafka_security_protocol; /* plaintext|ssl|sasl_plaintext|sasl_ssl; NULL: plaintext */
  char *kafka_sasl_mechanism;    /* PLAIN, SCRAM-SHA-256, ...; NULL: none */
  char *kafka_sasl_username;     /* NULL: none */
  char *kafka_sasl_password;     /* env or kafka.sasl_password_file only */
  char *kafka_ssl_ca_location;   /* trusted CAs (PEM); NULL: the system's */
};

struct dag_config_flags {
  const char *home;        /* --home, or NULL */
  const char *dags_folder; /* --dags, or NULL */
  const char *config_file; /* --config, or NULL: HOME/dagctl.yaml if present */
};

/* Fill `cfg` from defaults, the file, `envp` (NULL-terminated, usually
 * environ) and `flags`. Returns 0, or DAG_ECONFIG with every problem in
 * `diags` (file:line:col for the file, the variable name for the
 * environment). cfg is always safe to dag_config_free(). */
int dag_config_load(struct dag_config *cfg, const struct dag_config_flags *flags,
                    char *const *envp, struct dag_diags *diags);

void dag_config_free(struct dag_config *cfg);

/* A setting's value as text ("4", "true", "30s", a string), for plugins'
 * connection() lookups; NULL if unset or unknown. Caller frees. Secrets
 * included: never log the result. */
char *dag_config_value(const struct dag_config *cfg, const char *section, const char *key);

/* One setting of a loaded configuration, as `dagctl config show` lists it. */
struct dag_config_item {
  const char *section; /* static */
  const char *key;     /* static */
  const char *alias;   /* static; another key setting the same value
                          ("token_file" for web.token), or NULL */
  char *value;         /* owned; as written in the file, "***" for a secret
                          that is set; NULL when unset */
  bool secret;
};

/* Every setting of `cfg` in the file format's order, one item per value:
 * an alternative spelling is the alias of the first, not an item. Secret
 * values never leave the config (they read "***"). Caller frees with
 * dag_config_items_free(). */
void dag_config_items(const struct dag_config *cfg, struct dag_config_item **out,
                      size_t *n);
void dag_config_items_free(struct dag_config_item *items, size_t n);

#endif
