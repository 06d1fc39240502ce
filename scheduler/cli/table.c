/* table.c - the verbs' text tables: each column as wide as its widest
 * value, and colour only for a person at a terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"

struct cli_table {
  size_t n_cols;
  size_t n_rows;             /* rows after the header */
  size_t cap, cap_colors;
  char **cells;              /* (n_rows + 1) * n_cols, owned; row 0 is the header */
  const char **colors;       /* the same shape: an SGR parameter ("31") or NULL (static) */
  size_t *width;             /* per column, in characters */
};

/* Width in characters, not bytes: ids are ASCII, but errors and file names
 * may not be, and a UTF-8 continuation byte takes no column of its own. */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

static void put_row(struct cli_table *t, const char *const *cells) {
  size_t row = t->n_rows + (t->cells ? 1 : 0);
  t->cells = xgrow(t->cells, &t->cap, (row + 1) * t->n_cols, sizeof(*t->cells));
  t->colors = xgrow(t->colors, &t->cap_colors, (row + 1) * t->n_cols, sizeof(*t->colors));
  for (size_t i = 0; i < t->n_cols; i++) {
    /* A newline would break the row; a table cell is one line. */
    char *v = xstrdup(cells[i] ? cells[i] : "");
    for (char *p = v; *p; p++)
      if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    t->cells[row * t->n_cols + i] = v;
    t->colors[row * t->n_cols + i] = NULL;
    size_t w = text_width(v);
    if (w > t->width[i]) t->width[i] = w;
  }
}

struct cli_table *cli_table_new(const char *const *headers, size_t n_cols) {
  struct cli_table *t = xcalloc(1, sizeof(*t));
  t->n_cols = n_cols;
  t->width = xcalloc(n_cols, sizeof(*t->width));
  put_row(t, headers);
  return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells) {
  put_row(t, cells);
  t->n_rows++;
}

void cli_table_color(struct cli_table *t, size_t col, const char *sgr) {
  if (t->n_rows == 0 || col >= t->n_cols) return;
  t->colors[t->n_rows * t->n_cols + col] = sgr;
}

size_t cli_table_rows(const struct cli_table *t) { return t->n_rows; }

void cli_table_print(const struct cli_table *t, FILE *out, bool color) {
  for (size_t r = 0; r <= t->n_rows; r++) {
    /* Cells after the last non-empty one are left out, padding and all. */
    size_t end = t->n_cols;
    while (end > 1 && !*t->cells[r * t->n_cols + end - 1]) end--;
    for (size_t i = 0; i < end; i++) {
      const char *v = t->cells[r * t->n_cols + i];
      const char *sgr = color ? t->colors[r * t->n_cols + i] : NULL;
      bool last = i + 1 == end;
      if (r == 0 && color) sgr = "1";
      if (sgr) fprintf(out, "\033[%sm%s\033[0m", sgr, v);
      else fputs(v, out);
      /* Pad after the escape sequences, which take no column; the last
       * column is not padded, so no line ends in spaces. */
      if (!last)
        for (size_t k = text_width(v); k < t->width[i] + 2; k++) fputc(' ', out);
    }
    fputc('\n', out);
  }
}

void cli_table_free(struct cli_table *t) {
  if (!t) return;
  for (size_t k = 0; k < (t->n_rows + 1) * t->n_cols; k++) free(t->cells[k]);
  free(t->cells);
  free(t->colors);
  free(t->width);
  free(t);
}

bool cli_color(const struct cli *c) {
  if (c->no_color) return false;
  /* https://no-color.org: present and not empty disables colour. */
  const char *nc = getenv("NO_COLOR");
  if (nc && *nc) return false;
  const char *term = getenv("TERM");
  if (term && strcmp(term, "dumb") == 0) return false;
  return isatty(STDOUT_FILENO) == 1;
}

const char *cli_state_color(const char *state) {
  /* Airflow's colours, as near as the eight terminal colours come. */
  static const struct {
    const char *state, *sgr;
  } map[] = {
      {"success", "32"},      {"failed", "31"},          {"upstream_failed", "33"},
      {"up_for_retry", "33"}, {"running", "36"},         {"queued", "34"},
      {"scheduled", "34"},    {"skipped", "35"},         {"up_for_reschedule", "36"},
      {"sent", "32"},         {"rejected", "31"},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(map[i].state, state) == 0) return map[i].sgr;
  return NULL;
}
