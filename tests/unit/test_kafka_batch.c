/* test_kafka_batch.c - the kafka consumer's batches (tasks/kafka/batch.c):
 * which messages are events, how a batch splits into hourly objects, what
 * the objects are named and hold, and the task params' parsers.
 *
 * Time and message cases are data: tests/data/kafka/times.txt and
 * tests/data/kafka/messages/NNNN-name.{json,expected}. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "alloc.h"
#include "batch.h"

static char *data_path(const char *rel) {
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  assert_non_null(src);
  return xasprintf("%s/tests/data/kafka/%s", src, rel);
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) fail_msg("cannot open %s", path);
  char *buf = NULL;
  size_t n = 0, cap = 0;
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
    buf = xgrow(buf, &cap, n + got + 1, 1);
    memcpy(buf + n, chunk, got);
    n += got;
  }
  fclose(fp);
  buf = xgrow(buf, &cap, n + 1, 1);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static void test_times(void **state) {
  (void)state;
  char *path = data_path("times.txt");
  char *text = slurp(path, NULL);
  int cases = 0;
  for (char *line = text, *next; *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    else
      next = line + strlen(line);
    if (*line == '#' || *line == '\0') continue;
    char *tab = strchr(line, '\t');
    assert_non_null(tab);
    *tab = '\0';
    int64_t got = 0;
    int rc = bt_parse_time(line, &got);
    if (strcmp(tab + 1, "ERR") == 0) {
      if (rc == 0) fail_msg("'%s': want an error, got %lld", line, (long long)got);
    } else {
      long long want = strtoll(tab + 1, NULL, 10);
      if (rc != 0) fail_msg("'%s': want %lld, got an error", line, want);
      if (got != want) fail_msg("'%s': want %lld, got %lld", line, want, (long long)got);
    }
    cases++;
  }
  assert_true(cases >= 20);
  free(text);
  free(path);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_messages(void **state) {
  (void)state;
  char *dir = data_path("messages");
  DIR *d = opendir(dir);
  assert_non_null(d);
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0) {
      names = xgrow(names, &cap, n + 1, sizeof(*names));
      names[n++] = xstrndup(de->d_name, len - 5);
    }
  }
  closedir(d);
  qsort(names, n, sizeof(*names), by_name);
  assert_true(n >= 15);
  for (size_t i = 0; i < n; i++) {
    char *jp = xasprintf("%s/%s.json", dir, names[i]);
    char *ep = xasprintf("%s/%s.expected", dir, names[i]);
    size_t len;
    char *payload = slurp(jp, &len);
    char *expected = slurp(ep, NULL);
    int64_t at = 0;
    char *line = NULL, *reason = NULL;
    int rc = bt_check(payload, len, &at, &line, &reason);
    char *got;
    if (rc == 0 && line)
      got = xasprintf("ok %lld\nline %s\n", (long long)at, line);
    else if (rc == 0)
      got = xasprintf("ok %lld\n", (long long)at);
    else
      got = xasprintf("dead %s\n", reason);
    if (strcmp(got, expected) != 0)
      fail_msg("%s:\nwant: %sgot:  %s", names[i], expected, got);
    assert_true(rc == 0 ? reason == NULL : line == NULL);
    free(got);
    free(line);
    free(reason);
    free(payload);
    free(expected);
    free(jp);
    free(ep);
    free(names[i]);
  }
  free(names);
  free(dir);
}

/* An event line as the producer writes it, at a given time. */
static char *event(const char *id, const char *played_at) {
  return xasprintf("{\"event_id\":\"%s\",\"user_id\":\"user_0001\",\"played_at\":\"%s\"}", id,
                   played_at);
}

static void add_event(struct bt_batch *b, int64_t offset, const char *id, const char *at,
                      uint64_t now) {
  char *e = event(id, at);
  assert_int_equal(bt_batch_add(b, offset, "user_0001", 9, e, strlen(e), now), 0);
  free(e);
}

static const struct bt_options plain = {"raw_events", "dead_letter", false};

static void test_split_by_hour(void **state) {
  (void)state;
  struct bt_batch b;
  bt_batch_init(&b, "spotify-plays", 2);
  assert_int_equal(b.n_messages, 0);
  assert_int_equal(b.first, -1);
  /* Offsets in order, times not: hour 13, 05, 13, then the next day. */
  add_event(&b, 100, "a", "2026-11-21T13:10:00Z", 5000);
  add_event(&b, 101, "b", "2026-11-21T05:59:59Z", 5001);
  assert_int_equal(bt_batch_add(&b, 102, NULL, 0, "not json", 8, 5002), 1);
  add_event(&b, 103, "c", "2026-11-21T13:00:00Z", 5003);
  add_event(&b, 104, "d", "2026-11-22T00:00:00Z", 5004);
  assert_int_equal(bt_batch_add(&b, 105, "k", 1, "{\"event_id\":\"e\"}", 16, 5005), 1);
  assert_int_equal(b.n_messages, 6);
  assert_int_equal(b.first, 100);
  assert_int_equal(b.last, 105);
  assert_int_equal(b.opened_ms, 5000);
  assert_int_equal(b.n_items, 4);
  assert_int_equal(b.n_dead, 2);

  struct bt_object *o;
  size_t n;
  assert_int_equal(bt_batch_objects(&b, &plain, &o, &n), 0);
  assert_int_equal(n, 4);
  assert_string_equal(
      o[0].key, "raw_events/year=2026/month=11/day=21/hour=05/spotify-plays-p2-o101-o101.ndjson");
  assert_int_equal(o[0].events, 1);
  char *want = xasprintf("%s\n", "{\"event_id\":\"b\",\"user_id\":\"user_0001\","
                                 "\"played_at\":\"2026-11-21T05:59:59Z\"}");
  assert_int_equal(o[0].len, strlen(want));
  assert_memory_equal(o[0].data, want, o[0].len);
  free(want);
  assert_string_equal(
      o[1].key, "raw_events/year=2026/month=11/day=21/hour=13/spotify-plays-p2-o100-o103.ndjson");
  assert_int_equal(o[1].events, 2);
  /* Within an object, lines keep the partition's order. */
  char *a = event("a", "2026-11-21T13:10:00Z"), *c = event("c", "2026-11-21T13:00:00Z");
  want = xasprintf("%s\n%s\n", a, c);
  assert_int_equal(o[1].len, strlen(want));
  assert_memory_equal(o[1].data, want, o[1].len);
  free(want);
  free(a);
  free(c);
  assert_string_equal(
      o[2].key, "raw_events/year=2026/month=11/day=22/hour=00/spotify-plays-p2-o104-o104.ndjson");
  assert_string_equal(o[3].key, "dead_letter/spotify-plays-p2-o102-o105.ndjson");
  assert_int_equal(o[3].events, 2);
  const char *dead =
      "{\"topic\":\"spotify-plays\",\"partition\":2,\"offset\":102,\"reason\":\"not JSON: "
      "invalid literal at byte 1\",\"key\":null,\"payload\":\"not json\"}\n"
      "{\"topic\":\"spotify-plays\",\"partition\":2,\"offset\":105,\"reason\":\"missing "
      "played_at (an ISO-8601 UTC time)\",\"key\":\"k\",\"payload\":\"{\\\"event_id\\\":"
      "\\\"e\\\"}\"}\n";
  assert_int_equal(o[3].len, strlen(dead));
  assert_memory_equal(o[3].data, dead, o[3].len);
  bt_objects_free(o, n);

  /* With a cluster tag, every name carries it: a recreated cluster, whose
   * offsets start again at 0, cannot overwrite an older one's objects. */
  struct bt_options tagged = plain;
  tagged.cluster_tag = "0badcafe";
  assert_int_equal(bt_batch_objects(&b, &tagged, &o, &n), 0);
  assert_int_equal(n, 4);
  assert_string_equal(o[0].key, "raw_events/year=2026/month=11/day=21/hour=05/"
                                "spotify-plays-c0badcafe-p2-o101-o101.ndjson");
  assert_string_equal(o[3].key, "dead_letter/spotify-plays-c0badcafe-p2-o102-o105.ndjson");
  bt_objects_free(o, n);

  /* Reset empties it for the next batch, on the same partition. */
  bt_batch_reset(&b);
  assert_int_equal(b.n_messages, 0);
  assert_int_equal(b.first, -1);
  assert_int_equal(b.n_dead, 0);
  assert_int_equal(bt_batch_objects(&b, &plain, &o, &n), 0);
  assert_int_equal(n, 0);
  bt_objects_free(o, n);
  bt_batch_free(&b);
}

/* A replay of the same offsets names the same objects: it overwrites. */
static void test_replay_same_names(void **state) {
  (void)state;
  char *keys[2][8];
  size_t counts[2];
  for (int round = 0; round < 2; round++) {
    struct bt_batch b;
    bt_batch_init(&b, "spotify-plays", 0);
    for (int i = 0; i < 6; i++) {
      char id[8], at[32];
      snprintf(id, sizeof(id), "id%d", i);
      snprintf(at, sizeof(at), "2026-11-21T%02d:30:00Z", 10 + i % 3);
      /* The second round arrives at other times: names must not care. */
      add_event(&b, 40 + i, id, at, (uint64_t)(round * 100000 + i));
    }
    struct bt_object *o;
    size_t n;
    assert_int_equal(bt_batch_objects(&b, &plain, &o, &n), 0);
    assert_true(n <= 8);
    counts[round] = n;
    for (size_t i = 0; i < n; i++)
      keys[round][i] = xstrdup(o[i].key);
    bt_objects_free(o, n);
    bt_batch_free(&b);
  }
  assert_int_equal(counts[0], 3);
  assert_int_equal(counts[1], 3);
  for (size_t i = 0; i < counts[0]; i++) {
    assert_string_equal(keys[0][i], keys[1][i]);
    free(keys[0][i]);
    free(keys[1][i]);
  }
}

static char *gunzip(const char *in, size_t len, size_t *out_len) {
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  size_t cap = 1 << 16;
  char *out = xmalloc(cap);
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  zs.next_out = (Bytef *)out;
  zs.avail_out = (uInt)cap;
  assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
  *out_len = zs.total_out;
  inflateEnd(&zs);
  return out;
}

static void test_gzip(void **state) {
  (void)state;
  struct bt_batch b;
  bt_batch_init(&b, "t", 1);
  for (int i = 0; i < 50; i++) {
    char id[16];
    snprintf(id, sizeof(id), "event-%d", i);
    add_event(&b, i, id, "2026-11-21T08:00:00Z", 0);
  }
  assert_int_equal(bt_batch_add(&b, 50, NULL, 0, "\xff\xfe", 2, 0), 1);
  struct bt_object *p, *z;
  size_t np, nz;
  assert_int_equal(bt_batch_objects(&b, &plain, &p, &np), 0);
  struct bt_options gz = plain;
  gz.gzip = true;
  assert_int_equal(bt_batch_objects(&b, &gz, &z, &nz), 0);
  assert_int_equal(np, 2);
  assert_int_equal(nz, 2);
  assert_string_equal(z[0].key, "raw_events/year=2026/month=11/day=21/hour=08/t-p1-o0-o49.ndjson.gz");
  assert_string_equal(z[1].key, "dead_letter/t-p1-o50-o50.ndjson.gz");
  for (size_t i = 0; i < 2; i++) {
    /* gzip magic, then the same bytes once inflated. */
    assert_true(z[i].len > 18);
    assert_int_equal((unsigned char)z[i].data[0], 0x1f);
    assert_int_equal((unsigned char)z[i].data[1], 0x8b);
    size_t len;
    char *raw = gunzip(z[i].data, z[i].len, &len);
    assert_int_equal(len, p[i].len);
    assert_memory_equal(raw, p[i].data, len);
    free(raw);
  }
  assert_true(z[0].len < p[0].len / 4);
  /* A payload that is not UTF-8 cannot be a JSON string: base64 instead. */
  assert_non_null(strstr(p[1].data, "\"payload_base64\":\"//4=\""));
  bt_objects_free(p, np);
  bt_objects_free(z, nz);
  bt_batch_free(&b);
}

static void test_params(void **state) {
  (void)state;
  long long v;
  assert_int_equal(bt_parse_int("100", 1, 1000, &v), 0);
  assert_int_equal(v, 100);
  assert_int_equal(bt_parse_int("-5", -10, 10, &v), 0);
  assert_int_equal(v, -5);
  const char *bad_ints[] = {"", " 1", "1 ", "+1", "0x10", "1e3", "1001", "0", "abc", NULL};
  for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++)
    if (bt_parse_int(bad_ints[i], 1, 1000, &v) == 0) fail_msg("'%s' accepted", bad_ints[i]);

  bool b = false;
  assert_int_equal(bt_parse_bool("TRUE", &b), 0);
  assert_true(b);
  assert_int_equal(bt_parse_bool("off", &b), 0);
  assert_false(b);
  assert_int_equal(bt_parse_bool("2", &b), -1);
  assert_int_equal(bt_parse_bool(NULL, &b), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_times),          cmocka_unit_test(test_messages),
      cmocka_unit_test(test_split_by_hour),  cmocka_unit_test(test_replay_same_names),
      cmocka_unit_test(test_gzip),           cmocka_unit_test(test_params),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
