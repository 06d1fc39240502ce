/* lake_s3_util.c - the S3 backend's pure parts: SigV4 encoding, the
 * canonical query string, and reading S3's XML.
 *
 * curl 7.88 signs the query string exactly as it appears in the URL, so the
 * URL must already hold the canonical form (sorted, each name and value
 * encoded per SigV4); otherwise AWS and MinIO recompute a different
 * signature and answer SignatureDoesNotMatch. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lake_int.h"

void lake__uri_encode(struct strbuf *sb, const char *s, size_t len, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
      sb_appendc(sb, (char)c);
    } else {
      sb_appendc(sb, '%');
      sb_appendc(sb, hex[c >> 4]);
      sb_appendc(sb, hex[c & 15]);
    }
  }
}

static char *encode(const char *s) {
  struct strbuf sb = STRBUF_INIT;
  lake__uri_encode(&sb, s, strlen(s), false);
  return sb.len ? sb_detach(&sb) : xstrdup("");
}

void lake__query_add(struct lake_query *q, const char *name, const char *value) {
  q->params = xgrow(q->params, &q->cap, q->n + 1, sizeof(*q->params));
  q->params[q->n].name = encode(name);
  q->params[q->n].value = encode(value ? value : "");
  q->n++;
}

/* SigV4 sorts by the encoded bytes: strcmp, not strcoll. */
static int compare_params(const void *a, const void *b) {
  const struct lake_param *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

char *lake__query_build(struct lake_query *q) {
  if (q->n > 1) qsort(q->params, q->n, sizeof(*q->params), compare_params);
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < q->n; i++) {
    if (i) sb_appendc(&sb, '&');
    sb_append(&sb, q->params[i].name);
    sb_appendc(&sb, '=');
    sb_append(&sb, q->params[i].value);
  }
  return sb.len ? sb_detach(&sb) : xstrdup("");
}

void lake__query_free(struct lake_query *q) {
  for (size_t i = 0; i < q->n; i++) {
    free(q->params[i].name);
    free(q->params[i].value);
  }
  free(q->params);
  q->params = NULL;
  q->n = q->cap = 0;
}

/* Decode the five XML entities and numeric references; anything else is
 * kept as written. */
static char *xml_decode(const char *s, size_t len) {
  static const struct {
    const char *name;
    char c;
  } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
  struct strbuf sb = STRBUF_INIT;
  size_t i = 0;
  while (i < len) {
    if (s[i] != '&') {
      sb_appendc(&sb, s[i++]);
      continue;
    }
    const char *e = s + i + 1;
    size_t rest = len - i - 1;
    size_t used = 0;
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]) && !used; k++) {
      size_t n = strlen(named[k].name);
      if (rest >= n && memcmp(e, named[k].name, n) == 0) {
        sb_appendc(&sb, named[k].c);
        used = n;
      }
    }
    if (!used && rest > 2 && e[0] == '#') {
      int hexa = e[1] == 'x';
      char *end;
      unsigned long cp = strtoul(e + 1 + hexa, &end, hexa ? 16 : 10);
      if (end > e + 1 + hexa && (size_t)(end - e) < rest && *end == ';' && cp > 0 &&
          cp <= 0x10FFFF) {
        /* UTF-8 */
        if (cp < 0x80) {
          sb_appendc(&sb, (char)cp);
        } else if (cp < 0x800) {
          sb_appendc(&sb, (char)(0xC0 | (cp >> 6)));
          sb_appendc(&sb, (char)(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
          sb_appendc(&sb, (char)(0xE0 | (cp >> 12)));
          sb_appendc(&sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
          sb_appendc(&sb, (char)(0x80 | (cp & 0x3F)));
        } else {
          sb_appendc(&sb, (char)(0xF0 | (cp >> 18)));
          sb_appendc(&sb, (char)(0x80 | ((cp >> 12) & 0x3F)));
          sb_appendc(&sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
          sb_appendc(&sb, (char)(0x80 | (cp & 0x3F)));
        }
        used = (size_t)(end - e) + 1;
      }
    }
    if (used) {
      i += 1 + used;
    } else {
      sb_appendc(&sb, '&');
      i++;
    }
  }
  return sb.len ? sb_detach(&sb) : xstrdup("");
}

/* memmem bounded by `end` (NULL: the string's end). */
static const char *find(const char *from, const char *end, const char *needle) {
  size_t avail = end ? (size_t)(end - from) : strlen(from);
  return memmem(from, avail, needle, strlen(needle));
}

char *lake__xml_text(const char *xml, const char *end, const char *tag) {
  char *open = xasprintf("<%s>", tag);
  char *close = xasprintf("</%s>", tag);
  char *out = NULL;
  const char *a = find(xml, end, open);
  if (a) {
    a += strlen(open);
    const char *b = find(a, end, close);
    if (b) out = xml_decode(a, (size_t)(b - a));
  }
  free(open);
  free(close);
  return out;
}

void lake__s3_parse_list(const char *xml, char ***keys, size_t *n, size_t *cap,
                         char **next_token) {
  *next_token = NULL;
  const char *p = xml;
  for (;;) {
    const char *c = find(p, NULL, "<Contents>");
    if (c == NULL) break;
    const char *e = find(c, NULL, "</Contents>");
    if (e == NULL) break;
    char *key = lake__xml_text(c, e, "Key");
    if (key) lake__keys_push(keys, n, cap, key);
    p = e + strlen("</Contents>");
  }
  char *truncated = lake__xml_text(xml, NULL, "IsTruncated");
  if (truncated && strcmp(truncated, "true") == 0)
    *next_token = lake__xml_text(xml, NULL, "NextContinuationToken");
  free(truncated);
}

char *lake__s3_error_text(const char *xml) {
  char *code = lake__xml_text(xml, NULL, "Code");
  if (code == NULL) return NULL;
  char *msg = lake__xml_text(xml, NULL, "Message");
  char *out = msg && *msg ? xasprintf("%s: %s", code, msg) : xstrdup(code);
  free(code);
  free(msg);
  return out;
}
