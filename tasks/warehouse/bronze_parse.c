/* bronze_parse.c - one NDJSON line into one event, or a reason why not.
 *
 * An event is a JSON object with non-empty strings event_id, user_id,
 * event_type, track_id and played_at (an ISO-8601 date and time), an integer
 * duration_ms, and strings or nulls for track_name, artist_name,
 * album_name, device_type and country; other keys are ignored. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bronze.h"
#include "bronze_int.h"
#include "timeutil.h"

/* A quarantined line is kept whole up to this size; beyond it the reason
 * says it was cut. Lines that long are not events anyway. */
#define RAW_LINE_MAX 65536

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
#define F_PLAYED_AT 8
_Static_assert(sizeof(fields) / sizeof(fields[0]) == BRONZE_N_FIELDS, "one name per column");

const char *const bronze__field_names[BRONZE_N_FIELDS] = {
    "event_id",    "user_id",    "event_type",  "track_id",    "track_name", "artist_name",
    "album_name",  "duration_ms", "played_at",  "device_type", "country",
};

/* --- one line ------------------------------------------------------------------ */

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

/* A date and a time with seconds, as dag_iso_parse() reads them: silver
 * takes its day and its order from it, so a day that does not exist
 * (2026-02-30) is refused here rather than filed under March. On false,
 * why (why_size bytes) says what is wrong. */
static bool iso_datetime(const char *s, size_t len, char *why, size_t why_size) {
  struct dag_iso iso;
  if (dag_iso_parse(s, len, &iso, why, why_size) != 0) return false;
  if (iso.has_sec) return true;
  snprintf(why, why_size, "no time of day with seconds");
  return false;
}

static long field_index(const char *name, size_t len) {
  for (size_t i = 0; i < BRONZE_N_FIELDS; i++)
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
  for (size_t i = 0; i < BRONZE_N_FIELDS; i++) {
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
  char why[96];
  if (!fast_parse(line, len, ev)) {
    memset(ev, 0, sizeof(*ev));
    if (!slow_parse(line, len, ev, &reason)) return reason;
  }
  for (size_t i = 0; i < BRONZE_N_FIELDS && reason == NULL; i++) {
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
      else if (i == F_PLAYED_AT && !iso_datetime(v->s, v->len, why, sizeof(why)))
        reason = xasprintf("played_at: expected an ISO-8601 date and time, got '%.*s': %s",
                           (int)(v->len < 40 ? v->len : 40), v->s, why);
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

/* --- objects ------------------------------------------------------------------- */

void bronze__quarantine(struct parsed_object *po, int64_t line, char *reason, const char *raw,
                        size_t len) {
  po->q = xgrow(po->q, &po->cap_q, po->n_q + 1, sizeof(*po->q));
  struct quarantined *q = &po->q[po->n_q++];
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

void bronze__parse_object(const char *data, size_t len, struct parsed_object *po) {
  int64_t lineno = 0;
  for (size_t pos = 0; pos < len;) {
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
    po->lines = xgrow(po->lines, &po->cap_lines, po->n_lines + 1, sizeof(*po->lines));
    struct parsed_line *pl = &po->lines[po->n_lines];
    char *reason = parse_event(line, n, &pl->ev);
    if (reason) {
      event_done(&pl->ev);
      bronze__quarantine(po, lineno, reason, line, n);
      continue;
    }
    pl->lineno = lineno;
    po->n_lines++;
  }
}

void bronze__parsed_free(struct parsed_object *po) {
  for (size_t i = 0; i < po->n_lines; i++)
    event_done(&po->lines[i].ev);
  for (size_t i = 0; i < po->n_q; i++) {
    free(po->q[i].reason);
    free(po->q[i].raw);
  }
  free(po->lines);
  free(po->q);
  memset(po, 0, sizeof(*po));
}
