/* fuzz_params.c - libFuzzer target for the check of a trigger's conf
 * against typed params (scheduler/core/param_schema.c).
 *
 * The conf comes from whoever may trigger (CLI, API, page): anything may be
 * in it. Beyond no crash, leak or out-of-bounds read: a check either passes
 * with no message or fails with DAG_EINVAL and a message that names a field
 * of the schema ("conf.NAME: ..."). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "param_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_text[] =
    "{\"n\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000},"
    " \"x\": {\"type\": [\"number\", \"null\"], \"minimum\": -1.5},"
    " \"mode\": {\"enum\": [\"full\", \"delta\", 3, null]},"
    " \"name\": {\"type\": \"string\", \"minLength\": 2, \"maxLength\": 8,"
    "           \"pattern\": \"^[a-z]+(_[a-z0-9]+)*$\"},"
    " \"flag\": {\"type\": \"boolean\", \"required\": false},"
    " \"obj\": {\"type\": \"object\", \"required\": false},"
    " \"list\": {\"type\": \"array\", \"required\": false}}";
static const char defaults_text[] = "{\"n\": 5, \"x\": null, \"mode\": \"full\", \"name\": \"ab\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *schema = json_loads(schema_text, 0, NULL);
  json_t *defaults = json_loads(defaults_text, 0, NULL);
  if (!schema || !defaults) abort();
  json_t *conf = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  char *err = NULL;
  int rc = dag_params_validate(schema, defaults, conf, &err);
  if ((rc == 0) != (err == NULL)) abort();
  if (rc != 0 && rc != DAG_EINVAL) abort();
  if (err) {
    if (strncmp(err, "conf.", 5) != 0) abort();
    size_t len = strcspn(err + 5, ":");
    char *name = strndup(err + 5, len);
    if (!json_object_get(schema, name)) abort();
    free(name);
  }
  free(err);
  json_decref(conf);
  json_decref(schema);
  json_decref(defaults);
  return 0;
}
