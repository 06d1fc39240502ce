/* tls.h - the web server's TLS settings: one OpenSSL SSL_CTX built from
 * web.tls_cert and web.tls_key, replaced whole when the files are read
 * again (SIGHUP).
 *
 * The HTTP server (http.c) speaks TLS through memory BIOs: bytes read from
 * the socket go into the SSL object, and whatever OpenSSL wants sent comes
 * out of it and is written by libuv, so TLS runs on the same loop with the
 * same limits and timers as plain HTTP, and never blocks. Only TLS 1.2 and
 * 1.3 are offered. A connection keeps the SSL_CTX it started with (OpenSSL
 * counts its references), so a reload never disturbs a connection open at
 * the time: new connections get the new certificate. */
#ifndef DAG_TLS_H
#define DAG_TLS_H

#include <openssl/ssl.h>
#include <uv.h>

struct dag_tls;

/* Read the certificate chain and key (PEM) and check that they belong
 * together. Returns 0, or DAG_EINVAL with *err (caller frees) saying which
 * file and why; nothing is allocated then. The paths are copied. Reads the
 * files at once: call it before the loop serves. */
int dag_tls_new(const char *cert, const char *key, struct dag_tls **out, char **err);

/* Read both files again on the thread pool and, if the new pair is good,
 * serve it to connections accepted from then on; if not, keep the pair in
 * use and log why. done(ctx, rc) runs on the loop once it is over (rc 0:
 * swapped; else the pair is kept); at most one reload runs at a time
 * (UV_EBUSY otherwise, and done does not run). */
int dag_tls_reload(struct dag_tls *t, uv_loop_t *loop, void (*done)(void *ctx, int rc),
                   void *ctx);

/* A new server-side SSL with memory BIOs as its read and write ends, or
 * NULL (out of memory). Caller frees with SSL_free(). */
SSL *dag_tls_accept(struct dag_tls *t);

/* The serial number of the certificate served now, as upper-case hex, for
 * the log. Caller frees. */
char *dag_tls_serial(const struct dag_tls *t);

/* Free the settings; connections that still hold the SSL_CTX keep it until
 * they close. Must not be called while a reload runs. */
void dag_tls_free(struct dag_tls *t);

#endif
