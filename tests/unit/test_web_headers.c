/* test_web_headers.c - what the web server reads from request headers and
 * query strings beside the parser: the client behind a proxy
 * (web/forwarded.c), Accept (http_parse.c), and order_by and paging of
 * list answers (web/api_sort.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_sort.h"
#include "forwarded.h"
#include "http.h"

static void test_forwarded(void **state) {
  (void)state;
  static const struct {
    const char *xff, *peer, *want; /* want NULL: not believed */
  } cases[] = {
      {"203.0.113.7", "127.0.0.1", "203.0.113.7"},
      /* what the client wrote on the left is not read */
      {"198.51.100.66, 203.0.113.7", "127.0.0.1", "203.0.113.7"},
      {"not-an-address, 203.0.113.7", "127.0.0.1", "203.0.113.7"},
      /* trusted proxies on the right are skipped: loopback, the peer */
      {"203.0.113.7, 127.0.0.1", "127.0.0.1", "203.0.113.7"},
      {"203.0.113.7,10.0.0.5", "10.0.0.5", "203.0.113.7"},
      {"2001:db8::1, ::1", "::1", "2001:db8::1"},
      {"2001:DB8:0:0::1", "::1", "2001:db8::1"}, /* canonical form */
      /* all trusted: the leftmost is the client */
      {"127.0.0.2, 127.0.0.1", "127.0.0.1", "127.0.0.2"},
      /* garbage where our proxies write: nothing believed */
      {"203.0.113.9, x", "127.0.0.1", NULL},
      {"203.0.113.9, ", "127.0.0.1", NULL},
      {"203.0.113.9:8080", "127.0.0.1", NULL},
      {"[2001:db8::1]", "127.0.0.1", NULL},
      {"", "127.0.0.1", NULL},
      {" , ", "127.0.0.1", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[64] = "unchanged";
    bool ok = dag_forwarded_client(cases[i].xff, cases[i].peer, out, sizeof(out));
    if (cases[i].want) {
      assert_true(ok);
      assert_string_equal(out, cases[i].want);
    } else {
      assert_false(ok);
      assert_string_equal(out, "unchanged");
    }
  }
  char small[8];
  assert_false(dag_forwarded_client("203.0.113.7", "127.0.0.1", small, sizeof(small)));
  assert_false(dag_forwarded_client(NULL, "127.0.0.1", small, sizeof(small)));
}

static void test_accept(void **state) {
  (void)state;
  assert_int_equal(dag_http_accept_quality(NULL, "text/plain"), 1000);
  assert_int_equal(dag_http_accept_quality("", "text/plain"), 1000);
  assert_int_equal(dag_http_accept_quality("*/*", "application/json"), 1000);
  assert_int_equal(dag_http_accept_quality("application/json", "text/plain"), 0);
  assert_int_equal(dag_http_accept_quality("text/*;q=0.3, */*;q=0.1", "text/plain"), 300);
  assert_int_equal(dag_http_accept_quality("text/*;q=0.3, text/plain;q=0.7", "text/plain"), 700);
  assert_int_equal(dag_http_accept_quality("TEXT/Plain ; charset=utf-8 ; q=0.5", "text/plain"), 500);
  assert_int_equal(dag_http_accept_quality("text/plain;q=1.5", "text/plain"), 0);
  assert_int_equal(dag_http_accept_quality("text/plain;q=0", "text/plain"), 0);
  /* Airflow's clients */
  assert_int_equal(dag_http_accept_choose("application/json", "text/plain", "application/json"), 1);
  /* browsers, curl: the first */
  assert_int_equal(dag_http_accept_choose("*/*", "text/plain", "application/json"), 0);
  assert_int_equal(dag_http_accept_choose(NULL, "text/plain", "application/json"), 0);
  assert_int_equal(dag_http_accept_choose("text/plain;q=0.2, application/json;q=0.9",
                                          "text/plain", "application/json"),
                   1);
  assert_int_equal(dag_http_accept_choose("image/png", "text/plain", "application/json"), -1);
}

static json_t *objs(const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  assert_non_null(j);
  return j;
}

static void test_sort(void **state) {
  (void)state;
  static const char *const fields[] = {"k", "n", NULL};
  json_t *a = objs("[{\"k\":\"b\",\"n\":2},{\"k\":null,\"n\":1},{\"k\":\"a\",\"n\":3},"
                   "{\"n\":4},{\"k\":\"a\",\"n\":5}]");
  assert_true(api_sort(NULL, "k", fields, a));
  char *s = json_dumps(a, JSON_COMPACT);
  /* null and absent first, in their order; ties keep theirs (stable) */
  assert_string_equal(s, "[{\"k\":null,\"n\":1},{\"n\":4},{\"k\":\"a\",\"n\":3},{\"k\":\"a\",\"n\":5},"
                         "{\"k\":\"b\",\"n\":2}]");
  free(s);
  assert_true(api_sort(NULL, "-n", fields, a));
  json_t *page = api_page(a, 1, 2);
  s = json_dumps(page, JSON_COMPACT);
  assert_string_equal(s, "[{\"n\":4},{\"k\":\"a\",\"n\":3}]"); /* 5 4 3 2 1, from 1 */
  free(s);
  json_decref(page);
  page = api_page(a, 10, 5);
  assert_int_equal(json_array_size(page), 0);
  json_decref(page);
  assert_true(api_sort(NULL, NULL, fields, a));
  assert_true(api_sort(NULL, "", fields, a));
  json_decref(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forwarded),
      cmocka_unit_test(test_accept),
      cmocka_unit_test(test_sort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
