/* auth.c - roles, permissions, password and token hashing (see auth.h). */
#include "auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

static const char *const role_names[] = {
#define XX(_, s) s,
    DAG_ROLE_MAP(XX)
#undef XX
};

const char *dag_role_name(enum dag_role r) {
  return (size_t)r < sizeof(role_names) / sizeof(role_names[0]) ? role_names[r] : "?";
}

int dag_role_parse(const char *s, enum dag_role *out) {
  for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
    if (strcmp(s, role_names[i]) == 0) {
      *out = (enum dag_role)i;
      return 0;
    }
  }
  return DAG_EINVAL;
}

const char *dag_perm_name(enum dag_perm p) {
  switch (p) {
  case DAG_PERM_PUBLIC: return "public";
  case DAG_PERM_READ: return "read";
  case DAG_PERM_EDIT: return "edit";
  case DAG_PERM_OP: return "op";
  case DAG_PERM_ADMIN: return "admin";
  case DAG_PERM_NONE: break;
  }
  return "none";
}

bool dag_role_allows(enum dag_role r, enum dag_perm p) {
  switch (p) {
  case DAG_PERM_PUBLIC: return true;
  case DAG_PERM_READ: return true; /* every role reads */
  case DAG_PERM_EDIT: return r >= DAG_ROLE_USER;
  case DAG_PERM_OP: return r >= DAG_ROLE_OP;
  case DAG_PERM_ADMIN: return r == DAG_ROLE_ADMIN;
  case DAG_PERM_NONE: break;
  }
  return false;
}

int dag_auth_init(void) {
  return sodium_init() < 0 ? DAG_ECONFIG : 0;
}

int dag_auth_hash_password(const char *password, char **out) {
  char buf[crypto_pwhash_STRBYTES];
  *out = NULL;
  /* The interactive limits (64 MiB, 2 passes) are libsodium's advice for
   * logins: a guess costs an attacker as much memory as it costs us. */
  if (crypto_pwhash_str(buf, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return -ENOMEM;
  *out = xstrdup(buf);
  return 0;
}

bool dag_auth_check_password(const char *hash, const char *password) {
  if (!hash || !password) return false;
  return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

const char *dag_auth_password_problem(const char *password) {
  size_t n = strlen(password);
  if (n < 8) return "a password needs at least 8 characters";
  if (n > 1024) return "a password may have at most 1024 characters";
  /* Basic credentials whose secret starts so are taken as an API token. */
  if (strncmp(password, "dagctl_", 7) == 0) return "a password may not begin with dagctl_";
  for (const unsigned char *p = (const unsigned char *)password; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return "a password may not hold control characters";
  return NULL;
}

#define TOKEN_PREFIX "dagctl_"
#define TOKEN_BYTES 32

char *dag_auth_new_token(void) {
  unsigned char raw[TOKEN_BYTES];
  char b64[sodium_base64_ENCODED_LEN(TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  randombytes_buf(raw, sizeof(raw));
  sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof(raw));
  char *t = xasprintf(TOKEN_PREFIX "%s", b64);
  sodium_memzero(b64, sizeof(b64));
  return t;
}

char *dag_auth_token_hash(const char *token) {
  /* A fast hash is right here, unlike for passwords: a token holds 256
   * random bits, so no guess list exists to try against a stolen hash, and
   * a slow hash would only cost every API call its time. BLAKE2b
   * (crypto_generichash) with a fixed context key keeps these hashes apart
   * from any other use of the same bytes. */
  static const unsigned char key[] = "dagctl api token v1";
  unsigned char h[32];
  char hex[2 * sizeof(h) + 1];
  crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), key,
                     sizeof(key) - 1);
  sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
  return xstrdup(hex);
}

bool dag_auth_equal(const char *a, const char *b) {
  size_t n = strlen(a);
  if (n != strlen(b)) return false;
  return sodium_memcmp(a, b, n) == 0;
}

const char *dag_auth_user_problem(const char *name) {
  size_t n = strlen(name);
  if (n == 0) return "a user name may not be empty";
  if (n > 64) return "a user name may have at most 64 characters";
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || !strchr("._@-", c)))
      return "a user name holds letters, digits and . _ @ - and starts with a letter or digit";
  }
  return NULL;
}

char *dag_auth_new_id(void) {
  unsigned char raw[6];
  char hex[2 * sizeof(raw) + 1];
  randombytes_buf(raw, sizeof(raw));
  sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
  return xstrdup(hex);
}
