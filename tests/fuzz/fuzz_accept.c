/* fuzz_accept.c - libFuzzer target for the Accept header reader
 * (web/http_parse.c) and the log continuation token (web/api_log_json.c).
 * Beyond "no crash": a quality is always within 0..1000, a choice is
 * -1, 0 or 1 and never a type of quality 0, and a token that parses gives
 * a position >= 0 that a token made from it gives back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "web_log_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  static const char *const types[] = {"text/plain", "application/json", "text/html"};
  for (size_t i = 0; i < 3; i++) {
    int q = dag_http_accept_quality(s, types[i]);
    if (q < 0 || q > 1000) abort();
  }
  int k = dag_http_accept_choose(s, "text/plain", "application/json");
  if (k < -1 || k > 1) abort();
  if (k == 0 && dag_http_accept_quality(s, "text/plain") == 0) abort();
  if (k == 1 && dag_http_accept_quality(s, "application/json") == 0) abort();
  int64_t pos;
  if (api_log_token_parse(s, &pos)) {
    if (pos < 0) abort();
    char *again = api_log_token(pos, false);
    int64_t back = -1;
    if (!api_log_token_parse(again, &back) || back != pos) abort();
    free(again);
  }
  free(s);
  return 0;
}
