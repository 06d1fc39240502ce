/* fuzz_template.c - libFuzzer target for the {{ ... }} expression parser.
 *
 * Templates come from DAG files, so a hostile one must be refused with a
 * message, never read out of bounds, leak or recurse without bound. Beyond
 * that: the loader's check and the renderer agree (what renders passes the
 * check, and a template the check refuses never renders), and every
 * failure comes with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *tmpl = malloc(size + 1);
  if (tmpl == NULL) return 0;
  memcpy(tmpl, data, size);
  tmpl[size] = '\0';

  json_t *params = json_pack("{s:s, s:i, s:[s,s], s:n}", "env", "prod", "n", 3, "cols",
                             "a", "b", "none");
  json_t *conf = json_pack("{s:s}", "date", "2024-02-29");
  json_t *xcom = json_pack("{s:{s:s}}", "t", "k", "v");
  /* A mapped instance's values (expand: {item: ...}). */
  json_t *mapped = json_pack("{s:{s:s, s:[i]}}", "item", "k", "v", "l", 1);
  struct dag_template_ctx ctx = {
      .dag_id = "d",
      .task_id = "t",
      .run_id = "r",
      .logical_date = 1704067200LL * 1000000,
      .data_interval_start = 1703980800LL * 1000000,
      .data_interval_end = 1704067200LL * 1000000,
      .has_prev_success = true,
      .prev_data_interval_start_success = 1703894400LL * 1000000,
      .try_number = 1,
      .params = params,
      .conf = conf,
      .xcom = xcom,
      .mapped = mapped,
      .map_index = 2,
  };

  char *err = NULL;
  int plain = dag_template_check(tmpl, &err);
  if ((plain != 0) != (err != NULL)) abort();
  free(err);
  /* Collecting the XCom task ids changes nothing else; the expand names
   * only add names. */
  static const char *const names[] = {"item"};
  struct dag_template_refs refs = {.names = names, .n_names = 1};
  err = NULL;
  int checked = dag_template_check_refs(tmpl, &refs, &err);
  if (plain == 0 && checked != 0) abort();
  for (size_t i = 0; i < refs.n; i++)
    if (refs.ids[i] == NULL || refs.ids[i][0] == '\0') abort();
  dag_template_refs_free(&refs);
  free(err);
  for (int shell = 0; shell < 2; shell++) {
    char *out = NULL;
    err = NULL;
    int rc = (shell ? dag_template_render_shell : dag_template_render)(tmpl, &ctx, &out, &err);
    if (rc == 0 && (out == NULL || err != NULL || checked != 0)) abort();
    if (rc != 0 && (out != NULL || err == NULL)) abort();
    free(out);
    free(err);
  }
  json_decref(params);
  json_decref(conf);
  json_decref(xcom);
  json_decref(mapped);
  free(tmpl);
  return 0;
}
