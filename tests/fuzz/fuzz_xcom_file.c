/* fuzz_xcom_file.c - libFuzzer target for the $DAGCTL_XCOM file's parser
 * and the last line of output (scheduler/core/xcom_file.c).
 *
 * The file and the log are a task's output: anything may be in them. Beyond
 * no crash, leak or out-of-bounds read: a parse either gives an object of
 * valid keys whose values each fit the store's limit, or fails with a
 * message; the last line never holds a newline and fits the limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xcom_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  json_t *o = NULL;
  char *err = NULL;
  int rc = dag_xcom_file_parse(buf, size, &o, &err);
  if ((rc == 0) != (o != NULL) || (rc != 0) != (err != NULL)) abort();
  if (o) {
    if (!json_is_object(o) || json_object_size(o) > DAG_XCOM_MAX_KEYS) abort();
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
      if (!dag_xcom_key_ok(key)) abort();
      char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      if (!text || strlen(text) > DAG_XCOM_VALUE_MAX) abort();
      free(text);
    }
  }
  json_decref(o);
  free(err);

  char *line = NULL;
  err = NULL;
  rc = dag_xcom_last_line(buf, size, &line, &err);
  if ((rc == 0) != (line != NULL) || (rc != 0) != (err != NULL)) abort();
  if (line && (strchr(line, '\n') || strlen(line) > DAG_XCOM_VALUE_MAX)) abort();
  free(line);
  free(err);
  return 0;
}
