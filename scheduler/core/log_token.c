/* log_token.c - signed tokens for reading logs from a worker (log_token.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_token.h"

static void mac_of(const char *secret, const char *rel_path, long long expires,
                   unsigned char mac[crypto_auth_hmacsha256_BYTES]) {
  crypto_auth_hmacsha256_state st;
  char head[32];
  int n = snprintf(head, sizeof(head), "%lld\n", expires);
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, (unsigned long long)n);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)rel_path, strlen(rel_path));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof(st));
}

void dag_log_token_make(const char *secret, const char *rel_path, int64_t now,
                        char out[DAG_LOG_TOKEN_SIZE]) {
  long long expires = (long long)now + DAG_LOG_TOKEN_TTL;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  mac_of(secret, rel_path, expires, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  snprintf(out, DAG_LOG_TOKEN_SIZE, "%lld.%s", expires, hex);
}

bool dag_log_token_check(const char *secret, const char *rel_path, const char *token,
                         int64_t now) {
  if (!secret || !*secret || !token) return false;
  char *end = NULL;
  long long expires = strtoll(token, &end, 10);
  if (end == token || *end != '.' || expires < now || expires > now + DAG_LOG_TOKEN_MAX_AHEAD)
    return false;
  unsigned char given[crypto_auth_hmacsha256_BYTES];
  size_t len = 0;
  const char *hex_end = NULL;
  if (sodium_hex2bin(given, sizeof(given), end + 1, strlen(end + 1), NULL, &len, &hex_end) != 0 ||
      len != sizeof(given) || *hex_end != '\0')
    return false;
  unsigned char want[crypto_auth_hmacsha256_BYTES];
  mac_of(secret, rel_path, expires, want);
  return sodium_memcmp(given, want, sizeof(want)) == 0;
}
