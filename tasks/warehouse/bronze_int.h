/* bronze_int.h - shared by bronze.c (objects, loading) and bronze_parse.c
 * (lines). Not a public interface. */
#ifndef DAGCTL_BRONZE_INT_H
#define DAGCTL_BRONZE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* bronze.plays' event columns, in order; the loader adds source_object,
 * line_number and loaded_at after them. */
#define BRONZE_N_FIELDS 11
extern const char *const bronze__field_names[BRONZE_N_FIELDS];

/* A field's value, whichever parser found it. */
enum fv_type { FV_ABSENT, FV_NULL, FV_STRING, FV_INT, FV_OTHER };

struct fv {
  enum fv_type t;
  const char *s; /* FV_STRING: borrowed from the line or the json_t */
  size_t len;
  int64_t i;             /* FV_INT */
  const char *kind_name; /* FV_OTHER: "an array", "a boolean", ... */
};

/* One event: its fields in column order, and the jansson tree holding the
 * strings when the slow path parsed it. */
struct event {
  struct fv f[BRONZE_N_FIELDS];
  json_t *root;
};

struct parsed_line {
  int64_t lineno;
  struct event ev;
};

struct quarantined {
  int64_t line;
  char *reason; /* owned */
  char *raw;    /* owned; valid UTF-8 */
};

/* An object's lines: the events, in order, and the lines quarantined. */
struct parsed_object {
  struct parsed_line *lines;
  size_t n_lines, cap_lines;
  struct quarantined *q;
  size_t n_q, cap_q;
};

/* Split `data` into lines and parse each (blank lines carry nothing). The
 * events borrow from `data`, which must outlive *po. */
void bronze__parse_object(const char *data, size_t len, struct parsed_object *po);
/* Record a quarantined line; takes ownership of `reason`. */
void bronze__quarantine(struct parsed_object *po, int64_t line, char *reason, const char *raw,
                        size_t len);
void bronze__parsed_free(struct parsed_object *po);

#endif
