/* smtp_client.h - one blocking SMTP submission through libesmtp.
 *
 * dag_smtp_submit() connects, protects the connection (STARTTLS, implicit
 * TLS or none), authenticates, and offers one message to a list of
 * recipients, then reports what the server said for each. It blocks for up
 * to a few times the timeout: never call it on the loop. smtp_send.c runs
 * it on libuv's thread pool. It touches no dagctl state and is safe to call
 * from any one thread at a time per call (no shared mutable state) once
 * dag_smtp_client_init() has run. The process must ignore SIGPIPE. */
#ifndef DAG_SMTP_CLIENT_H
#define DAG_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct dag_smtp_server {
  const char *host;
  int port;
  enum dag_smtp_tls tls;
  const char *user;     /* NULL: no AUTH */
  const char *password; /* with user */
  const char *ca_file;  /* NULL: the system's trusted CAs */
  int64_t timeout_us;   /* connect, and each protocol step */
};

struct dag_smtp_rcpt_status {
  int code;    /* the reply to RCPT TO; 0 if never asked */
  char *reply; /* "550 5.1.1 <x@y>: ..."; NULL if never asked */
};

/* What happened. A message counts as accepted for a recipient when that
 * recipient's code is 2xx and the message's code is 2xx (libesmtp's
 * session result alone says nothing: a rejection still "succeeds"). */
struct dag_smtp_result {
  bool reached;   /* the SMTP dialogue began (greeting read) */
  int mail_code;  /* the reply to MAIL FROM; 0 if never sent */
  char *mail_reply;
  int data_code;  /* the reply to the message (after DATA); 0 if never sent */
  char *data_reply;
  char *error;    /* NULL, or why the session failed or stopped: connection,
                   * TLS, authentication, protocol */
  struct dag_smtp_rcpt_status *rcpts; /* one per recipient, in order */
  size_t n_rcpts;
};

/* Once per process, before any dag_smtp_submit(): libesmtp's SASL
 * client and OpenSSL. */
void dag_smtp_client_init(void);

/* Offer `message` (RFC 5322 text with CRLF line ends; libesmtp dot-stuffs
 * it) from `from` to rcpts[0..n). Always fills *out (release with
 * dag_smtp_result_free()); the return value is 0, or DAG_EINVAL for
 * arguments libesmtp refuses. Whether the mail went out is in *out. */
int dag_smtp_submit(const struct dag_smtp_server *srv, const char *from,
                    const char *const *rcpts, size_t n, const char *message,
                    struct dag_smtp_result *out);

void dag_smtp_result_free(struct dag_smtp_result *r);

#endif
