/* events.c - synthetic listening events (see events.h). */
#include "events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "alloc.h"
#include "strbuf.h"
#include "timeutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Invented artists and songs; most popular first. */
static const struct ev_track catalog[] = {
    {"Nova Lane", "Midnight Transit", "Night Lines", 214000},
    {"The Paper Kites of Oslo", "Glass Harbour", "Northern Weather", 241000},
    {"Mira Sol", "Golden Hour Again", "Sunward", 198000},
    {"Static Bloom", "Neon Orchard", "Voltage Garden", 226000},
    {"Juno Reyes", "Cafe de Lluvia", "Tormenta Suave", 187000},
    {"Nova Lane", "Streetlight Psalm", "Night Lines", 232000},
    {"Kairo Beats", "Sandstorm Tape", "Desert FM", 176000},
    {"Ellis & The Tides", "Salt in the Wound", "Low Water", 259000},
    {"Mira Sol", "Paper Planes Over Lisbon", "Sunward", 205000},
    {"Hollow Pines", "Cabin Fever", "Woodsmoke", 283000},
    {"Aiko Tanabe", "Tokyo Drift Lullaby", "Soft Machines", 193000},
    {"Static Bloom", "Afterglow Protocol", "Voltage Garden", 248000},
    {"Dune Radio", "Mirage Motel", "Long Roads", 311000},
    {"The Velvet Alibi", "Second-Hand Heart", "Cheap Thrills Club", 201000},
    {"Juno Reyes", "Bailando Sola", "Tormenta Suave", 219000},
    {"Ines Varga", "Quiet Revolution", "Small Hours", 244000},
    {"Kairo Beats", "Cairo Nights", "Desert FM", 168000},
    {"Northbound Choir", "Hymn for the Commuters", "Platform 9", 297000},
    {"Lumen Drive", "Parallel Lines", "Headlights", 231000},
    {"Ellis & The Tides", "Lighthouse Keeper", "Low Water", 276000},
    {"Aiko Tanabe", "Vending Machine Moon", "Soft Machines", 184000},
    {"Marlow Grey", "Coffee at Four", "Unhurried", 162000},
    {"Dune Radio", "Highway Saints", "Long Roads", 338000},
    {"The Velvet Alibi", "Alibi", "Cheap Thrills Club", 189000},
    {"Hollow Pines", "Firewatch", "Woodsmoke", 305000},
    {"Lumen Drive", "Overpass", "Headlights", 222000},
    {"Sabine Okoro", "Lagos to London", "Crossings", 236000},
    {"Ines Varga", "Winter in Budapest", "Small Hours", 267000},
    {"Pixel Saints", "Extra Life", "Continue?", 143000},
    {"Northbound Choir", "Last Train Home", "Platform 9", 321000},
    {"Marlow Grey", "Rain on the Skylight", "Unhurried", 178000},
    {"Sabine Okoro", "Harmattan", "Crossings", 252000},
    {"Pixel Saints", "Boss Level", "Continue?", 131000},
    {"Octavia Bell", "Chandelier Shadows", "Opera House Fire", 354000},
    {"Riverside Collective", "Brass on the Water", "Delta Sessions", 288000},
    {"Felix Amaro", "Saudade Street", "Bossa Digital", 207000},
    {"Glacier Youth", "Meltwater", "Blue Hours", 239000},
    {"Octavia Bell", "Velvet Requiem", "Opera House Fire", 402000},
    {"Riverside Collective", "Second Line Strut", "Delta Sessions", 263000},
    {"Felix Amaro", "Copacabana 3AM", "Bossa Digital", 195000},
    {"Glacier Youth", "Avalanche Season", "Blue Hours", 257000},
    {"Kestrel", "Wind Shear", "Updraft", 211000},
    {"Mona Vex", "Mercury Retrograde", "Bad Omens", 224000},
    {"Kestrel", "Thermals", "Updraft", 246000},
    {"Mona Vex", "Tarot for Two", "Bad Omens", 199000},
    {"Quiet Engines", "Idle Hands", "Low Power Mode", 272000},
    {"Sofia Marchetti", "Vespa Summer", "Dolce Far Niente", 183000},
    {"Quiet Engines", "Flywheel", "Low Power Mode", 318000},
    {"Sofia Marchetti", "Amalfi Blue", "Dolce Far Niente", 204000},
    {"The Late Arrivals", "Sorry I'm Late", "Excuses, Excuses", 171000},
    {"Borealis Unit", "Aurora Code", "Magnetic North", 365000},
    {"The Late Arrivals", "Missed Connection", "Excuses, Excuses", 188000},
    {"Borealis Unit", "Polar Night Drive", "Magnetic North", 419000},
    {"Tamsin Hart", "Kitchen Table Songs", "Home Recordings", 152000},
    {"Delta Foxtrot", "Call Sign", "Radio Silence", 228000},
    {"Tamsin Hart", "Porch Light", "Home Recordings", 166000},
    {"Delta Foxtrot", "Mayday Mayday", "Radio Silence", 243000},
    {"Cassette Ghosts", "Rewind", "B-Sides Forever", 97000},
    {"Cassette Ghosts", "Side B", "B-Sides Forever", 121000},
    {"Orchid Static", "Hothouse", "Greenhouse Effect", 281000},
    {"Orchid Static", "Photosynthesis", "Greenhouse Effect", 334000},
    {"Yusuf Demir", "Bosphorus Lights", "Two Continents", 262000},
    {"Yusuf Demir", "Istanbul Rain", "Two Continents", 291000},
    {"Wren & Wolf", "Hunter's Moon", "Fable", 254000},
    {"Wren & Wolf", "Little Red", "Fable", 209000},
};

/* Room left for a track's fields in an event of EV_JSON_MAX bytes, once the
 * other fields (at most ~250 bytes) are in. */
#define TRACK_JSON_MAX 240

/* Zipf exponent of track popularity: the top track is ~20% of plays. */
#define ZIPF_S 1.0

static const char *const devices[] = {"mobile", "desktop", "web", "tablet", "smart_speaker"};
static const unsigned device_weights[] = {45, 25, 10, 8, 12};

static const char *const countries[] = {"US", "GB", "DE", "BR", "MX", "FR",
                                        "SE", "IN", "CA", "AU", "JP", "ES"};
static const unsigned country_weights[] = {30, 10, 9, 9, 7, 6, 5, 6, 5, 4, 4, 5};

#define DAY_SECS 86400

/* play dominates, as on any streaming service. */
static const unsigned type_weights[EV_N_TYPES] = {70, 10, 15, 5};
static const char *const type_names[EV_N_TYPES] = {"play", "pause", "skip",
                                                   "add_to_playlist"};

/* Listening by hour of the (UTC) day: quiet nights, busy evenings. */
static const unsigned hour_weights[24] = {2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6,
                                          7, 7, 6, 6, 7, 8, 9, 9, 8, 7, 5, 3};

const struct ev_track *ev_catalog(size_t *n) {
  *n = N_ELEMS(catalog);
  return catalog;
}

const char *ev_type_name(enum ev_type t) {
  return (unsigned)t < EV_N_TYPES ? type_names[t] : "unknown";
}

/* --- random numbers ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void ev_rng_seed(struct ev_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t ev_rng_next(struct ev_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t ev_rng_below(struct ev_rng *r, uint64_t n) {
  /* Rejection keeps it exactly uniform; the loop almost never repeats. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = ev_rng_next(r);
  while (x >= limit);
  return x % n;
}

static double rng_unit(struct ev_rng *r) {
  return (double)(ev_rng_next(r) >> 11) * 0x1.0p-53;
}

static size_t pick_weighted(uint64_t x, const unsigned *w, size_t n) {
  unsigned total = 0;
  for (size_t i = 0; i < n; i++)
    total += w[i];
  uint64_t v = x % total;
  for (size_t i = 0; i < n; i++) {
    if (v < w[i]) return i;
    v -= w[i];
  }
  return n - 1;
}

uint64_t ev_seed_from_text(const char *text) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)text, strlen(text), md);
  uint64_t seed = 0;
  for (int i = 0; i < 8; i++)
    seed = seed << 8 | md[i];
  return seed;
}

/* --- UUIDs --------------------------------------------------------------- */

void ev_uuid_format(const unsigned char u[16], char out[EV_UUID_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  char *p = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = hex[u[i] >> 4];
    *p++ = hex[u[i] & 15];
  }
  *p = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int ev_uuid_parse(const char *text, unsigned char u[16]) {
  if (strlen(text) != EV_UUID_LEN) return -1;
  const char *p = text;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      if (*p++ != '-') return -1;
    }
    int hi = hexval(p[0]), lo = hexval(p[1]);
    if (hi < 0 || lo < 0) return -1;
    u[i] = (unsigned char)(hi << 4 | lo);
    p += 2;
  }
  return 0;
}

void ev_uuid4(struct ev_rng *r, char out[EV_UUID_LEN + 1]) {
  unsigned char u[16];
  uint64_t a = ev_rng_next(r), b = ev_rng_next(r);
  for (int i = 0; i < 8; i++) {
    u[i] = (unsigned char)(a >> (56 - 8 * i));
    u[8 + i] = (unsigned char)(b >> (56 - 8 * i));
  }
  u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
  u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  ev_uuid_format(u, out);
}

void ev_uuid5(const unsigned char ns[16], const char *name, size_t len,
              char out[EV_UUID_LEN + 1]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) abort(); /* out of memory: the project's policy */
  EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
  EVP_DigestUpdate(ctx, ns, 16);
  EVP_DigestUpdate(ctx, name, len);
  EVP_DigestFinal_ex(ctx, md, &md_len);
  EVP_MD_CTX_free(ctx);
  md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
  md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
  ev_uuid_format(md, out);
}

/* --- dates --------------------------------------------------------------- */

int ev_parse_day(const char *ds, int64_t *out) {
  struct dag_iso iso;
  if (dag_iso_parse(ds, strlen(ds), &iso, NULL, 0) != 0 || iso.has_time) return -1;
  *out = dag_iso_utc(&iso) / DAG_USEC_PER_SEC;
  return 0;
}

int ev_parse_instant(const char *iso_text, int64_t *out) {
  struct dag_iso iso;
  if (dag_iso_parse(iso_text, strlen(iso_text), &iso, NULL, 0) != 0 || !iso.has_sec ||
      !iso.has_offset)
    return -1;
  *out = (dag_iso_utc(&iso) - iso.usec) / DAG_USEC_PER_SEC;
  return 0;
}

/* --- events -------------------------------------------------------------- */

static void json_string(struct strbuf *sb, const char *s) {
  sb_appendc(sb, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      sb_appendc(sb, '\\');
      sb_appendc(sb, (char)c);
    } else if (c < 0x20) {
      sb_appendf(sb, "\\u%04x", c);
    } else {
      sb_appendc(sb, (char)c);
    }
  }
  sb_appendc(sb, '"');
}

void ev_gen_init(struct ev_gen *g, uint64_t seed, int users, int64_t day) {
  memset(g, 0, sizeof(*g));
  ev_rng_seed(&g->rng, seed);
  g->users = users < 1 ? 1 : users;
  g->day = day;
  g->last = day + DAY_SECS - 1;
  g->n_tracks = N_ELEMS(catalog);
  g->track_cdf = xmalloc(g->n_tracks * sizeof(*g->track_cdf));
  g->track_ids = xmalloc(g->n_tracks * sizeof(*g->track_ids));
  g->track_json = xmalloc(g->n_tracks * sizeof(*g->track_json));
  g->track_json_len = xmalloc(g->n_tracks * sizeof(*g->track_json_len));
  time_t t0 = (time_t)day;
  struct tm tm;
  gmtime_r(&t0, &tm);
  snprintf(g->day_text, sizeof(g->day_text), "%04d-%02d-%02d", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday);

  unsigned char ns[16];
  if (ev_uuid_parse(EV_TRACK_NAMESPACE, ns) != 0) abort();
  double total = 0;
  for (size_t i = 0; i < g->n_tracks; i++) {
    total += 1.0 / pow((double)(i + 1), ZIPF_S);
    g->track_cdf[i] = total;
  }
  for (size_t i = 0; i < g->n_tracks; i++) {
    const struct ev_track *t = &catalog[i];
    g->track_cdf[i] /= total;
    char *name = xasprintf("%s|%s", t->artist, t->track);
    ev_uuid5(ns, name, strlen(name), g->track_ids[i]);
    free(name);
    struct strbuf sb = STRBUF_INIT;
    sb_append(&sb, "\"track_name\":");
    json_string(&sb, t->track);
    sb_append(&sb, ",\"artist_name\":");
    json_string(&sb, t->artist);
    sb_append(&sb, ",\"album_name\":");
    json_string(&sb, t->album);
    sb_appendf(&sb, ",\"duration_ms\":%d", t->duration_ms);
    g->track_json_len[i] = sb.len;
    /* ev_format() relies on it: an event always fits EV_JSON_MAX. */
    if (sb.len > TRACK_JSON_MAX) abort();
    g->track_json[i] = sb_detach(&sb);
  }
}

void ev_gen_free(struct ev_gen *g) {
  for (size_t i = 0; i < g->n_tracks; i++)
    free(g->track_json[i]);
  free(g->track_json);
  free(g->track_json_len);
  free(g->track_ids);
  free(g->track_cdf);
  memset(g, 0, sizeof(*g));
}

int ev_gen_set_end(struct ev_gen *g, int64_t not_after) {
  if (not_after < g->day) return -1;
  g->last = not_after < g->day + DAY_SECS - 1 ? not_after : g->day + DAY_SECS - 1;
  return 0;
}

/* The hour and second of an event when the day is cut short at g->last:
 * each hour weighs its listening weight times the seconds of it allowed. */
static int64_t pick_time_until(struct ev_gen *g) {
  struct ev_rng *r = &g->rng;
  int64_t span = g->last - g->day + 1; /* 1 .. DAY_SECS - 1 */
  uint64_t w[24], total = 0;
  for (int h = 0; h < 24; h++) {
    int64_t avail = span - (int64_t)h * 3600;
    avail = avail < 0 ? 0 : avail > 3600 ? 3600 : avail;
    w[h] = (uint64_t)hour_weights[h] * (uint64_t)avail;
    total += w[h];
  }
  uint64_t v = ev_rng_below(r, total);
  int hour = 0;
  while (v >= w[hour]) v -= w[hour++];
  int64_t avail = span - (int64_t)hour * 3600;
  avail = avail > 3600 ? 3600 : avail;
  return g->day + (int64_t)hour * 3600 + (int64_t)ev_rng_below(r, (uint64_t)avail);
}

/* A user's home country and usual device come from the user alone, not the
 * seed: user_0042 lives in the same country in every run. */
static uint64_t user_hash(int user) {
  uint64_t x = (uint64_t)user * 0x2545f4914f6cdd1du;
  return splitmix64(&x);
}

void ev_gen_next(struct ev_gen *g, struct ev_event *e) {
  struct ev_rng *r = &g->rng;
  ev_uuid4(r, e->event_id);
  e->user = 1 + (int)ev_rng_below(r, (uint64_t)g->users);
  e->type = (enum ev_type)pick_weighted(ev_rng_next(r), type_weights, EV_N_TYPES);

  double u = rng_unit(r);
  size_t lo = 0, hi = g->n_tracks - 1;
  while (lo < hi) { /* the first rank whose cumulative share exceeds u */
    size_t mid = lo + (hi - lo) / 2;
    if (g->track_cdf[mid] > u)
      hi = mid;
    else
      lo = mid + 1;
  }
  e->track = (uint16_t)lo;

  uint64_t h = user_hash(e->user);
  e->country = (uint8_t)pick_weighted(h, country_weights, N_ELEMS(countries));
  /* Three plays in four on the user's usual device. */
  if (ev_rng_below(r, 4) < 3)
    e->device = (uint8_t)pick_weighted(h >> 32, device_weights, N_ELEMS(devices));
  else
    e->device = (uint8_t)pick_weighted(ev_rng_next(r), device_weights, N_ELEMS(devices));

  if (g->last < g->day + DAY_SECS - 1) {
    e->played_at = pick_time_until(g);
    return;
  }
  /* The whole day: the draws of the first version, so a seed still gives
   * the events it always gave. */
  size_t hour = pick_weighted(ev_rng_next(r), hour_weights, 24);
  e->played_at = g->day + (int64_t)hour * 3600 + (int64_t)ev_rng_below(r, 3600);
}

static int by_time(const void *a, const void *b) {
  const struct ev_event *x = a, *y = b;
  if (x->played_at != y->played_at) return x->played_at < y->played_at ? -1 : 1;
  return strcmp(x->event_id, y->event_id);
}

/* Events are within one day: a counting sort on the second, then ties by
 * event_id, puts them in (played_at, event_id) order in linear time, where
 * qsort() took longer than making the events. */
struct ev_event *ev_generate(struct ev_gen *g, size_t n) {
  struct ev_event *ev = xcalloc(n ? n : 1, sizeof(*ev));
  for (size_t i = 0; i < n; i++)
    ev_gen_next(g, &ev[i]);
  size_t *start = xcalloc(86400 + 1, sizeof(*start));
  for (size_t i = 0; i < n; i++)
    start[ev[i].played_at - g->day + 1]++;
  for (size_t sec = 1; sec <= 86400; sec++)
    start[sec] += start[sec - 1];
  struct ev_event *out = xcalloc(n ? n : 1, sizeof(*out));
  for (size_t i = 0; i < n; i++)
    out[start[ev[i].played_at - g->day]++] = ev[i];
  /* start[sec] is now the end of second sec's run. */
  for (size_t sec = 0, from = 0; sec < 86400; from = start[sec++])
    if (start[sec] - from > 1) qsort(out + from, start[sec] - from, sizeof(*out), by_time);
  free(start);
  free(ev);
  return out;
}

void ev_user_id(int user, char buf[16]) {
  /* "user_%04d" without snprintf's cost: it runs twice per event. */
  char digits[12];
  int n = 0;
  unsigned v = user < 0 ? 0u : (unsigned)user;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < 10);
  while (n < 4)
    digits[n++] = '0';
  memcpy(buf, "user_", 5);
  for (int i = 0; i < n; i++)
    buf[5 + i] = digits[n - 1 - i];
  buf[5 + n] = '\0';
}

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_2digits(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

/* Hand-assembled rather than snprintf(): the producer formats every event,
 * and this is most of its own CPU time. */
size_t ev_format(const struct ev_gen *g, const struct ev_event *e, char *buf) {
  char *p = buf;
  char user[16];
  ev_user_id(e->user, user);
  int secs = (int)(e->played_at - g->day); /* within the day: 0..86399 */
  p = PUT_LIT(p, "{\"event_id\":\"");
  p = put(p, e->event_id, EV_UUID_LEN);
  p = PUT_LIT(p, "\",\"user_id\":\"");
  p = put(p, user, strlen(user));
  p = PUT_LIT(p, "\",\"event_type\":\"");
  p = put(p, type_names[e->type], strlen(type_names[e->type]));
  p = PUT_LIT(p, "\",\"track_id\":\"");
  p = put(p, g->track_ids[e->track], EV_UUID_LEN);
  p = PUT_LIT(p, "\",");
  p = put(p, g->track_json[e->track], g->track_json_len[e->track]);
  p = PUT_LIT(p, ",\"played_at\":\"");
  p = put(p, g->day_text, 10);
  *p++ = 'T';
  p = put_2digits(p, secs / 3600);
  *p++ = ':';
  p = put_2digits(p, secs / 60 % 60);
  *p++ = ':';
  p = put_2digits(p, secs % 60);
  p = PUT_LIT(p, "Z\",\"device_type\":\"");
  p = put(p, devices[e->device], strlen(devices[e->device]));
  p = PUT_LIT(p, "\",\"country\":\"");
  p = put(p, countries[e->country], 2);
  p = PUT_LIT(p, "\"}");
  *p = '\0';
  return (size_t)(p - buf);
}
