/* batch.h - the consumer's batches: checking messages, splitting by hour,
 * naming lake objects. Pure: no Kafka, no I/O, no clock (callers pass the
 * time), so every rule here is unit-tested on its own.
 *
 * A batch holds consecutive messages of one partition. When it is flushed
 * it becomes one NDJSON object per hour of the events' played_at:
 *   PREFIX/year=YYYY/month=MM/day=DD/hour=HH/TOPIC-pP-oFIRST-oLAST.ndjson[.gz]
 * where FIRST and LAST are the offsets of the first and last event in that
 * object. Names are a function of the offsets only, so a batch consumed
 * again after a crash (same committed start, same size) overwrites its
 * objects instead of duplicating them. Messages that are not events go to
 * one dead-letter object, DEAD_PREFIX/TOPIC-pP-oFIRST-oLAST.ndjson, one
 * JSON line per message with the reason; none is dropped. */
#ifndef KAFKA_BATCH_H
#define KAFKA_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* An ISO-8601 time as events carry it: a date and a time with seconds
 * (dag_iso_parse() reads the rest: fraction, offset, 'T' or a space);
 * without an offset it is UTC. Returns 0 with Unix seconds in *out (any
 * fraction dropped), or -1. */
int bt_parse_time(const char *s, int64_t *out);

/* Check one message. Returns 0 when it is an event: valid JSON (jscan.h)
 * whose top level is an object with exactly one event_id, a non-empty
 * string, and exactly one played_at that bt_parse_time() accepts. Then
 * *played_at is set and *line is NULL if the payload can be stored as is,
 * or a copy without the whitespace between tokens (caller frees) when it
 * spans several lines. Returns -1 otherwise with *reason, a sentence for
 * the dead letter (caller frees). */
int bt_check(const char *payload, size_t len, int64_t *played_at, char **line,
             char **reason);

struct bt_item {
  int64_t offset;
  int64_t hour;    /* played_at / 3600 */
  size_t start;    /* of its line in bt_batch.lines */
  size_t len;
};

struct bt_batch {
  char *topic;        /* owned */
  int32_t partition;
  int64_t first, last;  /* offsets of every message held; -1 when empty */
  size_t n_messages;    /* events and dead letters */
  uint64_t opened_ms;   /* caller's clock at the first message */
  struct bt_item *items;
  size_t n_items, cap_items;
  struct strbuf lines;  /* the events, back to back, without newlines */
  struct strbuf dead;   /* dead letters, NDJSON */
  size_t n_dead;
  int64_t dead_first, dead_last;
};

void bt_batch_init(struct bt_batch *b, const char *topic, int32_t partition);
/* Empty the batch for the next one; keeps its buffers. */
void bt_batch_reset(struct bt_batch *b);
void bt_batch_free(struct bt_batch *b);

/* Append a message at `offset` (greater than any held). Returns 0 if it is
 * an event, 1 if it became a dead letter. */
int bt_batch_add(struct bt_batch *b, int64_t offset, const void *key, size_t key_len,
                 const void *payload, size_t len, uint64_t now_ms);

struct bt_options {
  const char *prefix;             /* e.g. "raw_events" */
  const char *dead_letter_prefix; /* e.g. "dead_letter" */
  /* Offsets restart when a cluster is recreated (the embedded one, at every
   * start): a short tag of the cluster's id keeps a new incarnation's
   * objects from overwriting an old one's. NULL: no tag. */
  const char *cluster_tag;
  bool gzip;                      /* .ndjson.gz instead of .ndjson */
};

struct bt_object {
  char *key;
  char *data;
  size_t len;
  size_t events; /* lines in it */
};

/* The objects that store batch `b`: one per hour in ascending order, then
 * the dead letters if any. Returns 0, or -1 if compression fails. Free with
 * bt_objects_free(). */
int bt_batch_objects(const struct bt_batch *b, const struct bt_options *o,
                     struct bt_object **out, size_t *n);
void bt_objects_free(struct bt_object *objs, size_t n);

/* gzip (RFC 1952) of `in`; 0 with *out (caller frees), or -1. */
int bt_gzip(const void *in, size_t len, char **out, size_t *out_len);

/* --- task params --------------------------------------------------------- */

/* Integer in [min, max]; 0 or -1. */
int bt_parse_int(const char *text, long long min, long long max, long long *out);
/* true/false/yes/no/on/off/1/0; 0 or -1. */
int bt_parse_bool(const char *text, bool *out);

#endif
