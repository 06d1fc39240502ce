/* strmap.c - string -> size_t hash map (see strmap.h). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static size_t hash_str(const char *s) {
  size_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static size_t strmap_slot(const struct dag_strmap *m, const char *key) {
  size_t i = hash_str(key) & (m->cap - 1);
  while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
  return i;
}

static void strmap_grow(struct dag_strmap *m) {
  struct dag_strmap old = *m;
  m->cap = old.cap ? old.cap * 2 : 16;
  m->keys = xcalloc(m->cap, sizeof(*m->keys));
  m->vals = xcalloc(m->cap, sizeof(*m->vals));
  for (size_t i = 0; i < old.cap; i++) {
    if (old.keys[i] == NULL) continue;
    size_t s = strmap_slot(m, old.keys[i]);
    m->keys[s] = old.keys[i];
    m->vals[s] = old.vals[i];
  }
  free(old.keys);
  free(old.vals);
}

bool dag_strmap_add(struct dag_strmap *m, const char *key, size_t val, size_t *old) {
  if ((m->n + 1) * 10 > m->cap * 7) strmap_grow(m);
  size_t s = strmap_slot(m, key);
  if (m->keys[s]) {
    if (old) *old = m->vals[s];
    return false;
  }
  m->keys[s] = key;
  m->vals[s] = val;
  m->n++;
  return true;
}

void dag_strmap_set(struct dag_strmap *m, const char *key, size_t val) {
  if ((m->n + 1) * 10 > m->cap * 7) strmap_grow(m);
  size_t s = strmap_slot(m, key);
  if (m->keys[s] == NULL) {
    m->keys[s] = key;
    m->n++;
  }
  m->vals[s] = val;
}

bool dag_strmap_get(const struct dag_strmap *m, const char *key, size_t *val) {
  if (m->cap == 0) return false;
  size_t s = strmap_slot(m, key);
  if (m->keys[s] == NULL) return false;
  *val = m->vals[s];
  return true;
}

void dag_strmap_free(struct dag_strmap *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof(*m));
}
