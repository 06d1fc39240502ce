/* fuzz_auth_header.c - libFuzzer target for the parsers of the
 * Authorization and Cookie headers (web/web_auth.c, web_session.c). Beyond
 * "no crash": the parse always ends in one kind, a Basic user is never
 * empty nor holds ':', no field holds a control character or runs past its
 * buffer, and a cookie value is base64url only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_controls(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  if (n == cap) abort(); /* not terminated */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *h = malloc(size + 1);
  if (!h) return 0;
  memcpy(h, data, size);
  h[size] = '\0';
  struct web_cred c;
  web_cred_parse(h, &c);
  switch (c.kind) {
  case WEB_CRED_BASIC:
    if (!c.user[0] || strchr(c.user, ':') || !c.secret[0]) abort();
    no_controls(c.user, sizeof(c.user));
    no_controls(c.secret, sizeof(c.secret));
    break;
  case WEB_CRED_BEARER:
    if (!c.secret[0] || strchr(c.secret, ' ')) abort();
    no_controls(c.secret, sizeof(c.secret));
    break;
  case WEB_CRED_BAD:
    if (c.user[0] || c.secret[0]) abort();
    break;
  case WEB_CRED_NONE:
    abort(); /* a header was given */
  }
  web_cred_wipe(&c);
  char v[48];
  if (web_cookie_value(h, "dagctl_session", v, sizeof(v))) {
    size_t n = strnlen(v, sizeof(v));
    if (n == 0 || n == sizeof(v)) abort();
    if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n)
      abort();
  }
  free(h);
  return 0;
}
