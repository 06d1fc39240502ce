/* secret.c - sealing values with core.secret_key (see secret.h). */
#include "secret.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

/* Keys the BLAKE2b of the text, so the same text used elsewhere (a
 * password reused by mistake) never yields the same 32 bytes. */
static const unsigned char derive_context[] = "dagctl secret key v1";

int dag_secret_key_derive(const char *text, unsigned char key[DAG_SECRET_KEY_BYTES]) {
  if (text == NULL || strlen(text) < DAG_SECRET_KEY_MIN) return DAG_EINVAL;
  if (sodium_init() < 0) return DAG_ECONFIG;
  crypto_generichash(key, DAG_SECRET_KEY_BYTES, (const unsigned char *)text, strlen(text),
                     derive_context, sizeof(derive_context) - 1);
  return 0;
}

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

char *dag_secret_seal(const unsigned char key[DAG_SECRET_KEY_BYTES], const char *ad,
                      const char *plain) {
  size_t len = strlen(plain);
  size_t raw_len = NONCE + len + TAG;
  unsigned char *raw = xmalloc(raw_len);
  randombytes_buf(raw, NONCE);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE, &clen, (const unsigned char *)plain,
                                             len, (const unsigned char *)ad, strlen(ad), NULL,
                                             raw, key);
  size_t b64_len = sodium_base64_encoded_len(raw_len, sodium_base64_VARIANT_ORIGINAL);
  size_t prefix = strlen(DAG_SECRET_PREFIX);
  char *out = xmalloc(prefix + b64_len);
  memcpy(out, DAG_SECRET_PREFIX, prefix);
  sodium_bin2base64(out + prefix, b64_len, raw, NONCE + (size_t)clen,
                    sodium_base64_VARIANT_ORIGINAL);
  free(raw);
  return out;
}

int dag_secret_open(const unsigned char key[DAG_SECRET_KEY_BYTES], const char *ad,
                    const char *sealed, char **out) {
  *out = NULL;
  size_t prefix = strlen(DAG_SECRET_PREFIX);
  if (strncmp(sealed, DAG_SECRET_PREFIX, prefix) != 0) return DAG_EINVAL;
  const char *b64 = sealed + prefix;
  size_t b64_len = strlen(b64);
  unsigned char *raw = xmalloc(b64_len + 1);
  size_t raw_len = 0;
  if (sodium_base642bin(raw, b64_len + 1, b64, b64_len, NULL, &raw_len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      raw_len < NONCE + TAG) {
    free(raw);
    return DAG_EINVAL;
  }
  char *plain = xmalloc(raw_len - NONCE - TAG + 1);
  unsigned long long plen = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      (unsigned char *)plain, &plen, NULL, raw + NONCE, raw_len - NONCE,
      (const unsigned char *)ad, strlen(ad), raw, key);
  free(raw);
  if (rc != 0 || memchr(plain, '\0', (size_t)plen) != NULL) {
    free(plain);
    return DAG_EINVAL;
  }
  plain[plen] = '\0';
  *out = plain;
  return 0;
}

bool dag_secret_name(const char *name) {
  static const char *const words[] = {"access_token", "api_key",  "apikey",
                                      "authorization", "passphrase", "passwd",
                                      "password",      "private_key", "secret",
                                      "token"};
  size_t len = strlen(name);
  char *lower = xmalloc(len + 1);
  for (size_t i = 0; i <= len; i++) lower[i] = (char)tolower((unsigned char)name[i]);
  bool hit = false;
  for (size_t i = 0; !hit && i < sizeof(words) / sizeof(words[0]); i++)
    hit = strstr(lower, words[i]) != NULL;
  free(lower);
  return hit;
}

/* --- masking ------------------------------------------------------------------ */

void dag_masker_add(struct dag_masker *m, const char *secret) {
  if (!secret) return;
  size_t len = strlen(secret);
  if (len < 4) return;
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->secrets[i], secret) == 0) return;
  m->secrets = xgrow(m->secrets, &m->cap, m->n + 1, sizeof(*m->secrets));
  m->secrets[m->n++] = xstrdup(secret);
  if (len > m->maxlen) m->maxlen = len;
}

void dag_masker_add_cb(void *m, const char *secret) { dag_masker_add(m, secret); }

void dag_masker_free(struct dag_masker *m) {
  for (size_t i = 0; i < m->n; i++) {
    explicit_bzero(m->secrets[i], strlen(m->secrets[i]));
    free(m->secrets[i]);
  }
  free(m->secrets);
  if (m->hold) explicit_bzero(m->hold, m->hold_cap);
  free(m->hold);
  memset(m, 0, sizeof(*m));
}

void dag_masker_apply(const struct dag_masker *m, char *buf, size_t len) {
  for (size_t i = 0; i < m->n; i++) {
    size_t slen = strlen(m->secrets[i]);
    char *p = buf, *end = buf + len;
    while ((size_t)(end - p) >= slen) {
      char *hit = memmem(p, (size_t)(end - p), m->secrets[i], slen);
      if (!hit) break;
      memset(hit, '*', slen);
      p = hit + slen;
    }
  }
}

void dag_masker_write(struct dag_masker *m, const char *buf, size_t len,
                      void (*out)(void *ud, const char *buf, size_t len), void *ud) {
  if (m->n == 0) {
    dag_masker_flush(m, out, ud);
    if (len) out(ud, buf, len);
    return;
  }
  m->hold = xgrow(m->hold, &m->hold_cap, m->hold_len + len + 1, 1);
  memcpy(m->hold + m->hold_len, buf, len);
  m->hold_len += len;
  dag_masker_apply(m, m->hold, m->hold_len);
  /* An occurrence that starts before the kept tail ends inside the buffer:
   * everything before the tail is final. */
  size_t keep = m->maxlen - 1;
  if (m->hold_len <= keep) return;
  size_t emit = m->hold_len - keep;
  out(ud, m->hold, emit);
  memmove(m->hold, m->hold + emit, keep);
  m->hold_len = keep;
}

void dag_masker_flush(struct dag_masker *m, void (*out)(void *ud, const char *buf, size_t len),
                      void *ud) {
  if (m->hold_len) out(ud, m->hold, m->hold_len);
  m->hold_len = 0;
}
