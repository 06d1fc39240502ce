/* lake.c - the lake's front: choose a backend, check keys, sort listings. */
#include "lake.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "lake_int.h"

/* S3's limit; a local file system's is larger, but keys must fit both. */
#define KEY_MAX 1024
/* Names the local backend gives its temporary files (lake_local.c). */
#define TMP_PREFIX ".lake-tmp-"

void lake__error(char **err, const char *fmt, ...) {
  if (err == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  free(*err);
  *err = xvasprintf(fmt, ap);
  va_end(ap);
}

bool lake__valid_key(const char *key, bool is_prefix) {
  size_t len = strlen(key);
  if (len == 0) return is_prefix;
  if (len > KEY_MAX || key[0] == '/') return false;
  for (const char *p = key; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) return false;
  const char *seg = key;
  for (;;) {
    size_t n = strcspn(seg, "/");
    int last = seg[n] == '\0';
    /* A prefix may end with '/': its last segment is then empty. */
    if (n == 0 && !(last && is_prefix)) return false;
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return false;
    if (n >= strlen(TMP_PREFIX) && strncmp(seg, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
      return false;
    if (last) return true;
    seg += n + 1;
  }
}

void lake__keys_push(char ***keys, size_t *n, size_t *cap, char *key) {
  *keys = xgrow(*keys, cap, *n + 1, sizeof(**keys));
  (*keys)[(*n)++] = key;
}

int lake_open(const struct lake_options *opts, struct lake **out, char **err) {
  *out = NULL;
  const char *url = opts->url;
  if (url == NULL || *url == '\0') {
    lake__error(err, "lake: no url (expected s3://bucket/prefix or a folder)");
    return DAG_EINVAL;
  }
  struct lake *lk = xcalloc(1, sizeof(*lk));
  int rc;
  if (strncmp(url, "s3://", 5) == 0) {
    rc = lake__s3_open(lk, opts, err);
  } else if (strncmp(url, "file://", 7) == 0) {
    rc = lake__local_open(lk, url + 7, err);
  } else if (strstr(url, "://") && strstr(url, "://") < url + strcspn(url, "/")) {
    lake__error(err, "lake: unsupported url '%s' (expected s3://bucket/prefix or a folder)",
                url);
    rc = DAG_EINVAL;
  } else {
    rc = lake__local_open(lk, url, err);
  }
  if (rc < 0) {
    free(lk->describe);
    free(lk);
    return rc;
  }
  *out = lk;
  return 0;
}

void lake_close(struct lake *lk) {
  if (lk == NULL) return;
  if (lk->ops) lk->ops->close(lk);
  free(lk->describe);
  free(lk);
}

int lake_put(struct lake *lk, const char *key, const void *data, size_t len, char **err) {
  if (!lake__valid_key(key, false)) {
    lake__error(err, "lake: invalid key '%s' (expected a/b/c: no leading '/', no empty, "
                     "'.' or '..' part)", key);
    return DAG_EINVAL;
  }
  return lk->ops->put(lk, key, data, len, err);
}

int lake_get(struct lake *lk, const char *key, char **data, size_t *len, char **err) {
  *data = NULL;
  *len = 0;
  if (!lake__valid_key(key, false)) {
    lake__error(err, "lake: invalid key '%s' (expected a/b/c: no leading '/', no empty, "
                     "'.' or '..' part)", key);
    return DAG_EINVAL;
  }
  return lk->ops->get(lk, key, data, len, err);
}

static int compare_keys(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int lake_list(struct lake *lk, const char *prefix, char ***keys, size_t *n, char **err) {
  *keys = NULL;
  *n = 0;
  if (prefix == NULL) prefix = "";
  if (!lake__valid_key(prefix, true)) {
    lake__error(err, "lake: invalid prefix '%s' (no leading '/', no empty, '.' or '..' "
                     "part)", prefix);
    return DAG_EINVAL;
  }
  char **k = NULL;
  size_t count = 0, cap = 0;
  int rc = lk->ops->list(lk, prefix, &k, &count, &cap, err);
  if (rc < 0) {
    lake_keys_free(k, count);
    return rc;
  }
  /* O(n log n) in the number of keys: both backends return them in an
   * order of their own (directory order, or S3's UTF-8 byte order, which
   * strcmp matches but a prefixed local walk does not). */
  if (count > 1) qsort(k, count, sizeof(*k), compare_keys);
  *keys = k;
  *n = count;
  return 0;
}

void lake_keys_free(char **keys, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(keys[i]);
  free(keys);
}

const char *lake_describe(const struct lake *lk) {
  return lk->describe;
}
