/* lake_int.h - shared by the lake's backends; not for plugins.
 *
 * A lake is a description plus a table of backend operations. The pure
 * helpers of the S3 backend (URI encoding, the canonical query string, the
 * XML it reads) are declared here so unit tests can check them against
 * known vectors without a server. */
#ifndef DAGCTL_LAKE_INT_H
#define DAGCTL_LAKE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "lake.h"
#include "strbuf.h"

struct lake_ops {
  int (*put)(struct lake *lk, const char *key, const void *data, size_t len, char **err);
  int (*get)(struct lake *lk, const char *key, char **data, size_t *len, char **err);
  /* Keys under prefix, in any order; lake_list sorts them. */
  int (*list)(struct lake *lk, const char *prefix, char ***keys, size_t *n, size_t *cap,
              char **err);
  void (*close)(struct lake *lk);
};

struct lake {
  const struct lake_ops *ops;
  char *describe; /* for logs; never holds a secret */
  void *backend;  /* the backend's own state */
};

/* Set *err (if err is not NULL) to a new formatted message. */
void lake__error(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether `key` is a valid object key: non-empty, no leading '/', no empty
 * segment ("a//b", trailing '/'), no "." or ".." segment, no control
 * characters. A prefix may end with '/' and may be empty (`is_prefix`). */
bool lake__valid_key(const char *key, bool is_prefix);

/* Append keys[*n] = key (takes ownership), growing the array. */
void lake__keys_push(char ***keys, size_t *n, size_t *cap, char *key);

int lake__local_open(struct lake *lk, const char *root, char **err);
int lake__s3_open(struct lake *lk, const struct lake_options *opts, char **err);

/* --- S3 helpers (lake_s3_util.c) ----------------------------------------- */

/* SigV4's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX
 * (uppercase hex); '/' is kept when `keep_slash` (object paths) and
 * encoded otherwise (query names and values). */
void lake__uri_encode(struct strbuf *sb, const char *s, size_t len, bool keep_slash);

/* A query string built for SigV4: parameters sorted by encoded name, then
 * encoded value, each encoded; a parameter without a value is "name=". */
struct lake_query {
  struct lake_param {
    char *name;  /* encoded */
    char *value; /* encoded */
  } *params;
  size_t n, cap;
};

void lake__query_add(struct lake_query *q, const char *name, const char *value);
/* "a=1&b=2" (caller frees); "" for no parameters. */
char *lake__query_build(struct lake_query *q);
void lake__query_free(struct lake_query *q);

/* The text of the first <tag>...</tag> at or after `xml` (and before `end`
 * if not NULL), entities decoded; caller frees. NULL if absent. */
char *lake__xml_text(const char *xml, const char *end, const char *tag);

/* One ListObjectsV2 page: appends every <Contents><Key> to keys, and sets
 * *next_token to NextContinuationToken (caller frees) when the page says
 * IsTruncated, else NULL. */
void lake__s3_parse_list(const char *xml, char ***keys, size_t *n, size_t *cap,
                         char **next_token);

/* "NoSuchBucket: The specified bucket does not exist" from an S3 error
 * body, or NULL when the body holds no <Code>. Caller frees. */
char *lake__s3_error_text(const char *xml);

#endif
