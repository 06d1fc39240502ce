/* curl_lazy.c - libcurl, loaded on first use (see curl_lazy.h).
 *
 * The same pattern as pq_lazy.c, in a library of its own (dagctl_curl):
 * dagctl's layers and the lake library link it, while the plugins that
 * call libcurl directly (http) keep linking libcurl and never get these
 * definitions. If libcurl.so.4 cannot be
 * loaded, curl_easy_init() returns NULL (as out of memory would) and
 * curl_global_init() CURLE_FAILED_INIT; dag_curl_load_error() says why.
 * The functions that need a handle (or a list that curl_slist_append()
 * built) are never reached then. */
/* The definitions below must be plain functions, not curl's type-checking
 * macros of the same names. */
#define CURL_DISABLE_TYPECHECK 1
#include "curl_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Debian's libcurl4 package (whichever TLS flavour); soname 4 since 7.16. */
#define LIBCURL_SONAME "libcurl.so.4"

/* No other object (a plugin's libcurl among them) may bind to these. */
#pragma GCC visibility push(hidden)

#define CURL_FUNCS(X)                                                 \
  X(CURLcode, curl_global_init, (long flags))                         \
  X(CURL *, curl_easy_init, (void))                                   \
  X(CURLcode, curl_easy_setopt, (CURL * h, CURLoption o, ...))        \
  X(CURLcode, curl_easy_perform, (CURL * h))                          \
  X(CURLcode, curl_easy_getinfo, (CURL * h, CURLINFO i, ...))         \
  X(void, curl_easy_cleanup, (CURL * h))                              \
  X(void, curl_easy_reset, (CURL * h))                                \
  X(const char *, curl_easy_strerror, (CURLcode c))                   \
  X(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s)) \
  X(void, curl_slist_free_all, (struct curl_slist * l))

struct curl_api {
#define FIELD(ret, name, params) ret(*name) params;
  CURL_FUNCS(FIELD)
#undef FIELD
};

static struct curl_api api;
static bool loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    snprintf(load_error, sizeof(load_error), "cannot load %s: %s", LIBCURL_SONAME, dlerror());
    return;
  }
  /* dlsym() hands back void *; POSIX guarantees it converts to a function
   * pointer, which memcpy says without a cast C11 does not define. */
#define RESOLVE(ret, name, params)                                                        \
  {                                                                                       \
    void *sym = dlsym(h, #name);                                                          \
    if (sym == NULL) {                                                                    \
      snprintf(load_error, sizeof(load_error), "%s has no %s", LIBCURL_SONAME, #name);    \
      return;                                                                             \
    }                                                                                     \
    memcpy(&api.name, &sym, sizeof(sym));                                                 \
  }
  CURL_FUNCS(RESOLVE)
#undef RESOLVE
  loaded = true; /* the handle stays open for the life of the process */
}

static bool ready(void) {
  pthread_once(&once, load);
  return loaded;
}

const char *dag_curl_load_error(void) {
  return ready() ? NULL : load_error;
}

CURLcode curl_global_init(long flags) {
  return ready() ? api.curl_global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void) {
  return ready() ? api.curl_easy_init() : NULL;
}

/* A handle exists only if libcurl is loaded: the functions taking one
 * need no check. */
CURLcode curl_easy_perform(CURL *h) {
  return api.curl_easy_perform(h);
}

void curl_easy_reset(CURL *h) {
  api.curl_easy_reset(h);
}

void curl_easy_cleanup(CURL *h) {
  if (h) api.curl_easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode c) {
  return ready() ? api.curl_easy_strerror(c) : load_error;
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s) {
  return ready() ? api.curl_slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l) {
  if (l) api.curl_slist_free_all(l);
}

/* A variadic call cannot be forwarded as is: read the one argument with
 * the type libcurl itself reads for the option's range (curl.h's
 * CURLOPTTYPE_*: long, object pointer, function pointer, curl_off_t, blob
 * pointer) and pass it on. */
CURLcode curl_easy_setopt(CURL *h, CURLoption o, ...) {
  va_list ap;
  va_start(ap, o);
  CURLcode rc;
  if (o < CURLOPTTYPE_OBJECTPOINT) {
    rc = api.curl_easy_setopt(h, o, va_arg(ap, long));
  } else if (o < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = api.curl_easy_setopt(h, o, va_arg(ap, void *));
  } else if (o < CURLOPTTYPE_OFF_T) {
    void (*fn)(void) = va_arg(ap, void (*)(void));
    rc = api.curl_easy_setopt(h, o, fn);
  } else if (o < CURLOPTTYPE_BLOB) {
    rc = api.curl_easy_setopt(h, o, va_arg(ap, curl_off_t));
  } else {
    rc = api.curl_easy_setopt(h, o, va_arg(ap, void *));
  }
  va_end(ap);
  return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO i, ...) {
  va_list ap;
  va_start(ap, i);
  void *out = va_arg(ap, void *);
  va_end(ap);
  return api.curl_easy_getinfo(h, i, out);
}

#pragma GCC visibility pop
