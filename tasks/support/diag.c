/* diag.c - file:line:col diagnostics. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>

#include "alloc.h"
#include "strbuf.h"

void dag_diag_add(struct dag_diags *d, const char *file, int line, int col,
                  const char *fmt, ...) {
  d->items = xgrow(d->items, &d->cap, d->n + 1, sizeof(*d->items));
  struct dag_diag *diag = &d->items[d->n++];
  diag->file = xstrdup(file ? file : "-");
  diag->line = line;
  diag->col = col;
  va_list ap;
  va_start(ap, fmt);
  diag->msg = xvasprintf(fmt, ap);
  va_end(ap);
}

char *dag_diag_format(const struct dag_diag *diag) {
  if (diag->line > 0)
    return xasprintf("%s:%d:%d: %s", diag->file, diag->line, diag->col, diag->msg);
  return xasprintf("%s: %s", diag->file, diag->msg);
}

void dag_diags_print(const struct dag_diags *d, FILE *out) {
  for (size_t i = 0; i < d->n; i++) {
    char *s = dag_diag_format(&d->items[i]);
    fprintf(out, "%s\n", s);
    free(s);
  }
}

char *dag_diags_join(const struct dag_diags *d) {
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < d->n; i++) {
    char *s = dag_diag_format(&d->items[i]);
    if (i) sb_appendc(&sb, '\n');
    sb_append(&sb, s);
    free(s);
  }
  return sb_detach(&sb);
}

void dag_diags_free(struct dag_diags *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->items[i].file);
    free(d->items[i].msg);
  }
  free(d->items);
  d->items = NULL;
  d->n = d->cap = 0;
}
