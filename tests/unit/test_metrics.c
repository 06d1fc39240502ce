/* test_metrics.c - label values in /metrics as the text format wants them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "strbuf.h"
#include "web_int.h"

static void check(const char *in, const char *want) {
  struct strbuf sb = STRBUF_INIT;
  web_metrics_label_escape(&sb, in);
  assert_string_equal(sb_str(&sb), want);
  sb_free(&sb);
}

static void test_label_escape(void **state) {
  (void)state;
  check("etl_daily", "etl_daily");
  check("a\"b", "a\\\"b");
  check("back\\slash", "back\\\\slash");
  check("two\nlines", "two\\nlines");
  check("\\\"\n", "\\\\\\\"\\n");
  check("", "");
  check(NULL, "");
  /* Anything else, UTF-8 included, stays as it is. */
  check("caf\xc3\xa9 {x=1}", "caf\xc3\xa9 {x=1}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_label_escape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
