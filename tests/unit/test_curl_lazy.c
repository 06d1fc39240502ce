/* test_curl_lazy.c - libcurl loaded on first use (tasks/support/curl_lazy.c).
 *
 * The process starts without libcurl mapped (this test links dagctl's
 * layers, which no longer link libcurl); the first curl_easy_init() loads
 * it; the forwarded variadic curl_easy_setopt() and curl_easy_getinfo()
 * pass each argument type through intact, shown by a file:// transfer
 * whose result depends on a long, a string, a function pointer, a data
 * pointer and a curl_off_t option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "curl_lazy.h"

static int mapped(const char *name) {
  FILE *f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof(line), f))
    if (strstr(line, name)) found = 1;
  fclose(f);
  return found;
}

struct body {
  char buf[64];
  size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  struct body *b = arg;
  size_t len = size * n;
  if (b->len + len >= sizeof(b->buf)) return 0;
  memcpy(b->buf + b->len, p, len);
  b->len += len;
  b->buf[b->len] = '\0';
  return len;
}

/* One run of the whole file case, in order: the first test must find
 * libcurl absent. */
static void test_loaded_on_first_use(void **state) {
  (void)state;
  assert_false(mapped("libcurl.so"));
  CURL *h = curl_easy_init();
  assert_non_null(h);
  assert_null(dag_curl_load_error());
  assert_true(mapped("libcurl.so"));

  char path[] = "/tmp/test_curl_lazy_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "0123456789", 10), 10);
  close(fd);
  char url[256];
  snprintf(url, sizeof(url), "file://%s", path);

  struct body b = {.len = 0};
  char err[CURL_ERROR_SIZE] = "";
  assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
  assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body), CURLE_OK);
  assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &b), CURLE_OK);
  assert_int_equal(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err), CURLE_OK);
  assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
  /* A curl_off_t: the transfer starts at byte 6. */
  assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)6), CURLE_OK);
  assert_int_equal(curl_easy_perform(h), CURLE_OK);
  assert_string_equal(b.buf, "6789");
  curl_off_t got = -1;
  assert_int_equal(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got), CURLE_OK);
  assert_int_equal(got, 4);

  /* A long out of range is refused by libcurl itself, so the value
   * arrives as given. */
  assert_int_equal(curl_easy_setopt(h, CURLOPT_HTTP_VERSION, 999L), CURLE_UNSUPPORTED_PROTOCOL);

  /* After a reset the resume offset is gone: the whole file. */
  curl_easy_reset(h);
  b.len = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  assert_int_equal(curl_easy_perform(h), CURLE_OK);
  assert_string_equal(b.buf, "0123456789");

  struct curl_slist *l = curl_slist_append(NULL, "X-A: 1");
  assert_non_null(l);
  curl_slist_free_all(l);
  assert_non_null(strstr(curl_easy_strerror(CURLE_COULDNT_CONNECT), "connect"));
  curl_easy_cleanup(h);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loaded_on_first_use),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
