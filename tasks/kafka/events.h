/* events.h - synthetic listening events (the seed project's EventSimulator).
 *
 * Pure and deterministic: the same seed, user count and day give the same
 * events, byte for byte, on any machine. No I/O, no clock; the producer task
 * (producer.c) adds Kafka around it.
 *
 * An event is one JSON object on one line:
 *   {"event_id":"<uuid4>","user_id":"user_0042","event_type":"play",
 *    "track_id":"<uuid5>","track_name":"...","artist_name":"...",
 *    "album_name":"...","duration_ms":215000,"played_at":"2026-11-22T13:45:12Z",
 *    "device_type":"mobile","country":"US"}
 * event_id is a version-4 UUID drawn from the seeded generator (so a seed
 * reproduces it); track_id is uuid5(EV_TRACK_NAMESPACE, "artist|track"),
 * stable across runs and machines. */
#ifndef KAFKA_EVENTS_H
#define KAFKA_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define EV_UUID_LEN 36 /* without the NUL */
#define EV_JSON_MAX 512 /* an event's JSON never exceeds this, NUL included */

/* uuid5(NAMESPACE_URL, "dagctl:spotify:tracks"): the namespace of track ids. */
#define EV_TRACK_NAMESPACE "3bae5a22-6c90-5a00-850f-365544e1f9f3"

struct ev_track {
  const char *artist;
  const char *track;
  const char *album;
  int duration_ms; /* 90,000 to 420,000 */
};

/* The catalog, most popular first: popularity follows rank (Zipf). */
const struct ev_track *ev_catalog(size_t *n);

/* xoshiro256**: small, fast, and the same stream everywhere. */
struct ev_rng {
  uint64_t s[4];
};

void ev_rng_seed(struct ev_rng *r, uint64_t seed);
uint64_t ev_rng_next(struct ev_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t ev_rng_below(struct ev_rng *r, uint64_t n);

/* A seed from any text (the `seed` param, or the run's identity): the first
 * 8 bytes of its SHA-256. */
uint64_t ev_seed_from_text(const char *text);

/* Write a UUID's canonical text (36 chars + NUL) into out. */
void ev_uuid_format(const unsigned char u[16], char out[EV_UUID_LEN + 1]);
/* Parse canonical UUID text; 0 or -1. */
int ev_uuid_parse(const char *text, unsigned char u[16]);
/* A version-4 UUID from the generator. */
void ev_uuid4(struct ev_rng *r, char out[EV_UUID_LEN + 1]);
/* RFC 4122 version 5 (SHA-1) of `name` in namespace `ns`. */
void ev_uuid5(const unsigned char ns[16], const char *name, size_t len,
              char out[EV_UUID_LEN + 1]);

/* "YYYY-MM-DD" (the run's ds) to the Unix time of its 00:00:00 UTC, with
 * dag_iso_parse(). 0 or -1. */
int ev_parse_day(const char *ds, int64_t *out);

/* An ISO-8601 instant as the host gives it ("2026-11-22T13:45:12Z",
 * "...12.5+00:00", other offsets ±HH:MM): a time with seconds and an
 * offset, read by dag_iso_parse(), to Unix seconds, any fraction dropped.
 * 0 or -1. */
int ev_parse_instant(const char *iso_text, int64_t *out);

enum ev_type { EV_PLAY, EV_PAUSE, EV_SKIP, EV_ADD_TO_PLAYLIST, EV_N_TYPES };

const char *ev_type_name(enum ev_type t);

struct ev_event {
  char event_id[EV_UUID_LEN + 1];
  int user;          /* 1..users: "user_%04d" */
  enum ev_type type;
  uint16_t track;    /* index into the catalog */
  uint8_t device;    /* index into the device list */
  uint8_t country;   /* index into the country list */
  int64_t played_at; /* Unix seconds, within the day, at most g->last */
};

/* The generator: catalog popularity, track ids and users' home countries
 * are computed once here. */
struct ev_gen {
  struct ev_rng rng;
  int users;
  int64_t day;     /* Unix time of the day's start */
  int64_t last;    /* the latest second an event may have: the day's last
                    * unless ev_gen_set_end() set an earlier one */
  size_t n_tracks;
  double *track_cdf;
  char (*track_ids)[EV_UUID_LEN + 1];
  char **track_json; /* `"track_name":...,"album_name":...,"duration_ms":N` */
  size_t *track_json_len;
  char day_text[40]; /* "YYYY-MM-DD" of `day` (room for any year) */
};

/* users >= 1. Free with ev_gen_free(). */
void ev_gen_init(struct ev_gen *g, uint64_t seed, int users, int64_t day);
void ev_gen_free(struct ev_gen *g);

/* Keep every event at or before `not_after` (Unix seconds): the producer
 * passes the run's logical date or now, so no event lies in the future.
 * Hours keep their weights, cut to the part of the day that is allowed. A
 * bound past the day's end changes nothing (the events are those of the
 * whole day); one before the day's start returns -1 and changes nothing. */
int ev_gen_set_end(struct ev_gen *g, int64_t not_after);

/* The next event, in generation order (not sorted by time). */
void ev_gen_next(struct ev_gen *g, struct ev_event *e);

/* `n` events sorted by played_at (ties by event_id), as a producer sends
 * them: a day's listening in order. Caller frees. */
struct ev_event *ev_generate(struct ev_gen *g, size_t n);

/* The event's JSON (no newline) into buf of EV_JSON_MAX bytes; returns its
 * length. */
size_t ev_format(const struct ev_gen *g, const struct ev_event *e, char *buf);

/* "user_0042" into buf of at least 16 bytes. */
void ev_user_id(int user, char buf[16]);

#endif
