/* fuzz_yaml_doc.c - libFuzzer target for the YAML layer, in both ways of
 * reading mappings (the DAG loader's and dagctl.yaml's), with every node
 * walked through the typed accessors.
 *
 * Beyond "no crash, no leak": a parse that fails says why (a diagnostic,
 * or the facts left to the caller), one that succeeds has a tree whose
 * marks lie inside the text, and the accessors leave *out untouched when
 * they report an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, int lines, int depth) {
  if (n->line < 1 || n->line > lines || n->col < 1) abort();
  if (depth > 70) return; /* aliases may nest without end; the layer bounds the work */
  if (n->kind == DAG_YN_SCALAR) {
    int i = -7;
    bool b = false;
    char *s = NULL;
    int64_t us = -7;
    if (!dag_yaml_get_int(ctx, n, "v", -100, 100, &i) && i != -7) abort();
    if (!dag_yaml_get_bool(ctx, n, "v", &b) && b) abort();
    if (dag_yaml_get_string(ctx, n, "v", &s) == (s == NULL)) abort();
    free(s);
    if (!dag_yaml_get_duration(ctx, n, "v", &us) && us != -7) abort();
    free(dag_yaml_describe(n));
    return;
  }
  if (n->kind == DAG_YN_MAP && n->n % 2 != 0) abort();
  for (size_t i = 0; i < n->n && !dag_yaml_saturated(ctx); i++)
    walk(ctx, n->items[i], lines, depth + 1);
}

static void one(const uint8_t *data, size_t size, const struct dag_yaml_options *o) {
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag_yaml_ctx ctx;
  struct dag_ydoc doc;
  dag_yaml_ctx_init(&ctx, "fuzz.yaml", &diags);
  int rc = dag_yaml_parse(&ctx, (const char *)data, size, o, &doc);
  /* Every byte may end a line (libyaml also counts NEL, LS and PS). */
  int lines = (int)size + 1;
  if (rc != 0) {
    bool told = diags.n > 0 || doc.syntax.problem || doc.syntax.second_document;
    if (!told || doc.root != NULL) abort();
  } else if (doc.root) {
    walk(&ctx, doc.root, lines, 0);
    json_decref(dag_yaml_to_json(&ctx, doc.root, ""));
  }
  dag_yaml_ctx_finish(&ctx);
  dag_ydoc_free(&doc);
  dag_diags_free(&diags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const struct dag_yaml_options dag = {.what = "DAG file"};
  static const struct dag_yaml_options config = {.as_written = true,
                                                 .caller_reports_syntax = true};
  one(data, size, &dag);
  one(data, size, &config);
  return 0;
}
