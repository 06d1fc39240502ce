/* strbuf.c - growable string buffer. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static void reserve(struct strbuf *sb, size_t extra) {
  sb->buf = xgrow(sb->buf, &sb->cap, sb->len + extra + 1, 1);
}

void sb_appendn(struct strbuf *sb, const char *s, size_t n) {
  reserve(sb, n);
  memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}

void sb_append(struct strbuf *sb, const char *s) {
  sb_appendn(sb, s, strlen(s));
}

void sb_appendc(struct strbuf *sb, char c) {
  sb_appendn(sb, &c, 1);
}

void sb_appendf(struct strbuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  reserve(sb, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb->len += (size_t)n;
}

const char *sb_str(const struct strbuf *sb) {
  return sb->buf ? sb->buf : "";
}

char *sb_detach(struct strbuf *sb) {
  char *s = sb->buf ? sb->buf : xstrdup("");
  sb->buf = NULL;
  sb->len = sb->cap = 0;
  return s;
}

void sb_reset(struct strbuf *sb) {
  sb->len = 0;
  if (sb->buf) sb->buf[0] = '\0';
}

void sb_free(struct strbuf *sb) {
  free(sb->buf);
  sb->buf = NULL;
  sb->len = sb->cap = 0;
}
