/* test_kafka_events.c - the synthetic listening events
 * (tasks/kafka/events.c): UUIDs against RFC 4122 and Python's uuid module,
 * reproducibility, the shape of every event, and the distributions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "alloc.h"
#include "batch.h"
#include "events.h"

#define DAY_2026_11_21 INT64_C(1795219200)

static void test_uuid5(void **state) {
  (void)state;
  unsigned char ns[16];
  char out[EV_UUID_LEN + 1];
  /* Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") */
  assert_int_equal(ev_uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8", ns), 0);
  ev_uuid5(ns, "python.org", 10, out);
  assert_string_equal(out, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  /* The track namespace is uuid5(NAMESPACE_URL, "dagctl:spotify:tracks"). */
  assert_int_equal(ev_uuid_parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8", ns), 0);
  ev_uuid5(ns, "dagctl:spotify:tracks", strlen("dagctl:spotify:tracks"), out);
  assert_string_equal(out, EV_TRACK_NAMESPACE);
  /* Python: uuid.uuid5(NS, "Nova Lane|Midnight Transit"): the catalog's top
   * track, whose id must never change between releases. */
  assert_int_equal(ev_uuid_parse(EV_TRACK_NAMESPACE, ns), 0);
  ev_uuid5(ns, "Nova Lane|Midnight Transit", strlen("Nova Lane|Midnight Transit"), out);
  assert_string_equal(out, "fe65029c-8ca6-5ed8-bd91-1df9b8315917");

  unsigned char u[16];
  assert_int_equal(ev_uuid_parse("886313E1-3B8A-5372-9B90-0C9AEE199E5D", u), 0);
  ev_uuid_format(u, out);
  assert_string_equal(out, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  assert_int_equal(ev_uuid_parse("886313e1-3b8a-5372-9b90-0c9aee199e5", u), -1);
  assert_int_equal(ev_uuid_parse("886313e1x3b8a-5372-9b90-0c9aee199e5d", u), -1);
  assert_int_equal(ev_uuid_parse("886313g1-3b8a-5372-9b90-0c9aee199e5d", u), -1);
}

static void assert_uuid4(const char *s) {
  assert_int_equal(strlen(s), 36);
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      assert_int_equal(s[i], '-');
    else if (!strchr("0123456789abcdef", s[i]))
      fail_msg("'%s': not lowercase hex at %d", s, i);
  }
  assert_int_equal(s[14], '4');
  assert_non_null(strchr("89ab", s[19]));
}

static void test_seeds(void **state) {
  (void)state;
  /* SHA-256("42") begins 73475cb40a568e8d. */
  assert_true(ev_seed_from_text("42") == UINT64_C(0x73475cb40a568e8d));
  assert_true(ev_seed_from_text("43") != ev_seed_from_text("42"));

  struct ev_rng a, b;
  ev_rng_seed(&a, 1);
  ev_rng_seed(&b, 1);
  for (int i = 0; i < 100; i++)
    assert_true(ev_rng_next(&a) == ev_rng_next(&b));
  ev_rng_seed(&b, 2);
  assert_true(ev_rng_next(&a) != ev_rng_next(&b));
  for (int i = 0; i < 1000; i++)
    assert_true(ev_rng_below(&a, 7) < 7);
  char id[EV_UUID_LEN + 1];
  for (int i = 0; i < 100; i++) {
    ev_uuid4(&a, id);
    assert_uuid4(id);
  }
}

static void test_parse_day(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(ev_parse_day("2026-11-21", &t), 0);
  assert_true(t == DAY_2026_11_21);
  assert_int_equal(ev_parse_day("1970-01-01", &t), 0);
  assert_true(t == 0);
  assert_int_equal(ev_parse_day("2024-02-29", &t), 0);
  const char *bad[] = {"2026-02-29", "2026-1-01", "2026-11-21T00:00:00", "",
                       "26-11-21",   "2026/11/21", "2026-13-01", " 026-11-21"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (ev_parse_day(bad[i], &t) == 0) fail_msg("'%s' accepted", bad[i]);
}

static void test_catalog(void **state) {
  (void)state;
  size_t n;
  const struct ev_track *c = ev_catalog(&n);
  assert_true(n >= 50);
  for (size_t i = 0; i < n; i++) {
    assert_true(c[i].duration_ms >= 90000 && c[i].duration_ms <= 420000);
    for (size_t j = 0; j < i; j++)
      if (strcmp(c[i].artist, c[j].artist) == 0 && strcmp(c[i].track, c[j].track) == 0)
        fail_msg("duplicate track %s|%s", c[i].artist, c[i].track);
  }
}

/* Same seed, same events, byte for byte; another seed, other events. */
static void test_reproducible(void **state) {
  (void)state;
  struct ev_gen g1, g2, g3;
  ev_gen_init(&g1, ev_seed_from_text("42"), 50, DAY_2026_11_21);
  ev_gen_init(&g2, ev_seed_from_text("42"), 50, DAY_2026_11_21);
  ev_gen_init(&g3, ev_seed_from_text("43"), 50, DAY_2026_11_21);
  struct ev_event *e1 = ev_generate(&g1, 500), *e2 = ev_generate(&g2, 500),
                  *e3 = ev_generate(&g3, 500);
  char a[EV_JSON_MAX], b[EV_JSON_MAX];
  size_t same_ids = 0;
  for (size_t i = 0; i < 500; i++) {
    size_t la = ev_format(&g1, &e1[i], a), lb = ev_format(&g2, &e2[i], b);
    assert_int_equal(la, lb);
    assert_string_equal(a, b);
    for (size_t j = 0; j < 500; j++)
      if (strcmp(e1[i].event_id, e3[j].event_id) == 0) same_ids++;
  }
  assert_int_equal(same_ids, 0);
  /* The first event for seed "42" on 2026-11-21, pinned: a change here
   * means old seeds no longer reproduce their runs. */
  ev_format(&g1, &e1[0], a);
  assert_string_equal(
      a, "{\"event_id\":\"910ef0c3-b7c8-4e52-9385-ba855fb15074\",\"user_id\":\"user_0021\","
         "\"event_type\":\"play\",\"track_id\":\"24c1c86b-7641-58e6-8b01-0d4afa5cf79a\","
         "\"track_name\":\"Mercury Retrograde\",\"artist_name\":\"Mona Vex\","
         "\"album_name\":\"Bad Omens\",\"duration_ms\":224000,"
         "\"played_at\":\"2026-11-21T00:15:56Z\",\"device_type\":\"tablet\","
         "\"country\":\"US\"}");
  free(e1);
  free(e2);
  free(e3);
  ev_gen_free(&g1);
  ev_gen_free(&g2);
  ev_gen_free(&g3);
}

/* A day cut short (a manual run at 10:30): every event at or before the
 * cut, the allowed hours still weighted, and the cut itself reachable. */
static void test_not_after(void **state) {
  (void)state;
  enum { N = 20000 };
  const int64_t cut = DAY_2026_11_21 + 10 * 3600 + 30 * 60;
  struct ev_gen g;
  ev_gen_init(&g, 7, 50, DAY_2026_11_21);
  assert_int_equal(ev_gen_set_end(&g, DAY_2026_11_21 - 1), -1);
  assert_int_equal(ev_gen_set_end(&g, cut), 0);
  struct ev_event *ev = ev_generate(&g, N);
  size_t hour_n[24] = {0};
  for (size_t i = 0; i < N; i++) {
    assert_true(ev[i].played_at >= DAY_2026_11_21 && ev[i].played_at <= cut);
    if (i) assert_true(ev[i].played_at >= ev[i - 1].played_at);
    hour_n[(ev[i].played_at - DAY_2026_11_21) / 3600]++;
  }
  /* Weights 2,1,1,1,1,2,3,5,6,6,6 and half of 6: hour 10's half hour gets
   * about half of hour 9's share, night hours far less. */
  assert_true(hour_n[0] < hour_n[9] / 2);
  assert_true(hour_n[10] > hour_n[9] / 4 && hour_n[10] < hour_n[9]);
  free(ev);
  ev_gen_free(&g);

  /* A cut at the day's first second puts every event there; one past the
   * day's end changes nothing, not even the draws. */
  ev_gen_init(&g, 7, 50, DAY_2026_11_21);
  assert_int_equal(ev_gen_set_end(&g, DAY_2026_11_21), 0);
  ev = ev_generate(&g, 100);
  for (size_t i = 0; i < 100; i++) assert_true(ev[i].played_at == DAY_2026_11_21);
  free(ev);
  ev_gen_free(&g);
  struct ev_gen a, b;
  ev_gen_init(&a, 7, 50, DAY_2026_11_21);
  ev_gen_init(&b, 7, 50, DAY_2026_11_21);
  assert_int_equal(ev_gen_set_end(&b, DAY_2026_11_21 + 5 * 86400), 0);
  struct ev_event *ea = ev_generate(&a, 200), *eb = ev_generate(&b, 200);
  assert_memory_equal(ea, eb, 200 * sizeof(*ea));
  free(ea);
  free(eb);
  ev_gen_free(&a);
  ev_gen_free(&b);

  int64_t t;
  assert_int_equal(ev_parse_instant("2026-11-21T10:30:00Z", &t), 0);
  assert_true(t == cut);
  assert_int_equal(ev_parse_instant("2026-11-21T10:30:00.999999+00:00", &t), 0);
  assert_true(t == cut);
  assert_int_equal(ev_parse_instant("2026-11-21T12:00:00+01:30", &t), 0);
  assert_true(t == cut);
  assert_int_equal(ev_parse_instant("2026-11-21T10:30:00", &t), -1);
  assert_int_equal(ev_parse_instant("2026-11-21", &t), -1);
  assert_int_equal(ev_parse_instant("2026-11-21T25:00:00Z", &t), -1);
}

static const char *const devices[] = {"desktop", "mobile", "tablet", "web", "smart_speaker"};
static const char *const types[] = {"play", "pause", "skip", "add_to_playlist"};

static int index_of(const char *const *list, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], s) == 0) return (int)i;
  return -1;
}

/* Every event parses, has exactly the documented fields with valid values,
 * and the distributions look like listening: plays dominate, popularity
 * is skewed, times fill the day in order. */
static void test_events(void **state) {
  (void)state;
  enum { N = 20000, USERS = 50 };
  struct ev_gen g;
  ev_gen_init(&g, 7, USERS, DAY_2026_11_21);
  struct ev_event *ev = ev_generate(&g, N);
  size_t n_tracks;
  const struct ev_track *cat = ev_catalog(&n_tracks);
  unsigned char ns[16];
  assert_int_equal(ev_uuid_parse(EV_TRACK_NAMESPACE, ns), 0);

  size_t type_n[4] = {0}, device_n[5] = {0}, *track_n = xcalloc(n_tracks, sizeof(size_t));
  size_t user_seen[USERS + 1] = {0}, hour_n[24] = {0};
  int64_t prev = INT64_MIN;
  char buf[EV_JSON_MAX];
  for (size_t i = 0; i < N; i++) {
    size_t len = ev_format(&g, &ev[i], buf);
    assert_int_equal(len, strlen(buf));
    json_error_t jerr;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) fail_msg("event %zu is not JSON: %s\n%s", i, jerr.text, buf);
    assert_int_equal(json_object_size(o), 11);
    const char *id = json_string_value(json_object_get(o, "event_id"));
    const char *user = json_string_value(json_object_get(o, "user_id"));
    const char *type = json_string_value(json_object_get(o, "event_type"));
    const char *track_id = json_string_value(json_object_get(o, "track_id"));
    const char *track = json_string_value(json_object_get(o, "track_name"));
    const char *artist = json_string_value(json_object_get(o, "artist_name"));
    const char *album = json_string_value(json_object_get(o, "album_name"));
    json_t *dur = json_object_get(o, "duration_ms");
    const char *at = json_string_value(json_object_get(o, "played_at"));
    const char *device = json_string_value(json_object_get(o, "device_type"));
    const char *country = json_string_value(json_object_get(o, "country"));
    assert_true(id && user && type && track_id && track && artist && album && at && device &&
                country && json_is_integer(dur));
    assert_uuid4(id);
    assert_string_equal(id, ev[i].event_id);

    int u = 0;
    assert_int_equal(sscanf(user, "user_%4d", &u), 1);
    assert_int_equal(strlen(user), 9);
    assert_true(u >= 1 && u <= USERS);
    user_seen[u]++;

    int t = index_of(types, 4, type);
    assert_true(t >= 0);
    type_n[t]++;
    int d = index_of(devices, 5, device);
    assert_true(d >= 0);
    device_n[d]++;
    assert_int_equal(strlen(country), 2);
    assert_true(country[0] >= 'A' && country[0] <= 'Z' && country[1] >= 'A' &&
                country[1] <= 'Z');

    /* The track fields agree with the catalog and the id with uuid5. */
    const struct ev_track *tr = &cat[ev[i].track];
    assert_string_equal(track, tr->track);
    assert_string_equal(artist, tr->artist);
    assert_string_equal(album, tr->album);
    assert_int_equal(json_integer_value(dur), tr->duration_ms);
    char *name = xasprintf("%s|%s", artist, track);
    char want[EV_UUID_LEN + 1];
    ev_uuid5(ns, name, strlen(name), want);
    assert_string_equal(track_id, want);
    free(name);
    track_n[ev[i].track]++;

    int64_t ts;
    assert_int_equal(bt_parse_time(at, &ts), 0);
    assert_true(ts == ev[i].played_at);
    assert_true(ts >= DAY_2026_11_21 && ts < DAY_2026_11_21 + 86400);
    assert_true(at[strlen(at) - 1] == 'Z');
    assert_true(ts >= prev);
    prev = ts;
    hour_n[(ts - DAY_2026_11_21) / 3600]++;
    json_decref(o);
  }

  /* Plays dominate: 70% +- 2 points over 20,000 events. */
  assert_true(type_n[0] > N * 68 / 100 && type_n[0] < N * 72 / 100);
  for (int t = 1; t < 4; t++)
    assert_true(type_n[t] > N / 50);
  for (int d = 0; d < 5; d++)
    assert_true(device_n[d] > N / 50);
  for (int u = 1; u <= USERS; u++)
    assert_true(user_seen[u] > 0);
  for (int h = 0; h < 24; h++)
    assert_true(hour_n[h] > 0);
  /* Skewed: the top track near 1/H(65) = 21%, far above the tail. */
  assert_true(track_n[0] > N * 18 / 100 && track_n[0] < N * 24 / 100);
  assert_true(track_n[0] > 2 * track_n[4]);
  assert_true(track_n[4] > 3 * track_n[n_tracks - 1]);
  size_t distinct = 0;
  for (size_t i = 0; i < n_tracks; i++)
    distinct += track_n[i] > 0;
  assert_true(distinct == n_tracks);
  /* Evenings outnumber the small hours. */
  assert_true(hour_n[19] > 3 * hour_n[3]);

  free(track_n);
  free(ev);
  ev_gen_free(&g);
}

/* A user's country is part of the user, the same whatever the seed. */
static void test_user_country_is_stable(void **state) {
  (void)state;
  struct ev_gen g1, g2;
  ev_gen_init(&g1, 1, 5, DAY_2026_11_21);
  ev_gen_init(&g2, 2, 5, DAY_2026_11_21);
  int country[6] = {-1, -1, -1, -1, -1, -1};
  for (int round = 0; round < 2; round++) {
    struct ev_gen *g = round ? &g2 : &g1;
    for (int i = 0; i < 500; i++) {
      struct ev_event e;
      ev_gen_next(g, &e);
      if (country[e.user] < 0) country[e.user] = e.country;
      assert_int_equal(country[e.user], e.country);
    }
  }
  ev_gen_free(&g1);
  ev_gen_free(&g2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uuid5),     cmocka_unit_test(test_seeds),
      cmocka_unit_test(test_parse_day), cmocka_unit_test(test_catalog),
      cmocka_unit_test(test_reproducible), cmocka_unit_test(test_events),
      cmocka_unit_test(test_user_country_is_stable),
      cmocka_unit_test(test_not_after),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
