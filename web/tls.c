/* tls.c - the web server's SSL_CTX: built, reloaded, handed to connections
 * (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"

struct dag_tls {
  SSL_CTX *ctx; /* served to new connections; one reference is ours */
  char *cert, *key;
  /* a reload in flight: its work request, the context it built (or NULL
   * and the reason), and whom to tell */
  uv_work_t work;
  bool reloading;
  SSL_CTX *next;
  char *next_err;
  void (*done)(void *ctx, int rc);
  void *done_ctx;
};

/* The oldest error on OpenSSL's queue of this thread, as text, and the
 * queue emptied; "unknown error" when it is empty. Caller frees. */
static char *ssl_error(void) {
  unsigned long e = ERR_get_error();
  char buf[256];
  if (e)
    ERR_error_string_n(e, buf, sizeof(buf));
  else
    snprintf(buf, sizeof(buf), "unknown error");
  ERR_clear_error();
  return xstrdup(buf);
}

/* Only http/1.1 is spoken: say so to a client that offers ALPN, so that it
 * never assumes HTTP/2. A client offering only other protocols gets no
 * ALPN answer and may go on or give up. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  static const unsigned char h11[] = "\x08http/1.1";
  unsigned char *sel = NULL;
  if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* Build a context from the files. Runs on the thread pool for a reload:
 * touches nothing but its arguments and OpenSSL's per-thread error queue. */
static SSL_CTX *build(const char *cert, const char *key, char **err) {
  *err = NULL;
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    char *e = ssl_error();
    *err = xasprintf("cannot create a TLS context: %s", e);
    free(e);
    return NULL;
  }
  /* TLS 1.0 and 1.1 are deprecated (RFC 8996); nothing older than 1.2 is
   * offered whatever OpenSSL's system-wide settings say. */
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* Buffers of idle keep-alive connections go back to the heap. */
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
  const char *what = NULL, *path = NULL;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
    what = "cannot read the certificate", path = cert;
  else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
    what = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
               ? "the private key does not match the certificate"
               : "cannot read the private key",
    path = key;
  else if (SSL_CTX_check_private_key(ctx) != 1)
    what = "the private key does not match the certificate", path = key;
  if (what) {
    char *e = ssl_error();
    *err = xasprintf("%s: %s: %s", path, what, e);
    free(e);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

int dag_tls_new(const char *cert, const char *key, struct dag_tls **out, char **err) {
  *out = NULL;
  SSL_CTX *ctx = build(cert, key, err);
  if (!ctx) return DAG_EINVAL;
  struct dag_tls *t = xcalloc(1, sizeof(*t));
  t->ctx = ctx;
  t->cert = xstrdup(cert);
  t->key = xstrdup(key);
  *out = t;
  return 0;
}

static void reload_work(uv_work_t *req) {
  struct dag_tls *t = req->data;
  t->next = build(t->cert, t->key, &t->next_err);
}

static void reload_done(uv_work_t *req, int status) {
  struct dag_tls *t = req->data;
  int rc = 0;
  t->reloading = false;
  if (status < 0 || !t->next) {
    LOG_ERROR("web: TLS certificate not reloaded, the one in use is kept error=\"%s\"",
              t->next_err ? t->next_err : uv_strerror(status));
    if (t->next) SSL_CTX_free(t->next);
    rc = DAG_EINVAL;
  } else {
    SSL_CTX_free(t->ctx); /* open connections hold references of their own */
    t->ctx = t->next;
    char *serial = dag_tls_serial(t);
    LOG_INFO("web: TLS certificate reloaded cert=%s serial=%s", t->cert, serial);
    free(serial);
  }
  t->next = NULL;
  free(t->next_err);
  t->next_err = NULL;
  if (t->done) t->done(t->done_ctx, rc);
}

int dag_tls_reload(struct dag_tls *t, uv_loop_t *loop, void (*done)(void *ctx, int rc),
                   void *ctx) {
  if (t->reloading) return UV_EBUSY;
  t->work.data = t;
  t->done = done;
  t->done_ctx = ctx;
  int rc = uv_queue_work(loop, &t->work, reload_work, reload_done);
  if (rc == 0) t->reloading = true;
  return rc;
}

SSL *dag_tls_accept(struct dag_tls *t) {
  SSL *ssl = SSL_new(t->ctx);
  if (!ssl) return NULL;
  BIO *rbio = BIO_new(BIO_s_mem());
  BIO *wbio = BIO_new(BIO_s_mem());
  if (!rbio || !wbio) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return NULL;
  }
  /* An empty read BIO means "nothing yet", not end of file. */
  BIO_set_mem_eof_return(rbio, -1);
  BIO_set_mem_eof_return(wbio, -1);
  SSL_set_bio(ssl, rbio, wbio); /* the SSL owns both now */
  SSL_set_accept_state(ssl);
  return ssl;
}

char *dag_tls_serial(const struct dag_tls *t) {
  X509 *x = SSL_CTX_get0_certificate(t->ctx);
  BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  char *out = xstrdup(hex ? hex : "?");
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

void dag_tls_free(struct dag_tls *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t->cert);
  free(t->key);
  free(t);
}
