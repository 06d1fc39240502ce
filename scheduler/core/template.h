/* template.h - the {{ ... }} values in commands, argv, env and cwd.
 *
 * A small, strict subset of Airflow's Jinja context. Names:
 *   ds, ds_nodash, ts, ts_nodash, logical_date, data_interval_start,
 *   data_interval_end, prev_data_interval_start_success, run_id, dag_id,
 *   task_id, try_number, dag.dag_id, task.task_id, ti.try_number,
 *   params.NAME, conf.NAME (conf.NAME.SUB for nested objects),
 *   ti.xcom.TASK.KEY (a value another task of the run pushed),
 *   var.value.NAME, var.json.NAME.KEY... (a variable, its text or the
 *   JSON it holds), conn.NAME.FIELD (a connection: host, login, password,
 *   port, schema, conn_type, conn_id, description, extra.KEY,
 *   extra_dejson.KEY)
 * A mapped task's instances (expand:) also have {{ NAME }} for each of its
 * expand keys (NAME.KEY... into an object item) and ti.map_index.
 * Macros: macros.ds_add(ds, days), macros.ds_format(ds, in_fmt, out_fmt).
 * Literals: 'text', "text", whole numbers, true, false, none.
 * Filters, chained with |: upper, lower, default(v[, boolean]),
 * replace(old, new[, count]), tojson, shquote, raw.
 * `params.x` resolves to the run's conf value when the run's conf has key x
 * (Airflow's dag_run_conf_overrides_params), else to the DAG's params.
 * Unknown names and filters, wrong argument counts and unterminated tags are
 * errors, never silently empty; a missing param, conf key or XCom is an
 * error unless a `default` filter replaces it.
 *
 * Shell commands (dag_template_render_shell) get every value as one
 * POSIX-single-quoted word, so a value can never become shell syntax:
 * `{{ params.x }}` with x = `a; rm -rf ~` runs nothing. A tag whose last
 * filter is `shquote` is a quoted word already and goes in as it is.
 * `{{ NAME | raw }}` splices the text in as it is, for authors who mean to
 * build syntax from it; anywhere else (argv, env, cwd, plugin params) values
 * are never interpreted by a shell, so there `raw` changes nothing. */
#ifndef DAG_TEMPLATE_H
#define DAG_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "common.h"

struct dag_template_ctx {
  const char *dag_id;
  const char *task_id;
  const char *run_id;
  dag_time_t logical_date;
  dag_time_t data_interval_start;
  dag_time_t data_interval_end;
  int try_number;
  /* The data interval start of the latest successful run before this one
   * (Airflow's prev_data_interval_start_success); null when there is none. */
  bool has_prev_success;
  dag_time_t prev_data_interval_start_success;
  const json_t *params; /* borrowed; may be NULL */
  const json_t *conf;   /* borrowed; may be NULL */
  const json_t *xcom;   /* borrowed; {TASK: {KEY: value}}; may be NULL */
  /* A mapped task's instance: {NAME: value} of its expand keys (borrowed)
   * and its map_index; NULL: not a mapped instance (ti.map_index is -1). */
  const json_t *mapped;
  int map_index;
  /* {{ var.value.NAME }}, {{ var.json.NAME.KEY }} and {{ conn.NAME.FIELD }}
   * are looked up through these (NULL: not available here, an error). Each
   * returns 0 and its result (a variable's text, caller frees; a connection
   * as dag_conn_json() gives it, a new reference), DAG_ENOTFOUND (the tag
   * is then undefined, which `default` replaces), or another code with *err
   * (caller frees). store_vars.h provides them over the state store. */
  int (*lookup_var)(void *ud, const char *name, char **value, char **err);
  int (*lookup_conn)(void *ud, const char *name, json_t **conn, char **err);
  void *lookup_ud;
};

/* Render `tmpl`. Returns 0 and *out (caller frees), or DAG_ETEMPLATE with a
 * message in *err (caller frees) naming the offending tag. */
int dag_template_render(const char *tmpl, const struct dag_template_ctx *ctx,
                        char **out, char **err);

/* The same for a shell command: every value not marked `| raw` is inserted
 * as one single-quoted word ('it'\''s' for it's). */
int dag_template_render_shell(const char *tmpl, const struct dag_template_ctx *ctx,
                              char **out, char **err);

/* Append `s` (`len` bytes) to `sb` as one POSIX shell word in single quotes. */
struct strbuf;
void dag_shell_quote(struct strbuf *sb, const char *s, size_t len);

/* The run's params as a task's environment sees them: a new object with the
 * DAG's params, each overridden (or added) by the run's conf key of the same
 * name, as {{ params.NAME }} resolves. Caller decrefs. */
json_t *dag_template_params(const struct dag_template_ctx *ctx);

/* A JSON value as a template inserts it: strings bare, null as "", others as
 * compact JSON. Returns 0 and *out (caller frees), or DAG_EINVAL if a string
 * holds a NUL byte. */
int dag_template_value_text(const json_t *v, char **out);

/* The params and conf as environment variables, for tasks that would rather
 * read them there than through templates. set(ud, NAME, VALUE) is called for
 *   DAGCTL_PARAMS       dag_template_params() as compact JSON
 *   DAGCTL_CONF         the run's conf as compact JSON ({} when it has none)
 *   DAGCTL_PARAM_<name> each of those params as dag_template_value_text()
 *                       gives it; <name> as written, case kept. A name that
 *                       cannot be part of a variable name (anything but
 *                       ASCII letters, digits and '_') gets no variable of
 *                       its own: read it from DAGCTL_PARAMS.
 * A value longer than DAG_TEMPLATE_ENV_MAX bytes is left out: the kernel
 * refuses to start a program with one variable over 128 KiB. */
#define DAG_TEMPLATE_ENV_MAX (64 * 1024)
void dag_template_env(const struct dag_template_ctx *ctx,
                      void (*set)(void *ud, const char *name, const char *value), void *ud);

/* Check syntax and names without rendering (params/conf keys are not checked:
 * conf is only known at trigger time). For the loader. */
int dag_template_check(const char *tmpl, char **err);

/* The same, collecting the task ids the template reads XComs of
 * (ti.xcom_pull(task_ids='T') and ti.xcom.T.KEY), each once, into `refs`
 * (appended to; free with dag_template_refs_free()). For the loader, which
 * checks that they name tasks of the DAG. */
struct dag_template_refs {
  char **ids; /* owned */
  size_t n, cap;
  /* In: the expand key names a mapped task's templates may use (borrowed);
   * none for other tasks. */
  const char *const *names;
  size_t n_names;
};
int dag_template_check_refs(const char *tmpl, struct dag_template_refs *refs, char **err);
void dag_template_refs_free(struct dag_template_refs *refs);

/* Whether `name` is one of the context's own names (ds, params, ti...),
 * which an expand key may not shadow. */
bool dag_template_name_reserved(const char *name);

#endif
