/* sqlcheck.h - data quality checks: one query, one number, one condition.
 *
 * A check is either free SQL returning one value with a condition (min,
 * max, equals: any combination, at least one), or a built-in kind that
 * writes the SQL itself:
 *   row_count      table [min (default 1)] [max]   SELECT COUNT(*) FROM table
 *   not_null       table column                     rows where column IS NULL = 0
 *   no_duplicates  table column                     values held by >1 row = 0
 *   in_range       table column [min] [max]         rows outside [min, max] = 0
 *   freshness      table column max_age ("6h")      0 <= now - MAX(column) <= max_age
 *                                                   (a newest value in the future fails)
 * freshness reads ISO-8601 text as both backends print timestamps
 * (2026-11-22T08:00:00Z, a space for the T, fractions, offsets +HH[:MM]),
 * with dag_iso_parse().
 * Names of tables and columns must be identifiers (schema.table allowed),
 * numbers must be numbers: both are pasted into the SQL. */
#ifndef DAGCTL_SQLCHECK_H
#define DAGCTL_SQLCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "wh.h"

struct sqlcheck {
  const char *name; /* required: names the check in every message */
  const char *kind; /* NULL: "sql" */
  const char *sql;
  const char *table;
  const char *column;
  const char *min; /* numbers, as text */
  const char *max;
  const char *equals;
  const char *max_age; /* a duration: "30m", "6h", "1d" */
};

struct sqlcheck_result {
  bool passed;
  char *query;    /* the SQL that ran; owned */
  char *observed; /* its value as text, "NULL" for none; owned */
  char *message;  /* "check NAME passed|failed: ...; query: ..."; owned */
};

/* Run the check at wall-clock time `now_us` (microseconds since the epoch,
 * for freshness). Returns 0 when it ran, passed or not (see res->passed),
 * or DAG_EINVAL (a bad definition) or DAG_ESTORE (the query failed) with
 * *err naming the check. res is always safe to sqlcheck_result_free(). */
int sqlcheck_run(struct wh *w, const struct sqlcheck *c, int64_t now_us,
                 struct sqlcheck_result *res, char **err);
void sqlcheck_result_free(struct sqlcheck_result *res);

#endif
