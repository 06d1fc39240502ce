/* bronze.c - lake objects into bronze.plays, once each (see bronze.h).
 *
 * Loading is a two-stage pipeline: a worker thread fetches, hashes,
 * inflates and parses the next object while this thread inserts the
 * current one, so the parse and SQLite's inserts use both cores. Only
 * this thread touches the warehouse; only the worker calls the source's
 * get(). */
#include "bronze.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "bronze_int.h"
#include "error.h"
#include "strbuf.h"

#define DEFAULT_PREFIX "raw_events/"
/* Refuse to inflate an object beyond this: a gzip bomb, not a batch. */
#define INFLATED_MAX ((size_t)1 << 31)

enum { L_DEBUG, L_INFO, L_WARN, L_ERROR };

static const char *const plays_columns[] = {
    "event_id",    "user_id",     "event_type", "track_id",      "track_name",
    "artist_name", "album_name",  "duration_ms", "played_at",    "device_type",
    "country",     "source_object", "line_number", "loaded_at",
};
#define N_PLAYS_COLUMNS (sizeof(plays_columns) / sizeof(plays_columns[0]))

static const char *const quarantine_columns[] = {
    "source_object", "line_number", "reason", "raw_line", "quarantined_at",
};

int bronze_create_tables(struct wh *w, char **err) {
  return wh_exec(w,
                 "CREATE TABLE IF NOT EXISTS bronze.plays ("
                 " event_id TEXT NOT NULL, user_id TEXT, event_type TEXT, track_id TEXT,"
                 " track_name TEXT, artist_name TEXT, album_name TEXT, duration_ms BIGINT,"
                 " played_at TEXT, device_type TEXT, country TEXT,"
                 " source_object TEXT NOT NULL, line_number BIGINT NOT NULL,"
                 " loaded_at TEXT NOT NULL);"
                 "CREATE TABLE IF NOT EXISTS bronze.loaded_objects ("
                 " object_key TEXT NOT NULL, etag TEXT NOT NULL, size_bytes BIGINT NOT NULL,"
                 " rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL,"
                 " loaded_at TEXT NOT NULL, source_stamp TEXT,"
                 " PRIMARY KEY (object_key, etag));"
                 "CREATE TABLE IF NOT EXISTS bronze.quarantine ("
                 " source_object TEXT NOT NULL, line_number BIGINT NOT NULL,"
                 " reason TEXT NOT NULL, raw_line TEXT, quarantined_at TEXT NOT NULL);",
                 err);
}

/* --- the folder source ------------------------------------------------------ */

static int dir_walk(const char *root, const char *rel, const char *prefix, char ***keys,
                    size_t *n, size_t *cap, char **err) {
  char *path = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
  DIR *d = opendir(path);
  if (d == NULL) {
    int e = errno;
    /* A lake that has no such prefix yet simply has no objects. */
    if (e == ENOENT && *rel == '\0') {
      free(path);
      return 0;
    }
    *err = xasprintf("cannot list %s: %s", path, strerror(e));
    free(path);
    return -e;
  }
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char *key = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
    char *full = xasprintf("%s/%s", root, key);
    struct stat st;
    if (stat(full, &st) != 0) {
      /* Renamed or removed while we looked: not an object any more. */
    } else if (S_ISDIR(st.st_mode)) {
      /* Descend only where keys below can still match the prefix. */
      size_t kl = strlen(key);
      if (strncmp(key, prefix, kl < strlen(prefix) ? kl : strlen(prefix)) == 0)
        rc = dir_walk(root, key, prefix, keys, n, cap, err);
    } else if (S_ISREG(st.st_mode) && strncmp(key, prefix, strlen(prefix)) == 0) {
      *keys = xgrow(*keys, cap, *n + 1, sizeof(**keys));
      (*keys)[(*n)++] = key;
      key = NULL;
    }
    free(full);
    free(key);
  }
  closedir(d);
  free(path);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dir_keys_free(char **keys, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(keys[i]);
  free(keys);
}

static int dir_list(void *ud, const char *prefix, char ***keys, size_t *n, char **err) {
  size_t cap = 0;
  *keys = NULL;
  *n = 0;
  int rc = dir_walk(ud, "", prefix, keys, n, &cap, err);
  if (rc < 0) {
    dir_keys_free(*keys, *n);
    *keys = NULL;
    *n = 0;
    return rc;
  }
  if (*n) qsort(*keys, *n, sizeof(**keys), cmp_str);
  return 0;
}

static int dir_get(void *ud, const char *key, char **data, size_t *len, char **err) {
  char *path = xasprintf("%s/%s", (const char *)ud, key);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    *err = xasprintf("cannot read %s: %s", path, strerror(e));
    if (fd >= 0) close(fd);
    free(path);
    return -e;
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *buf = xmalloc(size + 1);
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break; /* shrank while we read: take what is there */
    got += (size_t)r;
  }
  close(fd);
  free(path);
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return 0;
}

/* Size and modification time: what a writer's atomic rename changes. */
static int dir_stamp(void *ud, const char *key, char **stamp, char **err) {
  char *path = xasprintf("%s/%s", (const char *)ud, key);
  struct stat st;
  int rc = stat(path, &st) == 0 ? 0 : -errno;
  if (rc < 0)
    *err = xasprintf("cannot stat %s: %s", path, strerror(-rc));
  else
    *stamp = xasprintf("%lld:%lld.%09ld", (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                       (long)st.st_mtim.tv_nsec);
  free(path);
  return rc;
}

void bronze_dir_source(const char *root, struct bronze_source *out) {
  out->ud = (void *)root;
  out->list = dir_list;
  out->get = dir_get;
  out->keys_free = dir_keys_free;
  out->stamp = dir_stamp;
}

/* --- objects ----------------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_gzip(const char *key) {
  return has_suffix(key, ".gz");
}

static bool is_ndjson(const char *key) {
  return has_suffix(key, ".ndjson") || has_suffix(key, ".jsonl") ||
         has_suffix(key, ".ndjson.gz") || has_suffix(key, ".jsonl.gz");
}

/* Inflate gzip data (several members, as `cat a.gz b.gz` makes, included).
 * Returns 0 and the bytes (caller frees), or -1 with a reason. */
static int gunzip(const char *in, size_t in_len, char **out, size_t *out_len, char **why) {
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    *why = xstrdup("gzip: cannot initialise zlib");
    return -1;
  }
  size_t cap = in_len * 4 + 4096, len = 0;
  char *buf = xmalloc(cap + 1);
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)in_len;
  int zrc = Z_OK;
  for (;;) {
    if (cap - len < 65536) {
      cap *= 2;
      buf = xrealloc(buf, cap + 1);
    }
    zs.next_out = (Bytef *)buf + len;
    zs.avail_out = (uInt)(cap - len);
    zrc = inflate(&zs, Z_NO_FLUSH);
    len = cap - zs.avail_out;
    if (zrc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs); /* another member follows */
      continue;
    }
    if (zrc != Z_OK || len > INFLATED_MAX) break;
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      zrc = Z_DATA_ERROR; /* truncated */
      break;
    }
  }
  inflateEnd(&zs);
  if (zrc != Z_STREAM_END) {
    *why = len > INFLATED_MAX ? xasprintf("gzip: inflates beyond %zu bytes", INFLATED_MAX)
                              : xasprintf("gzip: %s", zs.msg ? zs.msg : "truncated or corrupt data");
    free(buf);
    return -1;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return 0;
}

static void md5_hex(const char *data, size_t len, char out[33]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) != 1) n = 0;
  for (unsigned int i = 0; i < n && i < 16; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  out[2 * (n < 16 ? n : 16)] = '\0';
}

static void now_iso(char *buf, size_t size) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  /* strftime, not snprintf: the compiler cannot bound tm's fields. */
  char sec[32];
  strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, size, "%.20s.%06dZ", sec, (int)(tv.tv_usec % 1000000));
}

static void logf_(const struct bronze_options *o, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(const struct bronze_options *o, int level, const char *fmt, ...) {
  if (o->log == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  o->log(o->log_ud, level, msg);
  free(msg);
}

/* --- the pipeline ------------------------------------------------------------------ */

/* An object fetched and parsed by the worker, ready to insert. */
struct prepared {
  const char *key; /* borrowed from the key list */
  int rc;          /* the source's get() failed: rc and err */
  char *err;
  char *data; /* the object's bytes (the events point into the inflated ones) */
  char *plain;
  char etag[33];
  size_t size;
  size_t plain_len;
  struct parsed_object po;
};

/* Objects the worker prepares ahead; two keep both stages busy without
 * holding much of a large object in memory. */
#define AHEAD 2

struct pipeline {
  const struct bronze_source *src;
  char **keys; /* those to load, in order; borrowed */
  size_t n;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct prepared *ring[AHEAD];
  size_t produced, consumed; /* counts; ring slot = count % AHEAD */
  bool stop;
};

static void prepare(const struct bronze_source *src, const char *key, struct prepared *p) {
  memset(p, 0, sizeof(*p));
  p->key = key;
  size_t len = 0;
  p->rc = src->get(src->ud, key, &p->data, &len, &p->err);
  if (p->rc < 0) return;
  p->size = len;
  md5_hex(p->data, len, p->etag);
  char *why = NULL;
  if (is_gzip(key)) {
    if (gunzip(p->data, len, &p->plain, &p->plain_len, &why) < 0)
      bronze__quarantine(&p->po, 0, why, "", 0);
  } else {
    p->plain = p->data;
    p->plain_len = len;
    p->data = NULL;
  }
  if (p->plain) bronze__parse_object(p->plain, p->plain_len, &p->po);
}

static void prepared_free(struct prepared *p) {
  if (p == NULL) return;
  bronze__parsed_free(&p->po);
  free(p->err);
  free(p->data);
  free(p->plain);
  free(p);
}

static void *worker(void *arg) {
  struct pipeline *pl = arg;
  for (size_t i = 0; i < pl->n; i++) {
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop && pl->produced - pl->consumed == AHEAD)
      pthread_cond_wait(&pl->cv, &pl->mu);
    bool stop = pl->stop;
    pthread_mutex_unlock(&pl->mu);
    if (stop) break;
    struct prepared *p = xmalloc(sizeof(*p));
    prepare(pl->src, pl->keys[i], p);
    int rc = p->rc; /* p is the loader's once published */
    pthread_mutex_lock(&pl->mu);
    pl->ring[pl->produced % AHEAD] = p;
    pl->produced++;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    if (rc < 0) break; /* the loader stops at the first failure */
  }
  return NULL;
}

/* The next prepared object, in order (caller frees). */
static struct prepared *next_prepared(struct pipeline *pl) {
  pthread_mutex_lock(&pl->mu);
  while (pl->produced == pl->consumed)
    pthread_cond_wait(&pl->cv, &pl->mu);
  struct prepared *p = pl->ring[pl->consumed % AHEAD];
  pl->ring[pl->consumed % AHEAD] = NULL;
  pl->consumed++;
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->mu);
  return p;
}

/* --- one object ---------------------------------------------------------------------- */

static int append_rows(struct wh *w, const struct prepared *p, const char *loaded_at,
                       char **err) {
  struct wh_appender *a;
  int rc = wh_append_begin(w, "bronze.plays", plays_columns, (int)N_PLAYS_COLUMNS, &a, err);
  if (rc < 0) return rc;
  size_t key_len = strlen(p->key), at_len = strlen(loaded_at);
  for (size_t k = 0; k < p->po.n_lines && rc == 0; k++) {
    const struct parsed_line *line = &p->po.lines[k];
    for (int i = 0; i < BRONZE_N_FIELDS; i++) {
      const struct fv *v = &line->ev.f[i];
      if (v->t == FV_STRING)
        wh_append_text(a, i, v->s, v->len);
      else if (v->t == FV_INT)
        wh_append_int(a, i, v->i);
      else
        wh_append_null(a, i);
    }
    wh_append_text(a, BRONZE_N_FIELDS, p->key, key_len);
    wh_append_int(a, BRONZE_N_FIELDS + 1, line->lineno);
    wh_append_text(a, BRONZE_N_FIELDS + 2, loaded_at, at_len);
    rc = wh_append_row(a, err);
  }
  if (rc == 0) return wh_append_end(a, err);
  char *end_err = NULL;
  wh_append_end(a, &end_err);
  free(end_err);
  return rc;
}

static int append_quarantine(struct wh *w, const struct prepared *p, const char *loaded_at,
                             char **err) {
  if (p->po.n_q == 0) return 0;
  struct wh_appender *a;
  int rc = wh_append_begin(w, "bronze.quarantine", quarantine_columns, 5, &a, err);
  for (size_t i = 0; rc == 0 && i < p->po.n_q; i++) {
    const struct quarantined *q = &p->po.q[i];
    wh_append_text(a, 0, p->key, strlen(p->key));
    wh_append_int(a, 1, q->line);
    wh_append_text(a, 2, q->reason, strlen(q->reason));
    wh_append_text(a, 3, q->raw, strlen(q->raw));
    wh_append_text(a, 4, loaded_at, strlen(loaded_at));
    rc = wh_append_row(a, err);
  }
  if (rc == 0) return wh_append_end(a, err);
  char *end_err = NULL;
  wh_append_end(a, &end_err);
  free(end_err);
  return rc;
}

/* Insert one prepared object in one transaction. *claimed is false if
 * another loader got it first. */
static int load_object(struct wh *w, const struct prepared *p, const char *loaded_at,
                       const char *stamp, bool *claimed, char **err) {
  *claimed = false;
  char size[32];
  snprintf(size, sizeof(size), "%zu", p->size);
  int rc = wh_begin(w, err);
  if (rc < 0) return rc;
  /* Claim the key first: a concurrent loader of the same object then fails
   * here, before inserting a row, rather than at commit. */
  const char *claim[] = {p->key, p->etag, size, loaded_at, stamp};
  char *got = NULL;
  rc = wh_query_value(w,
                      "INSERT INTO bronze.loaded_objects (object_key, etag, size_bytes,"
                      " rows_loaded, rows_quarantined, loaded_at, source_stamp)"
                      " VALUES ($1, $2, CAST($3 AS BIGINT), 0, 0, $4, $5)"
                      " ON CONFLICT (object_key, etag) DO NOTHING RETURNING object_key",
                      claim, 5, &got, err);
  free(got);
  if (rc == DAG_ENOTFOUND) { /* taken */
    free(*err);
    *err = NULL;
    wh_rollback(w);
    return 0;
  }
  *claimed = true;
  if (rc == 0) rc = append_rows(w, p, loaded_at, err);
  if (rc == 0) rc = append_quarantine(w, p, loaded_at, err);
  if (rc == 0) {
    char rows[32], nq[32];
    snprintf(rows, sizeof(rows), "%zu", p->po.n_lines);
    snprintf(nq, sizeof(nq), "%zu", p->po.n_q);
    const char *upd[] = {p->key, rows, nq, p->etag};
    rc = wh_query(w,
                  "UPDATE bronze.loaded_objects SET rows_loaded = CAST($2 AS BIGINT),"
                  " rows_quarantined = CAST($3 AS BIGINT) WHERE object_key = $1"
                  " AND etag = $4",
                  upd, 4, NULL, NULL, err);
  }
  if (rc == 0) rc = wh_commit(w, err);
  if (rc < 0) {
    wh_rollback(w);
    *claimed = false;
  }
  return rc;
}

/* What bronze.loaded_objects knows: one entry per version of an object
 * (a key loaded again after its content changed has several), sorted by key
 * and, within a key, by load time. */
struct loaded {
  char *key, *etag, *stamp; /* stamp may be NULL */
};

struct loaded_set {
  struct loaded *v;
  size_t n, cap;
};

static int loaded_row(void *ud, int ncols, const char *const *names,
                      const char *const *values) {
  struct loaded_set *set = ud;
  (void)ncols;
  (void)names;
  set->v = xgrow(set->v, &set->cap, set->n + 1, sizeof(*set->v));
  struct loaded *l = &set->v[set->n++];
  l->key = xstrdup(values[0] ? values[0] : "");
  l->etag = xstrdup(values[1] ? values[1] : "");
  l->stamp = values[2] ? xstrdup(values[2]) : NULL;
  return 0;
}

/* The versions of `key`: [*lo, *hi). O(log n). */
static void find_versions(const struct loaded_set *set, const char *key, size_t *lo, size_t *hi) {
  size_t a = 0, b = set->n;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (strcmp(set->v[m].key, key) < 0)
      a = m + 1;
    else
      b = m;
  }
  *lo = a;
  while (b < set->n && strcmp(set->v[b].key, key) == 0)
    b++;
  *hi = b;
}

/* One object to load, and what is known of it. */
struct todo {
  size_t lo, hi; /* its versions already loaded: a recheck when lo < hi */
  char *stamp;   /* the source's stamp now, or NULL */
};

int bronze_load(struct wh *w, const struct bronze_source *src,
                const struct bronze_options *opts, struct bronze_stats *stats, char **err) {
  static const struct bronze_options no_opts;
  if (opts == NULL) opts = &no_opts;
  const char *prefix = opts->prefix ? opts->prefix : DEFAULT_PREFIX;
  memset(stats, 0, sizeof(*stats));
  int rc = bronze_create_tables(w, err);
  if (rc < 0) return rc;

  char **keys = NULL;
  size_t n_keys = 0;
  rc = src->list(src->ud, prefix, &keys, &n_keys, err);
  if (rc < 0) return rc;

  struct loaded_set done = {NULL, 0, 0};
  rc = wh_query(w,
                "SELECT object_key, etag, source_stamp FROM bronze.loaded_objects"
                " ORDER BY object_key, loaded_at",
                NULL, 0, loaded_row, &done, err);

  /* What to load: keys never loaded, and keys whose source stamp (size and
   * modification time of a file) changed since their last load, which are
   * read again and loaded if their content (MD5, S3's ETag) is new, as
   * Snowflake reloads a file whose ETag changed. Without stamps (the S3
   * lake), a loaded key is never read again. */
  char **todo_keys = xcalloc(n_keys + 1, sizeof(*todo_keys));
  struct todo *todo = xcalloc(n_keys + 1, sizeof(*todo));
  size_t n_new = 0, n_recheck = 0;
  for (size_t i = 0; rc == 0 && i < n_keys; i++) {
    if (!is_ndjson(keys[i])) {
      stats->objects_ignored++;
      continue;
    }
    stats->objects_listed++;
    struct todo t = {0, 0, NULL};
    find_versions(&done, keys[i], &t.lo, &t.hi);
    if (src->stamp) {
      char *serr = NULL;
      if (src->stamp(src->ud, keys[i], &t.stamp, &serr) < 0) {
        free(serr); /* gone since the listing: nothing to load */
        stats->objects_skipped += t.lo < t.hi;
        continue;
      }
    }
    if (t.lo < t.hi) {
      const char *last = done.v[t.hi - 1].stamp;
      if (t.stamp == NULL || (last && strcmp(last, t.stamp) == 0)) {
        stats->objects_skipped++;
        free(t.stamp);
        continue;
      }
      n_recheck++;
    }
    todo_keys[n_new] = keys[i];
    todo[n_new++] = t;
  }
  if (rc == 0)
    logf_(opts, L_INFO,
          "prefix %s: %lld objects, %lld already loaded, %zu to load (%zu changed since "
          "loaded), %lld ignored (not NDJSON)",
          prefix, (long long)stats->objects_listed, (long long)stats->objects_skipped, n_new,
          n_recheck, (long long)stats->objects_ignored);

  struct pipeline pl = {.src = src, .keys = todo_keys, .n = rc == 0 ? n_new : 0};
  pthread_mutex_init(&pl.mu, NULL);
  pthread_cond_init(&pl.cv, NULL);
  pthread_t tid;
  bool threaded = pl.n > 0 && pthread_create(&tid, NULL, worker, &pl) == 0;
  if (pl.n > 0 && !threaded) {
    *err = xstrdup("cannot start the loader's worker thread");
    rc = -EAGAIN;
  }

  /* One line per object reads well for a few batches; a backfill of
   * thousands gets a line per tenth instead. */
  size_t step = n_new <= 200 ? 1 : n_new / 10;
  for (size_t i = 0; threaded && rc == 0 && i < n_new; i++) {
    if (opts->cancelled && opts->cancelled(opts->cancel_ud)) {
      *err = xasprintf("cancelled after %zu of %zu objects", i, n_new);
      rc = DAG_ESTATE;
      break;
    }
    struct prepared *p = next_prepared(&pl);
    if (p->rc < 0) {
      rc = p->rc;
      *err = p->err ? p->err : xstrdup(dag_strerror(rc));
      p->err = NULL;
      prepared_free(p);
      break;
    }
    stats->bytes_read += (int64_t)p->plain_len;
    const struct todo *t = &todo[i];
    const char *same = NULL; /* a version with this content, loaded before */
    for (size_t v = t->lo; v < t->hi && !same; v++)
      if (strcmp(done.v[v].etag, p->etag) == 0) same = done.v[v].etag;
    if (same) {
      /* Touched, not changed: remember the stamp so the next run does not
       * read it again. */
      const char *upd[] = {p->key, p->etag, t->stamp};
      rc = wh_query(w,
                    "UPDATE bronze.loaded_objects SET source_stamp = $3"
                    " WHERE object_key = $1 AND etag = $2",
                    upd, 3, NULL, NULL, err);
      stats->objects_skipped++;
      logf_(opts, L_DEBUG, "unchanged %s (etag %s)", p->key, p->etag);
      prepared_free(p);
      continue;
    }
    char loaded_at[64];
    now_iso(loaded_at, sizeof(loaded_at));
    bool claimed;
    rc = load_object(w, p, loaded_at, t->stamp, &claimed, err);
    if (rc == 0 && claimed && t->lo < t->hi) {
      stats->objects_reloaded++;
      logf_(opts, L_WARN,
            "%s changed since it was loaded (etag %s, was %s): loading its new content; "
            "rows of the old one stay in bronze",
            p->key, p->etag, done.v[t->hi - 1].etag);
    }
    if (rc == 0 && claimed) {
      stats->objects_loaded++;
      stats->rows_loaded += (int64_t)p->po.n_lines;
      stats->quarantined += (int64_t)p->po.n_q;
      for (size_t k = 0; k < p->po.n_q && k < 5; k++)
        logf_(opts, L_WARN, "quarantined %s line %lld: %s", p->key,
              (long long)p->po.q[k].line, p->po.q[k].reason);
      if (p->po.n_q > 5)
        logf_(opts, L_WARN, "quarantined %zu more lines of %s (see bronze.quarantine)",
              p->po.n_q - 5, p->key);
      if ((i + 1) % step == 0 || i + 1 == n_new)
        logf_(opts, L_INFO, "loaded %s: %zu rows, %zu quarantined (%zu/%zu)", p->key,
              p->po.n_lines, p->po.n_q, i + 1, n_new);
    } else if (rc == 0) {
      stats->objects_skipped++;
      logf_(opts, L_INFO, "skipped %s: loaded meanwhile by another run", p->key);
    }
    prepared_free(p);
  }
  if (threaded) {
    pthread_mutex_lock(&pl.mu);
    pl.stop = true;
    pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    pthread_join(tid, NULL);
    while (pl.consumed < pl.produced)
      prepared_free(pl.ring[pl.consumed++ % AHEAD]);
  }
  pthread_mutex_destroy(&pl.mu);
  pthread_cond_destroy(&pl.cv);
  if (rc < 0 && *err == NULL) *err = xstrdup(dag_strerror(rc));
  for (size_t i = 0; i < done.n; i++) {
    free(done.v[i].key);
    free(done.v[i].etag);
    free(done.v[i].stamp);
  }
  free(done.v);
  for (size_t i = 0; i < n_new; i++)
    free(todo[i].stamp);
  free(todo);
  free(todo_keys);
  src->keys_free(keys, n_keys);
  return rc;
}
