/* wh_pg.c - the PostgreSQL warehouse (libpq). */
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "wh_int.h"

int wh__pg_open(const struct wh_options *opts, struct wh **out, char **err) {
  (void)opts;
  *out = NULL;
#ifndef DAGCTL_HAVE_LIBPQ
  *err = xstrdup("warehouse: this dagctl was built without libpq; install libpq-dev and "
                 "rebuild to use a postgresql:// warehouse");
#else
  *err = xstrdup("warehouse: the PostgreSQL backend is not available yet; use a SQLite path");
#endif
  return DAG_EINVAL;
}
