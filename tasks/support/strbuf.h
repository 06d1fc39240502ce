/* strbuf.h - a growable, always NUL-terminated byte buffer. */
#ifndef DAG_STRBUF_H
#define DAG_STRBUF_H

#include <stddef.h>

struct strbuf {
  char *buf; /* owned; "" until the first append */
  size_t len;
  size_t cap;
};

#define STRBUF_INIT {NULL, 0, 0}

void sb_append(struct strbuf *sb, const char *s);
void sb_appendn(struct strbuf *sb, const char *s, size_t n);
void sb_appendc(struct strbuf *sb, char c);
void sb_appendf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The contents; valid until the next append. Never NULL. */
const char *sb_str(const struct strbuf *sb);
/* Hand the string to the caller (who frees it) and reset the buffer. */
char *sb_detach(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif
