/* wh_int.h - what a warehouse backend implements (see wh.h). */
#ifndef DAGCTL_WH_INT_H
#define DAGCTL_WH_INT_H

#include "wh.h"

enum wh_value_kind { WH_V_NULL, WH_V_TEXT, WH_V_INT };

/* One value of an appender's current row. */
struct wh_value {
  enum wh_value_kind kind;
  const char *s; /* WH_V_TEXT; borrowed */
  size_t len;
  int64_t i; /* WH_V_INT */
};

struct wh_appender {
  struct wh *w;
  int ncols;
  struct wh_value *row; /* ncols values, reset to NULL after each row */
};

struct wh_ops {
  void (*close)(struct wh *w);
  int (*ensure_schema)(struct wh *w, const char *schema, char **err);
  int (*exec)(struct wh *w, const char *sql, char **err);
  int (*query)(struct wh *w, const char *sql, const char *const *params, int nparams,
               wh_row_fn fn, void *ud, char **err);
  int (*begin)(struct wh *w, char **err);
  int (*commit)(struct wh *w, char **err);
  void (*rollback)(struct wh *w);
  /* Allocate the appender (a struct embedding wh_appender first). */
  int (*append_begin)(struct wh *w, const char *table, const char *const *columns,
                      int ncols, struct wh_appender **out, char **err);
  int (*append_row)(struct wh_appender *a, char **err);
  int (*append_end)(struct wh_appender *a, char **err); /* frees */
  int (*relation_kind)(struct wh *w, const char *schema, const char *name,
                       enum wh_relkind *kind, char **err);
  int (*drop_relation)(struct wh *w, const char *schema, const char *name, char **err);
  int (*swap_table)(struct wh *w, const char *schema, const char *name,
                    const char *tmp_name, char **err);
};

/* Every backend's handle begins with this. */
struct wh {
  const struct wh_ops *ops;
  enum wh_backend backend;
  char *describe; /* owned */
};

int wh__sqlite_open(const struct wh_options *opts, const char *path, struct wh **out,
                    char **err);
/* DAG_EINVAL with a message when built without libpq. */
int wh__pg_open(const struct wh_options *opts, struct wh **out, char **err);

#endif
