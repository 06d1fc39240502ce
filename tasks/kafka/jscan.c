/* jscan.c - a strict, allocation-free JSON validator (see jscan.h). */
#include "jscan.h"

#include <stdint.h>
#include <string.h>

struct scan {
  const char *p, *end, *start;
  const char *why;
  const char *at;
};

static int fail(struct scan *s, const char *at, const char *why) {
  if (s->why == NULL) {
    s->why = why;
    s->at = at;
  }
  return -1;
}

static void skip_ws(struct scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80): RFC 3629, so no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8(struct scan *s) {
  const unsigned char *p = (const unsigned char *)s->p;
  size_t left = (size_t)(s->end - s->p);
  unsigned c = p[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return fail(s, s->p, "invalid UTF-8");
  }
  if (left < n || p[1] < lo || p[1] > hi) return fail(s, s->p, "invalid UTF-8");
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xc0) != 0x80) return fail(s, s->p, "invalid UTF-8");
  s->p += n;
  return 0;
}

/* A string; s->p is on the opening quote. Sets the content's span. */
static int string(struct scan *s, const char **val, size_t *len, bool *escaped) {
  const char *open = s->p++;
  *escaped = false;
  for (;;) {
    /* The common case first: a run of plain printable ASCII. */
    while (s->p < s->end) {
      unsigned char c = (unsigned char)*s->p;
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      s->p++;
    }
    if (s->p >= s->end) return fail(s, open, "unterminated string");
    unsigned char c = (unsigned char)*s->p;
    if (c == '"') {
      *val = open + 1;
      *len = (size_t)(s->p - open - 1);
      s->p++;
      return 0;
    }
    if (c < 0x20) return fail(s, s->p, "control character in a string");
    if (c >= 0x80) {
      if (utf8(s) != 0) return -1;
      continue;
    }
    /* A backslash escape. */
    *escaped = true;
    if (s->end - s->p < 2) return fail(s, open, "unterminated string");
    char e = s->p[1];
    if (strchr("\"\\/bfnrt", e) && e != '\0') {
      s->p += 2;
      continue;
    }
    if (e != 'u') return fail(s, s->p, "invalid escape");
    unsigned u;
    if (s->end - s->p < 6 || hex4(s->p + 2, &u) != 0)
      return fail(s, s->p, "invalid \\u escape");
    if (u == 0) return fail(s, s->p, "\\u0000 in a string");
    if (u >= 0xdc00 && u <= 0xdfff) return fail(s, s->p, "invalid \\u escape");
    if (u >= 0xd800 && u <= 0xdbff) {
      /* A high surrogate must be followed by a low one. */
      unsigned lo;
      if (s->end - s->p < 12 || s->p[6] != '\\' || s->p[7] != 'u' ||
          hex4(s->p + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
        return fail(s, s->p, "invalid \\u escape");
      s->p += 6;
    }
    s->p += 6;
  }
}

static int number(struct scan *s) {
  const char *start = s->p;
  if (s->p < s->end && *s->p == '-') s->p++;
  if (s->p >= s->end) return fail(s, start, "invalid number");
  if (*s->p == '0') {
    s->p++;
  } else if (*s->p >= '1' && *s->p <= '9') {
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
      s->p++;
  } else {
    return fail(s, start, "invalid number");
  }
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9') return fail(s, start, "invalid number");
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
      s->p++;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9') return fail(s, start, "invalid number");
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
      s->p++;
  }
  return 0;
}

static int literal(struct scan *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
    return fail(s, s->p, "invalid literal");
  s->p += n;
  return 0;
}

static int value(struct scan *s, int depth, struct js_field *fields, size_t n_fields);

static void note_field(struct js_field *fields, size_t n, const char *key, size_t key_len,
                       bool key_escaped, const char *vstart, struct scan *s) {
  if (key_escaped) return; /* our names never need escapes */
  for (size_t i = 0; i < n; i++) {
    if (fields[i].name_len != key_len || memcmp(fields[i].name, key, key_len) != 0) continue;
    fields[i].count++;
    if (*vstart == '"') {
      fields[i].kind = JS_STRING;
      struct scan t = {.p = vstart, .end = s->end, .start = s->start};
      string(&t, &fields[i].val, &fields[i].len, &fields[i].escaped);
    } else {
      fields[i].kind = JS_OTHER;
    }
  }
}

static int object(struct scan *s, int depth, struct js_field *fields, size_t n_fields) {
  s->p++; /* '{' */
  skip_ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    return 0;
  }
  for (;;) {
    if (s->p >= s->end) return fail(s, s->p, "unexpected end of input");
    if (*s->p != '"') return fail(s, s->p, "expected a string key");
    const char *key;
    size_t key_len;
    bool key_escaped;
    if (string(s, &key, &key_len, &key_escaped) != 0) return -1;
    skip_ws(s);
    if (s->p >= s->end) return fail(s, s->p, "unexpected end of input");
    if (*s->p != ':') return fail(s, s->p, "expected ':'");
    s->p++;
    skip_ws(s);
    const char *vstart = s->p;
    if (value(s, depth + 1, NULL, 0) != 0) return -1;
    if (fields) note_field(fields, n_fields, key, key_len, key_escaped, vstart, s);
    skip_ws(s);
    if (s->p >= s->end) return fail(s, s->p, "unexpected end of input");
    if (*s->p == '}') {
      s->p++;
      return 0;
    }
    if (*s->p != ',') return fail(s, s->p, "expected ',' or '}'");
    s->p++;
    skip_ws(s);
  }
}

static int array(struct scan *s, int depth) {
  s->p++; /* '[' */
  skip_ws(s);
  if (s->p < s->end && *s->p == ']') {
    s->p++;
    return 0;
  }
  for (;;) {
    if (value(s, depth + 1, NULL, 0) != 0) return -1;
    skip_ws(s);
    if (s->p >= s->end) return fail(s, s->p, "unexpected end of input");
    if (*s->p == ']') {
      s->p++;
      return 0;
    }
    if (*s->p != ',') return fail(s, s->p, "expected ',' or ']'");
    s->p++;
    skip_ws(s);
  }
}

static int value(struct scan *s, int depth, struct js_field *fields, size_t n_fields) {
  if (depth > JS_MAX_DEPTH) return fail(s, s->p, "nesting too deep");
  if (s->p >= s->end) return fail(s, s->p, "unexpected end of input");
  const char *v;
  size_t n;
  bool e;
  switch (*s->p) {
  case '{': return object(s, depth, fields, n_fields);
  case '[': return array(s, depth);
  case '"': return string(s, &v, &n, &e);
  case 't': return literal(s, "true");
  case 'f': return literal(s, "false");
  case 'n': return literal(s, "null");
  default:
    if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return number(s);
    return fail(s, s->p, "expected a value");
  }
}

int js_scan(const char *p, size_t len, struct js_field *fields, size_t n_fields,
            bool *is_object, const char **why, size_t *pos) {
  struct scan s = {.p = p, .end = p + len, .start = p};
  for (size_t i = 0; i < n_fields; i++) {
    fields[i].kind = JS_NONE;
    fields[i].count = 0;
    fields[i].val = NULL;
    fields[i].len = 0;
    fields[i].escaped = false;
    fields[i].name_len = strlen(fields[i].name);
  }
  skip_ws(&s);
  *is_object = s.p < s.end && *s.p == '{';
  int rc = value(&s, 1, *is_object ? fields : NULL, n_fields);
  if (rc == 0) {
    skip_ws(&s);
    if (s.p < s.end) rc = fail(&s, s.p, "trailing data after the JSON value");
  }
  if (rc != 0) {
    *why = s.why;
    *pos = (size_t)(s.at - p) + 1;
    return -1;
  }
  return 0;
}

static size_t put_utf8(unsigned cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

size_t js_unescape(const char *raw, size_t raw_len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < raw_len;) {
    if (raw[i] != '\\') {
      out[o++] = raw[i++];
      continue;
    }
    char e = raw[i + 1];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = strchr(from, e);
    if (e != 'u' && k) {
      out[o++] = to[k - from];
      i += 2;
      continue;
    }
    unsigned cp = 0, lo = 0;
    hex4(raw + i + 2, &cp); /* js_scan checked every escape */
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      hex4(raw + i + 2, &lo);
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i += 6;
    }
    /* A UTF-8 sequence is never longer than the escape it came from. */
    o += put_utf8(cp, out + o);
  }
  out[o] = '\0';
  return o;
}

size_t js_compact(const char *p, size_t len, char *out) {
  size_t o = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = p[i];
    if (in_string) {
      out[o++] = c;
      if (c == '\\' && i + 1 < len)
        out[o++] = p[++i];
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
      out[o++] = c;
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out[o++] = c;
    }
  }
  out[o] = '\0';
  return o;
}
