/* alloc.h - the project's one allocation policy.
 *
 * dagctl is a daemon whose data is a few thousand small objects; running out
 * of memory leaves nothing sensible to do, so every allocation goes through
 * these wrappers, which print a message and abort() on failure. Callers never
 * check for NULL. */
#ifndef DAG_ALLOC_H
#define DAG_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grow an array to hold at least `need` elements; doubles the capacity. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

#endif
