/* ids.c - the one rule for DAG, task and run ids (see ids.h). */
#include "ids.h"

#include <string.h>

_Static_assert(DAG_ID_MAX_LEN == 250, "dag_id_problem() names the limit");

static bool in_alphabet(enum dag_id_kind kind, char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  if (c == '_' || c == '.' || c == '-') return true;
  return kind == DAG_ID_RUN && (c == ':' || c == '+');
}

const char *dag_id_problem(enum dag_id_kind kind, const char *id) {
  const char *alphabet = kind == DAG_ID_RUN ? "use letters, digits and _.:+-"
                                            : "use letters, digits, '_', '.' and '-'";
  if (id == NULL || *id == '\0') return alphabet;
  size_t n = strlen(id);
  if (n > DAG_ID_MAX_LEN) return "longer than 250 characters";
  for (size_t i = 0; i < n; i++)
    if (!in_alphabet(kind, id[i])) return alphabet;
  /* "." and ".." would name the folder itself or its parent; a leading dot
   * would also hide the folder from ls. */
  if (id[0] == '.') return "an id cannot start with '.'";
  return NULL;
}

bool dag_id_rel_path_is_safe(const char *rel) {
  if (rel == NULL || *rel == '\0' || *rel == '/') return false;
  for (const char *p = rel;;) {
    size_t len = strcspn(p, "/");
    if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    if (p[len] == '\0') return true;
    p += len + 1;
  }
}
