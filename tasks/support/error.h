/* error.h - dagctl's error codes.
 *
 * Functions return 0 or a negative code. Negative errno values (and libuv's
 * UV_E*, which are the same on Unix) pass through unchanged; dagctl's own
 * codes live below -4200, clear of errno and of libuv's private range.
 * The table is append-only: never renumber or remove an entry. */
#ifndef DAG_ERROR_H
#define DAG_ERROR_H

#define DAG_ERRNO_MAP(XX)                                          \
  XX(EPARSE, "syntax error")                                       \
  XX(EINVAL, "invalid value")                                      \
  XX(ECYCLE, "dependency cycle")                                   \
  XX(ENOTFOUND, "not found")                                       \
  XX(EEXIST, "already exists")                                     \
  XX(ESTORE, "state store error")                                  \
  XX(ESCHEMA, "database schema is newer than this binary")         \
  XX(EBUSY, "another scheduler holds this home")                   \
  XX(ETEMPLATE, "template error")                                  \
  XX(ECONFIG, "configuration error")                               \
  XX(ESTATE, "not allowed in the current state")                   \
  XX(ELOCKED, "the state store is locked by another process")      \
  XX(ECLAIM, "the try was taken from this worker")

/* Position of each code in the table, from 0. */
enum {
#define XX(code, _) DAG__IDX_##code,
  DAG_ERRNO_MAP(XX)
#undef XX
};

#define DAG__ERRNO_BASE (-4200)

enum {
#define XX(code, _) DAG_##code = DAG__ERRNO_BASE - 1 - DAG__IDX_##code,
  DAG_ERRNO_MAP(XX)
#undef XX
};

/* A static message for any code returned by a dagctl function. */
const char *dag_strerror(int err);

#endif
