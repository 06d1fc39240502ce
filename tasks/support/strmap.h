/* strmap.h - a string -> size_t hash map with borrowed keys (task ids,
 * YAML anchors). Open addressing, FNV-1a; O(1) expected per operation. */
#ifndef DAG_STRMAP_H
#define DAG_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct dag_strmap {
  const char **keys; /* borrowed: they must outlive the map */
  size_t *vals;
  size_t cap; /* a power of two, or 0 */
  size_t n;
};

/* Insert key -> val unless present. Returns true if inserted; false if the
 * key was there already, with its value in *old (old may be NULL). */
bool dag_strmap_add(struct dag_strmap *m, const char *key, size_t val, size_t *old);
/* Insert or replace. */
void dag_strmap_set(struct dag_strmap *m, const char *key, size_t val);
bool dag_strmap_get(const struct dag_strmap *m, const char *key, size_t *val);
/* Frees the tables, not the keys; the map is empty and reusable after. */
void dag_strmap_free(struct dag_strmap *m);

#endif
