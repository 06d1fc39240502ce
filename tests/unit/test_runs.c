/* test_runs.c - creating DAG runs (runs.c): generated run ids stay unique
 * when two runs are created at the same instant, a run id the user chose
 * stays an error when taken. */
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
#include "dag_load.h"
#include "error.h"
#include "ids.h"
#include "runs.h"
#include "store.h"
#include "store_backends.h"

struct fixture {
  struct store_test_db db;
  dag_store *st;
  struct dag *dag;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  store_test_open(&f->db);
  char *err = NULL;
  assert_int_equal(dag_store_open(f->db.state, NULL, &f->st, &err), 0);
  static const char yaml[] = "dag_id: d\n"
                             "tasks:\n"
                             "  - {id: a, command: 'true'}\n"
                             "  - {id: b, command: 'true', upstream: [a]}\n";
  struct dag_diags diags = DAG_DIAGS_INIT;
  assert_int_equal(dag_load_buffer("d.yaml", yaml, strlen(yaml), NULL, &f->dag, &diags), 0);
  dag_diags_free(&diags);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  dag_free(f->dag);
  dag_store_close(f->st);
  store_test_drop(&f->db);
  free(f);
  return 0;
}

/* Create a run; returns its code, stores the id (caller frees) or NULL. */
static int create(struct fixture *f, enum dag_run_type type, const char *run_id,
                  dag_time_t logical, char **id_out, char **err) {
  struct dag_run_request req;
  memset(&req, 0, sizeof(req));
  req.type = type;
  req.run_id = run_id;
  req.logical_date = logical;
  int64_t pk = 0;
  int rc = dag_run_create(f->st, f->dag, &req, &pk, id_out, err);
  if (rc == 0) assert_true(pk > 0);
  return rc;
}

/* Two triggers in the same microsecond: both runs are created, with
 * distinct ids, each with its task instances. */
static void test_generated_ids_never_collide(void **state) {
  struct fixture *f = *state;
  const dag_time_t t = 1795000000123456;
  char *ids[5] = {0};
  for (int i = 0; i < 5; i++) {
    char *err = NULL;
    int rc = create(f, DAG_RUN_TYPE_MANUAL, NULL, t, &ids[i], &err);
    if (rc) fail_msg("run %d: %s", i, err ? err : "?");
    assert_null(err);
    assert_non_null(ids[i]);
    assert_true(dag_id_is_valid(DAG_ID_RUN, ids[i]));
    for (int j = 0; j < i; j++) assert_string_not_equal(ids[i], ids[j]);
  }
  assert_string_equal(ids[0], "manual__2026-11-18T11:06:40.123456+00:00");
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_runs(f->st, "d", 0, &runs, &n), 0);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(runs[i].logical_date, t);
    struct dag_store_ti *tis = NULL;
    size_t nt = 0;
    assert_int_equal(dag_store_list_tis(f->st, runs[i].pk, &tis, &nt), 0);
    assert_int_equal(nt, 2);
    dag_store_tis_free(tis, nt);
  }
  dag_store_runs_free(runs, n);
  for (int i = 0; i < 5; i++) free(ids[i]);
}

/* `dagctl test` names its runs test__NOW: the same rule. */
static void test_generated_test_ids_never_collide(void **state) {
  struct fixture *f = *state;
  char *a = NULL, *b = NULL, *err = NULL;
  assert_int_equal(create(f, DAG_RUN_TYPE_TEST, NULL, 1795000000000000, &a, &err), 0);
  assert_int_equal(create(f, DAG_RUN_TYPE_TEST, NULL, 1795000000000000, &b, &err), 0);
  assert_string_not_equal(a, b);
  free(a);
  free(b);
}

/* A generated id that a user took by hand first is not reused either. */
static void test_generated_id_taken_by_hand(void **state) {
  struct fixture *f = *state;
  char *a = NULL, *b = NULL, *err = NULL;
  const char *taken = "manual__2026-11-18T11:06:40+00:00";
  assert_int_equal(create(f, DAG_RUN_TYPE_MANUAL, taken, 0, &a, &err), 0);
  assert_int_equal(create(f, DAG_RUN_TYPE_MANUAL, NULL, 1795000000000000, &b, &err), 0);
  assert_string_equal(a, taken);
  assert_string_not_equal(b, taken);
  assert_int_equal(strncmp(b, taken, strlen(taken)), 0);
  free(a);
  free(b);
}

/* The run id a user chose is theirs: taken is an error, not a new name. */
static void test_explicit_id_taken_is_an_error(void **state) {
  struct fixture *f = *state;
  char *a = NULL, *b = NULL, *err = NULL;
  assert_int_equal(create(f, DAG_RUN_TYPE_MANUAL, "nightly", 0, &a, &err), 0);
  assert_int_equal(create(f, DAG_RUN_TYPE_MANUAL, "nightly", 0, &b, &err), DAG_EEXIST);
  assert_null(b);
  assert_non_null(err);
  assert_string_equal(err, "DAG 'd' already has a run 'nightly'");
  free(err);
  free(a);
}

/* A scheduled run's id names its interval: a second run for the same
 * interval is refused, which is how the scheduler moves past it. */
static void test_scheduled_id_taken_is_eexist(void **state) {
  struct fixture *f = *state;
  char *a = NULL, *b = NULL, *err = NULL;
  assert_int_equal(create(f, DAG_RUN_TYPE_SCHEDULED, NULL, 1795000000000000, &a, &err), 0);
  assert_int_equal(create(f, DAG_RUN_TYPE_SCHEDULED, NULL, 1795000000000000, &b, &err),
                   DAG_EEXIST);
  free(err);
  free(a);
}

/* dag_store_find_runs(): each filter alone and none, one statement for
 * every combination (a NULL parameter does not filter). */
static void test_find_runs_filters(void **state) {
  struct fixture *f = *state;
  char *a = NULL, *b = NULL, *err = NULL;
  assert_int_equal(create(f, DAG_RUN_TYPE_MANUAL, "first", 1000, &a, &err), 0);
  assert_int_equal(create(f, DAG_RUN_TYPE_MANUAL, "second", 2000, &b, &err), 0);
  struct dag_store_run r;
  assert_int_equal(dag_store_get_run(f->st, "d", "second", &r), 0);
  assert_int_equal(dag_store_set_run_state(f->st, r.pk, DAG_RUN_FAILED, 5000, 6000), 0);
  dag_store_run_free(&r);
  assert_int_equal(dag_store_get_run(f->st, "d", "first", &r), 0);
  assert_int_equal(dag_store_set_run_state(f->st, r.pk, DAG_RUN_RUNNING, 3000, 0), 0);
  dag_store_run_free(&r);
  struct {
    struct dag_store_run_filter filter;
    const char *want; /* run ids, newest first */
  } cases[] = {
      {{0}, "second first"},
      {{.dag_id = "d"}, "second first"},
      {{.dag_id = "other"}, ""},
      {{.has_state = true, .state = DAG_RUN_FAILED}, "second"},
      {{.has_state = true, .state = DAG_RUN_RUNNING}, "first"},
      {{.since = 4000}, "second"},
      {{.limit = 1}, "second"},
  };
  for (size_t c = 0; c < DAG_ARRAY_SIZE(cases); c++) {
    struct dag_store_run *runs = NULL;
    size_t n = 0;
    assert_int_equal(dag_store_find_runs(f->st, &cases[c].filter, &runs, &n), 0);
    char got[64] = "";
    for (size_t i = 0; i < n; i++)
      snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", runs[i].run_id);
    assert_string_equal(got, cases[c].want);
    dag_store_runs_free(runs, n);
  }
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_generated_ids_never_collide, setup, teardown),
      cmocka_unit_test_setup_teardown(test_generated_test_ids_never_collide, setup, teardown),
      cmocka_unit_test_setup_teardown(test_generated_id_taken_by_hand, setup, teardown),
      cmocka_unit_test_setup_teardown(test_explicit_id_taken_is_an_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scheduled_id_taken_is_eexist, setup, teardown),
      cmocka_unit_test_setup_teardown(test_find_runs_filters, setup, teardown),
  };
  return store_backends_run("runs", tests, DAG_ARRAY_SIZE(tests));
}
