/* esmtp_lazy.c - libesmtp, loaded on first use (see esmtp_lazy.h).
 *
 * The pattern of tasks/support/pq_lazy.c. If libesmtp.so.6 cannot be
 * loaded, smtp_create_session() and auth_create_context() return NULL (as
 * out of memory would) and smtp_strerror() gives the reason, as does
 * dag_esmtp_load_error(). The functions that need a session, a
 * message, a recipient or an auth context are never reached then. */
#include "esmtp_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Debian's libesmtp6 package. */
#define LIBESMTP_SONAME "libesmtp.so.6"

#define ESMTP_FUNCS(X)                                                                     \
  X(void, auth_client_init, (void), ())                                                    \
  X(auth_context_t, auth_create_context, (void), ())                                       \
  X(int, auth_destroy_context, (auth_context_t c), (c))                                    \
  X(int, auth_set_interact_cb, (auth_context_t c, auth_interact_t f, void *a), (c, f, a))  \
  X(int, auth_set_mechanism_flags, (auth_context_t c, unsigned s, unsigned r), (c, s, r))  \
  X(smtp_session_t, smtp_create_session, (void), ())                                       \
  X(smtp_message_t, smtp_add_message, (smtp_session_t s), (s))                             \
  X(smtp_recipient_t, smtp_add_recipient, (smtp_message_t m, const char *b), (m, b))       \
  X(int, smtp_auth_set_context, (smtp_session_t s, auth_context_t c), (s, c))              \
  X(int, smtp_destroy_session, (smtp_session_t s), (s))                                    \
  X(int, smtp_errno, (void), ())                                                           \
  X(const smtp_status_t *, smtp_message_transfer_status, (smtp_message_t m), (m))          \
  X(const smtp_status_t *, smtp_recipient_status, (smtp_recipient_t r), (r))               \
  X(const smtp_status_t *, smtp_reverse_path_status, (smtp_message_t m), (m))              \
  X(int, smtp_set_eventcb, (smtp_session_t s, smtp_eventcb_t f, void *a), (s, f, a))       \
  X(int, smtp_set_messagecb, (smtp_message_t m, smtp_messagecb_t f, void *a), (m, f, a))   \
  X(const char *, _smtp_message_str_cb, (void **c, int *l, void *a), (c, l, a))            \
  X(int, smtp_set_monitorcb, (smtp_session_t s, smtp_monitorcb_t f, void *a, int h),       \
    (s, f, a, h))                                                                          \
  X(int, smtp_set_reverse_path, (smtp_message_t m, const char *b), (m, b))                 \
  X(int, smtp_set_server, (smtp_session_t s, const char *h), (s, h))                       \
  X(long, smtp_set_timeout, (smtp_session_t s, int w, long v), (s, w, v))                  \
  X(int, smtp_start_session, (smtp_session_t s), (s))                                      \
  X(int, smtp_starttls_enable, (smtp_session_t s, enum starttls_option h), (s, h))         \
  X(int, smtp_starttls_set_ctx, (smtp_session_t s, SSL_CTX *c), (s, c))                    \
  X(char *, smtp_strerror, (int e, char b[], size_t n), (e, b, n))

struct esmtp_api {
#define FIELD(ret, name, params, args) ret(*name) params;
  ESMTP_FUNCS(FIELD)
#undef FIELD
};

static struct esmtp_api api;
static bool loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  void *h = dlopen(LIBESMTP_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    snprintf(load_error, sizeof(load_error), "cannot load %s: %s", LIBESMTP_SONAME, dlerror());
    return;
  }
  /* dlsym() hands back void *; POSIX guarantees it converts to a function
   * pointer, which memcpy says without a cast C11 does not define. */
#define RESOLVE(ret, name, params, args)                                                  \
  {                                                                                       \
    void *sym = dlsym(h, #name);                                                          \
    if (sym == NULL) {                                                                    \
      snprintf(load_error, sizeof(load_error), "%s has no %s", LIBESMTP_SONAME, #name);   \
      return;                                                                             \
    }                                                                                     \
    memcpy(&api.name, &sym, sizeof(sym));                                                 \
  }
  ESMTP_FUNCS(RESOLVE)
#undef RESOLVE
  loaded = true; /* the handle stays open for the life of the process */
}

static bool ready(void) {
  pthread_once(&once, load);
  return loaded;
}

const char *dag_esmtp_load_error(void) {
  return ready() ? NULL : load_error;
}

/* The possible first calls check; the others find libesmtp loaded, since
 * their arguments come from one of these. */
void auth_client_init(void) {
  if (ready()) api.auth_client_init();
}

auth_context_t auth_create_context(void) {
  return ready() ? api.auth_create_context() : NULL;
}

smtp_session_t smtp_create_session(void) {
  return ready() ? api.smtp_create_session() : NULL;
}

int smtp_errno(void) {
  return ready() ? api.smtp_errno() : 0;
}

char *smtp_strerror(int e, char b[], size_t n) {
  if (ready()) return api.smtp_strerror(e, b, n);
  snprintf(b, n, "%s", load_error);
  return b;
}

#define FORWARD(ret, name, params, args) \
  ret name params {                      \
    return api.name args;                \
  }
FORWARD(int, auth_destroy_context, (auth_context_t c), (c))
FORWARD(int, auth_set_interact_cb, (auth_context_t c, auth_interact_t f, void *a), (c, f, a))
FORWARD(int, auth_set_mechanism_flags, (auth_context_t c, unsigned s, unsigned r), (c, s, r))
FORWARD(smtp_message_t, smtp_add_message, (smtp_session_t s), (s))
FORWARD(smtp_recipient_t, smtp_add_recipient, (smtp_message_t m, const char *b), (m, b))
FORWARD(int, smtp_auth_set_context, (smtp_session_t s, auth_context_t c), (s, c))
FORWARD(int, smtp_destroy_session, (smtp_session_t s), (s))
FORWARD(const smtp_status_t *, smtp_message_transfer_status, (smtp_message_t m), (m))
FORWARD(const smtp_status_t *, smtp_recipient_status, (smtp_recipient_t r), (r))
FORWARD(const smtp_status_t *, smtp_reverse_path_status, (smtp_message_t m), (m))
FORWARD(int, smtp_set_eventcb, (smtp_session_t s, smtp_eventcb_t f, void *a), (s, f, a))
FORWARD(int, smtp_set_messagecb, (smtp_message_t m, smtp_messagecb_t f, void *a), (m, f, a))
/* smtp_set_message_str() is a macro that hands libesmtp this callback's
 * address: ours, which forwards to libesmtp's. */
FORWARD(const char *, _smtp_message_str_cb, (void **c, int *l, void *a), (c, l, a))
FORWARD(int, smtp_set_monitorcb, (smtp_session_t s, smtp_monitorcb_t f, void *a, int h),
        (s, f, a, h))
FORWARD(int, smtp_set_reverse_path, (smtp_message_t m, const char *b), (m, b))
FORWARD(int, smtp_set_server, (smtp_session_t s, const char *h), (s, h))
FORWARD(long, smtp_set_timeout, (smtp_session_t s, int w, long v), (s, w, v))
FORWARD(int, smtp_start_session, (smtp_session_t s), (s))
FORWARD(int, smtp_starttls_enable, (smtp_session_t s, enum starttls_option h), (s, h))
FORWARD(int, smtp_starttls_set_ctx, (smtp_session_t s, SSL_CTX *c), (s, c))
