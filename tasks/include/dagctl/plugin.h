/* dagctl/plugin.h - the task plugin ABI.
 *
 * A plugin is a shared object exporting one symbol, dagctl_plugin_init. The
 * host calls it with the ABI version it speaks; the plugin returns a
 * description of the task types it provides (or NULL to refuse). When a task
 * of one of those types runs, a child process of the scheduler loads the
 * plugin and calls the type's execute(), handing it a table of host
 * functions. A crash, hang or leak in a plugin therefore never reaches the
 * scheduler, and execution_timeout can always kill it.
 *
 * Compatibility rules (SQLite's and Redis's): every struct begins with its
 * size and only ever grows at the end; a field is read only if `size` says
 * it is there. DAGCTL_PLUGIN_ABI_VERSION changes only when an existing
 * field's meaning changes, and the host refuses a plugin built for another
 * version with a message naming both versions. DAGCTL_PLUGIN_ABI_MINOR
 * counts the additions within a version; a plugin built against an older
 * minor keeps loading, its missing fields read as absent:
 *   0  the first release
 *   1  dagctl_task_type.params/n_params (declared parameters, checked by
 *      `dagctl validate` and the scheduler), dagctl_host.abi_minor
 *   2  dagctl_task_type.flags/poke_interval_param (sensors and services
 *      declared, read by the scheduler)
 *   3  dagctl_plugin.config_sections/n_config_sections (the plugin's own
 *      sections of dagctl.yaml, checked by the host)
 *   4  dagctl_param.fields/n_fields (the keys a mapping param, or each
 *      mapping of a list param, may hold, checked like the params);
 *      dagctl_host.trigger_dag/dag_state (runs of other DAGs)
 *   5  dagctl_host.queue_email (a mail through the alerts' outbox)
 *   6  dagctl_host.get_conn (a named connection)
 *   7  dagctl_param.choices (the values a string param, or each item of a
 *      list param, may take, checked by `dagctl validate`)
 *
 * Strings passed to the plugin are borrowed for the duration of the call
 * unless said otherwise; strings the plugin passes to the host are copied. */
#ifndef DAGCTL_PLUGIN_H
#define DAGCTL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAGCTL_PLUGIN_ABI_VERSION 1
#define DAGCTL_PLUGIN_ABI_MINOR 7

/* What execute() returns. */
enum dagctl_result {
  DAGCTL_OK = 0,      /* the task succeeded */
  DAGCTL_FAILED = 1,  /* the task failed; retries apply */
  DAGCTL_NOT_YET = 2, /* a sensor's condition is not met: poke again later */
  DAGCTL_SKIP = 3,    /* mark the task skipped (e.g. a sensor's soft_fail) */
};

enum dagctl_log_level {
  DAGCTL_LOG_DEBUG = 0,
  DAGCTL_LOG_INFO = 1,
  DAGCTL_LOG_WARN = 2,
  DAGCTL_LOG_ERROR = 3,
};

/* Functions the host offers a running task. Append-only. */
struct dagctl_host {
  uint32_t size;        /* sizeof(struct dagctl_host) as the host built it */
  uint32_t abi_version; /* DAGCTL_PLUGIN_ABI_VERSION of the host */
  void *host_data;      /* the host's; plugins never touch it */

  /* A line in the try's log; secrets are masked. */
  void (*log)(const struct dagctl_host *h, enum dagctl_log_level level, const char *fmt, ...)
      __attribute__((format(printf, 3, 4)));

  /* The task's YAML key `name`, its {{ }} templates rendered by the host
   * (no shell quoting), as text: strings as written, numbers and booleans
   * as JSON text, lists and mappings as compact JSON. NULL when absent. */
  const char *(*param)(const struct dagctl_host *h, const char *name);

  /* A setting of the dagctl configuration, e.g. ("kafka",
   * "bootstrap_servers") or ("lake", "url"); secrets included, never logged.
   * NULL when unset. A section of a plugin (minor 3) is read only by the
   * plugins that declare it: the value is the one the host checked against
   * the declaration, default included, in its normal form ("true", "30s"). */
  const char *(*connection)(const struct dagctl_host *h, const char *section, const char *key);

  /* The run's context: "dag_id", "task_id", "run_id", "ds", "ts",
   * "logical_date", "data_interval_start", "data_interval_end",
   * "try_number", "home" (DAGCTL_HOME). NULL for an unknown name. */
  const char *(*context)(const struct dagctl_host *h, const char *name);

  /* Pass a small value (at most 64 KiB of JSON) to downstream tasks: it is
   * readable in their templates as {{ ti.xcom.TASK.KEY }} and shown by
   * `dagctl tasks`. Returns 0, or -1 if `value_json` is not valid JSON or
   * too large. */
  int (*xcom_push)(const struct dagctl_host *h, const char *key, const char *value_json);

  /* A value pushed by another task of this run (JSON text, borrowed until
   * the next call), or NULL. */
  const char *(*xcom_pull)(const struct dagctl_host *h, const char *task_id, const char *key);

  /* Non-zero once the host wants the task to stop (timeout, shutdown):
   * long loops should check it and return. */
  int (*cancelled)(const struct dagctl_host *h);

  /* For service tasks: the service is up. The task's try succeeds now while
   * the process goes on running until a stop task or the run's end sends
   * SIGTERM; execute() should then finish its work and return DAGCTL_OK. */
  void (*service_ready)(const struct dagctl_host *h);

  /* Minor 1. DAGCTL_PLUGIN_ABI_MINOR of the host. */
  uint32_t abi_minor;

  /* Minor 4: runs of other DAGs (trigger_dag, external_task). */

  /* Queue a run of `dag_id` (a DAG of the DAG folder), linked to this
   * task's run: both runs' pages show the link. A run this task instance
   * triggered before (at an earlier poke or try) is returned instead, so a
   * rescheduled task never triggers twice. run_id NULL: manual__<logical
   * date>; logical_date NULL: now, else ISO-8601; conf_json NULL or a JSON
   * object. *run_id_out: the run's id, borrowed until execute() returns;
   * *created: 1 when queued by this call. Returns 0, or -1 after saying
   * why in the try's log (unknown DAG, bad conf, run id taken). */
  int (*trigger_dag)(const struct dagctl_host *h, const char *dag_id, const char *run_id,
                     const char *logical_date, const char *conf_json,
                     const char **run_id_out, int *created);

  /* A state in another run (or this one): the run of `dag_id` named
   * `run_id`, or with run_id NULL the latest run at `logical_date`
   * (ISO-8601); with task_id NULL the run's state (queued, running,
   * success, failed), else that task instance's (none, scheduled, queued,
   * running, success, failed, skipped, upstream_failed, up_for_retry,
   * up_for_reschedule...). NULL when there is no such run or task;
   * borrowed until execute() returns. */
  const char *(*dag_state)(const struct dagctl_host *h, const char *dag_id, const char *run_id,
                           const char *logical_date, const char *task_id);

  /* Minor 5. Queue a mail in the outbox that alerts use: the scheduler
   * sends it through the smtp settings, with their retries, and `dagctl
   * alerts` lists it. to_json: a non-empty JSON array of bare addresses;
   * cc_json: NULL or one; subject and body: UTF-8 text, in which the
   * configured secrets are masked. Returns 0, or -1 after saying why in
   * the try's log. */
  int (*queue_email)(const struct dagctl_host *h, const char *to_json, const char *cc_json,
                     const char *subject, const char *body);

  /* Minor 6. Connection `conn_id` (`dagctl connections`, or the
   * DAGCTL_CONN_<NAME> variable) as a JSON object: conn_type, host, port,
   * schema, login, password, extra (absent when unset). Its password is
   * masked in every log. NULL after saying why in the try's log (no such
   * connection). Borrowed until execute() returns. */
  const char *(*get_conn)(const struct dagctl_host *h, const char *conn_id);
};

/* The type of a declared parameter, as the YAML value must be written. A
 * string holding {{ }} may stand for any type: it is checked once the host
 * has rendered it, before execute() runs. */
enum dagctl_param_type {
  DAGCTL_PARAM_STRING = 0,   /* any scalar, read as text */
  DAGCTL_PARAM_INTEGER = 1,  /* 200, -3 */
  DAGCTL_PARAM_NUMBER = 2,   /* 99.9, 1e3, 7 */
  DAGCTL_PARAM_BOOLEAN = 3,  /* true/false, yes/no, 1/0 */
  DAGCTL_PARAM_DURATION = 4, /* 500ms, 30s, 1h30m, or a number of seconds */
  DAGCTL_PARAM_LIST = 5,     /* a YAML sequence */
  DAGCTL_PARAM_MAPPING = 6,  /* a YAML mapping */
  DAGCTL_PARAM_ANY = 7,      /* anything: the plugin checks it */
};

/* Flags of a declared parameter. */
#define DAGCTL_PARAM_REQUIRED 0x1u /* a task of this type must set it */
#define DAGCTL_PARAM_VERBATIM 0x2u /* the host neither checks nor renders {{ }}
                                    * in it: the plugin has a syntax of its own */

/* One parameter a task type takes (minor 1). */
struct dagctl_param {
  uint32_t size;  /* sizeof(struct dagctl_param) as the plugin built it */
  uint32_t type;  /* enum dagctl_param_type */
  uint32_t flags; /* DAGCTL_PARAM_* */
  const char *name;
  /* The value when a task does not set it, as YAML text ("30s", "200"):
   * param() returns it, `dagctl plugins` shows it. NULL: none (param()
   * returns NULL when the task does not set it). */
  const char *default_value;
  const char *description; /* one line, for `dagctl plugins` */

  /* Minor 4, a MAPPING param (or a LIST param of mappings): the keys the
   * mapping may hold, n_fields entries each fields[0].size bytes from the
   * last, themselves params (a field may have fields of its own). With
   * fields set, `dagctl validate` and the host refuse any other key (with
   * a did-you-mean), a missing required one and a value of the wrong
   * type, at its FILE:LINE:COL; a field's default is documentation only
   * (param() returns the mapping as written). NULL: any keys. */
  const struct dagctl_param *fields;
  size_t n_fields;

  /* Minor 7, a STRING param (or a LIST param of strings): the values it
   * may take, "a,b,c", ignoring case. `dagctl validate` and the host
   * refuse any other (with a did-you-mean) at its FILE:LINE:COL; a value
   * holding {{ }} is checked once rendered. NULL: any value. */
  const char *choices;
};

/* One entry of a params array:
 *   DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "timeout", "1h", "how long to wait") */
#define DAGCTL_PARAM(type, flags, name, default_value, description) \
  { sizeof(struct dagctl_param), (type), (flags), (name), (default_value), (description), \
    NULL, 0, NULL }
/* A STRING or LIST param whose values are among `choices` ("a,b,c",
 * minor 7). */
#define DAGCTL_PARAM_CHOICES(type, flags, name, default_value, description, choices) \
  { sizeof(struct dagctl_param), (type), (flags), (name), (default_value), (description), \
    NULL, 0, (choices) }
/* A MAPPING or LIST param whose mappings hold the keys of the array
 * `fields` (minor 4). */
#define DAGCTL_PARAM_FIELDS(type, flags, name, default_value, description, fields)          \
  { sizeof(struct dagctl_param), (type), (flags), (name), (default_value), (description), \
    (fields), sizeof(fields) / sizeof((fields)[0]), NULL }

/* Flags of a task type (minor 2): how the host runs its tasks. */
#define DAGCTL_TYPE_SENSOR 0x1u  /* execute() may return DAGCTL_NOT_YET (reschedule
                                  * mode): the host frees the slot and calls
                                  * again after the poke interval */
#define DAGCTL_TYPE_SERVICE 0x2u /* execute() calls service_ready() and runs on
                                  * until a stop_service task or the run's end */

struct dagctl_task_type {
  uint32_t size; /* sizeof(struct dagctl_task_type) as the plugin built it */
  const char *name;        /* the YAML `type`, e.g. "generate_events" */
  const char *description; /* one line, for `dagctl plugins` */
  /* Run one try. May block; runs in a child process of its own. */
  enum dagctl_result (*execute)(const struct dagctl_host *h);

  /* Minor 1: the parameters the type takes, n_params entries each
   * params[0].size bytes from the last. With params set, `dagctl validate`
   * and the scheduler's loader refuse a task that sets any other key (with
   * a did-you-mean), misses a required one or gives one the wrong type. A
   * type that takes none points params at any entry and sets n_params 0.
   * NULL (and every plugin built before minor 1): not declared, anything
   * goes and the plugin checks its params itself. */
  const struct dagctl_param *params;
  size_t n_params;

  /* Minor 2: DAGCTL_TYPE_* flags. */
  uint32_t flags;
  /* Minor 2, a DAGCTL_TYPE_SENSOR: the name of its declared DURATION
   * parameter holding the time between pokes. The host reschedules after
   * the task's value, else the parameter's declared default, the same
   * value the plugin reads with param(): one source. NULL (and every
   * plugin built before minor 2): the task's `poke_interval` key, else
   * 60 s. */
  const char *poke_interval_param;
};

/* The type of a declared setting of dagctl.yaml (minor 3). Every setting is
 * one scalar, which DAGCTL__SECTION__KEY can also hold. The host checks the
 * value, reports a bad one as FILE:LINE:COL with the section and key, and
 * hands connection() the normal form noted here. */
enum dagctl_setting_type {
  DAGCTL_SETTING_STRING = 0,   /* any non-empty text, as written */
  DAGCTL_SETTING_INTEGER = 1,  /* from min to max: "4" */
  DAGCTL_SETTING_BOOLEAN = 2,  /* true/false, yes/no, on/off, 1/0: "true" or "false" */
  DAGCTL_SETTING_DURATION = 3, /* 500ms, 30s, 1h30m: "30s" */
  DAGCTL_SETTING_ENUM = 4,     /* one of `choices` ("a,b,c"), ignoring case: as
                                * spelled in `choices` */
  DAGCTL_SETTING_PATH = 5,     /* a file or folder: made absolute */
  DAGCTL_SETTING_URL = 6,      /* http:// or https://, the trailing '/' dropped */
  DAGCTL_SETTING_BROKERS = 7,  /* host:port[,host:port...], blanks dropped; or
                                * one of `choices` ("embedded") */
  DAGCTL_SETTING_STORAGE = 8,  /* s3://bucket/prefix (an S3 bucket name),
                                * file:///path or a folder (made absolute) */
  DAGCTL_SETTING_TOKEN = 9,    /* one word of printable characters */
  DAGCTL_SETTING_PASSWORD = 10, /* one line without control characters */
};

/* Flags of a declared setting. */
#define DAGCTL_SETTING_SECRET 0x1u /* never shown by `dagctl config show` nor logged;
                                    * never in clear in dagctl.yaml: set from
                                    * DAGCTL__SECTION__KEY, or from the file that
                                    * KEY_file (declared by the host) names */

/* Written in a default, the home folder: "${DAGCTL_HOME}/lake". */
#define DAGCTL_HOME_PLACEHOLDER "${DAGCTL_HOME}"

/* One key of a plugin's section of dagctl.yaml (minor 3). */
struct dagctl_setting {
  uint32_t size;  /* sizeof(struct dagctl_setting) as the plugin built it */
  uint32_t type;  /* enum dagctl_setting_type */
  uint32_t flags; /* DAGCTL_SETTING_* */
  const char *key;
  /* The value when none is set, as written in the file (may hold
   * DAGCTL_HOME_PLACEHOLDER); NULL: unset, connection() returns NULL. */
  const char *default_value;
  /* ENUM: the allowed words, "a,b,c"; BROKERS: words allowed instead of
   * a broker list; else NULL. */
  const char *choices;
  int64_t min, max;        /* INTEGER: the bounds (both 0: any int) */
  const char *description; /* one line, for `dagctl plugins` */
};

/* One entry of a settings array:
 *   DAGCTL_SETTING(DAGCTL_SETTING_DURATION, 0, "timeout", "30s", NULL, "per request") */
#define DAGCTL_SETTING(type, flags, key, default_value, choices, description) \
  { sizeof(struct dagctl_setting), (type), (flags), (key), (default_value), (choices), 0, 0, \
    (description) }
#define DAGCTL_SETTING_INT(flags, key, default_value, min, max, description)               \
  { sizeof(struct dagctl_setting), DAGCTL_SETTING_INTEGER, (flags), (key), (default_value), \
    NULL, (min), (max), (description) }

/* A section of dagctl.yaml a plugin owns (minor 3), e.g. `lake:`. Sections
 * of dagctl itself (core, web, smtp) cannot be declared. Several plugins
 * may declare one section (the warehouse's url for load_bronze, dbt and
 * sql_check): their declarations must be identical but for descriptions,
 * or the host reports both plugins and keeps the first. */
struct dagctl_config_section {
  uint32_t size; /* sizeof(struct dagctl_config_section) as the plugin built it */
  const char *name;
  const char *description; /* one line */
  /* n_settings entries, each settings[0].size bytes from the last. */
  const struct dagctl_setting *settings;
  size_t n_settings;
};

struct dagctl_plugin {
  uint32_t size;        /* sizeof(struct dagctl_plugin) as the plugin built it */
  uint32_t abi_version; /* DAGCTL_PLUGIN_ABI_VERSION the plugin was built for */
  const char *name;     /* e.g. "kafka" */
  const char *version;  /* the plugin's own version, e.g. "1.0.0" */
  /* n_types entries, each types[0].size bytes from the last: a plugin built
   * against a later plugin.h has larger entries, and the host steps by
   * their size, not by its own sizeof. */
  const struct dagctl_task_type *types;
  size_t n_types;

  /* Minor 3: the sections of dagctl.yaml the plugin reads through
   * connection(), n_config_sections pointers. NULL (and every plugin built
   * before minor 3): none. */
  const struct dagctl_config_section *const *config_sections;
  size_t n_config_sections;
};

/* Plugins build with hidden visibility; the entry point is the one symbol
 * they export. */
#define DAGCTL_PLUGIN_EXPORT __attribute__((visibility("default")))

/* The one exported entry point. Return NULL if host_abi_version is not one
 * the plugin supports. */
DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version);

#define DAGCTL_PLUGIN_ENTRY "dagctl_plugin_init"

#ifdef __cplusplus
}
#endif

#endif
