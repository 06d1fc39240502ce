/* error.c - messages for dagctl's error codes. */
#include "error.h"

#include <string.h>

const char *dag_strerror(int err) {
  switch (err) {
#define XX(code, msg) \
  case DAG_##code:    \
    return msg;
    DAG_ERRNO_MAP(XX)
#undef XX
  default:
    break;
  }
  if (err < 0 && err > DAG__ERRNO_BASE) return strerror(-err);
  return "unknown error";
}
