/* plugin_sql_check.c - the sql_check task type: one data quality check.
 *
 * Params: check (its name, default the task id), and either sql with min /
 * max / equals, or kind (row_count, not_null, no_duplicates, in_range,
 * freshness) with table, column, min, max, max_age (see sqlcheck.h). The
 * host renders no template in sql (declared verbatim): a value from a run's
 * conf must never become SQL. The task fails when the check does, with a
 * message naming the check, its query and the observed value; XCom:
 * observed, passed. */
#include <dagctl/plugin.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "alloc.h"
#include "sqlcheck.h"
#include "wh.h"
#include "wh_host.h"

static enum dagctl_result sql_check(const struct dagctl_host *h) {
  struct sqlcheck c = {
      .name = h->param(h, "check"),
      .kind = h->param(h, "kind"),
      .sql = h->param(h, "sql"),
      .table = h->param(h, "table"),
      .column = h->param(h, "column"),
      .min = h->param(h, "min"),
      .max = h->param(h, "max"),
      .equals = h->param(h, "equals"),
      .max_age = h->param(h, "max_age"),
  };
  if (c.name == NULL) c.name = h->context(h, "task_id");
  struct wh *w = wh_open_for_task(h);
  if (w == NULL) return DAGCTL_FAILED;

  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct sqlcheck_result res;
  char *err = NULL;
  int rc = sqlcheck_run(w, &c, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec, &res, &err);
  enum dagctl_result out = DAGCTL_FAILED;
  if (rc < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "%s", err);
  } else {
    json_t *v = json_string(res.observed); /* NULL if not UTF-8 */
    char *json = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    h->xcom_push(h, "observed", json ? json : "null");
    free(json);
    json_decref(v);
    h->xcom_push(h, "passed", res.passed ? "true" : "false");
    h->log(h, res.passed ? DAGCTL_LOG_INFO : DAGCTL_LOG_ERROR, "%s", res.message);
    out = res.passed ? DAGCTL_OK : DAGCTL_FAILED;
  }
  free(err);
  sqlcheck_result_free(&res);
  wh_close(w);
  return out;
}

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "check", NULL,
                 "the check's name in messages; default: the task id"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "kind", "sql",
                 "sql, row_count, not_null, no_duplicates, in_range or freshness"),
    /* Verbatim: a rendered {{ conf.x }} would reach the SQL unquoted. */
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_VERBATIM, "sql", NULL,
                 "a query returning one value (kind sql), as written: no templates"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "table", NULL, "schema.table of a built-in kind"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "column", NULL, "the column of a built-in kind"),
    DAGCTL_PARAM(DAGCTL_PARAM_NUMBER, 0, "min", NULL, "the least value that passes"),
    DAGCTL_PARAM(DAGCTL_PARAM_NUMBER, 0, "max", NULL, "the greatest value that passes"),
    DAGCTL_PARAM(DAGCTL_PARAM_NUMBER, 0, "equals", NULL, "the one value that passes"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "max_age", NULL, "freshness: the oldest newest value"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "sql_check",
     "a data quality check: one query, one value, one condition", sql_check, params,
     sizeof(params) / sizeof(params[0])},
};

static const struct dagctl_config_section *const sections[] = {&wh_config_section};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "sql_check", "1.0.0", types,
    sizeof(types) / sizeof(types[0]), sections, sizeof(sections) / sizeof(sections[0]),
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
