/* test_yaml_doc.c - the YAML layer: the tree, its marks, the two ways of
 * reading mappings, parse failures left to the caller, and the typed
 * accessors' diagnostics. The DAG loader's cases (tests/data/dags) cover
 * the rest through dag_load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "yaml_doc.h"

struct fx {
  struct dag_diags diags;
  struct dag_yaml_ctx ctx;
  struct dag_ydoc doc;
};

static int parse(struct fx *f, const char *text, const struct dag_yaml_options *o) {
  memset(f, 0, sizeof(*f));
  dag_yaml_ctx_init(&f->ctx, "t.yaml", &f->diags);
  return dag_yaml_parse(&f->ctx, text, strlen(text), o, &f->doc);
}

/* The diagnostics, one per line, in file order. */
static char *diags(struct fx *f) {
  dag_yaml_ctx_finish(&f->ctx);
  return dag_diags_join(&f->diags);
}

static void done(struct fx *f) {
  dag_ydoc_free(&f->doc);
  dag_diags_free(&f->diags);
}

static void test_tree_and_marks(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(parse(&f, "a: 1\nb:\n  - x\n  - 'y'\n", NULL), 0);
  const struct dag_ynode *root = f.doc.root;
  assert_int_equal(root->kind, DAG_YN_MAP);
  const struct dag_ynode *b = dag_yaml_get(root, "b");
  assert_non_null(b);
  assert_int_equal(b->kind, DAG_YN_SEQ);
  assert_int_equal(b->n, 2);
  assert_int_equal(b->items[1]->line, 4);
  assert_int_equal(b->items[1]->col, 5);
  assert_true(b->items[1]->quoted);
  assert_string_equal(dag_yaml_scalar(b->items[0]), "x");
  assert_null(dag_yaml_get(root, "c"));
  assert_null(dag_yaml_get(b, "a")); /* not a mapping */
  assert_null(dag_yaml_scalar(b));
  char *d = diags(&f);
  assert_string_equal(d, "");
  free(d);
  done(&f);

  assert_int_equal(parse(&f, "", NULL), 0);
  assert_null(f.doc.root);
  done(&f);
}

/* By default merge keys apply and a repeated key is reported and dropped;
 * as written, both stay for the caller. */
static void test_mappings(void **state) {
  (void)state;
  static const char text[] = "base: &b {x: 1, y: 2}\n"
                             "m:\n"
                             "  <<: *b\n"
                             "  y: 3\n"
                             "  y: 4\n";
  struct fx f;
  assert_int_equal(parse(&f, text, NULL), 0);
  const struct dag_ynode *m = dag_yaml_get(f.doc.root, "m");
  assert_int_equal(m->n / 2, 2);
  assert_string_equal(dag_yaml_scalar(dag_yaml_get(m, "x")), "1");
  assert_string_equal(dag_yaml_scalar(dag_yaml_get(m, "y")), "3");
  char *d = diags(&f);
  assert_string_equal(d, "t.yaml:5:3: m.y: duplicate key 'y' (first at line 4)");
  free(d);
  done(&f);

  static const struct dag_yaml_options as_written = {.as_written = true};
  assert_int_equal(parse(&f, text, &as_written), 0);
  m = dag_yaml_get(f.doc.root, "m");
  assert_int_equal(m->n / 2, 3);
  assert_string_equal(DAG_YN_KEY(m, 0)->value, "<<");
  assert_string_equal(DAG_YN_VAL(m, 2)->value, "4");
  d = diags(&f);
  assert_string_equal(d, "");
  free(d);
  done(&f);
}

static void test_failures(void **state) {
  (void)state;
  static const struct dag_yaml_options dag = {.what = "DAG file"};
  static const struct dag_yaml_options caller = {.caller_reports_syntax = true};
  struct fx f;
  assert_int_equal(parse(&f, "a: 1\n---\nb: 2\n", &dag), DAG_EPARSE);
  char *d = diags(&f);
  assert_string_equal(d, "t.yaml:2:1: only one YAML document is allowed per DAG file");
  free(d);
  done(&f);

  /* Left to the caller: nothing is reported, the facts are in the doc. */
  assert_int_equal(parse(&f, "a: 1\n---\nb: 2\n", &caller), DAG_EPARSE);
  assert_true(f.doc.syntax.second_document);
  assert_int_equal(f.doc.syntax.line, 2);
  assert_int_equal(f.doc.syntax.node_line, 3);
  assert_int_equal(f.doc.syntax.node_col, 1);
  d = diags(&f);
  assert_string_equal(d, "");
  free(d);
  done(&f);

  assert_int_equal(parse(&f, "core:\n  parallelism: 4\n bad\n", &caller), DAG_EPARSE);
  assert_false(f.doc.syntax.second_document);
  assert_string_equal(f.doc.syntax.problem, "did not find expected key");
  assert_string_equal(f.doc.syntax.context, "while parsing a block mapping");
  assert_int_equal(f.doc.syntax.line, 3);
  assert_int_equal(f.doc.syntax.col, 2);
  assert_int_equal(f.doc.syntax.context_line, 1);
  done(&f);

  assert_int_equal(parse(&f, "a: \"\xff\"\n", &dag), DAG_EPARSE);
  d = diags(&f);
  assert_non_null(strstr(d, "(DAG files must be UTF-8)"));
  free(d);
  done(&f);

  /* Billion laughs is refused however the caller reads mappings. */
  static const struct dag_yaml_options as_written = {.as_written = true};
  static const char laughs[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                               "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
  assert_int_equal(parse(&f, laughs, &as_written), DAG_EINVAL);
  d = diags(&f);
  assert_string_equal(d, "t.yaml:5:4: document too large (more than 1000000 nodes after "
                         "expanding aliases)");
  free(d);
  done(&f);
}

static void test_accessors(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(parse(&f, "i: 12\nbig: 99999999999999999999\nb: yes\ns: ~\n"
                             "d: 90s\nbad: 5 min\nj: {k: [1, 2.5, true, null, '3']}\n",
                         NULL),
                   0);
  const struct dag_ynode *r = f.doc.root;
  int i = -1;
  bool b = false;
  char *s = NULL;
  int64_t us = -1;
  assert_true(dag_yaml_get_int(&f.ctx, dag_yaml_get(r, "i"), "i", 0, 100, &i));
  assert_int_equal(i, 12);
  assert_false(dag_yaml_get_int(&f.ctx, dag_yaml_get(r, "i"), "i", 0, 10, &i));
  assert_false(dag_yaml_get_int(&f.ctx, dag_yaml_get(r, "big"), "big", 0, 10, &i));
  assert_false(dag_yaml_get_bool(&f.ctx, dag_yaml_get(r, "b"), "b", &b));
  assert_false(dag_yaml_get_string(&f.ctx, dag_yaml_get(r, "s"), "s", &s));
  assert_true(dag_yaml_get_duration(&f.ctx, dag_yaml_get(r, "d"), "d", &us));
  assert_int_equal(us, INT64_C(90000000));
  assert_false(dag_yaml_get_duration(&f.ctx, dag_yaml_get(r, "bad"), "bad", &us));
  json_t *j = dag_yaml_to_json(&f.ctx, dag_yaml_get(r, "j"), "j");
  char *text = json_dumps(j, JSON_COMPACT);
  assert_string_equal(text, "{\"k\":[1,2.5,true,null,\"3\"]}");
  free(text);
  json_decref(j);
  assert_int_equal(i, 12); /* untouched by the failed reads */
  char *d = diags(&f);
  assert_string_equal(d, "t.yaml:1:4: i: must be <= 10, got 12\n"
                         "t.yaml:2:6: big: 99999999999999999999 is out of range\n"
                         "t.yaml:3:4: b: expected true or false, got 'yes'\n"
                         "t.yaml:4:4: s: expected a string, got null\n"
                         "t.yaml:6:6: bad: invalid duration '5 min' (use e.g. 30s, 5m, 1h30m)");
  free(d);
  done(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tree_and_marks),
      cmocka_unit_test(test_mappings),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_accessors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
