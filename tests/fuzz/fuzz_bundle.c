/* fuzz_bundle.c - libFuzzer target for run bundles (`dagctl import`), which
 * come from outside: any bytes must be refused with a message or read into
 * a bundle that is written back and read again to the same document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dag_bundle b;
  char *err = NULL;
  if (dag_bundle_parse((const char *)data, size, &b, &err) != 0) {
    if (!err) abort(); /* a refusal always says why */
    free(err);
    return 0;
  }
  if (err) abort();
  /* What was accepted is written back, and that reads again the same. */
  json_t *doc = dag_bundle_to_json(&b);
  char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(doc);
  struct dag_bundle again;
  if (dag_bundle_parse(text, strlen(text), &again, &err) != 0) abort();
  json_t *doc2 = dag_bundle_to_json(&again);
  char *text2 = json_dumps(doc2, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(doc2);
  if (strcmp(text, text2) != 0) abort();
  free(text);
  free(text2);
  dag_bundle_free(&again);
  dag_bundle_free(&b);
  return 0;
}
