/* jscan.h - a strict, allocation-free JSON validator for the consumer.
 *
 * The consumer must check every message (is it JSON? does it carry
 * event_id and played_at?) at 100k+ messages/s; building a jansson tree
 * for each cost more than everything else together. This scanner checks a
 * whole text against RFC 8259 (UTF-8 included, "\u0000" refused, nesting
 * at most JS_MAX_DEPTH deep) in one pass and, for a top-level object,
 * records where the values of a few named keys are. Nothing is copied. */
#ifndef KAFKA_JSCAN_H
#define KAFKA_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JS_MAX_DEPTH 256

enum js_kind { JS_NONE, JS_STRING, JS_OTHER };

/* A top-level key to look for. The scanner fills the rest. */
struct js_field {
  const char *name;  /* the key, plain ASCII without escapes */
  enum js_kind kind; /* JS_NONE when absent */
  int count;         /* occurrences: more than one is ambiguous */
  const char *val;   /* a string's content, between the quotes (raw) */
  size_t len;
  bool escaped;      /* the raw content holds backslash escapes */
  size_t name_len;   /* strlen(name), set by js_scan */
};

/* Check that p[0..len) is exactly one JSON value. Returns 0 with
 * *is_object set and the fields filled (for an object), or -1 with *why
 * (a static phrase) and *pos, the 1-based byte where it went wrong. */
int js_scan(const char *p, size_t len, struct js_field *fields, size_t n_fields,
            bool *is_object, const char **why, size_t *pos);

/* Decode a string's raw content (as js_scan found it) into out, which has
 * room for raw_len + 1 bytes; returns the decoded length. */
size_t js_unescape(const char *raw, size_t raw_len, char *out);

/* Copy a valid JSON text without the whitespace between tokens into out
 * (room for len + 1 bytes); returns the new length. */
size_t js_compact(const char *p, size_t len, char *out);

#endif
