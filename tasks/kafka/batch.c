/* batch.c - the consumer's batches (see batch.h). */
#include "batch.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <zlib.h>

#include "alloc.h"
#include "jscan.h"
#include "timeutil.h"

/* --- times --------------------------------------------------------------- */

int bt_parse_time(const char *s, int64_t *out) {
  struct dag_iso iso;
  if (dag_iso_parse(s, strlen(s), &iso, NULL, 0) != 0 || !iso.has_sec) return -1;
  *out = (dag_iso_utc(&iso) - iso.usec) / DAG_USEC_PER_SEC;
  return 0;
}

/* --- checking messages --------------------------------------------------- */

int bt_check(const char *payload, size_t len, int64_t *played_at, char **line,
             char **reason) {
  *line = NULL;
  *reason = NULL;
  if (len == 0) {
    *reason = xstrdup("empty message");
    return -1;
  }
  struct js_field f[2] = {{.name = "event_id"}, {.name = "played_at"}};
  bool is_object;
  const char *why;
  size_t pos;
  if (js_scan(payload, len, f, 2, &is_object, &why, &pos) != 0) {
    *reason = xasprintf("not JSON: %s at byte %zu", why, pos);
    return -1;
  }
  if (!is_object) {
    *reason = xstrdup("not a JSON object");
    return -1;
  }
  for (int i = 0; i < 2; i++) {
    if (f[i].count > 1) {
      *reason = xasprintf("%s appears %d times", f[i].name, f[i].count);
      return -1;
    }
  }
  if (f[0].kind != JS_STRING || f[0].len == 0) {
    *reason = xstrdup("missing event_id (a non-empty string)");
    return -1;
  }
  if (f[1].kind != JS_STRING) {
    *reason = xstrdup("missing played_at (an ISO-8601 UTC time)");
    return -1;
  }
  /* A time is short; anything long is wrong anyway, so a fixed buffer. */
  char at[80];
  size_t n = f[1].len < sizeof(at) - 1 ? f[1].len : sizeof(at) - 1;
  if (f[1].escaped && f[1].len < sizeof(at))
    js_unescape(f[1].val, f[1].len, at);
  else {
    memcpy(at, f[1].val, n);
    at[n] = '\0';
  }
  if (f[1].len >= sizeof(at) || bt_parse_time(at, played_at) != 0) {
    *reason = xasprintf("played_at is not an ISO-8601 time: '%.64s'", at);
    return -1;
  }
  /* NDJSON: a pretty-printed event would break the one-line-per-event
   * rule, so it is stored without the whitespace between tokens; anything
   * else byte for byte. */
  if (memchr(payload, '\n', len) || memchr(payload, '\r', len)) {
    *line = xmalloc(len + 1);
    js_compact(payload, len, *line);
  }
  return 0;
}

/* --- batches ------------------------------------------------------------- */

void bt_batch_init(struct bt_batch *b, const char *topic, int32_t partition) {
  memset(b, 0, sizeof(*b));
  b->topic = xstrdup(topic);
  b->partition = partition;
  b->first = b->last = b->dead_first = b->dead_last = -1;
}

void bt_batch_reset(struct bt_batch *b) {
  b->first = b->last = b->dead_first = b->dead_last = -1;
  b->n_messages = b->n_items = b->n_dead = 0;
  b->opened_ms = 0;
  sb_reset(&b->lines);
  sb_reset(&b->dead);
}

void bt_batch_free(struct bt_batch *b) {
  free(b->topic);
  free(b->items);
  sb_free(&b->lines);
  sb_free(&b->dead);
  memset(b, 0, sizeof(*b));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const unsigned char *in, size_t len) {
  char *out = xmalloc((len + 2) / 3 * 4 + 1), *p = out;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len) v |= in[i + 2];
    *p++ = b64[v >> 18 & 63];
    *p++ = b64[v >> 12 & 63];
    *p++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
    *p++ = i + 2 < len ? b64[v & 63] : '=';
  }
  *p = '\0';
  return out;
}

/* A byte string as a JSON value under `name`, or under name_base64 when it
 * is not UTF-8 (JSON text cannot carry it). */
static void set_bytes(json_t *obj, const char *name, const void *data, size_t len) {
  json_t *s = json_stringn((const char *)data, len);
  if (s) {
    json_object_set_new(obj, name, s);
    return;
  }
  char *field = xasprintf("%s_base64", name);
  char *enc = base64(data, len);
  json_object_set_new(obj, field, json_string(enc));
  free(enc);
  free(field);
}

static void add_dead(struct bt_batch *b, int64_t offset, const void *key, size_t key_len,
                     const void *payload, size_t len, const char *reason) {
  json_t *o = json_object();
  json_object_set_new(o, "topic", json_string(b->topic));
  json_object_set_new(o, "partition", json_integer(b->partition));
  json_object_set_new(o, "offset", json_integer(offset));
  json_object_set_new(o, "reason", json_string(reason));
  if (key)
    set_bytes(o, "key", key, key_len);
  else
    json_object_set_new(o, "key", json_null());
  set_bytes(o, "payload", payload ? payload : "", payload ? len : 0);
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (text == NULL) abort(); /* only on out-of-memory */
  sb_append(&b->dead, text);
  sb_appendc(&b->dead, '\n');
  free(text);
  if (b->dead_first < 0) b->dead_first = offset;
  b->dead_last = offset;
  b->n_dead++;
}

int bt_batch_add(struct bt_batch *b, int64_t offset, const void *key, size_t key_len,
                 const void *payload, size_t len, uint64_t now_ms) {
  if (b->n_messages == 0) {
    b->first = offset;
    b->opened_ms = now_ms;
  }
  b->last = offset;
  b->n_messages++;

  int64_t played_at;
  char *line = NULL, *reason = NULL;
  if (bt_check(payload ? payload : "", payload ? len : 0, &played_at, &line, &reason) != 0) {
    add_dead(b, offset, key, key_len, payload, len, reason);
    free(reason);
    return 1;
  }
  b->items = xgrow(b->items, &b->cap_items, b->n_items + 1, sizeof(*b->items));
  struct bt_item *it = &b->items[b->n_items++];
  it->offset = offset;
  /* Floor division: a time before 1970 still lands in its own hour. */
  it->hour = played_at >= 0 ? played_at / 3600 : -((-played_at + 3599) / 3600);
  it->start = b->lines.len;
  if (line) {
    sb_append(&b->lines, line);
    free(line);
  } else {
    sb_appendn(&b->lines, payload, len);
  }
  it->len = b->lines.len - it->start;
  return 0;
}

/* --- objects ------------------------------------------------------------- */

int bt_gzip(const void *in, size_t len, char **out, size_t *out_len) {
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  /* 15 + 16: a gzip wrapper rather than zlib's, so `zcat` reads it. */
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return -1;
  size_t cap = deflateBound(&zs, (uLong)len) + 32;
  char *buf = xmalloc(cap);
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  zs.next_out = (Bytef *)buf;
  zs.avail_out = (uInt)cap;
  int zrc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (zrc != Z_STREAM_END) {
    free(buf);
    return -1;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

static int by_hour(const void *a, const void *b) {
  const struct bt_item *x = *(const struct bt_item *const *)a;
  const struct bt_item *y = *(const struct bt_item *const *)b;
  if (x->hour != y->hour) return x->hour < y->hour ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int finish(struct bt_object *obj, struct strbuf *sb, bool gz) {
  if (!gz) {
    obj->len = sb->len;
    obj->data = sb_detach(sb);
    return 0;
  }
  int rc = bt_gzip(sb_str(sb), sb->len, &obj->data, &obj->len);
  sb_free(sb);
  return rc;
}

int bt_batch_objects(const struct bt_batch *b, const struct bt_options *o,
                     struct bt_object **out, size_t *n) {
  *out = NULL;
  *n = 0;
  const char *ext = o->gzip ? ".ndjson.gz" : ".ndjson";
  const struct bt_item **order = xmalloc((b->n_items ? b->n_items : 1) * sizeof(*order));
  for (size_t i = 0; i < b->n_items; i++)
    order[i] = &b->items[i];
  qsort(order, b->n_items, sizeof(*order), by_hour);

  struct bt_object *objs = NULL;
  size_t n_objs = 0, cap = 0;
  int rc = 0;
  for (size_t i = 0; i < b->n_items && rc == 0;) {
    size_t j = i;
    struct strbuf sb = STRBUF_INIT;
    for (; j < b->n_items && order[j]->hour == order[i]->hour; j++) {
      sb_appendn(&sb, b->lines.buf + order[j]->start, order[j]->len);
      sb_appendc(&sb, '\n');
    }
    time_t t = (time_t)(order[i]->hour * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    objs = xgrow(objs, &cap, n_objs + 1, sizeof(*objs));
    struct bt_object *obj = &objs[n_objs++];
    memset(obj, 0, sizeof(*obj));
    obj->key = xasprintf("%s/year=%04d/month=%02d/day=%02d/hour=%02d/%s%s%s-p%d-o%lld-o%lld%s",
                         o->prefix, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                         b->topic, o->cluster_tag ? "-c" : "",
                         o->cluster_tag ? o->cluster_tag : "", (int)b->partition,
                         (long long)order[i]->offset, (long long)order[j - 1]->offset, ext);
    obj->events = j - i;
    rc = finish(obj, &sb, o->gzip);
    i = j;
  }
  free(order);
  if (rc == 0 && b->n_dead) {
    objs = xgrow(objs, &cap, n_objs + 1, sizeof(*objs));
    struct bt_object *obj = &objs[n_objs++];
    memset(obj, 0, sizeof(*obj));
    obj->key = xasprintf("%s/%s%s%s-p%d-o%lld-o%lld%s", o->dead_letter_prefix, b->topic,
                         o->cluster_tag ? "-c" : "", o->cluster_tag ? o->cluster_tag : "",
                         (int)b->partition, (long long)b->dead_first,
                         (long long)b->dead_last, ext);
    obj->events = b->n_dead;
    struct strbuf sb = STRBUF_INIT;
    sb_appendn(&sb, b->dead.buf, b->dead.len);
    rc = finish(obj, &sb, o->gzip);
  }
  if (rc != 0) {
    bt_objects_free(objs, n_objs);
    return -1;
  }
  *out = objs;
  *n = n_objs;
  return 0;
}

void bt_objects_free(struct bt_object *objs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(objs[i].key);
    free(objs[i].data);
  }
  free(objs);
}

/* --- task params --------------------------------------------------------- */

int bt_parse_int(const char *text, long long min, long long max, long long *out) {
  if (text == NULL || !(isdigit((unsigned char)text[0]) ||
                        (text[0] == '-' && isdigit((unsigned char)text[1]))))
    return -1;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

int bt_parse_bool(const char *text, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (size_t i = 0; text && i < sizeof(yes) / sizeof(yes[0]); i++) {
    if (strcasecmp(text, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(text, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}
