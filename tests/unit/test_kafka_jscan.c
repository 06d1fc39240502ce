/* test_kafka_jscan.c - the consumer's JSON validator (tasks/kafka/jscan.c).
 *
 * jansson, a full parser, is the oracle: on fixed tricky texts and on
 * thousands of random mutations of an event, the scanner must accept
 * exactly what jansson accepts (except numbers too large for jansson's
 * types, which JSON itself allows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "alloc.h"
#include "jscan.h"

/* Whether jansson takes `len` bytes as one JSON value. -1: it refuses for
 * a reason JSON does not have (a number beyond its types). */
static int jansson_accepts(const char *p, size_t len) {
  json_error_t err;
  json_t *j = json_loadb(p, len, JSON_DECODE_ANY, &err);
  if (j) {
    json_decref(j);
    return 1;
  }
  if (strstr(err.text, "too big") || strstr(err.text, "overflow")) return -1;
  return 0;
}

static int scan_accepts(const char *p, size_t len) {
  bool obj;
  const char *why = NULL;
  size_t pos = 0;
  int rc = js_scan(p, len, NULL, 0, &obj, &why, &pos);
  if (rc != 0) {
    assert_non_null(why);
    assert_true(pos >= 1 && pos <= len + 1);
  }
  return rc == 0;
}

static void test_fixed_cases(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int ok;
    const char *why; /* when refused */
    size_t pos;
  } cases[] = {
      {"{}", 1, NULL, 0},
      {" [ 1 , -0.5e+3 , true , false , null , \"x\" , { } ] ", 1, NULL, 0},
      {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83c\\udfb5\"", 1, NULL, 0},
      {"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5\"", 1, NULL, 0},
      {"0", 1, NULL, 0},
      {"-0", 1, NULL, 0},
      {"1E5", 1, NULL, 0},
      {"", 0, "unexpected end of input", 1},
      {"   ", 0, "unexpected end of input", 4},
      {"{\"a\":1,}", 0, "expected a string key", 8},
      {"[1,]", 0, "expected a value", 4},
      {"[1 2]", 0, "expected ',' or ']'", 4},
      {"{\"a\" 1}", 0, "expected ':'", 6},
      {"{\"a\":1 \"b\":2}", 0, "expected ',' or '}'", 8},
      {"{'a':1}", 0, "expected a string key", 2},
      {"01", 0, "trailing data after the JSON value", 2},
      {"1.", 0, "invalid number", 1},
      {".5", 0, "expected a value", 1},
      {"-", 0, "invalid number", 1},
      {"1e", 0, "invalid number", 1},
      {"+1", 0, "expected a value", 1},
      {"tru", 0, "invalid literal", 1},
      {"nul", 0, "invalid literal", 1},
      {"NaN", 0, "expected a value", 1},
      {"\"abc", 0, "unterminated string", 1},
      {"\"a\\x\"", 0, "invalid escape", 3},
      {"\"\\u12g4\"", 0, "invalid \\u escape", 2},
      {"\"\\u0000\"", 0, "\\u0000 in a string", 2},
      {"\"\\udc00\"", 0, "invalid \\u escape", 2},
      {"\"\\ud83c\"", 0, "invalid \\u escape", 2},
      {"\"\\ud83c\\u0041\"", 0, "invalid \\u escape", 2},
      {"\"a\x01\"", 0, "control character in a string", 3},
      {"\"\xc0\xaf\"", 0, "invalid UTF-8", 2},          /* overlong '/' */
      {"\"\xed\xa0\x80\"", 0, "invalid UTF-8", 2},      /* a surrogate */
      {"\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8", 2},  /* above U+10FFFF */
      {"\"\xe2\x82\"", 0, "invalid UTF-8", 2},          /* cut short */
      {"\"\x80\"", 0, "invalid UTF-8", 2},
      {"{} {}", 0, "trailing data after the JSON value", 4},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *t = cases[i].text;
    size_t len = strlen(t);
    bool obj;
    const char *why = NULL;
    size_t pos = 0;
    int rc = js_scan(t, len, NULL, 0, &obj, &why, &pos);
    if ((rc == 0) != cases[i].ok) fail_msg("case %zu '%s': want ok=%d", i, t, cases[i].ok);
    if (!cases[i].ok) {
      if (strcmp(why, cases[i].why) != 0 || pos != cases[i].pos)
        fail_msg("case %zu '%s': want '%s' at %zu, got '%s' at %zu", i, t, cases[i].why,
                 cases[i].pos, why, pos);
    }
    int oracle = jansson_accepts(t, len);
    if (oracle >= 0 && oracle != cases[i].ok)
      fail_msg("case %zu '%s': jansson says %d", i, t, oracle);
  }
}

static void test_depth(void **state) {
  (void)state;
  char buf[2 * JS_MAX_DEPTH + 4];
  size_t n = 0;
  for (int i = 0; i < JS_MAX_DEPTH; i++)
    buf[n++] = '[';
  for (int i = 0; i < JS_MAX_DEPTH; i++)
    buf[n++] = ']';
  assert_int_equal(scan_accepts(buf, n), 1);
  memmove(buf + 1, buf, n);
  buf[0] = '[';
  buf[n + 1] = ']';
  bool obj;
  const char *why;
  size_t pos;
  assert_int_equal(js_scan(buf, n + 2, NULL, 0, &obj, &why, &pos), -1);
  assert_string_equal(why, "nesting too deep");
}

static void test_fields(void **state) {
  (void)state;
  const char *t = "{\"x\":{\"event_id\":\"inner\"},\"event_id\":\"e\\u00e9\",\"played_at\":7,"
                  "\"event_id\":\"again\"}";
  struct js_field f[3] = {{.name = "event_id"}, {.name = "played_at"}, {.name = "absent"}};
  bool obj;
  const char *why;
  size_t pos;
  assert_int_equal(js_scan(t, strlen(t), f, 3, &obj, &why, &pos), 0);
  assert_true(obj);
  /* Only the top level counts: the nested event_id is not seen. */
  assert_int_equal(f[0].count, 2);
  assert_int_equal(f[0].kind, JS_STRING);
  assert_int_equal(f[1].count, 1);
  assert_int_equal(f[1].kind, JS_OTHER);
  assert_int_equal(f[2].count, 0);
  assert_int_equal(f[2].kind, JS_NONE);

  const char *u = "{\"event_id\":\"e\\u00e9\\ud83c\\udfb5\\\"\\n\"}";
  assert_int_equal(js_scan(u, strlen(u), f, 1, &obj, &why, &pos), 0);
  assert_true(f[0].escaped);
  char out[64];
  size_t n = js_unescape(f[0].val, f[0].len, out);
  assert_int_equal(n, 1 + 2 + 4 + 2);
  assert_memory_equal(out, "e\xc3\xa9\xf0\x9f\x8e\xb5\"\n", n);

  const char *arr = "[{\"event_id\":\"x\"}]";
  f[0].count = 9;
  assert_int_equal(js_scan(arr, strlen(arr), f, 1, &obj, &why, &pos), 0);
  assert_false(obj);
  assert_int_equal(f[0].count, 0);
}

static void test_compact(void **state) {
  (void)state;
  const char *t = "{\n  \"a b\" : [ 1 ,\t2 ],\r\n  \"c\": \"x \\\" y\"\n}\n";
  char out[128];
  size_t n = js_compact(t, strlen(t), out);
  assert_string_equal(out, "{\"a b\":[1,2],\"c\":\"x \\\" y\"}");
  assert_int_equal(n, strlen(out));
}

/* Random damage to a real event: both parsers must agree every time. */
static void test_mutations_agree_with_jansson(void **state) {
  (void)state;
  const char *base =
      "{\"event_id\":\"dab5110d-88df-46de-a3d1-1d3dc090899e\",\"user_id\":\"user_0047\","
      "\"event_type\":\"play\",\"n\":[1,-2.5e3,true,null],\"o\":{\"k\":\"caf\xc3\xa9\"},"
      "\"duration_ms\":236000,\"played_at\":\"2026-11-21T05:45:32Z\",\"e\":\"\\u00e9\\n\"}";
  static const char alphabet[] = "\"\\{}[],: \n\tu0e-.9aA/\x01\x80\xc3\xa9\xed\xf0\xff";
  uint64_t x = 88172645463325252u;
  size_t blen = strlen(base), agree = 0, accepted = 0;
  char buf[512];
  for (int iter = 0; iter < 30000; iter++) {
    memcpy(buf, base, blen);
    size_t len = blen;
    int edits = 1 + iter % 3;
    for (int e = 0; e < edits; e++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t at = (size_t)(x >> 8) % len;
      char c = alphabet[(x >> 40) % (sizeof(alphabet) - 1)];
      switch ((x >> 56) % 3) {
      case 0: buf[at] = c; break;
      case 1: /* insert */
        memmove(buf + at + 1, buf + at, len - at);
        buf[at] = c;
        len++;
        break;
      default: /* delete */
        memmove(buf + at, buf + at + 1, len - at - 1);
        len--;
      }
    }
    int oracle = jansson_accepts(buf, len);
    if (oracle < 0) continue;
    int mine = scan_accepts(buf, len);
    if (mine != oracle)
      fail_msg("iteration %d: scanner %d, jansson %d on: %.*s", iter, mine, oracle, (int)len,
               buf);
    agree++;
    accepted += (size_t)mine;
  }
  /* The mutations must exercise both outcomes. */
  assert_true(agree > 29000);
  assert_true(accepted > 1000 && accepted < agree - 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixed_cases),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_compact),
      cmocka_unit_test(test_mutations_agree_with_jansson),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
