/* sha256.h - SHA-256 (libcrypto's), to name content by its digest: a DAG
 * version is the digest of its serialized form. Not for secrets. */
#ifndef DAG_SHA256_H
#define DAG_SHA256_H

#include <stddef.h>

#define DAG_SHA256_HEX_LEN 64

/* The digest of data[0..len) as 64 lowercase hex digits and a NUL in `hex`
 * (caller's buffer of DAG_SHA256_HEX_LEN + 1 bytes). */
void dag_sha256_hex(const void *data, size_t len, char hex[DAG_SHA256_HEX_LEN + 1]);

#endif
