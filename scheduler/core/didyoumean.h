/* didyoumean.h - suggestions for misspelt keys. */
#ifndef DAG_DIDYOUMEAN_H
#define DAG_DIDYOUMEAN_H

#include <stddef.h>

/* The candidate closest to `word` by edit distance, if close enough to be a
 * plausible typo (distance <= max(2, len/3)); NULL otherwise. Borrowed from
 * `candidates`. */
const char *dag_did_you_mean(const char *word, const char *const *candidates,
                             size_t n);

#endif
