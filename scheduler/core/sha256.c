/* sha256.c - SHA-256 through OpenSSL's libcrypto (see sha256.h): a
 * well-kept implementation rather than one of our own. */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdlib.h>

void dag_sha256_hex(const void *data, size_t len, char hex[DAG_SHA256_HEX_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  /* EVP_Digest fails only when libcrypto cannot allocate: the project's
   * policy for out-of-memory is to abort (alloc.h). */
  if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) abort();
  for (unsigned int i = 0; i < n; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[2 * n] = '\0';
}
