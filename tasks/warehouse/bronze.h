/* bronze.h - load lake objects into bronze.plays, each object exactly once.
 *
 * Like Snowflake's load metadata: bronze.loaded_objects remembers every
 * object loaded, by key and MD5 (S3's ETag for a single-part upload), with
 * its size, row counts and time. An object loaded before is skipped without
 * being read again unless the source's stamp (a file's size and mtime) says
 * it changed; then it is read, and if its MD5 is new, its content is loaded
 * as another version (silver keeps the first copy of each event). Sources
 * without stamps (the S3 lake) skip by key alone. Each object is loaded in one
 * transaction together with its loaded_objects row, so a crash or a failure
 * half-way leaves either all of an object's rows or none, and a re-run
 * loads nothing twice. Two loaders racing for one object: the second's
 * loaded_objects insert finds the (key, MD5) taken and it rolls back.
 *
 * Objects are NDJSON (".ndjson", ".jsonl"), optionally gzip (".gz"); other
 * keys under the prefix are ignored (and counted). Each non-blank line is
 * one event; a line that is not a valid event goes to bronze.quarantine with
 * its object, line number, reason and raw text: never silently dropped.
 * An object that cannot be decompressed is one quarantine row (line 0) and
 * still counts as loaded: reading it again would fail the same way.
 *
 * Tables (created if missing; the same DDL on both backends):
 *   bronze.plays          event_id, user_id, event_type, track_id, track_name,
 *                         artist_name, album_name, duration_ms, played_at,
 *                         device_type, country, source_object, line_number,
 *                         loaded_at
 *   bronze.loaded_objects object_key, etag (primary key together),
 *                         size_bytes, rows_loaded, rows_quarantined,
 *                         loaded_at, source_stamp
 *   bronze.quarantine     source_object, line_number, reason, raw_line,
 *                         quarantined_at
 * loaded_at is ISO-8601 UTC with microseconds, one value per object. */
#ifndef DAGCTL_BRONZE_H
#define DAGCTL_BRONZE_H

#include <stddef.h>
#include <stdint.h>

#include "wh.h"

/* Where objects come from: the lake (lake.h) in the plugin, a folder in
 * tests. Functions return 0 or a negative code with *err (caller frees).
 * bronze_load() calls list() from its own thread, then get() from a worker
 * thread of its own (one call at a time), so that the next object is
 * parsed while the current one is inserted. */
struct bronze_source {
  void *ud;
  /* Every key under `prefix`, sorted; free with keys_free(). */
  int (*list)(void *ud, const char *prefix, char ***keys, size_t *n, char **err);
  /* An object's bytes; caller frees *data with free(). */
  int (*get)(void *ud, const char *key, char **data, size_t *len, char **err);
  void (*keys_free)(char **keys, size_t n);
  /* Optional (NULL: none). Text that changes whenever the object does
   * (caller frees), such as its size and modification time, so that a
   * loaded object is read again only when it may have changed. */
  int (*stamp)(void *ud, const char *key, char **stamp, char **err);
};

/* A source over the local folder `root` (borrowed, must outlive the
 * source): keys are '/'-separated paths relative to it; dot files (a
 * writer's temporary files) are not listed. */
void bronze_dir_source(const char *root, struct bronze_source *out);

/* Levels as in dagctl/plugin.h: 0 debug, 1 info, 2 warn, 3 error. */
typedef void (*bronze_log_fn)(void *ud, int level, const char *msg);

struct bronze_options {
  const char *prefix; /* NULL: "raw_events/" */
  bronze_log_fn log;  /* may be NULL */
  void *log_ud;
  int (*cancelled)(void *ud); /* may be NULL; checked between objects */
  void *cancel_ud;
};

struct bronze_stats {
  int64_t objects_listed;  /* NDJSON objects under the prefix */
  int64_t objects_skipped; /* already loaded */
  int64_t objects_loaded;  /* by this call */
  int64_t objects_ignored; /* keys that are not NDJSON */
  int64_t rows_loaded;
  int64_t quarantined;
  int64_t bytes_read; /* after decompression */
  int64_t objects_reloaded; /* loaded again: the content under a loaded key changed */
};

/* Create bronze's tables if missing. */
int bronze_create_tables(struct wh *w, char **err);

/* Load every object under the prefix not yet in bronze.loaded_objects. On
 * failure (the source or the warehouse), objects loaded before it stay
 * loaded and *stats counts them; the object being loaded is rolled back.
 * DAG_ESTATE if cancelled. */
int bronze_load(struct wh *w, const struct bronze_source *src,
                const struct bronze_options *opts, struct bronze_stats *stats, char **err);

/* Why `line` is not a valid event (caller frees), or NULL if it is. */
char *bronze_check_line(const char *line, size_t len);

#endif
