/* diag.h - diagnostics that point at a place in a file.
 *
 * Loaders never stop at the first problem: they append every error they find
 * to a dag_diags list, and the CLI prints them as `FILE:LINE:COL: message`
 * (the format compilers use, so editors can jump to it). Lines and columns
 * are 1-based; 0 means "the whole file". */
#ifndef DAG_DIAG_H
#define DAG_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct dag_diag {
  char *file; /* owned */
  int line;
  int col;
  char *msg; /* owned; names the field, e.g. "tasks[2].retries: expected ..." */
};

struct dag_diags {
  struct dag_diag *items; /* owned */
  size_t n;
  size_t cap;
};

#define DAG_DIAGS_INIT {NULL, 0, 0}

void dag_diag_add(struct dag_diags *d, const char *file, int line, int col,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* One diagnostic as "FILE:LINE:COL: msg"; caller frees. */
char *dag_diag_format(const struct dag_diag *diag);
/* Every diagnostic, one per line. */
void dag_diags_print(const struct dag_diags *d, FILE *out);
/* All diagnostics joined by newlines; caller frees. */
char *dag_diags_join(const struct dag_diags *d);
void dag_diags_free(struct dag_diags *d);

#endif
