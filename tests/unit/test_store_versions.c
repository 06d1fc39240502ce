/* test_store_versions.c - DAG versions in the store: one per distinct
 * content, numbered per DAG, the file's text kept up to date, the latest
 * good one per DAG, and a run's version recorded with it. */
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
#include "dag.h"
#include "dag_load.h"
#include "dag_serial.h"
#include "error.h"
#include "store.h"
#include "store_fixture.h"

static struct dag *load(const char *yaml) {
  struct dag *dag = NULL;
  struct dag_diags diags = DAG_DIAGS_INIT;
  if (dag_load_buffer("/dags/v.yaml", yaml, strlen(yaml), NULL, &dag, &diags) != 0)
    fail_msg("%s", diags.n ? diags.items[0].msg : "?");
  dag_diags_free(&diags);
  return dag;
}

static const char A[] = "dag_id: v\ntasks:\n  - id: a\n    command: echo a\n";
static const char B[] = "dag_id: v\ntasks:\n  - id: b\n    command: echo b\n";

static void test_one_version_per_content(void **state) {
  struct store_fixture *f = *state;
  struct dag *a = load(A), *b = load(B);
  bool paused;
  assert_int_equal(dag_store_sync_dag(f->st, a, false, 1, &paused), 0);
  int64_t id1, id2, id3;
  int n1, n2, n3;
  assert_int_equal(dag_store_put_version(f->st, a, A, true, 10, &id1, &n1), 0);
  assert_int_equal(n1, 1);
  /* The same content again, with other text (a comment): the same version,
   * whose stored text follows the file. */
  const char *a2 = "# note\ndag_id: v\ntasks:\n  - id: a\n    command: echo a\n";
  struct dag *again = load(A);
  assert_int_equal(dag_store_put_version(f->st, again, a2, true, 20, &id2, &n2), 0);
  assert_int_equal(id2, id1);
  assert_int_equal(n2, 1);
  struct dag_store_version v;
  assert_int_equal(dag_store_get_version(f->st, id1, NULL, true, &v), 0);
  assert_string_equal(v.source_code, a2);
  assert_int_equal(v.created_at, 10);
  dag_store_version_free(&v);
  /* Other content: version 2, now the latest good one. */
  assert_int_equal(dag_store_put_version(f->st, b, B, true, 30, &id3, &n3), 0);
  assert_true(id3 != id1);
  assert_int_equal(n3, 2);
  assert_int_equal(dag_store_get_version(f->st, 0, "v", true, &v), 0);
  assert_int_equal(v.id, id3);
  assert_string_equal(v.source_code, B);
  char *text = dag_serialize(b);
  char hash[DAG_SHA256_HEX_LEN + 1];
  dag_serial_hash(text, hash);
  assert_string_equal(v.data, text);
  assert_string_equal(v.dag_hash, hash);
  assert_string_equal(v.fileloc, "/dags/v.yaml");
  free(text);
  dag_store_version_free(&v);
  /* Without `current`, and without text: found, the latest good unchanged,
   * the stored text kept. */
  assert_int_equal(dag_store_put_version(f->st, a, NULL, false, 40, &id2, &n2), 0);
  assert_int_equal(id2, id1);
  assert_int_equal(dag_store_get_version_number(f->st, "v", 1, true, &v), 0);
  assert_string_equal(v.source_code, a2);
  dag_store_version_free(&v);
  struct dag_store_dag d;
  assert_int_equal(dag_store_get_dag(f->st, "v", &d), 0);
  assert_int_equal(d.dag_version_id, id3);
  assert_int_equal(d.dag_version_number, 2);
  dag_store_dag_free(&d);
  struct dag_store_version *list = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_versions(f->st, "v", &list, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(list[0].version_number, 2);
  assert_int_equal(list[1].version_number, 1);
  assert_null(list[0].data); /* the list leaves the big columns out */
  dag_store_versions_free(list, n);
  assert_int_equal(dag_store_get_version_number(f->st, "v", 3, false, &v), DAG_ENOTFOUND);
  assert_int_equal(dag_store_get_version(f->st, 0, "nosuch", false, &v), DAG_ENOTFOUND);
  dag_free(a);
  dag_free(again);
  dag_free(b);
}

static void test_run_records_its_version(void **state) {
  struct store_fixture *f = *state;
  struct dag *a = load(A);
  int64_t vid;
  assert_int_equal(dag_store_put_version(f->st, a, A, false, 10, &vid, NULL), 0);
  struct dag_store_run row = {.dag_id = "v", .run_id = "r1", .run_type = "manual",
                              .conf = "{}", .queued_at = 5, .dag_version_id = vid};
  const char *ids[] = {"a"};
  int tries[] = {0};
  int64_t pk;
  assert_int_equal(dag_store_create_run(f->st, &row, ids, tries, 1, false, &pk, NULL), 0);
  struct dag_store_run got;
  assert_int_equal(dag_store_get_run_by_pk(f->st, pk, &got), 0);
  assert_int_equal(got.dag_version_id, vid);
  assert_int_equal(got.dag_version_number, 1);
  dag_store_run_free(&got);
  /* A run without a version (created before versions existed). */
  row.run_id = "r0";
  row.dag_version_id = 0;
  assert_int_equal(dag_store_create_run(f->st, &row, ids, tries, 1, false, &pk, NULL), 0);
  assert_int_equal(dag_store_get_run_by_pk(f->st, pk, &got), 0);
  assert_int_equal(got.dag_version_id, 0);
  assert_int_equal(got.dag_version_number, 0);
  dag_store_run_free(&got);
  dag_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(test_one_version_per_content),
      STORE_TEST(test_run_records_its_version),
  };
  return store_backends_run("store_versions", tests, DAG_ARRAY_SIZE(tests));
}
