/* secret.h - secrets at rest: the key from core.secret_key, sealing and
 * opening a value with it, and which names look secret.
 *
 * A sealed value is "dagctl:v1:" and the base64 of a random 24-byte nonce
 * followed by the XChaCha20-Poly1305 (IETF) ciphertext and tag of the
 * value, with `ad` (where the value lives: "variable:NAME") as associated
 * data, so that a sealed value copied into another row does not open.
 * The 32-byte key is BLAKE2b of the configured text: any text of at least
 * DAG_SECRET_KEY_MIN bytes will do (`openssl rand -base64 32`). */
#ifndef DAG_SECRET_H
#define DAG_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define DAG_SECRET_KEY_BYTES 32
#define DAG_SECRET_KEY_MIN 16
#define DAG_SECRET_PREFIX "dagctl:v1:"

/* How to set a key, for the messages that refuse a secret without one. */
#define DAG_SECRET_KEY_HINT                                                              \
  "set core.secret_key: DAGCTL__CORE__SECRET_KEY in the environment, or "              \
  "core.secret_key_file in dagctl.yaml naming a file that holds it (e.g. "              \
  "`openssl rand -base64 32 > $DAGCTL_HOME/secret_key`)"

/* The key of `text` into `key`. 0, or DAG_EINVAL for a text shorter than
 * DAG_SECRET_KEY_MIN bytes. */
int dag_secret_key_derive(const char *text, unsigned char key[DAG_SECRET_KEY_BYTES]);

/* `plain` sealed with `key` for place `ad` (caller frees). */
char *dag_secret_seal(const unsigned char key[DAG_SECRET_KEY_BYTES], const char *ad,
                      const char *plain);
/* The value sealed in `sealed` for place `ad` into *out (caller frees).
 * 0, or DAG_EINVAL when it is not a sealed value, or does not open with
 * this key for this place (a wrong key, a changed or moved value). */
int dag_secret_open(const unsigned char key[DAG_SECRET_KEY_BYTES], const char *ad,
                    const char *sealed, char **out);

/* Airflow's sensitive field names (core.sensitive_var_conn_names' defaults):
 * true when `name` contains, in any case, access_token, api_key, apikey,
 * authorization, passphrase, passwd, password, private_key, secret or
 * token. Such variables are sealed at rest and masked; so are such keys of
 * a connection's extra. */
bool dag_secret_name(const char *name);

/* --- masking ------------------------------------------------------------------
 * Secrets in text that dagctl shows (task logs, through `dagctl logs` and
 * the API): every byte of each occurrence becomes '*', so the text keeps
 * its length and byte offsets (log ranges, follow positions) stay true.
 * Secrets shorter than 4 bytes are ignored: masking "a" would garble all. */
struct dag_masker {
  char **secrets; /* owned */
  size_t n, cap;
  size_t maxlen;  /* of the longest secret */
  char *hold;     /* dag_masker_write(): bytes held back, owned */
  size_t hold_len, hold_cap;
};
#define DAG_MASKER_INIT {NULL, 0, 0, 0, NULL, 0, 0}

/* Copies `secret`. */
void dag_masker_add(struct dag_masker *m, const char *secret);
/* For callbacks that add secrets: dag_masker_add(ud, secret). */
void dag_masker_add_cb(void *m, const char *secret);
void dag_masker_free(struct dag_masker *m);
/* Mask buf[0..len) in place. */
void dag_masker_apply(const struct dag_masker *m, char *buf, size_t len);
/* Streaming: pass buf through to out(), masked, holding back the last
 * maxlen-1 bytes in case a secret continues in the next call; flush()
 * writes what is held. */
void dag_masker_write(struct dag_masker *m, const char *buf, size_t len,
                      void (*out)(void *ud, const char *buf, size_t len), void *ud);
void dag_masker_flush(struct dag_masker *m, void (*out)(void *ud, const char *buf, size_t len),
                      void *ud);

#endif
