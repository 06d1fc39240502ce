/* lake.h - the data lake: objects by key, on S3 or in a local folder.
 *
 * One interface over two stores: an S3 bucket (AWS, MinIO, s3rver; libcurl
 * with SigV4) and a local directory (the embedded default,
 * DAGCTL_HOME/lake). Keys are '/'-separated paths such as
 * "raw_events/year=2026/month=11/day=22/hour=01/spotify-plays-0-100-199.ndjson".
 * Writes are atomic on both: a reader never sees half an object.
 *
 * Errors: functions return 0 or a negative code and, on failure, set *err
 * to a sentence for a log (caller frees), naming the key and, for S3, the
 * HTTP status and the server's error code (e.g. "NoSuchBucket"). The code
 * is the same on both stores: -ENOENT for a missing key (or bucket),
 * -EACCES for refused credentials, -ECONNREFUSED/-ETIMEDOUT/-EIO when the
 * server cannot be reached after the retries, DAG_EINVAL for a bad key,
 * URL or other 4xx answer. */
#ifndef DAGCTL_LAKE_H
#define DAGCTL_LAKE_H

#include <stdbool.h>
#include <stddef.h>

struct lake;
struct dagctl_config_section;

/* The `lake:` section of dagctl.yaml (url, endpoint, region, path_style,
 * access_key_id, secret_access_key, timeout), for the config_sections of
 * every plugin that opens the lake. */
extern const struct dagctl_config_section lake_config_section;

struct lake_options {
  const char *url;      /* "s3://bucket/prefix", "file:///path" or a plain path */
  const char *endpoint; /* S3: e.g. "http://127.0.0.1:4569"; NULL: AWS */
  const char *region;   /* S3: default "us-east-1" */
  bool path_style;      /* S3: http://endpoint/bucket/key instead of bucket.endpoint */
  const char *access_key_id;     /* S3; never logged */
  const char *secret_access_key; /* S3; never logged */
  long timeout_ms;      /* per request; 0: 30 s */
  int max_retries;      /* on timeouts and 5xx; 0: 4; negative: none */
  long list_page_size;  /* S3: max-keys per ListObjectsV2 page; 0: the server's (1000) */
};

/* Open the lake described by `opts`. A local lake's folder is created. */
int lake_open(const struct lake_options *opts, struct lake **out, char **err);
void lake_close(struct lake *lk);

/* Write (or replace) an object atomically. */
int lake_put(struct lake *lk, const char *key, const void *data, size_t len, char **err);

/* Read an object; *data is NUL-terminated for convenience (caller frees). */
int lake_get(struct lake *lk, const char *key, char **data, size_t *len, char **err);

/* Every key under `prefix` (all pages), sorted; caller frees with
 * lake_keys_free(). */
int lake_list(struct lake *lk, const char *prefix, char ***keys, size_t *n, char **err);
void lake_keys_free(char **keys, size_t n);

/* A description for logs without secrets: "s3://bucket/prefix at http://..."
 * or "/home/me/.dagctl/lake". Borrowed. */
const char *lake_describe(const struct lake *lk);

#endif
