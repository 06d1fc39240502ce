/* fuzz_dbt_jinja.c - libFuzzer target for the dbt models' Jinja subset
 * (tasks/dbt/dbt_jinja.c).
 *
 * Model files come from a DAG's dbt project, so a hostile one must be
 * refused with a message, never read out of bounds, leak or recurse without
 * bound. Beyond that: every call the renderer hands over carries a name,
 * JSON arguments and a line within the text; a success has output and no
 * error; a failure has no output and a message that starts with the file
 * and a line of the text ("m.sql:LINE: "), as every error of a model does. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dbt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
  int lines; /* of the text */
};

static void check_call(const struct ctx *c, const struct jinja_call *call) {
  if (call->name == NULL || call->name[0] == '\0' || !json_is_array(call->args) ||
      !json_is_object(call->kwargs) || call->line < 1 || call->line > c->lines)
    abort();
}

/* Renders as dbt_project.c's would: a bare `this`, calls of any name (with
 * a failure for "fail"), their arguments printed back as JSON. */
static int call_fn(void *ud, const struct jinja_call *call, struct strbuf *out, char **err) {
  check_call(ud, call);
  if (strcmp(call->name, "fail") == 0) {
    *err = xstrdup("asked to fail");
    return -1;
  }
  char *args = json_dumps(call->args, JSON_COMPACT | JSON_ENCODE_ANY);
  char *kw = json_dumps(call->kwargs, JSON_COMPACT | JSON_SORT_KEYS);
  if (args == NULL || kw == NULL) abort(); /* the parser built JSON jansson cannot print */
  sb_appendf(out, "%s%s%s", call->name, args, kw);
  free(args);
  free(kw);
  return 0;
}

/* {% if %}: yes() true, no() false, anything else both branches (the
 * first pass of dbt_project.c, which looks for every ref()). */
static int test_fn(void *ud, const struct jinja_call *call, int *out, char **err) {
  check_call(ud, call);
  if (strcmp(call->name, "fail") == 0) {
    *err = xstrdup("asked to fail");
    return -1;
  }
  *out = strcmp(call->name, "yes") == 0  ? JINJA_TRUE
         : strcmp(call->name, "no") == 0 ? JINJA_FALSE
                                         : JINJA_BOTH;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The renderer reads C strings: a NUL ends the text, as it would end a
   * model file read with the loader's string functions. */
  char *text = xstrndup((const char *)data, size);
  struct ctx c = {1};
  for (const char *p = text; *p; p++)
    c.lines += *p == '\n';
  for (int with_test = 0; with_test < 2; with_test++) {
    char *out = (char *)"unset", *err = (char *)"unset";
    int rc = dbt__jinja_render("m.sql", text, call_fn, with_test ? test_fn : NULL, &c, &out,
                               &err);
    if (rc == 0) {
      if (out == NULL || err != NULL) abort();
      free(out);
      continue;
    }
    if (rc != -1 || out != NULL || err == NULL) abort();
    int line = 0, n = 0;
    if (sscanf(err, "m.sql:%d: %n", &line, &n) != 1 || n == 0 || line < 1 || line > c.lines ||
        err[n] == '\0')
      abort();
    free(err);
  }
  free(text);
  return 0;
}
