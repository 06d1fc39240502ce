/* sqlcheck.c - data quality checks (see sqlcheck.h). */
#include "sqlcheck.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "duration.h"
#include "error.h"
#include "strbuf.h"
#include "timeutil.h"

static bool is_number(const char *s) {
  if (s == NULL || *s == '\0') return false;
  /* Decimal only: strtod would also take "0x1p3" and "nan", which are not
   * SQL number literals. */
  if (s[strspn(s, "0123456789+-.eE")] != '\0') return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  return errno == 0 && *end == '\0' && isfinite(v);
}

static int bad(const struct sqlcheck *c, char **err, const char *fmt, const char *arg) {
  char *what = xasprintf(fmt, arg);
  *err = xasprintf("check %s: %s", c->name ? c->name : "(unnamed)", what);
  free(what);
  return DAG_EINVAL;
}

static int need_relation(const struct sqlcheck *c, bool column, char **err) {
  if (c->table == NULL) return bad(c, err, "kind %s needs 'table'", c->kind);
  if (!wh_is_relation_name(c->table))
    return bad(c, err, "table '%s' is not a name such as silver.silver_plays", c->table);
  if (column && c->column == NULL) return bad(c, err, "kind %s needs 'column'", c->kind);
  if (column && !wh_is_identifier(c->column))
    return bad(c, err, "column '%s' is not a column name", c->column);
  return 0;
}

static int need_numbers(const struct sqlcheck *c, char **err) {
  const char *vals[] = {c->min, c->max, c->equals};
  const char *names[] = {"min", "max", "equals"};
  for (int i = 0; i < 3; i++)
    if (vals[i] && !is_number(vals[i])) {
      char *what = xasprintf("%s '%s' is not a number", names[i], vals[i]);
      int rc = bad(c, err, "%s", what);
      free(what);
      return rc;
    }
  return 0;
}

/* The condition as text and whether `v` meets it. */
static bool meets(const struct sqlcheck *c, double v, struct strbuf *cond) {
  bool ok = true;
  if (c->equals) {
    sb_appendf(cond, "= %s", c->equals);
    ok = ok && v == strtod(c->equals, NULL);
  }
  if (c->min) {
    sb_appendf(cond, "%s>= %s", cond->len ? " and " : "", c->min);
    ok = ok && v >= strtod(c->min, NULL);
  }
  if (c->max) {
    sb_appendf(cond, "%s<= %s", cond->len ? " and " : "", c->max);
    ok = ok && v <= strtod(c->max, NULL);
  }
  return ok;
}

static void finish(const struct sqlcheck *c, struct sqlcheck_result *res, bool passed,
                   const char *detail) {
  res->passed = passed;
  res->message = xasprintf("check %s %s: %s; query: %s", c->name,
                           passed ? "passed" : "failed", detail, res->query);
}

int sqlcheck_run(struct wh *w, const struct sqlcheck *c, int64_t now_us,
                 struct sqlcheck_result *res, char **err) {
  memset(res, 0, sizeof(*res));
  if (c->name == NULL || *c->name == '\0') return bad(c, err, "%s", "a check needs a name");
  const char *kind = c->kind ? c->kind : "sql";
  struct sqlcheck k = *c; /* with the kind's defaults filled in */
  k.kind = kind;
  int rc = need_numbers(c, err);
  if (rc < 0) return rc;

  bool freshness = false;
  if (strcmp(kind, "sql") == 0) {
    if (c->sql == NULL) return bad(c, err, "%s", "needs 'sql' (or a 'kind')");
    if (!c->min && !c->max && !c->equals)
      return bad(c, err, "%s", "needs a condition: min, max or equals");
    res->query = xstrdup(c->sql);
  } else if (strcmp(kind, "row_count") == 0) {
    if ((rc = need_relation(&k, false, err)) < 0) return rc;
    if (!k.min && !k.max && !k.equals) k.min = "1";
    res->query = xasprintf("SELECT COUNT(*) FROM %s", c->table);
  } else if (strcmp(kind, "not_null") == 0) {
    if ((rc = need_relation(&k, true, err)) < 0) return rc;
    k.min = k.max = NULL;
    k.equals = "0";
    res->query = xasprintf("SELECT COUNT(*) FROM %s WHERE %s IS NULL", c->table, c->column);
  } else if (strcmp(kind, "no_duplicates") == 0) {
    if ((rc = need_relation(&k, true, err)) < 0) return rc;
    k.min = k.max = NULL;
    k.equals = "0";
    res->query = xasprintf("SELECT COUNT(*) FROM (SELECT %s FROM %s WHERE %s IS NOT NULL "
                           "GROUP BY %s HAVING COUNT(*) > 1) dup",
                           c->column, c->table, c->column, c->column);
  } else if (strcmp(kind, "in_range") == 0) {
    if ((rc = need_relation(&k, true, err)) < 0) return rc;
    if (!c->min && !c->max) return bad(c, err, "%s", "kind in_range needs min and/or max");
    struct strbuf q = STRBUF_INIT;
    sb_appendf(&q, "SELECT COUNT(*) FROM %s WHERE ", c->table);
    if (c->min) sb_appendf(&q, "%s < %s", c->column, c->min);
    if (c->min && c->max) sb_append(&q, " OR ");
    if (c->max) sb_appendf(&q, "%s > %s", c->column, c->max);
    res->query = sb_detach(&q);
    k.min = k.max = NULL;
    k.equals = "0";
  } else if (strcmp(kind, "freshness") == 0) {
    if ((rc = need_relation(&k, true, err)) < 0) return rc;
    if (c->max_age == NULL) return bad(c, err, "%s", "kind freshness needs 'max_age'");
    int64_t age_us;
    if (dag_duration_parse(c->max_age, &age_us) < 0)
      return bad(c, err, "max_age '%s' is not a duration such as 30m or 6h", c->max_age);
    freshness = true;
    res->query = xasprintf("SELECT MAX(%s) FROM %s", c->column, c->table);
  } else {
    return bad(c, err,
               "unknown kind '%s' (expected sql, row_count, not_null, no_duplicates, "
               "in_range or freshness)",
               kind);
  }

  char *value = NULL, *qerr = NULL;
  rc = wh_query_value(w, res->query, NULL, 0, &value, &qerr);
  if (rc < 0) {
    *err = xasprintf("check %s: query failed: %s; query: %s", c->name, qerr, res->query);
    free(qerr);
    return rc == DAG_ENOTFOUND ? DAG_EINVAL : DAG_ESTORE;
  }
  res->observed = xstrdup(value ? value : "NULL");

  if (freshness) {
    int64_t max_age_us;
    struct dag_iso at;
    char why[96];
    dag_duration_parse(c->max_age, &max_age_us);
    char *detail;
    if (value == NULL) {
      detail = xasprintf("%s.%s has no value (no rows), max_age %s", c->table, c->column,
                         c->max_age);
      finish(c, res, false, detail);
    } else if (dag_iso_parse(value, strlen(value), &at, why, sizeof(why)) < 0) {
      detail = xasprintf("newest %s.%s '%s' is not an ISO-8601 time: %s", c->table, c->column,
                         value, why);
      finish(c, res, false, detail);
    } else {
      /* A time that has not come yet is not fresh data but wrong data (a
       * generator or a clock that lies): it fails, however young. */
      int64_t age = now_us - dag_iso_utc(&at);
      char age_text[32];
      dag_duration_format(age >= 0 ? age : -age, age_text, sizeof(age_text));
      bool ok = age >= 0 && age <= max_age_us;
      detail = xasprintf("newest %s.%s is %s, %s %s, max_age %s", c->table, c->column, value,
                         age_text, age >= 0 ? "old" : "in the future", c->max_age);
      finish(c, res, ok, detail);
    }
    free(detail);
    free(value);
    return 0;
  }

  struct strbuf cond = STRBUF_INIT;
  char *detail;
  if (value == NULL || !is_number(value)) {
    meets(&k, 0, &cond);
    detail = xasprintf("observed %s, not a number, expected %s", res->observed, sb_str(&cond));
    finish(c, res, false, detail);
  } else {
    bool ok = meets(&k, strtod(value, NULL), &cond);
    detail = xasprintf("observed %s, expected %s", value, sb_str(&cond));
    finish(c, res, ok, detail);
  }
  free(detail);
  sb_free(&cond);
  free(value);
  return 0;
}

void sqlcheck_result_free(struct sqlcheck_result *res) {
  free(res->query);
  free(res->observed);
  free(res->message);
  memset(res, 0, sizeof(*res));
}
