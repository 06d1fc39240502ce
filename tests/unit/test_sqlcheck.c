/* test_sqlcheck.c - each kind of data quality check, passing and failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "sqlcheck.h"
#include "wh.h"

/* 2026-11-22T12:00:00Z */
#define NOW INT64_C(1795348800000000)
#define HOUR INT64_C(3600000000)

struct fx {
  char dir[64];
  struct wh *w;
};

static int setup(void **state) {
  struct fx *f = xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_sqlcheck.XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  char *url = xasprintf("%s/warehouse.db", f->dir);
  struct wh_options o = {.url = url};
  char *err = NULL;
  int rc = wh_open(&o, &f->w, &err);
  free(url);
  if (rc != 0) return -1;
  rc = wh_exec(f->w,
               "CREATE TABLE silver.plays (event_id TEXT, duration_ms INTEGER, played_at TEXT,"
               " loaded_at TEXT);"
               "INSERT INTO silver.plays VALUES"
               " ('e1', 1000, '2026-11-22T09:00:00Z', '2026-11-22 11:30:00'),"
               " ('e2', 2000, '2026-11-22T10:30:00.5+00:00', '2026-11-22 11:30:00'),"
               " ('e3', NULL, '2026-11-22T08:00:00Z', '2026-11-22 11:30:00');"
               "CREATE TABLE silver.empty (event_id TEXT, played_at TEXT);"
               "CREATE TABLE silver.future (played_at TEXT);"
               "INSERT INTO silver.future VALUES ('2026-11-22T09:00:00Z'),"
               " ('2026-11-23T05:00:00Z');"
               "CREATE TABLE silver.feb (played_at TEXT);"
               "INSERT INTO silver.feb VALUES ('2026-02-30T10:00:00Z');"
               "CREATE TABLE silver.now (played_at TEXT);"
               "INSERT INTO silver.now VALUES ('2026-11-22T12:00:00Z')",
               &err);
  if (rc != 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  wh_close(f->w);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", f->dir);
  free(cmd);
  free(f);
  return 0;
}

/* Run a check that must run; return whether it passed, with the message. */
static bool run(struct fx *f, const struct sqlcheck *c, struct sqlcheck_result *res) {
  char *err = NULL;
  int rc = sqlcheck_run(f->w, c, NOW, res, &err);
  if (rc != 0) fail_msg("check %s did not run: %s", c->name, err);
  return res->passed;
}

static void expect(struct fx *f, const struct sqlcheck *c, bool passed, const char *message) {
  struct sqlcheck_result res;
  bool got = run(f, c, &res);
  if (got != passed || strcmp(res.message, message) != 0)
    fail_msg("check %s: %s\n  want (%s) %s", c->name, res.message,
             passed ? "pass" : "fail", message);
  sqlcheck_result_free(&res);
}

static void test_sql_with_conditions(void **state) {
  struct fx *f = *state;
  struct sqlcheck c = {.name = "total", .sql = "SELECT SUM(duration_ms) FROM silver.plays",
                       .min = "3000"};
  expect(f, &c, true,
         "check total passed: observed 3000, expected >= 3000; query: SELECT "
         "SUM(duration_ms) FROM silver.plays");
  c.max = "2999.5";
  expect(f, &c, false,
         "check total failed: observed 3000, expected >= 3000 and <= 2999.5; query: SELECT "
         "SUM(duration_ms) FROM silver.plays");
  c = (struct sqlcheck){.name = "eq", .sql = "SELECT 2", .equals = "2"};
  expect(f, &c, true, "check eq passed: observed 2, expected = 2; query: SELECT 2");
  c.sql = "SELECT NULL";
  expect(f, &c, false, "check eq failed: observed NULL, not a number, expected = 2; query: "
                       "SELECT NULL");
  c.sql = "SELECT 'abc'";
  expect(f, &c, false, "check eq failed: observed abc, not a number, expected = 2; query: "
                       "SELECT 'abc'");
}

static void test_row_count(void **state) {
  struct fx *f = *state;
  struct sqlcheck c = {.name = "plays_rows", .kind = "row_count", .table = "silver.plays"};
  expect(f, &c, true, "check plays_rows passed: observed 3, expected >= 1; query: SELECT "
                      "COUNT(*) FROM silver.plays");
  c.min = "4";
  expect(f, &c, false, "check plays_rows failed: observed 3, expected >= 4; query: SELECT "
                       "COUNT(*) FROM silver.plays");
  c = (struct sqlcheck){.name = "empty_rows", .kind = "row_count", .table = "silver.empty"};
  expect(f, &c, false, "check empty_rows failed: observed 0, expected >= 1; query: SELECT "
                       "COUNT(*) FROM silver.empty");
}

static void test_not_null_and_duplicates(void **state) {
  struct fx *f = *state;
  struct sqlcheck c = {.name = "ids", .kind = "not_null", .table = "silver.plays",
                       .column = "event_id"};
  expect(f, &c, true, "check ids passed: observed 0, expected = 0; query: SELECT COUNT(*) "
                      "FROM silver.plays WHERE event_id IS NULL");
  c.column = "duration_ms";
  expect(f, &c, false, "check ids failed: observed 1, expected = 0; query: SELECT COUNT(*) "
                       "FROM silver.plays WHERE duration_ms IS NULL");
  c = (struct sqlcheck){.name = "dups", .kind = "no_duplicates", .table = "silver.plays",
                        .column = "event_id"};
  const char *q = "; query: SELECT COUNT(*) FROM (SELECT event_id FROM silver.plays WHERE "
                  "event_id IS NOT NULL GROUP BY event_id HAVING COUNT(*) > 1) dup";
  char *msg = xasprintf("check dups passed: observed 0, expected = 0%s", q);
  expect(f, &c, true, msg);
  free(msg);
  char *err = NULL;
  assert_int_equal(wh_exec(f->w,
                           "INSERT INTO silver.plays (event_id) VALUES ('e1'), ('e1'), ('e2')",
                           &err),
                   0);
  msg = xasprintf("check dups failed: observed 2, expected = 0%s", q);
  expect(f, &c, false, msg);
  free(msg);
}

static void test_in_range(void **state) {
  struct fx *f = *state;
  struct sqlcheck c = {.name = "durations", .kind = "in_range", .table = "silver.plays",
                       .column = "duration_ms", .min = "1000", .max = "2000"};
  expect(f, &c, true, "check durations passed: observed 0, expected = 0; query: SELECT "
                      "COUNT(*) FROM silver.plays WHERE duration_ms < 1000 OR duration_ms > "
                      "2000");
  c.max = "1500";
  expect(f, &c, false, "check durations failed: observed 1, expected = 0; query: SELECT "
                       "COUNT(*) FROM silver.plays WHERE duration_ms < 1000 OR duration_ms > "
                       "1500");
  c.min = NULL;
  expect(f, &c, false, "check durations failed: observed 1, expected = 0; query: SELECT "
                       "COUNT(*) FROM silver.plays WHERE duration_ms > 1500");
}

static void test_freshness(void **state) {
  struct fx *f = *state;
  struct sqlcheck c = {.name = "fresh", .kind = "freshness", .table = "silver.plays",
                       .column = "played_at", .max_age = "2h"};
  /* Newest 10:30:00.5, now 12:00: 1h29m59.5s old. */
  expect(f, &c, true, "check fresh passed: newest silver.plays.played_at is "
                      "2026-11-22T10:30:00.5+00:00, 1h29m59.5s old, max_age 2h; query: SELECT "
                      "MAX(played_at) FROM silver.plays");
  c.max_age = "1h";
  expect(f, &c, false, "check fresh failed: newest silver.plays.played_at is "
                       "2026-11-22T10:30:00.5+00:00, 1h29m59.5s old, max_age 1h; query: SELECT "
                       "MAX(played_at) FROM silver.plays");
  /* SQLite's CURRENT_TIMESTAMP text, without an offset: UTC. */
  c = (struct sqlcheck){.name = "loaded", .kind = "freshness", .table = "silver.plays",
                        .column = "loaded_at", .max_age = "30m"};
  expect(f, &c, true, "check loaded passed: newest silver.plays.loaded_at is 2026-11-22 "
                      "11:30:00, 30m old, max_age 30m; query: SELECT MAX(loaded_at) FROM "
                      "silver.plays");
  c = (struct sqlcheck){.name = "none", .kind = "freshness", .table = "silver.empty",
                        .column = "played_at", .max_age = "6h"};
  expect(f, &c, false, "check none failed: silver.empty.played_at has no value (no rows), "
                       "max_age 6h; query: SELECT MAX(played_at) FROM silver.empty");

  /* A time that has not come yet is not fresh, it is wrong: 17 hours
   * ahead must not pass as "0s old". Exactly now is fine. */
  c = (struct sqlcheck){.name = "ahead", .kind = "freshness", .table = "silver.future",
                        .column = "played_at", .max_age = "48h"};
  expect(f, &c, false, "check ahead failed: newest silver.future.played_at is "
                       "2026-11-23T05:00:00Z, 17h in the future, max_age 48h; query: SELECT "
                       "MAX(played_at) FROM silver.future");
  c = (struct sqlcheck){.name = "now", .kind = "freshness", .table = "silver.now",
                        .column = "played_at", .max_age = "1s"};
  expect(f, &c, true, "check now passed: newest silver.now.played_at is "
                      "2026-11-22T12:00:00Z, 0s old, max_age 1s; query: SELECT "
                      "MAX(played_at) FROM silver.now");

  /* A day that does not exist is not read as the next month's. */
  c = (struct sqlcheck){.name = "feb", .kind = "freshness", .table = "silver.feb",
                        .column = "played_at", .max_age = "10000h"};
  expect(f, &c, false, "check feb failed: newest silver.feb.played_at '2026-02-30T10:00:00Z' "
                       "is not an ISO-8601 time: day 30 does not exist: February 2026 has 28 "
                       "days; query: SELECT MAX(played_at) FROM silver.feb");

}

static void test_bad_definitions(void **state) {
  struct fx *f = *state;
  static const struct {
    struct sqlcheck c;
    int rc;
    const char *err;
  } cases[] = {
      {{.name = "a", .sql = "SELECT 1"}, DAG_EINVAL,
       "check a: needs a condition: min, max or equals"},
      {{.name = "b"}, DAG_EINVAL, "check b: needs 'sql' (or a 'kind')"},
      {{.name = "c", .kind = "row_counts", .table = "x"}, DAG_EINVAL,
       "check c: unknown kind 'row_counts'"},
      {{.name = "d", .kind = "not_null", .table = "silver.plays"}, DAG_EINVAL,
       "check d: kind not_null needs 'column'"},
      {{.name = "e", .kind = "row_count", .table = "x; DROP TABLE y"}, DAG_EINVAL,
       "check e: table 'x; DROP TABLE y' is not a name"},
      {{.name = "f", .kind = "in_range", .table = "t", .column = "c", .min = "1 OR 1=1"},
       DAG_EINVAL, "check f: min '1 OR 1=1' is not a number"},
      {{.name = "g", .kind = "freshness", .table = "t", .column = "c", .max_age = "soon"},
       DAG_EINVAL, "check g: max_age 'soon' is not a duration"},
      {{.name = "h", .kind = "row_count", .table = "silver.nope"}, DAG_ESTORE,
       "check h: query failed: "},
      {{.name = "i", .sql = "SELECT 1 WHERE 0", .equals = "1"}, DAG_EINVAL,
       "check i: query failed: "},
      {{.name = NULL, .sql = "SELECT 1"}, DAG_EINVAL, "check (unnamed): a check needs a name"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct sqlcheck_result res;
    char *err = NULL;
    int rc = sqlcheck_run(f->w, &cases[i].c, NOW, &res, &err);
    if (rc != cases[i].rc) fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
    if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
      fail_msg("case %zu: '%s', want '%s...'", i, err, cases[i].err);
    free(err);
    sqlcheck_result_free(&res);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sql_with_conditions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_row_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_null_and_duplicates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_in_range, setup, teardown),
      cmocka_unit_test_setup_teardown(test_freshness, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_definitions, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
