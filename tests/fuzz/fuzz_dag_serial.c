/* fuzz_dag_serial.c - libFuzzer target for the stored form of a DAG.
 *
 * Two inputs in one: a YAML DAG that loads must survive serialize ->
 * deserialize with the same text (so the same version id), and any text
 * given to dag_deserialize() must either be refused with a message or
 * read into a DAG whose serialized form is a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "dag_load.h"
#include "dag_serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* text -> DAG -> text must give `text` back. */
static void fixed_point(const char *text) {
  struct dag *dag = NULL;
  char *err = NULL;
  if (dag_deserialize(text, &dag, &err) != 0 || dag == NULL || err != NULL) abort();
  char *again = dag_serialize(dag);
  if (strcmp(again, text) != 0) abort();
  free(again);
  dag_free(dag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  if (dag_load_buffer("fuzz.yaml", (const char *)data, size, NULL, &dag, &diags) == 0) {
    char *text = dag_serialize(dag);
    fixed_point(text);
    free(text);
  }
  dag_free(dag);
  dag_diags_free(&diags);

  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  struct dag *read = NULL;
  char *err = NULL;
  int rc = dag_deserialize(text, &read, &err);
  if ((rc == 0) != (read != NULL) || (rc == 0) == (err != NULL)) abort();
  if (read) {
    char *out = dag_serialize(read);
    fixed_point(out);
    free(out);
  }
  dag_free(read);
  free(err);
  free(text);
  return 0;
}
