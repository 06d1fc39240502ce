/* smtp_client.c - one blocking SMTP submission through libesmtp (see
 * smtp_client.h).
 *
 * libesmtp has no connect timeout and no implicit TLS, so this file adds
 * both around it: a connect probe bounded by the timeout before libesmtp
 * connects, and for implicit TLS a relay thread that speaks TLS to the
 * server and plain SMTP to libesmtp over loopback. */
#include "smtp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* libesmtp declares its STARTTLS and AUTH calls only when these come
 * first, in this order. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "alloc.h"
#include "common.h"
#include "error.h"
#include "esmtp_lazy.h"
#include "strbuf.h"

/* What one session collects from libesmtp's callbacks. */
struct session {
  const struct dag_smtp_server *srv;
  char *error;        /* the first reason the session stopped */
  bool reached;       /* the server sent something */
  char *last_failure; /* the last 4xx/5xx line the server sent */
  const char *phase;  /* the last command verb sent */
  struct strbuf line;
};

static void set_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct session *s, const char *fmt, ...) {
  if (s->error) return; /* the first reason is the real one */
  va_list ap;
  va_start(ap, fmt);
  s->error = xvasprintf(fmt, ap);
  va_end(ap);
}

void dag_smtp_client_init(void) {
  OPENSSL_init_ssl(0, NULL);
  auth_client_init();
}

/* --- the connect probe ---------------------------------------------------------- */

static int timeout_ms(const struct dag_smtp_server *srv) {
  int64_t ms = srv->timeout_us / 1000;
  return ms < 1000 ? 1000 : ms > 3600000 ? 3600000 : (int)ms;
}

/* Connect to host:port within the timeout; returns a connected blocking
 * socket, or -1 with the reason in s->error. */
static int connect_timed(struct session *s) {
  const struct dag_smtp_server *srv = s->srv;
  char port[16];
  snprintf(port, sizeof(port), "%d", srv->port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(srv->host, port, &hints, &res);
  if (gai != 0) {
    set_error(s, "cannot resolve %s: %s", srv->host, gai_strerror(gai));
    return -1;
  }
  int err = 0;
  int fd = -1;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    int sd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    a->ai_protocol);
    if (sd < 0) {
      err = errno;
      continue;
    }
    if (connect(sd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      err = errno;
      close(sd);
      continue;
    }
    struct pollfd p = {.fd = sd, .events = POLLOUT};
    int n;
    while ((n = poll(&p, 1, timeout_ms(srv))) < 0 && errno == EINTR) {
    }
    socklen_t len = sizeof(err);
    if (n == 0) {
      err = ETIMEDOUT;
    } else if (n < 0 || getsockopt(sd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err) {
      close(sd);
      continue;
    }
    int flags = fcntl(sd, F_GETFL);
    fcntl(sd, F_SETFL, flags & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = timeout_ms(srv) / 1000,
                         .tv_usec = (timeout_ms(srv) % 1000) * 1000};
    setsockopt(sd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(sd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    fd = sd;
  }
  freeaddrinfo(res);
  if (fd < 0)
    set_error(s, "cannot connect to %s:%d: %s", srv->host, srv->port,
              strerror(err ? err : ECONNREFUSED));
  return fd;
}

/* --- TLS -------------------------------------------------------------------------- */

static SSL_CTX *new_tls_ctx(struct session *s, bool cap_tls12) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    set_error(s, "TLS: cannot create a context");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* libesmtp 1.1 with TLS 1.3 hung after EHLO in 7 of 80 sessions here;
   * with 1.2, never. */
  if (cap_tls12) SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  int ok = s->srv->ca_file ? SSL_CTX_load_verify_locations(ctx, s->srv->ca_file, NULL)
                           : SSL_CTX_set_default_verify_paths(ctx);
  if (!ok) {
    set_error(s, "TLS: cannot load trusted certificates from %s",
              s->srv->ca_file ? s->srv->ca_file : "the system's store");
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static void tls_error(struct session *s, const char *what, SSL *ssl) {
  long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (vr != X509_V_OK) {
    set_error(s, "TLS: %s: the server's certificate is not trusted: %s", what,
              X509_verify_cert_error_string(vr));
    return;
  }
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_error_string_n(e, buf, sizeof(buf));
  set_error(s, "TLS: %s: %s", what, e ? buf : "connection closed");
}

/* --- implicit TLS: a relay between libesmtp (plain) and the server (TLS) ------- */

struct relay {
  struct session *s;
  int listen_fd;
  int server_fd;
  SSL *ssl;
  pthread_t thread;
};

static bool write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static void *relay_main(void *arg) {
  struct relay *r = arg;
  int ms = timeout_ms(r->s->srv);
  struct pollfd lp = {.fd = r->listen_fd, .events = POLLIN};
  if (poll(&lp, 1, ms) <= 0) return NULL;
  int client = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (client < 0) return NULL;
  char buf[16384];
  for (;;) {
    struct pollfd p[2] = {{.fd = client, .events = POLLIN},
                          {.fd = r->server_fd, .events = POLLIN}};
    /* Bytes OpenSSL already decrypted do not show up in poll(). */
    int n = SSL_pending(r->ssl) > 0 ? 1 : poll(p, 2, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (SSL_pending(r->ssl) > 0) p[1].revents |= POLLIN;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = read(client, buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      if (SSL_write(r->ssl, buf, (int)got) <= 0) break;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      int got = SSL_read(r->ssl, buf, sizeof(buf));
      if (got <= 0) break;
      if (!write_all(client, buf, (size_t)got)) break;
    }
  }
  close(client);
  return NULL;
}

/* Connect with TLS to the server and listen on loopback for libesmtp;
 * *port gets the loopback port. 0, or -1 with s->error set. */
static int relay_start(struct relay *r, struct session *s, int *port) {
  r->s = s;
  r->server_fd = connect_timed(s);
  if (r->server_fd < 0) return -1;
  SSL_CTX *ctx = new_tls_ctx(s, false);
  if (!ctx) return -1;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  r->ssl = SSL_new(ctx);
  SSL_CTX_free(ctx); /* the SSL holds its own reference */
  SSL_set_fd(r->ssl, r->server_fd);
  SSL_set1_host(r->ssl, s->srv->host);
  /* SNI takes a host name, never an address literal. */
  struct in6_addr a6;
  struct in_addr a4;
  if (inet_pton(AF_INET, s->srv->host, &a4) != 1 && inet_pton(AF_INET6, s->srv->host, &a6) != 1)
    SSL_set_tlsext_host_name(r->ssl, s->srv->host);
  if (SSL_connect(r->ssl) != 1) {
    tls_error(s, "implicit TLS handshake failed", r->ssl);
    return -1;
  }

  r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(sa);
  if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(r->listen_fd, 1) != 0 ||
      getsockname(r->listen_fd, (struct sockaddr *)&sa, &len) != 0) {
    set_error(s, "implicit TLS: cannot listen on loopback: %s", strerror(errno));
    return -1;
  }
  *port = ntohs(sa.sin_port);
  int rc = pthread_create(&r->thread, NULL, relay_main, r);
  if (rc != 0) {
    set_error(s, "implicit TLS: cannot start the relay: %s", strerror(rc));
    close(r->listen_fd);
    r->listen_fd = -1;
    return -1;
  }
  return 0;
}

static void relay_stop(struct relay *r, bool started) {
  /* Wakes the relay if libesmtp never connected. */
  if (r->listen_fd >= 0) shutdown(r->listen_fd, SHUT_RDWR);
  if (started) pthread_join(r->thread, NULL);
  if (r->ssl) {
    SSL_shutdown(r->ssl);
    SSL_free(r->ssl);
  }
  if (r->server_fd >= 0) close(r->server_fd);
  if (r->listen_fd >= 0) close(r->listen_fd);
}

/* --- libesmtp callbacks --------------------------------------------------------- */

static void on_event(smtp_session_t session, int event_no, void *arg, ...) {
  struct session *s = arg;
  DAG_UNUSED(session);
  va_list ap;
  va_start(ap, arg);
  switch (event_no) {
  case SMTP_EV_INVALID_PEER_CERTIFICATE: {
    long vr = va_arg(ap, long);
    int *ok = va_arg(ap, int *);
    *ok = 0;
    set_error(s, "TLS: the server's certificate is not trusted: %s",
              X509_verify_cert_error_string(vr));
    break;
  }
  case SMTP_EV_NO_PEER_CERTIFICATE: {
    int *ok = va_arg(ap, int *);
    *ok = 0;
    set_error(s, "TLS: the server sent no certificate");
    break;
  }
  case SMTP_EV_WRONG_PEER_CERTIFICATE: {
    int *ok = va_arg(ap, int *);
    const char *name = va_arg(ap, const char *);
    *ok = 0;
    set_error(s, "TLS: the server's certificate is for '%s', not '%s'", name ? name : "?",
              s->srv->host);
    break;
  }
  case SMTP_EV_WEAK_CIPHER: {
    int bits = va_arg(ap, int);
    int *ok = va_arg(ap, int *);
    *ok = 0;
    set_error(s, "TLS: the cipher is too weak (%d bits)", bits);
    break;
  }
  case SMTP_EV_UNUSABLE_CA_LIST:
    set_error(s, "TLS: the trusted certificate list is unusable");
    break;
  case SMTP_EV_EXTNA_STARTTLS:
    set_error(s, "the server does not offer STARTTLS (smtp.tls is starttls)");
    break;
  case SMTP_EV_SYNTAXWARNING: {
    int *quit = va_arg(ap, int *);
    *quit = 0; /* tolerate missing enhanced status codes */
    break;
  }
  case SMTP_EV_EXTNA_DSN:
  case SMTP_EV_EXTNA_CHUNKING:
  case SMTP_EV_EXTNA_ETRN: {
    int *quit = va_arg(ap, int *);
    *quit = 0; /* never requested; continue */
    break;
  }
  default:
    break;
  }
  va_end(ap);
}

/* Keep the last 4xx/5xx line the server sent: when a session stops early
 * (AUTH refused, a 421), that line is the reason. Only reads are looked
 * at, so credentials, which only travel to the server, are never kept. */
static void on_monitor(const char *buf, int len, int writing, void *arg) {
  struct session *s = arg;
  if (len <= 0) return;
  if (writing == SMTP_CB_WRITING) {
    /* Only the command verb: AUTH's continuation lines (credentials) do
     * not start with one and are never looked at further. */
    static const char *const verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH",
                                        "MAIL", "RCPT", "DATA",     "QUIT"};
    for (size_t i = 0; i < DAG_ARRAY_SIZE(verbs); i++) {
      size_t n = strlen(verbs[i]);
      if ((size_t)len >= n && strncmp(buf, verbs[i], n) == 0) s->phase = verbs[i];
    }
    return;
  }
  if (writing != SMTP_CB_READING) return;
  for (int i = 0; i < len; i++) {
    if (buf[i] == '\n') {
      size_t n = s->line.len;
      while (n && (s->line.buf[n - 1] == '\r'))
        n--;
      s->reached = true;
      if (n && (s->line.buf[0] == '4' || s->line.buf[0] == '5')) {
        free(s->last_failure);
        s->last_failure = xstrndup(s->line.buf, n);
      }
      sb_reset(&s->line);
    } else if (s->line.len < 512) {
      sb_appendc(&s->line, buf[i]);
    }
  }
}

static int on_auth(auth_client_request_t request, char **result, int fields, void *arg) {
  struct session *s = arg;
  for (int i = 0; i < fields; i++) {
    if (request[i].flags & AUTH_USER)
      result[i] = (char *)s->srv->user;
    else if (request[i].flags & AUTH_PASS)
      result[i] = (char *)s->srv->password;
    else if (request[i].flags & AUTH_REALM)
      result[i] = (char *)"";
    else
      return 0;
  }
  return 1;
}

/* "CODE text" from a libesmtp status, or NULL if the step never ran. */
static char *status_text(const smtp_status_t *st, int *code) {
  *code = st ? st->code : 0;
  if (!st || st->code == 0) return NULL;
  const char *t = st->text ? st->text : "";
  size_t n = strlen(t);
  while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
    n--;
  return xasprintf("%d %.*s", st->code, (int)n, t);
}

/* --- the submission ----------------------------------------------------------------- */

int dag_smtp_submit(const struct dag_smtp_server *srv, const char *from,
                    const char *const *rcpts, size_t n, const char *message,
                    struct dag_smtp_result *out) {
  memset(out, 0, sizeof(*out));
  out->n_rcpts = n;
  out->rcpts = xcalloc(n ? n : 1, sizeof(*out->rcpts));
  struct session s = {.srv = srv, .line = STRBUF_INIT};
  smtp_recipient_t *handles = xcalloc(n ? n : 1, sizeof(*handles));
  smtp_session_t session = NULL;
  smtp_message_t msg = NULL;
  auth_context_t auth = NULL;
  SSL_CTX *ctx = NULL;
  struct relay relay = {.listen_fd = -1, .server_fd = -1};
  bool relay_running = false;
  int rc = 0;
  char hostport[300];

  if (srv->tls == DAG_SMTP_IMPLICIT) {
    int port = 0;
    if (relay_start(&relay, &s, &port) != 0) goto done;
    relay_running = true;
    snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
  } else {
    /* Probe first: libesmtp's own connect() would wait for the kernel's
     * SYN timeout (minutes) on a host that drops packets. */
    int fd = connect_timed(&s);
    if (fd < 0) goto done;
    close(fd);
    bool v6 = strchr(srv->host, ':') != NULL;
    snprintf(hostport, sizeof(hostport), "%s%s%s:%d", v6 ? "[" : "", srv->host, v6 ? "]" : "",
             srv->port);
  }

  session = smtp_create_session();
  msg = session ? smtp_add_message(session) : NULL;
  if (!msg) {
    const char *why = dag_esmtp_load_error();
    set_error(&s, "libesmtp: cannot create a session%s%s", why ? ": " : "", why ? why : "");
    goto done;
  }
  long ms = timeout_ms(srv);
  for (int w = Timeout_GREETING; w <= Timeout_DATA2; w++)
    smtp_set_timeout(session, w | Timeout_OVERRIDE_RFC2822_MINIMUM, ms);
  smtp_set_eventcb(session, on_event, &s);
  smtp_set_monitorcb(session, on_monitor, &s, 0);
  if (!smtp_set_server(session, hostport) || !smtp_set_reverse_path(msg, from) ||
      !smtp_set_message_str(msg, (void *)message)) {
    rc = DAG_EINVAL;
    set_error(&s, "libesmtp refused the server or the sender address");
    goto done;
  }
  if (srv->tls == DAG_SMTP_STARTTLS) {
    ctx = new_tls_ctx(&s, true);
    if (!ctx) goto done;
    if (!smtp_starttls_set_ctx(session, ctx) ||
        !smtp_starttls_enable(session, Starttls_REQUIRED)) {
      set_error(&s, "TLS: libesmtp cannot do STARTTLS");
      goto done;
    }
  }
  if (srv->user && srv->password) {
    auth = auth_create_context();
    /* PLAIN and LOGIN send the password as is: fine inside TLS, and what
     * the operator chose with tls: none. */
    auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
    auth_set_interact_cb(auth, on_auth, &s);
    smtp_auth_set_context(session, auth);
  }
  for (size_t i = 0; i < n; i++) {
    if (!(handles[i] = smtp_add_recipient(msg, rcpts[i]))) {
      rc = DAG_EINVAL;
      set_error(&s, "libesmtp refused the recipient %s", rcpts[i]);
      goto done;
    }
  }

  int ok = smtp_start_session(session);
  /* Even a session that "succeeded" may have lost the connection midway. */
  int serr = smtp_errno();
  if (!ok || serr) {
    char buf[128];
    const char *why = smtp_strerror(serr, buf, sizeof(buf));
    if (s.phase && strcmp(s.phase, "AUTH") == 0 && !s.last_failure)
      set_error(&s, "authentication failed: the server closed the connection after AUTH "
                    "(check smtp.user and the password)");
    else if (!ok || !s.last_failure)
      set_error(&s, "SMTP session with %s:%d failed%s%s: %s", srv->host, srv->port,
                s.phase ? " after " : "", s.phase ? s.phase : "", why ? why : "unknown error");
  }
  out->mail_reply = status_text(smtp_reverse_path_status(msg), &out->mail_code);
  out->data_reply = status_text(smtp_message_transfer_status(msg), &out->data_code);
  for (size_t i = 0; i < n; i++)
    out->rcpts[i].reply = status_text(smtp_recipient_status(handles[i]), &out->rcpts[i].code);

done:
  /* The session has closed its connection by now, which ends the relay. */
  if (session) smtp_destroy_session(session);
  relay_stop(&relay, relay_running);
  if (auth) auth_destroy_context(auth);
  if (ctx) SSL_CTX_free(ctx);
  out->reached = s.reached;
  if (!s.error && out->mail_code == 0 && s.last_failure)
    set_error(&s, "the server refused: %s", s.last_failure);
  if (!s.error && out->mail_code == 0) set_error(&s, "the session ended before MAIL FROM");
  out->error = s.error;
  free(s.last_failure);
  sb_free(&s.line);
  free(handles);
  return rc;
}

void dag_smtp_result_free(struct dag_smtp_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_rcpts; i++) free(r->rcpts[i].reply);
  free(r->rcpts);
  free(r->mail_reply);
  free(r->data_reply);
  free(r->error);
  memset(r, 0, sizeof(*r));
}
