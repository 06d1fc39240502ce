/* bronze.c - lake objects into bronze.plays, once each (see bronze.h). */
#include "bronze.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
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
#include "error.h"
#include "strbuf.h"

#define DEFAULT_PREFIX "raw_events/"
/* A quarantined line is kept whole up to this size; beyond it the reason
 * says it was cut. Lines that long are not events anyway. */
#define RAW_LINE_MAX 65536
/* Refuse to inflate an object beyond this: a gzip bomb, not a batch. */
#define INFLATED_MAX ((size_t)1 << 31)

enum { L_DEBUG, L_INFO, L_WARN, L_ERROR };

/* The event's fields, in bronze.plays column order. */
enum field_kind { F_REQUIRED_STRING, F_OPTIONAL_STRING, F_REQUIRED_INT };

static const struct {
  const char *name;
  enum field_kind kind;
} fields[] = {
    {"event_id", F_REQUIRED_STRING},    {"user_id", F_REQUIRED_STRING},
    {"event_type", F_REQUIRED_STRING},  {"track_id", F_REQUIRED_STRING},
    {"track_name", F_OPTIONAL_STRING},  {"artist_name", F_OPTIONAL_STRING},
    {"album_name", F_OPTIONAL_STRING},  {"duration_ms", F_REQUIRED_INT},
    {"played_at", F_REQUIRED_STRING},   {"device_type", F_OPTIONAL_STRING},
    {"country", F_OPTIONAL_STRING},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))
#define F_PLAYED_AT 8

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
                 " object_key TEXT PRIMARY KEY, etag TEXT NOT NULL, size_bytes BIGINT NOT NULL,"
                 " rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL,"
                 " loaded_at TEXT NOT NULL);"
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

void bronze_dir_source(const char *root, struct bronze_source *out) {
  out->ud = (void *)root;
  out->list = dir_list;
  out->get = dir_get;
  out->keys_free = dir_keys_free;
}

/* --- one line ------------------------------------------------------------------ */

/* A field's value, whichever parser found it. */
enum fv_type { FV_ABSENT, FV_NULL, FV_STRING, FV_INT, FV_OTHER };

struct fv {
  enum fv_type t;
  const char *s; /* FV_STRING: borrowed from the line or the json_t */
  size_t len;
  int64_t i;             /* FV_INT */
  const char *kind_name; /* FV_OTHER: "an array", "a boolean", ... */
};

/* An event: its fields in bronze.plays order, and the jansson tree holding
 * the strings when the slow path parsed it. */
struct event {
  struct fv f[N_FIELDS];
  json_t *root;
};

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

static const char *fv_kind(const struct fv *v) {
  switch (v->t) {
  case FV_STRING: return "a string";
  case FV_INT: return "an integer";
  case FV_OTHER: return v->kind_name;
  default: return "null";
  }
}

/* YYYY-MM-DDTHH:MM:SS at the start: enough for silver's date and ordering. */
static bool iso_datetime(const char *s, size_t len) {
  static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
  if (len < sizeof(pattern) - 1) return false;
  for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
    char p = pattern[i], c = s[i];
    if (p == 'd' ? (c < '0' || c > '9') : p == 'T' ? (c != 'T' && c != ' ') : c != p)
      return false;
  }
  return true;
}

static long field_index(const char *name, size_t len) {
  for (size_t i = 0; i < N_FIELDS; i++)
    if (strlen(fields[i].name) == len && memcmp(fields[i].name, name, len) == 0)
      return (long)i;
  return -1;
}

/* --- the fast path: flat objects of plain values ---
 *
 * jansson builds a tree with a hash table and a copy of every string for
 * each line, which is most of the load's time. Nearly every event is a flat
 * object of strings without escapes, integers and nulls, so this scanner
 * takes those and returns 0 for anything else (escapes, reals, nested
 * values, repeated fields, any syntax error), which jansson then parses
 * and, if need be, explains. Both paths feed the same checks, so a line
 * gets the same verdict either way. */

static const char *skip_ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0:
 * overlong forms, surrogates and code points past U+10FFFF are invalid, as
 * for jansson. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e) {
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) n = 3, lo = 0xa0;
  else if (c == 0xed) n = 3, hi = 0x9f;
  else if (c >= 0xe1 && c <= 0xef) n = 3;
  else if (c == 0xf0) n = 4, lo = 0x90;
  else if (c == 0xf4) n = 4, hi = 0x8f;
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else return 0;
  if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if ((p[k] & 0xc0) != 0x80) return 0;
  return n;
}

/* A string without escapes at p (on its '"'); the position after it. */
static const char *fast_string(const char *p, const char *e, const char **s, size_t *len) {
  const unsigned char *q = (const unsigned char *)p + 1, *end = (const unsigned char *)e;
  while (q < end) {
    unsigned char c = *q;
    if (c == '"') {
      *s = p + 1;
      *len = (size_t)((const char *)q - (p + 1));
      return (const char *)q + 1;
    }
    if (c == '\\' || c < 0x20) return NULL;
    if (c < 0x80) {
      q++;
    } else {
      size_t n = utf8_len(q, end);
      if (n == 0) return NULL;
      q += n;
    }
  }
  return NULL;
}

static const char *fast_value(const char *p, const char *e, struct fv *v) {
  if (*p == '"') {
    v->t = FV_STRING;
    return fast_string(p, e, &v->s, &v->len);
  }
  if (*p == '-' || (*p >= '0' && *p <= '9')) {
    const char *q = p + (*p == '-');
    if (q >= e || *q < '0' || *q > '9') return NULL;
    if (*q == '0' && q + 1 < e && q[1] >= '0' && q[1] <= '9') return NULL;
    int64_t n = 0;
    int digits = 0;
    for (; q < e && *q >= '0' && *q <= '9'; q++, digits++)
      if (digits < 18) n = n * 10 + (*q - '0'); /* more digits: given up below */
    /* Reals, exponents and anything that might not fit: jansson's call. */
    if (digits > 18 || (q < e && (*q == '.' || *q == 'e' || *q == 'E'))) return NULL;
    v->t = FV_INT;
    v->i = *p == '-' ? -n : n;
    return q;
  }
  static const struct {
    const char *word;
    enum fv_type t;
  } words[] = {{"null", FV_NULL}, {"true", FV_OTHER}, {"false", FV_OTHER}};
  for (size_t k = 0; k < 3; k++) {
    size_t n = strlen(words[k].word);
    if ((size_t)(e - p) >= n && memcmp(p, words[k].word, n) == 0) {
      v->t = words[k].t;
      v->kind_name = "a boolean";
      return p + n;
    }
  }
  return NULL;
}

static bool fast_parse(const char *line, size_t len, struct event *ev) {
  const char *p = line, *e = line + len;
  p = skip_ws(p, e);
  if (p >= e || *p != '{') return false;
  p = skip_ws(p + 1, e);
  if (p < e && *p == '}') return skip_ws(p + 1, e) == e;
  for (;;) {
    if (p >= e || *p != '"') return false;
    const char *key;
    size_t key_len;
    if ((p = fast_string(p, e, &key, &key_len)) == NULL) return false;
    p = skip_ws(p, e);
    if (p >= e || *p != ':') return false;
    p = skip_ws(p + 1, e);
    if (p >= e) return false;
    struct fv v = {FV_ABSENT, NULL, 0, 0, NULL};
    if ((p = fast_value(p, e, &v)) == NULL) return false;
    long idx = field_index(key, key_len);
    if (idx >= 0) {
      if (ev->f[idx].t != FV_ABSENT) return false; /* repeated: jansson keeps the last */
      ev->f[idx] = v;
    }
    p = skip_ws(p, e);
    if (p < e && *p == ',') {
      p = skip_ws(p + 1, e);
      continue;
    }
    if (p < e && *p == '}') return skip_ws(p + 1, e) == e;
    return false;
  }
}

/* The slow path: jansson, which also words the reason for bad JSON. */
static bool slow_parse(const char *line, size_t len, struct event *ev, char **reason) {
  json_error_t jerr;
  json_t *root = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
  if (root == NULL) {
    *reason = xasprintf("invalid JSON at column %d: %s", jerr.column, jerr.text);
    return false;
  }
  if (!json_is_object(root)) {
    *reason = xasprintf("expected a JSON object, got %s", json_kind(root));
    json_decref(root);
    return false;
  }
  ev->root = root;
  for (size_t i = 0; i < N_FIELDS; i++) {
    json_t *v = json_object_get(root, fields[i].name);
    struct fv *f = &ev->f[i];
    if (v == NULL)
      f->t = FV_ABSENT;
    else if (json_is_null(v))
      f->t = FV_NULL;
    else if (json_is_string(v))
      *f = (struct fv){FV_STRING, json_string_value(v), json_string_length(v), 0, NULL};
    else if (json_is_integer(v))
      *f = (struct fv){FV_INT, NULL, 0, json_integer_value(v), NULL};
    else
      *f = (struct fv){FV_OTHER, NULL, 0, 0, json_kind(v)};
  }
  return true;
}

/* Parse and check one line into *ev (release with event_done()). Returns
 * NULL, or why the line is not an event (caller frees). */
static char *parse_event(const char *line, size_t len, struct event *ev) {
  memset(ev, 0, sizeof(*ev));
  char *reason = NULL;
  if (!fast_parse(line, len, ev)) {
    memset(ev, 0, sizeof(*ev));
    if (!slow_parse(line, len, ev, &reason)) return reason;
  }
  for (size_t i = 0; i < N_FIELDS && reason == NULL; i++) {
    const struct fv *v = &ev->f[i];
    bool absent = v->t == FV_ABSENT || v->t == FV_NULL;
    switch (fields[i].kind) {
    case F_REQUIRED_STRING:
      if (absent)
        reason = xasprintf("missing %s", fields[i].name);
      else if (v->t != FV_STRING)
        reason = xasprintf("%s: expected a string, got %s", fields[i].name, fv_kind(v));
      else if (v->len == 0)
        reason = xasprintf("%s: empty", fields[i].name);
      else if (i == F_PLAYED_AT && !iso_datetime(v->s, v->len))
        reason = xasprintf("played_at: expected an ISO-8601 date and time, got '%.*s'",
                           (int)(v->len < 40 ? v->len : 40), v->s);
      break;
    case F_OPTIONAL_STRING:
      if (!absent && v->t != FV_STRING)
        reason = xasprintf("%s: expected a string, got %s", fields[i].name, fv_kind(v));
      break;
    case F_REQUIRED_INT:
      if (absent)
        reason = xasprintf("missing %s", fields[i].name);
      else if (v->t != FV_INT)
        reason = xasprintf("%s: expected an integer, got %s", fields[i].name, fv_kind(v));
      break;
    }
  }
  return reason;
}

static void event_done(struct event *ev) {
  json_decref(ev->root);
  ev->root = NULL;
}

char *bronze_check_line(const char *line, size_t len) {
  struct event ev;
  char *reason = parse_event(line, len, &ev);
  event_done(&ev);
  return reason;
}

/* --- one object ------------------------------------------------------------------ */

struct quarantined {
  int64_t line;
  char *reason;
  char *raw;
};

struct object_load {
  const char *key;
  const char *loaded_at;
  struct quarantined *q;
  size_t n_q, cap_q;
  int64_t rows;
};

static void quarantine(struct object_load *ol, int64_t line, char *reason, const char *raw,
                       size_t len) {
  ol->q = xgrow(ol->q, &ol->cap_q, ol->n_q + 1, sizeof(*ol->q));
  struct quarantined *q = &ol->q[ol->n_q++];
  q->line = line;
  if (len > RAW_LINE_MAX) {
    q->reason = xasprintf("%s (raw_line cut to %d of %zu bytes)", reason, RAW_LINE_MAX, len);
    free(reason);
    len = RAW_LINE_MAX;
  } else {
    q->reason = reason;
  }
  /* Raw text must be valid UTF-8 for PostgreSQL's text type: replace any
   * byte that is not with '?'. */
  char *copy = xstrndup(raw, len);
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)copy[i];
    size_t need = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                             : (c & 0xf8) == 0xf0 ? 3 : 4;
    bool ok = need < 4 && i + need < len && c != 0xc0 && c != 0xc1;
    for (size_t k = 1; ok && k <= need; k++)
      ok = ((unsigned char)copy[i + k] & 0xc0) == 0x80;
    if (!ok || c == 0) {
      copy[i++] = '?';
      continue;
    }
    i += need + 1;
  }
  q->raw = copy;
}

static void free_quarantined(struct object_load *ol) {
  for (size_t i = 0; i < ol->n_q; i++) {
    free(ol->q[i].reason);
    free(ol->q[i].raw);
  }
  free(ol->q);
}

static int append_lines(struct wh *w, struct object_load *ol, const char *data, size_t len,
                        char **err) {
  struct wh_appender *a;
  int rc = wh_append_begin(w, "bronze.plays", plays_columns, (int)N_PLAYS_COLUMNS, &a, err);
  if (rc < 0) return rc;
  size_t key_len = strlen(ol->key), at_len = strlen(ol->loaded_at);
  int64_t lineno = 0;
  for (size_t pos = 0; pos < len && rc == 0;) {
    const char *line = data + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - line) : len - pos;
    pos += n + (nl != NULL);
    lineno++;
    if (n && line[n - 1] == '\r') n--;
    size_t blank = 0;
    while (blank < n && (line[blank] == ' ' || line[blank] == '\t'))
      blank++;
    if (blank == n) continue; /* carries no event */

    struct event ev;
    char *reason = parse_event(line, n, &ev);
    if (reason) {
      event_done(&ev);
      quarantine(ol, lineno, reason, line, n);
      continue;
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
      const struct fv *v = &ev.f[i];
      if (v->t == FV_STRING)
        wh_append_text(a, (int)i, v->s, v->len);
      else if (v->t == FV_INT)
        wh_append_int(a, (int)i, v->i);
      else
        wh_append_null(a, (int)i);
    }
    wh_append_text(a, (int)N_FIELDS, ol->key, key_len);
    wh_append_int(a, (int)N_FIELDS + 1, lineno);
    wh_append_text(a, (int)N_FIELDS + 2, ol->loaded_at, at_len);
    rc = wh_append_row(a, err);
    event_done(&ev);
    if (rc == 0) ol->rows++;
  }
  char *end_err = NULL;
  int rc2 = wh_append_end(a, rc < 0 ? &end_err : err);
  free(end_err);
  return rc < 0 ? rc : rc2;
}

static int append_quarantine(struct wh *w, struct object_load *ol, char **err) {
  if (ol->n_q == 0) return 0;
  struct wh_appender *a;
  int rc = wh_append_begin(w, "bronze.quarantine", quarantine_columns, 5, &a, err);
  for (size_t i = 0; rc == 0 && i < ol->n_q; i++) {
    const struct quarantined *q = &ol->q[i];
    wh_append_text(a, 0, ol->key, strlen(ol->key));
    wh_append_int(a, 1, q->line);
    wh_append_text(a, 2, q->reason, strlen(q->reason));
    wh_append_text(a, 3, q->raw, strlen(q->raw));
    wh_append_text(a, 4, ol->loaded_at, strlen(ol->loaded_at));
    rc = wh_append_row(a, err);
  }
  if (rc == 0) return wh_append_end(a, err);
  char *end_err = NULL;
  wh_append_end(a, &end_err);
  free(end_err);
  return rc;
}

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

/* Load one object in one transaction. *claimed is false if another loader
 * got it first. */
static int load_object(struct wh *w, const struct bronze_source *src, const char *key,
                       struct object_load *ol, struct bronze_stats *stats, bool *claimed,
                       char **err) {
  char *data = NULL, *plain = NULL;
  size_t len = 0, plain_len = 0;
  *claimed = false;
  int rc = src->get(src->ud, key, &data, &len, err);
  if (rc < 0) return rc;
  char etag[33], size[32];
  md5_hex(data, len, etag);
  snprintf(size, sizeof(size), "%zu", len);

  char *why = NULL;
  if (is_gzip(key)) {
    if (gunzip(data, len, &plain, &plain_len, &why) < 0) quarantine(ol, 0, why, "", 0);
  } else {
    plain = data;
    plain_len = len;
    data = NULL;
  }
  stats->bytes_read += (int64_t)plain_len;

  rc = wh_begin(w, err);
  if (rc < 0) goto out;
  /* Claim the key first: a concurrent loader of the same object then fails
   * here, before inserting a row, rather than at commit. */
  const char *claim[] = {key, etag, size, ol->loaded_at};
  char *got = NULL;
  rc = wh_query_value(w,
                      "INSERT INTO bronze.loaded_objects (object_key, etag, size_bytes,"
                      " rows_loaded, rows_quarantined, loaded_at)"
                      " VALUES ($1, $2, CAST($3 AS BIGINT), 0, 0, $4)"
                      " ON CONFLICT (object_key) DO NOTHING RETURNING object_key",
                      claim, 4, &got, err);
  free(got);
  if (rc == DAG_ENOTFOUND) { /* taken */
    free(*err);
    *err = NULL;
    wh_rollback(w);
    rc = 0;
    goto out;
  }
  *claimed = true;
  if (rc == 0 && plain) rc = append_lines(w, ol, plain, plain_len, err);
  if (rc == 0) rc = append_quarantine(w, ol, err);
  if (rc == 0) {
    char rows[32], nq[32];
    snprintf(rows, sizeof(rows), "%lld", (long long)ol->rows);
    snprintf(nq, sizeof(nq), "%zu", ol->n_q);
    const char *upd[] = {key, rows, nq};
    rc = wh_query(w,
                  "UPDATE bronze.loaded_objects SET rows_loaded = CAST($2 AS BIGINT),"
                  " rows_quarantined = CAST($3 AS BIGINT) WHERE object_key = $1",
                  upd, 3, NULL, NULL, err);
  }
  if (rc == 0) rc = wh_commit(w, err);
  if (rc < 0) {
    wh_rollback(w);
    *claimed = false;
  }
out:
  free(data);
  free(plain);
  return rc;
}

/* Keys already loaded, sorted for bsearch. */
static int loaded_keys_row(void *ud, int ncols, const char *const *names,
                           const char *const *values) {
  struct {
    char **keys;
    size_t n, cap;
  } *set = ud;
  (void)ncols;
  (void)names;
  set->keys = xgrow(set->keys, &set->cap, set->n + 1, sizeof(*set->keys));
  set->keys[set->n++] = xstrdup(values[0] ? values[0] : "");
  return 0;
}

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

  struct {
    char **keys;
    size_t n, cap;
  } done = {NULL, 0, 0};
  rc = wh_query(w, "SELECT object_key FROM bronze.loaded_objects", NULL, 0, loaded_keys_row,
                &done, err);
  if (done.n) qsort(done.keys, done.n, sizeof(*done.keys), cmp_str);

  size_t n_new = 0;
  for (size_t i = 0; i < n_keys; i++) {
    if (!is_ndjson(keys[i])) {
      stats->objects_ignored++;
      continue;
    }
    stats->objects_listed++;
    if (done.n && bsearch(&keys[i], done.keys, done.n, sizeof(*done.keys), cmp_str))
      stats->objects_skipped++;
    else
      n_new++;
  }
  if (rc == 0)
    logf_(opts, L_INFO,
          "prefix %s: %lld objects, %lld already loaded, %zu to load, %lld ignored (not "
          "NDJSON)",
          prefix, (long long)stats->objects_listed, (long long)stats->objects_skipped, n_new,
          (long long)stats->objects_ignored);

  /* One line per object reads well for a few batches; a backfill of
   * thousands gets a line per tenth instead. */
  size_t step = n_new <= 200 ? 1 : n_new / 10;
  size_t done_new = 0;
  for (size_t i = 0; rc == 0 && i < n_keys; i++) {
    if (!is_ndjson(keys[i]) ||
        (done.n && bsearch(&keys[i], done.keys, done.n, sizeof(*done.keys), cmp_str)))
      continue;
    if (opts->cancelled && opts->cancelled(opts->cancel_ud)) {
      *err = xasprintf("cancelled after %zu of %zu objects", done_new, n_new);
      rc = DAG_ESTATE;
      break;
    }
    char loaded_at[40];
    now_iso(loaded_at, sizeof(loaded_at));
    struct object_load ol = {.key = keys[i], .loaded_at = loaded_at};
    bool claimed;
    rc = load_object(w, src, keys[i], &ol, stats, &claimed, err);
    done_new++;
    if (rc == 0 && claimed) {
      stats->objects_loaded++;
      stats->rows_loaded += ol.rows;
      stats->quarantined += (int64_t)ol.n_q;
      for (size_t k = 0; k < ol.n_q && k < 5; k++)
        logf_(opts, L_WARN, "quarantined %s line %lld: %s", keys[i],
              (long long)ol.q[k].line, ol.q[k].reason);
      if (ol.n_q > 5)
        logf_(opts, L_WARN, "quarantined %zu more lines of %s (see bronze.quarantine)",
              ol.n_q - 5, keys[i]);
      if (done_new % step == 0 || done_new == n_new)
        logf_(opts, L_INFO, "loaded %s: %lld rows, %zu quarantined (%zu/%zu)", keys[i],
              (long long)ol.rows, ol.n_q, done_new, n_new);
    } else if (rc == 0) {
      stats->objects_skipped++;
      logf_(opts, L_INFO, "skipped %s: loaded meanwhile by another run", keys[i]);
    }
    free_quarantined(&ol);
  }
  if (rc < 0 && *err == NULL) *err = xstrdup(dag_strerror(rc));
  for (size_t i = 0; i < done.n; i++)
    free(done.keys[i]);
  free(done.keys);
  src->keys_free(keys, n_keys);
  return rc;
}
