/* pq_lazy.c - libpq, loaded on first use (see pq_lazy.h).
 *
 * libpq.so.5 brings Kerberos, LDAP, GnuTLS and a dozen more libraries
 * with it: linked into dagctl, the dynamic loader spent about 3 ms of CPU
 * on them at every start of every process (`dagctl version`, each plugin
 * task's child), though only a PostgreSQL state or warehouse uses them.
 * So nothing links libpq: this file defines the libpq functions dagctl
 * calls, each of which forwards to libpq's own, found with dlopen() and
 * dlsym() the first time any of them is called. The callers keep libpq's
 * header and API; a process that never talks to PostgreSQL never loads it.
 *
 * If libpq.so.5 cannot be loaded, PQconnectdbParams() and
 * PQconninfoParse() fail as they would out of memory (NULL) and
 * dag_pq_load_error() says why; the other functions, which need a
 * connection or a result, are never reached then. Built with hidden
 * visibility (dagctl_support): each binary and plugin has its own copy,
 * and none exports these names to libpq itself. */
#include "pq_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Debian's libpq5 package; the soname has been 5 since PostgreSQL 8.0. */
#define LIBPQ_SONAME "libpq.so.5"

#define PQ_FUNCS(X)                                                                         \
  X(PGconn *, PQconnectdbParams, (const char *const *k, const char *const *v, int e),       \
    (k, v, e))                                                                              \
  X(void, PQfinish, (PGconn * c), (c))                                                      \
  X(void, PQreset, (PGconn * c), (c))                                                       \
  X(ConnStatusType, PQstatus, (const PGconn *c), (c))                                       \
  X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c))                   \
  X(char *, PQerrorMessage, (const PGconn *c), (c))                                         \
  X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * c, PQnoticeProcessor p, void *a),    \
    (c, p, a))                                                                              \
  X(PGresult *, PQexec, (PGconn * c, const char *q), (c, q))                                \
  X(PGresult *, PQexecParams,                                                               \
    (PGconn * c, const char *q, int n, const Oid *t, const char *const *v, const int *l,    \
     const int *f, int r),                                                                  \
    (c, q, n, t, v, l, f, r))                                                               \
  X(PGresult *, PQprepare, (PGconn * c, const char *s, const char *q, int n, const Oid *t), \
    (c, s, q, n, t))                                                                        \
  X(PGresult *, PQexecPrepared,                                                             \
    (PGconn * c, const char *s, int n, const char *const *v, const int *l, const int *f,    \
     int r),                                                                                \
    (c, s, n, v, l, f, r))                                                                  \
  X(PGresult *, PQgetResult, (PGconn * c), (c))                                             \
  X(int, PQputCopyData, (PGconn * c, const char *b, int n), (c, b, n))                      \
  X(int, PQputCopyEnd, (PGconn * c, const char *e), (c, e))                                 \
  X(ExecStatusType, PQresultStatus, (const PGresult *r), (r))                               \
  X(char *, PQresultErrorMessage, (const PGresult *r), (r))                                 \
  X(char *, PQresultErrorField, (const PGresult *r, int f), (r, f))                         \
  X(int, PQntuples, (const PGresult *r), (r))                                               \
  X(int, PQnfields, (const PGresult *r), (r))                                               \
  X(char *, PQfname, (const PGresult *r, int f), (r, f))                                    \
  X(char *, PQgetvalue, (const PGresult *r, int t, int f), (r, t, f))                       \
  X(int, PQgetisnull, (const PGresult *r, int t, int f), (r, t, f))                         \
  X(char *, PQcmdTuples, (PGresult * r), (r))                                               \
  X(void, PQclear, (PGresult * r), (r))                                                     \
  X(void, PQconninfoFree, (PQconninfoOption * o), (o))                                    \
  X(int, PQbackendPID, (const PGconn *c), (c))                                              \
  X(int, PQsocket, (const PGconn *c), (c))                                                  \
  X(int, PQconsumeInput, (PGconn * c), (c))                                                 \
  X(PGnotify *, PQnotifies, (PGconn * c), (c))                                             \
  X(int, PQsendPrepare, (PGconn * c, const char *s, const char *q, int n, const Oid *t),    \
    (c, s, q, n, t))                                                                        \
  X(int, PQsendQueryPrepared,                                                               \
    (PGconn * c, const char *s, int n, const char *const *v, const int *l, const int *f,    \
     int r),                                                                                \
    (c, s, n, v, l, f, r))                                                                  \
  X(int, PQenterPipelineMode, (PGconn * c), (c))                                            \
  X(int, PQexitPipelineMode, (PGconn * c), (c))                                             \
  X(int, PQpipelineSync, (PGconn * c), (c))                                                 \
  X(PGpipelineStatus, PQpipelineStatus, (const PGconn *c), (c))

struct pq_api {
#define FIELD(ret, name, params, args) ret(*name) params;
  PQ_FUNCS(FIELD)
#undef FIELD
  PQconninfoOption *(*PQconninfoParse)(const char *conninfo, char **errmsg);
  void (*PQfreemem)(void *p);
};

static struct pq_api api;
static bool loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  void *h = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    snprintf(load_error, sizeof(load_error), "cannot load %s: %s", LIBPQ_SONAME, dlerror());
    return;
  }
  /* dlsym() hands back void *; POSIX guarantees it converts to a function
   * pointer, which memcpy says without a cast C11 does not define. */
#define RESOLVE(ret, name, params, args)                                                  \
  {                                                                                       \
    void *sym = dlsym(h, #name);                                                          \
    if (sym == NULL) {                                                                    \
      snprintf(load_error, sizeof(load_error), "%s has no %s", LIBPQ_SONAME, #name);      \
      return;                                                                             \
    }                                                                                     \
    memcpy(&api.name, &sym, sizeof(sym));                                                 \
  }
  PQ_FUNCS(RESOLVE)
  RESOLVE(_, PQconninfoParse, _, _)
  RESOLVE(_, PQfreemem, _, _)
#undef RESOLVE
  loaded = true; /* the handle stays open for the life of the process */
}

static bool ready(void) {
  pthread_once(&once, load);
  return loaded;
}

const char *dag_pq_load_error(void) {
  return ready() ? NULL : load_error;
}

/* Each forwarder; only PQconnectdbParams() and PQconninfoParse() (below)
 * can be the first call, so the others find libpq loaded. */
#define FORWARD(ret, name, params, args)                                                  \
  ret name params {                                                                       \
    ready();                                                                              \
    return api.name args;                                                                 \
  }
#define FORWARD_OR(ret, name, params, args, otherwise)                                    \
  ret name params {                                                                       \
    if (!ready()) return otherwise;                                                       \
    return api.name args;                                                                 \
  }

FORWARD_OR(PGconn *, PQconnectdbParams, (const char *const *k, const char *const *v, int e),
           (k, v, e), NULL)
FORWARD_OR(ConnStatusType, PQstatus, (const PGconn *c), (c), CONNECTION_BAD)
FORWARD_OR(char *, PQerrorMessage, (const PGconn *c), (c), load_error)

void PQfinish(PGconn *c) {
  if (ready()) api.PQfinish(c);
}

void PQclear(PGresult *r) {
  if (ready()) api.PQclear(r);
}

void PQconninfoFree(PQconninfoOption *o) {
  if (ready()) api.PQconninfoFree(o);
}

PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg) {
  if (ready()) return api.PQconninfoParse(conninfo, errmsg);
  /* PQfreemem() below frees it with free() while libpq is not loaded. */
  if (errmsg) *errmsg = strdup(load_error);
  return NULL;
}

void PQfreemem(void *p) {
  if (ready())
    api.PQfreemem(p);
  else
    free(p);
}

FORWARD(void, PQreset, (PGconn * c), (c))
FORWARD(PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c))
FORWARD(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * c, PQnoticeProcessor p, void *a),
        (c, p, a))
FORWARD(PGresult *, PQexec, (PGconn * c, const char *q), (c, q))
FORWARD(PGresult *, PQexecParams,
        (PGconn * c, const char *q, int n, const Oid *t, const char *const *v, const int *l,
         const int *f, int r),
        (c, q, n, t, v, l, f, r))
FORWARD(PGresult *, PQprepare, (PGconn * c, const char *s, const char *q, int n, const Oid *t),
        (c, s, q, n, t))
FORWARD(PGresult *, PQexecPrepared,
        (PGconn * c, const char *s, int n, const char *const *v, const int *l, const int *f,
         int r),
        (c, s, n, v, l, f, r))
FORWARD(PGresult *, PQgetResult, (PGconn * c), (c))
FORWARD(int, PQsendPrepare, (PGconn * c, const char *s, const char *q, int n, const Oid *t),
        (c, s, q, n, t))
FORWARD(int, PQsendQueryPrepared,
        (PGconn * c, const char *s, int n, const char *const *v, const int *l, const int *f,
         int r),
        (c, s, n, v, l, f, r))
FORWARD(int, PQenterPipelineMode, (PGconn * c), (c))
FORWARD(int, PQexitPipelineMode, (PGconn * c), (c))
FORWARD(int, PQpipelineSync, (PGconn * c), (c))
FORWARD(PGpipelineStatus, PQpipelineStatus, (const PGconn *c), (c))
FORWARD(int, PQputCopyData, (PGconn * c, const char *b, int n), (c, b, n))
FORWARD(int, PQputCopyEnd, (PGconn * c, const char *e), (c, e))
FORWARD(ExecStatusType, PQresultStatus, (const PGresult *r), (r))
FORWARD(char *, PQresultErrorMessage, (const PGresult *r), (r))
FORWARD(char *, PQresultErrorField, (const PGresult *r, int f), (r, f))
FORWARD(int, PQntuples, (const PGresult *r), (r))
FORWARD(int, PQnfields, (const PGresult *r), (r))
FORWARD(char *, PQfname, (const PGresult *r, int f), (r, f))
FORWARD(char *, PQgetvalue, (const PGresult *r, int t, int f), (r, t, f))
FORWARD(int, PQgetisnull, (const PGresult *r, int t, int f), (r, t, f))
FORWARD(char *, PQcmdTuples, (PGresult * r), (r))
FORWARD(int, PQbackendPID, (const PGconn *c), (c))
FORWARD(int, PQsocket, (const PGconn *c), (c))
FORWARD(int, PQconsumeInput, (PGconn * c), (c))
FORWARD(PGnotify *, PQnotifies, (PGconn * c), (c))
